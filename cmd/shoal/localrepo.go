package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// seedRepo creates a bare Git repository at dir whose branch holds one
// commit with the manifest files of src (*.yaml, *.yml, *.json, folders
// kept; hidden ones skipped), and HEAD pointing at that branch. It fails if
// dir exists.
func seedRepo(dir, branch string, src fs.FS, now time.Time) (string, error) {
	if _, err := os.Stat(dir); err == nil {
		return "", fmt.Errorf("%s already exists", dir)
	}
	repo, err := git.PlainInit(dir, true)
	if err != nil {
		return "", err
	}
	tree, n, err := writeTree(repo.Storer, src, ".")
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	if n == 0 {
		os.RemoveAll(dir)
		return "", errors.New("no manifest (*.yaml, *.yml, *.json) to seed the repository with")
	}
	sig := object.Signature{Name: "shoal", Email: "shoal@localhost", When: now}
	c := &object.Commit{Author: sig, Committer: sig, TreeHash: tree,
		Message: "Seed the desired state\n\nMade by `shoal up`: change the manifests, commit and push.\n"}
	obj := repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return "", err
	}
	hash, err := repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return "", err
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if err := repo.Storer.SetReference(plumbing.NewHashReference(ref, hash)); err != nil {
		return "", err
	}
	if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, ref)); err != nil {
		return "", err
	}
	return hash.String(), nil
}

// writeTree stores the tree of folder dir of src and returns its hash and
// the number of manifest files under it.
func writeTree(st storer.EncodedObjectStorer, src fs.FS, dir string) (plumbing.Hash, int, error) {
	entries, err := fs.ReadDir(src, dir)
	if err != nil {
		return plumbing.ZeroHash, 0, err
	}
	var tree object.Tree
	total := 0
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := path.Join(dir, name)
		if e.IsDir() {
			h, n, err := writeTree(st, src, p)
			if err != nil {
				return plumbing.ZeroHash, 0, err
			}
			if n > 0 {
				tree.Entries = append(tree.Entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
				total += n
			}
			continue
		}
		switch path.Ext(name) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return plumbing.ZeroHash, 0, err
		}
		obj := st.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		w, err := obj.Writer()
		if err != nil {
			return plumbing.ZeroHash, 0, err
		}
		if _, err := w.Write(data); err != nil {
			return plumbing.ZeroHash, 0, err
		}
		w.Close()
		h, err := st.SetEncodedObject(obj)
		if err != nil {
			return plumbing.ZeroHash, 0, err
		}
		tree.Entries = append(tree.Entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h})
		total++
	}
	// Git orders entries by name, folders as if they ended with "/".
	sort.Slice(tree.Entries, func(i, j int) bool {
		a, b := tree.Entries[i].Name, tree.Entries[j].Name
		if tree.Entries[i].Mode == filemode.Dir {
			a += "/"
		}
		if tree.Entries[j].Mode == filemode.Dir {
			b += "/"
		}
		return a < b
	})
	obj := st.NewEncodedObject()
	if err := tree.Encode(obj); err != nil {
		return plumbing.ZeroHash, 0, err
	}
	h, err := st.SetEncodedObject(obj)
	return h, total, err
}
