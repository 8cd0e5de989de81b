package gitsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/policies/admission"
)

// Revision describes one commit of the tracked branch.
type Revision struct {
	// Commit is the full hexadecimal commit hash.
	Commit string
	// Ref is the full name of the tracked branch, "refs/heads/main".
	Ref string
	// Author is "Name <email>" of the commit's author.
	Author string
	// Date is the author date.
	Date time.Time
	// Message is the full commit message, without its trailing newline.
	Message string
}

// Short returns the first 12 hex digits of the commit ("" for the zero
// Revision).
func (r Revision) Short() string {
	if len(r.Commit) > 12 {
		return r.Commit[:12]
	}
	return r.Commit
}

// String renders the revision as "main@sha1:<hash>", as fluxcd does.
func (r Revision) String() string {
	return strings.TrimPrefix(r.Ref, "refs/heads/") + "@sha1:" + r.Commit
}

// Outcome says what a Sync had to do.
type Outcome int

const (
	// Unchanged: the branch head is the commit the previous Sync loaded;
	// nothing was fetched or read.
	Unchanged Outcome = iota
	// Cloned: the local clone was made (first Sync with an empty CacheDir).
	Cloned
	// Fetched: new objects were fetched into the existing clone.
	Fetched
	// Cached: the head commit was already in the local clone (a restart,
	// or the branch moved back to a known commit); nothing was fetched.
	Cached
)

// String returns "unchanged", "cloned", "fetched" or "cached".
func (o Outcome) String() string {
	switch o {
	case Cloned:
		return "cloned"
	case Fetched:
		return "fetched"
	case Cached:
		return "cached"
	}
	return "unchanged"
}

// Result is everything one Sync learned.
type Result struct {
	// Revision is the branch head that was looked at; zero when the remote
	// could not be listed.
	Revision Revision
	// Set is the head's objects; nil whenever the error is not nil.
	Set *manifests.Set
	// Admission is the admission policies the Set runs under (nil when Set
	// is): those of the head's admission file (admission.Path in Path), an
	// empty Config when it has none, or, when the file does not load,
	// those of the last commit before it whose file does (see
	// AdmissionError).
	Admission *admission.Config
	// AdmissionErr is a *AdmissionError when the head's admission file
	// does not load but the Set still applies under earlier policies; nil
	// otherwise.
	AdmissionErr error
	// Outcome says what had to be done.
	Outcome Outcome
}

// Source tracks one branch of one repository. Its methods may be called
// from several goroutines: Sync and Log are serialised.
type Source struct {
	cfg  Config
	path string // cleaned cfg.Path
	dir  string // the local clone
	ref  plumbing.ReferenceName
	auth transport.AuthMethod
	log  *slog.Logger

	trigger    chan struct{}
	refTrigger chan struct{} // Trigger's signal to RefsTriggered

	mu   sync.Mutex // guards everything below and the clone on disk
	repo *git.Repository
	last *loaded // the last head loaded, good or not
	good *loaded // the last head that loaded
}

type loaded struct {
	rev       Revision
	set       *manifests.Set
	admission *admission.Config
	admErr    error // the *AdmissionError of a commit that applies
	err       error
}

// result is the Result of a loaded head.
func (l *loaded) result(o Outcome) Result {
	return Result{Revision: l.rev, Set: l.set, Admission: l.admission, AdmissionErr: l.admErr, Outcome: o}
}

// New validates cfg (filling defaults) and returns a Source. It creates
// CacheDir but does not touch the network: the first Sync clones.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("gitsource: CacheDir: %w", err)
	}
	s := &Source{
		cfg:     cfg,
		path:    cleanPath(cfg.Path),
		dir:     filepath.Join(cfg.CacheDir, cacheKey(cfg.URL)),
		ref:     plumbing.NewBranchReferenceName(cfg.Branch),
		log:     cfg.Logger.With("component", "gitsource", "url", redact(cfg.URL), "branch", cfg.Branch),
		trigger: make(chan struct{}, 1),

		refTrigger: make(chan struct{}, 1),
	}
	var err error
	if s.auth, err = authMethod(cfg.Auth, s.dir+".known_hosts"); err != nil {
		return nil, err
	}
	return s, nil
}

// Config returns the Source's configuration, defaults filled in.
func (s *Source) Config() Config { return s.cfg }

// cacheKey names the clone of url inside CacheDir: readable, and unique by
// a hash of the whole URL.
func cacheKey(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	name := raw
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		name = u.Host + u.Path
	}
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' {
			return r
		}
		return '-'
	}, strings.TrimSuffix(name, ".git"))
	name = strings.Trim(name, "-.")
	if len(name) > 64 {
		name = name[len(name)-64:]
	}
	return name + "-" + hex.EncodeToString(sum[:6])
}

