package network

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Ref names a namespaced object: a pod or a NetworkPolicy.
type Ref struct {
	Namespace string
	Name      string
}

// String renders the reference as namespace/name.
func (r Ref) String() string { return r.Namespace + "/" + r.Name }

// IsZero reports whether r names nothing.
func (r Ref) IsZero() bool { return r == Ref{} }

// compare orders references by namespace, then name.
func (r Ref) compare(o Ref) int {
	if c := strings.Compare(r.Namespace, o.Namespace); c != 0 {
		return c
	}
	return strings.Compare(r.Name, o.Name)
}

// Pod is what network policy needs to know of a pod. An empty Namespace is
// "default".
type Pod struct {
	Namespace string
	Name      string
	Labels    map[string]string
	// IP is the pod's address (status.podIP); a pod without a valid IP is
	// selectable but no connection is ever its.
	IP netip.Addr
	// HostIPs are the addresses of the node the pod runs on (status.hostIPs,
	// plus the node's address on the pod bridge): connections between the
	// pod and them are always allowed.
	HostIPs []netip.Addr
	// HostNetwork pods share their node's network: network policy neither
	// selects nor matches them (see the package documentation).
	HostNetwork bool
	// Ports are the container ports of the pod, by which named ports in
	// policies are resolved. An empty Protocol is TCP.
	Ports []corev1.ContainerPort
}

// PodOf reads a Pod from a Kubernetes pod: metadata, status.podIP,
// status.hostIPs (or hostIP), spec.hostNetwork and the ports of
// spec.containers (the containers whose named ports Kubernetes resolves for
// Services too). Addresses that do not parse are left out.
func PodOf(p *corev1.Pod) Pod {
	out := Pod{
		Namespace:   p.Namespace,
		Name:        p.Name,
		Labels:      p.Labels,
		HostNetwork: p.Spec.HostNetwork,
	}
	out.IP, _ = netip.ParseAddr(p.Status.PodIP)
	hosts := p.Status.HostIPs
	if len(hosts) == 0 && p.Status.HostIP != "" {
		hosts = []corev1.HostIP{{IP: p.Status.HostIP}}
	}
	for _, h := range hosts {
		if a, err := netip.ParseAddr(h.IP); err == nil {
			out.HostIPs = append(out.HostIPs, a)
		}
	}
	for _, c := range p.Spec.Containers {
		out.Ports = append(out.Ports, c.Ports...)
	}
	return out
}

// Input is everything a Set is compiled from.
type Input struct {
	// Policies are the NetworkPolicies of every namespace; an empty namespace
	// is "default". They are read, never changed or kept.
	Policies []*networkingv1.NetworkPolicy
	// Pods are the cluster's pods. Pod IPs are expected to be unique; when
	// two pods claim one, the first in namespace/name order has it.
	Pods []Pod
	// Namespaces are the Namespace objects of the desired state, for their
	// labels. Namespaces that pods or policies use need no object.
	Namespaces []*corev1.Namespace
}

// Set is the compiled form of an Input: which pods each policy isolates, in
// each direction, and the pods and addresses each rule's peers match. It is
// immutable and safe for concurrent use. A nil *Set has no policies: it
// allows every connection.
type Set struct {
	policies int
	pods     []pod
	// v4 and v6 find pods by address (IPv4 addresses by their 32 bits, the
	// fastest map key).
	v4 map[uint32]int32
	v6 map[[16]byte]int32
}

// pod is a compiled pod.
type pod struct {
	ref     Ref
	hostIPs []netip.Addr
	ports   []namedPort
	// in and out are what isolates the pod for ingress and egress, nil when
	// nothing does.
	in, out *isolation
}

// isolation is the policies that isolate pods in one direction (a policy
// without rules isolates too), with their rules in policy order
// (namespace/name, then rule order). Pods that the same policies select
// share one isolation.
type isolation struct {
	policies []Ref
	rules    []*rule
}

