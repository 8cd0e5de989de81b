package manifests

import (
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// pathElem is one step of a field path: a field name, a list index or a map
// key.
type pathElem struct {
	name  string // field name or map key
	index int    // list index, when isIndex
	// isIndex is true for "[N]" steps; isKey for "[key]" steps.
	isIndex, isKey bool
}

// parsePath splits a field path in Kubernetes notation
// ("spec.containers[0].env[1].name", "metadata.labels[app.kubernetes.io/name]")
// into its steps. Brackets hold a list index when they hold a number and a
// map key otherwise; a map key may contain dots.
func parsePath(p string) []pathElem {
	var out []pathElem
	for i := 0; i < len(p); {
		switch p[i] {
		case '.':
			i++
		case '[':
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				out = append(out, pathElem{name: p[i+1:], isKey: true})
				return out
			}
			inner := p[i+1 : i+end]
			if n, err := strconv.Atoi(inner); err == nil {
				out = append(out, pathElem{index: n, isIndex: true})
			} else {
				out = append(out, pathElem{name: inner, isKey: true})
			}
			i += end + 1
		default:
			end := strings.IndexAny(p[i:], ".[")
			if end < 0 {
				end = len(p) - i
			}
			out = append(out, pathElem{name: p[i : i+end]})
			i += end
		}
	}
	return out
}

// formatPath renders steps back into Kubernetes notation.
func formatPath(elems []pathElem) string {
	var b strings.Builder
	for _, e := range elems {
		switch {
		case e.isIndex:
			b.WriteString("[" + strconv.Itoa(e.index) + "]")
		case e.isKey:
			b.WriteString("[" + e.name + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.name)
		}
	}
	return b.String()
}

// lineOf returns the line of the node that a field path names in a parsed
// YAML document: the key's line for a field or map key, the element's line
// for a list index. When the path goes further than the document (a field
// that defaulting or conversion added), it returns the line of the deepest
// part that exists, and the document's own line for an empty path.
func lineOf(root *yaml.Node, path string) int {
	n := unwrapNode(root)
	if n == nil {
		return 0
	}
	line := n.Line
	for _, e := range parsePath(path) {
		n = unwrapNode(n)
		if n == nil {
			break
		}
		switch {
		case e.isIndex:
			if n.Kind != yaml.SequenceNode || e.index < 0 || e.index >= len(n.Content) {
				return line
			}
			n = n.Content[e.index]
			line = n.Line
		default:
			k, v := mappingEntry(n, e.name)
			if k == nil {
				return line
			}
			line = k.Line
			n = v
		}
	}
	return line
}

// unwrapNode follows document wrappers and aliases to the node that holds
// the content.
func unwrapNode(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return nil
}

// mappingEntry finds key in a mapping node, following YAML merge keys
// ("<<: *base"). It returns the key and value nodes, or nils.
func mappingEntry(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key && n.Content[i].Tag != "!!merge" {
			return n.Content[i], n.Content[i+1]
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Tag != "!!merge" {
			continue
		}
		v := unwrapNode(n.Content[i+1])
		if v == nil {
			continue
		}
		if v.Kind == yaml.SequenceNode {
			for _, m := range v.Content {
				if k, val := mappingEntry(unwrapNode(m), key); k != nil {
					return k, val
				}
			}
			continue
		}
		if k, val := mappingEntry(v, key); k != nil {
			return k, val
		}
	}
	return nil, nil
}
