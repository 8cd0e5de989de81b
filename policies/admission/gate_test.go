package admission

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shoal-run/shoal/manifests"
	corev1 "k8s.io/api/core/v1"
)

// compatDir finds the book corpus (../shared/compat beside the repository,
// or $SHOAL_COMPAT_DIR), as the manifests tests do.
func compatDir(t *testing.T) string {
	dir := os.Getenv("SHOAL_COMPAT_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "compat", "kubernetes-in-action")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if os.Getenv("CI") != "" {
			t.Fatalf("compatibility corpus not found at %s (set SHOAL_COMPAT_DIR)", dir)
		}
		t.Skipf("compatibility corpus not found at %s (set SHOAL_COMPAT_DIR)", dir)
	}
	return dir
}

// loadCorpus loads files of the book corpus into one set.
func loadCorpus(t *testing.T, files ...string) *manifests.Set {
	t.Helper()
	fsys := os.DirFS(compatDir(t))
	var inputs []manifests.Input
	for _, f := range files {
		inputs = append(inputs, manifests.Input{FS: fsys, Path: f})
	}
	set, err := manifests.Read(inputs...).Set()
	if err != nil {
		t.Fatalf("load %v: %v", files, err)
	}
	return set
}

// TestGateBook replays chapter 14 of Kubernetes in Action: its LimitRange
// (limits.yaml) and quota (quota-cpu-memory.yaml) in one namespace, and its
// pods created one after another.
func TestGateBook(t *testing.T) {
	set := loadCorpus(t, "Chapter14/limits.yaml", "Chapter14/quota-cpu-memory.yaml")
	pods := loadCorpus(t, "Chapter14/requests-pod.yaml", "Chapter14/requests-pod-2.yaml", "Chapter14/limited-pod.yaml",
		"Chapter14/kubia-requests.yaml", "Chapter14/qos-besteffort.yaml", "Chapter14/limits-pod-too-big.yaml")
	pod := func(name string) *corev1.Pod { return pods.Get("Pod", "default", name).(*corev1.Pod) }

	g := NewGate(set)
	steps := []struct {
		pod  string
		want []string // violations; nil when admitted
		res  string   // the first container's resources once admitted
	}{
		{"requests-pod", nil, "requests cpu=200m,memory=10Mi limits cpu=200m,memory=100Mi"},
		{"requests-pod-2", []string{
			`LimitRange/example, rule default: spec.containers[0].resources.requests[cpu]: Invalid value: "800m": must be less than or equal to cpu limit of 200m (set by the LimitRange's defaults: set resources.limits.cpu and resources.requests.cpu)`,
		}, ""},
		{"limited-pod", []string{
			"ResourceQuota/cpu-and-mem, rule hard: exceeded quota: cpu-and-mem, requested: limits.cpu=1,requests.cpu=1, used: limits.cpu=200m,requests.cpu=200m, limited: limits.cpu=600m,requests.cpu=400m",
		}, ""},
		{"kubia-xyz", []string{
			`LimitRange/example, rule default: spec.containers[0].resources.requests[cpu]: Invalid value: "650m": must be less than or equal to cpu limit of 200m (set by the LimitRange's defaults: set resources.limits.cpu and resources.requests.cpu)`,
			`LimitRange/example, rule default: spec.containers[0].resources.requests[memory]: Invalid value: "300Mi": must be less than or equal to memory limit of 100Mi (set by the LimitRange's defaults: set resources.limits.memory and resources.requests.memory)`,
		}, ""},
		// Two containers with the defaults: 200m of the 400m requests.cpu left.
		{"qos-besteffort", nil, "requests cpu=100m,memory=10Mi limits cpu=200m,memory=100Mi"},
		// The book's own output: "maximum cpu usage per Pod is 1, but
		// request is 2., maximum cpu usage per Container is 1, but request
		// is 2."; today's API server also refuses the request above the
		// default limit.
		{"too-big", []string{
			`LimitRange/example, rule default: spec.containers[0].resources.requests[cpu]: Invalid value: "2": must be less than or equal to cpu limit of 200m (set by the LimitRange's defaults: set resources.limits.cpu and resources.requests.cpu)`,
			"LimitRange/example, rule max: maximum cpu usage per Pod is 1, but request is 2",
			"LimitRange/example, rule max: spec.containers[0].resources.requests[cpu]: maximum cpu usage per Container is 1, but request is 2",
		}, ""},
		{"requests-pod", []string{
			"ResourceQuota/cpu-and-mem, rule hard: exceeded quota: cpu-and-mem, requested: limits.cpu=200m,requests.cpu=200m, used: limits.cpu=600m,requests.cpu=400m, limited: limits.cpu=600m,requests.cpu=400m",
		}, ""},
	}
	for i, st := range steps {
		got, vs := g.Admit(pod(st.pod))
		if s := violationStrings(vs); !slices.Equal(s, st.want) {
			t.Fatalf("step %d, %s:\n got:\n  %s\nwant:\n  %s", i, st.pod, strings.Join(s, "\n  "), strings.Join(st.want, "\n  "))
		}
		if st.want == nil && resourcesString(got.Spec.Containers[0].Resources) != st.res {
			t.Errorf("step %d, %s: resources %s, want %s", i, st.pod, resourcesString(got.Spec.Containers[0].Resources), st.res)
		}
		if st.want != nil && got != nil {
			t.Errorf("step %d: a refused pod was returned", i)
		}
	}
	status := g.QuotaStatus()
	if len(status) != 1 || status[0].Name != "cpu-and-mem" || status[0].Namespace != "default" ||
		prettyPrint(status[0].Used) != "limits.cpu=600m,limits.memory=300Mi,requests.cpu=400m,requests.memory=30Mi" {
		t.Errorf("quota status = %+v", status)
	}
}