// compiled is a compiled policy: the directions it applies to, with their
// rules.
type compiled struct {
	ref             Ref
	ingress, egress bool
	in, out         []*rule
}

// namedPort is a container port that has a name.
type namedPort struct {
	name  string
	proto corev1.Protocol
	port  int32
}

// rule is one compiled ingress or egress rule.
type rule struct {
	policy Ref
	index  int
	// anyPeer: from/to is empty. Otherwise pods holds the pods that the
	// selector peers match and blocks the ipBlock peers.
	anyPeer bool
	pods    bitset
	blocks  []block
	// anyPort: ports is empty. Otherwise the traffic must match one of ports.
	anyPort bool
	ports   []portRange
}

// block is a compiled ipBlock.
type block struct {
	cidr   netip.Prefix
	except []netip.Prefix
}

func (b block) contains(a netip.Addr) bool {
	if !b.cidr.Contains(a) {
		return false
	}
	for _, e := range b.except {
		if e.Contains(a) {
			return false
		}
	}
	return true
}

// portRange is a compiled NetworkPolicyPort: a protocol with every port, a
// range lo..hi, or a named port.
type portRange struct {
	proto  corev1.Protocol
	all    bool
	lo, hi int32
	name   string
}

// bitset is a set of pod indices.
type bitset []uint64

func (b bitset) add(i int32)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) has(i int32) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }

// world is what New knows while compiling: pods by namespace and the
// namespaces' labels.
type world struct {
	pods        []Pod
	byNamespace map[string][]int32
	nsLabels    map[string]labels.Set
	nsNames     []string // sorted
}

// New compiles the input. Policies apply in namespace/name order, which
// decides which policy a Verdict names when several allow a connection.
func New(in Input) *Set {
	w := newWorld(in)
	s := &Set{policies: len(in.Policies), pods: make([]pod, len(w.pods)), v4: map[uint32]int32{}, v6: map[[16]byte]int32{}}
	for i, p := range w.pods {
		s.pods[i] = pod{ref: Ref{p.Namespace, p.Name}, hostIPs: unmapAll(p.HostIPs), ports: namedPorts(p.Ports)}
		if s.lookup(p.IP.Unmap()) < 0 {
			s.index(p.IP.Unmap(), int32(i))
		}
	}
	policies := slices.Clone(in.Policies)
	slices.SortFunc(policies, func(a, b *networkingv1.NetworkPolicy) int {
		return Ref{namespaceOf(a.Namespace), a.Name}.compare(Ref{namespaceOf(b.Namespace), b.Name})
	})
	compiledPolicies := make([]compiled, len(policies))
	// isolatedIn[i] and isolatedOut[i] list the policies isolating pod i.
	isolatedIn, isolatedOut := make([][]int32, len(w.pods)), make([][]int32, len(w.pods))
	for k, np := range policies {
		c := compilePolicy(w, np)
		compiledPolicies[k] = c
		if !c.ingress && !c.egress {
			continue
		}
		for _, i := range w.selected(c.ref.Namespace, &np.Spec.PodSelector) {
			if c.ingress {
				isolatedIn[i] = append(isolatedIn[i], int32(k))
			}
			if c.egress {
				isolatedOut[i] = append(isolatedOut[i], int32(k))
			}
		}
	}
	ins, outs := isolations{}, isolations{}
	for i := range s.pods {
		s.pods[i].in = ins.get(isolatedIn[i], compiledPolicies, func(c *compiled) []*rule { return c.in })
		s.pods[i].out = outs.get(isolatedOut[i], compiledPolicies, func(c *compiled) []*rule { return c.out })
	}
	return s
}

// index records that the pod at ip is pods[i]; an invalid ip is no pod's.
func (s *Set) index(ip netip.Addr, i int32) {
	switch {
	case ip.Is4():
		s.v4[v4key(ip)] = i
	case ip.Is6():
		s.v6[ip.As16()] = i
	}
}

