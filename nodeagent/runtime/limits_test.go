package runtime_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	shoal "github.com/shoal-run/shoal/nodeagent/runtime"
)

func TestResources(t *testing.T) {
	e := newEnv(t)
	s := e.spec("limits", "sleep", "999")
	s.Resources = shoal.Resources{CPUQuota: 50_000, CPUPeriod: 200_000, CPUShares: 512, MemoryLimit: 64 << 20, PidsLimit: 100}
	e.start(t, s)
	cg := func(ctrl, file string) string {
		b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", ctrl, e.cfg.CgroupParent, s.ID, file))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	for _, c := range []struct{ ctrl, file, want string }{
		{"cpu", "cpu.cfs_quota_us", "50000"},
		{"cpu", "cpu.cfs_period_us", "200000"},
		{"cpu", "cpu.shares", "512"},
		{"memory", "memory.limit_in_bytes", strconv.Itoa(64 << 20)},
		{"pids", "pids.max", "100"},
	} {
		if got := cg(c.ctrl, c.file); got != c.want {
			t.Errorf("%s/%s = %s, want %s", c.ctrl, c.file, got, c.want)
		}
	}
	// The open-files limit is the agent's hard limit (or 1<<20), never
	// above it.
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	want := min(rl.Max, 1<<20)
	if _, out := e.exec(t, s.ID, "sh", "-c", "ulimit -n"); strings.TrimSpace(out) != strconv.FormatUint(want, 10) {
		t.Errorf("ulimit -n = %q, want %d", out, want)
	}
}

func TestOOMKilled(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		script string
	}{
		// tail keeps the whole (newline-free) input in memory.
		{"child", "dd if=/dev/zero bs=1M count=200 2>/dev/null | tail"},
		{"command", "exec tail /dev/zero"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := e.spec("oom-"+tc.name, "sh", "-c", tc.script)
			s.Resources.MemoryLimit = 32 << 20
			st := e.run(t, s)
			if !st.OOMKilled || st.Reason != shoal.ReasonOOMKilled || st.ExitCode != 137 {
				t.Errorf("state %+v, want OOMKilled with exit code 137", st)
			}
		})
	}
	s := e.spec("no-oom", "sh", "-c", "dd if=/dev/zero bs=1M count=16 2>/dev/null | wc -c")
	s.Resources.MemoryLimit = 32 << 20
	if st := e.run(t, s); st.OOMKilled || st.ExitCode != 0 {
		t.Errorf("within the limit: %+v", st)
	}
}

