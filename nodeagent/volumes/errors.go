package volumes

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package for these conditions
// wrap exactly one of them (errors.Is), while their messages stay the
// kubelet's.
var (
	// ErrNotFound: a ConfigMap or Secret a non-optional volume refers to
	// does not exist. Waiting: it may be created later.
	ErrNotFound = errors.New("volume source object not found")
	// ErrMissingKey: an item of a non-optional volume names a key the
	// object does not have. Waiting: the object may be updated.
	ErrMissingKey = errors.New("volume source key not found")
	// ErrUnsupported: the volume asks for a projection, field, resource or
	// container shoal nodes cannot provide. Stalling: only a new manifest
	// fixes it.
	ErrUnsupported = errors.New("not supported on shoal nodes")
	// ErrInvalidPath: a payload path is empty, absolute, too long, contains
	// a ".." element or starts with "..". Stalling.
	ErrInvalidPath = errors.New("invalid path")
)

// kindError is an error with a fixed message that matches a sentinel.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func newError(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
