package reconciler

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/gossip/transport"
	"github.com/shoal-run/shoal/reconciler/events"
	"github.com/shoal-run/shoal/reconciler/gitsource"
	"github.com/shoal-run/shoal/testenv"
)

var testKey = bytes.Repeat([]byte{9}, 32)

func testLogger() *slog.Logger {
	if os.Getenv("RECONCILER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// member is one in-process node of a test cluster: real gossip, the real
// transport endpoints on a loopback server, and a reconciler that runs
// while it leads. It runs no containers: its status reports every pod of
// its last desired state as Running, which is all the reconciler reads.
type member struct {
	name     string
	labels   map[string]string
	cluster  *gossip.Cluster
	recv     *transport.Receiver
	rec      *Reconciler
	events   *events.Store
	srv      *httptest.Server
	cancel   context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	accepted []transport.NodeState
}

func (m *member) status() (transport.NodeStatus, bool) {
	info := &corev1.Node{}
	info.Name, info.Labels = m.name, m.labels
	info.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")}
	info.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	st := transport.NodeStatus{Node: m.name, NodeInfo: info, Time: time.Now()}
	if ds, ok := m.recv.State(); ok {
		st.Term, st.Generation = ds.Term, ds.Generation
		for _, p := range ds.Pods {
			p.Status.Phase = corev1.PodRunning
			st.Pods = append(st.Pods, p)
		}
	}
	return st, true
}

// pods returns the names of the pods in the member's last accepted state.
func (m *member) pods() []string {
	st, ok := m.recv.State()
	if !ok {
		return nil
	}
	var out []string
	for _, p := range st.Pods {
		out = append(out, p.Name)
	}
	return out
}

// stop kills the member without a goodbye, as a crash would.
func (m *member) stop() {
	m.cancel()
	<-m.done
	m.cluster.Shutdown()
	m.srv.Close()
}

// startMember starts member name; opts change its reconciler's Config.
func startMember(t *testing.T, name string, start time.Time, join string, repoURL string, labels map[string]string, opts ...func(*Config)) *member {
	t.Helper()
	m := &member{name: name, labels: labels, done: make(chan struct{})}
	mux := http.NewServeMux()
	m.srv = httptest.NewServer(mux)
	gc := gossip.LocalConfig(name)
	gc.ClusterKey, gc.StartTime, gc.Logger = testKey, start, testLogger()
	gc.APIAddr = m.srv.Listener.Addr().String()
	ml := *gc.Memberlist
	ml.ProbeInterval, ml.ProbeTimeout, ml.GossipInterval, ml.PushPullInterval = 200*time.Millisecond, 100*time.Millisecond, 50*time.Millisecond, 2*time.Second
	gc.Memberlist = &ml
	if join != "" {
		gc.Join = []string{join}
	}
	var err error
	if m.cluster, err = gossip.New(gc); err != nil {
		t.Fatal(err)
	}
	statuses := NewStatuses()
	if m.recv, err = transport.NewReceiver(transport.ReceiverConfig{
		ClusterKey: testKey, Leader: transport.LeaderOf(m.cluster), Node: name, Logger: testLogger(),
		Apply: func(st transport.NodeState) {
			m.mu.Lock()
			m.accepted = append(m.accepted, st)
			m.mu.Unlock()
		},
	}); err != nil {
		t.Fatal(err)
	}
	ss, err := transport.NewStatusServer(transport.StatusServerConfig{ClusterKey: testKey, Report: statuses.Report, Local: m.status, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(transport.DesiredPath, m.recv)
	mux.Handle(transport.StatusPath, ss)
	client, err := transport.NewClient(transport.ClientConfig{ClusterKey: testKey, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	scfg := gitsource.DefaultConfig(repoURL)
	scfg.CacheDir, scfg.PollInterval, scfg.MaxBackoff, scfg.Logger = t.TempDir(), 100*time.Millisecond, 300*time.Millisecond, testLogger()
	src, err := gitsource.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	m.events = events.New(events.Config{Component: "shoal-reconciler"})
	cfg := Config{
		Cluster: m.cluster, Transport: client, Source: src, Statuses: statuses, Events: m.events,
		Interval: 100 * time.Millisecond, NodeLostAfter: 3 * time.Second, Logger: testLogger().With("member", name),
	}
	for _, o := range opts {
		o(&cfg)
	}
	if m.rec, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		_ = m.cluster.WhileLeader(ctx, m.rec.Lead)
	}()
	// A node reports its status to the leader, as the agent does.
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			l := m.cluster.Leader()
			if l.Term == "" {
				continue
			}
			st, _ := m.status()
			rctx, c := context.WithTimeout(ctx, time.Second)
			_ = client.ReportStatus(rctx, l.Leader.APIAddr, st)
			c()
		}
	}()
	t.Cleanup(func() {
		select {
		case <-m.done:
		default:
			m.stop()
		}
	})
	return m
}

// startThree starts members a, b and c, in that order of age (a leads
// first), with their labels by name.
func startThree(t *testing.T, repoURL string, labels map[string]map[string]string, opts ...func(*Config)) (a, b, c *member) {
	base := time.Now()
	a = startMember(t, "a", base, "", repoURL, labels["a"], opts...)
	join := a.cluster.LocalMember().Addr.String()
	b = startMember(t, "b", base.Add(time.Millisecond), join, repoURL, labels["b"], opts...)
	c = startMember(t, "c", base.Add(2*time.Millisecond), join, repoURL, labels["c"], opts...)
	return a, b, c
}

// gitRepo is a bare repository over smart HTTP and a working copy.
type gitRepo struct {
	t    *testing.T
	srv  *testenv.GitServer
	url  string
	work string
}

func newGitRepo(t *testing.T) *gitRepo {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not installed")
	}
	root := t.TempDir()
	if _, err := testenv.InitBareRepo(root, "c.git"); err != nil {
		t.Fatal(err)
	}
	srv, err := testenv.StartGitServer("127.0.0.1:0", root, "", "")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { srv.Close() })
	r := &gitRepo{t: t, srv: srv, url: srv.URL("c.git"), work: t.TempDir()}
	r.git("init", "-q", "-b", "main", ".")
	r.git("remote", "add", "origin", r.url)
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.work
	cmd.Env = []string{"HOME=" + r.work, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"),
		"GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *gitRepo) push(file, content, msg string) string {
	r.t.Helper()
	commit := r.commit(map[string]string{file: content}, msg)
	r.git("push", "-q", "origin", "main")
	return commit
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const twoPods = `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  nodeSelector: {zone: b}
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: any}
spec:
  containers: [{name: c, image: busybox}]
`

// TestLeaderPlacesFailsOverAndKeepsLastGoodCommit runs three members over
// real gossip, transport and Git: the leader places the pods and pushes
// them; a bad commit is recorded and changes nothing; when the leader
// dies, the next one takes over without moving or duplicating a pod.
func TestLeaderPlacesFailsOverAndKeepsLastGoodCommit(t *testing.T) {
	repo := newGitRepo(t)
	good := repo.push("pods.yaml", twoPods, "two pods")
	a, b, c := startThree(t, repo.url, map[string]map[string]string{"a": {"zone": "a"}, "b": {"zone": "b"}, "c": {"zone": "c"}})
	all := []*member{a, b, c}

	// Every node gets a pod CIDR; web runs on b (zone=b); "any" on exactly
	// one node.
	count := func(ms []*member, pod string) (n int, where string) {
		for _, m := range ms {
			for _, p := range m.pods() {
				if p == pod {
					n++
					where = m.name
				}
			}
		}
		return n, where
	}
	waitFor(t, 15*time.Second, "both pods placed", func() bool {
		nw, w := count(all, "web")
		na, _ := count(all, "any")
		return nw == 1 && w == "b" && na == 1
	})
	waitFor(t, 5*time.Second, "every ledger holds every node's pod CIDR", func() bool {
		cidrs := map[string]bool{}
		for _, m := range all {
			for _, o := range all {
				c, ok := PodCIDR(o.cluster.Ledger(), m.name)
				if !ok {
					return false
				}
				cidrs[c] = true
			}
		}
		return len(cidrs) == len(all) // the same three, distinct
	})
	_, anyNode := count(all, "any")
	waitFor(t, 5*time.Second, "the sync recorded", func() bool {
		s := Syncs(c.cluster.Ledger())
		return len(s) == 1 && s[0].Commit == good && s[0].Error == ""
	})

	// A commit that does not load is reported and changes nothing.
	bad := repo.push("pods.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web, lables: {}}\n", "broken")
	waitFor(t, 10*time.Second, "the load error recorded", func() bool {
		s := Syncs(b.cluster.Ledger())
		return len(s) == 1 && s[0].ErrorCommit == bad && strings.Contains(s[0].Error, "pods.yaml") && s[0].Commit == good
	})
	if n, w := count(all, "web"); n != 1 || w != "b" {
		t.Fatalf("after a bad commit web runs %d times (on %s)", n, w)
	}

	// The leader dies: the next-oldest member leads and keeps every pod
	// where it is.
	a.stop()
	rest := []*member{b, c}
	waitFor(t, 15*time.Second, "b leads", func() bool {
		return b.cluster.Leader().Self && b.rec.View().Term != "" && c.cluster.Leader().Leader.Name == "b"
	})
	repo.push("pods.yaml", twoPods+"---\napiVersion: v1\nkind: Pod\nmetadata: {name: third}\nspec: {containers: [{name: c, image: busybox}]}\n", "third pod")
	waitFor(t, 15*time.Second, "the new leader applies a new commit", func() bool {
		n, _ := count(rest, "third")
		return n == 1
	})
	if n, w := count(rest, "web"); n != 1 || w != "b" {
		t.Fatalf("after failover web runs %d times (on %s)", n, w)
	}

	// Git unreachable: the error is recorded and every node keeps its
	// state.
	before := map[string][]string{"b": b.pods(), "c": c.pods()}
	repo.srv.Close()
	waitFor(t, 10*time.Second, "the unreachable repository reported", func() bool {
		s := Syncs(c.cluster.Ledger())
		return len(s) == 1 && s[0].Error != "" && s[0].ErrorCommit == "" && s[0].Commit != ""
	})
	if got := b.pods(); strings.Join(got, ",") != strings.Join(before["b"], ",") {
		t.Fatalf("b's pods changed while Git was unreachable: %v -> %v", before["b"], got)
	}
	if anyNode != "a" {
		if n, w := count(rest, "any"); n != 1 || w != anyNode {
			t.Fatalf("after failover 'any' runs %d times (on %s), was on %s", n, w, anyNode)
		}
	}
	// A bare pod on the dead node fails (NodeLost) once the node is lost,
	// and is not started elsewhere.
	if anyNode == "a" {
		waitFor(t, 15*time.Second, "the pod on the dead node reported failed", func() bool {
			for _, p := range b.rec.View().Unscheduled {
				if p.Name == "any" && p.Status.Phase == corev1.PodFailed && p.Status.Reason == "NodeLost" {
					return true
				}
			}
			return false
		})
		if n, _ := count(rest, "any"); n != 0 {
			t.Fatalf("the failed pod was started again on a live node")
		}
	}
}

func TestQuarantineAndDeletePod(t *testing.T) {
	repo := newGitRepo(t)
	repo.push("app.yaml", `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: bare}
spec: {containers: [{name: c, image: busybox}]}
`, "rs")
	a := startMember(t, "a", time.Now(), "", repo.url, nil)
	podsOf := func() map[string]corev1.Pod {
		out := map[string]corev1.Pod{}
		if st, ok := a.recv.State(); ok {
			for _, p := range st.Pods {
				out[p.Name] = p
			}
		}
		return out
	}
	waitFor(t, 15*time.Second, "two web pods and the bare one", func() bool { return len(podsOf()) == 3 })
	var victim string
	for name := range podsOf() {
		if strings.HasPrefix(name, "web-") {
			victim = name
		}
	}
	ctx := context.Background()
	if err := a.rec.Quarantine(ctx, "default", victim); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a replacement beside the quarantined pod", func() bool {
		ps := podsOf()
		q, ok := ps[victim]
		return len(ps) == 4 && ok && q.Labels[QuarantineLabel] == "true" && len(q.OwnerReferences) == 0
	})
	if err := a.rec.Quarantine(ctx, "default", "bare"); !errors.Is(err, ErrFromGit) {
		t.Fatalf("quarantine of a bare pod: %v", err)
	}
	if err := a.rec.DeletePod(ctx, "default", "bare"); !errors.Is(err, ErrFromGit) {
		t.Fatalf("delete of a bare pod: %v", err)
	}
	if err := a.rec.DeletePod(ctx, "default", "nope"); !errors.Is(err, ErrPodNotFound) {
		t.Fatalf("delete of no pod: %v", err)
	}
	if err := a.rec.DeletePod(ctx, "default", victim); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the quarantined pod gone", func() bool {
		_, ok := podsOf()[victim]
		return !ok && len(podsOf()) == 3
	})
	// Deleting a controller's pod replaces it.
	var other string
	for name := range podsOf() {
		if strings.HasPrefix(name, "web-") {
			other = name
		}
	}
	if err := a.rec.DeletePod(ctx, "default", other); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a replacement", func() bool {
		ps := podsOf()
		_, ok := ps[other]
		return !ok && len(ps) == 3
	})
}

