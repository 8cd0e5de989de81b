package pods

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ConfigSource gives the node's view of the ConfigMaps and Secrets that pods
// reference. Implementations must be safe for concurrent use.
type ConfigSource interface {
	ConfigMap(namespace, name string) (*corev1.ConfigMap, bool)
	Secret(namespace, name string) (*corev1.Secret, bool)
}

// ConfigError says a container cannot be configured yet because something
// it references is missing (its waiting reason is then
// CreateContainerConfigError). It clears by itself when the reference
// appears.
type ConfigError struct{ Message string }

func (e *ConfigError) Error() string { return e.Message }

// EnvInput is what a container's environment is computed from.
type EnvInput struct {
	Pod       *corev1.Pod
	Container *corev1.Container
	// PodIP and HostIP fill status.podIP and status.hostIP references.
	PodIP, HostIP string
	NodeName      string
	// ServiceEnv are the service-link variables of the pod's namespace (put
	// first, so the container's own variables override them).
	ServiceEnv []corev1.EnvVar
	Config     ConfigSource
}

// Env computes a container's environment as the kubelet does: service
// links, then envFrom sources in order, then env entries in order, each
// value expanded with $(VAR) against the variables defined before it.
// Invalid names from envFrom are skipped and returned as warnings. A missing
// ConfigMap, Secret or key that is not optional is a *ConfigError.
func Env(in EnvInput) (env []corev1.EnvVar, warnings []string, err error) {
	values := map[string]string{}
	var order []string
	set := func(name, value string) {
		if _, seen := values[name]; !seen {
			order = append(order, name)
		}
		values[name] = value
	}
	lookup := func(name string) (string, bool) { v, ok := values[name]; return v, ok }
	for _, e := range in.ServiceEnv {
		set(e.Name, e.Value)
	}
	ns := in.Pod.Namespace
	c := in.Container
	for _, from := range c.EnvFrom {
		var data map[string]string
		switch {
		case from.ConfigMapRef != nil:
			optional := from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional
			cm, ok := lookupConfig(in.Config, true, ns, from.ConfigMapRef.Name)
			if !ok {
				if optional {
					continue
				}
				return nil, nil, &ConfigError{fmt.Sprintf("configmap %q not found", from.ConfigMapRef.Name)}
			}
			data = cm
		case from.SecretRef != nil:
			optional := from.SecretRef.Optional != nil && *from.SecretRef.Optional
			s, ok := lookupConfig(in.Config, false, ns, from.SecretRef.Name)
			if !ok {
				if optional {
					continue
				}
				return nil, nil, &ConfigError{fmt.Sprintf("secret %q not found", from.SecretRef.Name)}
			}
			data = s
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var invalid []string
		for _, k := range keys {
			name := from.Prefix + k
			if errs := validation.IsEnvVarName(name); len(errs) > 0 {
				invalid = append(invalid, name)
				continue
			}
			set(name, data[k])
		}
		if len(invalid) > 0 {
			warnings = append(warnings, fmt.Sprintf("keys [%s] from the EnvFrom %s %s/%s were skipped since they are considered invalid environment variable names",
				strings.Join(invalid, ", "), envFromKind(from), ns, envFromName(from)))
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, Expand(e.Value, lookup))
			continue
		}
		v, ok, err := envValueFrom(in, e.ValueFrom)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			set(e.Name, v)
		}
	}
	env = make([]corev1.EnvVar, 0, len(order))
	for _, name := range order {
		env = append(env, corev1.EnvVar{Name: name, Value: values[name]})
	}
	return env, warnings, nil
}

func envFromKind(f corev1.EnvFromSource) string {
	if f.ConfigMapRef != nil {
		return "configMap"
	}
	return "secret"
}

func envFromName(f corev1.EnvFromSource) string {
	if f.ConfigMapRef != nil {
		return f.ConfigMapRef.Name
	}
	return f.SecretRef.Name
}

// lookupConfig returns a ConfigMap's data (binaryData included) or a
// Secret's data (stringData merged) as strings.
func lookupConfig(src ConfigSource, configMap bool, ns, name string) (map[string]string, bool) {
	if src == nil {
		return nil, false
	}
	out := map[string]string{}
	if configMap {
		cm, ok := src.ConfigMap(ns, name)
		if !ok {
			return nil, false
		}
		for k, v := range cm.BinaryData {
			out[k] = string(v)
		}
		for k, v := range cm.Data {
			out[k] = v
		}
		return out, true
	}
	s, ok := src.Secret(ns, name)
	if !ok {
		return nil, false
	}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	for k, v := range s.StringData {
		out[k] = v
	}
	return out, true
}

