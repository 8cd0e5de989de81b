package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/reconciler/rollout"
	"github.com/shoal-run/shoal/testenv"
)

// TestGitPushRunsPodsAcrossTheCluster: three nodes, a git push of Pods,
// each pod running on the node its nodeSelector names; every node answers
// for the whole cluster (listing, logs and exec forwarded to the pod's
// node); a forged webhook is refused; a commit that does not load is
// reported and changes nothing.
func TestGitPushRunsPodsAcrossTheCluster(t *testing.T) {
	c := startRig(t, 3, func(cfg *testenv.Config) {
		cfg.Labels = map[string]map[string]string{"node2": {"zone": "b"}, "node3": {"zone": "c"}}
		cfg.GitPollInterval = time.Minute // the webhook must do it
	})
	sha := push(t, c, map[string]string{
		"web.yaml":   podYAML("web", "  nodeSelector: {zone: b}\n"),
		"api.yaml":   podYAML("api", "  nodeSelector: {zone: c}\n"),
		"nodes.yaml": "apiVersion: v1\nkind: Node\nmetadata:\n  name: node1\n  labels: {tier: front}\n",
		"mars.yaml":  podYAML("mars", "  nodeSelector: {zone: mars}\n"),
	}, "two pods, and one that fits nowhere")

	waitFor(t, 60*time.Second, "web on node2 and api on node3, as seen from node1", func() bool {
		ps := pods(c, t, "node1")
		return runningOn(ps, "web", "node2") && runningOn(ps, "api", "node3")
	})
	// Every node gives the same answer (node3 forwards to the leader).
	ps := mustPods(c, t, "node3")
	if !runningOn(ps, "web", "node2") || !runningOn(ps, "api", "node3") || len(ps) != 3 {
		t.Fatalf("node3's listing: %v", podNames(ps))
	}
	// The pod that fits nowhere is Pending, with the scheduler's reason in
	// its condition and in a FailedScheduling event.
	if m := find(ps, "mars"); len(m) != 1 || m[0].Status.Phase != corev1.PodPending || len(m[0].Status.Conditions) == 0 ||
		!strings.Contains(m[0].Status.Conditions[0].Message, "didn't match Pod's node affinity/selector") {
		t.Fatalf("mars: %+v", m)
	}
	waitFor(t, 10*time.Second, "a FailedScheduling event for mars, and web's Started from node2", func() bool {
		evs, err := client(t, c, "node3").ListEvents(context.Background(), "default")
		if err != nil {
			return false
		}
		failed, started := false, false
		for _, e := range evs {
			failed = failed || e.Reason == "FailedScheduling" && e.InvolvedObject.Name == "mars" && strings.Contains(e.Message, "0/3 nodes are available")
			started = started || e.Reason == "Started" && e.InvolvedObject.Name == "web" && e.Source.Host == "node2"
		}
		return failed && started
	})
	web := find(ps, "web")[0]
	// The pod answers on its address, from its node.
	out, err := c.Exec(context.Background(), "node2", "busybox", "wget", "-q", "-O-", "http://"+web.Status.PodIP+":8080/")
	if err != nil || !strings.Contains(string(out), "hello from web") {
		t.Fatalf("web answered %q (%v)", out, err)
	}
	// Exec through node1, on a pod of node2.
	var stdout bytes.Buffer
	code, err := client(t, c, "node1").Exec(context.Background(), "default", "web", api.ExecOptions{
		Command: []string{"cat", "/etc/hostname"}, Stdout: &stdout,
	})
	if err != nil || code != 0 || strings.TrimSpace(stdout.String()) != "web" {
		t.Fatalf("exec via node1: code %d, %q, %v", code, stdout.String(), err)
	}
	// Nodes: the repository's Node object labels node1.
	var nodes []corev1.Node
	waitFor(t, 30*time.Second, "the node list", func() bool {
		var err error
		nodes, err = client(t, c, "node2").ListNodes(context.Background())
		return err == nil
	})
	if len(nodes) != 3 {
		t.Fatalf("nodes: %v", nodes)
	}
	for _, n := range nodes {
		if n.Labels["kubernetes.io/hostname"] != n.Name || n.Spec.PodCIDR == "" {
			t.Errorf("node %s: labels %v, pod CIDR %q", n.Name, n.Labels, n.Spec.PodCIDR)
		}
	}
	waitFor(t, 10*time.Second, "node1 labelled by its Node object", func() bool {
		n, err := client(t, c, "node3").GetNode(context.Background(), "node1")
		return err == nil && n.Labels["tier"] == "front"
	})
	// Status: one leader, three members, the synced commit, on every node.
	for _, node := range c.NodeNames() {
		st := mustStatus(t, c, node)
		if st.Leader.Name != "node1" || len(st.Members) != 3 || st.Sync.Commit != sha || st.Sync.Error != "" {
			t.Fatalf("status on %s: %+v", node, st)
		}
	}

	// A forged webhook is refused.
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := hmac.New(sha256.New, []byte("not the secret"))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.APIAddr("node2")+"/webhook", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged webhook: %v %v", resp, err)
	}
	resp.Body.Close()

	// A webhook sent to a node that does not lead is forwarded: with the
	// rig's hook removed and polling at a minute, only the webhook sent to
	// node3 explains a quick sync.
	if err := os.Remove(filepath.Join(c.State().GitRoot, testenv.RepoName, "hooks", "post-receive")); err != nil {
		t.Fatal(err)
	}
	good := push(t, c, map[string]string{"extra.yaml": podYAML("extra", "")}, "extra pod")
	webhook(t, c, "node3")
	waitFor(t, 20*time.Second, "extra running after the forwarded webhook", func() bool {
		return runningOn(pods(c, t, "node2"), "extra", "")
	})

	// A commit that does not load: reported with its file, nothing changes.
	bad := push(t, c, map[string]string{"web.yaml": podYAML("web", "  nodeSelector: {zone: b}\n  bogusField: 1\n")}, "broken")
	webhook(t, c, "node2")
	waitFor(t, 30*time.Second, "the load error in status", func() bool {
		st := status(t, c, "node3")
		return st != nil && st.Sync.ErrorCommit == bad && strings.Contains(st.Sync.Error, "web.yaml") && st.Sync.Commit == good
	})
	ps = mustPods(c, t, "node2")
	if !runningOn(ps, "web", "node2") || find(ps, "web")[0].UID != web.UID {
		t.Fatalf("a bad commit changed web: %v", podNames(ps))
	}
}

