package gitsource

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// TestCommitFS checks the FS against testing/fstest, and that it shows
// the commit, not the working copy.
func TestCommitFS(t *testing.T) {
	r := newRig(t, "", "")
	head, _ := r.push(change{files: map[string]string{
		"pod.yaml":          podWeb,
		"deploy/a.yaml":     podAPI,
		"deploy/sub/b.json": `{"x": 1}`,
		"run.sh":            "#!/bin/sh\n",
	}, message: "tree"})
	// Uncommitted changes in the working copy must not show.
	if err := os.WriteFile(filepath.Join(r.work, "pod.yaml"), []byte("dirty"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.work, "untracked.yaml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainOpen(r.work)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(head))
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := CommitFS(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(fsys, "pod.yaml", "deploy/a.yaml", "deploy/sub/b.json", "run.sh"); err != nil {
		t.Fatal(err)
	}
	data, err := fs.ReadFile(fsys, "pod.yaml")
	if err != nil || string(data) != podWeb {
		t.Errorf("pod.yaml = %q, %v; want the committed content", data, err)
	}
	if _, err := fs.Stat(fsys, "untracked.yaml"); !os.IsNotExist(err) {
		t.Errorf("untracked file visible: %v", err)
	}
	fi, err := fs.Stat(fsys, "pod.yaml")
	if err != nil || fi.Size() != int64(len(podWeb)) || !fi.ModTime().Equal(c.Committer.When) {
		t.Errorf("stat pod.yaml = %v, %v", fi, err)
	}
}
