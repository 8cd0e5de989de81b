package admission

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Violation is one reason an object or a pod is refused.
type Violation struct {
	// Policy names what refused: an admission policy's name
	// ("preview-strict"), or "LimitRange/NAME" or "ResourceQuota/NAME".
	Policy string `json:"policy"`
	// Rule is the rule within it: a Rules field name (forbidPrivileged,
	// ...), a LimitRange's min, max, maxLimitRequestRatio or default, or a
	// quota's hard or required.
	Rule string `json:"rule"`
	// Field is the path of the field at fault in the object, in Kubernetes
	// notation (spec.template.spec.containers[0].securityContext.privileged);
	// "" when the object as a whole is at fault.
	Field string `json:"field,omitempty"`
	// Message says what is wrong and what to do, in words a user can act
	// on; for LimitRange and ResourceQuota it is Kubernetes' own message.
	Message string `json:"message"`
}

// String renders the violation as "policy NAME, rule RULE: FIELD: MESSAGE"
// ("LimitRange/NAME, rule RULE: ..." for the Kubernetes objects).
func (v Violation) String() string {
	var b strings.Builder
	if strings.Contains(v.Policy, "/") {
		b.WriteString(v.Policy)
	} else {
		b.WriteString("policy " + v.Policy)
	}
	b.WriteString(", rule " + v.Rule + ": ")
	if v.Field != "" && !strings.HasPrefix(v.Message, v.Field+":") {
		b.WriteString(v.Field + ": ")
	}
	b.WriteString(v.Message)
	return b.String()
}

// PodSpecOf returns the pod spec that an object runs and the spec's field
// path in the object: a Pod's spec, or the pod template of a Deployment,
// ReplicaSet, ReplicationController, DaemonSet, Job or CronJob. ok is false
// for every other kind (and for a ReplicationController without a template).
func PodSpecOf(obj runtime.Object) (spec *corev1.PodSpec, path string, ok bool) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &o.Spec, "spec", true
	case *appsv1.Deployment:
		return &o.Spec.Template.Spec, "spec.template.spec", true
	case *appsv1.ReplicaSet:
		return &o.Spec.Template.Spec, "spec.template.spec", true
	case *appsv1.DaemonSet:
		return &o.Spec.Template.Spec, "spec.template.spec", true
	case *corev1.ReplicationController:
		if o.Spec.Template == nil {
			return nil, "", false
		}
		return &o.Spec.Template.Spec, "spec.template.spec", true
	case *batchv1.Job:
		return &o.Spec.Template.Spec, "spec.template.spec", true
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.Spec, "spec.jobTemplate.spec.template.spec", true
	}
	return nil, "", false
}

// Check returns what in obj the policy refuses, in the order of the
// object's fields, or nil. Objects that run no pods pass every policy.
// requireLimits counts only limits written in obj; Decide also counts the
// defaults of the namespace's LimitRanges.
func Check(p Policy, obj runtime.Object) []Violation {
	spec, path, ok := PodSpecOf(obj)
	if !ok {
		return nil
	}
	return checkSpecWith(&p, spec, path, nil)
}

// container is one container of a pod spec, whichever list it is in.
type container struct {
	path, kind string // field path; "container", "init container" or "ephemeral container"
	name       string
	image      string
	sc         *corev1.SecurityContext
	ports      []corev1.ContainerPort
	resources  corev1.ResourceRequirements
}

func containersOf(spec *corev1.PodSpec, at string) []container {
	var out []container
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		out = append(out, container{fmt.Sprintf("%s.initContainers[%d]", at, i), "init container", c.Name, c.Image, c.SecurityContext, c.Ports, c.Resources})
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		out = append(out, container{fmt.Sprintf("%s.containers[%d]", at, i), "container", c.Name, c.Image, c.SecurityContext, c.Ports, c.Resources})
	}
	for i := range spec.EphemeralContainers {
		c := &spec.EphemeralContainers[i].EphemeralContainerCommon
		out = append(out, container{fmt.Sprintf("%s.ephemeralContainers[%d]", at, i), "ephemeral container", c.Name, c.Image, c.SecurityContext, c.Ports, c.Resources})
	}
	return out
}

