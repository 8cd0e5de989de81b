package admission

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/shoal-run/shoal/manifests"
	corev1 "k8s.io/api/core/v1"
)

const fullFile = `# Admission policies for the shop.
apiVersion: shoal.run/v1alpha1
kind: AdmissionPolicy
previewPolicy: previews
policies:
- name: baseline
  namespaceSelector: {}
  rules:
    forbidPrivileged: true
    forbidHostNamespaces: true
- name: shop
  namespaces: [shop, web]
  namespaceSelector:
    matchLabels:
      team: payments
    matchExpressions:
    - {key: tier, operator: In, values: [front, back]}
  rules:
    forbidHostPath: true
    forbidPrivileged: true
    forbidHostNamespaces: true
    forbidAddedCapabilities: true
    allowedCapabilities: [NET_BIND_SERVICE, CAP_CHOWN]
    forbidHostPorts: true
    allowedRegistries: [ghcr.io/acme, docker.io/library, localhost:5000]
    requireLimits: [cpu, memory]
- name: previews
  rules:
    allowedRegistries: [ghcr.io/acme]
`

func TestParseValid(t *testing.T) {
	cfg, err := Parse(Path, []byte(fullFile))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File != Path || cfg.PreviewPolicy != "previews" || len(cfg.Policies) != 3 {
		t.Fatalf("got file %q, preview policy %q, %d policies", cfg.File, cfg.PreviewPolicy, len(cfg.Policies))
	}
	shop := cfg.Policies[1]
	r := shop.Rules
	if !r.ForbidHostPath || !r.ForbidPrivileged || !r.ForbidHostNamespaces || !r.ForbidAddedCapabilities || !r.ForbidHostPorts ||
		len(r.AllowedCapabilities) != 2 || len(r.AllowedRegistries) != 3 ||
		len(r.RequireLimits) != 2 || r.RequireLimits[0] != corev1.ResourceCPU {
		t.Fatalf("rules not read: %+v", r)
	}
	if shop.selector == nil || shop.selector.String() != "team=payments,tier in (back,front)" {
		t.Fatalf("selector = %v", shop.selector)
	}

	// A minimal file: previews keep preview-strict.
	cfg, err = Parse("a.yaml", []byte("apiVersion: shoal.run/v1alpha1\nkind: AdmissionPolicy\npolicies:\n- name: p\n  namespaces: [x]\n  rules: {forbidHostPorts: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PreviewPolicy != PreviewStrictName {
		t.Fatalf("preview policy = %q", cfg.PreviewPolicy)
	}
}

func TestParseErrors(t *testing.T) {
	const head = "apiVersion: shoal.run/v1alpha1\nkind: AdmissionPolicy\npolicies:\n- name: p\n  namespaces: [x]\n"
	tests := []struct {
		name string
		data string
		want []string // every diagnostic, as String()
	}{
		{"unknown rule", head + "  rules:\n    forbidPrivileged: true\n    forbidHostpath: true\n",
			[]string{`f.yaml:8: error: policies[0].rules.forbidHostpath: unknown field "forbidHostpath" (did you mean "forbidHostPath"?)`}},
		{"unknown top-level field", "apiVersion: shoal.run/v1alpha1\nkind: AdmissionPolicy\npolices: []\n",
			[]string{`f.yaml:3: error: polices: unknown field "polices" (did you mean "policies"?)`}},
		{"wrong type", head + "  rules:\n    forbidPrivileged: \"yes\"\n",
			[]string{`f.yaml:7: error: policies[0].rules.forbidPrivileged: expected a boolean (true or false), got string "yes"`}},
		{"key given twice", head + "  rules:\n    forbidPrivileged: true\n    forbidPrivileged: false\n",
			[]string{`f.yaml:8: error: invalid YAML: `}},
		{"bad selector operator", "apiVersion: shoal.run/v1alpha1\nkind: AdmissionPolicy\npolicies:\n- name: p\n  namespaceSelector:\n    matchExpressions:\n    - key: team\n      operator: Equals\n      values: [a]\n  rules: {forbidHostPorts: true}\n",
			[]string{`f.yaml:7: error: policies[0].namespaceSelector.matchExpressions[0]: "Equals" is not a valid label selector operator: operator is one of In, NotIn, Exists, DoesNotExist`}},
		{"bad selector label value", "apiVersion: shoal.run/v1alpha1\nkind: AdmissionPolicy\npolicies:\n- name: p\n  namespaceSelector:\n    matchLabels:\n      team: \"a b\"\n  rules: {forbidHostPorts: true}\n",
			[]string{`f.yaml:7: error: policies[0].namespaceSelector.matchLabels[team]: values[0][team]: Invalid value: "a b"`}},
		{"missing apiVersion and kind", "policies: []\n",
			[]string{"f.yaml:1: error: apiVersion: required: set apiVersion: shoal.run/v1alpha1", "f.yaml:1: error: kind: required: set kind: AdmissionPolicy"}},
		{"wrong version and kind", "apiVersion: v1\nkind: ConfigMap\n",
			[]string{`f.yaml:1: error: apiVersion: "v1" is not a version shoal reads: set apiVersion: shoal.run/v1alpha1`, `f.yaml:2: error: kind: "ConfigMap" is not what this file holds: set kind: AdmissionPolicy`}},
		{"no name", "apiVersion: shoal.run/v1alpha1\nkind: AdmissionPolicy\npolicies:\n- namespaces: [x]\n  rules: {forbidHostPorts: true}\n",
			[]string{"f.yaml:4: error: policies[0].name: required: give the policy a name"}},
		{"built-in name", "apiVersion: shoal.run/v1alpha1\nkind: AdmissionPolicy\npolicies:\n- name: preview-strict\n  namespaces: [x]\n  rules: {forbidHostPorts: true}\n",
			[]string{`f.yaml:4: error: policies[0].name: "preview-strict" is the built-in preview policy: choose another name`}},
		{"bad and duplicate names", "apiVersion: shoal.run/v1alpha1\nkind: AdmissionPolicy\npolicies:\n- name: Web_1\n  namespaces: [x]\n  rules: {forbidHostPorts: true}\n- name: a\n  namespaces: [x]\n  rules: {forbidHostPorts: true}\n- name: a\n  namespaces: [x, X, x]\n  rules: {forbidHostPorts: true}\n",
			[]string{`f.yaml:4: error: policies[0].name: "Web_1" is not a valid name`, `f.yaml:10: error: policies[2].name: "a" is also the name of policies[1]: names must be unique`,
				`f.yaml:11: error: policies[2].namespaces[1]: "X" is not a valid namespace name`, `f.yaml:11: error: policies[2].namespaces[2]: namespace "x" is listed twice: remove one`}},
		{"no namespace", "apiVersion: shoal.run/v1alpha1\nkind: AdmissionPolicy\npolicies:\n- name: p\n  rules: {forbidHostPorts: true}\n",
			[]string{`f.yaml:4: error: policies[0]: policy "p" applies to no namespace: set namespaces, or namespaceSelector ({} selects every namespace)`}},
		{"no rules", head + "  rules: {}\n",
			[]string{"f.yaml:6: error: policies[0].rules: the policy has no rule: set at least one of forbidHostPath, forbidPrivileged"}},
		{"rules missing", head,
			[]string{"f.yaml:4: error: policies[0].rules: the policy has no rule"}},
		{"capabilities without the forbid", head + "  rules:\n    forbidPrivileged: true\n    allowedCapabilities: [net_admin]\n",
			[]string{"f.yaml:8: error: policies[0].rules.allowedCapabilities: has no effect without forbidAddedCapabilities: true",
				`f.yaml:8: error: policies[0].rules.allowedCapabilities[0]: "net_admin" is not a capability name: write it in capitals`}},
		{"empty registries", head + "  rules:\n    allowedRegistries: []\n",
			[]string{"f.yaml:7: error: policies[0].rules.allowedRegistries: the list is empty, which would refuse every image"}},
		{"bad registries", head + "  rules:\n    allowedRegistries:\n    - https://ghcr.io\n    - nginx\n    - ghcr.io/acme:v1\n    - \"\"\n",
			[]string{`f.yaml:8: error: policies[0].rules.allowedRegistries[0]: "https://ghcr.io" has a scheme`,
				`f.yaml:9: error: policies[0].rules.allowedRegistries[1]: "nginx" does not start with a registry host (a name with a dot or a port, or localhost, such as ghcr.io or localhost:5000): write docker.io/nginx for Docker Hub`,
				`f.yaml:10: error: policies[0].rules.allowedRegistries[2]: "ghcr.io/acme:v1" has a repository part that is not a lowercase name`,
				`f.yaml:11: error: policies[0].rules.allowedRegistries[3]: "" is empty`}},
		{"bad limits", head + "  rules:\n    requireLimits: [cpu, storage, cpu]\n",
			[]string{`f.yaml:7: error: policies[0].rules.requireLimits[1]: "storage" is not a resource a limit can be required for: use cpu, memory or ephemeral-storage`,
				`f.yaml:7: error: policies[0].rules.requireLimits[2]: "cpu" is listed twice: remove one`}},
		{"empty limits", head + "  rules:\n    requireLimits: []\n",
			[]string{"f.yaml:7: error: policies[0].rules.requireLimits: the list is empty"}},
		{"unknown preview policy", "apiVersion: shoal.run/v1alpha1\nkind: AdmissionPolicy\npreviewPolicy: strict\n",
			[]string{`f.yaml:3: error: previewPolicy: no policy is named "strict": name one of the file's policies, or preview-strict`}},
		{"two documents", head + "  rules: {forbidHostPorts: true}\n---\nkind: AdmissionPolicy\n",
			[]string{"f.yaml:8: error: expected one YAML document, found a second one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("f.yaml", []byte(tt.data))
			if err == nil {
				t.Fatalf("no error; got %+v", cfg)
			}
			ds, ok := err.(manifests.Diagnostics)
			if !ok {
				t.Fatalf("error is %T, want manifests.Diagnostics", err)
			}
			if len(ds) != len(tt.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%v", len(ds), len(tt.want), ds)
			}
			for i, d := range ds {
				if !strings.HasPrefix(d.String(), tt.want[i]) {
					t.Errorf("diagnostic %d:\n got %s\nwant %s...", i, d, tt.want[i])
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	// No file: no policies, previews get preview-strict.
	cfg, err := Load(fstest.MapFS{"app.yaml": {Data: []byte("kind: x")}})
	if err != nil || cfg.PreviewPolicy != PreviewStrictName || len(cfg.Policies) != 0 {
		t.Fatalf("no file: %+v, %v", cfg, err)
	}
	// The file at its path.
	cfg, err = Load(fstest.MapFS{Path: {Data: []byte(fullFile)}})
	if err != nil || len(cfg.Policies) != 3 {
		t.Fatalf("file: %+v, %v", cfg, err)
	}
	// Errors name the file at its path.
	_, err = Load(fstest.MapFS{Path: {Data: []byte("apiVersion: shoal.run/v1alpha1\nkind: AdmissionPolicy\nrules: {}\n")}})
	if err == nil || !strings.HasPrefix(err.Error(), ".shoal/admission.yaml:3: error: rules: unknown field") {
		t.Fatalf("bad file: %v", err)
	}
	// The wrong extension is not silently ignored.
	_, err = Load(fstest.MapFS{".shoal/admission.yml": {Data: []byte(fullFile)}})
	if err == nil || !strings.Contains(err.Error(), "shoal reads admission policies from .shoal/admission.yaml only: rename the file") {
		t.Fatalf(".yml: %v", err)
	}
	// A folder where the file belongs.
	_, err = Load(fstest.MapFS{Path + "/x": {Data: []byte("x")}})
	if err == nil || !strings.HasPrefix(err.Error(), ".shoal/admission.yaml: error: cannot read") {
		t.Fatalf("folder: %v", err)
	}
}

// TestFileNotAManifest checks that manifests.Load never reads the
// admission file as a Kubernetes object.
func TestFileNotAManifest(t *testing.T) {
	set, err := manifests.Load(fstest.MapFS{Path: {Data: []byte(fullFile)}})
	if err != nil || set.Len() != 0 {
		t.Fatalf("manifests.Load read the admission file: %v, %d objects", err, set.Len())
	}
}
