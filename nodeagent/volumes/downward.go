package volumes

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
)

// DownwardAPIPayload returns the files of a downwardAPI volume (or of the
// downwardAPI source of a projected volume) for pod, which must be non-nil.
//
// fieldRef supports metadata.name, metadata.namespace, metadata.uid,
// metadata.labels and metadata.annotations (all entries as `key="value"`
// lines sorted by key, values Go-quoted, no trailing newline, as the kubelet
// renders them), metadata.labels['KEY'] and metadata.annotations['KEY'] (the
// value, empty when absent), spec.nodeName (nodeName, else the pod's),
// spec.serviceAccountName ("default" when unset, as admission sets it) and
// status.podIP (podIP, else the pod's status).
//
// resourceFieldRef supports limits.* and requests.* of cpu, memory and
// ephemeral-storage for the named container (or init container), divided by
// the divisor (default 1) and rounded up. A limit the container does not set
// reads as the node's allocatable value from allocatable; a request it does
// not set reads as its own limit if it sets one (the API's defaulting), else 0.
//
// The mode is the item's, else defaultMode. Every item is tried; the errors
// of all failing items are returned together, the kubelet's way.
func DownwardAPIPayload(items []corev1.DownwardAPIVolumeFile, pod *corev1.Pod, podIP, nodeName string, allocatable corev1.ResourceList, defaultMode int32) (map[string]FileProjection, error) {
	payload := make(map[string]FileProjection, len(items))
	var errs []error
	for _, it := range items {
		fp := FileProjection{Mode: modeOr(it.Mode, defaultMode)}
		switch {
		case it.FieldRef != nil:
			v, err := podFieldValue(pod, it.FieldRef.FieldPath, podIP, nodeName)
			if err != nil {
				errs = append(errs, err)
			} else {
				fp.Data = []byte(v)
			}
		case it.ResourceFieldRef != nil:
			v, err := containerResourceValue(it.ResourceFieldRef, pod, allocatable)
			if err != nil {
				errs = append(errs, err)
			} else {
				fp.Data = []byte(v)
			}
		}
		payload[filepath.Clean(it.Path)] = fp
	}
	return payload, aggregate(errs)
}

// podFieldValue renders one fieldRef (the kubelet's
// fieldpath.ExtractFieldPathAsString plus the env-only fields).
func podFieldValue(pod *corev1.Pod, fieldPath, podIP, nodeName string) (string, error) {
	if path, key, ok := splitSubscript(fieldPath); ok {
		switch path {
		case "metadata.annotations":
			if errs := content.IsLabelKey(strings.ToLower(key)); len(errs) != 0 {
				return "", newError(ErrUnsupported, "invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
			}
			return pod.Annotations[key], nil
		case "metadata.labels":
			if errs := content.IsLabelKey(key); len(errs) != 0 {
				return "", newError(ErrUnsupported, "invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
			}
			return pod.Labels[key], nil
		default:
			return "", newError(ErrUnsupported, "fieldPath %q does not support subscript", fieldPath)
		}
	}
	switch fieldPath {
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		if nodeName != "" {
			return nodeName, nil
		}
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		if pod.Spec.ServiceAccountName == "" {
			return "default", nil
		}
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		if podIP != "" {
			return podIP, nil
		}
		return pod.Status.PodIP, nil
	}
	return "", newError(ErrUnsupported, "unsupported fieldPath: %v", fieldPath)
}

// splitSubscript splits "path['key']" into path and key.
func splitSubscript(fieldPath string) (path, key string, ok bool) {
	if !strings.HasSuffix(fieldPath, "']") {
		return fieldPath, "", false
	}
	path, key, ok = strings.Cut(strings.TrimSuffix(fieldPath, "']"), "['")
	if !ok || path == "" {
		return fieldPath, "", false
	}
	return path, key, true
}

// formatMap renders a map as the kubelet does: `key="value"` lines sorted by
// key, values quoted with %q, no trailing newline.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%v=%q", k, m[k])
	}
	return b.String()
}

// containerResourceValue renders one resourceFieldRef (the kubelet's
// ExtractResourceValueByContainerNameAndNodeAllocatable).
func containerResourceValue(ref *corev1.ResourceFieldSelector, pod *corev1.Pod, allocatable corev1.ResourceList) (string, error) {
	c := findContainer(pod, ref.ContainerName)
	if c == nil {
		return "", newError(ErrUnsupported, "container %s not found", ref.ContainerName)
	}
	limits := corev1.ResourceList{}
	for name, q := range c.Resources.Limits {
		limits[name] = q.DeepCopy()
	}
	requests := corev1.ResourceList{}
	for name, q := range c.Resources.Requests {
		requests[name] = q.DeepCopy()
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if q, ok := limits[name]; ok && !q.IsZero() {
			if _, ok := requests[name]; !ok {
				requests[name] = q.DeepCopy() // the API defaults requests to limits
			}
			continue
		}
		if q, ok := allocatable[name]; ok {
			limits[name] = q.DeepCopy()
		}
	}

	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	switch ref.Resource {
	case "limits.cpu":
		return cpuString(limits.Cpu(), divisor), nil
	case "limits.memory":
		return bytesString(limits.Memory(), divisor), nil
	case "limits.ephemeral-storage":
		return bytesString(limits.StorageEphemeral(), divisor), nil
	case "requests.cpu":
		return cpuString(requests.Cpu(), divisor), nil
	case "requests.memory":
		return bytesString(requests.Memory(), divisor), nil
	case "requests.ephemeral-storage":
		return bytesString(requests.StorageEphemeral(), divisor), nil
	}
	return "", newError(ErrUnsupported, "unsupported container resource : %v", ref.Resource)
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}

// cpuString divides in millicores and rounds up: 250m / 1 = "1".
func cpuString(q *resource.Quantity, divisor resource.Quantity) string {
	return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10)
}

// bytesString divides in bytes and rounds up: 1Gi / 1Mi = "1024".
func bytesString(q *resource.Quantity, divisor resource.Quantity) string {
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10)
}