// lookup returns the index of the pod at ip, or -1.
func (s *Set) lookup(ip netip.Addr) int32 {
	i, ok := int32(0), false
	switch {
	case ip.Is4():
		i, ok = s.v4[v4key(ip)]
	case ip.Is6():
		i, ok = s.v6[ip.As16()]
	}
	if !ok {
		return -1
	}
	return i
}

func v4key(ip netip.Addr) uint32 {
	a := ip.As4()
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// isolations interns isolation values by the policies they are made of.
type isolations map[string]*isolation

// get returns the isolation made of the policies with indices ks (nil when
// there are none), with rules from each policy's direction.
func (m isolations) get(ks []int32, policies []compiled, rules func(*compiled) []*rule) *isolation {
	if len(ks) == 0 {
		return nil
	}
	key := make([]byte, 0, 4*len(ks))
	for _, k := range ks {
		key = binary.LittleEndian.AppendUint32(key, uint32(k))
	}
	if iso, ok := m[string(key)]; ok {
		return iso
	}
	iso := &isolation{}
	for _, k := range ks {
		iso.policies = append(iso.policies, policies[k].ref)
		iso.rules = append(iso.rules, rules(&policies[k])...)
	}
	m[string(key)] = iso
	return iso
}

// newWorld keeps the pods that network policy sees, sorted by
// namespace/name, and gathers the namespaces' labels.
func newWorld(in Input) *world {
	w := &world{byNamespace: map[string][]int32{}, nsLabels: map[string]labels.Set{}}
	for _, p := range in.Pods {
		if !p.HostNetwork {
			p.Namespace = namespaceOf(p.Namespace)
			w.pods = append(w.pods, p)
		}
	}
	slices.SortStableFunc(w.pods, func(a, b Pod) int {
		return Ref{a.Namespace, a.Name}.compare(Ref{b.Namespace, b.Name})
	})
	for i, p := range w.pods {
		w.byNamespace[p.Namespace] = append(w.byNamespace[p.Namespace], int32(i))
	}
	for _, ns := range in.Namespaces {
		l := labels.Set{}
		for k, v := range ns.Labels {
			l[k] = v
		}
		w.nsLabels[ns.Name] = l
	}
	used := make([]string, 0, len(w.byNamespace)+len(in.Policies))
	for ns := range w.byNamespace {
		used = append(used, ns)
	}
	for _, np := range in.Policies {
		used = append(used, namespaceOf(np.Namespace))
	}
	for _, ns := range used {
		if w.nsLabels[ns] == nil {
			w.nsLabels[ns] = labels.Set{}
		}
	}
	for ns, l := range w.nsLabels {
		l[corev1.LabelMetadataName] = ns
		w.nsNames = append(w.nsNames, ns)
	}
	slices.Sort(w.nsNames)
	return w
}

// compilePolicy compiles the rules of the directions a policy applies to.
func compilePolicy(w *world, np *networkingv1.NetworkPolicy) compiled {
	c := compiled{ref: Ref{namespaceOf(np.Namespace), np.Name}}
	c.ingress, c.egress = policyTypes(&np.Spec)
	if c.ingress {
		for i := range np.Spec.Ingress {
			r := &np.Spec.Ingress[i]
			c.in = append(c.in, compileRule(w, c.ref, i, r.From, r.Ports))
		}
	}
	if c.egress {
		for i := range np.Spec.Egress {
			r := &np.Spec.Egress[i]
			c.out = append(c.out, compileRule(w, c.ref, i, r.To, r.Ports))
		}
	}
	return c
}

// selected returns the pods of namespace ns that a policy's podSelector
// selects. A selector that does not parse selects them all: a broken
// policy fails closed.
func (w *world) selected(ns string, podSelector *metav1.LabelSelector) []int32 {
	sel, err := metav1.LabelSelectorAsSelector(podSelector)
	if err != nil {
		sel = labels.Everything()
	}
	var out []int32
	for _, i := range w.byNamespace[ns] {
		if sel.Matches(labels.Set(w.pods[i].Labels)) {
			out = append(out, i)
		}
	}
	return out
}

// policyTypes returns the directions a policy applies to: its policyTypes,
// or when empty the API server's default (Ingress, and Egress when it has
// egress rules).
func policyTypes(spec *networkingv1.NetworkPolicySpec) (ingress, egress bool) {
	if len(spec.PolicyTypes) == 0 {
		return true, len(spec.Egress) > 0
	}
	for _, t := range spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

// compileRule compiles the peers and ports of one rule of policy ref.
func compileRule(w *world, ref Ref, index int, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) *rule {
	r := &rule{policy: ref, index: index, anyPeer: len(peers) == 0, anyPort: len(ports) == 0}
	for i := range peers {
		peer := &peers[i]
		if peer.IPBlock != nil {
			if b, ok := compileBlock(peer.IPBlock); ok {
				r.blocks = append(r.blocks, b)
			}
			continue
		}
		if r.pods == nil {
			r.pods = make(bitset, (len(w.pods)+63)/64)
		}
		w.selectPeers(r.pods, ref.Namespace, peer)
	}
	for _, p := range ports {
		r.ports = append(r.ports, compilePort(p))
	}
	return r
}

// selectPeers adds to set the pods that a selector peer of a policy in
// namespace ns matches. A peer with neither selector matches nothing
// (validation refuses it), and so does a selector that does not parse.
func (w *world) selectPeers(set bitset, ns string, peer *networkingv1.NetworkPolicyPeer) {
	if peer.PodSelector == nil && peer.NamespaceSelector == nil {
		return
	}
	podSel := labels.Everything()
	if peer.PodSelector != nil {
		var err error
		if podSel, err = metav1.LabelSelectorAsSelector(peer.PodSelector); err != nil {
			return
		}
	}
	namespaces := []string{ns}
	if peer.NamespaceSelector != nil {
		nsSel, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
		if err != nil {
			return
		}
		namespaces = namespaces[:0]
		for _, n := range w.nsNames {
			if nsSel.Matches(w.nsLabels[n]) {
				namespaces = append(namespaces, n)
			}
		}
	}
	for _, n := range namespaces {
		for _, i := range w.byNamespace[n] {
			if podSel.Matches(labels.Set(w.pods[i].Labels)) {
				set.add(i)
			}
		}
	}
}

// compileBlock parses an ipBlock; ok is false when its cidr does not parse.
// An except entry that does not parse is kept as a prefix that excludes the
// whole block, so that a bad exception never widens the block.
func compileBlock(b *networkingv1.IPBlock) (block, bool) {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return block{}, false
	}
	out := block{cidr: cidr.Masked()}
	for _, e := range b.Except {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			p = out.cidr
		}
		out.except = append(out.except, p.Masked())
	}
	return out, true
}

