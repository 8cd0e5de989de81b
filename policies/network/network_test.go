package network

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// policy builds a NetworkPolicy in Go, without the API server's defaults,
// as a caller that does not go through manifests could.
func policy(ns, name string, spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
}

func match(kv ...string) metav1.LabelSelector {
	sel := metav1.LabelSelector{MatchLabels: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		sel.MatchLabels[kv[i]] = kv[i+1]
	}
	return sel
}

func ptr[T any](v T) *T { return &v }

// TestPolicyTypes checks policyTypes on policies that were never defaulted:
// New defaults them as the API server does, and honours explicit ones.
func TestPolicyTypes(t *testing.T) {
	pods := []Pod{testPod("default", "web", "10.1.0.10", "app=web"), testPod("default", "db", "10.1.0.11", "app=db")}
	toDB := []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: ptr(match("app", "db"))}}}}
	fromDB := []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: ptr(match("app", "db"))}}}}
	tests := []struct {
		name         string
		spec         networkingv1.NetworkPolicySpec
		in, out      bool
		webToDB      string
		dbToWeb      string
		webToOutside string
	}{
		{"no policyTypes, ingress rules: [Ingress]", networkingv1.NetworkPolicySpec{PodSelector: match("app", "web"), Ingress: fromDB},
			true, false, "allowed", "allowed ingress:default/p#0", "allowed"},
		{"no policyTypes, egress rules: [Ingress, Egress]", networkingv1.NetworkPolicySpec{PodSelector: match("app", "web"), Egress: toDB},
			true, true, "allowed egress:default/p#0", "denied ingress:denied(default/p)", "denied egress:denied(default/p)"},
		{"no policyTypes, no rules: [Ingress]", networkingv1.NetworkPolicySpec{PodSelector: match("app", "web")},
			true, false, "allowed", "denied ingress:denied(default/p)", "allowed"},
		{"explicit [Egress] ignores ingress rules", networkingv1.NetworkPolicySpec{PodSelector: match("app", "web"), Ingress: fromDB, Egress: toDB,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}},
			false, true, "allowed egress:default/p#0", "allowed", "denied egress:denied(default/p)"},
		{"explicit [Ingress] ignores egress rules", networkingv1.NetworkPolicySpec{PodSelector: match("app", "web"), Ingress: fromDB, Egress: toDB,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
			true, false, "allowed", "allowed ingress:default/p#0", "allowed"},
		{"explicit [Egress] without rules denies all egress", networkingv1.NetworkPolicySpec{PodSelector: match("app", "web"),
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}},
			false, true, "denied egress:denied(default/p)", "allowed", "denied egress:denied(default/p)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := New(Input{Policies: []*networkingv1.NetworkPolicy{policy("default", "p", tt.spec)}, Pods: pods})
			if in, out := set.Selected(pods[0].IP); in != tt.in || out != tt.out {
				t.Errorf("Selected(web) = %v, %v; want %v, %v", in, out, tt.in, tt.out)
			}
			checkConns(t, set, pods, []connCase{
				{"default/web", "default/db", "TCP 80", tt.webToDB, "web's egress"},
				{"default/db", "default/web", "TCP 80", tt.dbToWeb, "web's ingress"},
				{"default/web", "198.51.100.1", "TCP 80", tt.webToOutside, "web's egress to an address"},
			})
		})
	}
}

