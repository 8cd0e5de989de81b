package reconciler

import (
	"maps"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/reconciler/services"
)

// Networking is the cluster's Service networking configuration, the same
// on every node (shoal agent flags).
type Networking struct {
	// ServiceCIDR is where cluster IPs come from
	// (services.DefaultServiceCIDR when invalid).
	ServiceCIDR netip.Prefix
	// NodePortRange is where node ports come from
	// (services.DefaultNodePortRange when zero).
	NodePortRange services.PortRange
	// LoadBalancerPool is where LoadBalancer addresses come from.
	LoadBalancerPool []netip.Prefix
	// ClusterDomain is the DNS domain (services.DefaultClusterDomain when
	// empty).
	ClusterDomain string
}

// Allocations are the ledger's Service address and port allocations
// (package services).
type Allocations struct {
	ClusterIPs map[string]netip.Addr
	// ClusterIPTimes are when the cluster IPs were allocated, for the
	// records that say.
	ClusterIPTimes  map[string]time.Time
	NodePorts       map[string]int32
	LoadBalancerIPs map[string]netip.Addr
}

// computeRoutes runs services.Compute over the desired Services,
// Endpoints, Ingresses, NetworkPolicies and Namespaces, the pods live
// nodes report and the live nodes with their pod CIDRs (those recorded and
// those allocated in this plan). A node's address is its InternalIP, else
// Input's NodeReport.Address.
func computeRoutes(in Input, plan *Plan) services.Plan {
	var memo *routesMemo
	if in.Memo != nil && in.Memo.routes != nil && in.Memo.routes.set == in.Desired {
		memo = in.Memo.routes
	}
	var sin services.Input
	if memo != nil {
		// The same desired Set: the same objects (a Set's objects never
		// change), so the lists it gave are still right.
		sin = memo.in
		sin.Pods, sin.Nodes = nil, nil
	} else {
		sin = services.Input{
			Services:  manifests.Of[*corev1.Service](in.Desired),
			Endpoints: manifests.Of[*corev1.Endpoints](in.Desired),
			Ingresses: manifests.Of[*networkingv1.Ingress](in.Desired),
			// With a NetworkPolicy, the table carries the policy inputs
			// too (services.Policy): the policies, Namespace labels and
			// the pods below, with their nodes' addresses.
			NetworkPolicies: manifests.Of[*networkingv1.NetworkPolicy](in.Desired),
			Namespaces:      manifests.Of[*corev1.Namespace](in.Desired),
			Secret: func(ns, name string) *corev1.Secret {
				s, _ := in.Desired.Get("Secret", ns, name).(*corev1.Secret)
				return s
			},
		}
	}
	sin.ServiceCIDR, sin.NodePortRange = in.Networking.ServiceCIDR, in.Networking.NodePortRange
	sin.LoadBalancerPool, sin.ClusterDomain = in.Networking.LoadBalancerPool, in.Networking.ClusterDomain
	sin.ClusterIPs, sin.NodePorts, sin.LoadBalancerIPs = in.Allocations.ClusterIPs, in.Allocations.NodePorts, in.Allocations.LoadBalancerIPs
	for _, n := range in.Nodes {
		if !n.Live {
			continue
		}
		for i := range n.Pods {
			sin.Pods = append(sin.Pods, &n.Pods[i])
		}
		cidr, ok := in.PodCIDRs[n.Name]
		if !ok {
			cidr = plan.PodCIDRs[n.Name]
		}
		node := services.Node{Name: n.Name, Address: nodeAddress(n)}
		node.PodCIDR, _ = netip.ParsePrefix(cidr)
		node.Ready = n.Info != nil && nodeReady(n.Info)
		sin.Nodes = append(sin.Nodes, node)
	}
	if memo != nil && memo.same(sin) {
		return memo.plan
	}
	out := services.Compute(sin)
	if in.Memo != nil {
		in.Memo.routes = &routesMemo{set: in.Desired, in: sin, plan: out}
	}
	return out
}

// routesMemo is the last routing plan with the input it came from, which
// the desired Set set gave.
type routesMemo struct {
	set  *manifests.Set
	in   services.Input
	plan services.Plan
}

// same reports whether in, made from the same desired Set, would give the
// remembered plan: the same reported pods (objects never change once
// reported), equal nodes, configuration and allocations.
func (r *routesMemo) same(in services.Input) bool {
	o := r.in
	return slices.Equal(o.Pods, in.Pods) && slices.Equal(o.Nodes, in.Nodes) && slices.Equal(o.LoadBalancerPool, in.LoadBalancerPool) &&
		o.ServiceCIDR == in.ServiceCIDR && o.NodePortRange == in.NodePortRange && o.ClusterDomain == in.ClusterDomain &&
		maps.Equal(o.ClusterIPs, in.ClusterIPs) && maps.Equal(o.NodePorts, in.NodePorts) &&
		maps.Equal(o.LoadBalancerIPs, in.LoadBalancerIPs)
}

// nodeAddress is a node's InternalIP from its record, else the address
// gossip knows it by.
func nodeAddress(n NodeReport) netip.Addr {
	if n.Info != nil {
		for _, a := range n.Info.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				if ip, err := netip.ParseAddr(a.Address); err == nil {
					return ip
				}
			}
		}
	}
	return n.Address
}
