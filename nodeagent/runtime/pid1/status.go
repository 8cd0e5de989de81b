package pid1

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Paths inside the container, fixed by the runtime's mounts.
const (
	// InitPath is where the runtime bind-mounts the init binary (read-only).
	InitPath = "/.shoal/init"
	// RunDir is where the runtime bind-mounts the container's host-side run
	// directory (read-write).
	RunDir = "/.shoal/run"
	// LogFile is the name of the CRI-format log inside the run directory.
	LogFile = "log"
	// StatusFile is the name of the exit status file inside the run directory.
	StatusFile = "status"
)

// Reason values the init writes into [Status.Reason].
const (
	// ReasonStartError: the command could not be started (see Message).
	ReasonStartError = "StartError"
)

// Status is the content of the status file: how the user's command ended.
// The file appears only once, complete, when the command has exited.
type Status struct {
	// ExitCode is the command's exit code; 128+signal when a signal killed it.
	ExitCode int `json:"exitCode"`
	// Signal is the signal that killed the command, 0 when it exited.
	Signal int `json:"signal,omitempty"`
	// StartedAt is when the command was started (zero if it never started).
	StartedAt time.Time `json:"startedAt,omitzero"`
	// FinishedAt is when the init saw the command end.
	FinishedAt time.Time `json:"finishedAt"`
	// Reason is set when the command never ran (ReasonStartError).
	Reason string `json:"reason,omitempty"`
	// Message explains Reason.
	Message string `json:"message,omitempty"`
}

// ReadStatus reads the status file of a run directory. It returns an error
// satisfying errors.Is(err, fs.ErrNotExist) while the command has not exited
// (or the init died before it could write it).
func ReadStatus(runDir string) (Status, error) {
	var s Status
	b, err := os.ReadFile(filepath.Join(runDir, StatusFile))
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("status file %s: %w", filepath.Join(runDir, StatusFile), err)
	}
	return s, nil
}

// WriteStatus writes the status file of a run directory atomically: a reader
// sees either no file or the complete one.
func WriteStatus(runDir string, s Status) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(runDir, "."+StatusFile+"-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(runDir, StatusFile)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}
