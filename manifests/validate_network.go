package manifests

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	pathvalidation "k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// This file validates Ingresses and NetworkPolicies, after Kubernetes'
// networking validation.

const annotationIngressClass = "kubernetes.io/ingress.class"

var (
	invalidPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	invalidPathSuffixes  = []string{"/..", "/."}
)

// validateIngress validates an Ingress on create.
func validateIngress(ing *networkingv1.Ingress) field.ErrorList {
	metaPath := field.NewPath("metadata")
	allErrs := validateObjectMeta(&ing.ObjectMeta, true, nameIsDNSSubdomain, metaPath)
	allErrs = append(allErrs, validateIngressSpec(&ing.Spec, field.NewPath("spec"))...)
	if val, ok := ing.Annotations[annotationIngressClass]; ok && ing.Spec.IngressClassName != nil && val != *ing.Spec.IngressClassName {
		allErrs = append(allErrs, field.Invalid(metaPath.Child("annotations").Key(annotationIngressClass), val, "must match `ingressClassName` when both are specified"))
	}
	return allErrs
}

// validateIngressSpec requires a default backend or rules, and validates the
// backends, rules, TLS entries and class name.
func validateIngressSpec(spec *networkingv1.IngressSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		allErrs = append(allErrs, field.Invalid(fldPath, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		allErrs = append(allErrs, validateIngressBackend(spec.DefaultBackend, fldPath.Child("defaultBackend"))...)
	}
	for i, rule := range spec.Rules {
		allErrs = append(allErrs, validateIngressRule(&rule, fldPath.Child("rules").Index(i))...)
	}
	for i, tls := range spec.TLS {
		tlsPath := fldPath.Child("tls").Index(i)
		for j, host := range tls.Hosts {
			allErrs = append(allErrs, validateIngressHost(host, tlsPath.Child("hosts").Index(j))...)
		}
		if tls.SecretName != "" {
			allErrs = append(allErrs, validateNameWith(nameIsDNSSubdomain, tls.SecretName, tlsPath.Child("secretName"))...)
		}
	}
	if spec.IngressClassName != nil {
		allErrs = append(allErrs, validateNameWith(nameIsDNSSubdomain, *spec.IngressClassName, fldPath.Child("ingressClassName"))...)
	}
	return allErrs
}

// validateIngressHost requires a DNS subdomain, or a wildcard one ("*."
// followed by a subdomain).
func validateIngressHost(host string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	msgs := validation.IsDNS1123Subdomain(host)
	if strings.Contains(host, "*") {
		msgs = validation.IsWildcardDNS1123Subdomain(host)
	}
	for _, msg := range msgs {
		allErrs = append(allErrs, field.Invalid(fldPath, host, msg))
	}
	return allErrs
}

// validateIngressRule validates a rule's host (a DNS name, not an IP) and its
// HTTP paths.
func validateIngressRule(rule *networkingv1.IngressRule, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if rule.Host != "" {
		if net.ParseIP(rule.Host) != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("host"), rule.Host, "must be a DNS name, not an IP address"))
		}
		allErrs = append(allErrs, validateIngressHost(rule.Host, fldPath.Child("host"))...)
	}
	if http := rule.HTTP; http != nil {
		httpPath := fldPath.Child("http")
		if len(http.Paths) == 0 {
			allErrs = append(allErrs, field.Required(httpPath.Child("paths"), ""))
		}
		for i := range http.Paths {
			allErrs = append(allErrs, validateHTTPIngressPath(&http.Paths[i], httpPath.Child("paths").Index(i))...)
		}
	}
	return allErrs
}

