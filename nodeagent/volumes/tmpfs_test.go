package volumes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMountinfoLine(t *testing.T) {
	tests := []struct {
		name, line, wantMP, wantType string
		wantOK                       bool
	}{
		{
			name:   "plain",
			line:   "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
			wantMP: "/mnt2", wantType: "ext3", wantOK: true,
		},
		{
			name:   "escaped space and no optional fields",
			line:   `43 27 0:39 / /var/lib/shoal/my\040vol rw,relatime - tmpfs tmpfs rw,size=1024k,mode=755`,
			wantMP: "/var/lib/shoal/my vol", wantType: "tmpfs", wantOK: true,
		},
		{name: "garbage", line: "not a mountinfo line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp, typ, ok := parseMountinfoLine(tt.line)
			if mp != tt.wantMP || typ != tt.wantType || ok != tt.wantOK {
				t.Fatalf("= %q, %q, %v; want %q, %q, %v", mp, typ, ok, tt.wantMP, tt.wantType, tt.wantOK)
			}
		})
	}
}

func TestUnmountNotMountedIsNoError(t *testing.T) {
	dir := t.TempDir()
	if err := Unmount(dir); err != nil {
		t.Fatalf("Unmount of a plain directory: %v", err)
	}
	if err := Unmount(filepath.Join(dir, "missing")); err != nil {
		t.Fatalf("Unmount of a missing directory: %v", err)
	}
}

func TestTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: mounting tmpfs needs root (run the tests as root)")
	}
	dir := filepath.Join(t.TempDir(), "secret-vol") // MountTmpfs creates it
	t.Cleanup(func() { _ = Unmount(dir) })

	if err := MountTmpfs(dir, 1<<20); err != nil {
		t.Fatalf("MountTmpfs: %v", err)
	}
	assertMounted(t, dir, "tmpfs")
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o755 {
		t.Fatalf("mount root mode = %v (%v), want 0755", info.Mode(), err)
	}

	// The atomic writer works on it, and a second mount is a no-op.
	w, err := NewAtomicWriter(dir, "tmpfs-test")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, map[string]FileProjection{"token": fp("s3cret", 0o400)})
	if err := MountTmpfs(dir, 1<<20); err != nil {
		t.Fatalf("second MountTmpfs: %v", err)
	}
	if n := countMounts(t, dir); n != 1 {
		t.Fatalf("%d mounts on %s after a second MountTmpfs, want 1", n, dir)
	}
	checkFiles(t, dir, map[string]FileProjection{"token": fp("s3cret", 0o400)})

	// The size is enforced.
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 2<<20), 0o600); err == nil {
		t.Fatal("wrote 2 MiB into a 1 MiB tmpfs")
	}

	if err := Unmount(dir); err != nil {
		t.Fatalf("Unmount: %v", err)
	}
	if n := countMounts(t, dir); n != 0 {
		t.Fatalf("%d mounts left on %s after Unmount", n, dir)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("files left in %s after Unmount: %v (they were on the tmpfs)", dir, got)
	}
	if err := Unmount(dir); err != nil {
		t.Fatalf("second Unmount: %v", err)
	}
}

// assertMounted checks that /proc/self/mountinfo shows fstype on dir.
func assertMounted(t *testing.T, dir, fstype string) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, mounted, err := mountedFS(dir)
	if err != nil || !mounted || got != fstype {
		t.Fatalf("mountinfo for %s: type %q mounted %v (%v), want %s", dir, got, mounted, err, fstype)
	}
}

// countMounts counts the mountinfo lines whose mount point is dir.
func countMounts(t *testing.T, dir string) int {
	t.Helper()
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if mp, _, ok := parseMountinfoLine(line); ok && mp == dir {
			n++
		}
	}
	return n
}
