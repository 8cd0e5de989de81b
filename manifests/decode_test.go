package manifests

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// readOne reads a single file named name with the given content.
func readOne(name, content string) *Result {
	return Read(Input{FS: fstest.MapFS{name: {Data: []byte(content)}}})
}

// diagStrings renders diagnostics for comparison.
func diagStrings(ds Diagnostics) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.String()
	}
	return out
}

const goodPod = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    image: busybox:1.36
`

// TestReadDiagnostics gives each decoding rule a bad input and the exact
// diagnostics it must produce.
func TestReadDiagnostics(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		want    []string
	}{
		{
			name: "unknown field names file, line, object, path and the likely field",
			file: "deploy.yaml",
			content: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: busybox
        imagePullPolcy: Always
`,
			want: []string{`deploy.yaml:15: Deployment/default/web: error: spec.template.spec.containers[0].imagePullPolcy: unknown field "imagePullPolcy" (did you mean "imagePullPolicy"?)`},
		},
		{
			name: "unknown field with nothing close",
			file: "pod.yaml",
			content: goodPod + `  frobnicate: true
`,
			want: []string{`pod.yaml:9: Pod/default/web: error: spec.frobnicate: unknown field "frobnicate"`},
		},
		{
			name: "several unknown fields are all reported",
			file: "pod.yaml",
			content: `apiVersion: v1
kind: Pod
metadata:
  name: web
  lables: {a: b}
spec:
  containers:
  - name: app
    image: busybox
    portz: []
`,
			want: []string{
				`pod.yaml:5: Pod/default/web: error: metadata.lables: unknown field "lables" (did you mean "labels"?)`,
				`pod.yaml:10: Pod/default/web: error: spec.containers[0].portz: unknown field "portz" (did you mean "ports"?)`,
			},
		},
		{
			name: "duplicate key is a YAML error with its line",
			file: "pod.yaml",
			content: `apiVersion: v1
kind: Pod
metadata:
  name: web
  name: other
spec:
  containers: []
`,
			want: []string{`pod.yaml:5: error: invalid YAML: key "name" already set in map`},
		},
		{
			name:    "YAML syntax error has the line in the file",
			file:    "bad.yaml",
			content: goodPod + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: [\n",
			want:    []string{`bad.yaml:13: error: invalid YAML: did not find expected key`},
		},
		{
			name: "wrong type names the field with its index",
			file: "pod.yaml",
			content: `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    image: busybox
    ports:
    - containerPort: eighty
`,
			want: []string{`pod.yaml:10: Pod/default/web: error: spec.containers[0].ports[0].containerPort: expected a whole number, got string "eighty"`},
		},
		{
			name: "YAML 1.1 boolean where a string is expected says to quote it",
			file: "pod.yaml",
			content: goodPod + `    env:
    - name: DEBUG
      value: yes
`,
			want: []string{`pod.yaml:11: Pod/default/web: error: spec.containers[0].env[0].value: expected a string, got boolean true: quote the value in YAML (unquoted yes, no, on, off, true, false and numbers are not strings)`},
		},
		{
			name: "bad quantity names the field",
			file: "pod.yaml",
			content: goodPod + `    resources:
      limits:
        memory: 12XB
`,
			want: []string{`pod.yaml:11: Pod/default/web: error: spec.containers[0].resources.limits[memory]: invalid value string "12XB": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`},
		},
		{
			name:    "missing apiVersion and kind",
			file:    "x.yaml",
			content: "metadata:\n  name: x\n",
			want:    []string{`x.yaml:1: (no kind)/x: error: apiVersion and kind is required: every object needs apiVersion and kind`},
		},
		{
			name:    "a document that is not a mapping",
			file:    "x.yaml",
			content: "- a\n- b\n",
			want:    []string{`x.yaml:1: error: expected a Kubernetes object (a mapping with apiVersion and kind), got a list`},
		},
		{
			name:    "unsupported well-known kind",
			file:    "sts.yaml",
			content: "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\n",
			want:    []string{`sts.yaml:2: StatefulSet/db: error: StatefulSet is not supported: use a Deployment with a PersistentVolumeClaim, or one Pod per member`},
		},
		{
			name:    "custom resource",
			file:    "cr.yaml",
			content: "apiVersion: example.com/v1\nkind: Website\nmetadata:\n  name: site\n",
			want:    []string{`cr.yaml:2: Website/site: error: kind Website (apiVersion example.com/v1) is not supported by shoal: custom resources have no controller here; docs/SUPPORT.md lists the kinds shoal runs`},
		},
		{
			name:    "known kind in a version Kubernetes never served",
			file:    "d.yaml",
			content: "apiVersion: v1\nkind: Deployment\nmetadata:\n  name: web\n",
			want:    []string{`d.yaml:2: Deployment/web: error: Deployment is not served as apiVersion "v1": use apiVersion "apps/v1"`},
		},
		{
			name:    "RBAC is ignored with a warning",
			file:    "rbac.yaml",
			content: "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\n  namespace: foo\nrules: []\n",
			want:    []string{`rbac.yaml:2: Role/foo/r: warning: RBAC objects are ignored: shoal has no Kubernetes API for pods to call, so there is nothing to authorize`},
		},
		{
			name: "refused volume type",
			file: "pod.yaml",
			content: goodPod + `  volumes:
  - name: data
    gcePersistentDisk:
      pdName: disk
`,
			want: []string{`pod.yaml:11: Pod/default/web: error: spec.volumes[0].gcePersistentDisk: volume type gcePersistentDisk is not supported on shoal nodes: use hostPath, local or nfs volumes, or a PersistentVolumeClaim`},
		},
		{
			name: "extended resource",
			file: "pod.yaml",
			content: goodPod + `    resources:
      limits:
        nvidia.com/gpu: 1
`,
			want: []string{`pod.yaml:10: Pod/default/web: error: spec.containers[0].resources.limits: resource nvidia.com/gpu is not supported: shoal nodes offer cpu, memory and ephemeral-storage only (no device plugins or hugepages)`},
		},
		{
			name:    "ignored field warns",
			file:    "pod.yaml",
			content: goodPod + "  priorityClassName: high\n",
			want:    []string{`pod.yaml:9: Pod/default/web: warning: spec.priorityClassName: ignored: shoal does not preempt pods`},
		},
		{
			name:    "value-dependent support",
			file:    "pod.yaml",
			content: goodPod + "  schedulerName: my-scheduler\n",
			want:    []string{`pod.yaml:9: Pod/default/web: error: spec.schedulerName: value "my-scheduler" is not supported: default-scheduler only: a pod for another scheduler would never start`},
		},
		{
			name:    "status in a manifest is ignored",
			file:    "pod.yaml",
			content: goodPod + "status:\n  phase: Running\n",
			want:    []string{`pod.yaml:9: Pod/default/web: warning: status: ignored: status is reported by shoal, never read from manifests`},
		},
		{
			name:    "empty status is fine",
			file:    "pod.yaml",
			content: goodPod + "status: {}\n",
		},
		{
			name:    "namespace on a cluster-scoped kind",
			file:    "ns.yaml",
			content: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  namespace: default\n",
			want:    []string{`ns.yaml:5: Namespace/shop: warning: metadata.namespace: Namespace is cluster-scoped: the namespace "default" is ignored`},
		},
		{
			name: "legacy version that loses a field",
			file: "d.yaml",
			content: `apiVersion: extensions/v1beta1
kind: Deployment
metadata:
  name: web
spec:
  rollbackTo:
    revision: 1
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: busybox
`,
			want: []string{
				`d.yaml:1: Deployment/default/web: warning: extensions/v1beta1 Deployment is deprecated and no longer served by Kubernetes: read as apps/v1; change apiVersion to "apps/v1"`,
				"d.yaml:6: Deployment/default/web: error: spec.rollbackTo: has no equivalent in apps/v1 (rollbacks are done by changing the template): remove it; with shoal, `shoal rollout undo` rewrites the manifest",
			},
		},
		{
			name:    "comments and empty documents are skipped",
			file:    "x.yaml",
			content: "# nothing here\n---\n---\n" + goodPod + "---\n# trailing\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diagStrings(readOne(tt.file, tt.content).Diagnostics)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("diagnostics:\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

func TestReadMultiDocumentLinesAndLists(t *testing.T) {
	content := goodPod + `---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: one
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: two
    bogus: 1
`
	res := readOne("all.yaml", content)
	var got []string
	for _, o := range res.Objects {
		got = append(got, o.Key.String()+"@"+strconv.Itoa(o.Source.Line)+"="+o.Verdict())
	}
	want := []string{"Pod/default/web@1=ok", "ConfigMap/default/one@13=ok", "ConfigMap/default/two@17=error"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("objects: got %v, want %v", got, want)
	}
	wantDiag := `all.yaml:21: ConfigMap/default/two: error: metadata.bogus: unknown field "bogus"`
	if d := diagStrings(res.Diagnostics); len(d) != 1 || d[0] != wantDiag {
		t.Errorf("diagnostics: got %q, want %q", d, wantDiag)
	}
}

func TestReadJSONFile(t *testing.T) {
	res := readOne("cm.json", `{
  "apiVersion": "v1",
  "kind": "ConfigMap",
  "metadata": {"name": "cfg", "namespace": "shop"},
  "data": {"a": "1"},
  "extra": true
}`)
	want := []string{`cm.json:6: ConfigMap/shop/cfg: error: extra: unknown field "extra"`}
	if got := diagStrings(res.Diagnostics); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadDuplicatesNameBothFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"a/pod.yaml": {Data: []byte(goodPod)},
		"b/pod.yml":  {Data: []byte("# same pod\n" + goodPod)},
	}
	res := Read(Input{FS: fsys, Name: "repo"})
	want := []string{
		"repo/a/pod.yaml:1: Pod/default/web: error: duplicate object: Pod/default/web is also defined at repo/b/pod.yml:2; remove one of them",
		"repo/b/pod.yml:2: Pod/default/web: error: duplicate object: Pod/default/web is also defined at repo/a/pod.yaml:1; remove one of them",
	}
	if got := diagStrings(res.Diagnostics); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestReadSkipsHiddenFoldersAndOtherFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"pod.yaml":            {Data: []byte(goodPod)},
		".git/config.yaml":    {Data: []byte("not: [a manifest")},
		".github/ci.yml":      {Data: []byte("on: push")},
		"README.md":           {Data: []byte("# hello")},
		"nested/.hidden/x.js": {Data: []byte("x")},
	}
	res := Read(Input{FS: fsys})
	if len(res.Diagnostics) != 0 || len(res.Files) != 1 || res.Files[0] != "pod.yaml" {
		t.Errorf("files %v, diagnostics %q", res.Files, diagStrings(res.Diagnostics))
	}
}

