package admission

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// requestsOf returns a container's requests as the API server leaves them
// on a created pod: a resource with a limit and no request requests its
// limit.
func requestsOf(r corev1.ResourceRequirements) corev1.ResourceList {
	out := corev1.ResourceList{}
	for k, v := range r.Limits {
		out[k] = v
	}
	for k, v := range r.Requests {
		out[k] = v
	}
	return out
}

// isSidecar reports whether an init container runs beside the pod's
// containers (restartPolicy Always).
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// podTotals sums one resource list of a pod's containers as Kubernetes does
// (resourcehelper.PodRequests / PodLimits, and LimitRanger's podRequests):
// the sum of the regular containers and the sidecars, at least the largest
// init container plus the sidecars started before it.
func podTotals(spec *corev1.PodSpec, of func(corev1.ResourceRequirements) corev1.ResourceList) corev1.ResourceList {
	total := corev1.ResourceList{}
	for i := range spec.Containers {
		addTo(total, of(spec.Containers[i].Resources))
	}
	sidecars := corev1.ResourceList{}
	initMax := corev1.ResourceList{}
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		own := of(c.Resources)
		if isSidecar(c) {
			addTo(total, own)
			addTo(sidecars, own)
			maxInto(initMax, sidecars)
			continue
		}
		tmp := corev1.ResourceList{}
		addTo(tmp, own)
		addTo(tmp, sidecars)
		maxInto(initMax, tmp)
	}
	maxInto(total, initMax)
	return total
}

func limitsOf(r corev1.ResourceRequirements) corev1.ResourceList { return r.Limits }

// addTo adds b into a.
func addTo(a, b corev1.ResourceList) {
	for k, v := range b {
		if q, ok := a[k]; ok {
			q.Add(v)
			a[k] = q
		} else {
			a[k] = v.DeepCopy()
		}
	}
}

// maxInto sets each resource of a to the larger of a's and b's.
func maxInto(a, b corev1.ResourceList) {
	for k, v := range b {
		if q, ok := a[k]; !ok || v.Cmp(q) > 0 {
			a[k] = v.DeepCopy()
		}
	}
}

// sortedNames returns a resource list's names in order.
func sortedNames(l corev1.ResourceList) []corev1.ResourceName {
	out := make([]corev1.ResourceName, 0, len(l))
	for k := range l {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// prettyPrint renders a resource list as Kubernetes' quota messages do:
// "name=value" pairs, sorted by name, joined by commas.
func prettyPrint(l corev1.ResourceList) string {
	parts := make([]string, 0, len(l))
	for _, k := range sortedNames(l) {
		q := l[k]
		parts = append(parts, string(k)+"="+q.String())
	}
	return strings.Join(parts, ",")
}

// milliOrValue returns the values of quantities to compare, in milli-units
// when none overflows (as LimitRanger's requestLimitEnforcedValues).
func milliOrValue(qs ...resource.Quantity) []int64 {
	out := make([]int64, len(qs))
	milli := true
	for _, q := range qs {
		if q.Value() > resource.MaxMilliValue {
			milli = false
		}
	}
	for i, q := range qs {
		if milli {
			out[i] = q.MilliValue()
		} else {
			out[i] = q.Value()
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