// TestLeaderFailover: the leader is killed; another is elected within
// seconds and carries on without moving or duplicating a pod; bare pods
// of the dead node are reported failed once it is lost; the killed node
// comes back as a follower and converges.
func TestLeaderFailover(t *testing.T) {
	c := startRig(t, 3, func(cfg *testenv.Config) {
		cfg.ExtraAgentArgs = []string{"--node-lost-after", "8s"}
		cfg.GitPollInterval = time.Second
	})
	push(t, c, map[string]string{
		"a.yaml":      podYAML("a", "  nodeSelector: {kubernetes.io/hostname: node2}\n"),
		"b.yaml":      podYAML("b", "  nodeSelector: {kubernetes.io/hostname: node3}\n"),
		"pinned.yaml": podYAML("pinned", "  nodeName: node1\n"),
	}, "pods")
	waitFor(t, 60*time.Second, "a, b and pinned running", func() bool {
		ps := pods(c, t, "node2")
		return runningOn(ps, "a", "node2") && runningOn(ps, "b", "node3") && runningOn(ps, "pinned", "node1")
	})
	before := mustPods(c, t, "node2")
	// The next leader is the survivor that started first (node2 and node3
	// start at about the same time).
	next := nextLeader(t, c, "node1")

	killed := time.Now()
	if err := c.Kill(context.Background(), "node1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, next+" elected by node2 and node3", func() bool {
		return leaderOf(t, c, "node2") == next && leaderOf(t, c, "node3") == next
	})
	t.Logf("new leader %s after %v", next, time.Since(killed).Round(time.Millisecond))

	push(t, c, map[string]string{"c.yaml": podYAML("c", "")}, "one more")
	waitFor(t, 30*time.Second, "the new leader runs c", func() bool {
		return runningOn(pods(c, t, "node3"), "c", "")
	})
	after := mustPods(c, t, "node3")
	for _, name := range []string{"a", "b"} {
		was, is := find(before, name), find(after, name)
		if len(is) != 1 || is[0].UID != was[0].UID || is[0].Spec.NodeName != was[0].Spec.NodeName ||
			is[0].Status.ContainerStatuses[0].RestartCount != 0 {
			t.Fatalf("%s moved, restarted or was duplicated by the failover: before %+v, after %+v", name, was, is)
		}
	}
	if f := find(after, "c"); len(f) != 1 || f[0].Spec.NodeName == "node1" {
		t.Fatalf("c: %+v", f)
	}
	// pinned was on node1: unknown, then failed once node1 is lost.
	waitFor(t, 30*time.Second, "pinned reported Failed (NodeLost)", func() bool {
		f := find(pods(c, t, "node2"), "pinned")
		return len(f) == 1 && f[0].Status.Phase == corev1.PodFailed && f[0].Status.Reason == "NodeLost"
	})

	// node1 comes back: the new leader stays, node1 stops pinned.
	if err := c.Restart(context.Background(), "node1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "node1 back as a follower with pinned stopped", func() bool {
		if leaderOf(t, c, "node1") != next {
			return false
		}
		return len(find(localPods(t, c, "node1"), "pinned")) == 0
	})
	ps := mustPods(c, t, "node1")
	if f := find(ps, "pinned"); len(f) != 1 || f[0].Status.Phase != corev1.PodFailed {
		t.Fatalf("pinned after node1's return: %+v", f)
	}
}