func authMethod(a Auth, knownHostsFile string) (transport.AuthMethod, error) {
	switch {
	case a.isHTTP():
		return &githttp.BasicAuth{Username: a.Username, Password: a.Password}, nil
	case a.isSSH():
		user := a.SSHUser
		if user == "" {
			user = "git"
		}
		keys, err := gitssh.NewPublicKeys(user, a.SSHPrivateKey, a.SSHKeyPassphrase)
		if err != nil {
			return nil, fmt.Errorf("gitsource: Auth: ssh private key: %w", err)
		}
		if err := os.WriteFile(knownHostsFile, a.SSHKnownHosts, 0o600); err != nil {
			return nil, fmt.Errorf("gitsource: Auth: known_hosts: %w", err)
		}
		cb, err := gitssh.NewKnownHostsCallback(knownHostsFile)
		if err != nil {
			return nil, fmt.Errorf("gitsource: Auth: known_hosts: %w", err)
		}
		keys.HostKeyCallback = cb
		return keys, nil
	}
	return nil, nil
}

// Sync brings the branch head's manifests: it is SyncResult without the
// Outcome. On error the Set is nil and the Revision names the commit at
// fault when there is one.
func (s *Source) Sync(ctx context.Context) (Revision, *manifests.Set, error) {
	r, err := s.SyncResult(ctx)
	return r.Revision, r.Set, err
}

// SyncResult runs one sync, in order: list the remote refs; stop if the
// branch head is the commit loaded last time (Outcome Unchanged, returning
// that commit's Set or its *LoadError again); clone or fetch the branch;
// load the manifests under Path and the admission file from the head
// commit's tree.
//
// The Set is complete or nil: a commit that does not load returns a
// *LoadError (IsStalled) and the caller keeps its last good state, which
// LastGood also returns. An admission file that does not load leaves the
// Set to apply under earlier policies (Result.AdmissionErr), or, when no
// earlier commit has policies to keep, is the error itself (an
// *AdmissionError, IsStalled). Network failures are IsTransient, refused
// credentials IsAuth. Each network step is bounded by Config.Timeout.
func (s *Source) SyncResult(ctx context.Context) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()

	head, err := s.lsRemote(ctx)
	if err != nil {
		s.log.Debug("list remote refs failed", "err", err)
		return Result{}, err
	}
	if s.last != nil && s.last.rev.Commit == head.String() {
		return s.last.result(Unchanged), s.last.err
	}

	outcome, err := s.fetch(ctx, head)
	if err != nil {
		return Result{Revision: Revision{Commit: head.String(), Ref: s.ref.String()}}, err
	}
	commit, err := s.repo.CommitObject(head)
	if err != nil {
		return Result{Revision: Revision{Commit: head.String(), Ref: s.ref.String()}},
			fmt.Errorf("git fetch: commit %s missing after fetch: %w", head, err)
	}
	rev := s.revision(commit)
	s.last = s.load(commit, rev)
	if err := s.last.err; err != nil {
		s.log.Warn("commit does not load; keeping the last good state", "commit", rev.Short(),
			"outcome", outcome.String(), "err", err)
		return Result{Revision: rev, Outcome: outcome}, err
	}
	s.good = s.last
	if s.last.admErr != nil {
		s.log.Warn("admission file does not load; the commit applies under earlier policies", "commit", rev.Short(), "err", s.last.admErr)
	}
	s.log.Info("synced", "commit", rev.Short(), "outcome", outcome.String(), "objects", s.last.set.Len(),
		"duration", time.Since(start).Round(time.Millisecond))
	return s.last.result(outcome), nil
}

// LastGood returns the last commit that loaded and its Set (zero and nil
// before the first good Sync).
func (s *Source) LastGood() (Revision, *manifests.Set) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.good == nil {
		return Revision{}, nil
	}
	return s.good.rev, s.good.set
}

// listRefs lists the remote's refs (no objects are transferred); an
// empty remote is ErrEmptyRepository.
func (s *Source) listRefs(ctx context.Context) ([]*plumbing.Reference, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{s.cfg.URL}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: s.auth})
	if err != nil {
		return nil, classify("ls-remote", s.cfg.URL, err)
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("git ls-remote %s: %w", redact(s.cfg.URL), ErrEmptyRepository)
	}
	return refs, nil
}

// lsRemote lists the remote's refs and returns the branch head.
func (s *Source) lsRemote(ctx context.Context) (plumbing.Hash, error) {
	refs, err := s.listRefs(ctx)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for _, r := range refs {
		if r.Name() == s.ref && r.Type() == plumbing.HashReference {
			return r.Hash(), nil
		}
	}
	return plumbing.ZeroHash, fmt.Errorf("git ls-remote %s: %s: %w", redact(s.cfg.URL), s.cfg.Branch, ErrBranchNotFound)
}

// remoteRef is where the fetched branch head is kept in the clone.
func (s *Source) remoteRef() plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName("origin", s.cfg.Branch)
}

