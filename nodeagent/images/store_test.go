package images

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseReference(t *testing.T) {
	tests := []struct {
		in, want string
		explicit bool
		wantErr  bool
	}{
		{in: "busybox", want: "docker.io/library/busybox:latest"},
		{in: "busybox:1.36", want: "docker.io/library/busybox:1.36", explicit: true},
		{in: "library/busybox", want: "docker.io/library/busybox:latest"},
		{in: "docker.io/busybox", want: "docker.io/library/busybox:latest"},
		{in: "index.docker.io/library/busybox:1", want: "docker.io/library/busybox:1", explicit: true},
		{in: "user/app:v1", want: "docker.io/user/app:v1", explicit: true},
		{in: "localhost:5000/app:v1", want: "localhost:5000/app:v1", explicit: true},
		{in: "localhost:5000/app", want: "localhost:5000/app:latest"},
		{in: "127.0.0.1:5000/a/b/c", want: "127.0.0.1:5000/a/b/c:latest"},
		{in: "quay.io/x/y@sha256:" + strings.Repeat("0", 64), want: "quay.io/x/y@sha256:" + strings.Repeat("0", 64), explicit: true},
		{in: "busybox:1@sha256:" + strings.Repeat("1", 64), want: "docker.io/library/busybox@sha256:" + strings.Repeat("1", 64), explicit: true},
		{in: "", wantErr: true},
		{in: "UPPER/case", wantErr: true},
		{in: " busybox", wantErr: true},
		{in: "busybox@sha256:123", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := parseReference(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseReference(%q) = %v, want an error", tt.in, r)
				}
				return
			}
			if err != nil || r.String() != tt.want || r.explicit != tt.explicit {
				t.Errorf("parseReference(%q) = %q explicit=%v, %v; want %q explicit=%v", tt.in, r.String(), r.explicit, err, tt.want, tt.explicit)
			}
		})
	}
}

func TestOpenValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"empty root", Config{}, "Root is empty"},
		{"relative root", Config{Root: "images"}, "not an absolute path"},
		{"mirror with a path", Config{Root: "/x", Mirrors: map[string]string{"docker.io": "https://mirror.example/prefix"}}, "with a path"},
		{"mirror with a bad scheme", Config{Root: "/x", Mirrors: map[string]string{"docker.io": "ftp://mirror.example"}}, "scheme"},
		{"mirror with credentials", Config{Root: "/x", Mirrors: map[string]string{"docker.io": "https://u:p@mirror.example"}}, "credentials"},
		{"bad mirror key", Config{Root: "/x", Mirrors: map[string]string{"": "mirror.example"}}, "key"},
		{"bad platform", Config{Root: "/x", Platform: "linux"}, "Platform"},
		{"bad insecure host", Config{Root: "/x", Insecure: []string{"a b"}}, "Insecure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// pulledStore returns a store holding base:1 and app:1 from a test registry.
func pulledStore(t *testing.T) (*Store, *Image, *Image, *testRegistry) {
	t.Helper()
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
	return s, base, app, reg
}

func TestGet(t *testing.T) {
	s, base, app, reg := pulledStore(t)
	hex := func(d string) string { return strings.TrimPrefix(d, "sha256:") }
	tests := []struct {
		name       string
		ref        string
		wantDigest string
		wantRef    string
		wantErr    error
		errText    string
	}{
		{name: "normalized ref", ref: reg.host + "/base:1", wantDigest: base.Digest, wantRef: reg.host + "/base:1"},
		{name: "repo@digest of an image pulled by tag", ref: reg.host + "/app@" + app.Digest, wantDigest: app.Digest, wantRef: reg.host + "/app@" + app.Digest},
		{name: "full digest", ref: app.Digest, wantDigest: app.Digest, wantRef: reg.host + "/app:1"},
		{name: "12-digit digest prefix", ref: hex(app.Digest)[:12], wantDigest: app.Digest},
		{name: "sha256: digest prefix", ref: "sha256:" + hex(base.Digest)[:16], wantDigest: base.Digest},
		{name: "image ID prefix", ref: hex(base.ID)[:12], wantDigest: base.Digest},
		{name: "untagged name means latest", ref: reg.host + "/base", wantErr: ErrNotFound},
		{name: "unknown tag", ref: reg.host + "/base:2", wantErr: ErrNotFound, errText: `image "` + reg.host + `/base:2" not found in the local store`},
		{name: "unknown short name", ref: "busybox", wantErr: ErrNotFound},
		{name: "too short a prefix", ref: hex(app.Digest)[:11], wantErr: ErrNotFound},
		{name: "unknown digest", ref: "sha256:" + strings.Repeat("f", 64), wantErr: ErrNotFound},
		{name: "repo@digest of another repository", ref: reg.host + "/base@" + app.Digest, wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := s.Get(tt.ref)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Get(%q) = %v, %v; want %v", tt.ref, img, err, tt.wantErr)
				}
				if tt.errText != "" && err.Error() != tt.errText {
					t.Errorf("error %q, want %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get(%q): %v", tt.ref, err)
			}
			if img.Digest != tt.wantDigest || (tt.wantRef != "" && img.Ref != tt.wantRef) {
				t.Errorf("Get(%q) = %s %s, want %s %s", tt.ref, img.Ref, img.Digest, tt.wantRef, tt.wantDigest)
			}
		})
	}
}