// TestPartitionHeals: a node cut off keeps running its pods (and elects
// itself in its own view); meanwhile the others follow Git; once healed,
// the node converges to exactly the desired state.
func TestPartitionHeals(t *testing.T) {
	c := startRig(t, 3, func(cfg *testenv.Config) {
		cfg.GitPollInterval = time.Second
	})
	push(t, c, map[string]string{
		"p2.yaml": podYAML("p2", "  nodeSelector: {kubernetes.io/hostname: node2}\n"),
		"p3.yaml": podYAML("p3", "  nodeSelector: {kubernetes.io/hostname: node3}\n"),
	}, "pods")
	waitFor(t, 60*time.Second, "p2 and p3 running", func() bool {
		ps := pods(c, t, "node1")
		return runningOn(ps, "p2", "node2") && runningOn(ps, "p3", "node3")
	})

	if err := c.Cut("node3"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "both sides see the partition", func() bool {
		st := statusInside(t, c, "node3")
		return st != nil && st.Leader.Name == "node3" && memberState(t, c, "node1", "node3") == gossip.StateDead.String()
	})
	// The cut node keeps its pod.
	if ps, ok := localPodsInside(t, c, "node3"); !ok || len(find(ps, "p3")) != 1 {
		t.Fatalf("node3 stopped p3 while cut off: %v", podNames(ps))
	}
	// The majority follows Git: p3 goes, p4 comes.
	push(t, c, map[string]string{
		"p3.yaml": "",
		"p4.yaml": podYAML("p4", "  nodeSelector: {kubernetes.io/hostname: node1}\n"),
	}, "replace p3 by p4")
	waitFor(t, 30*time.Second, "p4 running on node1", func() bool {
		return runningOn(pods(c, t, "node1"), "p4", "node1")
	})

	if err := c.Heal("node3"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the healed cluster converged", func() bool {
		for _, n := range c.NodeNames() {
			if leaderOf(t, c, n) != "node1" {
				return false
			}
		}
		if len(find(localPods(t, c, "node3"), "p3")) != 0 {
			return false
		}
		ps := pods(c, t, "node3")
		return len(ps) == 2 && runningOn(ps, "p2", "node2") && runningOn(ps, "p4", "node1")
	})
}

// nextLeader is the eligible live member other than gone that started
// first, in node1's view.
func nextLeader(t testing.TB, c *testenv.Cluster, gone string) string {
	st := mustStatus(t, c, "node1")
	best := ""
	var start time.Time
	for _, m := range st.Members {
		if m.Name == gone || !m.Eligible {
			continue
		}
		if best == "" || m.StartTime.Before(start) || (m.StartTime.Equal(start) && m.Name < best) {
			best, start = m.Name, m.StartTime
		}
	}
	return best
}

// statusInside asks a node for its status from inside its own network
// namespace (a node cut off the lab network still answers there).
func statusInside(t testing.TB, c *testenv.Cluster, node string) *api.ClusterStatus {
	var st api.ClusterStatus
	if !getInside(t, c, node, "/api/v1/status", &st) {
		return nil
	}
	return &st
}

// localPodsInside lists a node's own pods from inside its namespace.
func localPodsInside(t testing.TB, c *testenv.Cluster, node string) ([]corev1.Pod, bool) {
	var list corev1.PodList
	if !getInside(t, c, node, "/api/v1/pods?scope=node", &list) {
		return nil, false
	}
	return list.Items, true
}

func getInside(t testing.TB, c *testenv.Cluster, node, path string, v any) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd, err := c.Command(ctx, node, "busybox", "wget", "-q", "-O-", "--header", "Authorization: Bearer "+c.Token(),
		"http://"+c.APIAddr(node)+path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.Output()
	if err != nil {
		return false
	}
	return json.Unmarshal(out, v) == nil
}

