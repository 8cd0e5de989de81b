package prune

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/shoal-run/shoal/manifests"
)

func TestOptOut(t *testing.T) {
	tests := []struct {
		annotations map[string]string
		want        string
	}{
		{nil, ""},
		{map[string]string{Annotation: "false"}, `shoal.run/prune: "false"`},
		{map[string]string{Annotation: "true"}, ""},
		{map[string]string{FluxAnnotation: "disabled"}, "kustomize.toolkit.fluxcd.io/prune: disabled"},
		{map[string]string{FluxAnnotation: "enabled"}, ""},
		{map[string]string{ArgoAnnotation: "Prune=false"}, "argocd.argoproj.io/sync-options: Prune=false"},
		{map[string]string{ArgoAnnotation: "Validate=false, Prune=false"}, "argocd.argoproj.io/sync-options: Prune=false"},
		{map[string]string{ArgoAnnotation: "Delete=false"}, ""},
		{map[string]string{ArgoAnnotation: "Prune=true"}, ""},
	}
	for _, tt := range tests {
		got, ok := OptOut(tt.annotations)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("OptOut(%v) = %q, %v; want %q", tt.annotations, got, ok, tt.want)
		}
	}
}

// deployment is a Deployment's YAML.
func deployment(name, annotations string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, annotations: {%s}}
spec:
  replicas: %d
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec: {containers: [{name: c, image: busybox}]}
`, name, annotations, replicas, name, name)
}

// keep is the Deployment that opts out, with n replicas.
func keep(n int) string { return deployment("keep", `shoal.run/prune: "false"`, n) }

var (
	keepAnnotationGone = deployment("keep", "", 1)
	plain              = deployment("plain", "", 1)
)

const (
	fluxConfig = `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, annotations: {kustomize.toolkit.fluxcd.io/prune: disabled}}
data: {a: "1"}
`
	argoClass = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast, annotations: {argocd.argoproj.io/sync-options: "Validate=false,Prune=false"}}
provisioner: shoal.run/local-path
`
	other = `apiVersion: v1
kind: ConfigMap
metadata: {name: other}
`
)

// all is a commit with every opted-out object and a plain one.
var all = map[string]string{"keep.yaml": keep(1), "plain.yaml": plain, "cfg.yaml": fluxConfig, "sc.yaml": argoClass}

// none is a commit without any of them.
var none = map[string]string{"other.yaml": other}

var (
	keepKey  = "Deployment/default/keep"
	cfgKey   = "ConfigMap/default/cfg"
	fastKey  = "StorageClass/fast"
	plainKey = "Deployment/default/plain"
)

