package admission

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/shoal-run/shoal/manifests"
)

const decideFile = `apiVersion: shoal.run/v1alpha1
kind: AdmissionPolicy
policies:
- name: no-host
  namespaceSelector: {}
  rules:
    forbidHostPath: true
- name: payments
  namespaceSelector:
    matchLabels: {team: payments}
  rules:
    requireLimits: [cpu, memory]
- name: web
  namespaces: [web]
  namespaceSelector:
    matchExpressions:
    - {key: kubernetes.io/metadata.name, operator: In, values: [shop]}
  rules:
    forbidPrivileged: true
`

const decideManifests = `apiVersion: v1
kind: Namespace
metadata:
  name: pay
  labels: {team: payments}
---
apiVersion: v1
kind: Pod
metadata: {name: bare, namespace: pay}
spec:
  containers:
  - name: main
    image: busybox
---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: pay}
spec:
  limits:
  - type: Container
    default: {memory: 256Mi}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: web}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: api
        image: busybox
        securityContext:
          privileged: true
      volumes:
      - name: logs
        hostPath: {path: /var/log}
---
apiVersion: v1
kind: Pod
metadata: {name: ok, namespace: web}
spec:
  containers:
  - name: main
    image: busybox
---
apiVersion: v1
kind: Pod
metadata: {name: priv, namespace: shop}
spec:
  containers:
  - name: main
    image: busybox
    securityContext: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata: {name: priv, namespace: other}
spec:
  containers:
  - name: main
    image: busybox
    securityContext: {privileged: true}
---
apiVersion: v1
kind: Pod
metadata: {name: preview, namespace: pr-12}
spec:
  containers:
  - name: main
    image: busybox
    resources:
      limits: {cpu: 100m}
`

func TestDecide(t *testing.T) {
	cfg, err := Parse(Path, []byte(decideFile))
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"apps.yaml": {Data: []byte(decideManifests)}}
	set, err := manifests.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	namespaces := NamespacesOf(set)
	if ns := namespaces["pay"]; ns.Labels["team"] != "payments" || ns.Preview {
		t.Fatalf("namespace pay = %+v", ns)
	}
	pr := namespaces["pr-12"]
	pr.Preview = true
	namespaces["pr-12"] = pr

	admitted, refused := Admit(set, cfg, namespaces)
	var got []string
	for _, r := range refused {
		for _, v := range r.Violations {
			got = append(got, r.Key.String()+" "+v.Policy+"/"+v.Rule+" "+v.Field)
		}
	}
	want := []string{
		// The LimitRange gives a memory limit by default; cpu is missing.
		"Pod/pay/bare payments/requireLimits spec.containers[0].resources.limits[cpu]",
		"Pod/pr-12/preview preview-strict/requireLimits spec.containers[0].resources.limits[memory]",
		"Pod/shop/priv web/forbidPrivileged spec.containers[0].securityContext.privileged",
		"Deployment/web/api no-host/forbidHostPath spec.template.spec.volumes[0].hostPath",
		"Deployment/web/api web/forbidPrivileged spec.template.spec.containers[0].securityContext.privileged",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, k := range []string{"Pod/pay/bare", "Pod/shop/priv", "Deployment/web/api", "Pod/pr-12/preview"} {
		for _, o := range admitted.All() {
			if o.Key.String() == k {
				t.Errorf("%s is still in the admitted set", k)
			}
		}
	}
	if admitted.Len() != set.Len()-4 || admitted.Get("Pod", "other", "priv") == nil || admitted.Get("Pod", "web", "ok") == nil {
		t.Errorf("admitted set has %d objects of %d", admitted.Len(), set.Len())
	}

	// Rendering: one line for events and status, diagnostics at the field's
	// line when the file is given.
	var api Refusal
	for _, r := range refused {
		if r.Key.Name == "api" {
			api = r
		}
	}
	line := api.String()
	if !strings.HasPrefix(line, "Deployment/web/api (apps.yaml:23) is refused: policy no-host, rule forbidHostPath: spec.template.spec.volumes[0].hostPath: volume \"logs\"") ||
		!strings.Contains(line, "; policy web, rule forbidPrivileged: spec.template.spec.containers[0].securityContext.privileged: container \"api\" is privileged") {
		t.Errorf("String() = %s", line)
	}
	ds := api.Diagnostics(fsys)
	if len(ds) != 2 || ds[0].Line != 38 || ds[1].Line != 35 || ds[0].Object != "Deployment/web/api" ||
		!strings.HasPrefix(ds[0].String(), "apps.yaml:38: Deployment/web/api: error: policy no-host, rule forbidHostPath: spec.template.spec.volumes[0].hostPath: ") {
		t.Errorf("Diagnostics(fsys) = %v (lines %d, %d)", ds, ds[0].Line, ds[1].Line)
	}
	if ds := api.Diagnostics(nil); ds[0].Line != 23 {
		t.Errorf("Diagnostics(nil) line = %d, want the object's 23", ds[0].Line)
	}

	// Without policies nothing is refused; a nil Config still guards previews.
	if r := Decide(set, &Config{}, NamespacesOf(set)); len(r) != 0 {
		t.Errorf("empty config refused %v", r)
	}
	if r := Decide(set, nil, namespaces); len(r) != 1 || r[0].Key.Name != "preview" {
		t.Errorf("nil config: %v", r)
	}
}

func TestPolicyFor(t *testing.T) {
	cfg, err := Parse(Path, []byte(`apiVersion: shoal.run/v1alpha1
kind: AdmissionPolicy
previewPolicy: loose-previews
policies:
- name: all
  namespaceSelector: {}
  rules: {forbidHostPath: true}
- name: loose-previews
  rules: {forbidPrivileged: true}
- name: team-a
  namespaces: [a]
  namespaceSelector: {matchLabels: {team: a}}
  rules: {forbidHostPorts: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	names := func(ps []Policy) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return strings.Join(out, ",")
	}
	tests := []struct {
		ns   Namespace
		want string
	}{
		{Namespace{Name: "a"}, "all,team-a"},
		{Namespace{Name: "b", Labels: map[string]string{"team": "a"}}, "all,team-a"},
		{Namespace{Name: "c"}, "all"},
		{Namespace{Name: "pr-1", Preview: true}, "loose-previews,all"},
		{Namespace{Name: "a", Preview: true}, "loose-previews,all,team-a"},
	}
	for _, tt := range tests {
		if got := names(cfg.For(tt.ns)); got != tt.want {
			t.Errorf("For(%+v) = %s, want %s", tt.ns, got, tt.want)
		}
	}
	if got := names((*Config)(nil).For(Namespace{Name: "x", Preview: true})); got != PreviewStrictName {
		t.Errorf("nil config, preview: %s", got)
	}
}
