package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/shoal-run/shoal/manifests"
)

// Sentinel errors. Test with errors.Is; the classification helpers below
// say what to do about them.
var (
	// ErrBranchNotFound: the remote has no such branch. Stalled.
	ErrBranchNotFound = errors.New("branch not found on the remote")
	// ErrPathNotFound: the commit has no folder at Path. Stalled.
	ErrPathNotFound = errors.New("path not found in the commit")
	// ErrEmptyRepository: the remote has no commits yet. Stalled.
	ErrEmptyRepository = errors.New("remote repository is empty")
	// ErrRepositoryNotFound: the server says the repository does not exist.
	// Stalled (a configuration error): Run re-lists every PollInterval.
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrAuth: the server refused the credentials, or wants some and none
	// were given.
	ErrAuth = errors.New("git authentication failed")
)

// LoadError is a commit whose manifests do not load: the caller keeps the
// last good state and waits for a new commit. It is stalled (IsStalled).
type LoadError struct {
	// Revision is the commit that does not load.
	Revision Revision
	// Path is the folder that was read.
	Path string
	// Diagnostics lists every diagnostic of the commit (errors and
	// warnings), each naming file:line and object; empty when Err is set.
	Diagnostics manifests.Diagnostics
	// Err is a cause other than diagnostics, such as ErrPathNotFound.
	Err error
}

// Error names the commit and lists every error, one per line, as
// "file:line: object: error: message".
func (e *LoadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "commit %s on %s", e.Revision.Short(), e.Revision.Ref)
	if e.Err != nil {
		fmt.Fprintf(&b, ": %s %q: %v", "path", e.Path, e.Err)
		return b.String()
	}
	errs := e.Diagnostics.Errors()
	fmt.Fprintf(&b, ": manifests under %q do not load (%d errors):", e.Path, len(errs))
	for _, d := range errs {
		b.WriteString("\n  ")
		b.WriteString(d.String())
	}
	return b.String()
}

// Unwrap returns Err, or the Diagnostics as an error.
func (e *LoadError) Unwrap() error {
	if e.Err != nil {
		return e.Err
	}
	return e.Diagnostics
}

// transientError marks an error as worth retrying soon.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// IsTransient reports whether err is a failure of the network or the server
// (connection refused or reset, timeouts, DNS, HTTP 5xx or 429) that a retry
// with back-off may cure.
func IsTransient(err error) bool {
	var t *transientError
	return errors.As(err, &t)
}

// IsStalled reports whether err is a fault of the repository's content or
// layout (manifests or an admission file that do not load, a missing branch or Path, an empty or
// missing repository): nothing but a new commit or a configuration change
// helps.
func IsStalled(err error) bool {
	var le *LoadError
	var ae *AdmissionError
	return errors.As(err, &le) || errors.As(err, &ae) || errors.Is(err, ErrBranchNotFound) || errors.Is(err, ErrPathNotFound) ||
		errors.Is(err, ErrEmptyRepository) || errors.Is(err, ErrRepositoryNotFound)
}

// IsAuth reports whether err is an authentication or authorization failure.
func IsAuth(err error) bool { return errors.Is(err, ErrAuth) }

// classify wraps an error from go-git for the operation op: it names the
// operation and the (credential-free) URL, and attaches ErrAuth,
// ErrRepositoryNotFound, ErrEmptyRepository or the transient mark.
func classify(op, rawURL string, err error) error {
	if err == nil {
		return nil
	}
	where := fmt.Sprintf("git %s %s", op, redact(rawURL))
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod), isSSHAuthError(err):
		return fmt.Errorf("%s: %w: %w", where, ErrAuth, err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%s: %w: %w", where, ErrRepositoryNotFound, err)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return fmt.Errorf("%s: %w", where, ErrEmptyRepository)
	case isTransientCause(err):
		return &transientError{fmt.Errorf("%s: %w", where, err)}
	}
	return fmt.Errorf("%s: %w", where, err)
}

// isTransientCause looks through err's chain (including go-git's
// UnexpectedError, which does not Unwrap) for a network or server failure.
func isTransientCause(err error) bool {
	for err != nil {
		var herr *githttp.Err
		var nerr net.Error
		var uerr *url.Error
		switch {
		case errors.As(err, &herr):
			c := herr.StatusCode()
			return c >= 500 || c == 429 || c == 408
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.ErrUnexpectedEOF),
			errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
			errors.Is(err, syscall.EPIPE):
			return true
		case errors.As(err, &nerr), errors.As(err, &uerr):
			return true
		}
		var ue *plumbing.UnexpectedError
		if !errors.As(err, &ue) {
			return false
		}
		err = ue.Err
	}
	return false
}

// isSSHAuthError recognises golang.org/x/crypto/ssh's handshake refusals,
// which carry no typed error.
func isSSHAuthError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "ssh: unable to authenticate") || strings.Contains(s, "knownhosts: key mismatch") ||
		strings.Contains(s, "knownhosts: key is unknown")
}

// redact drops any user information from a URL for logs and errors.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
