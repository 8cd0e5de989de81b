package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/testenv"
)

// netpolicyYAML is the repository of TestNetworkPolicyOnTheCluster:
// namespace shop denies all ingress and lets web be reached by its pods
// labelled role=good (on web's named port) and by every pod of the
// namespaces labelled access=shop; shop/egress may only reach registry
// (an ipBlock of one address outside the cluster). plain, in default, is
// open to everyone: the target that proves a denied client's network
// works.
func netpolicyYAML(registry string) map[string]string {
	client := func(ns, name, zone, labels string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
  labels: {%s}
spec:
  nodeSelector: {zone: %s}
  containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
`, name, ns, labels, zone)
	}
	return map[string]string{
		"namespaces.yaml": `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels: {team: shop}
---
apiVersion: v1
kind: Namespace
metadata:
  name: friends
  labels: {access: shop}
`,
		"web.yaml":    strings.Replace(podYAML("web", "  nodeSelector: {zone: b}\n"), "  name: web\n", "  name: web\n  namespace: shop\n", 1),
		"plain.yaml":  podYAML("plain", "  nodeSelector: {zone: c}\n"),
		"good.yaml":   client("shop", "good", "a", "role: good"),
		"bad.yaml":    client("shop", "bad", "a", "role: bad"),
		"egress.yaml": client("shop", "egress", "a", "role: egress"),
		"friend.yaml": client("friends", "friend", "c", "role: friend"),
		"policies.yaml": `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-good, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: good}}}]
    ports: [{port: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-friends, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {access: shop}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-registry-only, namespace: shop}
spec:
  podSelector: {matchLabels: {role: egress}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: ` + registry + `/32}}]
`,
	}
}

// nsFetch is wget of url from inside pod ns/name (through node1's API),
// bounded by busybox's timeout: the body, or "" when it failed.
func nsFetch(t testing.TB, c *testenv.Cluster, ns, pod, url string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	code, err := client(t, c, "node1").Exec(ctx, ns, pod, api.ExecOptions{
		Command: []string{"timeout", "3", "wget", "-q", "-O-", url}, Stdout: &out, Stderr: &out})
	if err != nil || code != 0 {
		return ""
	}
	return out.String()
}

// connections reads shoal_netpolicy_connections_total{policy,verdict}
// from node's metrics (-1 when they cannot be read, 0 when the series is
// not there).
func connections(c *testenv.Cluster, node, policy, verdict string) float64 {
	body, err := hostGet("http://" + c.APIAddr(node) + "/metrics")
	if err != nil {
		return -1
	}
	series := fmt.Sprintf("shoal_netpolicy_connections_total{policy=%q,verdict=%q} ", policy, verdict)
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return 0
}

// TestNetworkPolicyOnTheCluster: NetworkPolicies pushed to Git are enforced
// on the nodes that run the pods. Every check reads a body; every denied
// connection is followed by the same client reaching another target, so
// that the failure is the policy's and not the network's.
func TestNetworkPolicyOnTheCluster(t *testing.T) {
	c := startRig(t, 3, func(cfg *testenv.Config) {
		cfg.Labels = map[string]map[string]string{"node1": {"zone": "a"}, "node2": {"zone": "b"}, "node3": {"zone": "c"}}
	})
	registry, _, _ := strings.Cut(c.Registry(), ":")
	push(t, c, netpolicyYAML(registry), "network policies")
	waitFor(t, 90*time.Second, "web, plain and the clients running", func() bool {
		ps := pods(c, t, "node1")
		for _, p := range [][2]string{{"web", "node2"}, {"plain", "node3"}, {"good", "node1"}, {"bad", "node1"}, {"egress", "node1"}, {"friend", "node3"}} {
			if !runningOn(ps, p[0], p[1]) {
				return false
			}
		}
		return true
	})
	ps := mustPods(c, t, "node1")
	webURL := "http://" + find(ps, "web")[0].Status.PodIP + ":8080/"
	plainURL := "http://" + find(ps, "plain")[0].Status.PodIP + ":8080/"
	registryURL := "http://" + c.Registry() + "/v2/library/busybox/tags/list"

	t.Run("default deny keeps a client without an allowing policy out", func(t *testing.T) {
		waitFor(t, 60*time.Second, "bad's connections to web dropped", func() bool {
			return nsFetch(t, c, "shop", "bad", webURL) == ""
		})
		if body := nsFetch(t, c, "shop", "bad", plainURL); !strings.Contains(body, "hello from plain") {
			t.Fatalf("bad reaching plain: %q: the network, not the policy, keeps it from web", body)
		}
		if body := nsFetch(t, c, "shop", "bad", webURL); body != "" {
			t.Fatalf("bad reached web: %q", body)
		}
	})

	t.Run("a pod selector lets one client in on a named port", func(t *testing.T) {
		var body string
		waitFor(t, 30*time.Second, "good reaching web", func() bool {
			body = nsFetch(t, c, "shop", "good", webURL)
			return strings.Contains(body, "hello from web")
		})
	})

	t.Run("a namespace selector lets a pod of another namespace in", func(t *testing.T) {
		waitFor(t, 30*time.Second, "friends/friend on node3 reaching web on node2", func() bool {
			return strings.Contains(nsFetch(t, c, "friends", "friend", webURL), "hello from web")
		})
	})

	t.Run("egress only to an ipBlock", func(t *testing.T) {
		waitFor(t, 60*time.Second, "egress's connections to plain dropped", func() bool {
			return nsFetch(t, c, "shop", "egress", plainURL) == ""
		})
		body := nsFetch(t, c, "shop", "egress", registryURL)
		if !strings.Contains(body, `"name":"library/busybox"`) {
			t.Fatalf("egress reaching the registry at %s (its ipBlock): %q", registry, body)
		}
		if body := nsFetch(t, c, "shop", "egress", webURL); body != "" {
			t.Fatalf("egress reached web: %q", body)
		}
	})

	t.Run("counters on the nodes' metrics", func(t *testing.T) {
		// web's node judged the ingress, the clients' node their egress.
		for _, want := range []struct{ node, policy, verdict string }{
			{"node2", "shop/web-from-good", "accepted"},
			{"node2", "shop/web-from-friends", "accepted"},
			{"node2", "shop/default-deny", "dropped"},
			{"node1", "shop/egress-registry-only", "accepted"},
			{"node1", "shop/egress-registry-only", "dropped"},
		} {
			if n := connections(c, want.node, want.policy, want.verdict); n < 1 {
				t.Errorf("%s: shoal_netpolicy_connections_total{policy=%q,verdict=%q} = %v, want at least 1", want.node, want.policy, want.verdict, n)
			}
		}
	})
}
