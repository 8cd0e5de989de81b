package admission

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// limitRange loads a LimitRange, defaulted as manifests defaults it.
func limitRange(t *testing.T, name, limits string) *corev1.LimitRange {
	t.Helper()
	return loadOne(t, "apiVersion: v1\nkind: LimitRange\nmetadata: {name: "+name+"}\nspec:\n  limits:\n"+limits).(*corev1.LimitRange)
}

// resourcePod makes a pod with one container "c" with the given resources
// (a YAML flow mapping, "" for none).
func resourcePod(t *testing.T, resources string) *corev1.Pod {
	t.Helper()
	body := "  containers:\n  - name: c\n    image: busybox\n"
	if resources != "" {
		body += "    resources: " + resources + "\n"
	}
	return loadPod(t, podYAML(body))
}

// resourcesString renders a container's resources as
// "requests cpu=..,memory=.. limits ..." for comparison.
func resourcesString(r corev1.ResourceRequirements) string {
	return "requests " + prettyPrint(r.Requests) + " limits " + prettyPrint(r.Limits)
}

// TestLimitRangeDefaults follows the Kubernetes docs "Configure Default
// Memory Requests and Limits for a Namespace" and "Configure Default CPU
// Requests and Limits for a Namespace".
func TestLimitRangeDefaults(t *testing.T) {
	mem := limitRange(t, "mem-limit-range", "  - default: {memory: 512Mi}\n    defaultRequest: {memory: 256Mi}\n    type: Container\n")
	cpu := limitRange(t, "cpu-limit-range", "  - default: {cpu: 1}\n    defaultRequest: {cpu: 0.5}\n    type: Container\n")
	tests := []struct {
		name       string
		lr         *corev1.LimitRange
		resources  string
		want       string
		annotation string
	}{
		{"memory: none given", mem, "", "requests memory=256Mi limits memory=512Mi",
			"LimitRanger plugin set: memory request for container c; memory limit for container c"},
		{"memory: limit only", mem, "{limits: {memory: 1Gi}}", "requests memory=1Gi limits memory=1Gi", ""},
		{"memory: request only", mem, "{requests: {memory: 128Mi}}", "requests memory=128Mi limits memory=512Mi",
			"LimitRanger plugin set: memory limit for container c"},
		{"cpu: none given", cpu, "", "requests cpu=500m limits cpu=1",
			"LimitRanger plugin set: cpu request for container c; cpu limit for container c"},
		{"cpu: limit only", cpu, "{limits: {cpu: 1}}", "requests cpu=1 limits cpu=1", ""},
		{"cpu: request only", cpu, "{requests: {cpu: 0.75}}", "requests cpu=750m limits cpu=1",
			"LimitRanger plugin set: cpu limit for container c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := resourcePod(t, tt.resources)
			before := resourcesString(pod.Spec.Containers[0].Resources)
			got, vs := ApplyLimitRange(pod, []*corev1.LimitRange{tt.lr})
			if len(vs) != 0 {
				t.Fatalf("violations: %v", vs)
			}
			if s := resourcesString(got.Spec.Containers[0].Resources); s != tt.want {
				t.Errorf("resources = %s, want %s", s, tt.want)
			}
			if a := got.Annotations[LimitRangerAnnotation]; a != tt.annotation {
				t.Errorf("annotation = %q, want %q", a, tt.annotation)
			}
			if resourcesString(pod.Spec.Containers[0].Resources) != before || pod.Annotations[LimitRangerAnnotation] != "" {
				t.Error("the pod given was changed")
			}
		})
	}
}