func TestListAndSecondStore(t *testing.T) {
	s, base, app, reg := pulledStore(t)
	// Another process opening the same Root sees the same images.
	other := openStore(t, DefaultConfig(s.Root()))
	for name, st := range map[string]*Store{"first": s, "second": other} {
		list, err := st.List()
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Ref != reg.host+"/app:1" || list[1].Ref != reg.host+"/base:1" ||
			list[0].Digest != app.Digest || list[1].Digest != base.Digest {
			t.Errorf("%s store List = %+v", name, list)
		}
	}
	img, err := other.Get(reg.host + "/app:1")
	if err != nil || strings.Join(img.Layers, ":") != strings.Join(app.Layers, ":") {
		t.Errorf("second store Get = %+v, %v", img, err)
	}
}

func TestRemoveCollectsGarbage(t *testing.T) {
	s, base, app, reg := pulledStore(t)
	if n := len(layerDirs(t, s)); n != 3 {
		t.Fatalf("%d layers before Remove", n)
	}
	// A second reference to base, by digest: removing the tag keeps the image.
	if _, err := s.Pull(context.Background(), reg.host+"/base@"+base.Digest, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name       string
		remove     string
		wantErr    error
		wantLayers int
		wantImages int
		gone       []string // layer directories that must be gone
		kept       []string
	}{
		{name: "remove app keeps the shared base layer", remove: reg.host + "/app:1",
			wantLayers: 1, wantImages: 1, gone: app.Layers[1:], kept: base.Layers},
		{name: "remove app again", remove: reg.host + "/app:1", wantErr: ErrNotFound, wantLayers: 1, wantImages: 1},
		{name: "remove one of two refs to base", remove: reg.host + "/base:1", wantLayers: 1, wantImages: 1, kept: base.Layers},
		{name: "remove by ID prefix removes the last ref", remove: strings.TrimPrefix(base.ID, "sha256:")[:12],
			wantLayers: 0, wantImages: 0, gone: base.Layers},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			err := s.Remove(st.remove)
			if st.wantErr != nil {
				if !errors.Is(err, st.wantErr) {
					t.Fatalf("Remove(%q) = %v, want %v", st.remove, err, st.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Remove(%q): %v", st.remove, err)
			}
			if n := len(layerDirs(t, s)); n != st.wantLayers {
				t.Errorf("%d layer directories, want %d", n, st.wantLayers)
			}
			ents, _ := os.ReadDir(filepath.Join(s.Root(), imagesDir, "sha256"))
			if len(ents) != st.wantImages {
				t.Errorf("%d image records, want %d", len(ents), st.wantImages)
			}
			for _, p := range st.gone {
				if _, err := os.Lstat(p); !os.IsNotExist(err) {
					t.Errorf("%s still there", p)
				}
				if _, err := os.Lstat(p + ".json"); !os.IsNotExist(err) {
					t.Errorf("%s.json still there", p)
				}
			}
			for _, p := range st.kept {
				if _, err := os.Stat(filepath.Join(p)); err != nil {
					t.Errorf("shared layer gone: %v", err)
				}
			}
		})
	}
	if list, err := s.List(); err != nil || len(list) != 0 {
		t.Errorf("List after removing everything = %v, %v", list, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), tmpDir)); len(ents) != 0 {
		t.Errorf("tmp not clean: %v", ents)
	}
}

// TestGCDefersWhilePullInFlight holds the GC lock shared, as a pull in
// another process does, and checks that Remove drops the reference but
// leaves the layers until a later GC.
func TestGCDefersWhilePullInFlight(t *testing.T) {
	s, _, app, reg := pulledStore(t)
	inflight, err := lockFile(s.lockPath(gcLock), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(reg.host + "/app:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(app.Layers[2]); err != nil {
		t.Errorf("layer collected while a pull was in flight: %v", err)
	}
	if _, err := s.Get(reg.host + "/app:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("reference still there: %v", err)
	}
	inflight.Unlock()
	if err := s.GC(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(app.Layers[2]); !os.IsNotExist(err) {
		t.Errorf("layer not collected by GC: %v", err)
	}
	if n := len(layerDirs(t, s)); n != 1 {
		t.Errorf("%d layers after GC, want 1 (base)", n)
	}
}

// TestReferenceMoves pulls a tag, re-pushes it with other content and pulls
// again: the tag follows, the old image is garbage once removed.
func TestReferenceMoves(t *testing.T) {
	requireRoot(t)
	f := testImages(t)
	reg := startRegistry(t)
	s := newStore(t)
	ref := reg.push(t, "moving:latest", f.base)
	first, err := s.Pull(context.Background(), ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reg.push(t, "moving:latest", f.other)
	second, err := s.Pull(context.Background(), ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Digest == second.Digest {
		t.Fatal("tag did not move")
	}
	got, err := s.Get(ref)
	if err != nil || got.Digest != second.Digest {
		t.Errorf("Get = %v, %v", got, err)
	}
	if err := s.GC(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(first.Layers[0]); !os.IsNotExist(err) {
		t.Errorf("layer of the untagged image survived GC: %v", err)
	}
}
