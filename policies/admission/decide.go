package admission

import (
	"io/fs"
	"slices"
	"strings"

	"github.com/shoal-run/shoal/manifests"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// NamespaceNameLabel is the label Kubernetes gives every namespace, holding
// its name; policies' selectors see it on every namespace.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Namespace is what a policy selects a namespace by.
type Namespace struct {
	Name string
	// Labels are the Namespace object's labels (none when the namespace
	// has no object in the repository).
	Labels map[string]string
	// Preview marks a preview's namespace: it gets the Config's
	// PreviewPolicy besides the policies that cover it.
	Preview bool
}

// NamespacesOf returns every namespace of the set (as Set.Namespaces lists
// them) with the labels of its Namespace object. None is marked a preview:
// the caller that makes previews sets Preview on theirs.
func NamespacesOf(set *manifests.Set) map[string]Namespace {
	out := map[string]Namespace{}
	for _, name := range set.Namespaces() {
		ns := Namespace{Name: name}
		if o, ok := set.Get("Namespace", "", name).(*corev1.Namespace); ok {
			ns.Labels = o.Labels
		}
		out[name] = ns
	}
	return out
}

// For returns the policies that apply in ns: for a preview the preview
// policy first, then every policy that lists ns or whose selector matches
// its labels, in file order, each once. A nil Config has no policies and
// gives previews preview-strict.
func (c *Config) For(ns Namespace) []Policy {
	var out []Policy
	previewPolicy := PreviewStrictName
	if c != nil && c.PreviewPolicy != "" {
		previewPolicy = c.PreviewPolicy
	}
	if ns.Preview && previewPolicy == PreviewStrictName {
		out = append(out, PreviewStrict())
	}
	if c == nil {
		return out
	}
	set := make(labels.Set, len(ns.Labels)+1)
	for k, v := range ns.Labels {
		set[k] = v
	}
	set[NamespaceNameLabel] = ns.Name
	for _, p := range c.Policies {
		switch {
		case ns.Preview && p.Name == previewPolicy:
			out = append([]Policy{p}, out...)
		case slices.Contains(p.Namespaces, ns.Name), p.selector != nil && p.selector.Matches(set):
			out = append(out, p)
		}
	}
	return out
}

// Refusal is an object of the desired state that admission refused, with
// every violation of every policy that applies to it.
type Refusal struct {
	Key        manifests.Key    `json:"key"`
	Source     manifests.Source `json:"source"`
	Violations []Violation      `json:"violations"`
}

// String renders the refusal on one line, for events and status:
// "Deployment/web/api (apps.yaml:3) is refused: policy baseline, rule
// forbidPrivileged: ...; ...".
func (r Refusal) String() string {
	parts := make([]string, len(r.Violations))
	for i, v := range r.Violations {
		parts[i] = v.String()
	}
	where := ""
	if r.Source.File != "" {
		where = " (" + r.Source.File
		if r.Source.Line > 0 {
			where += ":" + itoa(r.Source.Line)
		}
		where += ")"
	}
	return r.Key.String() + where + " is refused: " + strings.Join(parts, "; ")
}

// Diagnostics renders the refusal as one error per violation, for the plan
// output and `shoal validate`-style listings. With fsys (the tree the
// objects were loaded from) each points at its field's line; without it,
// or when the file cannot be read, at the object's first line.
func (r Refusal) Diagnostics(fsys fs.FS) manifests.Diagnostics {
	var docs []manifests.Document
	if fsys != nil && r.Source.File != "" {
		if data, err := fs.ReadFile(fsys, r.Source.File); err == nil {
			docs = manifests.Documents(data)
		}
	}
	out := make(manifests.Diagnostics, len(r.Violations))
	for i, v := range r.Violations {
		out[i] = manifests.Diagnostic{
			Severity: manifests.SeverityError, File: r.Source.File, Line: fieldLine(docs, r.Source.Line, v.Field),
			Object: r.Key.String(), Field: v.Field, Message: v.String(),
		}
	}
	return out
}

// fieldLine finds the line of a field of the object that starts at line,
// when the object is a whole document of the file (not a List item).
func fieldLine(docs []manifests.Document, line int, field string) int {
	for _, d := range docs {
		if line < d.StartLine || line >= d.EndLine || field == "" {
			continue
		}
		root := manifests.LineOf(d.Text, "")
		if root == 0 || root+d.StartLine-1 != line {
			return line
		}
		return manifests.LineOf(d.Text, field) + d.StartLine - 1
	}
	return line
}

// Decide checks every pod-making object of the set against the policies
// that apply in its namespace and returns the refused ones, in the set's
// order (kind, namespace, name), each with all its violations. The caller
// drops them from the desired state and reports them; the rest goes on.
//
// namespaces describes the namespaces (NamespacesOf, with previews
// marked); a namespace it lacks has no labels and is no preview. A nil cfg
// has no policies. For requireLimits, a limit that a LimitRange of the
// object's namespace in the set gives by default counts as set, since that
// is what the pods will get.
func Decide(set *manifests.Set, cfg *Config, namespaces map[string]Namespace) []Refusal {
	type nsRules struct {
		policies []Policy
		defaults corev1.ResourceList // LimitRange default limits
	}
	var out []Refusal
	byNS := map[string]*nsRules{}
	for _, o := range set.All() {
		spec, at, ok := PodSpecOf(o.Obj)
		if !ok {
			continue
		}
		r := byNS[o.Key.Namespace]
		if r == nil {
			ns, found := namespaces[o.Key.Namespace]
			if !found {
				ns = Namespace{Name: o.Key.Namespace}
			}
			r = &nsRules{policies: cfg.For(ns)}
			if len(r.policies) > 0 {
				r.defaults = defaultLimits(limitRangesIn(set, o.Key.Namespace))
			}
			byNS[o.Key.Namespace] = r
		}
		var vs []Violation
		for i := range r.policies {
			vs = append(vs, checkSpecWith(&r.policies[i], spec, at, r.defaults)...)
		}
		if len(vs) > 0 {
			out = append(out, Refusal{Key: o.Key, Source: o.Source, Violations: vs})
		}
	}
	return out
}

// Admit returns the set without the objects Decide refuses, and the
// refusals. The set's warnings are kept.
func Admit(set *manifests.Set, cfg *Config, namespaces map[string]Namespace) (*manifests.Set, []Refusal) {
	refused := Decide(set, cfg, namespaces)
	keys := make([]manifests.Key, len(refused))
	for i, r := range refused {
		keys[i] = r.Key
	}
	return set.Without(keys...), refused
}

// limitRangesIn returns the LimitRanges of a namespace in the set, by name.
func limitRangesIn(set *manifests.Set, namespace string) []*corev1.LimitRange {
	var out []*corev1.LimitRange
	for _, o := range set.InNamespace("LimitRange", namespace) {
		if lr, ok := o.Obj.(*corev1.LimitRange); ok {
			out = append(out, lr)
		}
	}
	return out
}
