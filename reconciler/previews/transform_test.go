package previews

import (
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/policies/admission"
)

// load reads YAML files into a Set.
func load(t *testing.T, files map[string]string) *manifests.Set {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	res := manifests.Read(manifests.Input{FS: fsys})
	set, err := res.Set()
	if err != nil {
		t.Fatalf("loading: %v", res.Diagnostics)
	}
	return set
}

const shop = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: web}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: testapp:test}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: NodePort
  clusterIP: 10.96.0.50
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  tls: [{hosts: [shop.example.test], secretName: tls}]
  defaultBackend: {service: {name: web, port: {number: 80}}}
  rules:
  - host: shop.example.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
  - host: shop.example.org  # sorts first: it gets pr-42.shop
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
  - http: {paths: [{path: /api, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: bad, namespace: shop}
spec:
  volumes: [{name: h, hostPath: {path: /etc}}]
  containers: [{name: c, image: busybox, volumeMounts: [{name: h, mountPath: /h}]}]
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: data}
spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /data}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: grab, namespace: shop}
spec: {volumeName: data, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: b}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: shoal-preview, namespace: shop}
spec: {hard: {pods: "100"}}
`

func testSpec() Spec {
	cfg, _ := Parse(Path, []byte(head+"domain: preview.example.test\n"))
	return Spec{ID: "pr-42", Ref: "refs/pull/42/head", Commit: "abc", Config: cfg, ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16")}
}

func TestTransform(t *testing.T) {
	set := load(t, map[string]string{"app.yaml": shop})
	p := Transform(set, testSpec())

	if got := strings.Join(p.Mapped(), ","); got != "pr-42-default,pr-42-shop" {
		t.Errorf("namespaces %s", got)
	}
	keys := map[string]bool{}
	for _, o := range p.Objects {
		keys[o.Key.String()] = true
		if o.Key.Namespace != "" && !strings.HasPrefix(o.Key.Namespace, "pr-42-") {
			t.Errorf("%s is not in a preview namespace", o.Key)
		}
	}
	for _, want := range []string{"Namespace/pr-42-shop", "Namespace/pr-42-default", "Deployment/pr-42-shop/web", "Service/pr-42-shop/web",
		"Ingress/pr-42-shop/web", "ConfigMap/pr-42-default/cfg", "ResourceQuota/pr-42-shop/shoal-preview", "LimitRange/pr-42-shop/shoal-preview",
		"ResourceQuota/pr-42-default/shoal-preview"} {
		if !keys[want] {
			t.Errorf("no %s among %v", want, keys)
		}
	}
	var refused []string
	for _, r := range p.Refused {
		refused = append(refused, r.String())
	}
	want := []string{
		"PersistentVolume/data (app.yaml:44): PersistentVolume is cluster-scoped",
		"PersistentVolumeClaim/shop/grab (app.yaml:49): spec.volumeName binds PersistentVolume \"data\"",
		"Pod/shop/bad (app.yaml:37): refused by admission: policy preview-strict, rule forbidHostPath",
		"ResourceQuota/shop/shoal-preview (app.yaml:59): the name shoal-preview is shoal's own",
	}
	if len(refused) != len(want) {
		t.Fatalf("refused:\n%s", strings.Join(refused, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(refused[i], w) {
			t.Errorf("refusal %d = %q, want it to start with %q", i, refused[i], w)
		}
	}

	ns := objOf[*corev1.Namespace](p, "Namespace", "", "pr-42-shop")
	if ns.Labels[Label] != "pr-42" || ns.Labels["team"] != "web" || ns.Labels[admission.NamespaceNameLabel] != "pr-42-shop" {
		t.Errorf("namespace labels %v", ns.Labels)
	}
	d := objOf[*appsv1.Deployment](p, "Deployment", "pr-42-shop", "web")
	if d.Labels[Label] != "pr-42" || d.Spec.Template.Labels[Label] != "" {
		t.Errorf("deployment labels %v, template labels %v", d.Labels, d.Spec.Template.Labels)
	}
	if orig := set.Get("Deployment", "shop", "web").(*appsv1.Deployment); orig.Namespace != "shop" || orig.Labels[Label] != "" {
		t.Error("the commit's object was changed")
	}
	svc := objOf[*corev1.Service](p, "Service", "pr-42-shop", "web")
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.ClusterIP != "" || svc.Spec.Ports[0].NodePort != 0 {
		t.Errorf("service spec %+v", svc.Spec)
	}
	if len(p.Notes) != 2 || !strings.Contains(p.Notes[1], "type NodePort made ClusterIP") {
		t.Errorf("notes %q", p.Notes)
	}
	ing := objOf[*networkingv1.Ingress](p, "Ingress", "pr-42-shop", "web")
	var hosts []string
	for _, r := range ing.Spec.Rules {
		hosts = append(hosts, r.Host)
	}
	if got := strings.Join(hosts, " "); got != "pr-42.shop-example-test.preview.example.test pr-42.shop.preview.example.test pr-42.preview.example.test pr-42.preview.example.test" {
		t.Errorf("hosts %s", got)
	}
	if ing.Spec.DefaultBackend != nil || ing.Spec.TLS[0].Hosts[0] != "pr-42.shop-example-test.preview.example.test" {
		t.Errorf("default backend %v, tls %v", ing.Spec.DefaultBackend, ing.Spec.TLS)
	}
	if got := strings.Join(p.URLs, " "); got != "http://pr-42.preview.example.test http://pr-42.shop.preview.example.test https://pr-42.shop-example-test.preview.example.test" {
		t.Errorf("urls %s", got)
	}
	// The objects load as a Set with no duplicate.
	manifests.NewSet(p.Objects)
}

func objOf[T any](p *Preview, kind, ns, name string) T {
	for _, o := range p.Objects {
		if o.Key == (manifests.Key{Kind: kind, Namespace: ns, Name: name}) {
			return o.Obj.(T)
		}
	}
	var zero T
	return zero
}

func TestTransformWithoutDomainRefusesIngresses(t *testing.T) {
	set := load(t, map[string]string{"app.yaml": shop})
	spec := testSpec()
	spec.Config = &Config{File: Path}
	p := Transform(set, spec)
	found := false
	for _, r := range p.Refused {
		if r.Key.Kind == "Ingress" && strings.Contains(r.Message, "sets no domain") {
			found = true
		}
	}
	if !found || len(p.URLs) != 0 {
		t.Errorf("refused %v, urls %v", p.Refused, p.URLs)
	}
	if objOf[*corev1.ResourceQuota](p, "ResourceQuota", "pr-42-shop", ObjectName) != nil {
		t.Error("a quota without a configured one")
	}
}

func TestTransformAdmissionFromTheTrackedBranch(t *testing.T) {
	// A preview policy of main's file replaces preview-strict: registries
	// are limited, hostPath allowed.
	adm, err := admission.Parse(admission.Path, []byte(`apiVersion: shoal.run/v1alpha1
