package pid1_test

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shoal-run/shoal/nodeagent/runtime/pid1"
)

const envMain = "SHOAL_PID1_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envMain) == "1" {
		os.Exit(pid1.Main(os.Args[1:]))
	}
	// Orphans of the inits started here come back to this process, which
	// reaps them (see reapOrphans).
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	os.Exit(m.Run())
}

type result struct {
	code   int
	ready  string
	status pid1.Status
	log    []string // "stream tag content"
	took   time.Duration
}

// runInit runs pid1.Main in a child process (not as PID 1 of a namespace)
// with a ready pipe on fd 3; during is called once the init reported.
func runInit(t *testing.T, during func(p *os.Process, dir string), args ...string) result {
	t.Helper()
	dir := t.TempDir()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer readyR.Close()
	cmd := exec.Command(os.Args[0], append([]string{"-run-dir", dir, "-ready-fd", "3", "-drain", "100ms", "--"}, args...)...)
	cmd.Env = append(os.Environ(), envMain+"=1", "PATH=/usr/bin:/bin")
	cmd.ExtraFiles = []*os.File{readyW}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readyW.Close()
	line, _ := bufio.NewReader(readyR).ReadString('\n')
	if during != nil {
		during(cmd.Process, dir)
	}
	err = cmd.Wait()
	res := result{ready: strings.TrimSpace(line), took: time.Since(begin)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	res.status, err = pid1.ReadStatus(dir)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	res.log = readLog(t, dir)
	reapOrphans()
	return res
}

func readLog(t *testing.T, dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, pid1.LogFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(b)) {
		ts, rest, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		if _, err := time.Parse(pid1.TimeFormat, ts); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, rest)
	}
	return out
}

// reapOrphans kills and reaps what the init's command left behind: as the
// subreaper, this process inherited it when the init exited. Tests here run
// one at a time, so every child of this process is such an orphan.
func reapOrphans() {
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, f := range strings.Fields(string(b)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			_ = syscall.Kill(pid, syscall.SIGKILL)
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
		}
	}
}

func TestMainRunsCommand(t *testing.T) {
	r := runInit(t, nil, "sh", "-c", "echo out; echo err >&2; exit 3")
	if r.code != 3 || r.status.ExitCode != 3 || r.status.Signal != 0 || r.status.Reason != "" {
		t.Errorf("exit %d, status %+v; want 3", r.code, r.status)
	}
	if !strings.HasPrefix(r.ready, "ok ") {
		t.Errorf("ready %q", r.ready)
	}
	if strings.Join(r.log, "|") != "stdout F out|stderr F err" && strings.Join(r.log, "|") != "stderr F err|stdout F out" {
		t.Errorf("log %q", r.log)
	}
	if r.status.StartedAt.IsZero() || r.status.FinishedAt.Before(r.status.StartedAt) {
		t.Errorf("status times %+v", r.status)
	}
}

func TestMainStartErrors(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"not-found", []string{"no-such-command-anywhere"}, 127},
		{"missing-path", []string{"/no/such/file"}, 127},
		{"not-executable", []string{notExec}, 126},
		{"directory", []string{"/"}, 126},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runInit(t, nil, tc.args...)
			if r.code != tc.code || r.status.ExitCode != tc.code || r.status.Reason != pid1.ReasonStartError {
				t.Errorf("exit %d, status %+v; want %d StartError", r.code, r.status, tc.code)
			}
			if !strings.HasPrefix(r.ready, "err "+strconv.Itoa(tc.code)+" ") {
				t.Errorf("ready %q", r.ready)
			}
			if len(r.log) != 1 || !strings.HasPrefix(r.log[0], "stderr F shoal-init: ") {
				t.Errorf("log %q", r.log)
			}
		})
	}
}

func TestMainSignals(t *testing.T) {
	waitReady := func(t *testing.T, dir string) {
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for !strings.Contains(strings.Join(readLog(t, dir), "|"), "ready") {
			if time.Now().After(deadline) {
				t.Fatal("command never got ready")
			}
			<-tick.C
		}
	}
	tests := []struct {
		name   string
		script string
		send   syscall.Signal
		code   int
		signal int
	}{
		{"forwarded-term", `trap "exit 5" TERM; echo ready; sleep 1000 & wait`, syscall.SIGTERM, 5, 0},
		{"forwarded-usr2", `trap "exit 6" USR2; echo ready; sleep 1000 & wait`, syscall.SIGUSR2, 6, 0},
		{"killed-by-forwarded", `echo ready; sleep 1000 & wait`, syscall.SIGHUP, 128 + 1, 1},
		{"self-kill", `kill -9 $$`, 0, 137, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runInit(t, func(p *os.Process, dir string) {
				if tc.send != 0 {
					waitReady(t, dir)
					_ = p.Signal(tc.send)
				}
			}, "sh", "-c", tc.script)
			if r.code != tc.code || r.status.ExitCode != tc.code || r.status.Signal != tc.signal {
				t.Errorf("exit %d, status %+v; want %d signal %d", r.code, r.status, tc.code, tc.signal)
			}
		})
	}
}

// TestMainDrainBounded: a background process holding the output pipe does
// not keep the init alive past -drain.
func TestMainDrainBounded(t *testing.T) {
	r := runInit(t, nil, "sh", "-c", "sleep 1000 & echo bye")
	if r.code != 0 || r.took > 2500*time.Millisecond {
		t.Errorf("exit %d after %v", r.code, r.took)
	}
	if len(r.log) != 1 || r.log[0] != "stdout F bye" {
		t.Errorf("log %q", r.log)
	}
}

func TestMainNoCommand(t *testing.T) {
	r := runInit(t, nil)
	if r.code != 127 || r.status.Reason != pid1.ReasonStartError {
		t.Errorf("exit %d, status %+v", r.code, r.status)
	}
}
