package main

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/shoal-run/shoal/examples"
	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/reconciler/gitsource"
)

func TestSeedRepo(t *testing.T) {
	tests := []struct {
		name  string
		src   fstest.MapFS
		files []string // manifest paths in the commit
		err   string
	}{
		{"examples", nil, nil, ""},
		{"folders kept, other files and hidden folders skipped", fstest.MapFS{
			"b.yaml":          {Data: []byte(podYAML("b"))},
			"apps/a.yml":      {Data: []byte(podYAML("a"))},
			"apps/web/c.json": {Data: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}`)},
			"README.md":       {Data: []byte("# notes")},
			".git/config":     {Data: []byte("x")},
			"empty/notes.txt": {Data: []byte("x")},
		}, []string{"apps/a.yml", "apps/web/c.json", "b.yaml"}, ""},
		{"nothing to seed", fstest.MapFS{"README.md": {Data: []byte("x")}}, nil, "no manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo.git")
			var src fs.FS = tt.src
			if tt.src == nil {
				src = examples.FS
			}
			_, err := seedRepo(dir, "main", src, time.Unix(1_800_000_000, 0))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkSeeded(t, dir, tt.files)
		})
	}
	if _, err := seedRepo(t.TempDir(), "main", examples.FS, time.Now()); err == nil {
		t.Fatal("seeding over an existing folder must fail")
	}
}

func podYAML(name string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\nspec: {containers: [{name: c, image: busybox}]}\n"
}

// checkSeeded opens the bare repository as the Git source reads it.
func checkSeeded(t *testing.T, dir string, files []string) {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil || head.Name() != plumbing.NewBranchReferenceName("main") {
		t.Fatalf("HEAD = %v, %v", head, err)
	}
	c, err := repo.CommitObject(head.Hash())
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := gitsource.CommitFS(c)
	if err != nil {
		t.Fatal(err)
	}
	set, err := manifests.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() == 0 {
		t.Fatal("the seeded commit loads no object")
	}
	if files == nil {
		return
	}
	var got bytes.Buffer
	tree, _ := c.Tree()
	tree.Files().ForEach(func(f *object.File) error {
		got.WriteString(f.Name + " ")
		return nil
	})
	if strings.TrimSpace(got.String()) != strings.Join(files, " ") {
		t.Fatalf("files = %q, want %q", got.String(), files)
	}
}
