package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/runtime/pid1"
)

func TestResolveCommand(t *testing.T) {
	root := t.TempDir()
	mk := func(p string, mode os.FileMode) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), nil, mode); err != nil {
			t.Fatal(err)
		}
	}
	link := func(p, target string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	mk("bin/busybox", 0o755)
	link("bin/sh", "busybox")
	link("usr/bin/abs", "/bin/busybox")
	link("usr/bin/escape", "../../../../../bin/busybox") // ".." stops at the root
	link("usr/bin/loop", "loop")
	link("lib", "usr/lib")
	mk("usr/lib/tool", 0o755)
	mk("etc/data", 0o644)
	mk("app/run", 0o755)
	// A host file the root must not reach through an absolute link.
	link("usr/bin/hostonly", "/etc/hostname-not-in-root")

	tests := []struct {
		argv0, path, cwd string
		want             string
		err              error
	}{
		{argv0: "sh", path: "/usr/bin:/bin", want: "/bin/sh"},
		{argv0: "abs", path: "/usr/bin", want: "/usr/bin/abs"},
		{argv0: "escape", path: "/usr/bin", want: "/usr/bin/escape"},
		{argv0: "/lib/tool", want: "/lib/tool"},
		{argv0: "./run", cwd: "/app", want: "/app/run"},
		{argv0: "run", path: ".", cwd: "/app", want: "/app/run"},
		{argv0: "run", path: "/bin", cwd: "/app", err: ErrCommandNotFound},
		{argv0: "loop", path: "/usr/bin", err: ErrCommandNotFound},
		{argv0: "hostonly", path: "/usr/bin", err: ErrCommandNotFound},
		{argv0: "/etc/data", err: ErrNotExecutable},
		{argv0: "/etc", err: ErrNotExecutable},
		{argv0: "nope", path: "/bin", err: ErrCommandNotFound},
	}
	for _, tc := range tests {
		cwd := tc.cwd
		if cwd == "" {
			cwd = "/"
		}
		got, err := resolveCommand(root, tc.argv0, tc.path, cwd, nil)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("resolveCommand(%q, PATH=%q, cwd %q) = %q, %v; want %q, %v", tc.argv0, tc.path, cwd, got, err, tc.want, tc.err)
		}
	}
	// A command under a caller's mount cannot be checked from the host.
	if got, err := resolveCommand(root, "/scripts/run.sh", "", "/", []Mount{{Destination: "/scripts", Type: "bind", Source: "/x"}}); err != nil || got != "/scripts/run.sh" {
		t.Errorf("command under a mount: %q, %v", got, err)
	}
}