// webhook sends node a push event signed with the rig's secret, as a Git
// host would.
func webhook(t testing.TB, c *testenv.Cluster, node string) {
	t.Helper()
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := hmac.New(sha256.New, []byte(c.WebhookSecret()))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.APIAddr(node)+"/webhook", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook to %s: %s", node, resp.Status)
	}
}

func memberState(t testing.TB, c *testenv.Cluster, from, member string) string {
	st := status(t, c, from)
	if st == nil {
		return ""
	}
	for _, m := range st.Members {
		if m.Name == member {
			return m.State
		}
	}
	return ""
}

// TestWrongKeyIsRefused: an agent with another cluster key cannot join,
// says why, and the cluster does not see it.
func TestWrongKeyIsRefused(t *testing.T) {
	c := startRig(t, 2, nil)
	dir := t.TempDir()
	key, _ := gossip.GenerateKey()
	keyFile := filepath.Join(dir, "other.key")
	if err := gossip.WriteKeyFile(keyFile, key); err != nil {
		t.Fatal(err)
	}
	n2 := c.Node(2)
	addr := strings.Split(n2.Addr, "/")[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd, err := c.Command(ctx, "node2", filepath.Join(binDir, "shoal"), "agent", "--name", "intruder",
		"--bind", addr+":7950", "--api", addr+":7951", "--join", c.Node(1).Gossip,
		"--cluster-key-file", keyFile, "--data-dir", filepath.Join(dir, "data"),
		"--cgroup-parent", "/shoal/e2e-intruder", "--bridge", "intr0")
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	waitFor(t, 20*time.Second, "the intruder says why it cannot join", func() bool {
		return strings.Contains(log.String(), "the cluster key is wrong")
	})
	for _, n := range c.NodeNames() {
		if st := mustStatus(t, c, n); len(st.Members) != 2 {
			t.Fatalf("%s sees %+v", n, st)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func podNames(ps []corev1.Pod) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name+"@"+p.Spec.NodeName+"/"+string(p.Status.Phase))
	}
	return out
}

// TestReplicaSetOnTheCluster: a ReplicaSet and a ReplicationController
// from Git keep their replica counts, spread over the nodes, and follow
// scaling and removal.
func TestReplicaSetOnTheCluster(t *testing.T) {
	c := startRig(t, 3, func(cfg *testenv.Config) { cfg.GitPollInterval = time.Second })
	rs := func(n int) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: testapp:test}]
`, n)
	}
	const rc = `apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers: [{name: app, image: busybox, command: [sleep, "3600"]}]
`
	owned := func(ps []corev1.Pod, owner string) (running int, nodes map[string]int) {
		nodes = map[string]int{}
		for _, p := range ps {
			if len(p.OwnerReferences) == 1 && p.OwnerReferences[0].Name == owner && p.Status.Phase == corev1.PodRunning {
				running++
				nodes[p.Spec.NodeName]++
			}
		}
		return running, nodes
	}
	// Every node Ready before the first push, as a user would see it.
	waitFor(t, 30*time.Second, "every node Ready", func() bool {
		nodes, err := client(t, c, "node1").ListNodes(context.Background())
		if err != nil || len(nodes) != 3 {
			return false
		}
		for _, n := range nodes {
			if len(n.Status.Conditions) == 0 || n.Status.Conditions[0].Status != corev1.ConditionTrue {
				return false
			}
		}
		return true
	})
	push(t, c, map[string]string{"web.yaml": rs(3), "legacy.yaml": rc}, "replica sets")
	waitFor(t, 60*time.Second, "3 web pods and 2 legacy pods", func() bool {
		ps := pods(c, t, "node2")
		n, _ := owned(ps, "web")
		l, _ := owned(ps, "legacy")
		return n == 3 && l == 2 && len(ps) == 5
	})
	// By now the leader has every node's Ready report: new pods spread to
	// the nodes with fewest of them.
	push(t, c, map[string]string{"web.yaml": rs(5)}, "scale up")
	waitFor(t, 60*time.Second, "5 web pods on the three nodes", func() bool {
		n, nodes := owned(pods(c, t, "node1"), "web")
		return n == 5 && len(nodes) == 3
	})
	push(t, c, map[string]string{"web.yaml": rs(1)}, "scale down")
	waitFor(t, 60*time.Second, "1 web pod left", func() bool {
		ps := pods(c, t, "node3")
		n, _ := owned(ps, "web")
		return n == 1 && len(find(ps, "web")) == 0 && len(ps) == 3
	})
	// Quarantine the last web pod (asked of node3, forwarded to the
	// leader): a replacement comes, the pod keeps running; then delete it.
	var last string
	for _, p := range mustPods(c, t, "node3") {
		if len(p.OwnerReferences) == 1 && p.OwnerReferences[0].Name == "web" {
			last = p.Name
		}
	}
	if err := client(t, c, "node3").QuarantinePod(context.Background(), "default", last); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "a replacement beside the quarantined pod", func() bool {
		ps := pods(c, t, "node1")
		n, _ := owned(ps, "web")
		q := find(ps, last)
		return n == 1 && len(q) == 1 && len(q[0].OwnerReferences) == 0 && q[0].Status.Phase == corev1.PodRunning && q[0].Labels["shoal.run/quarantined"] == "true"
	})
	if err := client(t, c, "node2").DeletePod(context.Background(), "default", last); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the quarantined pod gone", func() bool {
		ps := pods(c, t, "node1")
		return ps != nil && len(find(ps, last)) == 0
	})
	push(t, c, map[string]string{"web.yaml": "", "legacy.yaml": ""}, "remove them")
	waitFor(t, 60*time.Second, "no pods left", func() bool {
		ps := pods(c, t, "node1")
		return ps != nil && len(ps) == 0
	})
}

// TestDaemonSetOnTheCluster: a DaemonSet runs one pod on every node its
// nodeSelector accepts, cordoned nodes included.
func TestDaemonSetOnTheCluster(t *testing.T) {
	c := startRig(t, 3, func(cfg *testenv.Config) {
		cfg.GitPollInterval = time.Second
		cfg.Labels = map[string]map[string]string{"node2": {"disk": "ssd"}}
	})
	const ds = `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: app, image: busybox, command: [sleep, "3600"]}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ssd}
