package pods_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/nodeagent/images"
	"github.com/shoal-run/shoal/nodeagent/podnet"
	"github.com/shoal-run/shoal/nodeagent/pods"
	"github.com/shoal-run/shoal/nodeagent/runtime"
	"github.com/shoal-run/shoal/policies/restart"
	"github.com/shoal-run/shoal/testenv"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	// libcontainer's "init" re-exec needs these in this binary.
	_ "github.com/opencontainers/cgroups/devices"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

var (
	testInit string // static container init built for the tests
	imageDir string // OCI layout with busybox:test and testapp:test
	setupErr error
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Geteuid() != 0 {
		return m.Run()
	}
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	tmp, err := os.MkdirTemp("", "shoal-pods-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	testInit = filepath.Join(tmp, "shoal-init")
	root, _ := filepath.Abs("../..")
	cmd := exec.Command("go", "build", "-o", testInit, "./nodeagent/runtime/pid1/cmd/shoal-init")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		setupErr = fmt.Errorf("build shoal-init: %v\n%s", err, b)
		return m.Run()
	}
	imageDir = filepath.Join(tmp, "images")
	setupErr = writeTestImages(root, imageDir)
	return m.Run()
}

// writeTestImages puts busybox:test and testapp:test in an OCI layout.
func writeTestImages(root, dir string) error {
	bb, err := testenv.BusyboxImage()
	if err != nil {
		return err
	}
	app, err := testenv.TestAppImage(context.Background(), root)
	if err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendImage(bb, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "docker.io/library/busybox:test"})); err != nil {
		return err
	}
	return p.AppendImage(app, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "docker.io/library/testapp:test"}))
}

// node is one node's agent parts, in their own network namespace.
type node struct {
	t      testing.TB
	dir    string
	netns  string
	images *images.Store
	rt     *runtime.Runtime
	net    *podnet.Network
	mgr    *pods.Manager
	cgroup string
	bridge string
	// wrap, if set, wraps the runtime the next start gives the manager.
	wrap func(pods.Runtime) pods.Runtime

	evMu   sync.Mutex
	events []string // "pod reason: message", as the manager reported them
	// changed receives a token whenever the manager says a pod's status
	// may have changed (its Config.Changed).
	changed chan struct{}
}

// eventsOf returns the events reported for pod, as "reason: message".
func (n *node) eventsOf(pod string) []string {
	n.evMu.Lock()
	defer n.evMu.Unlock()
	var out []string
	for _, e := range n.events {
		if rest, ok := strings.CutPrefix(e, pod+" "); ok {
			out = append(out, rest)
		}
	}
	return out
}

func newNode(t testing.TB) *node {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("pods on real containers need root")
	}
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	suffix := randHex(4)
	n := &node{t: t, dir: t.TempDir(), cgroup: "/shoal-test-" + suffix, bridge: "shp" + suffix, changed: make(chan struct{}, 1)}
	var err error
	n.netns, err = testenv.NewNetNS(filepath.Join(n.dir, "netns"), "node")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testenv.RemoveNetNS(n.netns) })
	n.images, err = images.Open(images.Config{Root: filepath.Join(n.dir, "images")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.images.Import(context.Background(), imageDir, ""); err != nil {
		t.Fatal(err)
	}
	n.rt, err = runtime.New(runtime.Config{Root: filepath.Join(n.dir, "runtime"), CgroupParent: n.cgroup, InitBinary: testInit})
	if err != nil {
		t.Fatal(err)
	}
	n.net, err = podnet.New(podnet.Config{StateDir: filepath.Join(n.dir, "podnet"), Bridge: n.bridge,
		PodCIDR: netip.MustParsePrefix("10.244.7.0/24"), NetNS: n.netns, Spares: podnet.DefaultSpares})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.net.Setup(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n.mgr != nil {
			n.mgr.StopAll()
		}
		n.net.Teardown()
		n.rt.PruneCgroupParent()
	})
	n.start()
	return n
}