// TestNamedPorts resolves named ports on the destination pod, for ingress
// and egress, by name and protocol.
func TestNamedPorts(t *testing.T) {
	policies, _ := objects(t, map[string]string{"np.yaml": `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-in}
spec:
  podSelector: {matchLabels: {tier: web}}
  ingress:
  - ports:
    - port: http
    - port: dns
      protocol: UDP
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-out}
spec:
  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]
  egress:
  - ports:
    - port: http
`})
	pods := []Pod{
		withPorts(testPod("default", "a", "10.1.0.10", "tier=web"), "http/TCP/8080", "dns/UDP/53"),
		withPorts(testPod("default", "b", "10.1.0.11", "tier=web"), "http/TCP/9090", "metrics/TCP/8080"),
		withPorts(testPod("default", "c", "10.1.0.12", "tier=web"), "dns/TCP/53"),
		testPod("default", "client", "10.1.0.13", "role=client"),
	}
	const out = "203.0.113.1"
	set := New(Input{Policies: policies, Pods: pods})
	checkConns(t, set, pods, []connCase{
		{"default/client", "default/a", "TCP 8080", "allowed egress:default/client-out#0 ingress:default/web-in#0", "a's http is 8080"},
		{"default/client", "default/a", "TCP 9090", "denied egress:denied(default/client-out) ingress:denied(default/web-in)", "9090 is b's http, not a's"},
		{"default/client", "default/b", "TCP 9090", "allowed egress:default/client-out#0 ingress:default/web-in#0", "b's http is 9090"},
		{"default/client", "default/b", "TCP 8080", "denied egress:denied(default/client-out) ingress:denied(default/web-in)", "8080 is b's metrics"},
		{out, "default/a", "UDP 53", "allowed ingress:default/web-in#0", "a's dns is UDP 53"},
		{out, "default/a", "TCP 53", "denied ingress:denied(default/web-in)", "a has no TCP port named dns"},
		{out, "default/c", "TCP 53", "denied ingress:denied(default/web-in)", "c's dns is TCP but the rule names a UDP port"},
		{out, "default/c", "UDP 53", "denied ingress:denied(default/web-in)", "c has no UDP port named dns"},
		{"default/client", out, "TCP 8080", "denied egress:denied(default/client-out)", "an address that is not a pod has no named ports"},
	})
}

// TestSelectorOperators checks matchExpressions in a policy's podSelector
// and in peers; each rule opens its own port.
func TestSelectorOperators(t *testing.T) {
	policies, _ := objects(t, map[string]string{"np.yaml": `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server}
spec:
  podSelector:
    matchExpressions: [{key: app, operator: In, values: [server, api]}]
  ingress:
  - from: [{podSelector: {matchExpressions: [{key: env, operator: In, values: [prod, staging]}]}}]
    ports: [{port: 1}]
  - from: [{podSelector: {matchExpressions: [{key: env, operator: NotIn, values: [prod]}]}}]
    ports: [{port: 2}]
  - from: [{podSelector: {matchExpressions: [{key: team, operator: Exists}]}}]
    ports: [{port: 3}]
  - from: [{podSelector: {matchLabels: {env: prod}, matchExpressions: [{key: team, operator: DoesNotExist}]}}]
    ports: [{port: 4}]
`})
	pods := []Pod{
		testPod("default", "server", "10.1.0.2", "app=server"),
		testPod("default", "api", "10.1.0.3", "app=api"),
		testPod("default", "worker", "10.1.0.4", "app=worker"),
		testPod("default", "prod", "10.1.0.10", "env=prod"),
		testPod("default", "staging", "10.1.0.11", "env=staging", "team=x"),
		testPod("default", "dev", "10.1.0.12", "env=dev"),
		testPod("default", "bare", "10.1.0.13"),
	}
	set := New(Input{Policies: policies, Pods: pods})
	for _, p := range pods[:3] {
		in, _ := set.Selected(p.IP)
		if want := p.Name != "worker"; in != want {
			t.Errorf("Selected(%s) ingress = %v, want %v (app In [server, api])", p.Name, in, want)
		}
	}
	const denied = "denied ingress:denied(default/server)"
	checkConns(t, set, pods, []connCase{
		{"default/prod", "default/api", "TCP 1", "allowed ingress:default/server#0", "env In [prod, staging]"},
		{"default/staging", "default/server", "TCP 1", "allowed ingress:default/server#0", "env In [prod, staging]"},
		{"default/dev", "default/server", "TCP 1", denied, "env=dev is not In"},
		{"default/bare", "default/server", "TCP 1", denied, "In needs the key"},
		{"default/prod", "default/server", "TCP 2", denied, "env=prod is not NotIn [prod]"},
		{"default/dev", "default/server", "TCP 2", "allowed ingress:default/server#1", "env=dev is NotIn [prod]"},
		{"default/bare", "default/server", "TCP 2", "allowed ingress:default/server#1", "NotIn matches a pod without the key"},
		{"default/staging", "default/server", "TCP 3", "allowed ingress:default/server#2", "team Exists"},
		{"default/prod", "default/server", "TCP 3", denied, "no team label"},
		{"default/prod", "default/server", "TCP 4", "allowed ingress:default/server#3", "env=prod and team DoesNotExist"},
		{"default/staging", "default/server", "TCP 4", denied, "staging has a team"},
		{"default/prod", "default/worker", "TCP 9", "allowed", "app=worker is not In [server, api]"},
	})
}

