package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/runtime"
)

func TestNewRejectsDynamicInit(t *testing.T) {
	dir := t.TempDir()
	_, err := runtime.New(runtime.Config{Root: dir, CgroupParent: "/shoal-test-x", InitBinary: "/bin/ls"})
	if err == nil || !strings.Contains(err.Error(), "PT_INTERP") {
		t.Fatalf("New with a dynamic InitBinary: err = %v, want one naming PT_INTERP", err)
	}
	_, err = runtime.New(runtime.Config{Root: "relative", CgroupParent: "/x", InitBinary: "/bin/busybox"})
	if err == nil {
		t.Fatal("New with a relative Root: no error")
	}
}

func TestRunToCompletion(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		rootfs   bool // use the busybox folder as Rootfs instead of as a layer
		args     []string
		mod      func(*runtime.ContainerSpec)
		code     int
		reason   string
		contains []string // stdout records
		stderr   []string
	}{
		{name: "exit0", args: []string{"sh", "-c", "echo out; echo err >&2"}, reason: runtime.ReasonCompleted,
			contains: []string{"out"}, stderr: []string{"err"}},
		{name: "exit3", args: []string{"sh", "-c", "echo bye; exit 3"}, code: 3, reason: runtime.ReasonError, contains: []string{"bye"}},
		{name: "rootfs", rootfs: true, args: []string{"sh", "-c", "echo plain; exit 3"}, code: 3, reason: runtime.ReasonError, contains: []string{"plain"}},
		{name: "env", args: []string{"env"}, mod: func(s *runtime.ContainerSpec) { s.Env = append(s.Env, "FOO=bar baz") },
			contains: []string{"FOO=bar baz", "PATH=/bin"}},
		{name: "default-path", args: []string{"/bin/env"}, mod: func(s *runtime.ContainerSpec) { s.Env = nil },
			contains: []string{"PATH=" + runtime.DefaultPath}},
		{name: "workdir", args: []string{"pwd"}, mod: func(s *runtime.ContainerSpec) { s.WorkingDir = "/home/app" }, contains: []string{"/home/app"}},
		{name: "workdir-created", args: []string{"pwd"}, mod: func(s *runtime.ContainerSpec) { s.WorkingDir = "/new/dir" }, contains: []string{"/new/dir"}},
		{name: "user", args: []string{"id"}, mod: func(s *runtime.ContainerSpec) {
			s.User = runtime.User{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000}}
		}, contains: []string{"uid=1000(app) gid=1000(app) groups=2000(extra)"}},
		{name: "uid-without-name", args: []string{"id", "-u"}, mod: func(s *runtime.ContainerSpec) { s.User = runtime.User{UID: 4242, GID: 4242} },
			contains: []string{"4242"}},
		{name: "hostname", args: []string{"hostname"}, mod: func(s *runtime.ContainerSpec) { s.Hostname = "box-1" }, contains: []string{"box-1"}},
		{name: "background-process", args: []string{"sh", "-c", "sleep 1000 & echo bye"}, contains: []string{"bye"}},
		{name: "pid-namespace", args: []string{"cat", "/proc/1/comm"}, contains: []string{"init"}},
		{name: "host-pid", args: []string{"sh", "-c", `[ "$(cat /proc/1/comm)" != init ] && [ $$ -gt 2 ] && echo host`},
			mod: func(s *runtime.ContainerSpec) { s.HostPID = true }, contains: []string{"host"}},
		{name: "long-line", args: []string{"sh", "-c", "head -c 40000 /dev/zero | tr '\\0' x; echo; echo after"}, contains: []string{"after"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := e.spec(tc.name, tc.args...)
			if tc.rootfs {
				s.Layers, s.Rootfs = nil, testRootfs
			}
			if tc.mod != nil {
				tc.mod(&s)
			}
			before := time.Now()
			st0 := e.start(t, s)
			if st0.Status != runtime.Running || st0.Pid <= 0 {
				t.Errorf("Start returned %+v, want running with a pid", st0)
			}
			st := e.wait(t, s.ID)
			after := time.Now()
			if st.Status != runtime.Exited || st.ExitCode != tc.code || st.Signal != 0 || st.OOMKilled {
				t.Errorf("state %+v, want exited with code %d", st, tc.code)
			}
			if tc.reason != "" && st.Reason != tc.reason {
				t.Errorf("reason %q, want %q", st.Reason, tc.reason)
			}
			if st.StartedAt.Before(before) || st.FinishedAt.After(after) || st.FinishedAt.Before(st.StartedAt) {
				t.Errorf("times: started %v finished %v, not within [%v, %v]", st.StartedAt, st.FinishedAt, before, after)
			}
			recs := readLog(t, e.rt.LogPath(s.ID))
			for _, want := range tc.contains {
				if !logHas(recs, "stdout", want) {
					t.Errorf("log has no stdout record %q; log: %+v", want, recs)
				}
			}
			for _, want := range tc.stderr {
				if !logHas(recs, "stderr", want) {
					t.Errorf("log has no stderr record %q; log: %+v", want, recs)
				}
			}
			for _, r := range recs {
				if r.Time.Before(before.Add(-time.Second)) || r.Time.After(after) {
					t.Errorf("log record time %v outside the run [%v, %v]", r.Time, before, after)
				}
			}
			if tc.name == "long-line" {
				checkLongLine(t, recs)
			}
			// State in the same process, after Wait, is the same.
			again, err := e.rt.State(s.ID)
			if err != nil || again != st {
				t.Errorf("State after Wait = %+v, %v; want %+v", again, err, st)
			}
			if err := e.rt.Remove(s.ID, runtime.RemoveOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// checkLongLine: a 40000-byte line is two 16 KiB P records and an F one.
func checkLongLine(t *testing.T, recs []logRecord) {
	var tags []bool
	var line strings.Builder
	for _, r := range recs {
		if r.Content == "after" {
			break
		}
		tags = append(tags, r.Partial)
		line.WriteString(r.Content)
	}
	if len(tags) != 3 || !tags[0] || !tags[1] || tags[2] {
		t.Errorf("partial flags %v, want [P P F]", tags)
	}
	if line.Len() != 40000 || strings.Trim(line.String(), "x") != "" {
		t.Errorf("joined line has %d bytes, want 40000 x", line.Len())
	}
}

func TestCommandNotFound(t *testing.T) {
	e := newEnv(t)
	// A second layer with a file that is not executable and a symlink
	// whose absolute target must resolve inside the root.
	layer := t.TempDir()
	if err := os.MkdirAll(filepath.Join(layer, "opt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(layer, "opt/data"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/bin/busybox", filepath.Join(layer, "opt/true")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/bin/no-such", filepath.Join(layer, "opt/dangling")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want error
	}{
		{"not-in-path", []string{"no-such-cmd"}, runtime.ErrCommandNotFound},
		{"absolute", []string{"/usr/bin/no-such-cmd"}, runtime.ErrCommandNotFound},
		{"dangling-symlink", []string{"/opt/dangling"}, runtime.ErrCommandNotFound},
		{"not-executable", []string{"/opt/data"}, runtime.ErrNotExecutable},
		{"symlink-ok", []string{"/opt/true"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := e.spec(tc.name, tc.args...)
			s.Layers = []string{testRootfs, layer}
			st, err := e.rt.Start(context.Background(), s)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				if st = e.wait(t, s.ID); st.ExitCode != 0 {
					t.Fatalf("state %+v", st)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Start error = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.args[0]) {
				t.Errorf("error %q does not name the command %q", err, tc.args[0])
			}
			if _, err := e.rt.State(s.ID); !errors.Is(err, runtime.ErrNotFound) {
				t.Errorf("State after failed Start: %v, want ErrNotFound", err)
			}
			if _, err := os.Stat(filepath.Join(e.cfg.Root, "containers", s.ID)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("failed Start left its folder: %v", err)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	e := newEnv(t)
	s := e.spec("dup", "sleep", "1000")
	e.start(t, s)
	if _, err := e.rt.Start(context.Background(), s); !errors.Is(err, runtime.ErrExists) {
		t.Errorf("second Start of %s: %v, want ErrExists", s.ID, err)
	}
	bad := []runtime.ContainerSpec{
		{ID: "Upper", Layers: []string{testRootfs}, Args: []string{"true"}},
		{ID: e.prefix + "noargs", Layers: []string{testRootfs}},
		{ID: e.prefix + "noroot", Args: []string{"true"}},
		{ID: e.prefix + "shoal-mount", Layers: []string{testRootfs}, Args: []string{"true"},
			Mounts: []runtime.Mount{{Destination: "/.shoal/x", Type: "tmpfs"}}},
		{ID: e.prefix + "cap", Layers: []string{testRootfs}, Args: []string{"true"},
			Capabilities: runtime.Capabilities{Add: []string{"NO_SUCH_CAP"}}},
	}
	for _, b := range bad {
		if _, err := e.rt.Start(context.Background(), b); !errors.Is(err, runtime.ErrInvalidSpec) {
			t.Errorf("Start(%s): %v, want ErrInvalidSpec", b.ID, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.rt.Start(ctx, e.spec("cancelled", "true")); !errors.Is(err, context.Canceled) {
		t.Errorf("Start with a cancelled context: %v", err)
	}
}

func TestStop(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		script string
		stop   syscall.Signal
		grace  time.Duration
		code   int
		signal syscall.Signal
		host   bool // HostPID: no namespace to die with the init
	}{
		{name: "traps-term", script: `trap "echo bye; exit 5" TERM; echo ready; sleep 1000 & wait`, grace: 20 * time.Second, code: 5},
		{name: "default-term", script: `echo ready; sleep 1000 & wait`, grace: 20 * time.Second, code: 128 + 15, signal: syscall.SIGTERM},
		{name: "stop-signal", script: `trap "exit 6" USR1; echo ready; sleep 1000 & wait`, stop: syscall.SIGUSR1, grace: 20 * time.Second, code: 6},
		{name: "ignores-term", script: `trap "" TERM; echo ready; sleep 1000`, grace: 300 * time.Millisecond, code: 128 + 9, signal: syscall.SIGKILL},
		{name: "ignores-term-host-pid", script: `trap "" TERM; echo ready; sleep 1000 & sleep 1001`, grace: 300 * time.Millisecond, code: 128 + 9, signal: syscall.SIGKILL, host: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := e.spec(tc.name, "sh", "-c", tc.script)
			s.StopSignal = tc.stop
			s.HostPID = tc.host
			e.start(t, s)
			waitFor(t, 10*time.Second, "the script to trap", func() bool {
				return logHas(readLog(t, e.rt.LogPath(s.ID)), "stdout", "ready")
			})
			begin := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := e.rt.Stop(ctx, s.ID, tc.grace)
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(begin)
			if st.Status != runtime.Exited || st.ExitCode != tc.code || st.Signal != tc.signal {
				t.Errorf("after Stop: %+v, want exit code %d signal %d", st, tc.code, tc.signal)
			}
			if tc.signal == syscall.SIGKILL && took < tc.grace {
				t.Errorf("killed after %v, before the grace period %v", took, tc.grace)
			}
			if tc.signal != syscall.SIGKILL && took > 10*time.Second {
				t.Errorf("Stop took %v", took)
			}
			// Stopping again returns the same state at once.
			if again, err := e.rt.Stop(ctx, s.ID, time.Hour); err != nil || again != st {
				t.Errorf("second Stop = %+v, %v", again, err)
			}
			if err := e.rt.Signal(s.ID, syscall.SIGTERM); !errors.Is(err, runtime.ErrNotRunning) {
				t.Errorf("Signal to an exited container: %v, want ErrNotRunning", err)
			}
			// Nothing of the container runs any more.
			waitFor(t, 10*time.Second, "the container's cgroup to empty", func() bool {
				return len(containerPids(t, e.cfg.CgroupParent, s.ID)) == 0
			})
		})
	}
}

func TestWaitContext(t *testing.T) {
	e := newEnv(t)
	s := e.spec("wait-ctx", "sleep", "1000")
	e.start(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.rt.Wait(ctx, s.ID); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait: %v, want DeadlineExceeded", err)
	}
	st, err := e.rt.State(s.ID)
	if err != nil || st.Status != runtime.Running {
		t.Fatalf("State: %+v, %v", st, err)
	}
	if _, err := e.rt.State("no-such"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("State of an unknown container: %v", err)
	}
}
