package services

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"testing/fstest"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shoal-run/shoal/manifests"
)

const policies = `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {team: shop}
  annotations: {owner: me}
---
apiVersion: v1
kind: Namespace
metadata: {name: bare}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: z-deny, namespace: shop, labels: {tier: one}}
spec:
  podSelector: {}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: shop}}}]
    ports: [{port: http}]
`

// policyInput is the input of yaml (with its NetworkPolicies and
// Namespaces) and pods.
func policyInput(t *testing.T, yaml string, pods ...*corev1.Pod) Input {
	t.Helper()
	in := input(t, yaml)
	set, err := manifests.Load(fstest.MapFS{"m.yaml": {Data: []byte(yaml)}})
	if err != nil {
		t.Fatal(err)
	}
	in.NetworkPolicies = manifests.Of[*networkingv1.NetworkPolicy](set)
	in.Namespaces = manifests.Of[*corev1.Namespace](set)
	in.Pods = pods
	return in
}

func TestPolicy(t *testing.T) {
	webPod := pod("web", "b", "10.244.1.5", true, map[string]string{"app": "web"},
		corev1.ContainerPort{Name: "http", ContainerPort: 8080}, corev1.ContainerPort{ContainerPort: 9090})
	webPod.Namespace = "shop"
	webPod.Status.HostIPs = []corev1.HostIP{{IP: "192.168.1.2"}}
	webPod.Status.HostIP = "192.168.1.2"
	done := pod("done", "a", "10.244.0.9", false, nil)
	done.Status.Phase = corev1.PodSucceeded
	noIP := pod("pending", "a", "", false, nil)
	host := pod("agent", "c", "10.77.0.12", true, map[string]string{"app": "agent"})
	host.Spec.HostNetwork = true
	bare := pod("bare", "zz", "10.244.9.9", true, nil) // its node is not in the table
	bare.Namespace = ""

	tests := []struct {
		name string
		yaml string
		pods []*corev1.Pod
		want *Policy
	}{
		{name: "no policy, no policy inputs", yaml: web, pods: []*corev1.Pod{webPod}, want: nil},
		{name: "policies, labelled namespaces and the pods that hold an address", yaml: policies,
			pods: []*corev1.Pod{webPod, done, noIP, host, bare},
			want: &Policy{
				NetworkPolicies: []networkingv1.NetworkPolicy{
					{
						TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
						ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "allow-web"},
						Spec: networkingv1.NetworkPolicySpec{
							PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
							Ingress: []networkingv1.NetworkPolicyIngressRule{{
								From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "shop"}}}},
								Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromString("http"))}},
							}},
							PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
						},
					},
					{
						TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
						ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "z-deny"},
						Spec: networkingv1.NetworkPolicySpec{
							PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
						},
					},
				},
				// bare has no labels of its own: the verdict adds the
				// kubernetes.io/metadata.name label by itself.
				Namespaces: []NamespaceLabels{{Name: "shop", Labels: map[string]string{"team": "shop", "kubernetes.io/metadata.name": "shop"}}},
				Pods: []PolicyPod{
					{Namespace: "default", Name: "agent", Labels: map[string]string{"app": "agent"}, Node: "c", IP: addr("10.77.0.12"),
						HostIPs: addrs("10.77.0.12", "10.244.2.1"), HostNetwork: true},
					{Namespace: "default", Name: "bare", Node: "zz", IP: addr("10.244.9.9")},
					{Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web"}, Node: "b", IP: addr("10.244.1.5"),
						HostIPs: addrs("10.77.0.11", "10.244.1.1", "192.168.1.2"),
						Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}},
				},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compute(policyInput(t, tt.yaml, tt.pods...)).Table.Policy
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.MarshalIndent(got, "", " ")
				w, _ := json.MarshalIndent(tt.want, "", " ")
				t.Fatalf("Policy:\n%s\nwant:\n%s", g, w)
			}
			if got == nil {
				return
			}
			// The table travels as JSON: the policy inputs survive it.
			b, err := json.Marshal(Table{Policy: got})
			if err != nil {
				t.Fatal(err)
			}
			var back Table
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back.Policy, got) {
				t.Fatalf("after JSON: %+v, want %+v", back.Policy, got)
			}
		})
	}
}

func TestPolicyIsStableAcrossInputOrder(t *testing.T) {
	a := pod("a", "a", "10.244.0.5", true, nil)
	b := pod("b", "b", "10.244.1.5", true, nil)
	in := policyInput(t, policies, a, b)
	first := Compute(in).Table.Policy
	in.Pods = []*corev1.Pod{b, a}
	in.NetworkPolicies[0], in.NetworkPolicies[1] = in.NetworkPolicies[1], in.NetworkPolicies[0]
	if second := Compute(in).Table.Policy; !reflect.DeepEqual(first, second) {
		t.Fatalf("the order of the input changed the policy inputs:\n%+v\n%+v", first, second)
	}
}

func TestNodeGateway(t *testing.T) {
	for _, tt := range []struct {
		cidr string
		want netip.Addr
	}{
		{"10.244.3.0/24", addr("10.244.3.1")},
		{"", netip.Addr{}},
	} {
		var n Node
		n.PodCIDR, _ = netip.ParsePrefix(tt.cidr)
		if got := n.Gateway(); got != tt.want {
			t.Errorf("Gateway of %q = %v, want %v", tt.cidr, got, tt.want)
		}
	}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, addr(s))
	}
	return out
}

func ptr[T any](v T) *T { return &v }