// start makes a fresh manager on the node's state, as an agent start does.
func (n *node) start() {
	var err error
	var rt pods.Runtime = n.rt
	if n.wrap != nil {
		rt = n.wrap(rt)
	}
	n.mgr, err = pods.NewManager(pods.Config{
		NodeName: "node-a", NodeIP: "10.244.7.1", DataDir: filepath.Join(n.dir, "agent"), NetNS: n.netns, PodPidsLimit: 512,
		Backoff: restart.Config{Initial: 300 * time.Millisecond, Max: 2 * time.Second, ResetAfter: time.Minute},
		Logger:  slog.New(slog.NewTextHandler(testWriter{n.t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Event: func(pod *corev1.Pod, _, reason, message string) {
			n.evMu.Lock()
			n.events = append(n.events, pod.Name+" "+reason+": "+message)
			n.evMu.Unlock()
		},
		Changed: func() {
			select {
			case n.changed <- struct{}{}:
			default:
			}
		},
	}, rt, n.images, n.net)
	if err != nil {
		n.t.Fatal(err)
	}
	if err := n.mgr.Restore(); err != nil {
		n.t.Fatal(err)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// apply loads manifests from YAML and makes them the desired state.
func (n *node) apply(yaml string) {
	n.t.Helper()
	n.mgr.Apply(n.load(yaml))
}

// load reads manifests from YAML.
func (n *node) load(yaml string) *manifests.Set {
	n.t.Helper()
	set, err := manifests.Load(fstest.MapFS{"m.yaml": {Data: []byte(yaml)}})
	if err != nil {
		n.t.Fatal(err)
	}
	return set
}

// waitPod polls a pod until cond holds.
func (n *node) waitPod(name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	var last *corev1.Pod
	for time.Now().Before(deadline) {
		p, err := n.mgr.GetPod(context.Background(), "default", name)
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	n.t.Fatalf("pod %s: timed out waiting for %s; last status: %+v", name, what, statusSummary(last))
	return nil
}

func statusSummary(p *corev1.Pod) string {
	if p == nil {
		return "none"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s msg=%q", p.Status.Phase, p.Status.Message)
	for _, cs := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		fmt.Fprintf(&b, " [%s ready=%v restarts=%d state=%+v last=%+v]", cs.Name, cs.Ready, cs.RestartCount, cs.State, cs.LastTerminationState)
	}
	return b.String()
}

func (n *node) exec(pod string, cmd ...string) (string, int) {
	n.t.Helper()
	var out bytes.Buffer
	code, err := n.mgr.Exec(context.Background(), "default", pod, api.ExecOptions{Command: cmd, Stdout: &out, Stderr: &out})
	if err != nil {
		n.t.Fatalf("exec %v in %s: %v", cmd, pod, err)
	}
	return out.String(), code
}

func (n *node) logs(pod string, opts api.LogOptions) string {
	n.t.Helper()
	var out bytes.Buffer
	if err := n.mgr.Logs(context.Background(), "default", pod, opts, &out); err != nil {
		n.t.Fatalf("logs %s: %v", pod, err)
	}
	return out.String()
}

func terminated(p *corev1.Pod, i int) *corev1.ContainerStateTerminated {
	if i >= len(p.Status.ContainerStatuses) {
		return nil
	}
	return p.Status.ContainerStatuses[i].State.Terminated
}

func waitingReason(p *corev1.Pod, i int) string {
	if i >= len(p.Status.ContainerStatuses) || p.Status.ContainerStatuses[i].State.Waiting == nil {
		return ""
	}
	return p.Status.ContainerStatuses[i].State.Waiting.Reason
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitFor polls cond until it holds or the test's deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// execOpts runs cmd in one container with stdout and stderr into out.
func execOpts(container string, out io.Writer, cmd ...string) api.ExecOptions {
	return api.ExecOptions{Container: container, Command: cmd, Stdout: out, Stderr: out}
}