// TestNamespaceLabels checks the namespaces' labels: the objects' labels,
// kubernetes.io/metadata.name forced to the name, and namespaces that have
// no object.
func TestNamespaceLabels(t *testing.T) {
	ingress := func(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{From: peers}}}
	}
	pods := []Pod{
		testPod("default", "server", "10.1.0.2"),
		testPod("team-a", "client", "10.1.1.2", "role=client"),
		testPod("team-b", "client", "10.1.2.2", "role=client"),
	}
	// team-a's object claims another name label; Kubernetes overwrites it.
	namespaces := []*corev1.Namespace{namespace("team-a", "kubernetes.io/metadata.name=fake", "tier=gold")}
	tests := []struct {
		name  string
		peer  networkingv1.NetworkPolicyPeer
		cases []connCase
	}{
		{"by name, without a Namespace object", networkingv1.NetworkPolicyPeer{NamespaceSelector: ptr(match(corev1.LabelMetadataName, "team-b"))}, []connCase{
			{"team-b/client", "default/server", "TCP 80", "allowed ingress:default/p#0", "team-b exists with its name label"},
			{"team-a/client", "default/server", "TCP 80", "denied ingress:denied(default/p)", "another namespace"},
		}},
		{"the name label is forced", networkingv1.NetworkPolicyPeer{NamespaceSelector: ptr(match(corev1.LabelMetadataName, "fake"))}, []connCase{
			{"team-a/client", "default/server", "TCP 80", "denied ingress:denied(default/p)", "team-a's name label is team-a"},
		}},
		{"by the object's label", networkingv1.NetworkPolicyPeer{NamespaceSelector: ptr(match("tier", "gold"))}, []connCase{
			{"team-a/client", "default/server", "TCP 80", "allowed ingress:default/p#0", "tier=gold"},
			{"team-b/client", "default/server", "TCP 80", "denied ingress:denied(default/p)", "team-b has no tier"},
		}},
		{"every namespace", networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}}, []connCase{
			{"team-a/client", "default/server", "TCP 80", "allowed ingress:default/p#0", "an empty namespaceSelector selects every namespace"},
			{"team-b/client", "default/server", "TCP 80", "allowed ingress:default/p#0", "an empty namespaceSelector selects every namespace"},
			{"203.0.113.1", "default/server", "TCP 80", "denied ingress:denied(default/p)", "but only pods"},
		}},
		{"both selectors", networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}, PodSelector: ptr(match("role", "client"))}, []connCase{
			{"team-b/client", "default/server", "TCP 80", "allowed ingress:default/p#0", "role=client of any namespace"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := New(Input{Policies: []*networkingv1.NetworkPolicy{policy("default", "p", ingress(tt.peer))}, Pods: pods, Namespaces: namespaces})
			checkConns(t, set, pods, tt.cases)
		})
	}
}

