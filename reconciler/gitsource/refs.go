package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/shoal-run/shoal/manifests"
)

// Refs other than the tracked branch (previews): the Source lists them,
// fetches and loads the commits it is asked for, and keeps each fetched
// ref's head in its clone under localRefPrefix, so that the commit's
// objects stay while the ref is followed.

// Ref is one ref of the remote and the commit it points at.
type Ref struct {
	// Name is the full ref name, "refs/pull/42/head".
	Name string
	// Commit is the full hexadecimal commit hash.
	Commit string
}

// localRefPrefix is where fetched refs are kept in the clone:
// refs/pull/42/head is kept as refs/shoal/previews/pull/42/head.
const localRefPrefix = "refs/shoal/previews/"

func localRef(ref string) plumbing.ReferenceName {
	return plumbing.ReferenceName(localRefPrefix + strings.TrimPrefix(ref, "refs/"))
}

// ListRefs lists the remote's refs that point at a commit (symbolic refs
// such as HEAD left out), sorted by name: one ref listing, as each Sync
// makes, with no objects transferred. Errors are classified as Sync's.
func (s *Source) ListRefs(ctx context.Context) ([]Ref, error) {
	refs, err := s.listRefs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Ref, 0, len(refs))
	for _, r := range refs {
		if r.Type() == plumbing.HashReference && strings.HasPrefix(r.Name().String(), "refs/") {
			out = append(out, Ref{Name: r.Name().String(), Commit: r.Hash().String()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// LoadRefCommit loads commit of ref as Sync loads the tracked branch's
// head: the manifests under Path from the commit's tree, complete or not
// at all. Unlike LoadRef, it names the commit (from a ListRefs) and lists
// nothing: the commit is fetched (ref, into the clone) unless the clone
// has it already, and the clone keeps ref's head until ForgetRef. A commit
// that does not load is a *LoadError (IsStalled) naming it; a commit the
// ref no longer points at after the fetch is an error too (the ref moved:
// list again). Calls are serialised with Sync.
func (s *Source) LoadRefCommit(ctx context.Context, ref, commit string) (Revision, *manifests.Set, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	head := plumbing.NewHash(commit)
	rev := Revision{Commit: commit, Ref: ref}
	if head.IsZero() || head.String() != commit {
		return rev, nil, fmt.Errorf("gitsource: %s: %q is not a commit hash", ref, commit)
	}
	if err := checkRef(ref); err != nil || !strings.HasPrefix(ref, "refs/") {
		return rev, nil, fmt.Errorf("gitsource: %q is not a full ref name", ref)
	}
	if _, err := s.openRepo(); err != nil {
		return rev, nil, err
	}
	if _, err := s.commitOf(head); err != nil {
		if err := s.fetchSpec(ctx, "fetch", "+"+ref+":"+localRef(ref).String()); err != nil {
			return rev, nil, err
		}
	}
	c, err := s.commitOf(head)
	if err != nil {
		return rev, nil, fmt.Errorf("git fetch %s: commit %s is not there: the ref moved since it was listed", ref, head.String()[:12])
	}
	if err := s.repo.Storer.SetReference(plumbing.NewHashReference(localRef(ref), head)); err != nil {
		return rev, nil, fmt.Errorf("gitsource: keep %s: %w", ref, err)
	}
	rev = s.revision(c)
	rev.Ref = ref
	l := s.load(c, rev)
	return rev, l.set, l.err
}

// ForgetRef drops the clone's copy of ref's head (its objects stay in the
// clone's store until it is made again). Forgetting a ref the clone does
// not keep is no error.
func (s *Source) ForgetRef(ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repo == nil {
		return nil
	}
	err := s.repo.Storer.RemoveReference(localRef(ref))
	if err != nil && !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return fmt.Errorf("gitsource: forget %s: %w", ref, err)
	}
	return nil
}

// ReadFile returns the content of name, a slash-separated path relative
// to Path, in commit's tree; the commit must be in the clone (a Sync or
// LoadRef brought it). A commit without the file gives an error wrapping
// fs.ErrNotExist. It is for shoal's own files beside the manifests, such
// as .shoal/previews.yaml.
func (s *Source) ReadFile(commit, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repo == nil {
		return nil, fmt.Errorf("gitsource: read %s of %s: nothing synced yet", name, commit)
	}
	c, err := s.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return nil, fmt.Errorf("gitsource: read %s: commit %s is not in the clone: %w", name, commit, err)
	}
	fsys, err := CommitFS(c)
	if err != nil {
		return nil, err
	}
	return fs.ReadFile(fsys, path.Join(s.path, name))
}

// RefsTriggered receives a value after each Trigger (pending ones
// merged), for a loop that follows refs besides Run's branch: a webhook
// names any ref pushed.
func (s *Source) RefsTriggered() <-chan struct{} { return s.refTrigger }