// compilePort compiles one NetworkPolicyPort. A port number outside 1..65535
// (or an endPort below port) is a range that matches nothing.
func compilePort(p networkingv1.NetworkPolicyPort) portRange {
	out := portRange{proto: corev1.ProtocolTCP}
	if p.Protocol != nil {
		out.proto = *p.Protocol
	}
	switch {
	case p.Port == nil:
		out.all = true
	case p.Port.Type == intstr.String:
		out.name = p.Port.StrVal
	default:
		out.lo, out.hi = p.Port.IntVal, p.Port.IntVal
		if p.EndPort != nil {
			out.hi = *p.EndPort
		}
		if out.lo < 1 || out.hi > 65535 {
			out.lo, out.hi = 1, 0
		}
	}
	return out
}

// namedPorts keeps the container ports that have a name.
func namedPorts(ports []corev1.ContainerPort) []namedPort {
	var out []namedPort
	for _, p := range ports {
		if p.Name == "" {
			continue
		}
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		out = append(out, namedPort{name: p.Name, proto: proto, port: p.ContainerPort})
	}
	return out
}

func unmapAll(addrs []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.Unmap())
	}
	return out
}

func namespaceOf(ns string) string {
	if ns == "" {
		return metav1.NamespaceDefault
	}
	return ns
}
