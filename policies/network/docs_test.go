package network

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The examples of the Kubernetes "Network Policies" page
// (kubernetes.io/docs/concepts/services-networking/network-policies/), each
// loaded through manifests into a small world, with the connections the page
// says are allowed or denied.

// docsExample is the page's first example, with every kind of peer.
const docsExample = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: test-network-policy
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Ingress
  - Egress
  ingress:
  - from:
    - ipBlock:
        cidr: 172.17.0.0/16
        except:
        - 172.17.1.0/24
    - namespaceSelector:
        matchLabels:
          project: myproject
    - podSelector:
        matchLabels:
          role: frontend
    ports:
    - protocol: TCP
      port: 6379
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/24
    ports:
    - protocol: TCP
      port: 5978
`

func TestDocsExample(t *testing.T) {
	policies, _ := objects(t, map[string]string{"np.yaml": docsExample})
	pods := []Pod{
		testPod("default", "db", "10.1.0.10", "role=db"),
		testPod("default", "frontend", "10.1.0.11", "role=frontend"),
		testPod("default", "backend", "10.1.0.12", "role=backend"),
		testPod("other", "frontend", "10.1.1.11", "role=frontend"),
		testPod("myproject", "anything", "10.1.2.10", "app=x"),
	}
	set := New(Input{Policies: policies, Pods: pods, Namespaces: []*corev1.Namespace{namespace("myproject", "project=myproject"), namespace("other")}})
	const np = "default/test-network-policy"
	checkConns(t, set, pods, []connCase{
		{"default/frontend", "default/db", "TCP 6379", "allowed ingress:" + np + "#0", "podSelector peer: role=frontend pods of the policy's namespace"},
		{"default/backend", "default/db", "TCP 6379", "denied ingress:denied(" + np + ")", "no peer matches role=backend"},
		{"other/frontend", "default/db", "TCP 6379", "denied ingress:denied(" + np + ")", "a podSelector alone selects pods of the policy's namespace only"},
		{"myproject/anything", "default/db", "TCP 6379", "allowed ingress:" + np + "#0", "namespaceSelector peer: every pod of project=myproject namespaces"},
		{"172.17.0.5", "default/db", "TCP 6379", "allowed ingress:" + np + "#0", "inside the ipBlock"},
		{"172.17.0.255", "default/db", "TCP 6379", "allowed ingress:" + np + "#0", "172.17.0.0-172.17.0.255 is allowed"},
		{"172.17.1.5", "default/db", "TCP 6379", "denied ingress:denied(" + np + ")", "172.17.1.0/24 is an except entry"},
		{"172.17.2.0", "default/db", "TCP 6379", "allowed ingress:" + np + "#0", "172.17.2.0-172.17.255.255 is allowed"},
		{"172.17.255.255", "default/db", "TCP 6379", "allowed ingress:" + np + "#0", "the block's last address"},
		{"172.18.0.1", "default/db", "TCP 6379", "denied ingress:denied(" + np + ")", "outside the ipBlock"},
		{"default/frontend", "default/db", "TCP 6380", "denied ingress:denied(" + np + ")", "the rule allows port 6379 only"},
		{"default/frontend", "default/db", "UDP 6379", "denied ingress:denied(" + np + ")", "the rule allows TCP only"},
		{"default/db", "10.0.0.7", "TCP 5978", "allowed egress:" + np + "#0", "egress rule: 10.0.0.0/24 on TCP 5978"},
		{"default/db", "10.0.0.7", "TCP 5979", "denied egress:denied(" + np + ")", "wrong port"},
		{"default/db", "10.0.0.7", "UDP 5978", "denied egress:denied(" + np + ")", "wrong protocol"},
		{"default/db", "10.0.1.7", "TCP 5978", "denied egress:denied(" + np + ")", "outside 10.0.0.0/24"},
		{"default/db", "default/frontend", "TCP 80", "denied egress:denied(" + np + ")", "db is isolated for egress and frontend is no allowed destination"},
		{"default/frontend", "default/backend", "TCP 80", "allowed", "neither pod is selected by any policy"},
		{"default/frontend", "203.0.113.9", "TCP 443", "allowed", "frontend is not isolated for egress"},
		{"default/db", "default/db", "TCP 6380", "allowed egress:self ingress:self", "a pod cannot block access to itself"},
		{"192.168.0.1", "default/db", "TCP 8080", "allowed ingress:node", "traffic from the pod's own node is always allowed (probes)"},
		{"10.1.0.1", "default/db", "TCP 8080", "allowed ingress:node", "the node's bridge address is the node too"},
		{"default/db", "10.1.0.1", "UDP 53", "allowed egress:node", "traffic to the pod's own node is always allowed (the node's DNS)"},
		{"192.168.0.2", "default/db", "TCP 8080", "denied ingress:denied(" + np + ")", "another node is just an address"},
	})
	if in, out := set.Selected(pods[0].IP); !in || !out {
		t.Errorf("Selected(db) = %v, %v; want true, true", in, out)
	}
	if in, out := set.Selected(pods[1].IP); in || out {
		t.Errorf("Selected(frontend) = %v, %v; want false, false", in, out)
	}
}

// TestDocsPeerAndVersusOr is the page's "namespaceSelector and podSelector"
// section: one peer with both selectors is an AND, two peers an OR.
func TestDocsPeerAndVersusOr(t *testing.T) {
	const head = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: server
spec:
  podSelector:
    matchLabels:
      app: server
`
	pods := []Pod{
		testPod("default", "server", "10.1.0.10", "app=server"),
		testPod("default", "client", "10.1.0.11", "role=client"),
		testPod("alice", "client", "10.1.1.11", "role=client"),
		testPod("alice", "other", "10.1.1.12", "role=other"),
		testPod("bob", "client", "10.1.2.11", "role=client"),
	}
	namespaces := []*corev1.Namespace{namespace("alice", "user=alice"), namespace("bob", "user=bob")}
	runFiles(t, pods, namespaces, []filesCase{
		{"one peer with both selectors", map[string]string{"np.yaml": head + `
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          user: alice
      podSelector:
        matchLabels:
          role: client
`}, []connCase{
			{"alice/client", "default/server", "TCP 80", "allowed ingress:default/server#0", "role=client in a user=alice namespace"},
			{"alice/other", "default/server", "TCP 80", "denied ingress:denied(default/server)", "user=alice but not role=client"},
			{"default/client", "default/server", "TCP 80", "denied ingress:denied(default/server)", "role=client but the namespace is not user=alice"},
			{"bob/client", "default/server", "TCP 80", "denied ingress:denied(default/server)", "user=bob"},
		}},
		{"two peers", map[string]string{"np.yaml": head + `
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          user: alice
    - podSelector:
        matchLabels:
          role: client
`}, []connCase{
			{"alice/client", "default/server", "TCP 80", "allowed ingress:default/server#0", "a pod of a user=alice namespace"},
			{"alice/other", "default/server", "TCP 80", "allowed ingress:default/server#0", "a pod of a user=alice namespace"},
			{"default/client", "default/server", "TCP 80", "allowed ingress:default/server#0", "role=client in the policy's namespace"},
			{"bob/client", "default/server", "TCP 80", "denied ingress:denied(default/server)", "role=client, but of another namespace"},
		}},
	})
}