// validateHTTPIngressPath requires a pathType; Exact and Prefix paths are
// absolute and clean, ImplementationSpecific ones absolute when given.
func validateHTTPIngressPath(p *networkingv1.HTTPIngressPath, fldPath *field.Path) field.ErrorList {
	if p.PathType == nil {
		return field.ErrorList{field.Required(fldPath.Child("pathType"), "pathType must be specified")}
	}
	var allErrs field.ErrorList
	pathPath := fldPath.Child("path")
	switch *p.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !strings.HasPrefix(p.Path, "/") {
			allErrs = append(allErrs, field.Invalid(pathPath, p.Path, "must be an absolute path"))
		}
		if p.Path != "" {
			for _, seq := range invalidPathSequences {
				if strings.Contains(p.Path, seq) {
					allErrs = append(allErrs, field.Invalid(pathPath, p.Path, fmt.Sprintf("must not contain '%s'", seq)))
				}
			}
			for _, suffix := range invalidPathSuffixes {
				if strings.HasSuffix(p.Path, suffix) {
					allErrs = append(allErrs, field.Invalid(pathPath, p.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
				}
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
			allErrs = append(allErrs, field.Invalid(pathPath, p.Path, "must be an absolute path"))
		}
	default:
		allErrs = append(allErrs, notSupported(fldPath.Child("pathType"), *p.PathType,
			networkingv1.PathTypeExact, networkingv1.PathTypeImplementationSpecific, networkingv1.PathTypePrefix))
	}
	return append(allErrs, validateIngressBackend(&p.Backend, fldPath.Child("backend"))...)
}

// validateIngressBackend requires exactly one of a service (a valid Service
// name and exactly one of a port name and a port number) and a resource.
func validateIngressBackend(b *networkingv1.IngressBackend, fldPath *field.Path) field.ErrorList {
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(fldPath, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateTypedLocalObjectReference(b.Resource, fldPath.Child("resource"))
	case b.Service != nil:
		var allErrs field.ErrorList
		svcPath := fldPath.Child("service")
		if b.Service.Name == "" {
			allErrs = append(allErrs, field.Required(svcPath.Child("name"), ""))
		} else {
			allErrs = append(allErrs, validateNameWith(nameIsDNS1035Label, b.Service.Name, svcPath.Child("name"))...)
		}
		port := b.Service.Port
		switch hasName, hasNumber := port.Name != "", port.Number != 0; {
		case hasName && hasNumber:
			allErrs = append(allErrs, field.Invalid(fldPath, "", "cannot set both port name & port number"))
		case hasName:
			for _, msg := range validation.IsValidPortName(port.Name) {
				allErrs = append(allErrs, field.Invalid(svcPath.Child("port", "name"), port.Name, msg))
			}
		case hasNumber:
			for _, msg := range validation.IsValidPortNum(int(port.Number)) {
				allErrs = append(allErrs, field.Invalid(svcPath.Child("port", "number"), port.Number, msg))
			}
		default:
			allErrs = append(allErrs, field.Required(fldPath, "port name or number is required"))
		}
		return allErrs
	default:
		return field.ErrorList{field.Invalid(fldPath, "", "resource or service backend is required")}
	}
}

// validateTypedLocalObjectReference validates a resource backend: kind and
// name required, apiGroup a DNS subdomain.
func validateTypedLocalObjectReference(ref *corev1.TypedLocalObjectReference, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if ref.APIGroup != nil {
		allErrs = append(allErrs, validateDNS1123Subdomain(*ref.APIGroup, fldPath.Child("apiGroup"))...)
	}
	if ref.Kind == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("kind"), "kind is required"))
	} else {
		for _, msg := range pathvalidation.IsValidPathSegmentName(ref.Kind) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("kind"), ref.Kind, msg))
		}
	}
	if ref.Name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), "name is required"))
	} else {
		for _, msg := range pathvalidation.IsValidPathSegmentName(ref.Name) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("name"), ref.Name, msg))
		}
	}
	return allErrs
}

// validateNetworkPolicy validates a NetworkPolicy on create.
func validateNetworkPolicy(np *networkingv1.NetworkPolicy) field.ErrorList {
	allErrs := validateObjectMeta(&np.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateNetworkPolicySpec(&np.Spec, field.NewPath("spec"))...)
}