spec:
  selector: {matchLabels: {app: ssd}}
  template:
    metadata: {labels: {app: ssd}}
    spec:
      nodeSelector: {disk: ssd}
      containers: [{name: app, image: busybox, command: [sleep, "3600"]}]
---
apiVersion: v1
kind: Node
metadata: {name: node3}
spec: {unschedulable: true}
`
	push(t, c, map[string]string{"ds.yaml": ds}, "daemon sets")
	waitFor(t, 60*time.Second, "agent on every node, ssd on node2 only", func() bool {
		ps := pods(c, t, "node1")
		agents := map[string]bool{}
		var ssd []string
		for _, p := range ps {
			if p.Status.Phase != corev1.PodRunning || len(p.OwnerReferences) != 1 {
				continue
			}
			switch p.OwnerReferences[0].Name {
			case "agent":
				agents[p.Spec.NodeName] = true
			case "ssd":
				ssd = append(ssd, p.Spec.NodeName)
			}
		}
		return len(agents) == 3 && agents["node3"] && len(ssd) == 1 && ssd[0] == "node2"
	})
	waitFor(t, 30*time.Second, "node3 cordoned", func() bool {
		n3, err := client(t, c, "node1").GetNode(context.Background(), "node3")
		return err == nil && n3.Spec.Unschedulable
	})

	// The real client shows them as kubectl does, from any node, and a
	// daemon pod's description ends with its node's events.
	waitCLI(t, c, "node2", 30*time.Second, []string{"get", "daemonsets"},
		"NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE\n",
		"\nagent 3 3 3 3 3 <none> ", "\nssd 1 1 1 1 1 disk=ssd ")
	waitCLI(t, c, "node3", 30*time.Second, []string{"describe", "ds", "ssd"},
		"Node-Selector: disk=ssd\n", "Desired Number of Nodes Scheduled: 1\n",
		"Pods Status: 1 Running / 0 Waiting / 0 Succeeded / 0 Failed\n", "Image: busybox\n", "\nEvents:")
	var ssdPod string
	for _, p := range mustPods(c, t, "node1") {
		if len(p.OwnerReferences) == 1 && p.OwnerReferences[0].Name == "ssd" {
			ssdPod = p.Name
		}
	}
	waitCLI(t, c, "node1", 30*time.Second, []string{"describe", "pod", ssdPod},
		"Controlled By: DaemonSet/ssd\n", "\nEvents:\n Type Reason Age From Message\n", " Normal Started ", " Started container app\n")

	// A new template rolls out node by node (maxUnavailable 1).
	hashes := func(ps []corev1.Pod) (byHash map[string]int, ready int) {
		byHash = map[string]int{}
		for _, p := range ps {
			if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Name != "agent" {
				continue
			}
			byHash[p.Labels["controller-revision-hash"]]++
			for _, cd := range p.Status.Conditions {
				if cd.Type == corev1.PodReady && cd.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return byHash, ready
	}
	before, _ := hashes(mustPods(c, t, "node1"))
	push(t, c, map[string]string{"ds.yaml": strings.Replace(ds, `command: [sleep, "3600"]`, `command: [sleep, "3601"]`, 1)}, "new agent template")
	minReady := 3
	waitFor(t, 60*time.Second, "every node on the new template", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ps, err := client(t, c, "node1").ListPods(ctx, "")
		if err != nil {
			return false
		}
		byHash, ready := hashes(ps)
		minReady = min(minReady, ready)
		for h, n := range byHash {
			if before[h] == 0 && n == 3 && ready == 3 {
				return true
			}
		}
		return false
	})
	if minReady < 1 {
		t.Fatalf("as few as %d Ready agent pods during the update", minReady)
	}
}

// TestDeploymentRollingUpdate: a Deployment's template change rolls out
// through a new ReplicaSet, never below replicas - maxUnavailable Ready pods
// nor above replicas + maxSurge pods, and going back to the old template
// rolls back.
func TestDeploymentRollingUpdate(t *testing.T) {
	c := startRig(t, 3, func(cfg *testenv.Config) { cfg.GitPollInterval = time.Second })
	deploy := func(version string) string {
		return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: testapp:test
        env: [{name: VERSION, value: "%s"}]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /ready, port: http}
          periodSeconds: 1
`, version)
	}
	// web pods by pod-template-hash: total and Ready.
	census := func(ps []corev1.Pod) (total, ready int, byHash map[string]int) {
		byHash = map[string]int{}
		for _, p := range ps {
			if p.Labels["app"] != "web" || p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
				continue
			}
			total++
			byHash[p.Labels["pod-template-hash"]]++
			for _, cd := range p.Status.Conditions {
				if cd.Type == corev1.PodReady && cd.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return total, ready, byHash
	}
	push(t, c, map[string]string{"web.yaml": deploy("1")}, "web v1")
	var v1 string
	waitFor(t, 60*time.Second, "3 Ready pods of v1", func() bool {
		total, ready, byHash := census(pods(c, t, "node1"))
		for h := range byHash {
			v1 = h
		}
		return total == 3 && ready == 3 && len(byHash) == 1
	})

	push(t, c, map[string]string{"web.yaml": deploy("2")}, "web v2")
	var v2 string
	maxTotal, minReady := 0, 3
	waitFor(t, 120*time.Second, "3 Ready pods of v2 and none of v1", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ps, err := client(t, c, "node1").ListPods(ctx, "")
		if err != nil {
			return false // a listing that failed says nothing of the pods
		}
		total, ready, byHash := census(ps)
		maxTotal, minReady = max(maxTotal, total), min(minReady, ready)
		for h := range byHash {
			if h != v1 {
				v2 = h
			}
		}
		return v2 != "" && byHash[v2] == 3 && byHash[v1] == 0 && ready == 3
	})
	// Pods that are stopping are still listed for a moment, so the total
	// may show one over the surge; Ready never drops under 3.
	if minReady < 3 || maxTotal > 5 {
		t.Fatalf("during the rollout: as few as %d Ready pods (want 3), as many as %d pods", minReady, maxTotal)
	}

	// The rollout is complete in the Deployment's status, as `shoal rollout
	// status` reads it.
	var status bytes.Buffer
	if err := rolloutStatusForTest(c, t, &status); err != nil {
		t.Fatalf("rollout status: %v\n%s", err, status.String())
	}

	// The rollout shows in the events.
	waitFor(t, 10*time.Second, "ScalingReplicaSet events of both ReplicaSets", func() bool {
		evs, err := client(t, c, "node2").ListEvents(context.Background(), "default")
		if err != nil {
			return false
		}
		up, down := false, false
		for _, e := range evs {
			if e.Reason == "ScalingReplicaSet" && e.InvolvedObject.Name == "web" {
				up = up || strings.Contains(e.Message, "Scaled up replica set web-"+v2)
				down = down || strings.Contains(e.Message, "Scaled down replica set web-"+v1)
			}
		}
		return up && down
	})

	// Undo through Git: `shoal rollout undo` in a clone, then a push.
	work := t.TempDir()
	gitCmd(t, "", "clone", "-q", c.GitURL(), work)
	r, err := rollout.Open(work, ".")
	if err != nil {
		t.Fatal(err)
	}
	if _, rev, err := r.Undo("default", "web", 0); err != nil || rev.Number != 1 {
		t.Fatalf("undo: revision %d, %v", rev.Number, err)
	}
	gitCmd(t, work, "push", "-q", "origin", "HEAD:main")
	waitFor(t, 120*time.Second, "back on v1's ReplicaSet", func() bool {
		total, ready, byHash := census(pods(c, t, "node1"))
		return total == 3 && ready == 3 && byHash[v1] == 3
	})
}