// openRepo opens the clone, or makes an empty bare one with the remote
// "origin" configured. A clone that cannot be opened is removed and made
// again.
func (s *Source) openRepo() (fresh bool, err error) {
	if s.repo != nil {
		return false, nil
	}
	repo, err := git.PlainOpen(s.dir)
	if err == nil {
		s.repo = repo
		return false, nil
	}
	if !errors.Is(err, git.ErrRepositoryNotExists) {
		s.log.Warn("local clone is unreadable; cloning again", "dir", s.dir, "err", err)
		if err := os.RemoveAll(s.dir); err != nil {
			return false, fmt.Errorf("gitsource: remove broken clone: %w", err)
		}
	}
	repo, err = git.PlainInit(s.dir, true)
	if err != nil {
		return false, fmt.Errorf("gitsource: init clone in %s: %w", s.dir, err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{s.cfg.URL}}); err != nil {
		return false, fmt.Errorf("gitsource: init clone in %s: %w", s.dir, err)
	}
	s.repo = repo
	return true, nil
}

// fetch makes sure head is in the clone: nothing to do when it already is,
// else a fetch of the branch (a clone the first time).
func (s *Source) fetch(ctx context.Context, head plumbing.Hash) (Outcome, error) {
	fresh, err := s.openRepo()
	if err != nil {
		return 0, err
	}
	if _, err := s.repo.Reference(s.remoteRef(), true); err != nil {
		fresh = true // nothing was ever fetched here
	}
	if _, err := s.repo.CommitObject(head); err == nil {
		// Known commit (restart, or the branch moved back): just move the
		// tracking ref.
		if err := s.repo.Storer.SetReference(plumbing.NewHashReference(s.remoteRef(), head)); err != nil {
			return 0, fmt.Errorf("gitsource: update %s: %w", s.remoteRef(), err)
		}
		return Cached, nil
	}
	op := "fetch"
	if fresh {
		op = "clone"
	}
	s.log.Debug("fetching", "op", op, "head", head.String()[:12])
	if err := s.fetchSpec(ctx, op, "+"+s.ref.String()+":"+s.remoteRef().String()); err != nil {
		return 0, err
	}
	if fresh {
		return Cloned, nil
	}
	return Fetched, nil
}

// fetchSpec fetches one refspec from origin into the clone, bounded by
// Config.Timeout; op names the operation in errors.
func (s *Source) fetchSpec(ctx context.Context, op, spec string) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	err := s.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{config.RefSpec(spec)},
		Auth:       s.auth,
		Tags:       git.NoTags,
		Force:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return classify(op, s.cfg.URL, err)
	}
	return nil
}

func (s *Source) revision(c *object.Commit) Revision {
	return Revision{
		Commit:  c.Hash.String(),
		Ref:     s.ref.String(),
		Author:  fmt.Sprintf("%s <%s>", c.Author.Name, c.Author.Email),
		Date:    c.Author.When,
		Message: strings.TrimRight(c.Message, "\n"),
	}
}

// load reads Path from the commit's tree into a Set, with the admission
// policies it runs under; err is a *LoadError, or a *AdmissionError when
// the admission file does not load and no earlier policies can be kept.
// The admission file's errors are listed with the manifests' in a
// LoadError.
func (s *Source) load(c *object.Commit, rev Revision) *loaded {
	l := &loaded{rev: rev}
	fsys, err := CommitFS(c)
	if err != nil {
		l.err = err
		return l
	}
	fi, err := fs.Stat(fsys, s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.err = &LoadError{Revision: rev, Path: s.path, Err: ErrPathNotFound}
		return l
	case err != nil:
		l.err = &LoadError{Revision: rev, Path: s.path, Err: err}
		return l
	case !fi.IsDir():
		l.err = &LoadError{Revision: rev, Path: s.path, Err: fmt.Errorf("%w: not a folder", ErrPathNotFound)}
		return l
	}
	cfg, admDiags := s.loadAdmission(fsys)
	res := manifests.Read(manifests.Input{FS: fsys, Path: s.path})
	set, err := res.Set()
	if err != nil {
		l.err = &LoadError{Revision: rev, Path: s.path, Diagnostics: append(res.Diagnostics, admDiags...)}
		return l
	}
	for _, w := range res.Diagnostics.Warnings() {
		s.log.Warn("manifest warning", "commit", rev.Short(), "diagnostic", w.String())
	}
	if admDiags != nil {
		ae := &AdmissionError{Revision: rev, File: s.admissionFile(), Diagnostics: admDiags}
		kept, from, ok := s.lastGoodAdmission(c)
		if !ok {
			l.err = ae
			return l
		}
		ae.KeptFrom, ae.KeptFile = from, kept.File != ""
		cfg, l.admErr = kept, ae
	}
	l.set, l.admission = set, cfg
	return l
}
