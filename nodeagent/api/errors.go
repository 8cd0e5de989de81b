package api

import (
	"context"
	"errors"
	"net/http"
)

// ErrBadRequest is wrapped by errors about requests that cannot be served
// as asked (a bad option, a container name needed among several). A
// PodService may wrap it; the server answers 400 Bad Request.
var ErrBadRequest = errBadRequest{}

type errBadRequest struct{}

func (errBadRequest) Error() string { return "bad request" }

// The reasons an Error carries, as Kubernetes names them.
const (
	ReasonNotFound      = "NotFound"
	ReasonBadRequest    = "BadRequest"
	ReasonUnauthorized  = "Unauthorized"
	ReasonInternalError = "InternalError"
)

// Error is an error answer of the API: the JSON body of every non-2xx
// response, and what the Client returns for one. An Error with reason
// NotFound wraps ErrNotFound, one with reason BadRequest wraps
// ErrBadRequest.
type Error struct {
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
}

func (e *Error) Error() string { return e.Message }

// Unwrap lets errors.Is(err, ErrNotFound) and errors.Is(err, ErrBadRequest)
// see through an Error.
func (e *Error) Unwrap() error {
	switch e.Reason {
	case ReasonNotFound:
		return ErrNotFound
	case ReasonBadRequest:
		return ErrBadRequest
	}
	return nil
}

// errorFor classifies a PodService error into the Error the API answers.
func errorFor(err error) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, ErrNotFound):
		return &Error{Message: err.Error(), Reason: ReasonNotFound, Code: http.StatusNotFound}
	case errors.Is(err, ErrBadRequest):
		return &Error{Message: err.Error(), Reason: ReasonBadRequest, Code: http.StatusBadRequest}
	}
	return &Error{Message: err.Error(), Reason: ReasonInternalError, Code: http.StatusInternalServerError}
}

// badRequest is an Error about the request itself.
func badRequest(msg string) *Error {
	return &Error{Message: msg, Reason: ReasonBadRequest, Code: http.StatusBadRequest}
}

// isGone reports whether err only says that the caller went away.
func isGone(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
