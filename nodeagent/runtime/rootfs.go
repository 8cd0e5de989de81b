package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOverlay mounts layers (bottom first) under upper/work at target.
func mountOverlay(layers []string, upper, work, target string) error {
	for _, d := range []string{upper, work, target} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	lower := slices.Clone(layers)
	slices.Reverse(lower) // overlayfs wants the top layer first
	opts := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
	if len(opts) >= os.Getpagesize() {
		return fmt.Errorf("overlay options for %d layers are %d bytes, over the kernel's page-size limit", len(layers), len(opts))
	}
	if err := unix.Mount("overlay", target, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay at %s: %w", target, err)
	}
	return nil
}

// unmountAll unmounts target until it is no longer a mount point (a lazy
// unmount when it is busy). A target that does not exist is fine.
func unmountAll(target string) error {
	for range 8 {
		mounted, err := isMountPoint(target)
		if err != nil || !mounted {
			return err
		}
		err = unix.Unmount(target, 0)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(target, unix.MNT_DETACH)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted", target)
}

// isMountPoint tells whether p is the root of a mount (another device than
// its parent, or the same directory: what overlay and tmpfs mounts are).
func isMountPoint(p string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, err
	}
	if err := unix.Lstat(filepath.Dir(p), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev || st.Ino == parent.Ino, nil
}

// resolveCommand finds argv0 in rootfs the way execvp inside the container
// would: as given when it has a slash (relative to cwd), else in each PATH
// entry. Symbolic links are followed inside rootfs. It returns the path
// inside the container, or an error wrapping ErrCommandNotFound or
// ErrNotExecutable. A candidate at or under one of mounts cannot be checked
// from the host: it is taken as found, and the init reports it if it is not.
func resolveCommand(rootfs, argv0, pathEnv, cwd string, mounts []Mount) (string, error) {
	var candidates []string
	inCwd := func(p string) string {
		if path.IsAbs(p) {
			return path.Clean(p)
		}
		return path.Join(cwd, p)
	}
	if strings.Contains(argv0, "/") {
		candidates = []string{inCwd(argv0)}
	} else {
		for _, dir := range filepath.SplitList(pathEnv) {
			candidates = append(candidates, inCwd(path.Join(dir, argv0)))
		}
	}
	var notExec string
	for _, c := range candidates {
		if underMount(c, mounts) {
			return c, nil
		}
		host, err := resolveInRoot(rootfs, c)
		if err != nil {
			continue
		}
		fi, err := os.Stat(host)
		if err != nil {
			continue
		}
		if fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return c, nil
		}
		if notExec == "" {
			notExec = c
		}
	}
	if notExec != "" {
		return "", fmt.Errorf("%w: %s (%s is not an executable file)", ErrNotExecutable, argv0, notExec)
	}
	if strings.Contains(argv0, "/") {
		return "", fmt.Errorf("%w: %s: no such file", ErrCommandNotFound, argv0)
	}
	return "", fmt.Errorf("%w: %s: not found in PATH %s", ErrCommandNotFound, argv0, pathEnv)
}

// resolveInRoot maps the container path p to a host path under root,
// following symbolic links as if root were "/" (an absolute link target
// restarts at root, ".." never leaves it).
func resolveInRoot(root, p string) (string, error) {
	const maxLinks = 40
	links := 0
	rest := strings.Split(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	cur := "/"
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		if name == "" || name == "." {
			continue
		}
		if name == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, name)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if links++; links > maxLinks {
			return "", &fs.PathError{Op: "resolve", Path: p, Err: unix.ELOOP}
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			cur = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return filepath.Join(root, cur), nil
}

// underMount tells whether the container path p is at or below the
// destination of one of mounts (then the root alone cannot say whether it
// exists).
func underMount(p string, mounts []Mount) bool {
	for _, m := range mounts {
		d := path.Clean(m.Destination)
		if p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}
