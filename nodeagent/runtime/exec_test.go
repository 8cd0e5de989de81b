package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/runtime"
)

func TestExec(t *testing.T) {
	e := newEnv(t)
	s := e.spec("exec", "sleep", "999")
	s.Env = append(s.Env, "FROM_SPEC=yes")
	s.WorkingDir = "/tmp"
	e.start(t, s)

	tests := []struct {
		name   string
		spec   runtime.ExecSpec
		code   int
		stdout string
		stderr string
	}{
		{name: "exit-code", spec: runtime.ExecSpec{Args: []string{"sh", "-c", "exit 7"}}, code: 7},
		{name: "stdin-stdout", spec: runtime.ExecSpec{Args: []string{"sh", "-c", "cat; echo done >&2"}, Stdin: strings.NewReader("hello\nworld\n")},
			stdout: "hello\nworld\n", stderr: "done\n"},
		{name: "container-env-and-cwd", spec: runtime.ExecSpec{Args: []string{"sh", "-c", "echo $FROM_SPEC $(pwd)"}}, stdout: "yes /tmp\n"},
		{name: "own-env-and-cwd", spec: runtime.ExecSpec{Args: []string{"sh", "-c", "echo $X $FROM_SPEC $(pwd)"}, Env: []string{"X=1"}, WorkingDir: "/etc"},
			stdout: "1 /etc\n"},
		{name: "user", spec: runtime.ExecSpec{Args: []string{"id", "-u"}, User: &runtime.User{UID: 1000, GID: 1000}}, stdout: "1000\n"},
		{name: "killed", spec: runtime.ExecSpec{Args: []string{"sh", "-c", "kill -9 $$"}}, code: 137},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			tc.spec.Stdout, tc.spec.Stderr = &stdout, &stderr
			code, err := e.rt.Exec(context.Background(), s.ID, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || stdout.String() != tc.stdout || stderr.String() != tc.stderr {
				t.Errorf("Exec = %d, stdout %q, stderr %q; want %d, %q, %q", code, stdout.String(), stderr.String(), tc.code, tc.stdout, tc.stderr)
			}
		})
	}

	t.Run("not-found", func(t *testing.T) {
		t.Parallel()
		for _, cmd := range []string{"no-such-cmd", "/no/such/cmd"} {
			code, err := e.rt.Exec(context.Background(), s.ID, runtime.ExecSpec{Args: []string{cmd}})
			if !errors.Is(err, runtime.ErrCommandNotFound) || code != 127 {
				t.Errorf("Exec of missing %s: %d, %v; want 127, ErrCommandNotFound", cmd, code, err)
			}
		}
		_, err := e.rt.Exec(context.Background(), s.ID, runtime.ExecSpec{Args: []string{"true"}, WorkingDir: "/no/such/dir"})
		if err == nil || errors.Is(err, runtime.ErrCommandNotFound) {
			t.Errorf("Exec in a missing working dir: %v, want an error other than ErrCommandNotFound", err)
		}
	})

	t.Run("file-stdio", func(t *testing.T) {
		t.Parallel()
		f, err := os.CreateTemp(t.TempDir(), "out")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		code, err := e.rt.Exec(context.Background(), s.ID, runtime.ExecSpec{Args: []string{"echo", "to-file"}, Stdout: f})
		if err != nil || code != 0 {
			t.Fatalf("Exec = %d, %v", code, err)
		}
		if b, _ := os.ReadFile(f.Name()); string(b) != "to-file\n" {
			t.Errorf("file has %q", b)
		}
	})

	t.Run("cancel-kills", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		out := &notifyWriter{want: "started", seen: make(chan struct{})}
		go func() {
			<-out.seen
			cancel()
		}()
		begin := time.Now()
		code, err := e.rt.Exec(ctx, s.ID, runtime.ExecSpec{Args: []string{"sh", "-c", "echo started; exec sleep 1000"}, Stdout: out})
		if !errors.Is(err, context.Canceled) || code != 137 {
			t.Fatalf("cancelled Exec = %d, %v; want 137, context.Canceled", code, err)
		}
		if took := time.Since(begin); took > 10*time.Second {
			t.Errorf("cancelled Exec returned after %v", took)
		}
		_, ps := e.exec(t, s.ID, "ps", "-o", "args")
		if strings.Contains(ps, "sleep 1000") {
			t.Errorf("the exec'd process survived the cancel:\n%s", ps)
		}
	})

	t.Run("tty", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		code, err := e.rt.Exec(context.Background(), s.ID, runtime.ExecSpec{
			Args: []string{"sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo is-a-tty; stty size"}, TTY: true,
			Size: runtime.TermSize{Width: 91, Height: 33}, Stdout: &out,
		})
		if err != nil || code != 0 {
			t.Fatalf("Exec = %d, %v", code, err)
		}
		text := strings.ReplaceAll(out.String(), "\r", "")
		if !regexp.MustCompile(`(?m)^/dev/pts/\d+$`).MatchString(text) || !strings.Contains(text, "is-a-tty\n") || !strings.Contains(text, "33 91\n") {
			t.Errorf("tty output %q, want /dev/pts/N, is-a-tty and size 33 91", text)
		}
	})

	t.Run("tty-resize", func(t *testing.T) {
		t.Parallel()
		stdinR, stdinW := io.Pipe()
		defer stdinW.Close()
		out := &syncBuffer{}
		resize := make(chan runtime.TermSize, 1)
		type result struct {
			code int
			err  error
		}
		done := make(chan result, 1)
		go func() {
			code, err := e.rt.Exec(context.Background(), s.ID, runtime.ExecSpec{
				Args: []string{"sh"}, TTY: true, Size: runtime.TermSize{Width: 80, Height: 24},
				Stdin: stdinR, Stdout: out, Resize: resize,
			})
			done <- result{code, err}
		}()
		ask := func() { _, _ = io.WriteString(stdinW, "stty size\n") }
		ask()
		waitFor(t, 10*time.Second, "stty size 24 80", func() bool { return strings.Contains(out.String(), "24 80") })
		resize <- runtime.TermSize{Width: 120, Height: 40}
		waitFor(t, 10*time.Second, "stty size 40 120 after resize", func() bool {
			ask()
			return strings.Contains(out.String(), "40 120")
		})
		_, _ = io.WriteString(stdinW, "exit 3\n")
		select {
		case r := <-done:
			if r.err != nil || r.code != 3 {
				t.Errorf("interactive Exec = %d, %v; want 3", r.code, r.err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("interactive Exec did not return after exit")
		}
	})
}

// TestZombiesReaped: processes orphaned by exec sessions are re-parented to
// the container's init, which reaps them when they exit.
func TestZombiesReaped(t *testing.T) {
	e := newEnv(t)
	s := e.spec("zombies", "sleep", "999")
	s.Resources.PidsLimit = 64
	st := e.start(t, s)
	// Each session leaves 10 short-lived orphans; 10 sessions would exhaust
	// pids.max=64 if nobody reaped them.
	for i := range 10 {
		code, out := e.exec(t, s.ID, "sh", "-c", "for i in 0 1 2 3 4 5 6 7 8 9; do sleep 0.0$i & done; exit 0")
		if code != 0 {
			t.Fatalf("session %d: exit %d: %s", i, code, out)
		}
	}
	// In the end the init has one child again (the command) and no zombie
	// anywhere in the container.
	waitFor(t, 20*time.Second, "the orphans to be reaped", func() bool {
		kids := children(st.Pid)
		if len(kids) != 1 {
			return false
		}
		for _, pid := range containerPids(t, e.cfg.CgroupParent, s.ID) {
			if procState(pid) == "Z" {
				return false
			}
		}
		return true
	})
}

// children lists the host pids of pid's children (of all its threads: the
// children file is per thread).
func children(pid int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(f)
			out = append(out, n)
		}
	}
	return out
}

// containerPids lists the pids in the container's pids cgroup.
func containerPids(t testing.TB, parent, id string) []int {
	b, err := os.ReadFile("/sys/fs/cgroup/pids" + parent + "/" + id + "/cgroup.procs")
	if err != nil {
		t.Fatalf("container cgroup: %v", err)
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, _ := strconv.Atoi(f)
		out = append(out, n)
	}
	return out
}

// procState is the one-letter state of a process ("" when gone).
func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+3 > len(s) {
		return ""
	}
	return s[i+2 : i+3]
}

// notifyWriter closes seen once want has been written.
type notifyWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
