package gitvolume

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/shoal-run/shoal/testenv"
	corev1 "k8s.io/api/core/v1"
)

// makeRepo makes a real Git repository with two commits and returns its
// path and the first commit's hash.
func makeRepo(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	var first string
	for i, content := range []string{"version one\n", "version two\n"} {
		if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add("index.html"); err != nil {
			t.Fatal(err)
		}
		h, err := wt.Commit("commit", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.test", When: time.Unix(int64(1e9+i), 0)}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = h.String()
		}
	}
	return dir, first
}

func TestClone(t *testing.T) {
	repo, first := makeRepo(t)
	tests := []struct {
		name string
		src  corev1.GitRepoVolumeSource
		file string
		want string
	}{
		{"default branch into the volume", corev1.GitRepoVolumeSource{Repository: repo}, "index.html", "version two\n"},
		{"a revision", corev1.GitRepoVolumeSource{Repository: repo, Revision: first}, "index.html", "version one\n"},
		{"into a directory", corev1.GitRepoVolumeSource{Repository: repo, Directory: "site"}, "site/index.html", "version two\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := t.TempDir()
			if err := Clone(context.Background(), &tt.src, vol, nil); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(vol, tt.file))
			if err != nil || string(data) != tt.want {
				t.Errorf("%s = %q, %v; want %q", tt.file, data, err, tt.want)
			}
			// A second call (agent restart) keeps the checkout.
			if err := Clone(context.Background(), &tt.src, vol, nil); err != nil {
				t.Errorf("second clone: %v", err)
			}
		})
	}
}

func TestCloneErrors(t *testing.T) {
	repo, _ := makeRepo(t)
	tests := []struct {
		name string
		src  corev1.GitRepoVolumeSource
		want string
	}{
		{"missing repository", corev1.GitRepoVolumeSource{Repository: filepath.Join(t.TempDir(), "nope")}, "gitRepo: clone "},
		{"bad revision", corev1.GitRepoVolumeSource{Repository: repo, Revision: "no-such-branch"}, `gitRepo: revision "no-such-branch" of `},
		{"escaping directory", corev1.GitRepoVolumeSource{Repository: repo, Directory: "../x"}, `gitRepo: directory "../x" must be a relative path inside the volume`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vol := t.TempDir()
			err := Clone(context.Background(), &tt.src, vol, nil)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want prefix %q", err, tt.want)
			}
			entries, _ := os.ReadDir(vol)
			if len(entries) != 0 {
				t.Errorf("a failed clone left %d entries", len(entries))
			}
		})
	}
}

func TestSyncFollowsTheBranch(t *testing.T) {
	repo, _ := makeRepo(t)
	vol := t.TempDir()
	src := &corev1.GitRepoVolumeSource{Repository: repo}
	if err := Clone(context.Background(), src, vol, nil); err != nil {
		t.Fatal(err)
	}
	if changed, err := Sync(context.Background(), src, vol, nil); err != nil || changed {
		t.Fatalf("sync without news: %v %v", changed, err)
	}
	r, _ := git.PlainOpen(repo)
	wt, _ := r.Worktree()
	os.WriteFile(filepath.Join(repo, "index.html"), []byte("version three\n"), 0o644)
	wt.Add("index.html")
	if _, err := wt.Commit("three", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.test", When: time.Unix(2e9, 0)}}); err != nil {
		t.Fatal(err)
	}
	if changed, err := Sync(context.Background(), src, vol, nil); err != nil || !changed {
		t.Fatalf("sync after a commit: %v %v", changed, err)
	}
	if data, _ := os.ReadFile(filepath.Join(vol, "index.html")); string(data) != "version three\n" {
		t.Errorf("checkout = %q", data)
	}
}

func TestParseSync(t *testing.T) {
	got, err := ParseSync("site=30s, docs=1m")
	if err != nil || got["site"] != 30*time.Second || got["docs"] != time.Minute {
		t.Errorf("ParseSync = %v, %v", got, err)
	}
	for _, bad := range []string{"site", "site=fast", "site=10ms", "=30s"} {
		if _, err := ParseSync(bad); err == nil || !strings.Contains(err.Error(), "use VOLUME=INTERVAL") {
			t.Errorf("ParseSync(%q) = %v", bad, err)
		}
	}
}

// TestCloneWithCredentials clones over Git's smart HTTP protocol from a
// server that demands a password, with a basic-auth Secret.
func TestCloneWithCredentials(t *testing.T) {
	if _, err := os.Stat(testenv.GitHTTPBackend); err != nil {
		t.Skip("git-http-backend missing (Debian's git package)")
	}
	root := t.TempDir()
	bare, err := testenv.InitBareRepo(root, "site.git")
	if err != nil {
		t.Fatal(err)
	}
	work, _ := makeRepo(t)
	if out, err := exec.Command("git", "-C", work, "push", bare, "HEAD:refs/heads/main").CombinedOutput(); err != nil {
		t.Fatalf("push: %v %s", err, out)
	}
	srv, err := testenv.StartGitServer("127.0.0.1:0", root, "alice", "wonderland")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	src := &corev1.GitRepoVolumeSource{Repository: srv.URL("site.git")}
	if err := Clone(context.Background(), src, t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "authentication required") {
		t.Errorf("clone without credentials: %v", err)
	}
	secret := &corev1.Secret{Type: corev1.SecretTypeBasicAuth, Data: map[string][]byte{"username": []byte("alice"), "password": []byte("wonderland")}}
	auth, err := AuthFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	vol := t.TempDir()
	if err := Clone(context.Background(), src, vol, auth); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(vol, "index.html")); string(data) != "version two\n" {
		t.Errorf("checkout = %q", data)
	}
}

func TestAuthFromSecretErrors(t *testing.T) {
	tests := []struct {
		s    corev1.Secret
		want string
	}{
		{corev1.Secret{Type: corev1.SecretTypeOpaque}, `Git credentials need type kubernetes.io/basic-auth or kubernetes.io/ssh-auth`},
		{corev1.Secret{Type: corev1.SecretTypeSSHAuth, Data: map[string][]byte{"ssh-privatekey": []byte("junk")}}, "ssh-privatekey: "},
	}
	for _, tt := range tests {
		if _, err := AuthFromSecret(&tt.s); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("AuthFromSecret(%s) = %v, want %q", tt.s.Type, err, tt.want)
		}
	}
}