var keptAndPlain = testenv.DeploymentYAML("kept", `shoal.run/prune: "false"`, "{name: c, image: busybox}") + "---\n" +
	testenv.DeploymentYAML("plain", "", "{name: c, image: busybox}") + `---
apiVersion: v1
kind: Pod
metadata: {name: keeper, annotations: {argocd.argoproj.io/sync-options: Prune=false}}
spec: {containers: [{name: c, image: busybox}]}
`

// TestPruneOptOut runs three members over real gossip, transport and Git:
// of two Deployments removed in one commit, the plain one's pods stop and
// the one that opts out of pruning keeps running; a commit that does not
// load changes nothing; a new leader still keeps it; deleting it stops it.
func TestPruneOptOut(t *testing.T) {
	repo := newGitRepo(t)
	repo.push("cfg.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n", "config")
	repo.push("apps.yaml", keptAndPlain, "two deployments")
	a, b, c := startThree(t, repo.url, nil)
	ctx := context.Background()

	// pods returns the pods of a Deployment that the members run.
	pods := func(ms []*member, deploy string) []string {
		var out []string
		for _, m := range ms {
			for _, p := range m.pods() {
				if strings.HasPrefix(p, deploy+"-") {
					out = append(out, p)
				}
			}
		}
		return out
	}
	all := []*member{a, b, c}
	bare := func(ms []*member) int {
		n := 0
		for _, m := range ms {
			n += strings.Count(" "+strings.Join(m.pods(), " ")+" ", " keeper ")
		}
		return n
	}
	waitFor(t, 15*time.Second, "both Deployments and the bare pod running", func() bool {
		return len(pods(all, "kept")) == 1 && len(pods(all, "plain")) == 1 && bare(all) == 1
	})
	keptPod := pods(all, "kept")[0]
	record := PrefixKept + "Deployment/default/kept"
	waitFor(t, 5*time.Second, "every ledger holds the kept Deployment's record", func() bool {
		for _, m := range all {
			if _, ok := m.cluster.Ledger().Get(record); !ok {
				return false
			}
		}
		return true
	})

	removed := repo.push("apps.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n", "remove both Deployments")
	waitFor(t, 15*time.Second, "the plain Deployment's pods stopped", func() bool {
		return a.rec.View().Revision.Commit == removed && len(pods(all, "plain")) == 0
	})
	if got := pods(all, "kept"); len(got) != 1 || got[0] != keptPod || bare(all) != 1 {
		t.Fatalf("the kept Deployment runs %v, want %s as before; the kept bare pod runs %d times", got, keptPod, bare(all))
	}
	waitFor(t, 5*time.Second, "another node lists the kept Deployment and pod", func() bool {
		k := Kept(c.cluster.Ledger())
		return len(k) == 2 && k[0].Key.Name == "kept" && k[0].RemovedCommit == removed && k[0].File == "apps.yaml" && k[1].Key.Name == "keeper"
	})
	var skipped []string
	for _, e := range a.events.List("") {
		if e.Reason == ReasonPruneSkipped {
			skipped = append(skipped, e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name+": "+e.Message)
		}
	}
	sort.Strings(skipped)
	if len(skipped) != 2 || !strings.Contains(skipped[0], "Deployment/kept: Removed from Git") || !strings.Contains(skipped[0], "shoal delete deployment kept") ||
		!strings.Contains(skipped[1], "Pod/keeper: Removed from Git") || !strings.Contains(skipped[1], "(argocd.argoproj.io/sync-options: Prune=false)") {
		t.Fatalf("PruneSkipped events %q", skipped)
	}
	if err := a.rec.Delete(ctx, "ConfigMap", "default", "cfg"); !errors.Is(err, ErrFromGit) || !strings.Contains(err.Error(), "ConfigMap/default/cfg is in Git at cfg.yaml:1: remove it there") {
		t.Fatalf("delete of a ConfigMap in Git: %v", err)
	}
	if err := a.rec.Delete(ctx, "Deployment", "default", "plain"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete of a pruned Deployment: %v", err)
	}

	// A commit that does not load changes nothing, the record included.
	before, _ := a.cluster.Ledger().Get(record)
	bad := repo.push("apps.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: kept, lables: {}}\n", "broken")
	waitFor(t, 10*time.Second, "the load error recorded", func() bool {
		s := Syncs(a.cluster.Ledger())
		return len(s) == 1 && s[0].ErrorCommit == bad
	})
	if after, _ := a.cluster.Ledger().Get(record); after.Seq != before.Seq {
		t.Fatalf("a commit that does not load rewrote the record")
	}

	// A new leader keeps it.
	a.stop()
	rest := []*member{b, c}
	more := repo.push("apps.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: more}\n", "fixed")
	waitFor(t, 15*time.Second, "b leads and applies the next commit, with the kept Deployment", func() bool {
		v := b.rec.View()
		return v.Revision.Commit == more && len(v.Deployments) == 1 && v.Deployments[0].Name == "kept"
	})
	if got := pods(rest, "kept"); len(got) != 1 || got[0] != keptPod {
		// The pod ran on a: it is replaced on b or c once a is gone.
		waitFor(t, 15*time.Second, "the kept Deployment's pod on a live node", func() bool { return len(pods(rest, "kept")) == 1 })
	}

	// shoal delete removes them for good.
	if err := b.rec.Delete(ctx, "Deployment", "default", "kept"); err != nil {
		t.Fatal(err)
	}
	if err := b.rec.DeletePod(ctx, "default", "keeper"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the kept objects' pods stopped and their records gone", func() bool {
		_, ok := c.cluster.Ledger().Get(record)
		return len(pods(rest, "kept")) == 0 && bare(rest) == 0 && !ok && len(Kept(c.cluster.Ledger())) == 0
	})
	if err := b.rec.Delete(ctx, "Deployment", "default", "kept"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting it again: %v", err)
	}
}