// TestJobsOnTheCluster: a parallel Job runs exactly its completions, a
// failing one stops at its backoffLimit, and a sequential Job neither
// reruns nor loses a completion when the leader is killed during it.
func TestJobsOnTheCluster(t *testing.T) {
	c := startRig(t, 3, func(cfg *testenv.Config) { cfg.GitPollInterval = time.Second })
	const jobs = `apiVersion: batch/v1
kind: Job
metadata: {name: par}
spec:
  completions: 4
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: [sh, -c, "echo done"]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: bad}
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: [sh, -c, "exit 3"]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: seq}
spec:
  completions: 3
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: [sh, -c, "sleep 2"]}]
`
	phases := func(ps []corev1.Pod, job string) (succeeded, failed, other int) {
		for _, p := range ps {
			if p.Labels["job-name"] != job {
				continue
			}
			switch p.Status.Phase {
			case corev1.PodSucceeded:
				succeeded++
			case corev1.PodFailed:
				failed++
			default:
				other++
			}
		}
		return
	}
	push(t, c, map[string]string{"jobs.yaml": jobs}, "jobs")
	waitFor(t, 60*time.Second, "seq's first completion", func() bool {
		s, _, _ := phases(pods(c, t, "node2"), "seq")
		return s >= 1
	})
	leader := leaderOf(t, c, "node2")
	if leader == "" {
		t.Fatal("no leader")
	}
	next := nextLeader(t, c, leader)
	if err := c.Kill(context.Background(), leader); err != nil {
		t.Fatal(err)
	}
	var survivor string
	for _, n := range c.NodeNames() {
		if n != leader {
			survivor = n
		}
	}
	waitFor(t, 30*time.Second, "a new leader", func() bool { return leaderOf(t, c, survivor) == next })
	if err := c.Restart(context.Background(), leader); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 120*time.Second, "every job finished", func() bool {
		ps := pods(c, t, survivor)
		ps1, _, po := phases(ps, "par")
		_, bf, bo := phases(ps, "bad")
		ss, sf, so := phases(ps, "seq")
		return ps1 == 4 && po == 0 && bf == 2 && bo == 0 && ss == 3 && sf == 0 && so == 0
	})
	// The real client shows their status, and a Job's description ends
	// with its events (those of a leader killed since are gone with it).
	waitCLI(t, c, "node3", 30*time.Second, []string{"get", "jobs"},
		"NAME STATUS COMPLETIONS DURATION AGE\n", "\nbad Failed 0/1 ", "\npar Complete 4/4 ", "\nseq Complete 3/3 ")
	waitCLI(t, c, "node1", 30*time.Second, []string{"describe", "job", "bad"},
		"Backoff Limit: 1\n", "Pods Statuses: 0 Active (0 Ready) / 0 Succeeded / 2 Failed\n",
		" Failed True BackoffLimitExceeded Job has reached the specified backoff limit\n", "\nEvents:")
	waitCLI(t, c, "node2", 30*time.Second, []string{"get", "jobs", "par", "-o", "name"}, "job.batch/par\n")

	// And nothing more starts.
	ps := mustPods(c, t, survivor)
	if s, f, o := phases(ps, "par"); s != 4 || f != 0 || o != 0 {
		t.Fatalf("par: %d succeeded, %d failed, %d other", s, f, o)
	}
	if s, _, _ := phases(ps, "seq"); s != 3 {
		t.Fatalf("seq ran %d times across the leader change, want 3", s)
	}
}