func TestCapabilitySet(t *testing.T) {
	have := boundingSet()
	if len(have) == 0 {
		t.Fatal("empty bounding set")
	}
	tests := []struct {
		name string
		caps Capabilities
		priv bool
		want []string
		bad  bool
	}{
		{name: "default", want: DefaultCapabilities},
		{name: "drop-chown", caps: Capabilities{Drop: []string{"chown"}}, want: slices.DeleteFunc(slices.Clone(DefaultCapabilities), func(c string) bool { return c == "CAP_CHOWN" })},
		{name: "drop-all-add", caps: Capabilities{Drop: []string{"ALL"}, Add: []string{"NET_ADMIN", "CAP_KILL"}}, want: []string{"CAP_NET_ADMIN", "CAP_KILL"}},
		{name: "add-all", caps: Capabilities{Add: []string{"all"}}, want: have},
		{name: "privileged", priv: true, caps: Capabilities{Drop: []string{"ALL"}}, want: have},
		{name: "unknown", caps: Capabilities{Add: []string{"FLY"}}, bad: true},
	}
	for _, tc := range tests {
		got, err := capabilitySet(&ContainerSpec{Capabilities: tc.caps, Privileged: tc.priv})
		if (err != nil) != tc.bad || (!tc.bad && !slices.Equal(got, tc.want)) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestExitState(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	started := now.Add(-time.Minute)
	m := meta{CreatedAt: started.Add(-time.Second), StartedAt: started}
	exited := func(code int) *syscall.WaitStatus { ws := syscall.WaitStatus(code << 8); return &ws }
	killed := func(sig syscall.Signal) *syscall.WaitStatus { ws := syscall.WaitStatus(sig); return &ws }
	tests := []struct {
		name     string
		status   *pid1.Status
		ws       *syscall.WaitStatus
		byUs     bool
		oom      int
		code     int
		signal   syscall.Signal
		reason   string
		oomKills bool
		// neverStarted: no start time recorded; the state is Unknown.
		neverStarted bool
	}{
		{name: "completed", status: &pid1.Status{ExitCode: 0, FinishedAt: now}, ws: exited(0), reason: ReasonCompleted},
		{name: "error", status: &pid1.Status{ExitCode: 3, FinishedAt: now}, ws: exited(3), code: 3, reason: ReasonError},
		{name: "signalled", status: &pid1.Status{ExitCode: 143, Signal: 15, FinishedAt: now}, code: 143, signal: 15, reason: ReasonError},
		{name: "start-error", status: &pid1.Status{ExitCode: 127, Reason: pid1.ReasonStartError, FinishedAt: now}, code: 127, reason: ReasonStartError},
		{name: "oom-child", status: &pid1.Status{ExitCode: 137, FinishedAt: now}, oom: 1, code: 137, reason: ReasonOOMKilled, oomKills: true},
		{name: "oom-survived", status: &pid1.Status{ExitCode: 0, FinishedAt: now}, oom: 1, reason: ReasonCompleted, oomKills: true},
		{name: "init-killed-by-runtime", ws: killed(syscall.SIGKILL), byUs: true, code: 137, signal: 9, reason: ReasonError},
		{name: "init-killed-unknown", ws: killed(syscall.SIGKILL), code: 137, signal: 9, reason: ReasonUnknown},
		{name: "init-oom-killed", ws: killed(syscall.SIGKILL), oom: 2, code: 137, signal: 9, reason: ReasonOOMKilled, oomKills: true},
		{name: "nothing-known", code: 137, signal: 9, reason: ReasonUnknown},
		{name: "never-started", neverStarted: true, reason: ReasonUnknown},
		{name: "nothing-known-killed-by-us", byUs: true, code: 137, signal: 9, reason: ReasonError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, runDir), 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.status != nil {
				if err := pid1.WriteStatus(filepath.Join(dir, runDir), *tc.status); err != nil {
					t.Fatal(err)
				}
			}
			mm, want := m, Exited
			if tc.neverStarted {
				mm.StartedAt, want = time.Time{}, Unknown
			}
			st := exitState("x", mm, dir, tc.ws, tc.byUs, tc.oom, now)
			if tc.neverStarted {
				if st.Status != want || st.Reason != tc.reason {
					t.Errorf("%+v; want Unknown", st)
				}
				return
			}
			if st.Status != want || st.ExitCode != tc.code || st.Signal != tc.signal || st.Reason != tc.reason || st.OOMKilled != tc.oomKills {
				t.Errorf("%+v; want code %d signal %d reason %s oom %v", st, tc.code, tc.signal, tc.reason, tc.oomKills)
			}
			if !st.FinishedAt.Equal(now) || !st.StartedAt.Equal(started) || !st.CreatedAt.Equal(m.CreatedAt) {
				t.Errorf("times %+v", st)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := ContainerSpec{ID: "pod-1_c.0", Rootfs: "/r", Args: []string{"true"}}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*ContainerSpec){
		"uppercase id":      func(s *ContainerSpec) { s.ID = "Pod" },
		"slash id":          func(s *ContainerSpec) { s.ID = "a/b" },
		"dot id":            func(s *ContainerSpec) { s.ID = ".." },
		"no args":           func(s *ContainerSpec) { s.Args = nil },
		"no root":           func(s *ContainerSpec) { s.Rootfs = "" },
		"relative layer":    func(s *ContainerSpec) { s.Layers = []string{"l"} },
		"colon layer":       func(s *ContainerSpec) { s.Layers = []string{"/a:b"} },
		"relative workdir":  func(s *ContainerSpec) { s.WorkingDir = "tmp" },
		"netns and host":    func(s *ContainerSpec) { s.NetNS, s.HostNetwork = "/x", true },
		"relative mount":    func(s *ContainerSpec) { s.Mounts = []Mount{{Destination: "data", Type: "tmpfs"}} },
		"mount under shoal": func(s *ContainerSpec) { s.Mounts = []Mount{{Destination: "/.shoal", Type: "tmpfs"}} },
		"mount no type":     func(s *ContainerSpec) { s.Mounts = []Mount{{Destination: "/d"}} },
		"relative bind":     func(s *ContainerSpec) { s.Mounts = []Mount{{Destination: "/d", Type: "bind", Source: "x"}} },
		"bad propagation": func(s *ContainerSpec) {
			s.Mounts = []Mount{{Destination: "/d", Type: "tmpfs", Propagation: "sideways"}}
		},
	}
	for name, mod := range bad {
		s := ok
		mod(&s)
		if err := s.validate(); !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("%s: %v, want ErrInvalidSpec", name, err)
		}
	}
}

func TestOCIMount(t *testing.T) {
	m := ociMount(Mount{Source: "/src", Destination: "/dst/", Type: "bind", ReadOnly: true, Propagation: "rslave"})
	if m.Destination != "/dst" || m.Source != "/src" || !slices.Equal(m.Options, []string{"rbind", "ro", "rslave"}) {
		t.Errorf("bind: %+v", m)
	}
	m = ociMount(Mount{Destination: "/tmp", Type: "tmpfs", Options: []string{"size=1m"}})
	if m.Source != "tmpfs" || !slices.Equal(m.Options, []string{"size=1m"}) {
		t.Errorf("tmpfs: %+v", m)
	}
}
