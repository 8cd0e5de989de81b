package admission

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func resourceQuota(t *testing.T, name, spec string) *corev1.ResourceQuota {
	t.Helper()
	return loadOne(t, "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: "+name+"}\nspec:\n"+spec).(*corev1.ResourceQuota)
}

// TestQuotaMemoryCPU follows the Kubernetes docs "Configure Memory and CPU
// Quotas for a Namespace", message for message.
func TestQuotaMemoryCPU(t *testing.T) {
	q := NewQuotas([]*corev1.ResourceQuota{resourceQuota(t, "mem-cpu-demo",
		"  hard:\n    requests.cpu: \"1\"\n    requests.memory: 1Gi\n    limits.cpu: \"2\"\n    limits.memory: 2Gi\n")})
	first := resourcePod(t, "{limits: {memory: 800Mi, cpu: 800m}, requests: {memory: 600Mi, cpu: 400m}}")
	if vs := q.Admit(first); vs != nil {
		t.Fatalf("first pod: %v", vs)
	}
	second := resourcePod(t, "{limits: {memory: 1Gi, cpu: 800m}, requests: {memory: 700Mi, cpu: 400m}}")
	vs := q.Admit(second)
	want := []string{"ResourceQuota/mem-cpu-demo, rule hard: exceeded quota: mem-cpu-demo, requested: requests.memory=700Mi, used: requests.memory=600Mi, limited: requests.memory=1Gi"}
	if s := violationStrings(vs); !slices.Equal(s, want) {
		t.Fatalf("second pod:\n  got %s\n want %s", s, want)
	}
	if got := Forbidden("quota-mem-cpu-demo-2", vs); got != `pods "quota-mem-cpu-demo-2" is forbidden: exceeded quota: mem-cpu-demo, requested: requests.memory=700Mi, used: requests.memory=600Mi, limited: requests.memory=1Gi` {
		t.Errorf("Forbidden = %s", got)
	}

	// A refused pod is not counted.
	st := q.Status()
	if len(st) != 1 || prettyPrint(st[0].Used) != "limits.cpu=800m,limits.memory=800Mi,requests.cpu=400m,requests.memory=600Mi" ||
		prettyPrint(st[0].Hard) != "limits.cpu=2,limits.memory=2Gi,requests.cpu=1,requests.memory=1Gi" || st[0].Untracked != nil {
		t.Errorf("status = %+v", st)
	}

	// A quota on cpu and memory requires every container to say how much.
	vs = q.Admit(loadPod(t, podYAML("  containers:\n  - name: b\n    image: busybox\n  - name: a\n    image: busybox\n    resources: {limits: {memory: 1Mi}}\n")))
	want = []string{"ResourceQuota/mem-cpu-demo, rule required: failed quota: mem-cpu-demo: must specify limits.cpu for: a,b; limits.memory for: b; requests.cpu for: a,b; requests.memory for: b"}
	if s := violationStrings(vs); !slices.Equal(s, want) {
		t.Errorf("no resources:\n  got %s\n want %s", s, want)
	}
}

// TestQuotaPods follows "Configure a Pod Quota for a Namespace": the third
// pod of a quota of two is refused; pods of another namespace and finished
// pods do not count.
func TestQuotaPods(t *testing.T) {
	q := NewQuotas([]*corev1.ResourceQuota{resourceQuota(t, "pod-demo", "  hard:\n    pods: \"2\"\n    count/pods: \"3\"\n")})
	other := resourcePod(t, "")
	other.Namespace = "elsewhere"
	done := resourcePod(t, "")
	done.Status.Phase = corev1.PodSucceeded
	q.Add(other)
	q.Add(done)
	for i := 0; i < 2; i++ {
		if vs := q.Admit(resourcePod(t, "")); vs != nil {
			t.Fatalf("pod %d: %v", i, vs)
		}
	}
	vs := q.Admit(resourcePod(t, ""))
	want := []string{"ResourceQuota/pod-demo, rule hard: exceeded quota: pod-demo, requested: count/pods=1,pods=1, used: count/pods=3,pods=2, limited: count/pods=3,pods=2"}
	if s := violationStrings(vs); !slices.Equal(s, want) {
		t.Errorf("third pod:\n  got %s\n want %s", s, want)
	}
	if st := q.Status(); prettyPrint(st[0].Used) != "count/pods=3,pods=2" {
		t.Errorf("used = %s", prettyPrint(st[0].Used))
	}
}

