package reconciler

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/reconciler/services"
)

// Network are the Service networking objects the leader serves, as the
// Kubernetes API would show them: the desired Services, Endpoints and
// Ingresses with what the routing table (package services) adds to them.
// Each list is sorted by namespace and name.
//
//   - A Service gets its cluster IP (spec.clusterIP and clusterIPs, with
//     ipFamilies and, when unset, ipFamilyPolicy SingleStack; clusterIPs
//     ["None"] when headless), each port's nodePort, spec.healthCheckNodePort
//     and status.loadBalancer. A Service the table left out (its address
//     could not be allocated; a FailedRouting event says why) is shown as
//     written.
//   - Every Service with a selector has an Endpoints object of its name,
//     made from the table's endpoints as the Endpoints controller makes it:
//     the Service's labels (and service.kubernetes.io/headless when
//     headless), one subset per set of ports, ready endpoints (and with
//     publishNotReadyAddresses all) in addresses and the others in
//     notReadyAddresses, each with its hostname, nodeName and a targetRef to
//     its pod, ports named as the Service's. The other Endpoints objects are
//     the repository's (those of Services without a selector).
//   - An Ingress's status.loadBalancer.ingress lists the ready nodes'
//     addresses, as an ingress controller on bare metal reports them: every
//     node's ingress proxy serves it.
//
// Git objects have no creation time of their own: a Service's, and its
// Endpoints', is when the leader allocated its cluster IP; zero (unknown)
// for a Service without one (headless, ExternalName), an allocation
// recorded before its time was, and an Ingress. Their UIDs are derived
// from kind, namespace and name, as the workloads'.
type Network struct {
	Services  []corev1.Service
	Endpoints []corev1.Endpoints
	Ingresses []networkingv1.Ingress
}

// network builds a step's Network from its input (the ledger's
// allocations before the step) and plan (its routing table and the
// allocations it makes, at in.Now). It is pure.
func network(in Input, plan Plan) Network {
	var n Network
	if in.Desired == nil {
		return n
	}
	table := &plan.Routes.Table
	routed := map[string]*services.Service{}
	for i := range table.Services {
		routed[table.Services[i].Key()] = &table.Services[i]
	}
	created := func(namespace, name string) time.Time {
		k := namespace + "/" + name
		if _, ok := plan.Routes.ClusterIPs[k]; ok {
			return in.Now
		}
		return in.Allocations.ClusterIPTimes[k]
	}

	svcs := manifests.Of[*corev1.Service](in.Desired)
	n.Services = withStatus(svcs, "Service", func(s *corev1.Service) (time.Time, bool) {
		if r := routed[s.Namespace+"/"+s.Name]; r != nil {
			routeService(s, r)
		}
		return created(s.Namespace, s.Name), true
	})

	selects := map[string]bool{}
	var eps []*corev1.Endpoints
	for _, s := range svcs {
		if s.Spec.Selector != nil {
			selects[s.Namespace+"/"+s.Name] = true
			eps = append(eps, endpointsFor(s, routed[s.Namespace+"/"+s.Name]))
		}
	}
	for _, e := range manifests.Of[*corev1.Endpoints](in.Desired) {
		if !selects[e.Namespace+"/"+e.Name] {
			eps = append(eps, e)
		}
	}
	n.Endpoints = withStatus(eps, "Endpoints", func(e *corev1.Endpoints) (time.Time, bool) {
		return created(e.Namespace, e.Name), true
	})

	var addrs []networkingv1.IngressLoadBalancerIngress
	for _, node := range table.Nodes {
		if node.Ready && node.Address.IsValid() {
			addrs = append(addrs, networkingv1.IngressLoadBalancerIngress{IP: node.Address.String()})
		}
	}
	n.Ingresses = withStatus(manifests.Of[*networkingv1.Ingress](in.Desired), "Ingress", func(ing *networkingv1.Ingress) (time.Time, bool) {
		ing.Status.LoadBalancer.Ingress = slices.Clone(addrs)
		return time.Time{}, true
	})

	sortObjects(n.Services)
	sortObjects(n.Endpoints)
	sortObjects(n.Ingresses)
	return n
}

// routeService adds to a copy of a desired Service what the routing table
// allocated it.
func routeService(s *corev1.Service, r *services.Service) {
	switch {
	case r.Headless:
		s.Spec.ClusterIPs = []string{corev1.ClusterIPNone}
	case r.ClusterIP.IsValid():
		ip := r.ClusterIP.String()
		s.Spec.ClusterIP, s.Spec.ClusterIPs = ip, []string{ip}
		family := corev1.IPv4Protocol
		if r.ClusterIP.Is6() {
			family = corev1.IPv6Protocol
		}
		s.Spec.IPFamilies = []corev1.IPFamily{family}
		if s.Spec.IPFamilyPolicy == nil {
			single := corev1.IPFamilyPolicySingleStack
			s.Spec.IPFamilyPolicy = &single
		}
	}
	for i := range s.Spec.Ports {
		p := &s.Spec.Ports[i]
		for _, rp := range r.Ports {
			if rp.Protocol == p.Protocol && rp.Port == p.Port {
				p.NodePort = rp.NodePort
			}
		}
	}
	s.Spec.HealthCheckNodePort = r.HealthCheckNodePort
	s.Status = r.Status()
}

// endpointsFor is the Endpoints object of a Service with a selector, made
// from its routing table entry r (nil: no endpoints) as Network says.
func endpointsFor(s *corev1.Service, r *services.Service) *corev1.Endpoints {
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name, Labels: maps.Clone(s.Labels)}}
	if s.Spec.ClusterIP == corev1.ClusterIPNone {
		if ep.Labels == nil {
			ep.Labels = map[string]string{}
		}
		ep.Labels[corev1.IsHeadlessService] = ""
	}
	if r == nil {
		return ep
	}
	subset := map[string]int{} // a set of ports -> its subset's index
	for _, e := range r.Endpoints {
		var ports []corev1.EndpointPort
		var set strings.Builder
		for _, sp := range s.Spec.Ports {
			if port, ok := e.Ports[sp.Name]; ok {
				ports = append(ports, corev1.EndpointPort{Name: sp.Name, Port: port, Protocol: sp.Protocol, AppProtocol: sp.AppProtocol})
				fmt.Fprintf(&set, "%s/%d/%s,", sp.Name, port, sp.Protocol)
			}
		}
		i, ok := subset[set.String()]
		if !ok {
			i = len(ep.Subsets)
			subset[set.String()] = i
			ep.Subsets = append(ep.Subsets, corev1.EndpointSubset{Ports: ports})
		}
		addr := corev1.EndpointAddress{IP: e.IP.String(), Hostname: e.Hostname}
		if e.Node != "" {
			node := e.Node
			addr.NodeName = &node
		}
		if e.Pod != "" {
			addr.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: s.Namespace, Name: e.Pod}
		}
		sub := &ep.Subsets[i]
		if e.Ready || s.Spec.PublishNotReadyAddresses {
			sub.Addresses = append(sub.Addresses, addr)
		} else {
			sub.NotReadyAddresses = append(sub.NotReadyAddresses, addr)
		}
	}
	return ep
}
