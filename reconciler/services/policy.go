package services

import (
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Policy is what every node needs to judge NetworkPolicy verdicts
// (package policies/network): the policies, the namespaces' labels and the
// pods of the cluster. Compute fills it only when at least one
// NetworkPolicy exists; without one the Table carries none and nothing is
// enforced. Slices are sorted, so equal inputs encode alike.
type Policy struct {
	// NetworkPolicies are the desired NetworkPolicies by namespace and
	// name, with only their namespace, name and spec (labels,
	// annotations and status do not take part in a verdict).
	NetworkPolicies []networkingv1.NetworkPolicy `json:"networkPolicies"`
	// Namespaces are the desired Namespace objects that carry labels
	// besides kubernetes.io/metadata.name (namespaceSelector peers match
	// them), by name. The others, and namespaces without an object, still
	// match by kubernetes.io/metadata.name, which the verdict adds itself.
	Namespaces []NamespaceLabels `json:"namespaces,omitempty"`
	// Pods are the pods live nodes report that hold an address and have
	// not ended (an ended pod's address may already be another pod's), by
	// namespace and name.
	Pods []PolicyPod `json:"pods,omitempty"`
}

// NamespaceLabels is a Namespace's name and labels.
type NamespaceLabels struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// PolicyPod is what a verdict needs to know of one pod.
type PolicyPod struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels,omitempty"`
	// Node is the node that runs the pod.
	Node string     `json:"node,omitempty"`
	IP   netip.Addr `json:"ip"`
	// HostIPs are the pod's node's addresses: status.hostIPs (or
	// hostIP), the node's address in the Table and its pod bridge's
	// address (the first of its pod CIDR), sorted. Connections between
	// the pod and them are always allowed.
	HostIPs     []netip.Addr `json:"hostIPs,omitempty"`
	HostNetwork bool         `json:"hostNetwork,omitempty"`
	// Ports are the container ports of spec.containers that have a name
	// (named ports in policies resolve against them; unnamed ones play no
	// part), with name, containerPort and protocol (TCP when empty) only.
	Ports []corev1.ContainerPort `json:"ports,omitempty"`
}

// Gateway returns the address of a node's pod bridge: the first address
// of its pod CIDR (package nodeagent/podnet), invalid when the CIDR is.
func (n Node) Gateway() netip.Addr {
	if !n.PodCIDR.IsValid() {
		return netip.Addr{}
	}
	return n.PodCIDR.Masked().Addr().Next()
}

// policy builds the Table's Policy from the input: nil when the desired
// state has no NetworkPolicy.
func (c *computer) policy() *Policy {
	if len(c.in.NetworkPolicies) == 0 {
		return nil
	}
	out := &Policy{NetworkPolicies: make([]networkingv1.NetworkPolicy, 0, len(c.in.NetworkPolicies))}
	for _, np := range c.in.NetworkPolicies {
		out.NetworkPolicies = append(out.NetworkPolicies, networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: metav1.ObjectMeta{Namespace: np.Namespace, Name: np.Name},
			Spec:       *np.Spec.DeepCopy(),
		})
	}
	sort.Slice(out.NetworkPolicies, func(i, j int) bool {
		a, b := &out.NetworkPolicies[i], &out.NetworkPolicies[j]
		return key(a.Namespace, a.Name) < key(b.Namespace, b.Name)
	})
	for _, ns := range c.in.Namespaces {
		if hasOwnLabels(ns) {
			out.Namespaces = append(out.Namespaces, NamespaceLabels{Name: ns.Name, Labels: ns.Labels})
		}
	}
	sort.Slice(out.Namespaces, func(i, j int) bool { return out.Namespaces[i].Name < out.Namespaces[j].Name })
	nodes := map[string]Node{}
	for _, n := range c.in.Nodes {
		nodes[n.Name] = n
	}
	for _, p := range c.in.Pods {
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		pp := PolicyPod{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, Node: p.Spec.NodeName,
			IP: ip.Unmap(), HostNetwork: p.Spec.HostNetwork}
		if pp.Namespace == "" {
			pp.Namespace = metav1.NamespaceDefault
		}
		for _, h := range p.Status.HostIPs {
			if a, err := netip.ParseAddr(h.IP); err == nil {
				pp.HostIPs = append(pp.HostIPs, a.Unmap())
			}
		}
		if a, err := netip.ParseAddr(p.Status.HostIP); err == nil {
			pp.HostIPs = append(pp.HostIPs, a.Unmap())
		}
		if n, ok := nodes[p.Spec.NodeName]; ok {
			for _, a := range []netip.Addr{n.Address, n.Gateway()} {
				if a.IsValid() {
					pp.HostIPs = append(pp.HostIPs, a.Unmap())
				}
			}
		}
		slices.SortFunc(pp.HostIPs, netip.Addr.Compare)
		pp.HostIPs = slices.Compact(pp.HostIPs)
		for _, ctr := range p.Spec.Containers {
			for _, port := range ctr.Ports {
				if port.Name == "" {
					continue
				}
				if port.Protocol == "" {
					port.Protocol = corev1.ProtocolTCP
				}
				pp.Ports = append(pp.Ports, corev1.ContainerPort{Name: port.Name, ContainerPort: port.ContainerPort, Protocol: port.Protocol})
			}
		}
		out.Pods = append(out.Pods, pp)
	}
	sort.Slice(out.Pods, func(i, j int) bool {
		a, b := &out.Pods[i], &out.Pods[j]
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c < 0
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.IP.Less(b.IP)
	})
	return out
}

// hasOwnLabels reports whether a Namespace has a label besides
// kubernetes.io/metadata.name=<its name>, which every namespace has.
func hasOwnLabels(ns *corev1.Namespace) bool {
	for k, v := range ns.Labels {
		if k != corev1.LabelMetadataName || v != ns.Name {
			return true
		}
	}
	return false
}