kind: AdmissionPolicy
previewPolicy: previews
policies:
- name: previews
  rules: {allowedRegistries: [registry.example.test]}
`))
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec()
	spec.Admission = adm
	p := Transform(load(t, map[string]string{"app.yaml": shop}), spec)
	var refused []string
	for _, r := range p.Refused {
		if strings.Contains(r.Message, "admission") {
			refused = append(refused, r.Key.String())
			if !strings.Contains(r.Message, "policy previews, rule allowedRegistries") {
				t.Errorf("refusal %s", r)
			}
		}
	}
	if strings.Join(refused, ",") != "Deployment/shop/web,Pod/shop/bad" {
		t.Errorf("refused by admission: %v", refused)
	}
}

func TestTransformNetworkPolicies(t *testing.T) {
	set := load(t, map[string]string{"np.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
  - {}
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: db}}
    - namespaceSelector:
        matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [shop, other]}]
    - podSelector: {matchLabels: {app: x}}
  - from: [{ipBlock: {cidr: 10.244.3.0/24}}]
  egress:
  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]
  - to: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.244.0.0/16]}}]
  - to: [{ipBlock: {cidr: 192.168.0.0/16}}]
`})
	p := Transform(set, testSpec())
	np := objOf[*networkingv1.NetworkPolicy](p, "NetworkPolicy", "pr-42-shop", "np")
	if np == nil {
		t.Fatalf("objects %v", p.Objects)
	}
	in := np.Spec.Ingress
	if len(in) != 2 {
		t.Fatalf("ingress rules %+v (the pod-range ipBlock rule should be dropped)", in)
	}
	if len(in[0].From) != 1 || in[0].From[0].NamespaceSelector.MatchLabels[Label] != "pr-42" {
		t.Errorf("a rule open to all: %+v", in[0].From)
	}
	from := in[1].From
	if from[0].NamespaceSelector.MatchLabels[admission.NamespaceNameLabel] != "pr-42-db" || from[0].NamespaceSelector.MatchLabels[Label] != "pr-42" {
		t.Errorf("name selector %+v", from[0].NamespaceSelector)
	}
	if v := from[1].NamespaceSelector.MatchExpressions[0].Values; strings.Join(v, ",") != "pr-42-shop,pr-42-other" || from[1].NamespaceSelector.MatchLabels[Label] != "pr-42" {
		t.Errorf("expression selector %+v", from[1].NamespaceSelector)
	}
	if from[2].NamespaceSelector != nil {
		t.Errorf("a pod selector got a namespace selector")
	}
	eg := np.Spec.Egress
	if len(eg) != 3 || strings.Join(eg[0].To[0].IPBlock.Except, ",") != "10.244.0.0/16" ||
		strings.Join(eg[1].To[0].IPBlock.Except, ",") != "10.244.0.0/16" || len(eg[2].To[0].IPBlock.Except) != 0 {
		t.Errorf("egress %+v", eg)
	}
	orig := set.Get("NetworkPolicy", "shop", "np").(*networkingv1.NetworkPolicy)
	if len(orig.Spec.Ingress) != 3 || orig.Spec.Ingress[1].From[0].NamespaceSelector.MatchLabels[admission.NamespaceNameLabel] != "db" {
		t.Error("the commit's policy was changed")
	}
}