// The page's default policies, verbatim (JSON is YAML).
const (
	docsDenyIngress = `{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: {name: "default-deny-ingress"},
  spec: {podSelector: {}, policyTypes: ["Ingress"]}}`
	docsAllowIngress = `{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: {name: "allow-all-ingress"},
  spec: {podSelector: {}, ingress: [{}], policyTypes: ["Ingress"]}}`
	docsDenyEgress = `{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: {name: "default-deny-egress"},
  spec: {podSelector: {}, policyTypes: ["Egress"]}}`
	docsAllowEgress = `{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: {name: "allow-all-egress"},
  spec: {podSelector: {}, egress: [{}], policyTypes: ["Egress"]}}`
	docsDenyAll = `{apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: {name: "default-deny-all"},
  spec: {podSelector: {}, policyTypes: ["Ingress", "Egress"]}}`
	docsEndPort = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: multi-port-egress
  namespace: default
spec:
  podSelector:
    matchLabels:
      role: db
  policyTypes:
  - Egress
  egress:
  - to:
    - ipBlock:
        cidr: 10.0.0.0/24
    ports:
    - protocol: TCP
      port: 32000
      endPort: 32768
`
)

func TestDocsDefaultPolicies(t *testing.T) {
	pods := []Pod{
		testPod("default", "a", "10.1.0.10", "app=a"),
		testPod("default", "b", "10.1.0.11", "app=b"),
		testPod("default", "db", "10.1.0.12", "role=db"),
		testPod("other", "c", "10.1.1.10", "app=c"),
	}
	const out = "203.0.113.7"
	runFiles(t, pods, nil, []filesCase{
		{"default deny all ingress traffic", map[string]string{"deny.yaml": docsDenyIngress}, []connCase{
			{"other/c", "default/a", "TCP 80", "denied ingress:denied(default/default-deny-ingress)", "every pod of default is isolated for ingress"},
			{"default/a", "default/b", "TCP 80", "denied ingress:denied(default/default-deny-ingress)", "even from its own namespace"},
			{out, "default/a", "TCP 80", "denied ingress:denied(default/default-deny-ingress)", "and from outside"},
			{"default/a", "other/c", "TCP 80", "allowed", "egress is unchanged and other is not isolated"},
			{"default/a", out, "TCP 443", "allowed", "egress is unchanged"},
			{"default/a", "default/a", "TCP 80", "allowed ingress:self", "a pod cannot block access to itself"},
			{"192.168.0.1", "default/a", "TCP 8080", "allowed ingress:node", "the node's probes still reach the pod"},
		}},
		{"default allow all ingress traffic", map[string]string{"deny.yaml": docsDenyIngress, "allow.yaml": docsAllowIngress}, []connCase{
			{"other/c", "default/a", "TCP 80", "allowed ingress:default/allow-all-ingress#0", "policies are additive: the empty rule allows everything"},
			{out, "default/a", "UDP 53", "allowed ingress:default/allow-all-ingress#0", "an empty rule matches every source, port and protocol"},
		}},
		{"default deny all egress traffic", map[string]string{"deny.yaml": docsDenyEgress}, []connCase{
			{"default/a", "other/c", "TCP 80", "denied egress:denied(default/default-deny-egress)", "every pod of default is isolated for egress"},
			{"default/a", out, "TCP 443", "denied egress:denied(default/default-deny-egress)", "outside too"},
			{"default/a", "default/b", "TCP 80", "denied egress:denied(default/default-deny-egress)", "its own namespace too"},
			{"other/c", "default/a", "TCP 80", "allowed", "ingress is unchanged"},
			{out, "default/a", "TCP 80", "allowed", "ingress is unchanged"},
			{"default/a", "10.1.0.1", "UDP 53", "allowed egress:node", "the pod's own node (its DNS) stays reachable"},
		}},
		{"default allow all egress traffic", map[string]string{"deny.yaml": docsDenyEgress, "allow.yaml": docsAllowEgress}, []connCase{
			{"default/a", out, "TCP 443", "allowed egress:default/allow-all-egress#0", "the empty rule allows every destination"},
			{"default/a", "default/b", "SCTP 9", "allowed egress:default/allow-all-egress#0", "every protocol"},
		}},
		{"default deny all ingress and all egress traffic", map[string]string{"deny.yaml": docsDenyAll}, []connCase{
			{"default/a", "default/b", "TCP 80", "denied egress:denied(default/default-deny-all) ingress:denied(default/default-deny-all)", "both ends are isolated"},
			{"other/c", "default/a", "TCP 80", "denied ingress:denied(default/default-deny-all)", "ingress"},
			{"default/a", "other/c", "TCP 80", "denied egress:denied(default/default-deny-all)", "egress"},
			{"default/a", out, "TCP 80", "denied egress:denied(default/default-deny-all)", "egress to outside"},
			{"other/c", out, "TCP 80", "allowed", "other has no policy"},
			{"default/a", "default/a", "TCP 80", "allowed egress:self ingress:self", "a pod cannot block access to itself"},
		}},
		{"targeting a range of ports", map[string]string{"np.yaml": docsEndPort}, []connCase{
			{"default/db", "10.0.0.9", "TCP 31999", "denied egress:denied(default/multi-port-egress)", "below the range"},
			{"default/db", "10.0.0.9", "TCP 32000", "allowed egress:default/multi-port-egress#0", "port is the range's first"},
			{"default/db", "10.0.0.9", "TCP 32500", "allowed egress:default/multi-port-egress#0", "inside"},
			{"default/db", "10.0.0.9", "TCP 32768", "allowed egress:default/multi-port-egress#0", "endPort is inclusive"},
			{"default/db", "10.0.0.9", "TCP 32769", "denied egress:denied(default/multi-port-egress)", "above the range"},
			{"default/db", "10.0.0.9", "UDP 32000", "denied egress:denied(default/multi-port-egress)", "TCP only"},
			{"default/db", "10.0.1.9", "TCP 32000", "denied egress:denied(default/multi-port-egress)", "outside 10.0.0.0/24"},
			{"default/a", "10.0.1.9", "TCP 80", "allowed", "only role=db is selected"},
			{"default/a", "default/db", "TCP 80", "allowed", "policyTypes [Egress] leaves ingress open"},
		}},
	})
}