// TestCronJobAcrossALeaderKill: a CronJob keeps firing, once per schedule
// time, when the leader is killed; its history is trimmed.
func TestCronJobAcrossALeaderKill(t *testing.T) {
	c := startRig(t, 3, func(cfg *testenv.Config) { cfg.GitPollInterval = time.Second })
	const cj = `apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "@every 4s"
  successfulJobsHistoryLimit: 2
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox, command: [sh, -c, "echo tick"]}]
`
	// runs are the CronJob's pods by Job name.
	runs := func(ps []corev1.Pod) map[string][]corev1.Pod {
		out := map[string][]corev1.Pod{}
		for _, p := range ps {
			if j := p.Labels["job-name"]; strings.HasPrefix(j, "tick-") {
				out[j] = append(out[j], p)
			}
		}
		return out
	}
	push(t, c, map[string]string{"cron.yaml": cj}, "cron job")
	seen := map[string]bool{}
	waitFor(t, 60*time.Second, "two runs succeeded", func() bool {
		n := 0
		for job, ps := range runs(pods(c, t, "node2")) {
			seen[job] = true
			if len(ps) == 1 && ps[0].Status.Phase == corev1.PodSucceeded {
				n++
			}
		}
		return n >= 2
	})
	leader := leaderOf(t, c, "node2")
	next := nextLeader(t, c, leader)
	before := len(seen)
	if err := c.Kill(context.Background(), leader); err != nil {
		t.Fatal(err)
	}
	var survivor string
	for _, n := range c.NodeNames() {
		if n != leader {
			survivor = n
		}
	}
	waitFor(t, 30*time.Second, "a new leader", func() bool { return leaderOf(t, c, survivor) == next })
	waitFor(t, 60*time.Second, "two more runs under the new leader", func() bool {
		for job := range runs(pods(c, t, survivor)) {
			seen[job] = true
		}
		return len(seen) >= before+2
	})
	for job, ps := range runs(mustPods(c, t, survivor)) {
		if len(ps) != 1 {
			t.Fatalf("job %s has %d pods", job, len(ps))
		}
	}
	// History: two successful runs kept, plus the running ones (a run
	// whose pod was on the killed node stays running, its node unreachable,
	// as in Kubernetes until the node is declared lost).
	succeeded := 0
	for _, ps := range runs(mustPods(c, t, survivor)) {
		if ps[0].Status.Phase == corev1.PodSucceeded && ps[0].Spec.NodeName != leader {
			succeeded++
		}
	}
	if succeeded > 3 {
		t.Fatalf("%d succeeded runs kept, the history limit is 2", succeeded)
	}
}

