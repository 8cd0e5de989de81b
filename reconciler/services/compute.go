package services

import (
	"fmt"
	"hash/fnv"
	"math/big"
	"net/netip"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shoal-run/shoal/reconciler/internal/podstatus"
)

// Defaults.
var (
	// DefaultServiceCIDR is Kubernetes' usual service range.
	DefaultServiceCIDR = netip.MustParsePrefix("10.96.0.0/12")
	// DefaultNodePortRange is Kubernetes' node port range.
	DefaultNodePortRange = PortRange{First: 30000, Last: 32767}
)

// DefaultClusterDomain is the DNS domain of the cluster.
const DefaultClusterDomain = "cluster.local"

// QuarantineLabel marks a pod taken out of its controller and its
// Services (reconciler.QuarantineLabel).
const QuarantineLabel = "shoal.run/quarantined"

// Input is everything Compute needs; it is not modified.
type Input struct {
	Services  []*corev1.Service
	Endpoints []*corev1.Endpoints
	Ingresses []*networkingv1.Ingress
	// Secret looks up a Secret of the desired state (for Ingress TLS);
	// nil finds none.
	Secret func(namespace, name string) *corev1.Secret
	// Pods are the pods live nodes report, with spec.nodeName and status.
	Pods []*corev1.Pod
	// Nodes are the live nodes.
	Nodes []Node
	// NetworkPolicies and Namespaces are the desired NetworkPolicies and
	// Namespace objects: with at least one policy, Table.Policy carries
	// them with Pods for the nodes to enforce (see Policy).
	NetworkPolicies []*networkingv1.NetworkPolicy
	Namespaces      []*corev1.Namespace
	// ServiceCIDR, NodePortRange and ClusterDomain default to
	// DefaultServiceCIDR, DefaultNodePortRange and DefaultClusterDomain.
	ServiceCIDR   netip.Prefix
	NodePortRange PortRange
	ClusterDomain string
	// LoadBalancerPool is where LoadBalancer addresses come from; empty
	// leaves LoadBalancers without one (Errors says so).
	LoadBalancerPool []netip.Prefix
	// ClusterIPs, NodePorts and LoadBalancerIPs are the ledger's
	// allocations: by "namespace/name" for addresses, by NodePortKey for
	// node ports.
	ClusterIPs      map[string]netip.Addr
	NodePorts       map[string]int32
	LoadBalancerIPs map[string]netip.Addr
}

// Plan is what Compute decided. Every map is non-nil.
type Plan struct {
	Table Table
	// ClusterIPs, NodePorts and LoadBalancerIPs are allocations to record
	// (new or changed).
	ClusterIPs      map[string]netip.Addr
	NodePorts       map[string]int32
	LoadBalancerIPs map[string]netip.Addr
	// Release* are the ledger keys of allocations no longer in use, sorted.
	ReleaseClusterIPs      []string
	ReleaseNodePorts       []string
	ReleaseLoadBalancerIPs []string
	// Errors are problems with single objects, by "Kind/namespace/name".
	Errors map[string]string
}

// NodePortKey is the ledger key of a Service port's node port; port is
// "healthz" for the health-check node port.
func NodePortKey(namespace, name string, proto corev1.Protocol, port string) string {
	if port == "healthz" {
		return namespace + "/" + name + "/healthz"
	}
	return namespace + "/" + name + "/" + string(proto) + "/" + port
}

