package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BusyboxPath is where Debian's busybox-static package puts its binary.
const BusyboxPath = "/bin/busybox"

// BusyboxApplets are the applets linked into test images and root
// filesystems: enough for shells, probes and the lifecycle tests.
var BusyboxApplets = []string{
	"sh", "ash", "echo", "cat", "sleep", "ls", "id", "hostname", "kill", "ps", "head", "tail", "yes", "dd",
	"true", "false", "env", "pwd", "wc", "touch", "mkdir", "rm", "nc", "wget", "grep", "sed", "date",
	"stty", "tty", "chown", "chmod", "mount", "uname", "whoami", "test", "[", "printf", "seq", "timeout", "trap",
}

// epoch is the fixed modification time of files in test layers, so that the
// same inputs always give the same layer digests.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// tarEntry is one file of a layer made in memory.
type tarEntry struct {
	hdr  tar.Header
	data []byte
}

// layerFromEntries makes an uncompressed-tar layer from entries.
func layerFromEntries(entries []tarEntry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.ModTime = epoch
		h.Size = int64(len(e.data))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(&h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

func dirEntry(name string) tarEntry {
	return tarEntry{hdr: tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755}}
}

// BusyboxEntries returns the files of a busybox root filesystem: the static
// binary at /bin/busybox, applet symlinks in /bin, and the usual empty
// directories and /etc files.
func BusyboxEntries() ([]tarEntry, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("read %s (install Debian's busybox-static): %w", BusyboxPath, err)
	}
	entries := []tarEntry{dirEntry("bin"), dirEntry("etc"), dirEntry("tmp"), dirEntry("root"), dirEntry("proc"), dirEntry("sys"), dirEntry("dev"), dirEntry("usr"), dirEntry("usr/bin"), dirEntry("var")}
	entries[2].hdr.Mode = 0o1777
	entries = append(entries, tarEntry{hdr: tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, data: bin})
	applets := append([]string(nil), BusyboxApplets...)
	sort.Strings(applets)
	for _, a := range applets {
		entries = append(entries, tarEntry{hdr: tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}})
	}
	entries = append(entries,
		tarEntry{hdr: tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644}, data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\nguest:x:405:100:guest:/tmp:/bin/sh\n")},
		tarEntry{hdr: tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644}, data: []byte("root:x:0:\nusers:x:100:\nnogroup:x:65534:\n")},
	)
	return entries, nil
}

// BusyboxImage returns a one-layer busybox image with sh as its command,
// like the busybox image on Docker Hub, with no PATH set in its config (as
// images made with umoci have none; the runtime must supply the default).
func BusyboxImage() (v1.Image, error) {
	entries, err := BusyboxEntries()
	if err != nil {
		return nil, err
	}
	layer, err := layerFromEntries(entries)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	return withConfig(img, v1.Config{Cmd: []string{"sh"}})
}

// TestAppImage builds testenv/testapp (pure Go, static) with the go command
// found on PATH and returns an image holding the binary alone at /testapp,
// on top of busybox so that exec probes and shells work too. moduleRoot is
// the repository root.
func TestAppImage(ctx context.Context, moduleRoot string) (v1.Image, error) {
	dir, err := os.MkdirTemp("", "shoal-testapp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "testapp")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./testenv/testapp")
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build testapp: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	base, err := BusyboxImage()
	if err != nil {
		return nil, err
	}
	layer, err := layerFromEntries([]tarEntry{{hdr: tar.Header{Name: "testapp", Typeflag: tar.TypeReg, Mode: 0o755}, data: bin}})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	return withConfig(img, v1.Config{
		Entrypoint:   []string{"/testapp"},
		Env:          []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TESTAPP_IMAGE=1"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		WorkingDir:   "/",
	})
}

// withConfig sets an image's runtime config and the platform fields a real
// image has.
func withConfig(img v1.Image, c v1.Config) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config = c
	cf.OS = "linux"
	cf.Architecture = runtime.GOARCH
	cf.Created = v1.Time{Time: epoch}
	return mutate.ConfigFile(img, cf)
}
