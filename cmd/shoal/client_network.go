package main

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shoal-run/shoal/nodeagent/api"
)

// The Service networking kinds of `get` and `describe`, with kubectl's
// names, columns and describe text.
var (
	serviceKind = resourceKind(api.Services, "service", []string{"services", "service", "svc"},
		columns[corev1.Service, *corev1.Service]{
			names: []string{"TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"}, wideNames: []string{"SELECTOR"},
			row:     func(s *corev1.Service, now time.Time) []string { return serviceCells(s, now, false) },
			wideRow: func(s *corev1.Service, now time.Time) []string { return serviceCells(s, now, true) },
			wide:    func(s *corev1.Service) []string { return []string{labels.FormatLabels(s.Spec.Selector)} },
		}, describeService)

	endpointsKind = resourceKind(api.Endpoints, "endpoints", []string{"endpoints", "ep"},
		columns[corev1.Endpoints, *corev1.Endpoints]{
			names: []string{"ENDPOINTS", "AGE"},
			row: func(e *corev1.Endpoints, now time.Time) []string {
				return []string{formatEndpoints(e, nil), age(e.CreationTimestamp.Time, now)}
			},
		}, describeEndpoints)

	ingressKind = resourceKind(api.Ingresses, "ingress.networking.k8s.io", []string{"ingresses", "ingress", "ing"},
		columns[networkingv1.Ingress, *networkingv1.Ingress]{
			names:   []string{"CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"},
			row:     func(i *networkingv1.Ingress, now time.Time) []string { return ingressCells(i, now, false) },
			wideRow: func(i *networkingv1.Ingress, now time.Time) []string { return ingressCells(i, now, true) },
		}, describeIngress)
)

// serviceCells are a Service's TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE,
// by kubectl's rules.
func serviceCells(s *corev1.Service, now time.Time, wide bool) []string {
	clusterIP := "<none>"
	if len(s.Spec.ClusterIPs) > 0 {
		clusterIP = s.Spec.ClusterIPs[0]
	}
	var ports []string
	for _, p := range s.Spec.Ports {
		if p.NodePort > 0 {
			ports = append(ports, fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol))
		} else {
			ports = append(ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
		}
	}
	return []string{string(s.Spec.Type), clusterIP, serviceExternalIP(s, wide), orNone(strings.Join(ports, ",")), age(s.CreationTimestamp.Time, now)}
}

// serviceExternalIP is the EXTERNAL-IP cell: the external IPs, a
// LoadBalancer's addresses (<pending> before it has one), an
// ExternalName's name.
func serviceExternalIP(s *corev1.Service, wide bool) string {
	switch s.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		return orNone(strings.Join(s.Spec.ExternalIPs, ","))
	case corev1.ServiceTypeLoadBalancer:
		var ips []string
		for _, in := range s.Status.LoadBalancer.Ingress {
			ips = append(ips, ipOrHostname(in.IP, in.Hostname))
		}
		lb := addressList(ips, wide)
		if len(s.Spec.ExternalIPs) > 0 {
			var all []string
			if lb != "" {
				all = strings.Split(lb, ",")
			}
			return strings.Join(append(all, s.Spec.ExternalIPs...), ",")
		}
		if lb == "" {
			return "<pending>"
		}
		return lb
	case corev1.ServiceTypeExternalName:
		return s.Spec.ExternalName
	}
	return "<unknown>"
}

// loadBalancerWidth is how long kubectl lets an address list be outside
// wide output.
const loadBalancerWidth = 16

// addressList joins addresses sorted and without repeats, clipped to
// loadBalancerWidth unless wide, as kubectl does.
func addressList(addrs []string, wide bool) string {
	var set []string
	for _, a := range addrs {
		if a != "" && !slices.Contains(set, a) {
			set = append(set, a)
		}
	}
	slices.Sort(set)
	r := strings.Join(set, ",")
	if !wide && len(r) > loadBalancerWidth {
		r = r[:loadBalancerWidth-3] + "..."
	}
	return r
}

func ipOrHostname(ip, hostname string) string {
	if ip != "" {
		return ip
	}
	return hostname
}

