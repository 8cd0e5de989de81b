package runtime_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/shoal-run/shoal/nodeagent/runtime"

	// libcontainer's "runc init" needs these in the re-executed binary.
	_ "github.com/opencontainers/cgroups/devices"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// Set by TestMain when running as root.
var (
	testInit   string // static shoal-init built from ./pid1/cmd/shoal-init
	testRootfs string // busybox root: /bin/busybox and its applets
	setupErr   error
)

// The main goroutine keeps the main thread. libcontainer moves a goroutine's
// thread into a container's mount namespace and leaves it locked so that Go
// ends the thread; the main thread cannot end, and /proc/self (which shows
// the main thread's namespaces) would then describe the container.
func init() { goruntime.LockOSThread() }

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init() // libcontainer re-executes this binary; never returns
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if os.Geteuid() != 0 {
		return m.Run() // root-only tests skip themselves
	}
	// Containers whose agent (a helper process) died are re-parented to
	// this process, so that a new Runtime here can reap them.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	testInit, testRootfs = os.Getenv(envInit), os.Getenv(envRootfs)
	if testInit != "" && testRootfs != "" {
		return m.Run() // a helper process: the parent made them
	}
	tmp, err := os.MkdirTemp("", "shoal-runtime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if testInit == "" {
		testInit = filepath.Join(tmp, "shoal-init")
		setupErr = buildInit(testInit)
	}
	if testRootfs == "" && setupErr == nil {
		testRootfs = filepath.Join(tmp, "rootfs")
		setupErr = makeBusyboxRootfs(testRootfs)
	}
	return m.Run()
}

func buildInit(out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", out, "./pid1/cmd/shoal-init")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build shoal-init: %v\n%s", err, b)
	}
	return nil
}

// makeBusyboxRootfs makes a 2 MB root: the static busybox, a symlink per
// applet, the usual empty folders, and /etc/passwd and /etc/group.
func makeBusyboxRootfs(dir string) error {
	for _, d := range []string{"bin", "etc", "tmp", "proc", "sys", "dev", "root", "mnt", "home/app", ".shoal/run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	// Mount points of the runtime, made once so that concurrent tests using
	// this folder as Rootfs do not race to create them.
	if err := os.WriteFile(filepath.Join(dir, ".shoal/init"), nil, 0o755); err != nil {
		return err
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("busybox-static is needed: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), bb, 0o755); err != nil {
		return err
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return err
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\napp:x:1000:\nextra:x:2000:app\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Environment of the helper process that plays a first agent.
const (
	envHelper = "SHOAL_RUNTIME_TEST_HELPER"
	envInit   = "SHOAL_RUNTIME_TEST_INIT"
	envRootfs = "SHOAL_RUNTIME_TEST_ROOTFS"
	envRoot   = "SHOAL_RUNTIME_TEST_ROOT"
	envCgroup = "SHOAL_RUNTIME_TEST_CGROUP"
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs real containers (cgroups, namespaces, overlay mounts)")
	}
	if setupErr != nil {
		t.Fatalf("test setup: %v", setupErr)
	}
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type env struct {
	t      testing.TB
	rt     *runtime.Runtime
	cfg    runtime.Config
	prefix string
}

// newEnv makes a Runtime on its own Root and cgroup parent, both removed
// (with every container left) when the test ends.
func newEnv(t testing.TB) *env {
	t.Helper()
	requireRoot(t)
	suffix := randomSuffix()
	cfg := runtime.Config{
		Root:         t.TempDir(),
		CgroupParent: "/shoal-rt-test-" + suffix,
		InitBinary:   testInit,
		Logger:       testLogger(),
	}
	rt, err := runtime.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, rt: rt, cfg: cfg, prefix: "c" + suffix + "-"}
	t.Cleanup(func() { e.cleanup(rt) })
	return e
}

func (e *env) cleanup(rt *runtime.Runtime) {
	list, err := rt.List()
	if err != nil {
		e.t.Errorf("cleanup: list: %v", err)
	}
	for _, st := range list {
		if err := rt.Remove(st.ID, runtime.RemoveOptions{}); err != nil {
			e.t.Errorf("cleanup: %v", err)
		}
	}
	if err := rt.PruneCgroupParent(); err != nil {
		e.t.Errorf("cleanup: cgroup parent: %v", err)
	}
}

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// spec is a container running args on the busybox root, as one overlay
// layer.
func (e *env) spec(name string, args ...string) runtime.ContainerSpec {
	return runtime.ContainerSpec{
		ID:     e.prefix + name,
		Layers: []string{testRootfs},
		Args:   args,
		Env:    []string{"PATH=/bin", "HOME=/root"},
	}
}

func (e *env) start(t testing.TB, s runtime.ContainerSpec) runtime.State {
	t.Helper()
	st, err := e.rt.Start(context.Background(), s)
	if err != nil {
		t.Fatalf("start %s: %v", s.ID, err)
	}
	return st
}

// run starts s and waits for it to exit (bounded by 30s).
func (e *env) run(t testing.TB, s runtime.ContainerSpec) runtime.State {
	t.Helper()
	e.start(t, s)
	return e.wait(t, s.ID)
}

func (e *env) wait(t testing.TB, id string) runtime.State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := e.rt.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait %s: %v", id, err)
	}
	return st
}

// exec runs args in container id and returns exit code and stdout.
func (e *env) exec(t testing.TB, id string, args ...string) (int, string) {
	t.Helper()
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := e.rt.Exec(ctx, id, runtime.ExecSpec{Args: args, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("exec %v in %s: %v", args, id, err)
	}
	return code, out.String()
}

// logRecord is one parsed CRI log line.
type logRecord struct {
	Time    time.Time
	Stream  string
	Partial bool
	Content string
}

var criLine = regexp.MustCompile(`^(\S+) (stdout|stderr) ([PF]) (.*)$`)

func readLog(t testing.TB, path string) []logRecord {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []logRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		m := criLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("log line not in CRI format: %q", sc.Text())
		}
		ts, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Fatalf("log line timestamp: %v", err)
		}
		out = append(out, logRecord{Time: ts, Stream: m[2], Partial: m[3] == "P", Content: m[4]})
	}
	return out
}

func logHas(recs []logRecord, stream, content string) bool {
	for _, r := range recs {
		if r.Stream == stream && r.Content == content {
			return true
		}
	}
	return false
}

// waitFor polls cond every few milliseconds until it holds or timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		<-tick.C
	}
}
