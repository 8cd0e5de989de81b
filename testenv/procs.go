package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// startDetached starts argv in a session of its own (so that a terminal's
// ^C does not reach it and it outlives the starter), stdin from /dev/null
// and stdout and stderr appended to logPath. The process is reaped by a
// goroutine while the starter lives, and by init after.
func startDetached(argv []string, env []string, logPath string) (int, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", strings.Join(argv, " "), err)
	}
	go cmd.Wait()
	return cmd.Process.Pid, nil
}

// procAlive reports whether pid runs (exists and is not a zombie) with a
// command line holding marker (NUL-separated arguments), so that a PID
// reused by another program is never taken for ours. A process in the
// middle of an exec shows no command line for a moment: a mismatch is
// read again a few times before it counts.
func procAlive(pid int, marker []string) bool {
	want := []byte(strings.Join(marker, "\x00") + "\x00")
	for try := 0; ; try++ {
		if !pidRunning(pid) {
			return false
		}
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil {
			return false
		}
		if bytes.Contains(cmdline, want) {
			return true
		}
		if try == 4 {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// pidRunning reports whether pid exists and is not a zombie.
func pidRunning(pid int) bool {
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state is the field after the parenthesized command name.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}

// stopProc sends sig to pid if it is ours (see procAlive) and waits until
// it is gone or ctx ends. With grace > 0 it sends SIGTERM first, then
// SIGKILL after grace. A process already gone is not an error.
func stopProc(ctx context.Context, pid int, marker []string, grace time.Duration) error {
	if !procAlive(pid, marker) {
		return nil
	}
	sig := syscall.SIGKILL
	if grace > 0 {
		sig = syscall.SIGTERM
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %d: %w", pid, err)
	}
	if grace > 0 {
		if waitGone(ctx, pid, marker, grace) {
			return nil
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill %d: %w", pid, err)
		}
	}
	if !waitGone(ctx, pid, marker, 10*time.Second) {
		return fmt.Errorf("process %d still runs after SIGKILL", pid)
	}
	return nil
}

// waitGone polls until pid is not ours and alive, for at most d.
func waitGone(ctx context.Context, pid int, marker []string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for procAlive(pid, marker) {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return !procAlive(pid, marker)
		case <-t.C:
		}
	}
	return true
}

// permanent wraps an error on which poll gives up at once.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// poll calls cond every interval until it returns nil or the deadline
// passes, and returns cond's last error. A permanent error ends it early.
func poll(ctx context.Context, timeout, interval time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.error
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up after %s)", err, timeout)
		case <-t.C:
		}
	}
}

// tail returns the last n bytes of a file, for error messages.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := fi.Size() - n
	if off < 0 {
		off = 0
	}
	b := make([]byte, fi.Size()-off)
	_, _ = f.ReadAt(b, off)
	return strings.TrimSpace(string(b))
}