// formatEndpoints is kubectl's list of an Endpoints object's ready
// addresses: IP:PORT for the ports named in ports (every port when nil),
// the IP alone in a subset without ports, the first three then "+ N
// more..."; <none> without subsets.
func formatEndpoints(e *corev1.Endpoints, ports map[string]bool) string {
	if e == nil || len(e.Subsets) == 0 {
		return "<none>"
	}
	const most = 3
	var list []string
	count := 0
	add := func(s string) {
		count++
		if len(list) < most {
			list = append(list, s)
		}
	}
	for _, ss := range e.Subsets {
		if len(ss.Ports) == 0 {
			for _, a := range ss.Addresses {
				add(a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			if ports != nil && !ports[p.Name] {
				continue
			}
			for _, a := range ss.Addresses {
				add(net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	out := strings.Join(list, ",")
	if count > most {
		out += fmt.Sprintf(" + %d more...", count-most)
	}
	return out
}

// ingressCells are an Ingress's CLASS HOSTS ADDRESS PORTS AGE, by
// kubectl's rules.
func ingressCells(ing *networkingv1.Ingress, now time.Time, wide bool) []string {
	const most = 3
	var hosts []string
	more := false
	for _, r := range ing.Spec.Rules {
		more = more || len(hosts) == most
		if !more && r.Host != "" {
			hosts = append(hosts, r.Host)
		}
	}
	hostCell := "*"
	if len(hosts) > 0 {
		hostCell = strings.Join(hosts, ",")
		if more {
			hostCell += fmt.Sprintf(" + %d more...", len(ing.Spec.Rules)-most)
		}
	}
	ports := "80"
	if len(ing.Spec.TLS) > 0 {
		ports = "80, 443"
	}
	return []string{ptrString(ing.Spec.IngressClassName, "<none>"), hostCell, addressList(ingressAddresses(ing), wide), ports, age(ing.CreationTimestamp.Time, now)}
}

func ingressAddresses(ing *networkingv1.Ingress) []string {
	var out []string
	for _, in := range ing.Status.LoadBalancer.Ingress {
		out = append(out, ipOrHostname(in.IP, in.Hostname))
	}
	return out
}

// --- describe ---

func describeService(d describer, s *corev1.Service, rel *related) {
	d.line(0, "Name:\t%s", s.Name)
	d.line(0, "Namespace:\t%s", s.Namespace)
	d.stringMap("Labels", s.Labels)
	d.stringMap("Annotations", s.Annotations)
	d.line(0, "Selector:\t%s", labels.FormatLabels(s.Spec.Selector))
	d.line(0, "Type:\t%s", s.Spec.Type)
	if p := s.Spec.IPFamilyPolicy; p != nil {
		d.line(0, "IP Family Policy:\t%s", *p)
	}
	var families []string
	for _, f := range s.Spec.IPFamilies {
		families = append(families, string(f))
	}
	d.line(0, "IP Families:\t%s", orNone(strings.Join(families, ",")))
	d.line(0, "IP:\t%s", s.Spec.ClusterIP)
	d.line(0, "IPs:\t%s", orNone(strings.Join(s.Spec.ClusterIPs, ",")))
	if len(s.Spec.ExternalIPs) > 0 {
		d.line(0, "External IPs:\t%s", strings.Join(s.Spec.ExternalIPs, ","))
	}
	if s.Spec.ExternalName != "" {
		d.line(0, "External Name:\t%s", s.Spec.ExternalName)
	}
	if ing := s.Status.LoadBalancer.Ingress; len(ing) > 0 {
		var list []string
		for _, in := range ing {
			a := ipOrHostname(in.IP, in.Hostname)
			if in.IPMode != nil {
				a += " (" + string(*in.IPMode) + ")"
			}
			list = append(list, a)
		}
		d.line(0, "LoadBalancer Ingress:\t%s", strings.Join(list, ", "))
	}
	var ep *corev1.Endpoints
	if eps, ok := rel.endpoints(); ok {
		ep = named(eps, s.Namespace, s.Name)
	}
	for _, p := range s.Spec.Ports {
		name := p.Name
		if name == "" {
			name = "<unset>"
		}
		d.line(0, "Port:\t%s\t%d/%s", name, p.Port, p.Protocol)
		if p.TargetPort.Type == intstr.Int {
			d.line(0, "TargetPort:\t%d/%s", p.TargetPort.IntVal, p.Protocol)
		} else {
			d.line(0, "TargetPort:\t%s/%s", p.TargetPort.StrVal, p.Protocol)
		}
		if p.NodePort != 0 {
			d.line(0, "NodePort:\t%s\t%d/%s", name, p.NodePort, p.Protocol)
		}
		d.line(0, "Endpoints:\t%s", formatEndpoints(ep, map[string]bool{p.Name: true}))
	}
	d.line(0, "Session Affinity:\t%s", s.Spec.SessionAffinity)
	if s.Spec.ExternalTrafficPolicy != "" {
		d.line(0, "External Traffic Policy:\t%s", s.Spec.ExternalTrafficPolicy)
	}
	if p := s.Spec.InternalTrafficPolicy; p != nil {
		d.line(0, "Internal Traffic Policy:\t%s", *p)
	}
	if s.Spec.HealthCheckNodePort != 0 {
		d.line(0, "HealthCheck NodePort:\t%d", s.Spec.HealthCheckNodePort)
	}
	if len(s.Spec.LoadBalancerSourceRanges) > 0 {
		d.line(0, "LoadBalancer Source Ranges:\t%s", strings.Join(s.Spec.LoadBalancerSourceRanges, ","))
	}
}

func describeEndpoints(d describer, e *corev1.Endpoints, _ *related) {
	d.line(0, "Name:\t%s", e.Name)
	d.line(0, "Namespace:\t%s", e.Namespace)
	d.stringMap("Labels", e.Labels)
	d.stringMap("Annotations", e.Annotations)
	d.line(0, "Subsets:")
	ips := func(as []corev1.EndpointAddress) string {
		var out []string
		for _, a := range as {
			out = append(out, a.IP)
		}
		return orNone(strings.Join(out, ","))
	}
	for _, ss := range e.Subsets {
		d.line(1, "Addresses:\t%s", ips(ss.Addresses))
		d.line(1, "NotReadyAddresses:\t%s", ips(ss.NotReadyAddresses))
		if len(ss.Ports) > 0 {
			d.line(1, "Ports:")
			d.line(2, "Name\tPort\tProtocol")
			d.line(2, "----\t----\t--------")
			for _, p := range ss.Ports {
				name := p.Name
				if name == "" {
					name = "<unset>"
				}
				d.line(2, "%s\t%d\t%s", name, p.Port, p.Protocol)
			}
		}
		d.line(0, "")
	}
}

func describeIngress(d describer, ing *networkingv1.Ingress, rel *related) {
	d.line(0, "Name:\t%s", ing.Name)
	d.stringMap("Labels", ing.Labels)
	d.line(0, "Namespace:\t%s", ing.Namespace)
	d.line(0, "Address:\t%s", addressList(ingressAddresses(ing), true))
	d.line(0, "Ingress Class:\t%s", ptrString(ing.Spec.IngressClassName, "<none>"))
	def := "<default>"
	if b := ing.Spec.DefaultBackend; b != nil {
		def = ingressBackend(ing.Namespace, b, rel)
	}
	d.line(0, "Default backend:\t%s", def)
	if len(ing.Spec.TLS) > 0 {
		d.line(0, "TLS:")
		for _, t := range ing.Spec.TLS {
			if t.SecretName == "" {
				d.line(1, "SNI routes %s", strings.Join(t.Hosts, ","))
			} else {
				d.line(1, "%s terminates %s", t.SecretName, strings.Join(t.Hosts, ","))
			}
		}
	}
	d.line(0, "Rules:")
	d.line(1, "Host\tPath\tBackends")
	d.line(1, "----\t----\t--------")
	rules := 0
	for _, r := range ing.Spec.Rules {
		if r.HTTP == nil {
			continue
		}
		rules++
		host := r.Host
		if host == "" {
			host = "*"
		}
		d.line(1, "%s\t", host)
		for _, p := range r.HTTP.Paths {
			d.line(2, "\t%s \t%s", p.Path, ingressBackend(ing.Namespace, &p.Backend, rel))
		}
	}
	if rules == 0 {
		d.line(1, "*\t*\t%s", def)
	}
	d.stringMap("Annotations", ing.Annotations)
}

// ingressBackend is kubectl's description of an Ingress backend: the
// Service and port with the ready endpoints of that port, or the resource.
func ingressBackend(ns string, b *networkingv1.IngressBackend, rel *related) string {
	if r := b.Resource; r != nil {
		return fmt.Sprintf("APIGroup: %s, Kind: %s, Name: %s", ptrString(r.APIGroup, ""), r.Kind, r.Name)
	}
	if b.Service == nil {
		return ""
	}
	name, port := b.Service.Name, b.Service.Port
	eps, _ := rel.endpoints()
	ep := named(eps, ns, name)
	if ep == nil {
		return fmt.Sprintf("<error: endpoints %q not found>", name)
	}
	svcs, _ := rel.services()
	svc := named(svcs, ns, name)
	if svc == nil {
		return fmt.Sprintf("<error: services %q not found>", name)
	}
	portName, portCell := "", port.Name
	if portCell == "" && port.Number != 0 {
		portCell = strconv.Itoa(int(port.Number))
	}
	for _, sp := range svc.Spec.Ports {
		if (port.Number != 0 && port.Number == sp.Port) || (port.Name != "" && port.Name == sp.Name) {
			portName = sp.Name
		}
	}
	return fmt.Sprintf("%s:%s (%s)", name, portCell, formatEndpoints(ep, map[string]bool{portName: true}))
}
