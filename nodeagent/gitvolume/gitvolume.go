// Package gitvolume fills gitRepo volumes: a Git repository cloned with
// go-git into a pod's volume before its containers start, at a revision,
// into an optional sub-directory, as the kubelet's gitRepo plugin does.
package gitvolume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	corev1 "k8s.io/api/core/v1"
)

// Clone fills dir from src (authenticating with auth, nil for none) unless it is already filled (a re-adopted pod
// keeps its checkout). The clone goes to a temporary folder beside its
// destination and is renamed into place, so a failed clone leaves nothing
// half-written. Errors name the repository and the revision.
func Clone(ctx context.Context, src *corev1.GitRepoVolumeSource, dir string, auth transport.AuthMethod) error {
	if err := validate(src); err != nil {
		return err
	}
	dest := dir
	if src.Directory != "" && src.Directory != "." {
		dest = filepath.Join(dir, src.Directory)
	}
	if _, err := os.Stat(filepath.Join(dest, ".git")); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, ".clone-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	repo, err := git.PlainCloneContext(ctx, tmp, false, &git.CloneOptions{URL: src.Repository, Auth: auth})
	if err != nil {
		return fmt.Errorf("gitRepo: clone %s: %w", src.Repository, err)
	}
	if src.Revision != "" {
		hash, err := repo.ResolveRevision(plumbing.Revision(src.Revision))
		if err != nil {
			return fmt.Errorf("gitRepo: revision %q of %s: %w", src.Revision, src.Repository, err)
		}
		wt, err := repo.Worktree()
		if err != nil {
			return err
		}
		if err := wt.Checkout(&git.CheckoutOptions{Hash: *hash, Force: true}); err != nil {
			return fmt.Errorf("gitRepo: check out %s of %s: %w", src.Revision, src.Repository, err)
		}
	}
	if dest == dir {
		// Move the checkout's contents into the volume itself.
		entries, err := os.ReadDir(tmp)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, dest)
}

// validate applies the kubelet's rules to the directory name.
func validate(src *corev1.GitRepoVolumeSource) error {
	if src.Repository == "" {
		return errors.New("gitRepo: repository is required")
	}
	d := src.Directory
	if filepath.IsAbs(d) || d == ".." || strings.HasPrefix(d, "../") || strings.Contains(d, "/../") || strings.HasSuffix(d, "/..") {
		return fmt.Errorf("gitRepo: directory %q must be a relative path inside the volume", d)
	}
	return nil
}

// SyncAnnotation on a pod keeps gitRepo volumes in step with their branch
// while the pod runs, the modern form of a gitRepo volume (what a git-sync
// sidecar does): "VOLUME=INTERVAL[,VOLUME=INTERVAL...]", for example
// "site=30s". The volume's revision must then be a branch (or empty: the
// repository's default branch); every interval the node fetches it and, when
// it moved, checks the new commit out in place.
const SyncAnnotation = "shoal.run/git-sync"

// ParseSync reads a pod's SyncAnnotation into intervals by volume name.
func ParseSync(value string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	if strings.TrimSpace(value) == "" {
		return out, nil
	}
	for _, part := range strings.Split(value, ",") {
		name, iv, ok := strings.Cut(strings.TrimSpace(part), "=")
		d, err := time.ParseDuration(iv)
		if !ok || name == "" || err != nil || d < time.Second {
			return nil, fmt.Errorf("annotation %s: %q: use VOLUME=INTERVAL with an interval of at least 1s, e.g. site=30s", SyncAnnotation, part)
		}
		out[name] = d
	}
	return out, nil
}

// Sync brings a cloned gitRepo volume to the newest commit of its branch.
// It reports whether the checkout changed.
func Sync(ctx context.Context, src *corev1.GitRepoVolumeSource, dir string, auth transport.AuthMethod) (bool, error) {
	dest := dir
	if src.Directory != "" && src.Directory != "." {
		dest = filepath.Join(dir, src.Directory)
	}
	repo, err := git.PlainOpen(dest)
	if err != nil {
		return false, fmt.Errorf("gitRepo: open checkout %s: %w", dest, err)
	}
	err = repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Force: true, Auth: auth})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return false, fmt.Errorf("gitRepo: fetch %s: %w", src.Repository, err)
	}
	var target *plumbing.Hash
	if src.Revision == "" {
		ref, err := repo.Reference(plumbing.NewRemoteReferenceName("origin", "HEAD"), true)
		if err != nil {
			head, herr := repo.Head()
			if herr != nil {
				return false, fmt.Errorf("gitRepo: default branch of %s: %w", src.Repository, err)
			}
			ref, err = repo.Reference(plumbing.NewRemoteReferenceName("origin", head.Name().Short()), true)
			if err != nil {
				return false, fmt.Errorf("gitRepo: default branch of %s: %w", src.Repository, err)
			}
		}
		h := ref.Hash()
		target = &h
	} else {
		ref, err := repo.Reference(plumbing.NewRemoteReferenceName("origin", src.Revision), true)
		if err != nil {
			return false, fmt.Errorf("gitRepo: %q of %s is not a branch to follow: %w", src.Revision, src.Repository, err)
		}
		h := ref.Hash()
		target = &h
	}
	head, err := repo.Head()
	if err == nil && head.Hash() == *target {
		return false, nil
	}
	wt, err := repo.Worktree()
	if err != nil {
		return false, err
	}
	if err := wt.Reset(&git.ResetOptions{Commit: *target, Mode: git.HardReset}); err != nil {
		return false, fmt.Errorf("gitRepo: check out %s of %s: %w", target, src.Repository, err)
	}
	return true, nil
}
