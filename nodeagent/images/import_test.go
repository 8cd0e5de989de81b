package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// layoutItem is one image (or index) to put into a test OCI layout.
type layoutItem struct {
	x           any // v1.Image or v1.ImageIndex
	annotations map[string]string
}

func writeLayout(t *testing.T, items ...layoutItem) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		switch v := it.x.(type) {
		case v1.Image:
			err = lp.AppendImage(v, layout.WithAnnotations(it.annotations))
		case v1.ImageIndex:
			err = lp.AppendIndex(v, layout.WithAnnotations(it.annotations))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tarDir writes dir as a tar (gzip-compressed when zip) and returns its path.
func tarDir(t *testing.T, dir string, zip bool) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "layout.tar")
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if zip {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		hdr.Name, _ = filepath.Rel(dir, p)
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

func dockerArchive(t *testing.T, refs map[string]v1.Image) string {
	t.Helper()
	m := map[name.Reference]v1.Image{}
	for r, img := range refs {
		ref, err := name.ParseReference(r)
		if err != nil {
			t.Fatal(err)
		}
		m[ref] = img
	}
	out := filepath.Join(t.TempDir(), "archive.tar")
	if err := tarball.MultiRefWriteToFile(out, m); err != nil {
		t.Fatal(err)
	}
	return out
}

func configDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func TestImport(t *testing.T) {
	requireRoot(t)
	f := testImages(t)
	base, app, other := configDigest(t, f.base), configDigest(t, f.app), configDigest(t, f.other)
	named := func() string {
		return writeLayout(t,
			layoutItem{f.app, map[string]string{annotationRefName: "example.com/app:v1"}},
			layoutItem{f.base, map[string]string{annotationContainerName: "docker.io/library/busybox:1.36", annotationRefName: "1.36"}},
		)
	}
	tests := []struct {
		name    string
		source  func(t *testing.T) string
		as      string
		want    map[string]string // ref -> image ID
		wantErr string
	}{
		{name: "OCI layout with full names", source: func(t *testing.T) string { return named() },
			want: map[string]string{"example.com/app:v1": app, "docker.io/library/busybox:1.36": base}},
		{name: "OCI layout tar", source: func(t *testing.T) string { return tarDir(t, named(), false) },
			want: map[string]string{"example.com/app:v1": app, "docker.io/library/busybox:1.36": base}},
		{name: "OCI layout tar.gz", source: func(t *testing.T) string { return tarDir(t, named(), true) },
			want: map[string]string{"example.com/app:v1": app, "docker.io/library/busybox:1.36": base}},
		{name: "bare tags under --name", as: "example.com/multi",
			source: func(t *testing.T) string {
				return writeLayout(t,
					layoutItem{f.app, map[string]string{annotationRefName: "v1"}},
					layoutItem{f.other, map[string]string{annotationRefName: "v2"}})
			},
			want: map[string]string{"example.com/multi:v1": app, "example.com/multi:v2": other}},
		{name: "bare tags without --name", wantErr: `image #1 of 2 has no name (only the tag "v1", no repository): pass --name`,
			source: func(t *testing.T) string {
				return writeLayout(t, layoutItem{f.app, map[string]string{annotationRefName: "v1"}}, layoutItem{f.other, nil})
			}},
		{name: "tagged --name with several images", as: "x:1", wantErr: "give only a repository",
			source: func(t *testing.T) string { return named() }},
		{name: "unnamed image without --name", wantErr: "has no name: pass --name",
			source: func(t *testing.T) string { return writeLayout(t, layoutItem{f.base, nil}) }},
		{name: "unnamed image with --name", as: "myapp",
			source: func(t *testing.T) string { return writeLayout(t, layoutItem{f.base, nil}) },
			want:   map[string]string{"docker.io/library/myapp:latest": base}},
		{name: "--name takes the layout's tag", as: "example.com/x",
			source: func(t *testing.T) string {
				return writeLayout(t, layoutItem{f.base, map[string]string{annotationRefName: "v3"}})
			},
			want: map[string]string{"example.com/x:v3": base}},
		{name: "--name with a tag overrides", as: "example.com/x:pinned",
			source: func(t *testing.T) string {
				return writeLayout(t, layoutItem{f.app, map[string]string{annotationRefName: "a.io/b:c"}})
			},
			want: map[string]string{"example.com/x:pinned": app}},
		{name: "multi-platform index in a layout", as: "",
			source: func(t *testing.T) string {
				return writeLayout(t, layoutItem{f.index, map[string]string{annotationRefName: "example.com/multi:1"}})
			},
			want: map[string]string{"example.com/multi:1": base}},
		{name: "docker-archive with tags", source: func(t *testing.T) string {
			return dockerArchive(t, map[string]v1.Image{"example.com/app:v1": f.app, "busybox:1.36": f.base, "example.com/app:latest": f.app})
		},
			want: map[string]string{"example.com/app:v1": app, "example.com/app:latest": app, "docker.io/library/busybox:1.36": base}},
		{name: "docker-archive untagged without --name", wantErr: "pass --name",
			source: func(t *testing.T) string {
				return dockerArchive(t, map[string]v1.Image{"example.com/app@" + digestOf(t, f.app): f.app})
			}},
		{name: "docker-archive untagged with --name", as: "example.com/app:imported",
			source: func(t *testing.T) string {
				return dockerArchive(t, map[string]v1.Image{"example.com/app@" + digestOf(t, f.app): f.app})
			},
			want: map[string]string{"example.com/app:imported": app}},
		{name: "not an image", wantErr: "neither an OCI layout tar",
			source: func(t *testing.T) string { return tarDir(t, t.TempDir(), false) }},
		{name: "directory without index.json", wantErr: "not an OCI image layout",
			source: func(t *testing.T) string { return t.TempDir() }},
		{name: "missing path", wantErr: "no such file",
			source: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			src := tt.source(t)
			imgs, err := s.Import(context.Background(), src, tt.as)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Import = %v, want an error containing %q", err, tt.wantErr)
				}
				if list, _ := s.List(); len(list) != 0 {
					t.Errorf("a failed import recorded %v", list)
				}
				return
			}
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			got := map[string]string{}
			for _, im := range imgs {
				got[im.Ref] = im.ID
				for _, l := range im.Layers {
					if _, err := os.Stat(l); err != nil {
						t.Errorf("%s: layer %v", im.Ref, err)
					}
				}
				if st, err := s.Get(im.Ref); err != nil || st.ID != im.ID {
					t.Errorf("Get(%q) = %v, %v", im.Ref, st, err)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("imported %v, want %v", got, tt.want)
			}
			for r, id := range tt.want {
				if got[r] != id {
					t.Errorf("%s: ID %q, want %q (imported %v)", r, got[r], id, got)
				}
			}
			if ents, _ := os.ReadDir(filepath.Join(s.Root(), tmpDir)); len(ents) != 0 {
				t.Errorf("tmp not clean after import: %v", ents)
			}
		})
	}
}

