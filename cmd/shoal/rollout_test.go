package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

func TestRolloutVerbs(t *testing.T) {
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := repo.Worktree()
	os.MkdirAll(filepath.Join(dir, "apps"), 0o755)
	for i, image := range []string{"app:1", "app:2"} {
		y := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: \"" + image + "\"}]}\n"
		os.WriteFile(filepath.Join(dir, "apps", "web.yaml"), []byte(y), 0o644)
		wt.Add("apps/web.yaml")
		sig := &object.Signature{Name: "Dev", Email: "dev@example.test", When: time.Date(2026, 11, 2, 9, i, 0, 0, time.UTC)}
		wt.Commit("ship "+image, &git.CommitOptions{Author: sig, Committer: sig})
	}
	common := []string{"-n", "shop", "--repo-dir", dir, "--path", "apps"}
	out, errOut, code := run(t, append([]string{"rollout", "history", "deploy/web"}, common...)...)
	if code != 0 || !strings.Contains(out, "ship app:1") || !strings.Contains(out, "ship app:2") ||
		!strings.Contains(out, "REVISION") || !strings.Contains(out, "2026-11-02 09:01") {
		t.Fatalf("history (code %d):\n%s%s", code, out, errOut)
	}
	if _, errOut, code = run(t, append([]string{"rollout", "history", "service/web"}, common...)...); code == 0 || !strings.Contains(errOut, "only Deployments") {
		t.Fatalf("history of a service: %d %s", code, errOut)
	}
	out, errOut, code = run(t, append([]string{"rollout", "undo", "deployment/web"}, common...)...)
	if code != 0 || !strings.Contains(out, "rolled back to revision 1") || !strings.Contains(out, "git push") {
		t.Fatalf("undo (code %d): %s%s", code, out, errOut)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "apps", "web.yaml"))
	if !strings.Contains(string(data), "app:1") {
		t.Fatalf("after undo:\n%s", data)
	}
	if out, errOut, code = run(t, append([]string{"rollout", "pause", "deploy/web"}, common...)...); code != 0 || !strings.Contains(out, "paused in commit") {
		t.Fatalf("pause (code %d): %s%s", code, out, errOut)
	}
	if out, errOut, code = run(t, append([]string{"rollout", "resume", "deploy/web"}, common...)...); code != 0 || !strings.Contains(out, "resumed in commit") {
		t.Fatalf("resume (code %d): %s%s", code, out, errOut)
	}
	if _, errOut, code = run(t, "rollout", "history", "deploy/web", "--repo-dir", t.TempDir()); code == 0 || !strings.Contains(errOut, "not in a Git clone") {
		t.Fatalf("outside a clone: %d %s", code, errOut)
	}
}
