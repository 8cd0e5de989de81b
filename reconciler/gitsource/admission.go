package gitsource

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/policies/admission"
)

// AdmissionHistory is how many commits before a commit whose admission
// file does not load are searched for the last one whose file does.
const AdmissionHistory = 1000

// AdmissionError is a commit whose admission file (admission.Path in the
// folder the manifests are read from) does not load.
//
// When an earlier commit of the branch (following first parents, at most
// AdmissionHistory back) has a file that loads, or none, the commit still
// applies: its manifests run under that commit's policies (KeptFrom), so
// that a mistake in the file never loosens the rules, and the error comes
// in Result.AdmissionErr beside the Set. Searching Git rather than
// remembering what was applied gives every leader the same answer, a new
// one included. When no such commit is found, the commit does not apply:
// Sync returns the error itself, as for a LoadError. Either way it is
// stalled (IsStalled): only a new commit fixes it.
type AdmissionError struct {
	// Revision is the commit whose file does not load.
	Revision Revision
	// File is the admission file's path in the repository.
	File string
	// Diagnostics are the file's errors, each with its line and field.
	Diagnostics manifests.Diagnostics
	// KeptFrom is the commit whose policies apply instead (its file, or
	// no policy when it had none); zero when none was found and the commit
	// does not apply.
	KeptFrom Revision
	// KeptFile says whether KeptFrom had an admission file.
	KeptFile bool
}

// Error names the commit, says which policies apply, and lists every
// error, one per line, as "file:line: error: message".
func (e *AdmissionError) Error() string {
	var b strings.Builder
	errs := e.Diagnostics.Errors()
	fmt.Fprintf(&b, "commit %s on %s: admission file %s does not load (%d %s)", e.Revision.Short(), e.Revision.Ref, e.File, len(errs), plural(len(errs), "error", "errors"))
	switch {
	case e.KeptFrom.Commit == "":
		fmt.Fprintf(&b, ", and no commit of the last %d before it has one that does: the commit does not apply; fix the file", AdmissionHistory)
	case e.KeptFile:
		fmt.Fprintf(&b, ": its manifests apply under the policies of commit %s, the last whose file loads; fix the file", e.KeptFrom.Short())
	default:
		fmt.Fprintf(&b, ": its manifests apply with no policy, as under commit %s, the last whose file loads, which had none; fix the file", e.KeptFrom.Short())
	}
	b.WriteString(":")
	for _, d := range errs {
		b.WriteString("\n  ")
		b.WriteString(d.String())
	}
	return b.String()
}

// Unwrap returns the diagnostics as an error.
func (e *AdmissionError) Unwrap() error { return e.Diagnostics }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// loadAdmission reads the admission file of a commit's tree from the
// folder the manifests are read from; diagnostics name the file by its
// path in the repository.
func (s *Source) loadAdmission(fsys fs.FS) (*admission.Config, manifests.Diagnostics) {
	sub := fsys
	if s.path != "." {
		var err error
		if sub, err = fs.Sub(fsys, s.path); err != nil {
			return nil, manifests.Diagnostics{{Severity: manifests.SeverityError, File: s.admissionFile(), Message: err.Error()}}
		}
	}
	cfg, err := admission.Load(sub)
	if err == nil {
		if cfg.File != "" {
			cfg.File = s.admissionFile()
		}
		return cfg, nil
	}
	ds, ok := err.(manifests.Diagnostics)
	if !ok {
		ds = manifests.Diagnostics{{Severity: manifests.SeverityError, File: admission.Path, Message: err.Error()}}
	}
	out := make(manifests.Diagnostics, len(ds))
	for i, d := range ds {
		d.File = path.Join(s.path, d.File)
		out[i] = d
	}
	return nil, out
}

// admissionFile is the admission file's path in the repository.
func (s *Source) admissionFile() string { return path.Join(s.path, admission.Path) }

// lastGoodAdmission follows c's first parents, at most AdmissionHistory,
// to the first commit whose admission file loads (or that has none), and
// returns its policies, the commit, and whether it had a file; ok is false
// when there is none.
func (s *Source) lastGoodAdmission(c *object.Commit) (cfg *admission.Config, from Revision, ok bool) {
	for range AdmissionHistory {
		if c.NumParents() == 0 {
			return nil, Revision{}, false
		}
		p, err := c.Parent(0)
		if err != nil {
			s.log.Warn("cannot read a parent commit looking for the last good admission file", "commit", c.Hash.String()[:12], "err", err)
			return nil, Revision{}, false
		}
		fsys, err := CommitFS(p)
		if err != nil {
			return nil, Revision{}, false
		}
		if cfg, ds := s.loadAdmission(fsys); ds == nil {
			return cfg, s.revision(p), true
		}
		c = p
	}
	return nil, Revision{}, false
}