// Compute builds the routing table and the allocations it needs.
func Compute(in Input) Plan {
	if !in.ServiceCIDR.IsValid() {
		in.ServiceCIDR = DefaultServiceCIDR
	}
	if in.NodePortRange.First == 0 {
		in.NodePortRange = DefaultNodePortRange
	}
	if in.ClusterDomain == "" {
		in.ClusterDomain = DefaultClusterDomain
	}
	c := &computer{in: in, plan: Plan{
		ClusterIPs: map[string]netip.Addr{}, NodePorts: map[string]int32{}, LoadBalancerIPs: map[string]netip.Addr{},
		Errors: map[string]string{},
	}}
	c.plan.Table = Table{ServiceCIDR: in.ServiceCIDR, ClusterDomain: in.ClusterDomain, NodePortRange: in.NodePortRange}
	c.plan.Table.Nodes = append([]Node(nil), in.Nodes...)
	sort.Slice(c.plan.Table.Nodes, func(i, j int) bool { return c.plan.Table.Nodes[i].Name < c.plan.Table.Nodes[j].Name })

	svcs := append([]*corev1.Service(nil), in.Services...)
	sort.Slice(svcs, func(i, j int) bool {
		return key(svcs[i].Namespace, svcs[i].Name) < key(svcs[j].Namespace, svcs[j].Name)
	})
	c.clusterIPs(svcs)
	c.nodePorts(svcs)
	c.loadBalancerIPs(svcs)
	for _, s := range svcs {
		if out, ok := c.service(s); ok {
			c.plan.Table.Services = append(c.plan.Table.Services, out)
		}
	}
	c.announce()
	c.ingresses()
	c.plan.Table.Policy = c.policy()
	return c.plan
}

type computer struct {
	in   Input
	plan Plan
	// pods indexes the usable pods (an IP, not ended, not quarantined)
	// by namespace, then by "label=value".
	pods map[string]map[string][]*corev1.Pod
	ips  map[string]netip.Addr // service key -> cluster IP in force
	np   map[string]int32      // node port key -> port in force
	lbs  map[string]netip.Addr // service key -> load balancer IP in force
}

func key(namespace, name string) string { return namespace + "/" + name }

func svcError(s *corev1.Service) string { return "Service/" + s.Namespace + "/" + s.Name }

// wantsClusterIP reports whether a Service gets a cluster IP.
func wantsClusterIP(s *corev1.Service) bool {
	return s.Spec.Type != corev1.ServiceTypeExternalName && s.Spec.ClusterIP != corev1.ClusterIPNone
}

// clusterIPs keeps the ledger's cluster IPs, takes the ones the specs
// give, and allocates the rest.
func (c *computer) clusterIPs(svcs []*corev1.Service) {
	c.ips = map[string]netip.Addr{}
	used := map[netip.Addr]string{}
	// Ledger allocations stand, unless the spec asks for another address.
	for _, s := range svcs {
		k := key(s.Namespace, s.Name)
		ip, ok := c.in.ClusterIPs[k]
		if !ok || !wantsClusterIP(s) || !c.in.ServiceCIDR.Contains(ip) {
			continue
		}
		if want := s.Spec.ClusterIP; want != "" && want != ip.String() {
			continue
		}
		c.ips[k], used[ip] = ip, k
	}
	for _, s := range svcs {
		k := key(s.Namespace, s.Name)
		if _, ok := c.ips[k]; ok || !wantsClusterIP(s) || s.Spec.ClusterIP == "" {
			continue
		}
		ip, err := netip.ParseAddr(s.Spec.ClusterIP)
		switch {
		case err != nil:
			c.plan.Errors[svcError(s)] = fmt.Sprintf("spec.clusterIP %q is not an IP address", s.Spec.ClusterIP)
		case !c.in.ServiceCIDR.Contains(ip):
			c.plan.Errors[svcError(s)] = fmt.Sprintf("spec.clusterIP %s is not in the service range %s: leave it empty for one to be allocated, or pick one in the range", ip, c.in.ServiceCIDR)
		case used[ip] != "":
			c.plan.Errors[svcError(s)] = fmt.Sprintf("spec.clusterIP %s is already allocated to Service %s: pick another or leave it empty", ip, used[ip])
		default:
			c.ips[k], used[ip] = ip, k
			c.plan.ClusterIPs[k] = ip
		}
	}
	for _, s := range svcs {
		k := key(s.Namespace, s.Name)
		if _, ok := c.ips[k]; ok || !wantsClusterIP(s) || s.Spec.ClusterIP != "" {
			continue
		}
		ip, ok := pickAddr(c.in.ServiceCIDR, k, func(a netip.Addr) bool { return used[a] == "" })
		if !ok {
			c.plan.Errors[svcError(s)] = fmt.Sprintf("no free cluster IP in the service range %s", c.in.ServiceCIDR)
			continue
		}
		c.ips[k], used[ip] = ip, k
		c.plan.ClusterIPs[k] = ip
	}
	for k := range c.in.ClusterIPs {
		if _, ok := c.ips[k]; !ok {
			c.plan.ReleaseClusterIPs = append(c.plan.ReleaseClusterIPs, k)
		} else if c.ips[k] == c.in.ClusterIPs[k] {
			delete(c.plan.ClusterIPs, k)
		}
	}
	sort.Strings(c.plan.ReleaseClusterIPs)
}

