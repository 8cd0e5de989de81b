package images

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestUnpackOnDisk pulls the test app image and checks what its three layers
// look like on disk: metadata kept, whiteouts in overlayfs form.
func TestUnpackOnDisk(t *testing.T) {
	requireRoot(t)
	f := testImages(t)
	reg := startRegistry(t)
	s := newStore(t)
	img, err := s.Pull(context.Background(), reg.push(t, "app:v1", f.app), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base, wh, opq := img.Layers[0], img.Layers[1], img.Layers[2]
	lstat := func(t *testing.T, p string) *unix.Stat_t {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return &st
	}
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"regular file content and mode", func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(base, "bin/busybox"))
			if err != nil || !bytes.Equal(b, f.busybox) {
				t.Fatalf("bin/busybox differs from /bin/busybox: %v", err)
			}
			if st := lstat(t, filepath.Join(base, "bin/busybox")); st.Mode&0o7777 != 0o755 {
				t.Errorf("mode %o", st.Mode&0o7777)
			}
		}},
		{"owner, mode and mtime", func(t *testing.T) {
			st := lstat(t, filepath.Join(base, "etc/hello"))
			if st.Uid != 1000 || st.Gid != 1001 || st.Mode&0o7777 != 0o640 {
				t.Errorf("uid %d gid %d mode %o", st.Uid, st.Gid, st.Mode&0o7777)
			}
			if st.Mtim.Sec != testTime.Unix() {
				t.Errorf("mtime %d, want %d", st.Mtim.Sec, testTime.Unix())
			}
		}},
		{"directory mtime set after its children", func(t *testing.T) {
			if st := lstat(t, filepath.Join(base, "etc")); st.Mtim.Sec != testTime.Unix() {
				t.Errorf("etc mtime %d, want %d", st.Mtim.Sec, testTime.Unix())
			}
		}},
		{"setuid bit survives chown", func(t *testing.T) {
			if st := lstat(t, filepath.Join(base, "bin/su")); st.Mode&0o7777 != 0o4755 {
				t.Errorf("mode %o, want 4755", st.Mode&0o7777)
			}
		}},
		{"sticky directory", func(t *testing.T) {
			if st := lstat(t, filepath.Join(base, "tmp")); st.Mode&0o7777 != 0o1777 {
				t.Errorf("mode %o, want 1777", st.Mode&0o7777)
			}
		}},
		{"relative and absolute symlinks", func(t *testing.T) {
			for p, want := range map[string]string{"bin/sh": "busybox", "bin/cat": "/bin/busybox"} {
				got, err := os.Readlink(filepath.Join(base, p))
				if err != nil || got != want {
					t.Errorf("%s -> %q, %v; want %q", p, got, err, want)
				}
			}
		}},
		{"hard link shares the inode", func(t *testing.T) {
			a, b := lstat(t, filepath.Join(base, "etc/hello")), lstat(t, filepath.Join(base, "etc/hello-link"))
			if a.Ino != b.Ino || a.Nlink != 2 {
				t.Errorf("inodes %d %d nlink %d", a.Ino, b.Ino, a.Nlink)
			}
		}},
		{"device node and fifo", func(t *testing.T) {
			st := lstat(t, filepath.Join(base, "dev/null"))
			if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
				t.Errorf("dev/null mode %o rdev %d:%d", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
			}
			if st := lstat(t, filepath.Join(base, "dev/fifo")); st.Mode&unix.S_IFMT != unix.S_IFIFO {
				t.Errorf("dev/fifo mode %o", st.Mode)
			}
		}},
		{"xattr", func(t *testing.T) {
			buf := make([]byte, 64)
			n, err := unix.Lgetxattr(filepath.Join(base, "etc/hello"), "user.shoal", buf)
			if err != nil || string(buf[:n]) != "test" {
				t.Errorf("user.shoal = %q, %v", buf[:n], err)
			}
		}},
		{"whiteout is a 0:0 character device", func(t *testing.T) {
			st := lstat(t, filepath.Join(wh, "etc/hello"))
			if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
				t.Errorf("etc/hello in the whiteout layer: mode %o rdev %d", st.Mode, st.Rdev)
			}
			if _, err := os.Lstat(filepath.Join(wh, "etc/.wh.hello")); !os.IsNotExist(err) {
				t.Errorf(".wh.hello left on disk: %v", err)
			}
		}},
		{"opaque directory has the overlay xattr", func(t *testing.T) {
			buf := make([]byte, 8)
			n, err := unix.Lgetxattr(filepath.Join(opq, "data"), opaqueXattr, buf)
			if err != nil || string(buf[:n]) != "y" {
				t.Errorf("%s = %q, %v", opaqueXattr, buf[:n], err)
			}
			ents, _ := os.ReadDir(filepath.Join(opq, "data"))
			if len(ents) != 1 || ents[0].Name() != "c" {
				t.Errorf("data/ holds %v, want only c", ents)
			}
		}},
		{"layer record", func(t *testing.T) {
			if _, err := os.Stat(base + ".json"); err != nil {
				t.Error(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

// TestExtractRefusesEscapes feeds hostile tars to the unpacker and checks
// that nothing is written outside the layer directory.
func TestExtractRefusesEscapes(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name    string
		entries []tarEntry
		wantErr string // "" means success
	}{
		{"dot-dot in a name", []tarEntry{file("../escape", "x")}, "path traversal"},
		{"dot-dot in the middle", []tarEntry{dir("a/"), file("a/../../escape", "x")}, "path traversal"},
		{"write through a symlink to outside", []tarEntry{symlink("a", "../.."), file("a/escape", "x")}, "through symlink"},
		{"write through an absolute symlink", []tarEntry{symlink("a", "/"), file("a/escape", "x")}, "through symlink"},
		{"hard link to outside", []tarEntry{{name: "l", typ: tar.TypeLink, link: "../escape"}}, "path traversal"},
		{"hard link through a symlink", []tarEntry{symlink("s", "/etc"), {name: "l", typ: tar.TypeLink, link: "s/hostname"}}, "through symlink"},
		{"whiteout through a symlink", []tarEntry{symlink("s", "/"), file("s/.wh.escape", "")}, "through symlink"},
		{"absolute names stay inside", []tarEntry{file("/abs", "x")}, ""},
		{"absolute and escaping symlinks are fine as symlinks", []tarEntry{symlink("up", "../../../escape"), symlink("root", "/")}, ""},
		{"a later entry replaces a symlink instead of following it", []tarEntry{symlink("f", "../escape"), file("f", "x")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outer := t.TempDir()
			root := filepath.Join(outer, "a", "b", "layer")
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := extract(bytes.NewReader(tarBytes(t, tt.entries...)), root)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("extract: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("extract error %v, want it to contain %q", err, tt.wantErr)
			}
			// Nothing may appear outside root.
			_ = filepath.WalkDir(outer, func(p string, d os.DirEntry, err error) error {
				if err == nil && p != root && !strings.HasPrefix(p, root+"/") && !strings.HasPrefix(root, p) {
					t.Errorf("extract wrote %s outside the layer", p)
				}
				return nil
			})
			for _, p := range []string{"/escape", filepath.Join(outer, "escape")} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s exists", p)
				}
			}
		})
	}
}

// TestCorruptLayerRefused checks that a layer whose content does not match
// its diff ID never becomes a layer directory.
func TestCorruptLayerRefused(t *testing.T) {
	requireRoot(t)
	s := newStore(t)
	f := testImages(t)
	diffID, err := f.opaqueLayer.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	wrong := tarBytes(t, file("evil", "not the layer"))
	_, _, err = s.ensureLayer(context.Background(), diffID, func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(wrong)), nil
	})
	if err == nil || !strings.Contains(err.Error(), "not the diff ID") {
		t.Fatalf("ensureLayer of corrupt content = %v", err)
	}
	if n := len(layerDirs(t, s)); n != 0 {
		t.Errorf("%d layer directories after a corrupt layer", n)
	}
}
