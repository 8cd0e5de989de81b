package volumes

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MountTmpfs mounts a tmpfs (mode 0755, nosuid, nodev) on dir, creating dir
// if needed, so that the files of a secret volume are never written to the
// node's disk. sizeBytes > 0 caps its size; 0 leaves the kernel's default
// (half of RAM). Idempotent: if a tmpfs is already mounted on dir, it does
// nothing. Needs root (CAP_SYS_ADMIN).
func MountTmpfs(dir string, sizeBytes int64) error {
	if sizeBytes < 0 {
		return fmt.Errorf("mount tmpfs on %s: negative size %d", dir, sizeBytes)
	}
	dir, err := canonicalDir(dir, true)
	if err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	fstype, mounted, err := mountedFS(dir)
	if err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	if mounted && fstype == "tmpfs" {
		return nil
	}
	opts := "mode=0755"
	if sizeBytes > 0 {
		opts += ",size=" + strconv.FormatInt(sizeBytes, 10)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// Unmount detaches the file system mounted on dir (lazily, MNT_DETACH, so a
// busy mount does not fail; if several are stacked, all of them). It leaves
// dir itself in place. Idempotent: a dir that is not a mount point, or does
// not exist, is not an error.
func Unmount(dir string) error {
	dir, err := canonicalDir(dir, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unmount %s: %w", dir, err)
	}
	for {
		_, mounted, err := mountedFS(dir)
		if err != nil {
			return fmt.Errorf("unmount %s: %w", dir, err)
		}
		if !mounted {
			return nil
		}
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
				return nil // not mounted (any more)
			}
			return fmt.Errorf("unmount %s: %w", dir, err)
		}
	}
}

// canonicalDir returns dir absolute with symlinks resolved, as mountinfo
// shows mount points; create makes it first.
func canonicalDir(dir string, create bool) (string, error) {
	if create {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return dir, err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir, err
	}
	return filepath.EvalSymlinks(abs)
}

// mountedFS reports whether dir is a mount point in this process's mount
// namespace and, if so, the type of the topmost file system mounted there.
func mountedFS(dir string) (fstype string, mounted bool, err error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		mp, typ, ok := parseMountinfoLine(sc.Text())
		if ok && mp == dir {
			fstype, mounted = typ, true // later lines are mounted on top
		}
	}
	return fstype, mounted, sc.Err()
}

// parseMountinfoLine returns the mount point (unescaped) and file system
// type of one /proc/self/mountinfo line:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
func parseMountinfoLine(line string) (mountPoint, fstype string, ok bool) {
	pre, post, found := strings.Cut(line, " - ")
	if !found {
		return "", "", false
	}
	fields := strings.Fields(pre)
	postFields := strings.Fields(post)
	if len(fields) < 5 || len(postFields) < 1 {
		return "", "", false
	}
	return unescapeOctal(fields[4]), postFields[0], true
}

// unescapeOctal undoes the kernel's \NNN escaping of space, tab, newline
// and backslash in mountinfo paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