// checkSpecWith checks one pod spec found at path at; defaults are the
// limits a container without its own gets.
func checkSpecWith(p *Policy, spec *corev1.PodSpec, at string, defaults corev1.ResourceList) []Violation {
	r := &p.Rules
	var out []Violation
	add := func(rule, field, format string, args ...any) {
		out = append(out, Violation{Policy: p.Name, Rule: rule, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if r.ForbidHostNamespaces {
		for _, h := range []struct {
			on    bool
			field string
			what  string
		}{
			{spec.HostNetwork, "hostNetwork", "the node's network"},
			{spec.HostPID, "hostPID", "the node's process namespace"},
			{spec.HostIPC, "hostIPC", "the node's IPC namespace"},
		} {
			if h.on {
				add(RuleForbidHostNamespaces, at+"."+h.field, "%s: true shares %s with the pod, which policy %s forbids: remove %s",
					h.field, h.what, p.Name, h.field)
			}
		}
	}
	if r.ForbidHostPath {
		for i, vol := range spec.Volumes {
			if vol.HostPath != nil {
				add(RuleForbidHostPath, fmt.Sprintf("%s.volumes[%d].hostPath", at, i),
					"volume %q mounts the node's path %q, which policy %s forbids: use an emptyDir or a PersistentVolumeClaim",
					vol.Name, vol.HostPath.Path, p.Name)
			}
		}
	}
	for _, c := range containersOf(spec, at) {
		out = append(out, checkContainer(p, c, defaults)...)
	}
	return out
}

func checkContainer(p *Policy, c container, defaults corev1.ResourceList) []Violation {
	r := &p.Rules
	var out []Violation
	add := func(rule, field, format string, args ...any) {
		out = append(out, Violation{Policy: p.Name, Rule: rule, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if r.AllowedRegistries != nil && !registryAllowed(c.image, r.AllowedRegistries) {
		host, repo := splitImage(c.image)
		add(RuleAllowedRegistries, c.path+".image",
			"%s %q runs image %q (%s/%s), which is not from a registry policy %s allows (%s): use an image from one of them, or add its registry to the policy",
			c.kind, c.name, c.image, host, repo, p.Name, strings.Join(r.AllowedRegistries, ", "))
	}
	if sc := c.sc; sc != nil {
		if r.ForbidPrivileged && sc.Privileged != nil && *sc.Privileged {
			add(RuleForbidPrivileged, c.path+".securityContext.privileged",
				"%s %q is privileged, which policy %s forbids: remove securityContext.privileged, and add only the capabilities it needs",
				c.kind, c.name, p.Name)
		}
		if r.ForbidAddedCapabilities && sc.Capabilities != nil {
			for i, capName := range sc.Capabilities.Add {
				if capabilityAllowed(string(capName), r.AllowedCapabilities) {
					continue
				}
				allowed := "none may be added"
				if len(r.AllowedCapabilities) > 0 {
					allowed = "only " + strings.Join(r.AllowedCapabilities, ", ") + " may be added"
				}
				add(RuleForbidAddedCapabilities, fmt.Sprintf("%s.securityContext.capabilities.add[%d]", c.path, i),
					"%s %q adds capability %s, which policy %s forbids (%s): remove it",
					c.kind, c.name, capName, p.Name, allowed)
			}
		}
	}
	if r.ForbidHostPorts {
		for i, port := range c.ports {
			if port.HostPort != 0 {
				add(RuleForbidHostPorts, fmt.Sprintf("%s.ports[%d].hostPort", c.path, i),
					"%s %q binds port %d on the node (hostPort), which policy %s forbids: remove hostPort and reach the pod through a Service",
					c.kind, c.name, port.HostPort, p.Name)
			}
		}
	}
	for _, name := range r.RequireLimits {
		_, own := c.resources.Limits[name]
		_, byDefault := defaults[name]
		if !own && !byDefault {
			add(RuleRequireLimits, fmt.Sprintf("%s.resources.limits[%s]", c.path, name),
				"%s %q has no %s limit, which policy %s requires: set resources.limits.%s (or a default in a LimitRange of the namespace)",
				c.kind, c.name, name, p.Name, name)
		}
	}
	return out
}

// capabilityAllowed reports whether capName is in allowed, ignoring case
// and a "CAP_" prefix on either side.
func capabilityAllowed(capName string, allowed []string) bool {
	norm := func(s string) string { return strings.TrimPrefix(strings.ToUpper(s), "CAP_") }
	for _, a := range allowed {
		if norm(a) == norm(capName) {
			return true
		}
	}
	return false
}

// dockerHub is the registry of images that name none.
const dockerHub = "docker.io"

// isRegistryHost reports whether the first component of an image reference
// names a registry, as Docker decides: it has a dot or a port, or is
// localhost.
func isRegistryHost(s string) bool {
	return strings.ContainsAny(s, ".:") || s == "localhost"
}

// normalizeHost lowercases a registry host and maps Docker Hub's aliases
// to docker.io.
func normalizeHost(h string) string {
	h = strings.ToLower(h)
	switch h {
	case "index.docker.io", "registry-1.docker.io":
		return dockerHub
	}
	return h
}

// splitImage returns an image reference's registry host and repository,
// without tag or digest, as Docker normalizes them: "nginx:1.27" is
// ("docker.io", "library/nginx"), "ghcr.io/acme/app@sha256:..." is
// ("ghcr.io", "acme/app").
func splitImage(image string) (host, repo string) {
	name, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name = name[:i]
	}
	first, rest, found := strings.Cut(name, "/")
	if found && isRegistryHost(first) {
		return normalizeHost(first), rest
	}
	if !found {
		return dockerHub, "library/" + name
	}
	return dockerHub, name
}

// registryAllowed reports whether image comes from one of the allowed
// registries: same host, and the entry's repository prefix (if any)
// matching whole path components.
func registryAllowed(image string, allowed []string) bool {
	host, repo := splitImage(image)
	for _, a := range allowed {
		ah, prefix, _ := strings.Cut(strings.TrimSuffix(a, "/"), "/")
		if normalizeHost(ah) != host {
			continue
		}
		if prefix == "" || repo == prefix || strings.HasPrefix(repo, prefix+"/") {
			return true
		}
	}
	return false
}
