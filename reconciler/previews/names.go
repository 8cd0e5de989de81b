package previews

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// Label is the label of every object a preview runs, and of its
// namespaces, holding the preview's id.
const Label = "shoal.run/preview"

// MaxIDLength bounds a preview's id, so that <id>-<namespace> stays
// readable for namespaces of up to 32 characters.
const MaxIDLength = 30

// maxLabel is a DNS label's length limit.
const maxLabel = 63

// Match returns the base id of a ref that one of the configured patterns
// names, and true; the first matching pattern decides. See IDFor.
func (c *Config) Match(ref string) (string, bool) {
	for _, p := range c.Refs {
		if id, ok := IDFor(p, ref); ok {
			return id, true
		}
	}
	return "", false
}

// IDFor returns the id that pattern gives ref, and whether the pattern
// matches it: its "*" must stand for at least one character. The id is a
// prefix, "-" and the part "*" matched made a DNS label: "pr" for patterns
// under refs/pull/, else the last literal folder before the "*" (preview
// for refs/heads/preview/*), "preview" when there is none (refs/heads/*).
// Ids longer than MaxIDLength are cut and end with a hash of the ref.
func IDFor(pattern, ref string) (string, bool) {
	pre, suf, ok := strings.Cut(pattern, "*")
	if !ok || len(ref) <= len(pre)+len(suf) || !strings.HasPrefix(ref, pre) || !strings.HasSuffix(ref, suf) {
		return "", false
	}
	name := sanitize(ref[len(pre) : len(ref)-len(suf)])
	if name == "" {
		sum := sha256.Sum256([]byte(ref))
		name = hex.EncodeToString(sum[:3])
	}
	return fit(prefixOf(pre)+"-"+name, MaxIDLength, ref), true
}

// prefixOf names a pattern's previews after what comes before its "*".
func prefixOf(pre string) string {
	if strings.HasPrefix(pre, "refs/pull/") {
		return "pr"
	}
	parts := strings.Split(strings.Trim(pre, "/"), "/")
	if last := parts[len(parts)-1]; len(parts) > 2 || (len(parts) == 2 && last != "heads" && last != "tags") {
		if s := sanitize(last); s != "" {
			return s
		}
	}
	return "preview"
}

// sanitize makes s a DNS label's characters: lower case, every run of
// other characters one "-", no "-" at either end.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// fit returns name when it has at most max characters, else its first
// characters, "-" and 6 hex digits of a hash of whole: stable, and
// distinct for distinct wholes.
func fit(name string, max int, whole string) string {
	if len(name) <= max {
		return name
	}
	sum := sha256.Sum256([]byte(whole))
	return strings.TrimRight(name[:max-7], "-") + "-" + hex.EncodeToString(sum[:3])
}

// Namespace maps namespace ns of preview id: <id>-<ns>, cut to a DNS
// label (ending with a hash of both when too long).
func Namespace(id, ns string) string {
	return fit(id+"-"+ns, maxLabel, id+"/"+ns)
}

// AssignIDs gives each ref its preview id: the id recorded for it when
// there is one (ids never change), else its base id (as Config.Match
// gives it) unless another ref holds that id, in which case the base id
// cut and followed by a hash of the ref. New refs are taken in name
// order, so the same refs get the same ids. base maps every ref to its
// base id; recorded maps refs to their recorded ids.
func AssignIDs(base, recorded map[string]string) map[string]string {
	out := make(map[string]string, len(base))
	taken := map[string]bool{}
	for ref := range base {
		if id, ok := recorded[ref]; ok {
			out[ref] = id
			taken[id] = true
		}
	}
	refs := make([]string, 0, len(base))
	for ref := range base {
		if _, ok := out[ref]; !ok {
			refs = append(refs, ref)
		}
	}
	sort.Strings(refs)
	for _, ref := range refs {
		id := base[ref]
		if taken[id] {
			sum := sha256.Sum256([]byte(ref))
			id = strings.TrimRight(id[:min(len(id), MaxIDLength-7)], "-") + "-" + hex.EncodeToString(sum[:3])
		}
		out[ref] = id
		taken[id] = true
	}
	return out
}

// Host rewrites an Ingress host for preview id under domain:
// <id>.<first label of host>.<domain> (shop.example.test becomes
// pr-42.shop.preview.example.test); a wildcard host keeps its "*" first
// (*.shop.example.test becomes *.pr-42.shop.<domain>). A host-less rule
// gets <id>.<domain>.
func Host(id, host, domain string) string {
	if host == "" {
		return id + "." + domain
	}
	wild := strings.HasPrefix(host, "*.")
	first, _, _ := strings.Cut(strings.TrimPrefix(host, "*."), ".")
	out := id + "." + first + "." + domain
	if wild {
		out = "*." + out
	}
	return out
}
