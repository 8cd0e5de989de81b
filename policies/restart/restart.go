// Package restart holds the kubelet's container restart rules as pure
// functions of the clock: whether a stopped container is restarted under a
// pod's restartPolicy, and the crash-loop back-off before it is.
//
// The back-off follows Kubernetes: 10 s after the first failure, doubling on
// each further restart up to 5 minutes, and back to 10 s once a container
// has run for 10 minutes without exiting.
package restart

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Config sets the back-off curve. DefaultConfig is Kubernetes'.
type Config struct {
	// Initial is the delay before the first restart.
	Initial time.Duration
	// Max caps the delay.
	Max time.Duration
	// ResetAfter is how long a container must run for its back-off to
	// start again from Initial.
	ResetAfter time.Duration
}

// DefaultConfig returns the kubelet's back-off: 10 s doubling to 5 min,
// reset after 10 min of running.
func DefaultConfig() Config {
	return Config{Initial: 10 * time.Second, Max: 5 * time.Minute, ResetAfter: 10 * time.Minute}
}

// ShouldRestart reports whether a container that exited with exitCode is
// restarted under the pod's restart policy: always under Always, on a
// non-zero exit under OnFailure, never under Never.
func ShouldRestart(policy corev1.RestartPolicy, exitCode int) bool {
	switch policy {
	case corev1.RestartPolicyAlways, "":
		return true
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return false
}

// Backoff is the crash-loop state of one container. The zero value is a
// container that has never been restarted. It is a value: methods return
// the new state and never keep a clock.
type Backoff struct {
	// Delay is the wait applied before the last restart (0 before any).
	Delay time.Duration
}

// Next returns the wait before restarting a container that ran from
// startedAt to finishedAt, and the new back-off state. A container that ran
// for at least ResetAfter starts again from Initial.
func (b Backoff) Next(cfg Config, startedAt, finishedAt time.Time) (time.Duration, Backoff) {
	var d time.Duration
	switch {
	case b.Delay == 0 || finishedAt.Sub(startedAt) >= cfg.ResetAfter:
		d = cfg.Initial
	default:
		d = 2 * b.Delay
	}
	if d > cfg.Max {
		d = cfg.Max
	}
	return d, Backoff{Delay: d}
}

// RestartAt returns when a container that finished at finishedAt may start
// again, given the delay Next returned.
func RestartAt(finishedAt time.Time, delay time.Duration) time.Time {
	return finishedAt.Add(delay)
}

// InBackoff reports whether, at now, a restart scheduled for at is still
// being held back: the container's waiting reason is then CrashLoopBackOff.
func InBackoff(now, at time.Time) bool { return now.Before(at) }