// validateNetworkPolicySpec validates the pod selector, the ingress and
// egress rules and the policy types (Ingress, Egress).
func validateNetworkPolicySpec(spec *networkingv1.NetworkPolicySpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateLabelSelector(&spec.PodSelector, fldPath.Child("podSelector"))
	for i, rule := range spec.Ingress {
		rulePath := fldPath.Child("ingress").Index(i)
		for j := range rule.Ports {
			allErrs = append(allErrs, validateNetworkPolicyPort(&rule.Ports[j], rulePath.Child("ports").Index(j))...)
		}
		for j := range rule.From {
			allErrs = append(allErrs, validateNetworkPolicyPeer(&rule.From[j], rulePath.Child("from").Index(j))...)
		}
	}
	for i, rule := range spec.Egress {
		rulePath := fldPath.Child("egress").Index(i)
		for j := range rule.Ports {
			allErrs = append(allErrs, validateNetworkPolicyPort(&rule.Ports[j], rulePath.Child("ports").Index(j))...)
		}
		for j := range rule.To {
			allErrs = append(allErrs, validateNetworkPolicyPeer(&rule.To[j], rulePath.Child("to").Index(j))...)
		}
	}
	typesPath := fldPath.Child("policyTypes")
	if len(spec.PolicyTypes) > 2 {
		return append(allErrs, field.Invalid(typesPath, spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			allErrs = append(allErrs, notSupported(typesPath.Index(i), t, networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress))
		}
	}
	return allErrs
}

// validateNetworkPolicyPort validates a port: protocol TCP, UDP or SCTP, a
// port number or name, and an endPort (numbers only) not below port.
func validateNetworkPolicyPort(port *networkingv1.NetworkPolicyPort, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if p := port.Protocol; p != nil && *p != corev1.ProtocolTCP && *p != corev1.ProtocolUDP && *p != corev1.ProtocolSCTP {
		allErrs = append(allErrs, notSupported(fldPath.Child("protocol"), *p, corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP))
	}
	endPath := fldPath.Child("endPort")
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			allErrs = append(allErrs, field.Invalid(endPath, *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		for _, msg := range validation.IsValidPortNum(int(port.Port.IntVal)) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("port"), port.Port.IntVal, msg))
		}
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				allErrs = append(allErrs, field.Invalid(endPath, port.Port.IntVal, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*port.EndPort)) {
				allErrs = append(allErrs, field.Invalid(endPath, *port.EndPort, msg))
			}
		}
	default:
		if port.EndPort != nil {
			allErrs = append(allErrs, field.Invalid(endPath, *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("port"), port.Port.StrVal, msg))
		}
	}
	return allErrs
}

// validateNetworkPolicyPeer requires at least one of podSelector,
// namespaceSelector and ipBlock, ipBlock alone.
func validateNetworkPolicyPeer(peer *networkingv1.NetworkPolicyPeer, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	num := 0
	if peer.PodSelector != nil {
		num++
		allErrs = append(allErrs, validateLabelSelector(peer.PodSelector, fldPath.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		num++
		allErrs = append(allErrs, validateLabelSelector(peer.NamespaceSelector, fldPath.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		num++
		allErrs = append(allErrs, validateIPBlock(peer.IPBlock, fldPath.Child("ipBlock"))...)
	}
	if num == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify a peer"))
	} else if num > 1 && peer.IPBlock != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath, "may not specify both ipBlock and another peer"))
	}
	return allErrs
}

// validateIPBlock requires a valid CIDR and excepts strictly inside it.
func validateIPBlock(ipb *networkingv1.IPBlock, fldPath *field.Path) field.ErrorList {
	cidrPath := fldPath.Child("cidr")
	if ipb.CIDR == "" {
		return field.ErrorList{field.Required(cidrPath, "")}
	}
	allErrs := validateLegacyCIDR(cidrPath, ipb.CIDR)
	_, cidr, err := net.ParseCIDR(ipb.CIDR)
	if len(allErrs) > 0 || err != nil {
		return allErrs
	}
	for i, except := range ipb.Except {
		exceptPath := fldPath.Child("except").Index(i)
		errs := validateLegacyCIDR(exceptPath, except)
		allErrs = append(allErrs, errs...)
		_, exceptNet, err := net.ParseCIDR(except)
		if len(errs) > 0 || err != nil {
			continue
		}
		cidrLen, _ := cidr.Mask.Size()
		exceptLen, _ := exceptNet.Mask.Size()
		if !cidr.Contains(exceptNet.IP) || cidrLen >= exceptLen {
			allErrs = append(allErrs, field.Invalid(exceptPath, except, "must be a strict subset of `cidr`"))
		}
	}
	return allErrs
}
