package manifests

import (
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// This file validates Services and Endpoints, after Kubernetes' core
// validation and, for node ports, the API server's node port allocator.

// The node port range: the API server's default --service-node-port-range.
const (
	nodePortRangeMin = 30000
	nodePortRangeMax = 32767
)

// Service annotations the API server checks.
const (
	annotationTopologyAwareHints          = "service.kubernetes.io/topology-aware-hints"
	annotationTopologyMode                = "service.kubernetes.io/topology-mode"
	annotationLoadBalancerSourceRangesKey = "service.beta.kubernetes.io/load-balancer-source-ranges"
)

// maxClientIPServiceAffinitySeconds bounds sessionAffinityConfig.clientIP.timeoutSeconds.
const maxClientIPServiceAffinitySeconds = 86400

// validateService validates a Service on create.
func validateService(svc *corev1.Service) field.ErrorList {
	metaPath := field.NewPath("metadata")
	specPath := field.NewPath("spec")
	spec := &svc.Spec
	allErrs := validateObjectMeta(&svc.ObjectMeta, true, nameIsDNS1035Label, metaPath)

	hints, hintsSet := svc.Annotations[annotationTopologyAwareHints]
	mode, modeSet := svc.Annotations[annotationTopologyMode]
	if hintsSet && modeSet && hints != mode {
		allErrs = append(allErrs, field.Invalid(metaPath.Child("annotations").Key(annotationTopologyMode), mode,
			fmt.Sprintf("must match annotations[%s] when both are specified", annotationTopologyAwareHints)))
	}

	ips := newServiceClusterIPs(spec, specPath)
	headless := ips.headless()

	if len(spec.Ports) == 0 && !headless && spec.Type != corev1.ServiceTypeExternalName {
		allErrs = append(allErrs, field.Required(specPath.Child("ports"), ""))
	}
	switch spec.Type {
	case corev1.ServiceTypeLoadBalancer:
		if headless {
			allErrs = append(allErrs, field.Invalid(ips.path(0), ips.ips[0], "may not be set to 'None' for LoadBalancer services"))
		}
	case corev1.ServiceTypeNodePort:
		if headless {
			allErrs = append(allErrs, field.Invalid(ips.path(0), ips.ips[0], "may not be set to 'None' for NodePort services"))
		}
	case corev1.ServiceTypeExternalName:
		if len(ips.ips) > 0 {
			allErrs = append(allErrs, field.Forbidden(ips.listPath(), "may not be set for ExternalName services"))
		}
		if len(spec.IPFamilies) > 0 {
			allErrs = append(allErrs, field.Forbidden(specPath.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if spec.IPFamilyPolicy != nil {
			allErrs = append(allErrs, field.Forbidden(specPath.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		// The CNAME may end with a dot to mark it fully qualified.
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname != "" {
			allErrs = append(allErrs, validateDNS1123Subdomain(cname, specPath.Child("externalName"))...)
		} else {
			allErrs = append(allErrs, field.Required(specPath.Child("externalName"), ""))
		}
	}

	portNames := map[string]bool{}
	for i := range spec.Ports {
		allErrs = append(allErrs, validateServicePort(&spec.Ports[i], len(spec.Ports) > 1, portNames, specPath.Child("ports").Index(i))...)
	}
	if spec.Selector != nil {
		allErrs = append(allErrs, metav1validation.ValidateLabels(spec.Selector, specPath.Child("selector"))...)
	}

	affPath := specPath.Child("sessionAffinity")
	switch spec.SessionAffinity {
	case "":
		allErrs = append(allErrs, field.Required(affPath, ""))
	case corev1.ServiceAffinityClientIP:
		allErrs = append(allErrs, validateClientIPAffinityConfig(spec.SessionAffinityConfig, specPath.Child("sessionAffinityConfig"))...)
	case corev1.ServiceAffinityNone:
		if spec.SessionAffinityConfig != nil {
			allErrs = append(allErrs, field.Forbidden(specPath.Child("sessionAffinityConfig"), fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone)))
		}
	default:
		allErrs = append(allErrs, notSupported(affPath, spec.SessionAffinity, corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone))
	}

	allErrs = append(allErrs, ips.validate(spec)...)

	for i, ip := range spec.ExternalIPs {
		p := specPath.Child("externalIPs").Index(i)
		if errs := validateLegacyIP(p, ip); len(errs) != 0 {
			allErrs = append(allErrs, errs...)
		} else {
			allErrs = append(allErrs, validateNonSpecialIP(ip, p)...)
		}
	}

	typePath := specPath.Child("type")
	switch spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort:
	case "":
		allErrs = append(allErrs, field.Required(typePath, ""))
	default:
		allErrs = append(allErrs, notSupported(typePath, spec.Type, corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort))
	}

	allErrs = append(allErrs, validateServiceNodePorts(spec, specPath)...)

	ports := map[corev1.ServicePort]bool{}
	for i, port := range spec.Ports {
		key := corev1.ServicePort{Protocol: port.Protocol, Port: port.Port}
		if ports[key] {
			allErrs = append(allErrs, field.Duplicate(specPath.Child("ports").Index(i), key))
		}
		ports[key] = true
	}

	if len(spec.LoadBalancerSourceRanges) > 0 {
		p := specPath.Child("loadBalancerSourceRanges")
		if spec.Type != corev1.ServiceTypeLoadBalancer {
			allErrs = append(allErrs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
		for i, value := range spec.LoadBalancerSourceRanges {
			// Values may be space-padded, as the annotation was.
			allErrs = append(allErrs, validateLegacyCIDR(p.Index(i), strings.TrimSpace(value))...)
		}
	} else if val, ok := svc.Annotations[annotationLoadBalancerSourceRangesKey]; ok {
		p := metaPath.Child("annotations").Key(annotationLoadBalancerSourceRangesKey)
		if spec.Type != corev1.ServiceTypeLoadBalancer {
			allErrs = append(allErrs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
		if val = strings.TrimSpace(val); val != "" {
			for _, value := range strings.Split(val, ",") {
				allErrs = append(allErrs, validateLegacyCIDR(p, strings.TrimSpace(value))...)
			}
		}
	}

	lbPath := specPath.Child("allocateLoadBalancerNodePorts")
	if spec.AllocateLoadBalancerNodePorts != nil && spec.Type != corev1.ServiceTypeLoadBalancer {
		allErrs = append(allErrs, field.Forbidden(lbPath, "may only be used when `type` is 'LoadBalancer'"))
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer && spec.AllocateLoadBalancerNodePorts == nil {
		allErrs = append(allErrs, field.Required(lbPath, ""))
	}
	if spec.LoadBalancerClass != nil {
		p := specPath.Child("loadBalancerClass")
		if spec.Type == corev1.ServiceTypeLoadBalancer {
			allErrs = append(allErrs, validateQualifiedName(*spec.LoadBalancerClass, p)...)
		} else {
			allErrs = append(allErrs, field.Forbidden(p, "may only be used when `type` is 'LoadBalancer'"))
		}
	}
	allErrs = append(allErrs, validateServiceExternalTrafficPolicy(spec, specPath)...)

	itpPath := specPath.Child("internalTrafficPolicy")
	if spec.InternalTrafficPolicy == nil {
		if spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer || spec.Type == corev1.ServiceTypeClusterIP {
			allErrs = append(allErrs, field.Required(itpPath, ""))
		}
	} else if p := *spec.InternalTrafficPolicy; p != corev1.ServiceInternalTrafficPolicyCluster && p != corev1.ServiceInternalTrafficPolicyLocal {
		allErrs = append(allErrs, notSupported(itpPath, p, corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal))
	}
	if td := spec.TrafficDistribution; td != nil {
		switch *td {
		case corev1.ServiceTrafficDistributionPreferClose, corev1.ServiceTrafficDistributionPreferSameZone, corev1.ServiceTrafficDistributionPreferSameNode:
		default:
			allErrs = append(allErrs, notSupported(specPath.Child("trafficDistribution"), *td,
				corev1.ServiceTrafficDistributionPreferClose, corev1.ServiceTrafficDistributionPreferSameZone, corev1.ServiceTrafficDistributionPreferSameNode))
		}
	}
	return allErrs
}

// validateServicePort validates one port of a Service: a DNS-1123 label name,
// unique and required when there are several ports, a port number, a
// protocol, a target port number or name, and a qualified appProtocol.
func validateServicePort(sp *corev1.ServicePort, requireName bool, allNames map[string]bool, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if requireName && sp.Name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	} else if sp.Name != "" {
		allErrs = append(allErrs, validateDNS1123Label(sp.Name, fldPath.Child("name"))...)
		if allNames[sp.Name] {
			allErrs = append(allErrs, field.Duplicate(fldPath.Child("name"), sp.Name))
		}
		allNames[sp.Name] = true
	}
	for _, msg := range validation.IsValidPortNum(int(sp.Port)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("port"), sp.Port, msg))
	}
	allErrs = append(allErrs, validateProtocol(sp.Protocol, fldPath.Child("protocol"))...)
	allErrs = append(allErrs, validatePortNumOrName(sp.TargetPort, fldPath.Child("targetPort"))...)
	if sp.AppProtocol != nil {
		allErrs = append(allErrs, validateQualifiedName(*sp.AppProtocol, fldPath.Child("appProtocol"))...)
	}
	return allErrs
}

// validateServiceNodePorts checks node ports: only for NodePort and
// LoadBalancer Services, within the node port range, and unique per
// protocol.
func validateServiceNodePorts(spec *corev1.ServiceSpec, specPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	seen := map[corev1.ServicePort]bool{}
	for i, port := range spec.Ports {
		if port.NodePort == 0 {
			continue
		}
		p := specPath.Child("ports").Index(i).Child("nodePort")
		switch spec.Type {
		case corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName:
			allErrs = append(allErrs, field.Forbidden(p, fmt.Sprintf("may not be used when `type` is '%s'", spec.Type)))
		case corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
			allErrs = append(allErrs, validateNodePortInRange(port.NodePort, p)...)
		}
		key := corev1.ServicePort{Protocol: port.Protocol, NodePort: port.NodePort}
		if seen[key] {
			allErrs = append(allErrs, field.Duplicate(p, port.NodePort))
		}
		seen[key] = true
	}
	return allErrs
}

// validateNodePortInRange requires a node port in the node port range, with
// the node port allocator's message.
func validateNodePortInRange(port int32, fldPath *field.Path) field.ErrorList {
	if port < nodePortRangeMin || port > nodePortRangeMax {
		return field.ErrorList{field.Invalid(fldPath, port, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", nodePortRangeMin, nodePortRangeMax))}
	}
	return nil
}

// validateClientIPAffinityConfig requires the ClientIP timeout, 1-86400
// seconds.
func validateClientIPAffinityConfig(cfg *corev1.SessionAffinityConfig, fldPath *field.Path) field.ErrorList {
	msg := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
	switch {
	case cfg == nil:
		return field.ErrorList{field.Required(fldPath, msg)}
	case cfg.ClientIP == nil:
		return field.ErrorList{field.Required(fldPath.Child("clientIP"), msg)}
	case cfg.ClientIP.TimeoutSeconds == nil:
		return field.ErrorList{field.Required(fldPath.Child("clientIP", "timeoutSeconds"), msg)}
	}
	if t := *cfg.ClientIP.TimeoutSeconds; t <= 0 || t > maxClientIPServiceAffinitySeconds {
		return field.ErrorList{field.Invalid(fldPath.Child("clientIP", "timeoutSeconds"), t, fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPServiceAffinitySeconds))}
	}
	return nil
}

// validateServiceExternalTrafficPolicy allows externalTrafficPolicy only on
// externally-accessible Services (required on NodePort and LoadBalancer), and
// healthCheckNodePort only on LoadBalancer Services with the Local policy.
func validateServiceExternalTrafficPolicy(spec *corev1.ServiceSpec, specPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	etpPath := specPath.Child("externalTrafficPolicy")
	nodeReachable := spec.Type == corev1.ServiceTypeLoadBalancer || spec.Type == corev1.ServiceTypeNodePort
	externallyAccessible := nodeReachable || (spec.Type == corev1.ServiceTypeClusterIP && len(spec.ExternalIPs) > 0)
	switch etp := spec.ExternalTrafficPolicy; {
	case !externallyAccessible && etp != "":
		allErrs = append(allErrs, field.Invalid(etpPath, etp, "may only be set for externally-accessible services"))
	case externallyAccessible && etp == "":
		if nodeReachable {
			allErrs = append(allErrs, field.Required(etpPath, ""))
		}
	case externallyAccessible && etp != corev1.ServiceExternalTrafficPolicyCluster && etp != corev1.ServiceExternalTrafficPolicyLocal:
		allErrs = append(allErrs, notSupported(etpPath, etp, corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal))
	}

	hcPath := specPath.Child("healthCheckNodePort")
	needsHealthCheck := spec.Type == corev1.ServiceTypeLoadBalancer && spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	if hc := spec.HealthCheckNodePort; hc != 0 {
		if !needsHealthCheck {
			allErrs = append(allErrs, field.Invalid(hcPath, hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
		} else if msgs := validation.IsValidPortNum(int(hc)); len(msgs) > 0 {
			for _, msg := range msgs {
				allErrs = append(allErrs, field.Invalid(hcPath, hc, msg))
			}
		} else {
			allErrs = append(allErrs, validateNodePortInRange(hc, hcPath)...)
		}
	}
	return allErrs
}

// serviceClusterIPs is a Service's cluster IPs as the API server sees them
// once clusterIP and clusterIPs are synchronised (either one may be given).
type serviceClusterIPs struct {
	specPath *field.Path
	ips      []string
	// fromClusterIP is true when only spec.clusterIP was written: errors
	// about the first IP then point at it.
	fromClusterIP bool
	mismatch      bool
}

// newServiceClusterIPs synchronises clusterIP and clusterIPs as the API
// server does before validation.
func newServiceClusterIPs(spec *corev1.ServiceSpec, specPath *field.Path) serviceClusterIPs {
	s := serviceClusterIPs{specPath: specPath, ips: spec.ClusterIPs}
	if len(spec.ClusterIPs) == 0 && spec.ClusterIP != "" {
		s.ips = []string{spec.ClusterIP}
		s.fromClusterIP = true
	}
	s.mismatch = spec.ClusterIP != "" && len(spec.ClusterIPs) > 0 && spec.ClusterIPs[0] != spec.ClusterIP
	return s
}

// headless reports whether the Service has clusterIP None.
func (s serviceClusterIPs) headless() bool {
	return len(s.ips) == 1 && s.ips[0] == corev1.ClusterIPNone
}

// listPath is the field holding the IPs.
func (s serviceClusterIPs) listPath() *field.Path {
	if s.fromClusterIP {
		return s.specPath.Child("clusterIP")
	}
	return s.specPath.Child("clusterIPs")
}

// path is the field holding IP i.
func (s serviceClusterIPs) path(i int) *field.Path {
	if s.fromClusterIP {
		return s.specPath.Child("clusterIP")
	}
	return s.specPath.Child("clusterIPs").Index(i)
}

// validate validates the cluster IPs, IP families and family policy of a
// Service that is not an ExternalName.
func (s serviceClusterIPs) validate(spec *corev1.ServiceSpec) field.ErrorList {
	if spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	var allErrs field.ErrorList
	clusterIPsPath := s.specPath.Child("clusterIPs")
	if s.mismatch {
		allErrs = append(allErrs, field.Invalid(clusterIPsPath, spec.ClusterIPs, "first value must match `clusterIP`"))
	}
	seen := map[corev1.IPFamily]bool{}
	for i, f := range spec.IPFamilies {
		p := s.specPath.Child("ipFamilies").Index(i)
		if f != corev1.IPv4Protocol && f != corev1.IPv6Protocol {
			allErrs = append(allErrs, notSupported(p, f, corev1.IPv4Protocol, corev1.IPv6Protocol))
		}
		if seen[f] {
			allErrs = append(allErrs, field.Duplicate(p, f))
		}
		seen[f] = true
	}
	if p := spec.IPFamilyPolicy; p != nil {
		switch *p {
		case corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack:
		default:
			allErrs = append(allErrs, notSupported(s.specPath.Child("ipFamilyPolicy"), *p,
				corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicySingleStack))
		}
	}
	hasInvalidIPs := false
	for i, ip := range s.ips {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(s.ips) > 1 {
				hasInvalidIPs = true
				allErrs = append(allErrs, field.Invalid(clusterIPsPath, s.ips, "'None' must be the first and only value"))
			}
			continue
		}
		errs := validateLegacyIP(s.path(i), ip)
		hasInvalidIPs = hasInvalidIPs || len(errs) != 0
		allErrs = append(allErrs, errs...)
	}
	if len(s.ips) > 2 {
		allErrs = append(allErrs, field.Invalid(clusterIPsPath, s.ips, "may only hold up to 2 values"))
	}
	if hasInvalidIPs {
		return allErrs
	}
	if len(s.ips) == 2 && isIPv6(s.ips[0]) == isIPv6(s.ips[1]) {
		allErrs = append(allErrs, field.Invalid(clusterIPsPath, s.ips, "may specify no more than one IP for each IP family"))
	}
	if !s.headless() {
		for i, ip := range s.ips {
			if i >= len(spec.IPFamilies) {
				break
			}
			if spec.IPFamilies[i] == corev1.IPv4Protocol && isIPv6(ip) {
				allErrs = append(allErrs, field.Invalid(s.path(i), ip, fmt.Sprintf("expected an IPv4 value as indicated by `ipFamilies[%v]`", i)))
			}
			if spec.IPFamilies[i] == corev1.IPv6Protocol && !isIPv6(ip) {
				allErrs = append(allErrs, field.Invalid(s.path(i), ip, fmt.Sprintf("expected an IPv6 value as indicated by `ipFamilies[%v]`", i)))
			}
		}
	}
	return allErrs
}

// isIPv6 reports whether ip is an IPv6 address.
func isIPv6(ip string) bool {
	parsed := net.ParseIP(ip)
	return parsed != nil && parsed.To4() == nil
}

// validateNonSpecialIP rejects unspecified, loopback and link-local
// addresses, which make no sense as endpoints or external IPs.
func validateNonSpecialIP(ip string, fldPath *field.Path) field.ErrorList {
	parsed := net.ParseIP(ip)
	if parsed == nil {
		return field.ErrorList{field.Invalid(fldPath, ip, "must be a valid IP address")}
	}
	var allErrs field.ErrorList
	if parsed.IsUnspecified() {
		allErrs = append(allErrs, field.Invalid(fldPath, ip, fmt.Sprintf("may not be unspecified (%v)", ip)))
	}
	if parsed.IsLoopback() {
		allErrs = append(allErrs, field.Invalid(fldPath, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if parsed.IsLinkLocalUnicast() {
		allErrs = append(allErrs, field.Invalid(fldPath, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if parsed.IsLinkLocalMulticast() {
		allErrs = append(allErrs, field.Invalid(fldPath, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return allErrs
}

// validateEndpoints validates an Endpoints object on create: every subset has
// addresses, every address a valid, non-special IP, every port a number, a
// protocol and (when there are several) a name.
func validateEndpoints(ep *corev1.Endpoints) field.ErrorList {
	allErrs := validateObjectMeta(&ep.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	subsetsPath := field.NewPath("subsets")
	for i := range ep.Subsets {
		ss := &ep.Subsets[i]
		idxPath := subsetsPath.Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			allErrs = append(allErrs, field.Required(idxPath, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j := range ss.Addresses {
			allErrs = append(allErrs, validateEndpointAddress(&ss.Addresses[j], idxPath.Child("addresses").Index(j))...)
		}
		for j := range ss.NotReadyAddresses {
			allErrs = append(allErrs, validateEndpointAddress(&ss.NotReadyAddresses[j], idxPath.Child("notReadyAddresses").Index(j))...)
		}
		for j := range ss.Ports {
			allErrs = append(allErrs, validateEndpointPort(&ss.Ports[j], len(ss.Ports) > 1, idxPath.Child("ports").Index(j))...)
		}
	}
	return allErrs
}

// validateEndpointAddress requires a valid, non-special IP, and valid
// hostname and node name when given.
func validateEndpointAddress(addr *corev1.EndpointAddress, fldPath *field.Path) field.ErrorList {
	ipErrs := validateLegacyIP(fldPath.Child("ip"), addr.IP)
	allErrs := ipErrs
	if addr.Hostname != "" {
		allErrs = append(allErrs, validateDNS1123Label(addr.Hostname, fldPath.Child("hostname"))...)
	}
	if addr.NodeName != nil {
		allErrs = append(allErrs, validateNameWith(nameIsDNSSubdomain, *addr.NodeName, fldPath.Child("nodeName"))...)
	}
	if len(ipErrs) == 0 {
		allErrs = append(allErrs, validateNonSpecialIP(addr.IP, fldPath.Child("ip"))...)
	}
	return allErrs
}

// validateEndpointPort requires a port number, a protocol, and a DNS-1123
// label name (required when the subset has several ports).
func validateEndpointPort(port *corev1.EndpointPort, requireName bool, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if requireName && port.Name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	} else if port.Name != "" {
		allErrs = append(allErrs, validateDNS1123Label(port.Name, fldPath.Child("name"))...)
	}
	for _, msg := range validation.IsValidPortNum(int(port.Port)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("port"), port.Port, msg))
	}
	allErrs = append(allErrs, validateProtocol(port.Protocol, fldPath.Child("protocol"))...)
	if port.AppProtocol != nil {
		allErrs = append(allErrs, validateQualifiedName(*port.AppProtocol, fldPath.Child("appProtocol"))...)
	}
	return allErrs
}