// TestImportFromTools imports images written by umoci and skopeo.
func TestImportFromTools(t *testing.T) {
	requireRoot(t)
	f := testImages(t)
	run := func(t *testing.T, tool string, args ...string) {
		t.Helper()
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (Debian package %s): %v", tool, tool, err)
		}
		out, err := exec.CommandContext(t.Context(), tool, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
		}
	}
	t.Run("umoci layout", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "oci")
		run(t, "umoci", "init", "--layout", dir)
		run(t, "umoci", "new", "--image", dir+":latest")
		run(t, "umoci", "insert", "--image", dir+":latest", "/bin/busybox", "/bin/busybox")
		s := newStore(t)
		if _, err := s.Import(t.Context(), dir, ""); err == nil || !strings.Contains(err.Error(), "pass --name") {
			t.Errorf("import without --name = %v", err)
		}
		imgs, err := s.Import(t.Context(), dir, "umoci/busybox")
		if err != nil {
			t.Fatal(err)
		}
		if len(imgs) != 1 || imgs[0].Ref != "docker.io/umoci/busybox:latest" {
			t.Fatalf("imported %+v", imgs)
		}
		img := imgs[0]
		if !slices.Contains(img.Config.Env, "PATH="+DefaultPath) {
			t.Errorf("umoci image without PATH: Env %v, want the default PATH", img.Config.Env)
		}
		b, err := os.ReadFile(filepath.Join(img.Layers[len(img.Layers)-1], "bin/busybox"))
		if err != nil || !bytes.Equal(b, f.busybox) {
			t.Errorf("bin/busybox in the umoci layer differs: %v", err)
		}
	})
	// skopeo converts the manifest and config to OCI: the layers (diff IDs)
	// stay the same.
	reg := startRegistry(t)
	src := "docker://" + reg.push(t, "app:v1", f.app)
	cf, err := f.app.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var appDiffIDs []string
	for _, d := range cf.RootFS.DiffIDs {
		appDiffIDs = append(appDiffIDs, d.String())
	}
	t.Run("skopeo oci layout", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "oci")
		run(t, "skopeo", "--insecure-policy", "copy", "--src-tls-verify=false", src, "oci:"+dir+":v1")
		imgs, err := newStore(t).Import(t.Context(), dir, "example.com/app")
		if err != nil {
			t.Fatal(err)
		}
		if len(imgs) != 1 || imgs[0].Ref != "example.com/app:v1" || !slices.Equal(imgs[0].DiffIDs, appDiffIDs) {
			t.Errorf("imported %s", describe(imgs))
		}
	})
	t.Run("skopeo oci-archive", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "app.tar")
		run(t, "skopeo", "--insecure-policy", "copy", "--src-tls-verify=false", src, "oci-archive:"+out+":example.com/app:v1")
		imgs, err := newStore(t).Import(t.Context(), out, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(imgs) != 1 || imgs[0].Ref != "example.com/app:v1" || !slices.Equal(imgs[0].DiffIDs, appDiffIDs) {
			t.Errorf("imported %s", describe(imgs))
		}
	})
	t.Run("skopeo docker-archive", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "app.tar")
		run(t, "skopeo", "--insecure-policy", "copy", "--src-tls-verify=false", src, "docker-archive:"+out+":example.com/app:v1")
		imgs, err := newStore(t).Import(t.Context(), out, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(imgs) != 1 || imgs[0].Ref != "example.com/app:v1" || !slices.Equal(imgs[0].DiffIDs, appDiffIDs) {
			t.Errorf("imported %s", describe(imgs))
		}
	})
}

func describe(imgs []*Image) string {
	var b strings.Builder
	for _, im := range imgs {
		fmt.Fprintf(&b, "{%s id=%s digest=%s layers=%d} ", im.Ref, im.ID, im.Digest, len(im.Layers))
	}
	return b.String()
}
