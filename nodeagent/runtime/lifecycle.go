package runtime

import (
	"context"
	"errors"
	"syscall"
	"time"
)

// State reports a container's state. It works for containers started by
// another Runtime (another agent process, before a restart): the first
// call re-adopts them. It does not block.
func (r *Runtime) State(id string) (State, error) {
	c, err := r.get(id)
	if err != nil {
		return State{}, err
	}
	return c.state(), nil
}

// Wait blocks until the container has exited and returns its final state,
// or returns ctx.Err() when ctx ends first. Any number of callers may wait.
func (r *Runtime) Wait(ctx context.Context, id string) (State, error) {
	c, err := r.get(id)
	if err != nil {
		return State{}, err
	}
	select {
	case <-c.done:
		return c.final, nil
	case <-ctx.Done():
		return State{}, ctx.Err()
	}
}

// Signal sends sig to the container's init, which passes it on to the
// command (SIGKILL instead kills the whole container at once, and the exit
// is then recorded as a kill by the runtime). ErrNotRunning when the
// container has exited.
func (r *Runtime) Signal(id string, sig syscall.Signal) error {
	c, err := r.get(id)
	if err != nil {
		return err
	}
	return c.signal(sig)
}

// Stop asks the command to end with its StopSignal (default SIGTERM),
// waits up to grace, then kills the container with SIGKILL, and returns the
// final state. Stopping an exited container returns its state at once. If
// ctx ends first, Stop returns ctx.Err() (a SIGKILL already sent stays
// sent).
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) (State, error) {
	c, err := r.get(id)
	if err != nil {
		return State{}, err
	}
	sig := c.meta.Spec.StopSignal
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	if err := c.signal(sig); err != nil && !errors.Is(err, ErrNotRunning) {
		return State{}, err
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-c.done:
		return c.final, nil
	case <-ctx.Done():
		return State{}, ctx.Err()
	case <-timer.C:
	}
	r.log.Info("grace period over, killing", "id", id, "grace", grace)
	if err := c.signal(syscall.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
		return State{}, err
	}
	select {
	case <-c.done:
		return c.final, nil
	case <-ctx.Done():
		return State{}, ctx.Err()
	}
}
