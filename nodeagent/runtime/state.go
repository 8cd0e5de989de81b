package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/shoal-run/shoal/nodeagent/runtime/pid1"
)

// Status is where a container is in its life.
type Status int

const (
	// Unknown: the runtime cannot tell (its records are incomplete, e.g. an
	// agent died in the middle of Start).
	Unknown Status = iota
	// Created: libcontainer created it but the init has not been started.
	Created
	// Running: the container's init (and so, normally, the command) runs.
	Running
	// Exited: the command has ended; the State says how.
	Exited
)

func (s Status) String() string {
	switch s {
	case Created:
		return "created"
	case Running:
		return "running"
	case Exited:
		return "exited"
	default:
		return "unknown"
	}
}

// MarshalText writes the status as its name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a status name.
func (s *Status) UnmarshalText(b []byte) error {
	for _, v := range []Status{Unknown, Created, Running, Exited} {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("unknown container status %q", b)
}

// Reasons in State.Reason, as Kubernetes names them.
const (
	ReasonCompleted = "Completed" // exit code 0
	ReasonError     = "Error"     // non-zero exit code
	ReasonOOMKilled = "OOMKilled" // the memory cgroup's OOM killer killed a process
	// ReasonStartError: the init could not start the command.
	ReasonStartError = pid1.ReasonStartError
	// ReasonUnknown: the init died without recording the command's end (it
	// was SIGKILLed, e.g. by Stop or Signal, or by the OOM killer).
	ReasonUnknown = "ContainerStatusUnknown"
)

// State is what the runtime knows about a container.
type State struct {
	ID     string `json:"id"`
	Status Status `json:"status"`
	// Pid is the host pid of the container's init while it runs.
	Pid        int       `json:"pid,omitempty"`
	CreatedAt  time.Time `json:"createdAt,omitzero"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// ExitCode is the command's exit code, 128+signal when a signal killed
	// it (Exited only).
	ExitCode int `json:"exitCode"`
	// Signal is the signal that killed the command (or, with
	// ReasonUnknown, the init), 0 when it exited by itself.
	Signal syscall.Signal `json:"signal,omitempty"`
	// OOMKilled: the memory cgroup's OOM killer killed a process of the
	// container (the command or one of its children).
	OOMKilled bool   `json:"oomKilled,omitempty"`
	Reason    string `json:"reason,omitempty"`
	Message   string `json:"message,omitempty"`
}

// meta is what the runtime stores next to a container: its spec and the
// times only the runtime knows.
type meta struct {
	Spec      ContainerSpec `json:"spec"`
	CreatedAt time.Time     `json:"createdAt"`
	StartedAt time.Time     `json:"startedAt,omitzero"`
}

// Files of Root/containers/<id>/.
const (
	specFile  = "spec.json" // meta, written by Start
	exitFile  = "exit.json" // the final State, written once when the runtime sees the end
	runDir    = "shoal"     // mounted at /.shoal/run: log, status
	rootfsDir = "rootfs"    // overlay mount point
	upperDir  = "upper"
	workDir   = "work"
)

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeJSON writes v to path atomically (temporary file and rename).
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// exitState builds the final State from what is left after the init is
// gone: the init's status file first; else the init's own wait status when
// this process was its parent (ws != nil); else Unknown for a container
// that never started, or "unknown, killed". killed
// tells that this runtime sent the SIGKILL; oomKills is the memory cgroup's
// OOM kill count.
func exitState(id string, m meta, dir string, ws *syscall.WaitStatus, killed bool, oomKills int, now time.Time) State {
	st := State{ID: id, Status: Exited, CreatedAt: m.CreatedAt, StartedAt: m.StartedAt}
	ps, err := pid1.ReadStatus(filepath.Join(dir, runDir))
	switch {
	case err == nil:
		st.ExitCode = ps.ExitCode
		st.Signal = syscall.Signal(ps.Signal)
		st.FinishedAt = ps.FinishedAt
		st.Reason, st.Message = ps.Reason, ps.Message
		if st.StartedAt.IsZero() {
			st.StartedAt = ps.StartedAt
		}
	case errors.Is(err, fs.ErrNotExist) && ws != nil && (ws.Exited() || ws.Signaled()):
		st.FinishedAt = now
		if ws.Signaled() {
			st.Signal = ws.Signal()
			st.ExitCode = 128 + int(st.Signal)
		} else {
			st.ExitCode = ws.ExitStatus()
		}
		if st.ExitCode != 0 {
			st.Reason = ReasonUnknown
			st.Message = "the container's init ended without recording the command's exit"
		}
		if killed && st.Signal == syscall.SIGKILL {
			st.Reason = ReasonError
			st.Message = "killed by the runtime (SIGKILL)"
		}
	case killed && errors.Is(err, fs.ErrNotExist):
		st.FinishedAt = now
		st.ExitCode = 128 + int(syscall.SIGKILL)
		st.Signal = syscall.SIGKILL
		st.Reason = ReasonError
		st.Message = "killed by the runtime (SIGKILL)"
	case m.StartedAt.IsZero() && errors.Is(err, fs.ErrNotExist):
		// Never started, nothing recorded: an agent died inside Start.
		st.Status = Unknown
		st.Reason = ReasonUnknown
		st.Message = "the container was never started (its agent stopped during Start)"
		return st
	default:
		st.FinishedAt = now
		st.ExitCode = 128 + int(syscall.SIGKILL)
		st.Signal = syscall.SIGKILL
		st.Reason = ReasonUnknown
		st.Message = "the container's init was killed before it could record the command's exit"
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			st.Message = err.Error()
		}
	}
	if oomKills > 0 {
		st.OOMKilled = true
		if st.ExitCode != 0 && st.Reason != ReasonStartError {
			st.Reason = ReasonOOMKilled
			st.Message = fmt.Sprintf("the OOM killer killed %d process(es) of the container", oomKills)
		}
	}
	if st.Reason == "" {
		if st.ExitCode == 0 {
			st.Reason = ReasonCompleted
		} else {
			st.Reason = ReasonError
		}
	}
	return st
}
