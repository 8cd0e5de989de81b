package testenv

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func TestBusyboxImage(t *testing.T) {
	if _, err := os.Stat(BusyboxPath); err != nil {
		t.Skipf("%s missing (install busybox-static): %v", BusyboxPath, err)
	}
	a, err := BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	b, err := BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("busybox image is not reproducible: %s != %s", da, db)
	}
	cf, err := a.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.Config.Env) != 0 || cf.Config.Cmd[0] != "sh" || cf.OS != "linux" {
		t.Errorf("config = %+v", cf.Config)
	}
	files := map[string]string{}
	rc := mutate.Extract(a)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = h.Linkname
	}
	if _, ok := files["bin/busybox"]; !ok || files["bin/sh"] != "busybox" {
		t.Errorf("layer lacks bin/busybox or the sh applet: %v", files)
	}
}

func TestTestAppImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds testapp with the go command")
	}
	if _, err := os.Stat(BusyboxPath); err != nil {
		t.Skipf("%s missing (install busybox-static): %v", BusyboxPath, err)
	}
	root, _ := filepath.Abs("..")
	img, err := TestAppImage(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 2 {
		t.Fatalf("layers = %d, %v", len(layers), err)
	}
	cf, _ := img.ConfigFile()
	if cf.Config.Entrypoint[0] != "/testapp" {
		t.Errorf("entrypoint = %v", cf.Config.Entrypoint)
	}
}

func TestWriteImages(t *testing.T) {
	if _, err := os.Stat(BusyboxPath); err != nil {
		t.Skipf("%s missing (install busybox-static): %v", BusyboxPath, err)
	}
	dir := t.TempDir()
	names, err := WriteImages(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != "docker.io/library/busybox:test" {
		t.Errorf("names = %v", names)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		t.Errorf("no index.json: %v", err)
	}
}
