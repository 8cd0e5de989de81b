package e2e

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/testenv"
)

// binDir holds the static shoal and shoal-init binaries TestMain builds.
var binDir string

// moduleRoot is the shoal source tree (for the test app image).
var moduleRoot string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if os.Geteuid() != 0 || testing.Short() {
		return m.Run() // the tests skip themselves
	}
	_, file, _, _ := runtime.Caller(0)
	moduleRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	dir, err := os.MkdirTemp("", "shoal-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building shoal:", err)
		return 1
	}
	binDir = dir
	return m.Run()
}

// build builds the binaries as `make build` does: the agent re-executes
// itself as each container's init, so it must be static.
func build(dir string) error {
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		goCmd = "go"
	}
	steps := [][]string{
		{goCmd, "build", "-tags", "netgo,osusergo", "-ldflags", "-s -w -linkmode external -extldflags -static", "-o", filepath.Join(dir, "shoal"), "./cmd/shoal"},
		{goCmd, "build", "-ldflags", "-s -w", "-o", filepath.Join(dir, "shoal-init"), "./nodeagent/runtime/pid1/cmd/shoal-init"},
	}
	for i, argv := range steps {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = moduleRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if i == 1 {
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	return nil
}

// needRoot skips a test that runs real agents when not root.
func needRoot(t testing.TB) {
	t.Helper()
	if binDir == "" {
		t.Skip("end-to-end tests need root (real containers and network namespaces)")
	}
}

// startRig starts a rig of n nodes with the real agent and takes it down
// when the test ends.
func startRig(t testing.TB, n int, mod func(*testenv.Config)) *testenv.Cluster {
	t.Helper()
	needRoot(t)
	cfg := testenv.DefaultConfig()
	cfg.Dir = t.TempDir()
	cfg.Nodes = n
	cfg.Binary = filepath.Join(binDir, "shoal")
	cfg.ModuleRoot = moduleRoot
	cfg.InProcessServers = true
	cfg.Logger = testLogger(t)
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := testenv.StartCluster(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, name := range c.NodeNames() {
				if b, err := os.ReadFile(filepath.Join(c.Node(indexOf(c, name)).DataDir, "agent.log")); err == nil {
					t.Logf("--- %s agent log (last 60 lines) ---\n%s", name, tail(string(b), 60))
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := c.Down(ctx); err != nil {
			t.Errorf("rig down: %v", err)
		}
	})
	return c
}

func indexOf(c *testenv.Cluster, name string) int {
	for i, n := range c.NodeNames() {
		if n == name {
			return i + 1
		}
	}
	return 0
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("E2E_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// client is an API client of a node.
func client(t testing.TB, c *testenv.Cluster, node string) *api.Client {
	t.Helper()
	cl, err := api.NewClient(c.APIAddr(node), api.ClientOptions{Token: c.Token()})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pods lists the cluster's pods as node sees them; nil on error.
func pods(c *testenv.Cluster, t testing.TB, node string) []corev1.Pod {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ps, err := client(t, c, node).ListPods(ctx, "")
	if err != nil {
		return nil
	}
	return ps
}

// mustPods is pods for an assertion: a listing that fails (a node busy
// under load) is retried, and the test fails only if none succeeds.
func mustPods(c *testenv.Cluster, t testing.TB, node string) []corev1.Pod {
	t.Helper()
	var ps []corev1.Pod
	waitFor(t, 30*time.Second, "a pod listing from "+node, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var err error
		ps, err = client(t, c, node).ListPods(ctx, "")
		return err == nil
	})
	return ps
}

// find returns the pods named name.
func find(ps []corev1.Pod, name string) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range ps {
		if p.Name == name {
			out = append(out, p)
		}
	}
	return out
}

// runningOn reports whether exactly one pod name runs, on node ("" any).
func runningOn(ps []corev1.Pod, name, node string) bool {
	f := find(ps, name)
	return len(f) == 1 && f[0].Status.Phase == corev1.PodRunning && (node == "" || f[0].Spec.NodeName == node)
}

// localPods lists the pods a node runs itself.
func localPods(t testing.TB, c *testenv.Cluster, node string) []corev1.Pod {
	cl, err := api.NewClient(c.APIAddr(node), api.ClientOptions{Token: c.Token(), NodeScope: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ps, err := cl.ListPods(ctx, "")
	if err != nil {
		return nil
	}
	return ps
}

// status returns a node's view of the cluster; nil on error.
func status(t testing.TB, c *testenv.Cluster, node string) *api.ClusterStatus {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := client(t, c, node).Status(ctx)
	if err != nil {
		return nil
	}
	return st
}

// mustStatus is status for an assertion, retried while the node does not
// answer.
func mustStatus(t testing.TB, c *testenv.Cluster, node string) *api.ClusterStatus {
	t.Helper()
	var st *api.ClusterStatus
	waitFor(t, 30*time.Second, "a status from "+node, func() bool {
		st = status(t, c, node)
		return st != nil
	})
	return st
}

// leaderOf is the leader's name in node's view ("" when unknown).
func leaderOf(t testing.TB, c *testenv.Cluster, node string) string {
	if st := status(t, c, node); st != nil {
		return st.Leader.Name
	}
	return ""
}

// push commits files (an empty content removes the file) and pushes.
func push(t testing.TB, c *testenv.Cluster, files map[string]string, msg string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	add := map[string]string{}
	var rm []string
	for f, content := range files {
		if content == "" {
			rm = append(rm, f)
		} else {
			add[f] = content
		}
	}
	var sha string
	var err error
	if len(rm) > 0 {
		if sha, err = c.RemoveFiles(ctx, rm, msg+" (remove)"); err != nil {
			t.Fatal(err)
		}
	}
	if len(add) > 0 {
		if sha, err = c.CommitFiles(ctx, add, msg); err != nil {
			t.Fatal(err)
		}
	}
	return sha
}

// podYAML is a Pod running the test app (it answers "hello from NAME").
func podYAML(name string, extra string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels: {app: %s}
spec:
%s  containers:
  - name: app
    image: testapp:test
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /ready, port: http}
      periodSeconds: 1
`, name, name, extra)
}

// rolloutStatusForTest follows the rollout of default/web as `shoal rollout
// status` does, through node3's API.
func rolloutStatusForTest(c *testenv.Cluster, t testing.TB, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	last := ""
	for {
		d, err := api.Get(ctx, client(t, c, "node3"), api.Deployments, "default", "web")
		if err == nil {
			msg := fmt.Sprintf("updated %d, available %d, total %d", d.Status.UpdatedReplicas, d.Status.AvailableReplicas, d.Status.Replicas)
			if msg != last {
				fmt.Fprintln(out, msg)
				last = msg
			}
			for _, cd := range d.Status.Conditions {
				if cd.Type == "Progressing" && cd.Reason == "NewReplicaSetAvailable" {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// cli runs the shoal client built for the tests against node's API and
// returns its stdout; an error carries its stderr.
func cli(c *testenv.Cluster, node string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "shoal"), append(args, "--server", c.APIAddr(node))...)
	cmd.Env = append(os.Environ(), "SHOAL_TOKEN="+c.Token())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("shoal %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// waitCLI runs the client until its output holds every want, runs of
// spaces taken as one (the columns' alignment is not asserted), or fails
// the test after timeout with the last output. It returns that output.
func waitCLI(t testing.TB, c *testenv.Cluster, node string, timeout time.Duration, args []string, want ...string) string {
	t.Helper()
	var out string
	var err error
	deadline := time.Now().Add(timeout)
	for {
		out, err = cli(c, node, args...)
		missing := ""
		for _, w := range want {
			if !strings.Contains(squeeze(out), squeeze(w)) {
				missing = w
				break
			}
		}
		switch {
		case err == nil && missing == "":
			return out
		case time.Now().After(deadline):
			t.Fatalf("shoal %s: after %v, no %q in:\n%s\n(last error: %v)", strings.Join(args, " "), timeout, missing, out, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// squeeze makes every run of spaces one space.
func squeeze(s string) string { return spaces.ReplaceAllString(s, " ") }

var spaces = regexp.MustCompile(` {2,}`)
