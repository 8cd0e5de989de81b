package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/testenv"
)

// git runs the git command line as a user would.
func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@example.test", "GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@example.test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestGitDesiredSource: `shoal up --repo` follows a real repository over
// smart HTTP with a password, and a signed webhook makes it sync at once.
func TestGitDesiredSource(t *testing.T) {
	if _, err := os.Stat(testenv.GitHTTPBackend); err != nil {
		t.Skip("git-http-backend missing (Debian's git package)")
	}
	root := t.TempDir()
	if _, err := testenv.InitBareRepo(root, "deploy.git"); err != nil {
		t.Fatal(err)
	}
	srv, err := testenv.StartGitServer("127.0.0.1:0", root, "ops", "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	work := t.TempDir()
	git(t, work, "init", "-q", "-b", "main")
	os.MkdirAll(filepath.Join(work, "apps"), 0o755)
	pod := func(name string) {
		os.WriteFile(filepath.Join(work, "apps", name+".yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: "+name+"}\nspec:\n  containers: [{name: app, image: busybox}]\n"), 0o644)
		git(t, work, "add", "-A")
		git(t, work, "commit", "-q", "-m", "add "+name)
		git(t, work, "push", "-q", "http://ops:hunter2@"+srv.URL("deploy.git")[len("http://"):], "main")
	}
	pod("one")

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "password"), []byte("hunter2\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "hook"), []byte("s3cret\n"), 0o600)
	cfg := defaultNodeConfig()
	cfg.DataDir, cfg.Repo, cfg.RepoPath = dir, srv.URL("deploy.git"), "apps"
	cfg.RepoUser, cfg.RepoPasswordFile, cfg.WebhookSecretFile = "ops", filepath.Join(dir, "password"), filepath.Join(dir, "hook")
	// Only the webhook may bring the second commit within the test.
	defer func(d time.Duration) { gitPollInterval = d }(gitPollInterval)
	gitPollInterval = time.Hour
	src, hook, err := desiredSource(cfg, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	if hook == nil {
		t.Fatal("no webhook handler despite a secret")
	}
	sets := make(chan *manifests.Set, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go src.Run(ctx, func(s *manifests.Set) { sets <- s })
	next := func() *manifests.Set {
		select {
		case s := <-sets:
			return s
		case <-time.After(20 * time.Second):
			t.Fatal("no desired state")
			return nil
		}
	}
	if s := next(); s.Get("Pod", "default", "one") == nil {
		t.Fatal("first commit not loaded")
	}
	pod("two")
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	rec := httptest.NewRecorder()
	hook.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("webhook answered %d: %s", rec.Code, rec.Body)
	}
	if s := next(); s.Get("Pod", "default", "two") == nil {
		t.Fatal("the pushed commit was not loaded after the webhook")
	}
}