var hostPathPolicy = testenv.AdmissionYAML("forbidHostPath: true")

const logsAndWeb = `apiVersion: apps/v1
kind: Deployment
metadata: {name: logs}
spec:
  replicas: 1
  selector: {matchLabels: {app: logs}}
  template:
    metadata: {labels: {app: logs}}
    spec:
      containers: [{name: c, image: busybox}]
      volumes: [{name: varlog, hostPath: {path: /var/log}}]
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec: {containers: [{name: c, image: busybox}]}
`

// TestAdmissionPolicies runs three members over real gossip, transport
// and Git with an admission file: the object it refuses does not run and
// is reported (ledger record for shoal status, FailedAdmission event, the
// leader's view), the rest of the commit runs; a commit whose admission
// file does not load applies under the last good policies, on a new
// leader too, and its sync reports the file's error; a fixed file lets
// the object run.
func TestAdmissionPolicies(t *testing.T) {
	repo := newGitRepo(t)
	repo.push(".shoal/admission.yaml", hostPathPolicy, "policy")
	good := repo.push("apps.yaml", logsAndWeb, "apps")
	a, b, c := startThree(t, repo.url, nil)
	all := []*member{a, b, c}
	running := func(ms []*member, prefix string) int {
		n := 0
		for _, m := range ms {
			for _, p := range m.pods() {
				if strings.HasPrefix(p, prefix) {
					n++
				}
			}
		}
		return n
	}
	refused := func(m *member, commit string) bool {
		r, ok := Refused(m.cluster.Ledger(), "refs/heads/main")
		return ok && r.Commit == commit && r.Total == 1 && len(r.Objects) == 1 && r.Objects[0].Key.String() == "Deployment/default/logs" &&
			r.Objects[0].Source.File == "apps.yaml" && r.Objects[0].Source.Line == 1 && r.Objects[0].Violations[0].Rule == "forbidHostPath" &&
			r.Objects[0].Violations[0].Field == "spec.template.spec.volumes[0].hostPath"
	}
	waitFor(t, 15*time.Second, "web running and the refusal recorded on every node", func() bool {
		return running(all, "web") == 1 && refused(a, good) && refused(b, good) && refused(c, good)
	})
	if n := running(all, "logs-"); n != 0 {
		t.Fatalf("the refused Deployment runs %d pods", n)
	}
	if v := a.rec.View(); len(v.Refused) != 1 || len(v.Deployments) != 0 {
		t.Fatalf("the leader's view: refused %v, deployments %d", v.Refused, len(v.Deployments))
	}
	var events []string
	for _, e := range a.events.List("") {
		if e.Reason == ReasonFailedAdmission && e.Type == corev1.EventTypeWarning {
			events = append(events, e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name+": "+e.Message)
		}
	}
	if len(events) != 1 || !strings.HasPrefix(events[0], "Deployment/logs: Deployment/default/logs (apps.yaml:1) is refused: policy baseline, rule forbidHostPath: ") {
		t.Fatalf("FailedAdmission events %q", events)
	}

	// A typo in the file: the commit applies (a new pod runs) under the
	// last good policies, and the sync reports the file at fault.
	more := repo.push("more.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: more}\nspec: {containers: [{name: c, image: busybox}]}\n", "more")
	bad := repo.push(".shoal/admission.yaml", strings.Replace(hostPathPolicy, "forbidHostPath", "forbidHostPaths", 1), "typo")
	waitFor(t, 15*time.Second, "the new pod running and the admission error recorded", func() bool {
		s := Syncs(c.cluster.Ledger())

		return running(all, "more") == 1 && len(s) == 1 && s[0].Commit == bad && s[0].ErrorCommit == bad &&
			strings.Contains(s[0].Error, ".shoal/admission.yaml:7") && strings.Contains(s[0].Error, "policies of commit "+more[:12]) &&
			refused(c, bad)
	})
	if n := running(all, "logs-"); n != 0 {
		t.Fatalf("a bad admission file loosened the rules: the refused Deployment runs %d pods", n)
	}

	// A new leader takes the same policies from Git.
	a.stop()
	rest := []*member{b, c}
	waitFor(t, 15*time.Second, "b leads with the last good policies", func() bool {
		v := b.rec.View()
		return v.Revision.Commit == bad && len(v.Refused) == 1 && v.Refused[0].Key.Name == "logs"
	})
	if n := running(rest, "logs-"); n != 0 {
		t.Fatalf("after failover the refused Deployment runs %d pods", n)
	}

	// A good file that allows hostPath lets the Deployment run.
	fixed := repo.push(".shoal/admission.yaml", strings.Replace(hostPathPolicy, "forbidHostPath", "forbidPrivileged", 1), "allow hostPath")
	waitFor(t, 15*time.Second, "the Deployment running, the refusal and the error gone", func() bool {
		_, ok := Refused(c.cluster.Ledger(), "refs/heads/main")
		s := Syncs(c.cluster.Ledger())
		return running(rest, "logs-") == 1 && !ok && len(s) == 1 && s[0].Commit == fixed && s[0].Error == ""
	})
}
