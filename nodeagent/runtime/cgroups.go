package runtime

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// cgroupMount is one cgroup hierarchy: where it is mounted, and its
// controllers (v1 super options such as "memory" or "name=systemd"; none for
// v2).
type cgroupMount struct {
	Dir         string
	Controllers []string
	V2          bool
}

// cgroupMounts lists every cgroup hierarchy (v1 controllers, named
// hierarchies and the v2 one) mounted at its root in this thread's mount
// namespace. It reads /proc/thread-self: libcontainer leaves some threads
// (possibly the main one, whose namespaces /proc/self shows) in a
// container's mount namespace.
func cgroupMounts() ([]cgroupMount, error) {
	b, err := os.ReadFile("/proc/thread-self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []cgroupMount
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// 36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
		f := strings.Fields(sc.Text())
		sep := slices.Index(f, "-")
		if sep < 5 || sep+3 >= len(f) {
			continue
		}
		t := f[sep+1]
		if (t != "cgroup" && t != "cgroup2") || f[3] != "/" {
			continue
		}
		m := cgroupMount{Dir: unescapeMountPath(f[4]), V2: t == "cgroup2"}
		if !m.V2 {
			for _, o := range strings.Split(f[sep+3], ",") {
				if o != "rw" && o != "ro" {
					m.Controllers = append(m.Controllers, o)
				}
			}
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeCgroupDirs removes rel (a cgroup path such as "/shoal/node/id")
// with its sub-cgroups from every hierarchy. Missing directories are fine.
func removeCgroupDirs(rel string) error {
	mounts, err := cgroupMounts()
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		if err := cgroups.RemovePath(filepath.Join(m.Dir, rel)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeEmptyCgroupDirs removes rel and then its parents up to (not
// including) the hierarchy root from every hierarchy, stopping at the first
// that is not empty.
func removeEmptyCgroupDirs(rel string) error {
	mounts, err := cgroupMounts()
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		for p := filepath.Clean("/" + rel); p != "/"; p = filepath.Dir(p) {
			err := os.Remove(filepath.Join(m.Dir, p))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				if !errors.Is(err, os.ErrExist) && !isBusy(err) {
					errs = append(errs, err)
				}
				break
			}
		}
	}
	return errors.Join(errs...)
}

func isBusy(err error) bool {
	return errors.Is(err, unix.EBUSY) || errors.Is(err, unix.ENOTEMPTY)
}

// memoryCgroupDir is the memory cgroup directory of the cgroup path rel
// ("" when there is no memory controller).
func memoryCgroupDir(rel string) string {
	mounts, err := cgroupMounts()
	if err != nil {
		return ""
	}
	unified := cgroups.IsCgroup2UnifiedMode()
	for _, m := range mounts {
		if (unified && m.V2) || (!unified && slices.Contains(m.Controllers, "memory")) {
			return filepath.Join(m.Dir, rel)
		}
	}
	return ""
}

// oomKills reads how many processes the kernel's OOM killer killed in the
// memory cgroup at dir (v1 memory.oom_control, v2 memory.events). It
// returns 0 when the cgroup is gone.
func oomKills(dir string) int {
	if dir == "" {
		return 0
	}
	file := "memory.oom_control"
	if cgroups.IsCgroup2UnifiedMode() {
		file = "memory.events"
	}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "oom_kill "); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// warmCgroupMigration moves this process into the cgroup it is already in,
// in one cgroup v1 hierarchy: a no-op move, for its side effect. Every
// cgroup.procs write takes the kernel's cgroup_threadgroup_rwsem for
// writing, and the first writer after a quiet spell waits for an RCU grace
// period (measured 5 to 24 ms on the 2-core CI machine); writers that come
// while that wait runs or shortly after it wait less or not at all. Start
// calls it in the background first thing, so that the wait overlaps
// Start's own preparation (overlay mount, configuration, libcontainer's
// Create and the re-exec) instead of coming on top of it when libcontainer
// moves the container's init into its cgroups (cgroup.procs writes in
// every hierarchy, before the init may go on). Without a cgroup v1
// hierarchy it does nothing; errors are ignored: it only saves time. One
// runs at a time (concurrent Starts share its effect).
func warmCgroupMigration() {
	if !warming.CompareAndSwap(false, true) {
		return
	}
	defer warming.Store(false)
	mounts, err := cgroupMounts()
	if err != nil {
		return
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(self), "\n") {
		// 8:pids:/some/path
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || f[1] == "" {
			continue
		}
		have := strings.Split(f[1], ",")
		for _, m := range mounts {
			if m.V2 || !sameSet(m.Controllers, have) {
				continue
			}
			procs := filepath.Join(m.Dir, f[2], "cgroup.procs")
			_ = os.WriteFile(procs, []byte(strconv.Itoa(os.Getpid())), 0)
			return
		}
	}
}

var warming atomic.Bool

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