// TestHostNetworkPods: hostNetwork pods are neither selected nor matched by
// selectors; their address, the node's, is matched by ipBlock only.
func TestHostNetworkPods(t *testing.T) {
	hn := testPod("default", "agent", "192.168.0.2", "app=agent")
	hn.HostNetwork = true
	pods := []Pod{testPod("default", "web", "10.1.0.10", "app=web"), hn}
	everyPod := policy("default", "same-namespace", networkingv1.NetworkPolicySpec{
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
	})
	nodes := policy("default", "nodes", networkingv1.NetworkPolicySpec{
		PodSelector: match("app", "web"),
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "192.168.0.0/24"}}}}},
	})
	set := New(Input{Policies: []*networkingv1.NetworkPolicy{everyPod}, Pods: pods})
	if in, out := set.Selected(hn.IP); in || out {
		t.Errorf("Selected(hostNetwork pod) = %v, %v; want false, false", in, out)
	}
	checkConns(t, set, pods, []connCase{
		{"192.168.0.2", "default/web", "TCP 80", "denied ingress:denied(default/same-namespace)", "podSelector {} does not match a hostNetwork pod"},
		{"default/web", "192.168.0.2", "TCP 80", "denied egress:denied(default/same-namespace)", "the hostNetwork pod is not a pod; web's egress has no rule"},
		{"192.168.0.1", "default/web", "TCP 80", "allowed ingress:node", "web's own node"},
	})
	set = New(Input{Policies: []*networkingv1.NetworkPolicy{everyPod, nodes}, Pods: pods})
	checkConns(t, set, pods, []connCase{
		{"192.168.0.2", "default/web", "TCP 80", "allowed ingress:default/nodes#0", "an ipBlock matches the node's address"},
	})
}

// TestOrderAndDefaults: the allowing policy named is the first in
// namespace/name order whatever the input order; an IP claimed twice
// belongs to the first pod in namespace/name order; an empty namespace is
// default.
func TestOrderAndDefaults(t *testing.T) {
	allowAll := networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{}}}
	pods := []Pod{
		testPod("zeta", "web", "10.1.0.10", "app=web"),
		testPod("", "web", "10.1.0.10", "app=web"),
		testPod("default", "client", "10.1.0.11"),
	}
	set := New(Input{Policies: []*networkingv1.NetworkPolicy{policy("default", "b-allow", allowAll), policy("", "a-allow", allowAll)}, Pods: pods})
	checkConns(t, set, pods, []connCase{
		{"default/client", "10.1.0.10", "TCP 80", "allowed ingress:default/a-allow#0", "default/web has the address and a-allow comes first"},
	})
	v := set.Verdict(Conn{Src: netip.MustParseAddr("10.1.0.11"), Dst: netip.MustParseAddr("10.1.0.10"), Protocol: corev1.ProtocolTCP, DstPort: 80})
	if want := (Ref{"default", "web"}); v.Ingress.Pod != want {
		t.Errorf("the pod at 10.1.0.10 is %s, want %s", v.Ingress.Pod, want)
	}
	if want := []Ref{{"default", "a-allow"}, {"default", "b-allow"}}; len(v.Ingress.Policies) != 2 || v.Ingress.Policies[0] != want[0] || v.Ingress.Policies[1] != want[1] {
		t.Errorf("isolating policies %v, want %v", v.Ingress.Policies, want)
	}
	// An IPv4-mapped IPv6 address is the IPv4 address.
	mapped := set.Verdict(Conn{Src: netip.MustParseAddr("::ffff:10.1.0.11"), Dst: netip.MustParseAddr("::ffff:10.1.0.10"), Protocol: corev1.ProtocolTCP, DstPort: 80})
	if mapped.Ingress.Pod != (Ref{"default", "web"}) || mapped.Egress.Pod != (Ref{"default", "client"}) {
		t.Errorf("mapped addresses: pods %s, %s", mapped.Egress.Pod, mapped.Ingress.Pod)
	}
}

