package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/runtime"
)

func TestRemoveLeavesNothing(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name     string
		running  bool
		keepLogs bool
		rootfs   bool
	}{
		{name: "running", running: true},
		{name: "exited"},
		{name: "keep-logs", keepLogs: true},
		{name: "rootfs-running", running: true, rootfs: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := e.spec("rm-"+tc.name, "sh", "-c", "echo hello; touch /written; exec sleep 1000")
			if !tc.running {
				s.Args = []string{"sh", "-c", "echo hello"}
			}
			if tc.rootfs {
				s.Layers, s.Rootfs = nil, testRootfs
				s.Args = []string{"sh", "-c", "echo hello; exec sleep 1000"}
			}
			e.start(t, s)
			if !tc.running {
				e.wait(t, s.ID)
			} else {
				waitFor(t, 10*time.Second, "output", func() bool { return logHas(readLog(t, e.rt.LogPath(s.ID)), "stdout", "hello") })
			}
			if err := e.rt.Remove(s.ID, runtime.RemoveOptions{KeepLogs: tc.keepLogs}); err != nil {
				t.Fatal(err)
			}
			assertGone(t, e, s.ID)
			dir := filepath.Join(e.cfg.Root, "containers", s.ID)
			if tc.keepLogs {
				if !logHas(readLog(t, e.rt.LogPath(s.ID)), "stdout", "hello") {
					t.Error("KeepLogs: log gone")
				}
				var left []string
				_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
					if !d.IsDir() {
						left = append(left, strings.TrimPrefix(p, dir))
					}
					return nil
				})
				if len(left) != 1 || left[0] != "/shoal/log" {
					t.Errorf("KeepLogs left %v, want only /shoal/log", left)
				}
				// The kept log does not make a container.
				if _, err := e.rt.State(s.ID); !errors.Is(err, runtime.ErrNotFound) {
					t.Errorf("State after Remove: %v", err)
				}
			} else if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("container folder left: %v", err)
			}
			if tc.rootfs {
				if _, err := os.Stat(filepath.Join(testRootfs, "bin/busybox")); err != nil {
					t.Errorf("Remove damaged the Rootfs folder: %v", err)
				}
			}
			// Idempotent.
			if err := e.rt.Remove(s.ID, runtime.RemoveOptions{KeepLogs: tc.keepLogs}); err != nil {
				t.Errorf("second Remove: %v", err)
			}
		})
	}
	if err := e.rt.Remove("never-existed", runtime.RemoveOptions{}); err != nil {
		t.Errorf("Remove of an unknown container: %v", err)
	}
	// The shared layer did not get the containers' writes.
	if _, err := os.Stat(filepath.Join(testRootfs, "written")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a container wrote into its lower layer: %v", err)
	}
	// Removing everything leaves no cgroup folder under CgroupParent.
	if err := e.rt.PruneCgroupParent(); err != nil {
		t.Fatal(err)
	}
	for _, m := range cgroupMountpoints(t) {
		if _, err := os.Stat(filepath.Join(m, e.cfg.CgroupParent)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup parent left in %s: %v", m, err)
		}
	}
}

// assertGone checks that nothing of container id is left but its folder:
// no mount, no cgroup folder in any hierarchy, no libcontainer state.
func assertGone(t *testing.T, e *env, id string) {
	t.Helper()
	mi, err := os.ReadFile("/proc/thread-self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mi), filepath.Join(e.cfg.Root, "containers", id)) {
		t.Errorf("a mount of %s is left:\n%s", id, mi)
	}
	for _, m := range cgroupMountpoints(t) {
		p := filepath.Join(m, e.cfg.CgroupParent, id)
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup folder left: %s (%v)", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(e.cfg.Root, "libcontainer", id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("libcontainer state left: %v", err)
	}
	if _, err := e.rt.Wait(context.Background(), id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Wait after Remove: %v, want ErrNotFound", err)
	}
}

// cgroupMountpoints lists every cgroup hierarchy's mount point.
func cgroupMountpoints(t testing.TB) []string {
	b, err := os.ReadFile("/proc/thread-self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(b)) {
		_, after, ok := strings.Cut(line, " - ")
		f := strings.Fields(line)
		if ok && (strings.HasPrefix(after, "cgroup ") || strings.HasPrefix(after, "cgroup2 ")) && len(f) > 4 {
			out = append(out, f[4])
		}
	}
	if len(out) == 0 {
		t.Fatal("no cgroup mounts")
	}
	return out
}
