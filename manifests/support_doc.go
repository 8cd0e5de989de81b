package manifests

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

var jsonMarshalerType = reflect.TypeOf((*json.Marshaler)(nil)).Elem()

// uncoveredFields walks the Go type t beside the group's rules and returns
// the field paths that no rule classifies, and marks in used every rule and
// mount it met. A field is classified by a rule at its own path or by a
// subtree, ignored or refused rule above it.
func (g *ruleGroup) uncoveredFields(t reflect.Type, rel string, used map[*ruleGroup]map[string]bool) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if used[g] == nil {
		used[g] = map[string]bool{}
	}
	var out []string
	fields := jsonFields(t)
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if rel == "" && (name == "apiVersion" || name == "kind") && g.name != "PodSpec" {
			continue
		}
		p := name
		if rel != "" {
			p = rel + "." + name
		}
		out = append(out, g.uncoveredAt(fields[name], p, used)...)
	}
	return out
}

func (g *ruleGroup) uncoveredAt(ft reflect.Type, p string, used map[*ruleGroup]map[string]bool) []string {
	if sub := g.byAt[p]; sub != nil {
		used[g]["@"+p] = true
		return sub.uncoveredFields(ft, "", used)
	}
	r := g.byPath[p]
	if r != nil {
		used[g][p] = true
		if r.Subtree || r.Level != Supported {
			return nil
		}
	}
	elem := ft
	for elem.Kind() == reflect.Pointer {
		elem = elem.Elem()
	}
	if elem.Kind() == reflect.Slice && elem.Elem().Kind() != reflect.Uint8 {
		inner := elem.Elem()
		for inner.Kind() == reflect.Pointer {
			inner = inner.Elem()
		}
		if inner.Kind() == reflect.Struct && !reflect.PointerTo(inner).Implements(jsonMarshalerType) {
			if sub := g.byAt[p+"[]"]; sub != nil {
				used[g]["@"+p+"[]"] = true
				return sub.uncoveredFields(inner, "", used)
			}
			return g.uncoveredFields(inner, p+"[]", used)
		}
	}
	if elem.Kind() == reflect.Struct && !reflect.PointerTo(elem).Implements(jsonMarshalerType) {
		return g.uncoveredFields(elem, p, used)
	}
	if r == nil {
		return []string{g.name + ": " + p}
	}
	return nil
}

// supportMarkdown renders the support matrix: kinds, then every kind's
// fields, then the shared groups (metadata, pod template, pod spec, job
// spec). docs/SUPPORT.md carries it between generated-section markers.
func supportMarkdown() string {
	loadSupport()
	var b strings.Builder
	b.WriteString("## Kinds\n\n| kind | apiVersion | older versions read and converted (with a warning) |\n|---|---|---|\n")
	for _, k := range kinds {
		var old []string
		for _, l := range legacyKinds {
			if l.kind == k.kind {
				old = append(old, "`"+l.apiVersion+"`")
			}
		}
		scope := ""
		if !k.namespaced {
			scope = " (cluster-scoped)"
		}
		fmt.Fprintf(&b, "| [%s](#%s)%s | `%s` | %s |\n", k.kind, strings.ToLower(k.kind), scope, k.apiVersion, strings.Join(old, ", "))
	}
	b.WriteString("\nOther well-known kinds (any kind not listed at all is refused as a custom resource, naming its apiVersion):\n\n| kind | API groups | support | message |\n|---|---|---|---|\n")
	names := make([]string, 0, len(otherKinds))
	for k := range otherKinds {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		o := otherKinds[k]
		level := Refused
		if o.ignored {
			level = Ignored
		}
		groups := make([]string, len(o.groups))
		for i, g := range o.groups {
			if g == "" {
				g = "core"
			}
			groups[i] = "`" + g + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", k, strings.Join(groups, ", "), level, o.message)
	}
	b.WriteString("\n## Fields\n\nPaths use `[]` for every item of a list. A field not listed is covered by the nearest listed field above it, whose level then holds for the whole subtree.\n")
	for _, k := range kinds {
		writeGroup(&b, supportByKind[k.kind], "### "+k.kind)
	}
	b.WriteString("\n## Shared parts\n")
	for _, g := range []*ruleGroup{objectMetaGroup, templateMetaGroup, podTemplateGroup, jobSpecGroup, podSpecGroup} {
		writeGroup(&b, g, "### "+g.name)
	}
	return b.String()
}

func writeGroup(b *strings.Builder, g *ruleGroup, heading string) {
	fmt.Fprintf(b, "\n%s\n\n| field | support | notes |\n|---|---|---|\n", heading)
	type row struct{ path, level, note string }
	var rows []row
	for _, m := range g.mounts {
		rows = append(rows, row{m.at, "supported", fmt.Sprintf("see [%s](#%s)", m.group.name, anchor(m.group.name))})
	}
	for _, r := range g.rules {
		level := r.Level.String()
		if r.Check != nil {
			level = "depends on the value"
		}
		note := r.Note
		if r.Subtree && r.Level == Supported {
			if note != "" {
				note += "; "
			}
			note += "every field below"
		}
		rows = append(rows, row{r.Path, level, note})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].path < rows[j].path })
	for _, r := range rows {
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", r.path, r.level, strings.ReplaceAll(r.note, "|", "\\|"))
	}
}

// anchor is the GitHub heading anchor of a group name.
func anchor(name string) string {
	a := strings.ToLower(name)
	a = strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(a)
	return a
}
