package gitsource

import (
	"context"
	"errors"
	"fmt"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ErrNotCloned is returned by Log before the first Sync has fetched the
// branch.
var ErrNotCloned = errors.New("gitsource: no local clone yet: Sync first")

// Log lists the commits of the branch, as of the last Sync, that changed
// the file or folder p (slash separated, relative to the repository root,
// not to Config.Path; "" or "." for every commit), newest first by
// committer date, at most limit of them (no limit when limit <= 0). It
// reads only the local clone, never the network.
func (s *Source) Log(ctx context.Context, p string, limit int) ([]Revision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repo == nil {
		repo, err := git.PlainOpen(s.dir)
		if err != nil {
			return nil, ErrNotCloned
		}
		s.repo = repo
	}
	ref, err := s.repo.Reference(s.remoteRef(), true)
	if err != nil {
		return nil, ErrNotCloned
	}
	opts := &git.LogOptions{From: ref.Hash(), Order: git.LogOrderCommitterTime}
	if p = cleanPath(p); p != "." {
		opts.PathFilter = func(f string) bool { return f == p || strings.HasPrefix(f, p+"/") }
	}
	iter, err := s.repo.Log(opts)
	if err != nil {
		return nil, fmt.Errorf("gitsource: log %s: %w", p, err)
	}
	defer iter.Close()
	var out []Revision
	err = iter.ForEach(func(c *object.Commit) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		out = append(out, s.revision(c))
		if limit > 0 && len(out) >= limit {
			return storer.ErrStop
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gitsource: log %s: %w", p, err)
	}
	return out, nil
}
