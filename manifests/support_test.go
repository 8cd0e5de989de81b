package manifests

import (
	"flag"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files (docs/SUPPORT.md's generated section)")

// TestSupportRulesCoverEveryField keeps the support matrix true to the
// k8s.io/api types: every field of every supported kind is classified, and
// every rule names a field that exists.
func TestSupportRulesCoverEveryField(t *testing.T) {
	loadSupport()
	used := map[*ruleGroup]map[string]bool{}
	reported := map[string]bool{}
	for _, k := range kinds {
		g := supportByKind[k.kind]
		if g == nil {
			t.Errorf("kind %s has no support rules", k.kind)
			continue
		}
		for _, p := range g.uncoveredFields(reflect.TypeOf(k.newObj()), "", used) {
			if !reported[p] {
				reported[p] = true
				t.Errorf("%s has no support rule: classify it in support.go", p)
			}
		}
	}
	groups := []*ruleGroup{objectMetaGroup, templateMetaGroup, podTemplateGroup, podSpecGroup, jobSpecGroup}
	for _, k := range kinds {
		groups = append(groups, supportByKind[k.kind])
	}
	for _, g := range groups {
		var stale []string
		for _, r := range g.rules {
			if !used[g][r.Path] {
				stale = append(stale, r.Path)
			}
		}
		for _, m := range g.mounts {
			if !used[g]["@"+m.at] {
				stale = append(stale, "mount "+m.at)
			}
		}
		sort.Strings(stale)
		for _, p := range stale {
			t.Errorf("%s: support rule %q names no field of the type (or sits under a rule that covers it)", g.name, p)
		}
	}
}

const (
	generatedBegin = "<!-- BEGIN GENERATED: go test ./manifests -run TestSupportDoc -update -->\n"
	generatedEnd   = "<!-- END GENERATED -->\n"
)

// TestSupportDoc checks that docs/SUPPORT.md carries the matrix the code
// enforces. Run with -update to rewrite its generated section.
func TestSupportDoc(t *testing.T) {
	const docPath = "../docs/SUPPORT.md"
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("read %s: %v", docPath, err)
	}
	doc := string(data)
	i := strings.Index(doc, generatedBegin)
	j := strings.Index(doc, generatedEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated-section markers %q and %q", docPath, generatedBegin, generatedEnd)
	}
	want := doc[:i+len(generatedBegin)] + supportMarkdown() + doc[j:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(docPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with the support rules: run `go test ./manifests -run TestSupportDoc -update`", docPath)
}