// TestGateQuotaWithoutLimitRange: the book's quota alone makes pods without
// requests and limits fail, naming what to specify.
func TestGateQuotaWithoutLimitRange(t *testing.T) {
	set := loadCorpus(t, "Chapter14/quota-cpu-memory.yaml")
	pod := loadCorpus(t, "Chapter14/qos-besteffort.yaml").Get("Pod", "default", "qos-besteffort").(*corev1.Pod)
	_, vs := NewGate(set).Admit(pod)
	want := "failed quota: cpu-and-mem: must specify limits.cpu for: main,sidecar; limits.memory for: main,sidecar; requests.cpu for: main,sidecar; requests.memory for: main,sidecar"
	if len(vs) != 1 || vs[0].Message != want || vs[0].Rule != RuleRequired {
		t.Errorf("got %v, want %s", vs, want)
	}
}

// TestGateExisting: pods that already run count with the defaults they
// were made with, and are never refused.
func TestGateExisting(t *testing.T) {
	set := loadSet(t, `apiVersion: v1
kind: LimitRange
metadata: {name: lr, namespace: team}
spec:
  limits:
  - type: Container
    defaultRequest: {cpu: 100m}
    default: {cpu: 200m}
`, `apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: team}
spec:
  hard: {requests.cpu: 250m}
`)
	g := NewGate(set)
	mk := func(name string) *corev1.Pod {
		p := resourcePod(t, "")
		p.Name, p.Namespace = name, "team"
		return p
	}
	g.Existing(mk("a"))
	g.Existing(mk("b"))
	g.Existing(mk("c")) // over the quota already: counted all the same
	_, vs := g.Admit(mk("d"))
	if len(vs) != 1 || vs[0].Message != "exceeded quota: q, requested: requests.cpu=100m, used: requests.cpu=300m, limited: requests.cpu=250m" {
		t.Errorf("got %v", vs)
	}
	if got := Forbidden("d", append(vs, Violation{Field: "spec.x", Message: "second"})); got != `pods "d" is forbidden: [exceeded quota: q, requested: requests.cpu=100m, used: requests.cpu=300m, limited: requests.cpu=250m, spec.x: second]` {
		t.Errorf("Forbidden = %s", got)
	}
	// Other namespaces are untouched by this namespace's objects.
	other := resourcePod(t, "")
	if got, vs := g.Admit(other); vs != nil || got != other {
		t.Errorf("a pod of another namespace: %v", vs)
	}
}
