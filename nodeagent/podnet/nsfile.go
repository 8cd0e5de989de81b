package podnet

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/shoal-run/shoal/nodeagent/internal/netnsexec"
)

// nsKind is a namespace type a sandbox may own; its value is the file name
// under /proc/<pid>/task/<tid>/ns/ and under the sandbox's folder.
type nsKind string

const (
	nsNet nsKind = "net"
	nsIPC nsKind = "ipc"
	nsUTS nsKind = "uts"
)

func (k nsKind) cloneFlag() int {
	switch k {
	case nsNet:
		return unix.CLONE_NEWNET
	case nsIPC:
		return unix.CLONE_NEWIPC
	case nsUTS:
		return unix.CLONE_NEWUTS
	}
	panic("podnet: unknown namespace kind " + string(k))
}

// ensurePrivateMount makes dir a mount point of its own with private
// propagation, bind-mounting it onto itself first when it is not one yet (what
// `ip netns` does for /run/netns). Namespace files bind-mounted below it then
// neither propagate to other mount namespaces nor receive their mounts.
// Idempotent: an existing mount point is only re-marked private.
func ensurePrivateMount(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create namespace folder %s: %w", dir, err)
	}
	err := unix.Mount("", dir, "", unix.MS_PRIVATE|unix.MS_REC, "")
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) { // EINVAL: dir is not a mount point yet
		return fmt.Errorf("make %s a private mount: %w", dir, err)
	}
	if err := unix.Mount(dir, dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mount %s onto itself: %w", dir, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make %s a private mount: %w", dir, err)
	}
	return nil
}

// createNamespaces creates one new namespace of each kind and bind-mounts each
// onto dir/<kind>, so that the namespaces outlive the thread that made them.
// When kinds holds nsUTS, the new UTS namespace gets hostname.
//
// The namespaces are made by unshare(2) on a dedicated OS thread that stays
// locked until its goroutine ends, so the Go runtime throws the thread away
// and no other goroutine ever runs in those namespaces. On error, mounts made
// so far stay: the caller removes dir with removeNamespaces.
func createNamespaces(dir string, kinds []nsKind, hostname string) error {
	if len(kinds) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create namespace folder %s: %w", dir, err)
	}
	flags := 0
	for _, k := range kinds {
		flags |= k.cloneFlag()
		target := filepath.Join(dir, string(k))
		f, err := os.OpenFile(target, os.O_RDONLY|os.O_CREATE, 0o444)
		if err != nil {
			return fmt.Errorf("create namespace file %s: %w", target, err)
		}
		f.Close()
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread's namespaces are not the process's any
		// more, so it must die with this goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(flags); err != nil {
			errc <- fmt.Errorf("unshare %s namespaces: %w", kindList(kinds), err)
			return
		}
		for _, k := range kinds {
			if k == nsUTS && hostname != "" {
				if err := unix.Sethostname([]byte(hostname)); err != nil {
					errc <- fmt.Errorf("set hostname %q in new UTS namespace: %w", hostname, err)
					return
				}
			}
		}
		tid := unix.Gettid()
		for _, k := range kinds {
			src := fmt.Sprintf("/proc/%d/task/%d/ns/%s", os.Getpid(), tid, k)
			target := filepath.Join(dir, string(k))
			if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
				errc <- fmt.Errorf("bind-mount %s namespace onto %s: %w", k, target, err)
				return
			}
		}
		errc <- nil
	}()
	return <-errc
}

func kindList(kinds []nsKind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, "+")
}

// removeNamespaces unmounts and deletes every file in dir, then dir itself.
// A missing dir is not an error. Errors are collected, not short-circuited.
func removeNamespaces(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read namespace folder %s: %w", dir, err)
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if err := unmountAll(p); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove namespace file %s: %w", p, err))
		}
	}
	if len(errs) == 0 {
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove namespace folder %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// unmountAll lazily unmounts path until nothing is mounted there any more
// (a file may have been mounted over more than once). Not mounted or missing
// is not an error.
func unmountAll(path string) error {
	for range 64 {
		err := unix.Unmount(path, unix.MNT_DETACH)
		switch {
		case err == nil:
			continue
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil
		default:
			return fmt.Errorf("unmount %s: %w", path, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted after 64 unmounts", path)
}

// isNamespaceFile reports whether path is a bind-mounted namespace (its file
// system is nsfs), i.e. whether the namespace behind it is still alive.
func isNamespaceFile(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}

// mountsUnder lists the mount points of this process's mount namespace at or
// below dir (symlinks resolved), deepest first (the order to unmount them in).
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	defer f.Close()
	dir = filepath.Clean(dir)
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // mountinfo shows resolved paths
	}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountPath(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mount table: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}

// unescapeMountPath undoes the octal escapes (\040 for a space, ...) of
// /proc/self/mountinfo.
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
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

// inNetNS runs fn on an OS thread that has joined the network namespace at
// path (see netnsexec.Do).
func inNetNS(path string, fn func() error) error { return netnsexec.Do(path, fn) }
