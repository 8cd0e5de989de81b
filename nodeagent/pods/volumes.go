package pods

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// mountTmpfs mounts a tmpfs at dir, capped at sizeLimit when one is given
// (emptyDir with medium Memory). Mounting an already mounted dir is a
// no-op.
func mountTmpfs(dir string, sizeLimit *resource.Quantity) error {
	if mounted, _ := isMountPoint(dir); mounted {
		return nil
	}
	opts := "mode=0777"
	if sizeLimit != nil && !sizeLimit.IsZero() {
		opts += fmt.Sprintf(",size=%d", sizeLimit.Value())
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs at %s: %w", dir, err)
	}
	return nil
}

// unmountAll unmounts dir (lazily, so that a busy mount goes once free).
func unmountAll(dir string) {
	for {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			return
		}
	}
}

// isMountPoint reports whether dir is on another device than its parent.
func isMountPoint(dir string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return false, err
	}
	if err := unix.Stat(dir+"/..", &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}

// checkHostPath applies a hostPath volume's type check, creating the path
// for the OrCreate types, as the kubelet does.
func checkHostPath(h *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if h.Type != nil {
		t = *h.Type
	}
	fi, err := os.Lstat(h.Path)
	exists := err == nil
	if exists && fi.Mode()&os.ModeSymlink != 0 {
		fi, err = os.Stat(h.Path)
		exists = err == nil
	}
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			return os.MkdirAll(h.Path, 0o755)
		}
		if !fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", h.Path)
		}
	case corev1.HostPathDirectory:
		if !exists || !fi.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", h.Path)
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_RDONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", h.Path)
		}
	case corev1.HostPathFile:
		if !exists || !fi.Mode().IsRegular() {
			return fmt.Errorf("hostPath type check failed: %s is not a file", h.Path)
		}
	case corev1.HostPathSocket:
		if !exists || fi.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a socket file", h.Path)
		}
	case corev1.HostPathCharDev:
		if !exists || fi.Mode()&os.ModeCharDevice == 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a character device", h.Path)
		}
	case corev1.HostPathBlockDev:
		if !exists || fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
			return fmt.Errorf("hostPath type check failed: %s is not a block device", h.Path)
		}
	default:
		return fmt.Errorf("hostPath type %q is not known", t)
	}
	return nil
}

// mountNFS mounts an nfs volume with the kernel client, through the
// mount.nfs helper as the kubelet does. When the node cannot, the error
// says what is missing.
func mountNFS(src *corev1.NFSVolumeSource, dir string) error {
	if mounted, _ := isMountPoint(dir); mounted {
		return nil
	}
	if err := nfsAvailable(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := []string{"-t", "nfs"}
	if src.ReadOnly {
		args = append(args, "-o", "ro")
	}
	args = append(args, src.Server+":"+src.Path, dir)
	out, err := exec.Command("mount", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mount nfs %s:%s: %v: %s", src.Server, src.Path, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// nfsHelpers are where Debian's nfs-common puts the mount helper.
var nfsHelpers = []string{"/sbin/mount.nfs", "/usr/sbin/mount.nfs"}

// nfsAvailable checks that the node can mount NFS: the mount.nfs helper
// (Debian's nfs-common) and the kernel's nfs filesystem.
func nfsAvailable() error {
	found := false
	for _, p := range nfsHelpers {
		if _, err := os.Stat(p); err == nil {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("this node cannot mount nfs volumes: mount.nfs is missing (install the nfs-common package on Debian or Ubuntu, nfs-utils on Fedora)")
	}
	data, err := os.ReadFile("/proc/filesystems")
	if err == nil && !strings.Contains(string(data), "\tnfs\n") {
		// The module may load on first use; modprobe says if it cannot.
		if out, err := exec.Command("modprobe", "nfs").CombinedOutput(); err != nil {
			return fmt.Errorf("this node cannot mount nfs volumes: the kernel has no nfs filesystem (modprobe nfs: %s)", strings.TrimSpace(string(out)))
		}
	}
	return nil
}