// TestQuotaScopes uses the book's quota-scoped.yaml: BestEffort and
// NotTerminating pods, at most 4.
func TestQuotaScopes(t *testing.T) {
	q := NewQuotas([]*corev1.ResourceQuota{resourceQuota(t, "besteffort-notterminating-pods",
		"  scopes: [BestEffort, NotTerminating]\n  hard:\n    pods: 4\n")})
	for i := 0; i < 4; i++ {
		if vs := q.Admit(resourcePod(t, "")); vs != nil {
			t.Fatalf("pod %d: %v", i, vs)
		}
	}
	if vs := q.Admit(resourcePod(t, "{requests: {cpu: 10m}}")); vs != nil {
		t.Errorf("a Burstable pod is not in the scope: %v", vs)
	}
	if vs := q.Admit(loadPod(t, podYAML("  activeDeadlineSeconds: 60\n  containers:\n  - name: c\n    image: busybox\n"))); vs != nil {
		t.Errorf("a Terminating pod is not in the scope: %v", vs)
	}
	if vs := q.Admit(resourcePod(t, "{requests: {cpu: 0}}")); len(vs) != 1 || !strings.Contains(vs[0].Message, "used: pods=4, limited: pods=4") {
		t.Errorf("a fifth BestEffort pod (a zero request is none): %v", vs)
	}

	for _, tt := range []struct {
		scope corev1.ScopedResourceSelectorRequirement
		pod   *corev1.Pod
		want  bool
	}{
		{corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpExists}, &corev1.Pod{}, false},
		{corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}},
			&corev1.Pod{Spec: corev1.PodSpec{PriorityClassName: "high"}}, true},
		{corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpNotIn, Values: []string{"high"}},
			&corev1.Pod{Spec: corev1.PodSpec{PriorityClassName: "high"}}, false},
		{corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeCrossNamespacePodAffinity, Operator: corev1.ScopeSelectorOpExists},
			&corev1.Pod{Spec: corev1.PodSpec{Affinity: &corev1.Affinity{PodAffinity: &corev1.PodAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{Namespaces: []string{"x"}}}}}}}, true},
	} {
		if got := scopeMatches(tt.scope, tt.pod); got != tt.want {
			t.Errorf("scopeMatches(%+v) = %v, want %v", tt.scope, got, tt.want)
		}
	}
}

// TestQuotaStatusUntracked uses the book's quota-object-count.yaml: only the
// pod count is tracked; the rest is listed as not enforced.
func TestQuotaStatusUntracked(t *testing.T) {
	rq := resourceQuota(t, "objects", "  hard:\n    pods: 10\n    replicationcontrollers: 5\n    secrets: 10\n    services: 5\n    services.loadbalancers: 1\n    requests.storage: 1Ti\n")
	q := NewQuotas([]*corev1.ResourceQuota{rq})
	q.Add(resourcePod(t, ""))
	st := q.Status()
	if prettyPrint(st[0].Used) != "pods=1" {
		t.Errorf("used = %s", prettyPrint(st[0].Used))
	}
	want := []corev1.ResourceName{"replicationcontrollers", "requests.storage", "secrets", "services", "services.loadbalancers"}
	if !slices.Equal(st[0].Untracked, want) {
		t.Errorf("untracked = %v, want %v", st[0].Untracked, want)
	}
	// A quota that tracks nothing a pod uses never refuses one.
	storage := NewQuotas([]*corev1.ResourceQuota{resourceQuota(t, "storage", "  hard:\n    requests.storage: 0\n")})
	if vs := storage.Admit(resourcePod(t, "")); vs != nil {
		t.Errorf("storage quota refused a pod: %v", vs)
	}
}

func TestPodUsage(t *testing.T) {
	pod := loadPod(t, podYAML(`  initContainers:
  - name: init
    image: busybox
    resources: {requests: {cpu: "2", memory: 10Mi, ephemeral-storage: 1Gi}}
  containers:
  - name: a
    image: busybox
    resources: {requests: {cpu: 500m, memory: 100Mi}, limits: {memory: 200Mi}}
  - name: b
    image: busybox
    resources: {limits: {cpu: 500m, memory: 100Mi}}
`))
	// The manifests refuse hugepages on shoal nodes; quotas count them as
	// Kubernetes does all the same.
	pod.Spec.Containers[0].Resources.Limits["hugepages-2Mi"] = resource.MustParse("4Mi")
	got := podUsage(pod)
	want := "count/pods=1,cpu=2,ephemeral-storage=1Gi,hugepages-2Mi=4Mi,limits.cpu=500m,limits.memory=300Mi,memory=200Mi,pods=1,requests.cpu=2,requests.ephemeral-storage=1Gi,requests.hugepages-2Mi=4Mi,requests.memory=200Mi"
	if s := prettyPrint(got); s != want {
		t.Errorf("usage:\n got %s\nwant %s", s, want)
	}
	pod.Spec.Overhead = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("10Mi")}
	if s := prettyPrint(mask(podUsage(pod), []corev1.ResourceName{"limits.memory", "requests.memory"})); s != "limits.memory=310Mi,requests.memory=210Mi" {
		t.Errorf("with overhead: %s", s)
	}
	for name, want := range map[corev1.ResourceName]bool{
		"pods": true, "requests.cpu": true, "hugepages-1Gi": true, "requests.hugepages-1Gi": true,
		"requests.example.com/gpu": true, "services": false, "requests.storage": false, "count/deployments.apps": false,
	} {
		if got := tracksPodResource(name); got != want {
			t.Errorf("tracksPodResource(%s) = %v", name, got)
		}
	}
}