// TestLimitRangeBounds follows the Kubernetes docs "Configure Minimum and
// Maximum Memory Constraints for a Namespace", the same for CPU, and the
// LimitRange concept page's conflict between a default and a request.
func TestLimitRangeBounds(t *testing.T) {
	mem := limitRange(t, "mem-min-max-demo-lr", "  - max: {memory: 1Gi}\n    min: {memory: 500Mi}\n    type: Container\n")
	cpu := limitRange(t, "cpu-min-max-demo-lr", "  - max: {cpu: 800m}\n    min: {cpu: 200m}\n    type: Container\n")
	conflict := limitRange(t, "cpu-resource-constraint", "  - default: {cpu: 500m}\n    defaultRequest: {cpu: 500m}\n    max: {cpu: \"1\"}\n    min: {cpu: 100m}\n    type: Container\n")
	ratio := limitRange(t, "ratio", "  - maxLimitRequestRatio: {cpu: 4}\n    type: Container\n")
	pod := limitRange(t, "pod-max", "  - max: {memory: 1Gi, cpu: 1}\n    type: Pod\n")
	tests := []struct {
		name      string
		lr        *corev1.LimitRange
		resources string
		want      []string
		result    string // resources after defaults, when admitted
	}{
		{"memory within", mem, "{limits: {memory: 800Mi}, requests: {memory: 600Mi}}", nil, "requests memory=600Mi limits memory=800Mi"},
		{"memory over max", mem, "{limits: {memory: 1.5Gi}, requests: {memory: 800Mi}}",
			[]string{"LimitRange/mem-min-max-demo-lr, rule max: spec.containers[0].resources.limits[memory]: maximum memory usage per Container is 1Gi, but limit is 1536Mi"}, ""},
		{"memory under min", mem, "{limits: {memory: 800Mi}, requests: {memory: 100Mi}}",
			[]string{"LimitRange/mem-min-max-demo-lr, rule min: spec.containers[0].resources.requests[memory]: minimum memory usage per Container is 500Mi, but request is 100Mi"}, ""},
		{"memory: none given gets the max", mem, "", nil, "requests memory=1Gi limits memory=1Gi"},
		{"cpu within", cpu, "{limits: {cpu: 800m}, requests: {cpu: 500m}}", nil, "requests cpu=500m limits cpu=800m"},
		{"cpu over max", cpu, "{limits: {cpu: 1.5}, requests: {cpu: 500m}}",
			[]string{"LimitRange/cpu-min-max-demo-lr, rule max: spec.containers[0].resources.limits[cpu]: maximum cpu usage per Container is 800m, but limit is 1500m"}, ""},
		{"cpu under min", cpu, "{limits: {cpu: 800m}, requests: {cpu: 100m}}",
			[]string{"LimitRange/cpu-min-max-demo-lr, rule min: spec.containers[0].resources.requests[cpu]: minimum cpu usage per Container is 200m, but request is 100m"}, ""},
		{"request above the default limit", conflict, "{requests: {cpu: 700m}}",
			[]string{`LimitRange/cpu-resource-constraint, rule default: spec.containers[0].resources.requests[cpu]: Invalid value: "700m": must be less than or equal to cpu limit of 500m (set by the LimitRange's defaults: set resources.limits.cpu and resources.requests.cpu)`}, ""},
		{"ratio within", ratio, "{limits: {cpu: 400m}, requests: {cpu: 100m}}", nil, "requests cpu=100m limits cpu=400m"},
		{"ratio over", ratio, "{limits: {cpu: 1}, requests: {cpu: 100m}}",
			[]string{"LimitRange/ratio, rule maxLimitRequestRatio: spec.containers[0].resources.limits[cpu]: cpu max limit to request ratio per Container is 4, but provided ratio is 10.000000"}, ""},
		{"ratio without a limit", ratio, "{requests: {cpu: 100m}}",
			[]string{"LimitRange/ratio, rule maxLimitRequestRatio: spec.containers[0].resources.limits[cpu]: cpu max limit to request ratio per Container is 4, but no limit is specified or limit is 0"}, ""},
		{"pod max without limits", pod, "{requests: {memory: 10Mi, cpu: 10m}}",
			[]string{
				"LimitRange/pod-max, rule max: maximum cpu usage per Pod is 1.  No limit is specified",
				"LimitRange/pod-max, rule max: maximum memory usage per Pod is 1Gi.  No limit is specified",
			}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, vs := ApplyLimitRange(resourcePod(t, tt.resources), []*corev1.LimitRange{tt.lr})
			if s := violationStrings(vs); !slices.Equal(s, tt.want) {
				t.Fatalf("got:\n  %s\nwant:\n  %s", strings.Join(s, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if tt.result != "" {
				if s := resourcesString(got.Spec.Containers[0].Resources); s != tt.result {
					t.Errorf("resources = %s, want %s", s, tt.result)
				}
			}
		})
	}
}

// TestLimitRangePodTotals checks type Pod against the containers' sum, with
// sidecars running beside them and init containers before them.
func TestLimitRangePodTotals(t *testing.T) {
	lr := limitRange(t, "pod", "  - max: {cpu: 1, memory: 1Gi}\n    type: Pod\n")
	pod := loadPod(t, podYAML(`  initContainers:
  - name: setup
    image: busybox
    resources: {limits: {cpu: 1, memory: 1Gi}}
  - name: proxy
    image: busybox
    resources: {limits: {cpu: 600m, memory: 100Mi}}
  containers:
  - name: a
    image: busybox
    resources: {limits: {cpu: 500m, memory: 600Mi}}
`))
	always := corev1.ContainerRestartPolicyAlways
	pod.Spec.InitContainers[1].RestartPolicy = &always
	_, vs := ApplyLimitRange(pod, []*corev1.LimitRange{lr})
	want := []string{
		"LimitRange/pod, rule max: maximum cpu usage per Pod is 1, but limit is 1100m",
	}
	if s := violationStrings(vs); !slices.Equal(s, want) {
		t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(s, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestLimitRangeSelection(t *testing.T) {
	a := limitRange(t, "a", "  - default: {memory: 100Mi}\n    type: Container\n")
	b := limitRange(t, "b", "  - default: {memory: 200Mi, cpu: 1}\n    defaultRequest: {memory: 50Mi, cpu: 1}\n    type: Container\n")
	other := a.DeepCopy()
	other.Namespace = "other"
	pod := resourcePod(t, "")

	// Only the pod's namespace counts; with none, the pod itself comes back.
	if got, vs := ApplyLimitRange(pod, []*corev1.LimitRange{other}); got != pod || vs != nil {
		t.Fatalf("a LimitRange of another namespace applied: %v", vs)
	}
	// The first by name wins a resource both default, whatever the order.
	got, _ := ApplyLimitRange(pod, []*corev1.LimitRange{b, a})
	if s := resourcesString(got.Spec.Containers[0].Resources); s != "requests cpu=1,memory=100Mi limits cpu=1,memory=100Mi" {
		t.Errorf("resources = %s", s)
	}
	// Init containers get defaults too.
	withInit := loadPod(t, podYAML("  initContainers:\n  - name: i\n    image: busybox\n  containers:\n  - name: c\n    image: busybox\n"))
	got, _ = ApplyLimitRange(withInit, []*corev1.LimitRange{a})
	if s := got.Annotations[LimitRangerAnnotation]; s != "LimitRanger plugin set: memory request for container c; memory limit for container c; memory request for init container i; memory limit for init container i" {
		t.Errorf("annotation = %q", s)
	}
}

// TestLimitRangeDefaultsConflict: a default request of one LimitRange above
// the default limit of another is refused, naming the first that set one.
func TestLimitRangeDefaultsConflict(t *testing.T) {
	a := limitRange(t, "a", "  - default: {memory: 100Mi}\n    defaultRequest: {memory: 100Mi}\n    type: Container\n")
	b := limitRange(t, "b", "  - defaultRequest: {cpu: 500m}\n    type: Container\n")
	c := limitRange(t, "c", "  - default: {cpu: 200m}\n    defaultRequest: {cpu: 200m}\n    type: Container\n")
	_, vs := ApplyLimitRange(resourcePod(t, ""), []*corev1.LimitRange{a, b, c})
	want := []string{`LimitRange/c, rule default: spec.containers[0].resources.requests[cpu]: Invalid value: "500m": must be less than or equal to cpu limit of 200m (set by the LimitRange's defaults: set resources.limits.cpu and resources.requests.cpu)`}
	if s := violationStrings(vs); !slices.Equal(s, want) {
		t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(s, "\n  "), strings.Join(want, "\n  "))
	}
}