// TestPruneOptOutOnTheCluster: of two Deployments removed from Git in one
// commit, the plain one stops and the one annotated shoal.run/prune:
// "false" keeps running, listed by every node's status, until shoal
// delete (asked of a node that may not lead) removes it.
func TestPruneOptOutOnTheCluster(t *testing.T) {
	c := startRig(t, 2, func(cfg *testenv.Config) { cfg.GitPollInterval = time.Second })
	deploy := func(name, annotations string) string {
		return testenv.DeploymentYAML(name, annotations, `{name: app, image: busybox, command: [sleep, "3600"]}`)
	}
	running := func(ps []corev1.Pod, prefix string) int {
		n := 0
		for _, p := range ps {
			if strings.HasPrefix(p.Name, prefix+"-") && p.Status.Phase == corev1.PodRunning {
				n++
			}
		}
		return n
	}
	push(t, c, map[string]string{
		"apps.yaml": deploy("kept", `shoal.run/prune: "false"`) + "---\n" + deploy("plain", ""),
		"cfg.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n",
	}, "two deployments")
	waitFor(t, 90*time.Second, "both Deployments running", func() bool {
		ps := pods(c, t, "node1")
		return running(ps, "kept") == 1 && running(ps, "plain") == 1
	})
	removed := push(t, c, map[string]string{"apps.yaml": ""}, "remove both")
	waitFor(t, 60*time.Second, "the plain Deployment stopped, the kept one running", func() bool {
		ps := pods(c, t, "node2")
		st := status(t, c, "node2")
		return ps != nil && running(ps, "plain") == 0 && len(find(ps, "plain")) == 0 && running(ps, "kept") == 1 &&
			st != nil && st.Sync.Commit == removed
	})
	waitFor(t, 30*time.Second, "every node's status lists the kept Deployment", func() bool {
		for _, node := range c.NodeNames() {
			st := status(t, c, node)
			if st == nil || len(st.Kept) != 1 || st.Kept[0].Name != "kept" || st.Kept[0].RemovedCommit != removed {
				return false
			}
		}
		return true
	})
	ctx := context.Background()
	deployments, _ := api.ResourceFor("deployment")
	configMaps, _ := api.ResourceFor("configmap")
	if err := client(t, c, "node2").DeleteObject(ctx, configMaps, "default", "cfg"); !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), "is in Git at cfg.yaml") {
		t.Fatalf("delete of a ConfigMap in Git: %v", err)
	}
	if err := client(t, c, "node2").DeleteObject(ctx, deployments, "default", "kept"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the kept Deployment stopped and unlisted", func() bool {
		ps := pods(c, t, "node1")
		st := status(t, c, "node1")
		return ps != nil && len(ps) == 0 && st != nil && len(st.Kept) == 0
	})
	if err := client(t, c, "node1").DeleteObject(ctx, deployments, "default", "kept"); !errors.Is(err, api.ErrNotFound) {
		t.Fatalf("deleting it again: %v", err)
	}
}
