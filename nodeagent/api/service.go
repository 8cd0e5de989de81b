// Package api is a node's HTTP API and its client: pods as Kubernetes Pod
// objects, container logs, exec with a real terminal, port forwarding, the
// cluster's workloads, Services, Endpoints, Ingresses and events, and the
// image store.
// The server side serves a PodService that the node agent implements; the
// client side is what the command-line verbs use.
package api

import (
	"context"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// PodService is what a node offers its API. The node agent implements it;
// every method is safe for concurrent use.
type PodService interface {
	// ListPods returns the pods of a namespace ("" for all namespaces) as
	// Kubernetes Pod objects with their status, sorted by namespace and name.
	ListPods(ctx context.Context, namespace string) ([]corev1.Pod, error)
	// GetPod returns one pod, or an error wrapping ErrNotFound.
	GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	// Logs writes a container's log to w as options say. With Follow it
	// blocks, writing new lines as they come, until ctx is done or the
	// container's log ends for good (the pod is deleted).
	Logs(ctx context.Context, namespace, name string, opts LogOptions, w io.Writer) error
	// Exec runs a command in a container and returns its exit code. It
	// blocks until the command exits; cancelling ctx kills the command.
	Exec(ctx context.Context, namespace, name string, opts ExecOptions) (int, error)
}

// LogOptions select what Logs writes, with the meaning of kubectl logs'
// flags.
type LogOptions struct {
	// Container names the container; "" means the pod's only container (an
	// error naming the choices when there are several).
	Container string
	Follow    bool
	// Previous reads the log of the container's previous run.
	Previous bool
	// Timestamps prefixes each line with its RFC 3339 timestamp.
	Timestamps bool
	// TailLines keeps only the last N lines (negative: all).
	TailLines int64
	// Since keeps only lines newer than this much before now (0: all).
	Since time.Duration
}

// ExecOptions describe a command to run in a container.
type ExecOptions struct {
	Container string
	Command   []string
	TTY       bool
	Stdin     io.Reader // nil: no stdin
	Stdout    io.Writer
	Stderr    io.Writer // ignored with TTY (a terminal has one output)
	// Resize delivers terminal size changes (TTY only); nil when none.
	Resize <-chan TermSize
}

// TermSize is a terminal's size in characters.
type TermSize struct {
	Width, Height uint16
}

// ErrNotFound is wrapped by errors about pods or containers that do not exist.
var ErrNotFound = errNotFound{}

type errNotFound struct{}

func (errNotFound) Error() string { return "not found" }
