package gitsource

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/testenv"
)

const podWeb = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: app
    image: busybox:1.36
`

const podAPI = `apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  containers:
  - name: app
    image: busybox:1.36
`

// podBroken has an unknown field on line 4.
const podBroken = `apiVersion: v1
kind: Pod
metadata:
  lables: {a: b}
  name: web
spec:
  containers:
  - name: app
    image: busybox:1.36
`

// rig is a bare repository served over smart HTTP on loopback and a
// working copy that commits and pushes to it with the git CLI, like a user.
type rig struct {
	t      *testing.T
	srv    *testenv.GitServer
	url    string // clone URL, without credentials
	work   string
	home   string
	commit int // number of commits made, for distinct dates
}

var baseDate = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newRig(t *testing.T, user, password string) *rig {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not installed")
	}
	root := t.TempDir()
	if _, err := testenv.InitBareRepo(root, "site.git"); err != nil {
		t.Fatal(err)
	}
	srv, err := testenv.StartGitServer("127.0.0.1:0", root, user, password)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { srv.Close() })
	r := &rig{t: t, srv: srv, url: srv.URL("site.git"), work: t.TempDir(), home: t.TempDir()}
	push := r.url
	if user != "" {
		u, _ := url.Parse(r.url)
		u.User = url.UserPassword(user, password)
		push = u.String()
	}
	r.git("init", "-q", "-b", "main", ".")
	r.git("remote", "add", "origin", push)
	return r
}

// git runs the git CLI in the working copy with a clean environment.
func (r *rig) git(args ...string) string {
	r.t.Helper()
	return r.gitEnv(nil, args...)
}

func (r *rig) gitEnv(env []string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.work
	cmd.Env = append([]string{
		"HOME=" + r.home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "PATH=" + os.Getenv("PATH"),
		"GIT_AUTHOR_NAME=Test User", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test User", "GIT_COMMITTER_EMAIL=test@example.com",
	}, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// change describes one commit: files to write (an empty content deletes
// the file), the message and, optionally, the author "Name <email>".
type change struct {
	files   map[string]string
	message string
	author  string
}

// push commits c, pushes it to main and returns the commit hash and the
// author date used.
func (r *rig) push(c change) (string, time.Time) {
	r.t.Helper()
	for name, content := range c.files {
		p := filepath.Join(r.work, filepath.FromSlash(name))
		if content == "" {
			if err := os.Remove(p); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.commit++
	date := baseDate.Add(time.Duration(r.commit) * time.Minute)
	stamp := date.Format(time.RFC3339)
	env := []string{"GIT_AUTHOR_DATE=" + stamp, "GIT_COMMITTER_DATE=" + stamp}
	r.git("add", "-A")
	args := []string{"commit", "-q", "--allow-empty", "-m", c.message}
	if c.author != "" {
		args = append(args, "--author", c.author)
	}
	r.gitEnv(env, args...)
	r.git("push", "-q", "origin", "main")
	return r.git("rev-parse", "HEAD"), date
}

// config returns a test Config for the rig's repository.
func (r *rig) config(t *testing.T) Config {
	cfg := DefaultConfig(r.url)
	cfg.CacheDir = t.TempDir()
	cfg.PollInterval = 50 * time.Millisecond
	cfg.MaxBackoff = 200 * time.Millisecond
	cfg.Timeout = 20 * time.Second
	cfg.Logger = testLogger(t)
	return cfg
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func mustNew(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// keys lists a Set's objects by Key.String(), sorted.
func keys(set *manifests.Set) []string {
	var out []string
	for _, o := range set.All() {
		out = append(out, o.Key.String())
	}
	return out
}
