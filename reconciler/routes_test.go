package reconciler

import (
	"net/netip"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const policyRepo = `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {team: shop}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec:
  podSelector: {}
`

// policyPod is a running pod of namespace ns on node with ip.
func policyPod(ns, name, node, ip string) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}}}
	p.Spec.NodeName = node
	p.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox"}}
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = ip
	p.Status.HostIPs = []corev1.HostIP{{IP: "192.168.5.1"}}
	return p
}

// TestRoutesCarryPolicyInputs: with a NetworkPolicy in the desired state,
// the routing table carries it, the Namespace's labels and the pods of the
// live nodes with their nodes' addresses (the record's InternalIP, else
// gossip's, and the pod bridge's); a dead node's pods are left out.
// Without one, the table carries nothing of it.
func TestRoutesCarryPolicyInputs(t *testing.T) {
	n1 := report("n1")
	n1.Info.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.5.1"}}
	n1.Pods = []corev1.Pod{policyPod("shop", "web", "n1", "10.244.0.5")}
	n2 := report("n2")
	n2.Address = netip.MustParseAddr("192.168.5.2")
	n2.Pods = []corev1.Pod{policyPod("default", "client", "n2", "10.244.1.7")}
	dead := NodeReport{Name: "n3", Address: netip.MustParseAddr("192.168.5.3"),
		Pods: []corev1.Pod{policyPod("default", "gone", "n3", "10.244.2.2")}}
	in := Input{
		Desired: load(t, policyRepo), Nodes: []NodeReport{n1, n2, dead}, Now: now,
		PodCIDRs:    map[string]string{"n1": "10.244.0.0/24", "n2": "10.244.1.0/24", "n3": "10.244.2.0/24"},
		ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"),
	}
	p := Compute(in).Routes.Table.Policy
	if p == nil {
		t.Fatal("the table carries no policy inputs")
	}
	if len(p.NetworkPolicies) != 1 || p.NetworkPolicies[0].Namespace != "shop" || p.NetworkPolicies[0].Name != "deny" {
		t.Errorf("policies %+v, want shop/deny", p.NetworkPolicies)
	}
	if len(p.Namespaces) != 1 || p.Namespaces[0].Name != "shop" || p.Namespaces[0].Labels["team"] != "shop" {
		t.Errorf("namespaces %+v, want shop with team=shop", p.Namespaces)
	}
	want := map[string][]string{
		"shop/web":       {"10.244.0.1", "192.168.5.1"},
		"default/client": {"10.244.1.1", "192.168.5.1", "192.168.5.2"},
	}
	if len(p.Pods) != len(want) {
		t.Fatalf("pods %+v, want %v", p.Pods, want)
	}
	for _, pod := range p.Pods {
		var got []string
		for _, a := range pod.HostIPs {
			got = append(got, a.String())
		}
		if w, ok := want[pod.Namespace+"/"+pod.Name]; !ok || !slices.Equal(got, w) {
			t.Errorf("pod %s/%s with host IPs %v, want %v", pod.Namespace, pod.Name, got, w)
		}
	}

	in.Desired = load(t, `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
`)
	if p := Compute(in).Routes.Table.Policy; p != nil {
		t.Fatalf("no NetworkPolicy, yet the table carries %+v", p)
	}
}