// TestNoPolicies: a nil Set, an empty one, and connections between
// addresses that are not pods allow everything.
func TestNoPolicies(t *testing.T) {
	c := Conn{Src: netip.MustParseAddr("10.1.0.10"), Dst: netip.MustParseAddr("10.1.0.11"), Protocol: corev1.ProtocolTCP, DstPort: 80}
	pods := []Pod{testPod("default", "a", "10.1.0.10"), testPod("default", "b", "10.1.0.11")}
	for name, set := range map[string]*Set{"nil": nil, "empty": New(Input{}), "pods only": New(Input{Pods: pods})} {
		if set.Len() != 0 {
			t.Errorf("%s: Len() = %d", name, set.Len())
		}
		if v := set.Verdict(c); !v.Allowed || v.Egress.Outcome != Open || v.Ingress.Outcome != Open {
			t.Errorf("%s: %s", name, v.Reason())
		}
		if in, out := set.Selected(c.Src); in || out {
			t.Errorf("%s: Selected = %v, %v", name, in, out)
		}
	}
	if v := New(Input{Pods: pods}).Verdict(c); v.Egress.Pod != (Ref{"default", "a"}) || v.Ingress.Pod != (Ref{"default", "b"}) {
		t.Errorf("without policies the pods are still named: %s", v.Reason())
	}
	denyAll := policy("default", "deny", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}})
	set := New(Input{Policies: []*networkingv1.NetworkPolicy{denyAll}, Pods: pods})
	if set.Len() != 1 {
		t.Errorf("Len() = %d, want 1", set.Len())
	}
	checkConns(t, set, pods, []connCase{
		{"198.51.100.1", "198.51.100.2", "TCP 80", "allowed", "neither end is a pod"},
	})
	if in, out := set.Selected(netip.MustParseAddr("198.51.100.1")); in || out {
		t.Errorf("Selected(an address that is not a pod) = %v, %v", in, out)
	}
}

// TestInvalidFailsClosed: input that validation would refuse never opens
// more than it says.
func TestInvalidFailsClosed(t *testing.T) {
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn}}}
	from := func(peers ...networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyIngressRule {
		return []networkingv1.NetworkPolicyIngressRule{{From: peers}}
	}
	pods := []Pod{testPod("default", "web", "10.1.0.10", "app=web"), testPod("default", "client", "10.1.0.11", "app=client")}
	tests := []struct {
		name string
		spec networkingv1.NetworkPolicySpec
		want string
	}{
		{"a podSelector that does not parse isolates the namespace",
			networkingv1.NetworkPolicySpec{PodSelector: *bad}, "denied ingress:denied(default/p)"},
		{"a peer selector that does not parse matches nothing",
			networkingv1.NetworkPolicySpec{Ingress: from(networkingv1.NetworkPolicyPeer{PodSelector: bad})}, "denied ingress:denied(default/p)"},
		{"a peer namespaceSelector that does not parse matches nothing",
			networkingv1.NetworkPolicySpec{Ingress: from(networkingv1.NetworkPolicyPeer{NamespaceSelector: bad})}, "denied ingress:denied(default/p)"},
		{"an empty peer matches nothing",
			networkingv1.NetworkPolicySpec{Ingress: from(networkingv1.NetworkPolicyPeer{})}, "denied ingress:denied(default/p)"},
		{"a cidr that does not parse matches nothing",
			networkingv1.NetworkPolicySpec{Ingress: from(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.1.0.0/99"}})}, "denied ingress:denied(default/p)"},
		{"an except that does not parse excludes the whole block",
			networkingv1.NetworkPolicySpec{Ingress: from(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.1.0.0/16", Except: []string{"bogus"}}})}, "denied ingress:denied(default/p)"},
		{"port 0 matches nothing",
			networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromInt32(0))}}}}}, "denied ingress:denied(default/p)"},
		{"an endPort below port matches nothing",
			networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromInt32(90)), EndPort: ptr[int32](70)}}}}}, "denied ingress:denied(default/p)"},
		{"a valid ipBlock for comparison",
			networkingv1.NetworkPolicySpec{Ingress: from(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.1.0.0/16", Except: []string{"10.2.0.0/16"}}})}, "allowed ingress:default/p#0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := New(Input{Policies: []*networkingv1.NetworkPolicy{policy("default", "p", tt.spec)}, Pods: pods})
			checkConns(t, set, pods, []connCase{{"default/client", "default/web", "TCP 80", tt.want, tt.name}})
		})
	}
}