// envValueFrom resolves one valueFrom. ok is false for an optional
// reference that is missing (the variable is then not set).
func envValueFrom(in EnvInput, from *corev1.EnvVarSource) (string, bool, error) {
	ns := in.Pod.Namespace
	switch {
	case from.FieldRef != nil:
		v, err := podField(in, from.FieldRef.FieldPath)
		return v, err == nil, err
	case from.ResourceFieldRef != nil:
		v, err := resourceField(in.Pod, in.Container, from.ResourceFieldRef)
		return v, err == nil, err
	case from.ConfigMapKeyRef != nil:
		ref := from.ConfigMapKeyRef
		optional := ref.Optional != nil && *ref.Optional
		data, ok := lookupConfig(in.Config, true, ns, ref.Name)
		if !ok {
			if optional {
				return "", false, nil
			}
			return "", false, &ConfigError{fmt.Sprintf("configmap %q not found", ref.Name)}
		}
		v, ok := data[ref.Key]
		if !ok {
			if optional {
				return "", false, nil
			}
			return "", false, &ConfigError{fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", ref.Key, ns, ref.Name)}
		}
		return v, true, nil
	case from.SecretKeyRef != nil:
		ref := from.SecretKeyRef
		optional := ref.Optional != nil && *ref.Optional
		data, ok := lookupConfig(in.Config, false, ns, ref.Name)
		if !ok {
			if optional {
				return "", false, nil
			}
			return "", false, &ConfigError{fmt.Sprintf("secret %q not found", ref.Name)}
		}
		v, ok := data[ref.Key]
		if !ok {
			if optional {
				return "", false, nil
			}
			return "", false, &ConfigError{fmt.Sprintf("couldn't find key %s in Secret %s/%s", ref.Key, ns, ref.Name)}
		}
		return v, true, nil
	}
	return "", false, &ConfigError{"env valueFrom has no source"}
}

// podField resolves a downward-API field path.
func podField(in EnvInput, path string) (string, error) {
	p := in.Pod
	switch path {
	case "metadata.name":
		return p.Name, nil
	case "metadata.namespace":
		return p.Namespace, nil
	case "metadata.uid":
		return string(p.UID), nil
	case "spec.nodeName":
		return in.NodeName, nil
	case "spec.serviceAccountName":
		if p.Spec.ServiceAccountName != "" {
			return p.Spec.ServiceAccountName, nil
		}
		return p.Spec.DeprecatedServiceAccount, nil
	case "status.podIP":
		return in.PodIP, nil
	case "status.podIPs":
		return in.PodIP, nil
	case "status.hostIP", "status.hostIPs":
		return in.HostIP, nil
	}
	for _, m := range []struct {
		prefix string
		values map[string]string
	}{{"metadata.labels", p.Labels}, {"metadata.annotations", p.Annotations}} {
		if path == m.prefix {
			return formatMap(m.values), nil
		}
		if strings.HasPrefix(path, m.prefix+"['") && strings.HasSuffix(path, "']") {
			return m.values[path[len(m.prefix)+2:len(path)-2]], nil
		}
	}
	return "", &ConfigError{fmt.Sprintf("unsupported fieldRef fieldPath %q", path)}
}

// formatMap renders labels or annotations as the downward API does:
// key="value" lines, sorted.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%s", k, strconv.Quote(m[k]))
	}
	return b.String()
}

// resourceField resolves a resourceFieldRef (limits.cpu, requests.memory,
// ...) with its divisor, rounding up as the kubelet does. An unset limit
// reads as the node's allocatable in Kubernetes; here it reads as the
// largest value, which callers replace with the node's capacity when known.
func resourceField(pod *corev1.Pod, c *corev1.Container, ref *corev1.ResourceFieldSelector) (string, error) {
	target := c
	if ref.ContainerName != "" {
		target = nil
		for i := range pod.Spec.Containers {
			if pod.Spec.Containers[i].Name == ref.ContainerName {
				target = &pod.Spec.Containers[i]
			}
		}
		for i := range pod.Spec.InitContainers {
			if pod.Spec.InitContainers[i].Name == ref.ContainerName {
				target = &pod.Spec.InitContainers[i]
			}
		}
		if target == nil {
			return "", &ConfigError{fmt.Sprintf("resourceFieldRef: no container named %q", ref.ContainerName)}
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok {
		return "", &ConfigError{fmt.Sprintf("unsupported resourceFieldRef resource %q", ref.Resource)}
	}
	list := target.Resources.Limits
	if kind == "requests" {
		list = target.Resources.Requests
	}
	q, ok := list[corev1.ResourceName(name)]
	if !ok {
		if kind == "requests" {
			return "0", nil
		}
		q = *resource.NewQuantity(math.MaxInt64, resource.DecimalSI)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == "cpu" {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}
