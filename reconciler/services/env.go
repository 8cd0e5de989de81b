package services

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// EnvVars returns the service environment variables a container of
// namespace gets, as the kubelet makes them: for every Service of the
// namespace with a cluster IP, NAME_SERVICE_HOST, NAME_SERVICE_PORT (its
// first port) and NAME_SERVICE_PORT_<PORT NAME> for named ports, and, when
// links is true (the pod's enableServiceLinks), the Docker-link style
// NAME_PORT, NAME_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]. NAME is the
// Service's name upper-cased with dashes as underscores. Services are in
// name order; a nil table gives none.
func EnvVars(t *Table, namespace string, links bool) []corev1.EnvVar {
	if t == nil {
		return nil
	}
	var out []corev1.EnvVar
	add := func(name, value string) { out = append(out, corev1.EnvVar{Name: name, Value: value}) }
	for i := range t.Services {
		s := &t.Services[i]
		if s.Namespace != namespace || !s.ClusterIP.IsValid() || len(s.Ports) == 0 {
			continue
		}
		name := envName(s.Name)
		ip := s.ClusterIP.String()
		add(name+"_SERVICE_HOST", ip)
		add(name+"_SERVICE_PORT", fmt.Sprint(s.Ports[0].Port))
		for _, p := range s.Ports {
			if p.Name != "" {
				add(name+"_SERVICE_PORT_"+envName(p.Name), fmt.Sprint(p.Port))
			}
		}
		if !links {
			continue
		}
		first := s.Ports[0]
		add(name+"_PORT", fmt.Sprintf("%s://%s:%d", strings.ToLower(string(first.Protocol)), ip, first.Port))
		for _, p := range s.Ports {
			proto := strings.ToLower(string(p.Protocol))
			prefix := fmt.Sprintf("%s_PORT_%d_%s", name, p.Port, strings.ToUpper(proto))
			add(prefix, fmt.Sprintf("%s://%s:%d", proto, ip, p.Port))
			add(prefix+"_PROTO", proto)
			add(prefix+"_PORT", fmt.Sprint(p.Port))
			add(prefix+"_ADDR", ip)
		}
	}
	return out
}

func envName(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }
