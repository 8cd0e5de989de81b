package gitsource

import (
	"context"
	"errors"
	"fmt"
	"github.com/shoal-run/shoal/policies/admission"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/shoal-run/shoal/manifests"
)

// Errors of LoadRef.
var (
	// ErrRefNotFound: the remote has no ref by that name, and no commit by
	// that hash that can be fetched.
	ErrRefNotFound = errors.New("no such ref or commit on the remote")
	// ErrBadRef: what was given cannot be a ref name or a commit hash.
	ErrBadRef = errors.New("not a ref name or a commit hash")
)

// planRefs is where LoadRef keeps in the clone what it fetched, apart
// from the followed branch's remote-tracking ref, which it never moves.
const planRefs = "refs/shoal/plan/"

// LoadRef loads the manifests under Path of any ref or commit of the
// repository, as a Sync loads the branch head, without changing what
// Sync follows or what it loaded last. ref is, in the order tried:
//
//   - a full ref name the remote lists ("refs/heads/x", "refs/pull/7/head",
//     "refs/tags/v1", "HEAD");
//   - a branch, a tag, or a name under refs/ ("x", "v1", "pull/7/head"),
//     branches first;
//   - a commit hash of 4 to 40 hex digits: a commit of the clone or of any
//     branch; by its full hash, any commit the server lets a client fetch.
//
// The Revision's Ref is the full ref name matched, or the hash as given.
// Errors: ErrBadRef; ErrRefNotFound (the remote's refs and commits have
// no such name); a *LoadError naming the commit and every diagnostic
// (file:line: object: message) when its manifests do not load; the
// network errors of a Sync (IsTransient, IsAuth). The Set is nil whenever
// the error is not. The admission Config is the commit's admission file's
// (the last good one from its history when the commit's does not load, as
// for the followed branch); nil means no policies.
func (s *Source) LoadRef(ctx context.Context, ref string) (Revision, *manifests.Set, *admission.Config, error) {
	if err := checkRef(ref); err != nil {
		return Revision{}, nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	refs, err := s.listRefs(ctx)
	if err != nil {
		return Revision{}, nil, nil, err
	}
	if _, err := s.openRepo(); err != nil {
		return Revision{}, nil, nil, err
	}
	var (
		c    *object.Commit
		name string
	)
	if r := matchRef(refs, ref); r != nil {
		name = r.Name().String()
		c, err = s.fetchRef(ctx, r)
	} else if isHex(ref) {
		name = ref
		c, err = s.fetchCommit(ctx, ref)
	} else {
		err = fmt.Errorf("git ls-remote %s: %q: %w", redact(s.cfg.URL), ref, ErrRefNotFound)
	}
	if err != nil {
		return Revision{}, nil, nil, err
	}
	rev := s.revision(c)
	rev.Ref = name
	l := s.load(c, rev)
	if l.err != nil {
		return rev, nil, nil, l.err
	}
	s.log.Info("ref loaded", "ref", name, "commit", rev.Short(), "objects", l.set.Len())
	return rev, l.set, l.admission, nil
}

// checkRef refuses what cannot be a ref name or a commit hash.
func checkRef(ref string) error {
	switch {
	case ref == "":
		return fmt.Errorf("no ref given: %w; name a branch, a ref or a commit", ErrBadRef)
	case strings.HasPrefix(ref, "-"), strings.Contains(ref, ".."), strings.ContainsAny(ref, " \t\n\r~^:?*[\\"):
		return fmt.Errorf("%q: %w", ref, ErrBadRef)
	}
	return nil
}

// matchRef finds ref among the remote's refs (see LoadRef), following a
// symbolic ref (HEAD) to its target; nil when none matches.
func matchRef(refs []*plumbing.Reference, ref string) *plumbing.Reference {
	byName := make(map[plumbing.ReferenceName]*plumbing.Reference, len(refs))
	for _, r := range refs {
		byName[r.Name()] = r
	}
	names := []string{ref}
	if !strings.HasPrefix(ref, "refs/") {
		names = append(names, "refs/heads/"+ref, "refs/tags/"+ref, "refs/"+ref)
	}
	for _, n := range names {
		r, ok := byName[plumbing.ReferenceName(n)]
		if ok && r.Type() == plumbing.SymbolicReference {
			r, ok = byName[r.Target()]
		}
		if ok && r.Type() == plumbing.HashReference {
			return r
		}
	}
	return nil
}

func isHex(s string) bool {
	if len(s) < 4 || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// fetchRef returns the commit r points at (through annotated tags),
// fetching r into the clone when the commit is not there yet.
func (s *Source) fetchRef(ctx context.Context, r *plumbing.Reference) (*object.Commit, error) {
	if c, err := s.commitOf(r.Hash()); err == nil {
		return c, nil
	}
	if err := s.fetchSpec(ctx, "fetch", "+"+r.Name().String()+":"+planRefs+"ref"); err != nil {
		return nil, err
	}
	c, err := s.commitOf(r.Hash())
	if err != nil {
		return nil, fmt.Errorf("git fetch %s: %s: %w", redact(s.cfg.URL), r.Name(), err)
	}
	return c, nil
}

// fetchCommit returns the commit of a hash or hash prefix: from the
// clone, else after fetching every branch, else (a full hash) after
// fetching the commit itself.
func (s *Source) fetchCommit(ctx context.Context, hash string) (*object.Commit, error) {
	hash = strings.ToLower(hash)
	if c := s.localCommit(hash); c != nil {
		return c, nil
	}
	if err := s.fetchSpec(ctx, "fetch", "+refs/heads/*:"+planRefs+"heads/*"); err != nil {
		return nil, err
	}
	if c := s.localCommit(hash); c != nil {
		return c, nil
	}
	if len(hash) == 40 {
		// A commit no branch reaches: servers that allow it serve it by
		// hash; an error here only means this one does not.
		if err := s.fetchSpec(ctx, "fetch", "+"+hash+":"+planRefs+"commit"); err != nil {
			s.log.Debug("fetching a commit by hash", "commit", hash, "err", err)
		}
		if c := s.localCommit(hash); c != nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("git fetch %s: commit %s: %w", redact(s.cfg.URL), hash, ErrRefNotFound)
}

// localCommit returns the clone's commit with that hash or hash prefix,
// or nil.
func (s *Source) localCommit(hash string) *object.Commit {
	if len(hash) == 40 {
		c, _ := s.commitOf(plumbing.NewHash(hash))
		return c
	}
	h, err := s.repo.ResolveRevision(plumbing.Revision(hash))
	if err != nil {
		return nil
	}
	c, _ := s.commitOf(*h)
	return c
}

// commitOf returns the commit h names, through annotated tags.
func (s *Source) commitOf(h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		if c, err := s.repo.CommitObject(h); err == nil {
			return c, nil
		}
		t, err := s.repo.TagObject(h)
		if err != nil {
			return nil, fmt.Errorf("object %s is not a commit: %w", h, err)
		}
		h = t.Target
	}
	return nil, fmt.Errorf("object %s: too many tags in a row", h)
}
