package network

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// benchWorld is 2,000 pods and 500 policies. spread puts them in 20
// namespaces of 100 pods and 25 policies each, every pod selected by a
// default-deny policy and two or three others; crowded puts everything in
// one namespace where every policy selects every pod, so that a denied
// connection tries all of its about 1,500 rules of each direction.
func benchWorld(crowded bool) (Input, []Conn) {
	const namespaces, podsPerNS, policiesPerNS = 20, 100, 25
	var in Input
	nsOf := func(n int) string {
		if crowded {
			return "crowd"
		}
		return fmt.Sprintf("ns-%02d", n)
	}
	for n := range namespaces {
		in.Namespaces = append(in.Namespaces, namespace(nsOf(n), fmt.Sprintf("team=team-%d", n%5)))
		for i := range podsPerNS {
			p := testPod(nsOf(n), fmt.Sprintf("pod-%02d-%03d", n, i), fmt.Sprintf("10.244.%d.%d", n, i+2),
				fmt.Sprintf("app=app-%d", i%10), []string{"tier=web", "tier=api", "tier=db"}[i%3], fmt.Sprintf("version=v%d", i%2))
			in.Pods = append(in.Pods, withPorts(p, "http/TCP/8080", "metrics/TCP/9090"))
		}
		for k := range policiesPerNS {
			in.Policies = append(in.Policies, benchPolicy(nsOf(n), n, k, crowded))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ports := []uint16{8080, 8085, 9090, 443, 5432}
	conns := make([]Conn, 4096)
	for i := range conns {
		src, dst := rng.IntN(len(in.Pods)), rng.IntN(len(in.Pods))
		if rng.IntN(2) == 0 { // half the connections stay in their namespace
			dst = src/podsPerNS*podsPerNS + rng.IntN(podsPerNS)
		}
		c := Conn{Src: in.Pods[src].IP, Dst: in.Pods[dst].IP, Protocol: corev1.ProtocolTCP, DstPort: ports[rng.IntN(len(ports))]}
		switch rng.IntN(8) {
		case 0:
			c.Src = netip.AddrFrom4([4]byte{172, 16, byte(rng.IntN(256)), byte(rng.IntN(256))})
		case 1:
			c.Dst = netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), 0, 1})
		case 2:
			c.Protocol = corev1.ProtocolUDP
		}
		conns[i] = c
	}
	return in, conns
}

// benchPolicy is policy k of namespace n: a default deny for k == 0, else a
// policy for one app with three ingress rules (same-namespace web pods on
// the named port http; api pods of a team's namespaces on 8080-8090; any pod
// of the namespace on 9090) and three egress rules (outside the pod range on
// 443; another app on the named port http; any pod on the named port
// metrics).
func benchPolicy(ns string, n, k int, crowded bool) *networkingv1.NetworkPolicy {
	name := fmt.Sprintf("np-%02d-%02d", n, k)
	if k == 0 {
		return policy(ns, name, networkingv1.NetworkPolicySpec{})
	}
	sel := match("app", fmt.Sprintf("app-%d", k%10))
	if crowded {
		sel = metav1.LabelSelector{}
	}
	tcp := corev1.ProtocolTCP
	return policy(ns, name, networkingv1.NetworkPolicySpec{
		PodSelector: sel,
		Ingress: []networkingv1.NetworkPolicyIngressRule{
			{From: []networkingv1.NetworkPolicyPeer{{PodSelector: ptr(match("tier", "web"))}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr(intstr.FromString("http"))}}},
			{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: ptr(match("team", fmt.Sprintf("team-%d", k%5))), PodSelector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"api"}}}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr(intstr.FromInt32(8080)), EndPort: ptr[int32](8090)}}},
			{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr(intstr.FromInt32(9090))}}},
		},
		Egress: []networkingv1.NetworkPolicyEgressRule{
			{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.244.0.0/16"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr(intstr.FromInt32(443))}}},
			{To: []networkingv1.NetworkPolicyPeer{{PodSelector: ptr(match("app", fmt.Sprintf("app-%d", (k+1)%10)))}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr(intstr.FromString("http"))}}},
			{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr(intstr.FromString("metrics"))}}},
		},
	})
}

// BenchmarkVerdict judges connections between random pods and addresses
// under 500 policies and 2,000 pods.
func BenchmarkVerdict(b *testing.B) {
	for _, crowded := range []bool{false, true} {
		name := map[bool]string{false: "spread", true: "crowded"}[crowded]
		b.Run(name, func(b *testing.B) {
			in, conns := benchWorld(crowded)
			set := New(in)
			allowed := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if set.Verdict(conns[i%len(conns)]).Allowed {
					allowed++
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verdicts/s")
			b.ReportMetric(float64(allowed)/float64(b.N), "allowed/op")
		})
	}
}

// BenchmarkNew compiles 500 policies over 2,000 pods.
func BenchmarkNew(b *testing.B) {
	for _, crowded := range []bool{false, true} {
		name := map[bool]string{false: "spread", true: "crowded"}[crowded]
		b.Run(name, func(b *testing.B) {
			in, _ := benchWorld(crowded)
			b.ReportAllocs()
			for b.Loop() {
				New(in)
			}
		})
	}
}