// TestReason pins the human explanation of each outcome.
func TestReason(t *testing.T) {
	policies, _ := objects(t, map[string]string{"np.yaml": docsExample})
	pods := []Pod{testPod("default", "db", "10.1.0.10", "role=db"), testPod("default", "frontend", "10.1.0.11", "role=frontend")}
	set := New(Input{Policies: policies, Pods: pods})
	conn := func(src, dst string, port uint16) Conn {
		return Conn{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Protocol: corev1.ProtocolTCP, DstPort: port}
	}
	tests := []struct {
		c    Conn
		want string
	}{
		{conn("10.1.0.11", "10.1.0.10", 6379), "allowed TCP default/frontend (10.1.0.11) -> default/db (10.1.0.10):6379: " +
			"egress of default/frontend is not isolated; ingress of default/db allowed by default/test-network-policy ingress rule 0"},
		{conn("172.17.1.5", "10.1.0.10", 6379), "denied TCP 172.17.1.5 -> default/db (10.1.0.10):6379: " +
			"source 172.17.1.5 is not a known pod; ingress of default/db: no ingress rule of default/test-network-policy allows it"},
		{conn("10.1.0.10", "10.1.0.10", 1), "allowed TCP default/db (10.1.0.10) -> default/db (10.1.0.10):1: " +
			"egress of default/db: a pod's connection to itself is always allowed; ingress of default/db: a pod's connection to itself is always allowed"},
		{conn("10.1.0.10", "192.168.0.1", 10250), "allowed TCP default/db (10.1.0.10) -> 192.168.0.1:10250: " +
			"egress of default/db: connections between a pod and its own node are always allowed; destination 192.168.0.1 is not a known pod"},
	}
	for _, tt := range tests {
		if got := set.Verdict(tt.c).Reason(); got != tt.want {
			t.Errorf("Reason(%s):\n got %s\nwant %s", tt.c, got, tt.want)
		}
	}
}

// TestVerdictDoesNotAllocate: Verdict runs on first packets.
func TestVerdictDoesNotAllocate(t *testing.T) {
	policies, _ := objects(t, map[string]string{"np.yaml": docsExample})
	pods := []Pod{testPod("default", "db", "10.1.0.10", "role=db"), testPod("default", "frontend", "10.1.0.11", "role=frontend")}
	set := New(Input{Policies: policies, Pods: pods})
	conns := []Conn{
		{Src: pods[1].IP, Dst: pods[0].IP, Protocol: corev1.ProtocolTCP, DstPort: 6379},
		{Src: netip.MustParseAddr("172.17.1.5"), Dst: pods[0].IP, Protocol: corev1.ProtocolTCP, DstPort: 6379},
		{Src: pods[0].IP, Dst: netip.MustParseAddr("10.0.0.7"), Protocol: corev1.ProtocolTCP, DstPort: 5978},
	}
	for _, c := range conns {
		if n := testing.AllocsPerRun(100, func() { set.Verdict(c) }); n != 0 {
			t.Errorf("Verdict(%s) allocates %v times", c, n)
		}
	}
}

func TestPodOf(t *testing.T) {
	k := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "a", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}},
			{Name: "b", Ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}}},
		}},
		Status: corev1.PodStatus{PodIP: "10.1.0.7", HostIP: "192.168.0.1"},
	}
	p := PodOf(k)
	if p.Namespace != "shop" || p.Name != "web" || p.Labels["app"] != "web" || p.IP != netip.MustParseAddr("10.1.0.7") ||
		len(p.HostIPs) != 1 || p.HostIPs[0] != netip.MustParseAddr("192.168.0.1") || len(p.Ports) != 2 || p.HostNetwork {
		t.Errorf("PodOf = %+v", p)
	}
	k.Status.HostIPs = []corev1.HostIP{{IP: "192.168.0.1"}, {IP: "fd00::1"}}
	k.Spec.HostNetwork = true
	if p := PodOf(k); len(p.HostIPs) != 2 || !p.HostNetwork {
		t.Errorf("PodOf with hostIPs and hostNetwork = %+v", p)
	}
}