func loadCommit(t *testing.T, files map[string]string) *manifests.Set {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	set, err := manifests.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// run applies the commits in turn, an hour apart from base, each to the
// records the previous one left, and returns the last plan with its input.
func run(t *testing.T, commits []map[string]string, maxSize int) (Plan, Input) {
	t.Helper()
	records := map[string]Record{}
	var plan Plan
	var in Input
	for i, files := range commits {
		in = Input{
			Desired: loadCommit(t, files), Commit: fmt.Sprintf("c%d", i+1),
			Records: records, Now: base.Add(time.Duration(i) * time.Hour), MaxRecordSize: maxSize,
		}
		plan = Compute(in)
		next := map[string]Record{}
		for k, r := range records {
			next[k] = r
		}
		for k, r := range plan.Put {
			next[k] = r
		}
		for _, k := range plan.Delete {
			delete(next, k)
		}
		records = next
	}
	return plan, in
}

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestCompute(t *testing.T) {
	tests := []struct {
		name    string
		commits []map[string]string
		maxSize int
		// what the last commit's plan says
		put, del, kept, removed []string
		// the records put that are marked removed, and when
		putRemoved map[string]time.Time
		tooLarge   []string
		// keys in Plan.Desired that the commit does not have
		extra []string
	}{
		{name: "objects that opt out are recorded, whatever the kind and the tool's annotation",
			commits: []map[string]string{all}, put: []string{cfgKey, keepKey, fastKey}},
		{name: "an unchanged commit writes nothing",
			commits: []map[string]string{all, all}},
		{name: "another commit that leaves them unchanged writes nothing",
			commits: []map[string]string{all, merge(all, none)}},
		{name: "removed from Git: kept as last applied and reported once; the plain one is pruned",
			commits: []map[string]string{all, none}, put: []string{cfgKey, keepKey, fastKey},
			kept: []string{cfgKey, keepKey, fastKey}, removed: []string{cfgKey, keepKey, fastKey},
			putRemoved: map[string]time.Time{cfgKey: base.Add(time.Hour), keepKey: base.Add(time.Hour), fastKey: base.Add(time.Hour)},
			extra:      []string{cfgKey, keepKey, fastKey}},
		{name: "still kept by the next commits, reported no more",
			commits: []map[string]string{all, none, merge(none, map[string]string{"x.yaml": plain})},
			kept:    []string{cfgKey, keepKey, fastKey}, extra: []string{cfgKey, keepKey, fastKey}},
		{name: "the annotation removed in Git: the record goes, the object is Git's",
			commits: []map[string]string{all, merge(all, map[string]string{"keep.yaml": keepAnnotationGone})}, del: []string{keepKey}},
		{name: "the annotation removed with the object kept by then: Git's again",
			commits: []map[string]string{all, none, merge(all, map[string]string{"keep.yaml": keepAnnotationGone})},
			put:     []string{cfgKey, fastKey}, del: []string{keepKey}},
		{name: "an object that changes is recorded again",
			commits: []map[string]string{all, merge(all, map[string]string{"keep.yaml": keep(3)})}, put: []string{keepKey}},
		{name: "an object that moves to another file is recorded again",
			commits: []map[string]string{all, merge(without(all, "cfg.yaml"), map[string]string{"moved.yaml": fluxConfig})}, put: []string{cfgKey}},
		{name: "an object back in Git is Git's again",
			commits: []map[string]string{all, none, all}, put: []string{cfgKey, keepKey, fastKey}},
		{name: "a record too large for the ledger is compressed",
			commits: []map[string]string{all, none}, maxSize: 900, put: []string{cfgKey, keepKey, fastKey},
			kept: []string{cfgKey, keepKey, fastKey}, removed: []string{cfgKey, keepKey, fastKey},
			putRemoved: map[string]time.Time{cfgKey: base.Add(time.Hour), keepKey: base.Add(time.Hour), fastKey: base.Add(time.Hour)},
			extra:      []string{cfgKey, keepKey, fastKey}},
		{name: "a record too large even compressed is not written, and the object is pruned with Git",
			commits: []map[string]string{all, none}, maxSize: 200, tooLarge: nil},
		{name: "a record too large even compressed: the object in Git is reported",
			commits: []map[string]string{all}, maxSize: 200, tooLarge: []string{cfgKey, keepKey, fastKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, in := run(t, tt.commits, tt.maxSize)
			check := func(what string, got, want []string) {
				t.Helper()
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("Put", keys(plan.Put), tt.put)
			check("Delete", plan.Delete, tt.del)
			var kept, removed, tooLarge []string
			for _, r := range plan.Kept {
				kept = append(kept, RecordKey(r.Key))
			}
			for _, k := range plan.Removed {
				removed = append(removed, RecordKey(k))
			}
			for k := range plan.TooLarge {
				tooLarge = append(tooLarge, RecordKey(k))
			}
			sort.Strings(tooLarge)
			check("Kept", kept, tt.kept)
			check("Removed", removed, tt.removed)
			check("TooLarge", tooLarge, tt.tooLarge)
			if len(plan.Invalid) > 0 {
				t.Errorf("Invalid = %v", plan.Invalid)
			}
			for k, r := range plan.Put {
				if want := tt.putRemoved[k]; !r.Removed.Equal(want) {
					t.Errorf("record %s: Removed %v, want %v", k, r.Removed, want)
				}
				if !r.Removed.IsZero() && r.RemovedCommit != in.Commit {
					t.Errorf("record %s: RemovedCommit %q, want %q", k, r.RemovedCommit, in.Commit)
				}
				if r.Removed.IsZero() && (r.Commit != in.Commit || !r.Applied.Equal(in.Now)) {
					t.Errorf("record %s applied by %q at %v, want %q at %v", k, r.Commit, r.Applied, in.Commit, in.Now)
				}
				if tt.maxSize > 0 && len(mustJSON(t, r)) > tt.maxSize {
					t.Errorf("record %s is %d bytes, more than %d", k, len(mustJSON(t, r)), tt.maxSize)
				}
			}
			var extra []string
			for _, o := range plan.Desired.All() {
				if _, ok := in.Desired.Lookup(o.Key); !ok {
					extra = append(extra, RecordKey(o.Key))
				}
			}
			check("objects added to Desired", extra, tt.extra)
			if len(tt.extra) == 0 && plan.Desired != in.Desired {
				t.Errorf("Desired is a new set though nothing is kept")
			}
			if plan.Desired.Len() != in.Desired.Len()+len(tt.extra) {
				t.Errorf("Desired has %d objects, want the commit's %d and %d kept", plan.Desired.Len(), in.Desired.Len(), len(tt.extra))
			}
		})
	}
}

// TestKeptObjectAsLastApplied checks that a kept object runs as the last
// commit that had it applied it, not as an earlier one, and that the
// commit's set is left alone.
func TestKeptObjectAsLastApplied(t *testing.T) {
	for _, maxSize := range []int{0, 900} { // plain and compressed records
		plan, in := run(t, []map[string]string{all, merge(all, map[string]string{"keep.yaml": keep(3)}), none}, maxSize)
		d, ok := plan.Desired.Get("Deployment", "default", "keep").(*appsv1.Deployment)
		if !ok || d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
			t.Fatalf("maxSize %d: kept Deployment %+v, want 3 replicas", maxSize, d)
		}
		want := loadCommit(t, map[string]string{"keep.yaml": keep(3)}).Get("Deployment", "default", "keep")
		if !reflect.DeepEqual(mustJSON(t, d), mustJSON(t, want)) {
			t.Errorf("maxSize %d: kept object differs from the one applied:\n%s\n%s", maxSize, mustJSON(t, d), mustJSON(t, want))
		}
		if o, _ := plan.Desired.Lookup(manifests.Key{Kind: "Deployment", Namespace: "default", Name: "keep"}); o.Source.File != "keep.yaml" {
			t.Errorf("kept object's source %+v, want keep.yaml", o.Source)
		}
		if in.Desired.Get("Deployment", "default", "keep") != nil || in.Desired.Len() != 1 {
			t.Errorf("the commit's set changed: %d objects", in.Desired.Len())
		}
		for _, r := range plan.Kept {
			if r.Key.Name == "keep" && r.Commit != "c2" {
				t.Errorf("kept record applied by %q, want c2", r.Commit)
			}
			if r.Key.Name == "keep" && (r.Gzip != nil) != (maxSize > 0) {
				t.Errorf("maxSize %d: kept record compressed: %v", maxSize, r.Gzip != nil)
			}
		}
	}
}

func TestInvalidRecords(t *testing.T) {
	good := Compute(Input{Desired: loadCommit(t, all), Commit: "c1", Now: base}).Put
	records := map[string]Record{
		keepKey:                   good[keepKey],
		"Widget/default/w":        {Key: manifests.Key{Kind: "Widget", Namespace: "default", Name: "w"}, Object: json.RawMessage(`{}`)},
		"ConfigMap/default/x":     {Key: manifests.Key{Kind: "ConfigMap", Namespace: "default", Name: "x"}, Object: json.RawMessage(`{"data": 3}`)},
		"ConfigMap/default/y":     {Key: manifests.Key{Kind: "ConfigMap", Namespace: "default", Name: "y"}, Object: json.RawMessage(`{"metadata": {"name": "z", "namespace": "default"}}`)},
		"ConfigMap/default/moved": good[cfgKey],
	}
	plan := Compute(Input{Desired: loadCommit(t, none), Commit: "c2", Records: records, Now: base.Add(time.Hour)})
	want := map[string]string{
		"Widget/default/w":        "kind Widget is not one this version of shoal reads",
		"ConfigMap/default/x":     "does not decode",
		"ConfigMap/default/y":     "is named default/z",
		"ConfigMap/default/moved": "is stored under ConfigMap/default/moved",
	}
	if len(plan.Invalid) != len(want) {
		t.Errorf("Invalid = %v", plan.Invalid)
	}
	for k, msg := range want {
		if !strings.Contains(plan.Invalid[k], msg) {
			t.Errorf("Invalid[%s] = %q, want it to say %q", k, plan.Invalid[k], msg)
		}
	}
	if len(plan.Kept) != 1 || plan.Kept[0].Key.Name != "keep" || plan.Desired.Len() != 2 {
		t.Errorf("kept %v, desired %d objects; want only keep, beside the commit's", plan.Kept, plan.Desired.Len())
	}
}

func keys[V any](m map[string]V) []string {
	out := sortedKeys(m)
	if len(out) == 0 {
		return nil
	}
	return out
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func without(m map[string]string, file string) map[string]string {
	out := merge(m, nil)
	delete(out, file)
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
