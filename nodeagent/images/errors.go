package images

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Sentinel errors. Every error the Store returns for these conditions wraps
// exactly one of them, so callers branch with errors.Is and show the message
// (which names the image, the registry and the cause) to the user.
var (
	// ErrNotFound: the image is not in the local store.
	ErrNotFound = errors.New("image not found in the local store")
	// ErrImageNotInRegistry: the registry answered that the repository, tag
	// or digest does not exist (404, MANIFEST_UNKNOWN, NAME_UNKNOWN), or it
	// has no variant for this node's platform. Retrying will not help until
	// someone pushes the image or fixes the name.
	ErrImageNotInRegistry = errors.New("image not found in registry")
	// ErrUnauthorized: the registry refused the request (401/403). The
	// message says which credentials were tried, or that none matched.
	ErrUnauthorized = errors.New("registry refused access")
	// ErrRegistryUnreachable: the registry could not be reached or answered
	// with a server error (connection refused, DNS, TLS, timeout, 5xx, 429).
	// This is usually transient: retry with backoff.
	ErrRegistryUnreachable = errors.New("registry unreachable")
)

// PullError is the error Pull returns for a classified registry failure.
// errors.Is(err, Kind) holds, and errors.As reaches the underlying
// go-containerregistry or network error.
type PullError struct {
	Ref      string // normalized image reference, as the user named it
	Registry string // host spoken to (the mirror, when one is configured)
	Mirror   string // registry the mirror stands in for, "" without a mirror
	Kind     error  // one of ErrImageNotInRegistry, ErrUnauthorized, ErrRegistryUnreachable
	Detail   string // what was tried (credentials) or what is missing (platform)
	Err      error  // the underlying error; may be nil when Detail says it all
}

func (e *PullError) registryName() string {
	if e.Mirror != "" {
		return fmt.Sprintf("%s (mirror of %s)", e.Registry, e.Mirror)
	}
	return e.Registry
}

// Error implements error.
func (e *PullError) Error() string {
	var b strings.Builder
	switch e.Kind {
	case ErrImageNotInRegistry:
		fmt.Fprintf(&b, "image %q not found in registry %s", e.Ref, e.registryName())
	case ErrUnauthorized:
		fmt.Fprintf(&b, "pulling image %q: registry %s refused access", e.Ref, e.registryName())
	case ErrRegistryUnreachable:
		fmt.Fprintf(&b, "pulling image %q: registry %s unreachable", e.Ref, e.registryName())
	default:
		fmt.Fprintf(&b, "pulling image %q from %s", e.Ref, e.registryName())
	}
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the kind and the underlying error.
func (e *PullError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// notFoundError is ErrNotFound with the name the caller used.
type notFoundError struct{ ref string }

func (e *notFoundError) Error() string {
	return fmt.Sprintf("image %q not found in the local store", e.ref)
}
func (e *notFoundError) Unwrap() error { return ErrNotFound }

// classify turns an error from a registry round trip into a *PullError when
// it is one of the conditions a user acts on. Context cancellation and
// unrecognised errors are returned wrapped but unclassified.
func classify(err error, pe PullError) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("pulling image %q from %s: %w", pe.Ref, pe.registryName(), err)
	}
	var already *PullError
	if errors.As(err, &already) {
		return err // classified by the goroutine that did the fetch
	}
	pe.Err = err
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case hasCode(terr, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode) ||
			terr.StatusCode == http.StatusNotFound:
			pe.Kind = ErrImageNotInRegistry
		case hasCode(terr, transport.UnauthorizedErrorCode, transport.DeniedErrorCode) ||
			terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			pe.Kind = ErrUnauthorized
		case terr.StatusCode >= 500 || terr.StatusCode == http.StatusTooManyRequests:
			pe.Kind = ErrRegistryUnreachable
		}
		if pe.Kind != nil {
			return &pe
		}
		return fmt.Errorf("pulling image %q from %s: %w", pe.Ref, pe.registryName(), err)
	}
	var uerr *url.Error
	var nerr net.Error
	var operr *net.OpError
	var dnserr *net.DNSError
	if errors.As(err, &uerr) || errors.As(err, &operr) || errors.As(err, &dnserr) || errors.As(err, &nerr) {
		pe.Kind = ErrRegistryUnreachable
		return &pe
	}
	return fmt.Errorf("pulling image %q from %s: %w", pe.Ref, pe.registryName(), err)
}

func hasCode(e *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range e.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}