func TestSecurity(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		script string
		mod    func(*shoal.ContainerSpec)
		code   int
		stdout string
	}{
		{name: "readonly-rootfs", script: "touch /x 2>/dev/null && exit 1; touch /tmp/y || exit 2; echo ok",
			mod: func(s *shoal.ContainerSpec) {
				s.ReadonlyRootfs = true
				s.Mounts = []shoal.Mount{{Destination: "/tmp", Type: "tmpfs", Options: []string{"size=1m"}}}
			}, stdout: "ok"},
		{name: "writable-rootfs", script: "touch /x && echo ok", stdout: "ok"},
		{name: "chown-default", script: "chown 1000:1000 /tmp && echo ok", stdout: "ok"},
		{name: "chown-dropped", script: "chown 1000:1000 /tmp 2>/dev/null && exit 1; echo denied",
			mod: func(s *shoal.ContainerSpec) { s.Capabilities.Drop = []string{"CHOWN"} }, stdout: "denied"},
		{name: "drop-all-add-one", script: "grep CapEff /proc/self/status",
			mod: func(s *shoal.ContainerSpec) {
				s.Capabilities = shoal.Capabilities{Drop: []string{"ALL"}, Add: []string{"cap_net_bind_service"}}
			}, stdout: "CapEff:\t0000000000000400"},
		{name: "mount-denied", script: "mount -t tmpfs none /mnt 2>/dev/null && exit 1; echo denied", stdout: "denied"},
		{name: "masked-kcore", script: "[ -s /proc/kcore ] && exit 1; echo masked", stdout: "masked"},
		{name: "privileged", script: "mount -t tmpfs none /mnt && [ -c /dev/kmsg ] && grep CapEff /proc/self/status",
			mod: func(s *shoal.ContainerSpec) { s.Privileged = true }, stdout: "CapEff:\t" + fullCapEff(t)},
		{name: "no-new-privileges", script: "grep NoNewPrivs /proc/self/status",
			mod: func(s *shoal.ContainerSpec) { s.NoNewPrivileges = true }, stdout: "NoNewPrivs:\t1"},
		{name: "user-mount", script: "cat /data/hello && touch /data/x 2>/dev/null && exit 1; echo ro",
			mod: func(s *shoal.ContainerSpec) {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("hi\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				s.Mounts = []shoal.Mount{{Source: dir, Destination: "/data", Type: "bind", ReadOnly: true}}
			}, stdout: "hi\nro"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := e.spec(tc.name, "sh", "-c", tc.script)
			if tc.mod != nil {
				tc.mod(&s)
			}
			st := e.run(t, s)
			var out []string
			for _, r := range readLog(t, e.rt.LogPath(s.ID)) {
				out = append(out, r.Content)
			}
			if st.ExitCode != tc.code || strings.Join(out, "\n") != tc.stdout {
				t.Errorf("exit %d, output %q; want %d, %q", st.ExitCode, strings.Join(out, "\n"), tc.code, tc.stdout)
			}
		})
	}
}

// fullCapEff is CapEff of a process with all the capabilities the test
// (the agent) has: its bounding set.
func fullCapEff(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return ""
}

// TestJoinNetworkNamespace: a container given NetNS sees exactly that
// namespace; HostNetwork sees the host's; neither sees a new one.
func TestJoinNetworkNamespace(t *testing.T) {
	e := newEnv(t)
	nsFile := newNetNS(t)
	var want syscall.Stat_t
	if err := syscall.Stat(nsFile, &want); err != nil {
		t.Fatal(err)
	}
	var host syscall.Stat_t
	if err := syscall.Stat("/proc/thread-self/ns/net", &host); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mod  func(*shoal.ContainerSpec)
		ino  uint64 // 0: a new namespace (neither)
	}{
		{"joined", func(s *shoal.ContainerSpec) { s.NetNS = nsFile }, want.Ino},
		{"host", func(s *shoal.ContainerSpec) { s.HostNetwork = true }, host.Ino},
		{"new", func(s *shoal.ContainerSpec) {}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := e.spec("netns-"+tc.name, "readlink", "/proc/thread-self/ns/net")
			tc.mod(&s)
			if st := e.run(t, s); st.ExitCode != 0 {
				t.Fatalf("state %+v", st)
			}
			recs := readLog(t, e.rt.LogPath(s.ID))
			if len(recs) != 1 {
				t.Fatalf("log %+v", recs)
			}
			got := recs[0].Content
			if tc.ino != 0 && got != "net:["+strconv.FormatUint(tc.ino, 10)+"]" {
				t.Errorf("container is in %s, want net:[%d]", got, tc.ino)
			}
			if tc.ino == 0 && (got == "net:["+strconv.FormatUint(want.Ino, 10)+"]" || got == "net:["+strconv.FormatUint(host.Ino, 10)+"]") {
				t.Errorf("container without NetNS is in an existing namespace %s", got)
			}
		})
	}
}

// newNetNS creates a network namespace bind-mounted on a file, removed at
// the end of the test.
func newNetNS(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "netns")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		// This thread's namespace changes; it is never unlocked, so Go
		// ends the thread with the goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- unix.Mount("/proc/thread-self/ns/net", file, "", unix.MS_BIND, "")
	}()
	if err := <-errc; err != nil {
		t.Fatalf("new network namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(file, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount netns: %v", err)
		}
	})
	return file
}
