package e2e

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/testenv"
)

// inPod runs a command in a pod through node's API and returns its output
// and exit code.
func inPod(t testing.TB, c *testenv.Cluster, node, pod string, argv ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	code, err := client(t, c, node).Exec(ctx, "default", pod, api.ExecOptions{Command: argv, Stdout: &out, Stderr: &out})
	if err != nil {
		return err.Error(), -1
	}
	return out.String(), code
}

// fetch is wget from inside a pod: the body, or "" when it failed
// (without -T: busybox 1.35's static wget crashes with it here).
func fetch(t testing.TB, c *testenv.Cluster, pod, url string) string {
	out, code := inPod(t, c, "node1", pod, "wget", "-q", "-O-", url)
	if code != 0 {
		return ""
	}
	return out
}

const netClient = `apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: node1
  containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
`

// TestPodNetworkAcrossNodes: pods on different nodes reach each other by
// pod IP (host-gw routes kept from the routing table), and a pod gets the
// service environment variables of its namespace.
func TestPodNetworkAcrossNodes(t *testing.T) {
	c := startRig(t, 3, func(cfg *testenv.Config) {
		cfg.Labels = map[string]map[string]string{"node2": {"zone": "b"}, "node3": {"zone": "c"}}
	})
	push(t, c, map[string]string{
		"web-b.yaml": strings.Replace(podYAML("web-b", "  nodeSelector: {zone: b}\n"), "labels: {app: web-b}", "labels: {app: web}", 1),
		"web-c.yaml": strings.Replace(podYAML("web-c", "  nodeSelector: {zone: c}\n"), "labels: {app: web-c}", "labels: {app: web}", 1),
		"svc.yaml": `apiVersion: v1
kind: Service
metadata: {name: web-front}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 8080}]
`,
		"client.yaml": netClient,
	}, "two web pods on two nodes, a service, a client on a third")
	waitFor(t, 90*time.Second, "web-b, web-c and client running", func() bool {
		ps := pods(c, t, "node1")
		return runningOn(ps, "web-b", "node2") && runningOn(ps, "web-c", "node3") && runningOn(ps, "client", "node1")
	})
	ps := mustPods(c, t, "node1")
	for _, name := range []string{"web-b", "web-c"} {
		ip := find(ps, name)[0].Status.PodIP
		url := fmt.Sprintf("http://%s:8080/", ip)
		var body string
		waitFor(t, 20*time.Second, "client on node1 reaching "+name+" at "+ip, func() bool {
			body = fetch(t, c, "client", url)
			return strings.Contains(body, "hello from "+name)
		})
	}
	// The cluster DNS on node1 answers the client: the service's cluster
	// IP by its short name, the ready pods' addresses for the headless one.
	env, code := inPod(t, c, "node1", "client", "env")
	clusterIP := ""
	for _, l := range strings.Split(env, "\n") {
		if v, ok := strings.CutPrefix(l, "WEB_FRONT_SERVICE_HOST="); ok {
			clusterIP = v
		}
	}
	// (busybox nslookup tries every search domain and exits 1 when any
	// fails: the answer is what counts.)
	out, code2 := inPod(t, c, "node1", "client", "busybox", "nslookup", "web-front")
	if clusterIP == "" || !strings.Contains(out, "web-front.default.svc.cluster.local") || !strings.Contains(out, clusterIP) {
		t.Fatalf("nslookup web-front (exit %d), want %q:\n%s", code2, clusterIP, out)
	}
	waitFor(t, 20*time.Second, "the headless service answering both ready pods", func() bool {
		out, _ := inPod(t, c, "node1", "client", "busybox", "nslookup", "web-headless.default.svc.cluster.local")
		return strings.Contains(out, find(ps, "web-b")[0].Status.PodIP) && strings.Contains(out, find(ps, "web-c")[0].Status.PodIP)
	})
	if code != 0 || !strings.Contains(env, "WEB_FRONT_SERVICE_HOST=10.") || !strings.Contains(env, "WEB_FRONT_SERVICE_PORT_HTTP=80") ||
		!strings.Contains(env, "WEB_FRONT_PORT_80_TCP_PROTO=tcp") {
		t.Fatalf("client's environment (exit %d):\n%s", code, env)
	}
}