func TestIsolationAndMerge(t *testing.T) {
	main := load(t, map[string]string{"main.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: shop}\n"})
	p := Transform(load(t, map[string]string{"app.yaml": shop}), testSpec())
	nodes := []netip.Addr{netip.MustParseAddr("10.250.1.12"), netip.MustParseAddr("10.250.1.11"), {}, netip.MustParseAddr("10.250.1.11")}
	merged, skipped := Merge(main, []*Preview{p}, nodes, netip.MustParsePrefix("10.244.0.0/16"))
	if len(skipped) != 0 {
		t.Errorf("skipped %v", skipped)
	}
	if merged.Len() != main.Len()+len(p.Objects)+2 {
		t.Errorf("merged %d objects, want %d", merged.Len(), main.Len()+len(p.Objects)+2)
	}
	np, ok := merged.Get("NetworkPolicy", "pr-42-shop", ObjectName).(*networkingv1.NetworkPolicy)
	if !ok {
		t.Fatal("no isolation policy")
	}
	from := np.Spec.Ingress[0].From
	if len(from) != 3 || from[0].NamespaceSelector.MatchLabels[Label] != "pr-42" || from[1].IPBlock.CIDR != "10.250.1.11/32" || from[2].IPBlock.CIDR != "10.250.1.12/32" {
		t.Errorf("ingress from %+v", from)
	}
	to := np.Spec.Egress
	if len(np.Spec.PolicyTypes) != 2 || len(to) != 2 || to[0].To[0].NamespaceSelector.MatchLabels[Label] != "pr-42" ||
		to[1].To[0].IPBlock.CIDR != "0.0.0.0/0" || to[1].To[0].IPBlock.Except[0] != "10.244.0.0/16" {
		t.Errorf("egress %+v", to)
	}
	if got, _ := Merge(main, nil, nodes, netip.Prefix{}); got != main {
		t.Error("no previews should give base itself")
	}
	// An object base holds already is skipped, not a panic.
	again, skipped := Merge(merged, []*Preview{p}, nil, netip.Prefix{})
	if again.Len() != merged.Len() || len(skipped) != len(p.Objects)+2 {
		t.Errorf("merging twice: %d objects, %d skipped", again.Len(), len(skipped))
	}
}

func TestConflicts(t *testing.T) {
	a := &Preview{ID: "preview-a-b", Ref: "refs/heads/preview/a-b", Namespaces: map[string]string{"c": "preview-a-b-c"}}
	b := &Preview{ID: "preview-a", Ref: "refs/heads/preview/a", Namespaces: map[string]string{"b-c": "preview-a-b-c"}}
	c := &Preview{ID: "pr-1", Ref: "refs/pull/1/head", Namespaces: map[string]string{"x": "pr-1-x"}}
	got := Conflicts([]string{"default", "pr-1-x"}, []*Preview{a, b, c})
	if len(got) != 2 || !strings.Contains(got["preview-a"], "namespace preview-a-b-c is also refs/heads/preview/a-b's") ||
		!strings.Contains(got["pr-1"], "namespace pr-1-x is also the tracked branch's") {
		t.Errorf("conflicts %v", got)
	}
}