func TestReadUnreadablePath(t *testing.T) {
	res := Read(Input{FS: fstest.MapFS{}, Path: "missing.yaml", Name: "repo"})
	want := []string{"repo/missing.yaml: error: cannot read: file does not exist"}
	if got := diagStrings(res.Diagnostics); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoadFailsWholeOnAnyError(t *testing.T) {
	fsys := fstest.MapFS{
		"good.yaml": {Data: []byte(goodPod)},
		"bad.yaml":  {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndatta: {}\n")},
	}
	set, err := Load(fsys)
	if set != nil {
		t.Errorf("Load returned a Set despite an error")
	}
	var ds Diagnostics
	if !errors.As(err, &ds) || len(ds.Errors()) != 1 || ds.Errors()[0].File != "bad.yaml" || ds.Errors()[0].Line != 5 {
		t.Fatalf("Load error = %v, want one error at bad.yaml:5", err)
	}
	if want := `bad.yaml:5: ConfigMap/default/c: error: datta: unknown field "datta" (did you mean "data"?)`; err.Error() != want {
		t.Errorf("error text %q, want %q", err.Error(), want)
	}
}

func TestLoadSet(t *testing.T) {
	fsys := fstest.MapFS{
		"pod.yaml": {Data: []byte(goodPod)},
		"ns.yaml":  {Data: []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n")},
		"cm.yaml":  {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: shop\ndata: {a: b}\n")},
		"role.yaml": {Data: []byte(
			"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n")},
	}
	set, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 3 {
		t.Errorf("Len = %d, want 3 (the ClusterRole is ignored)", set.Len())
	}
	if w := set.Warnings(); len(w) != 1 || w[0].File != "role.yaml" {
		t.Errorf("warnings = %q", diagStrings(w))
	}
	pod, ok := set.Get("Pod", "default", "web").(*corev1.Pod)
	if !ok || pod.Spec.Containers[0].Image != "busybox:1.36" {
		t.Fatalf("Get Pod = %#v", set.Get("Pod", "default", "web"))
	}
	if cms := Of[*corev1.ConfigMap](set); len(cms) != 1 || cms[0].Data["a"] != "b" {
		t.Errorf("Of ConfigMap = %v", cms)
	}
	if got := strings.Join(set.Namespaces(), ","); got != "default,shop" {
		t.Errorf("Namespaces = %s", got)
	}
	if got := len(set.InNamespace("ConfigMap", "shop")); got != 1 {
		t.Errorf("InNamespace = %d", got)
	}
	var keys []string
	for _, o := range set.All() {
		keys = append(keys, o.Key.String())
	}
	if got := strings.Join(keys, " "); got != "ConfigMap/shop/cfg Namespace/shop Pod/default/web" {
		t.Errorf("All = %s", got)
	}
	if o, ok := set.Lookup(Key{Kind: "Namespace", Name: "shop"}); !ok || o.Source.File != "ns.yaml" || o.Source.Line != 1 {
		t.Errorf("Lookup Namespace = %+v, %v", o, ok)
	}
}

func loadObject(t *testing.T, content string) *Object {
	t.Helper()
	set, err := Load(fstest.MapFS{"x.yaml": {Data: []byte(content)}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if set.Len() != 1 {
		t.Fatalf("Len = %d", set.Len())
	}
	return set.All()[0]
}

func TestLegacyConversions(t *testing.T) {
	const template = `  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: busybox:1.36
`
	t.Run("extensions/v1beta1 Deployment keeps its old defaults", func(t *testing.T) {
		o := loadObject(t, "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"+template)
		d := o.Obj.(*appsv1.Deployment)
		if d.Spec.Selector == nil || d.Spec.Selector.MatchLabels["app"] != "web" || d.Labels["app"] != "web" {
			t.Errorf("selector/labels not defaulted from the template: %v %v", d.Spec.Selector, d.Labels)
		}
		ru := d.Spec.Strategy.RollingUpdate
		if ru == nil || ru.MaxSurge.IntValue() != 1 || ru.MaxUnavailable.IntValue() != 1 {
			t.Errorf("rolling update = %+v, want maxSurge 1, maxUnavailable 1", ru)
		}
		if *d.Spec.RevisionHistoryLimit != math.MaxInt32 || *d.Spec.ProgressDeadlineSeconds != math.MaxInt32 {
			t.Errorf("revisionHistoryLimit %d, progressDeadlineSeconds %d, want MaxInt32", *d.Spec.RevisionHistoryLimit, *d.Spec.ProgressDeadlineSeconds)
		}
		if o.Source.APIVersion != "extensions/v1beta1" || d.APIVersion != "apps/v1" {
			t.Errorf("apiVersion written %q, converted %q", o.Source.APIVersion, d.APIVersion)
		}
	})
	t.Run("apps/v1beta1 Deployment keeps 2 old ReplicaSets", func(t *testing.T) {
		d := loadObject(t, "apiVersion: apps/v1beta1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"+template).Obj.(*appsv1.Deployment)
		if *d.Spec.RevisionHistoryLimit != 2 || d.Spec.Strategy.RollingUpdate.MaxSurge.String() != "25%" {
			t.Errorf("revisionHistoryLimit %d, maxSurge %s", *d.Spec.RevisionHistoryLimit, d.Spec.Strategy.RollingUpdate.MaxSurge)
		}
	})
	t.Run("extensions/v1beta1 DaemonSet updates on delete", func(t *testing.T) {
		d := loadObject(t, "apiVersion: extensions/v1beta1\nkind: DaemonSet\nmetadata:\n  name: mon\nspec:\n"+template).Obj.(*appsv1.DaemonSet)
		if d.Spec.UpdateStrategy.Type != appsv1.OnDeleteDaemonSetStrategyType {
			t.Errorf("update strategy %q, want OnDelete", d.Spec.UpdateStrategy.Type)
		}
	})
	t.Run("extensions/v1beta1 Ingress maps backends", func(t *testing.T) {
		ing := loadObject(t, `apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: web
spec:
  backend:
    serviceName: fallback
    servicePort: http
  rules:
  - host: shop.example.test
    http:
      paths:
      - path: /
        backend:
          serviceName: web
          servicePort: 80
`).Obj.(*networkingv1.Ingress)
		if b := ing.Spec.DefaultBackend; b == nil || b.Service.Name != "fallback" || b.Service.Port.Name != "http" {
			t.Errorf("defaultBackend = %+v", b)
		}
		p := ing.Spec.Rules[0].HTTP.Paths[0]
		if p.Backend.Service.Name != "web" || p.Backend.Service.Port.Number != 80 || *p.PathType != networkingv1.PathTypeImplementationSpecific {
			t.Errorf("path = %+v %+v", p, p.Backend.Service)
		}
	})
	t.Run("batch/v2alpha1 CronJob", func(t *testing.T) {
		cj := loadObject(t, `apiVersion: batch/v2alpha1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "*/15 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: app
            image: busybox
`).Obj.(*batchv1.CronJob)
		if cj.Spec.Schedule != "*/15 * * * *" || cj.APIVersion != "batch/v1" {
			t.Errorf("cronjob = %+v", cj.Spec)
		}
	})
}

func TestParsePathRoundTrip(t *testing.T) {
	for _, p := range []string{
		"spec.template.spec.containers[0].image",
		"metadata.labels[app.kubernetes.io/name]",
		"data[key.with.dots]",
		"spec.volumes[12].configMap.items[0].path",
	} {
		if got := formatPath(parsePath(p)); got != p {
			t.Errorf("formatPath(parsePath(%q)) = %q", p, got)
		}
	}
}