// pickAddr returns the address of prefix that seed hashes to, or the next
// free one (free says), skipping the prefix's first and last addresses.
func pickAddr(prefix netip.Prefix, seed string, free func(netip.Addr) bool) (netip.Addr, bool) {
	prefix = prefix.Masked()
	bits := prefix.Addr().BitLen() - prefix.Bits()
	if bits < 2 {
		return netip.Addr{}, false
	}
	size := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	usable := new(big.Int).Sub(size, big.NewInt(2))
	h := fnv.New64a()
	h.Write([]byte(seed))
	start := new(big.Int).Mod(new(big.Int).SetUint64(h.Sum64()), usable)
	base := new(big.Int).SetBytes(prefix.Addr().AsSlice())
	n := usable.Int64()
	if !usable.IsInt64() || n > 1<<24 {
		n = 1 << 24 // a range that large never fills up
	}
	for i := int64(0); i < n; i++ {
		off := new(big.Int).Mod(new(big.Int).Add(start, big.NewInt(i)), usable)
		v := new(big.Int).Add(base, off)
		v.Add(v, big.NewInt(1))
		b := v.FillBytes(make([]byte, len(prefix.Addr().AsSlice())))
		a, _ := netip.AddrFromSlice(b)
		if free(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// wantsNodePorts reports whether a Service's ports get node ports.
func wantsNodePorts(s *corev1.Service) bool {
	switch s.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		return s.Spec.AllocateLoadBalancerNodePorts == nil || *s.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

func wantsHealthCheck(s *corev1.Service) bool {
	return s.Spec.Type == corev1.ServiceTypeLoadBalancer && s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

// portKeys lists a Service's node port keys with the port each spec asks
// for (0: any).
func portKeys(s *corev1.Service) (keys []string, asked []int32) {
	if wantsNodePorts(s) {
		for _, p := range s.Spec.Ports {
			keys = append(keys, NodePortKey(s.Namespace, s.Name, p.Protocol, strconv.Itoa(int(p.Port))))
			asked = append(asked, p.NodePort)
		}
	}
	if wantsHealthCheck(s) {
		keys = append(keys, NodePortKey(s.Namespace, s.Name, "", "healthz"))
		asked = append(asked, s.Spec.HealthCheckNodePort)
	}
	return keys, asked
}

// nodePorts allocates node ports as clusterIPs allocates addresses: the
// ledger's stand, then the specs', then the rest. A node port is taken per
// port number: TCP and UDP ports of one Service may share one.
func (c *computer) nodePorts(svcs []*corev1.Service) {
	c.np = map[string]int32{}
	used := map[int32]string{} // node port -> service key
	r := c.in.NodePortRange
	take := func(k, svc string, p int32) { c.np[k], used[p] = p, svc }
	for _, s := range svcs {
		keys, asked := portKeys(s)
		for i, k := range keys {
			p, ok := c.in.NodePorts[k]
			if ok && r.Contains(p) && (asked[i] == 0 || asked[i] == p) && (used[p] == "" || used[p] == key(s.Namespace, s.Name)) {
				take(k, key(s.Namespace, s.Name), p)
			}
		}
	}
	for _, s := range svcs {
		keys, asked := portKeys(s)
		for i, k := range keys {
			if _, ok := c.np[k]; ok || asked[i] == 0 {
				continue
			}
			p, sk := asked[i], key(s.Namespace, s.Name)
			switch {
			case !r.Contains(p):
				c.plan.Errors[svcError(s)] = fmt.Sprintf("node port %d is not in the node port range %d-%d", p, r.First, r.Last)
			case used[p] != "" && used[p] != sk:
				c.plan.Errors[svcError(s)] = fmt.Sprintf("node port %d is already allocated to Service %s", p, used[p])
			default:
				take(k, sk, p)
				c.plan.NodePorts[k] = p
			}
		}
	}
	for _, s := range svcs {
		keys, asked := portKeys(s)
		for i, k := range keys {
			if _, ok := c.np[k]; ok || asked[i] != 0 {
				continue
			}
			p, ok := pickPort(r, k, func(p int32) bool { return used[p] == "" })
			if !ok {
				c.plan.Errors[svcError(s)] = fmt.Sprintf("no free node port in %d-%d", r.First, r.Last)
				continue
			}
			take(k, key(s.Namespace, s.Name), p)
			c.plan.NodePorts[k] = p
		}
	}
	for k, p := range c.in.NodePorts {
		if got, ok := c.np[k]; !ok {
			c.plan.ReleaseNodePorts = append(c.plan.ReleaseNodePorts, k)
		} else if got == p {
			delete(c.plan.NodePorts, k)
		}
	}
	sort.Strings(c.plan.ReleaseNodePorts)
}

func pickPort(r PortRange, seed string, free func(int32) bool) (int32, bool) {
	n := r.Last - r.First + 1
	h := fnv.New32a()
	h.Write([]byte(seed))
	start := int32(h.Sum32() % uint32(n))
	for i := int32(0); i < n; i++ {
		p := r.First + (start+i)%n
		if free(p) {
			return p, true
		}
	}
	return 0, false
}

// loadBalancerIPs allocates LoadBalancer addresses from the pool.
func (c *computer) loadBalancerIPs(svcs []*corev1.Service) {
	c.lbs = map[string]netip.Addr{}
	used := map[netip.Addr]string{}
	inPool := func(a netip.Addr) bool {
		for _, p := range c.in.LoadBalancerPool {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	var lbs []*corev1.Service
	for _, s := range svcs {
		if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
			lbs = append(lbs, s)
		}
	}
	for _, s := range lbs {
		k := key(s.Namespace, s.Name)
		ip, ok := c.in.LoadBalancerIPs[k]
		if ok && inPool(ip) && (s.Spec.LoadBalancerIP == "" || s.Spec.LoadBalancerIP == ip.String()) {
			c.lbs[k], used[ip] = ip, k
		}
	}
	for _, s := range lbs {
		k := key(s.Namespace, s.Name)
		if _, ok := c.lbs[k]; ok || s.Spec.LoadBalancerIP == "" {
			continue
		}
		ip, err := netip.ParseAddr(s.Spec.LoadBalancerIP)
		switch {
		case err != nil || !inPool(ip):
			c.plan.Errors[svcError(s)] = fmt.Sprintf("spec.loadBalancerIP %q is not an address of the load-balancer pool %v", s.Spec.LoadBalancerIP, c.in.LoadBalancerPool)
		case used[ip] != "":
			c.plan.Errors[svcError(s)] = fmt.Sprintf("spec.loadBalancerIP %s is already allocated to Service %s", ip, used[ip])
		default:
			c.lbs[k], used[ip] = ip, k
			c.plan.LoadBalancerIPs[k] = ip
		}
	}
	for _, s := range lbs {
		k := key(s.Namespace, s.Name)
		if _, ok := c.lbs[k]; ok || s.Spec.LoadBalancerIP != "" {
			continue
		}
		if len(c.in.LoadBalancerPool) == 0 {
			c.plan.Errors[svcError(s)] = "no load-balancer pool is configured (shoal agent --lb-pool): the Service is reached by its node ports only"
			continue
		}
		var got netip.Addr
		for _, p := range c.in.LoadBalancerPool {
			if ip, ok := pickAddr(p, k, func(a netip.Addr) bool { return used[a] == "" }); ok {
				got = ip
				break
			}
		}
		if !got.IsValid() {
			c.plan.Errors[svcError(s)] = fmt.Sprintf("the load-balancer pool %v has no free address", c.in.LoadBalancerPool)
			continue
		}
		c.lbs[k], used[got] = got, k
		c.plan.LoadBalancerIPs[k] = got
	}
	for k, ip := range c.in.LoadBalancerIPs {
		if got, ok := c.lbs[k]; !ok {
			c.plan.ReleaseLoadBalancerIPs = append(c.plan.ReleaseLoadBalancerIPs, k)
		} else if got == ip {
			delete(c.plan.LoadBalancerIPs, k)
		}
	}
	sort.Strings(c.plan.ReleaseLoadBalancerIPs)
}

// service builds one Service's entry; false leaves it out (it wants a
// cluster IP and has none).
func (c *computer) service(s *corev1.Service) (Service, bool) {
	k := key(s.Namespace, s.Name)
	out := Service{Namespace: s.Namespace, Name: s.Name, Type: s.Spec.Type,
		PublishNotReady: s.Spec.PublishNotReadyAddresses}
	switch {
	case s.Spec.Type == corev1.ServiceTypeExternalName:
		out.ExternalName = s.Spec.ExternalName
		return out, true
	case s.Spec.ClusterIP == corev1.ClusterIPNone:
		out.Headless = true
	default:
		ip, ok := c.ips[k]
		if !ok {
			return Service{}, false
		}
		out.ClusterIP = ip
	}
	out.LoadBalancerIP = c.lbs[k]
	for _, e := range s.Spec.ExternalIPs {
		if a, err := netip.ParseAddr(e); err == nil {
			out.ExternalIPs = append(out.ExternalIPs, a)
		}
	}
	for _, p := range s.Spec.Ports {
		port := Port{Name: p.Name, Protocol: p.Protocol, Port: p.Port}
		if p.AppProtocol != nil {
			port.AppProtocol = *p.AppProtocol
		}
		port.NodePort = c.np[NodePortKey(s.Namespace, s.Name, p.Protocol, strconv.Itoa(int(p.Port)))]
		out.Ports = append(out.Ports, port)
	}
	if s.Spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		out.Affinity = time.Duration(corev1.DefaultClientIPServiceAffinitySeconds) * time.Second
		if cfg := s.Spec.SessionAffinityConfig; cfg != nil && cfg.ClientIP != nil && cfg.ClientIP.TimeoutSeconds != nil {
			out.Affinity = time.Duration(*cfg.ClientIP.TimeoutSeconds) * time.Second
		}
	}
	out.ExternalLocal = s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	out.InternalLocal = s.Spec.InternalTrafficPolicy != nil && *s.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
	out.HealthCheckNodePort = c.np[NodePortKey(s.Namespace, s.Name, "", "healthz")]
	if s.Spec.Selector != nil {
		out.Endpoints = c.podEndpoints(s)
	} else {
		out.Endpoints = c.manualEndpoints(s)
	}
	return out, true
}

// indexPods fills c.pods from the input's pods that can be endpoints.
func (c *computer) indexPods() {
	c.pods = map[string]map[string][]*corev1.Pod{}
	for _, p := range c.in.Pods {
		if p.Labels[QuarantineLabel] != "" || p.Status.PodIP == "" ||
			p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || p.DeletionTimestamp != nil {
			continue
		}
		byLabel := c.pods[p.Namespace]
		if byLabel == nil {
			byLabel = map[string][]*corev1.Pod{}
			c.pods[p.Namespace] = byLabel
		}
		byLabel[""] = append(byLabel[""], p)
		for k, v := range p.Labels {
			byLabel[k+"="+v] = append(byLabel[k+"="+v], p)
		}
	}
}

// podEndpoints are the pods a Service's selector picks: those of the
// index entry of its least common label, checked against the rest.
func (c *computer) podEndpoints(s *corev1.Service) []Endpoint {
	if c.pods == nil {
		c.indexPods()
	}
	byLabel := c.pods[s.Namespace]
	candidates := byLabel[""]
	for k, v := range s.Spec.Selector {
		if l := byLabel[k+"="+v]; len(l) < len(candidates) {
			candidates = l
		}
		if len(candidates) == 0 {
			break
		}
	}
	var out []Endpoint
	for _, p := range candidates {
		if !matches(s.Spec.Selector, p.Labels) {
			continue
		}
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil {
			continue
		}
		e := Endpoint{IP: ip, Node: p.Spec.NodeName, Pod: p.Name, Ready: podstatus.Ready(p), Ports: map[string]int32{}}
		if p.Spec.Hostname != "" && p.Spec.Subdomain == s.Name {
			e.Hostname = p.Spec.Hostname
		}
		for _, sp := range s.Spec.Ports {
			if port, ok := targetPort(p, sp.TargetPort, sp.Protocol); ok {
				e.Ports[sp.Name] = port
			}
		}
		if len(e.Ports) == 0 && len(s.Spec.Ports) > 0 {
			continue
		}
		out = append(out, e)
	}
	sortEndpoints(out)
	return out
}

// matches reports whether labels has every key and value of selector
// (an empty selector matches every pod, as in Kubernetes' SelectorFromSet).
func matches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// targetPort resolves a Service port's targetPort on pod p.
func targetPort(p *corev1.Pod, t intstr.IntOrString, proto corev1.Protocol) (int32, bool) {
	if t.Type == intstr.Int {
		return t.IntVal, t.IntVal > 0
	}
	if n, err := strconv.Atoi(t.StrVal); err == nil {
		return int32(n), n > 0
	}
	for _, ctr := range p.Spec.Containers {
		for _, cp := range ctr.Ports {
			pp := cp.Protocol
			if pp == "" {
				pp = corev1.ProtocolTCP
			}
			if cp.Name == t.StrVal && pp == proto {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// manualEndpoints are the repository's Endpoints object of a Service
// without a selector.
func (c *computer) manualEndpoints(s *corev1.Service) []Endpoint {
	var ep *corev1.Endpoints
	for _, e := range c.in.Endpoints {
		if e.Namespace == s.Namespace && e.Name == s.Name {
			ep = e
		}
	}
	if ep == nil {
		return nil
	}
	byIP := map[netip.Addr]*Endpoint{}
	var order []netip.Addr
	for _, sub := range ep.Subsets {
		add := func(a corev1.EndpointAddress, ready bool) {
			ip, err := netip.ParseAddr(a.IP)
			if err != nil {
				return
			}
			e := byIP[ip]
			if e == nil {
				e = &Endpoint{IP: ip, Hostname: a.Hostname, Ready: ready, Ports: map[string]int32{}}
				if a.NodeName != nil {
					e.Node = *a.NodeName
				}
				if a.TargetRef != nil && a.TargetRef.Kind == "Pod" {
					e.Pod = a.TargetRef.Name
				}
				byIP[ip] = e
				order = append(order, ip)
			}
			for _, sp := range s.Spec.Ports {
				for _, ep := range sub.Ports {
					proto := ep.Protocol
					if proto == "" {
						proto = corev1.ProtocolTCP
					}
					if ep.Name == sp.Name && proto == sp.Protocol {
						e.Ports[sp.Name] = ep.Port
					}
				}
			}
		}
		for _, a := range sub.Addresses {
			add(a, true)
		}
		for _, a := range sub.NotReadyAddresses {
			add(a, false)
		}
	}
	out := make([]Endpoint, 0, len(order))
	for _, ip := range order {
		out = append(out, *byIP[ip])
	}
	sortEndpoints(out)
	return out
}

func sortEndpoints(es []Endpoint) {
	sort.Slice(es, func(i, j int) bool {
		if c := es[i].IP.Compare(es[j].IP); c != 0 {
			return c < 0
		}
		return es[i].Pod < es[j].Pod
	})
}

// announce picks each LoadBalancer's announcing node.
func (c *computer) announce() {
	var ready []string
	for _, n := range c.plan.Table.Nodes {
		if n.Ready {
			ready = append(ready, n.Name)
		}
	}
	for i := range c.plan.Table.Services {
		s := &c.plan.Table.Services[i]
		if !s.LoadBalancerIP.IsValid() {
			continue
		}
		candidates := ready
		if s.ExternalLocal {
			local := map[string]bool{}
			for _, e := range s.Endpoints {
				if e.Ready {
					local[e.Node] = true
				}
			}
			var withLocal []string
			for _, n := range ready {
				if local[n] {
					withLocal = append(withLocal, n)
				}
			}
			if len(withLocal) > 0 {
				candidates = withLocal
			}
		}
		s.Announcer = rendezvous(s.Key(), candidates)
	}
}

// rendezvous returns the node with the highest hash of (key, node): the
// choice changes only when that node leaves the candidates.
func rendezvous(key string, nodes []string) string {
	best, bestScore := "", uint64(0)
	for _, n := range nodes {
		h := fnv.New64a()
		h.Write([]byte(key + "\x00" + n))
		if s := h.Sum64(); best == "" || s > bestScore || (s == bestScore && n < best) {
			best, bestScore = n, s
		}
	}
	return best
}

// ingresses resolves every Ingress's backends and TLS secrets.
func (c *computer) ingresses() {
	bySvc := map[string]*Service{}
	for i := range c.plan.Table.Services {
		s := &c.plan.Table.Services[i]
		bySvc[s.Key()] = s
	}
	ings := append([]*networkingv1.Ingress(nil), c.in.Ingresses...)
	sort.Slice(ings, func(i, j int) bool {
		return key(ings[i].Namespace, ings[i].Name) < key(ings[j].Namespace, ings[j].Name)
	})
	for _, ing := range ings {
		errKey := "Ingress/" + ing.Namespace + "/" + ing.Name
		out := Ingress{Namespace: ing.Namespace, Name: ing.Name, Annotations: ing.Annotations}
		if ing.Spec.IngressClassName != nil {
			out.ClassName = *ing.Spec.IngressClassName
		}
		backend := func(b *networkingv1.IngressBackend) *Backend {
			if b == nil || b.Service == nil {
				return nil
			}
			r := &Backend{Service: b.Service.Name, PortName: b.Service.Port.Name, PortNumber: b.Service.Port.Number}
			s := bySvc[key(ing.Namespace, b.Service.Name)]
			if s == nil {
				c.plan.Errors[errKey] = fmt.Sprintf("backend Service %q does not exist in namespace %q", b.Service.Name, ing.Namespace)
				return r
			}
			p, ok := s.Port(r.PortName, r.PortNumber)
			if !ok {
				c.plan.Errors[errKey] = fmt.Sprintf("backend Service %q has no port %s", b.Service.Name, portString(r.PortName, r.PortNumber))
				return r
			}
			for _, e := range s.Endpoints {
				if t, ok := e.Target(p); ok && e.Ready {
					r.Targets = append(r.Targets, t)
				}
			}
			sort.Slice(r.Targets, func(i, j int) bool { return r.Targets[i].Compare(r.Targets[j]) < 0 })
			return r
		}
		out.DefaultBackend = backend(ing.Spec.DefaultBackend)
		for _, rule := range ing.Spec.Rules {
			r := Rule{Host: rule.Host}
			if rule.HTTP != nil {
				for _, p := range rule.HTTP.Paths {
					pt := networkingv1.PathTypeImplementationSpecific
					if p.PathType != nil {
						pt = *p.PathType
					}
					path := Path{Path: p.Path, PathType: pt}
					if b := backend(&p.Backend); b != nil {
						path.Backend = *b
					}
					r.Paths = append(r.Paths, path)
				}
			}
			out.Rules = append(out.Rules, r)
		}
		for _, t := range ing.Spec.TLS {
			tls := TLS{Hosts: t.Hosts, SecretName: t.SecretName}
			var sec *corev1.Secret
			if c.in.Secret != nil && t.SecretName != "" {
				sec = c.in.Secret(ing.Namespace, t.SecretName)
			}
			if sec == nil || len(sec.Data[corev1.TLSCertKey]) == 0 || len(sec.Data[corev1.TLSPrivateKeyKey]) == 0 {
				c.plan.Errors[errKey] = fmt.Sprintf("TLS Secret %q in namespace %q is missing or has no tls.crt and tls.key", t.SecretName, ing.Namespace)
			} else {
				tls.Cert, tls.Key = sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey]
			}
			out.TLS = append(out.TLS, tls)
		}
		c.plan.Table.Ingresses = append(c.plan.Table.Ingresses, out)
	}
}

func portString(name string, number int32) string {
	if name != "" {
		return strconv.Quote(name)
	}
	return strconv.Itoa(int(number))
}

// Status returns a Service's status as Kubernetes reports it: the
// load-balancer ingress address when it has one.
func (s *Service) Status() corev1.ServiceStatus {
	var st corev1.ServiceStatus
	if s.LoadBalancerIP.IsValid() {
		mode := corev1.LoadBalancerIPModeVIP
		st.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: s.LoadBalancerIP.String(), IPMode: &mode}}
	}
	return st
}
