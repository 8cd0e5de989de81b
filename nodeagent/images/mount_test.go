package images

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// overlay mounts layers (bottom first) plus a fresh upper dir and returns
// the merged directory; the mount goes away in cleanup.
func overlay(t *testing.T, layers []string) string {
	t.Helper()
	dir := t.TempDir()
	merged, upper, work := filepath.Join(dir, "merged"), filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	for _, d := range []string{merged, upper, work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lower := slices.Clone(layers)
	slices.Reverse(lower) // overlayfs wants the top layer first
	opts := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("overlayfs mount not possible here: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(merged, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", merged, err)
		}
	})
	return merged
}

// TestOverlayMount stacks the layers of pulled images with overlayfs, as the
// runtime will, and reads through the mount: whiteouts hide, opaque
// directories replace, the busybox binary runs.
func TestOverlayMount(t *testing.T) {
	requireRoot(t)
	f := testImages(t)
	reg := startRegistry(t)
	s := newStore(t)
	base, err := s.Pull(context.Background(), reg.push(t, "base:1", f.base), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := s.Pull(context.Background(), reg.push(t, "app:1", f.app), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	baseRoot, appRoot := overlay(t, base.Layers), overlay(t, app.Layers)
	tests := []struct {
		name  string
		root  string
		path  string
		want  string // file content; "" with exists=false means absent
		exist bool
	}{
		{"base has etc/hello", baseRoot, "etc/hello", "hello\n", true},
		{"base has data/a", baseRoot, "data/a", "a\n", true},
		{"whiteout hides etc/hello", appRoot, "etc/hello", "", false},
		{"the hard link survives the whiteout of its twin", appRoot, "etc/hello-link", "hello\n", true},
		{"opaque dir hides data/a", appRoot, "data/a", "", false},
		{"opaque dir hides data/b", appRoot, "data/b", "", false},
		{"opaque dir keeps its own data/c", appRoot, "data/c", "c\n", true},
		{"lower layer visible through the stack", appRoot, "bin/su", "#!/bin/sh\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(tt.root, tt.path))
			if !tt.exist {
				if !os.IsNotExist(err) {
					t.Errorf("%s: %q, %v; want it absent", tt.path, b, err)
				}
				return
			}
			if err != nil || string(b) != tt.want {
				t.Errorf("%s = %q, %v; want %q", tt.path, b, err, tt.want)
			}
		})
	}
	t.Run("busybox runs from the merged tree", func(t *testing.T) {
		out, err := exec.Command(filepath.Join(appRoot, "bin/busybox"), "cat", filepath.Join(appRoot, "data/c")).CombinedOutput()
		if err != nil || string(out) != "c\n" {
			t.Errorf("busybox cat = %q, %v", out, err)
		}
	})
	t.Run("writes go to the upper dir, not the layers", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(appRoot, "data/c"), []byte("changed"), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(app.Layers[2], "data/c"))
		if err != nil || string(b) != "c\n" {
			t.Errorf("layer content changed: %q, %v", b, err)
		}
	})
}
