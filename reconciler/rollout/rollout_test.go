package rollout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/shoal-run/shoal/manifests"
)

func deployYAML(image, comment string) string {
	return `# the web tier` + comment + `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: ` + image + `
`
}

const other = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: "1"}
`

// clone makes a repository whose apps/web.yaml holds a ConfigMap and the
// Deployment, committed once per step.
func clone(t *testing.T, steps []string) (string, *git.Repository) {
	t.Helper()
	dir := t.TempDir()
	r, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, _ := r.Worktree()
	os.MkdirAll(filepath.Join(dir, "apps"), 0o755)
	for i, content := range steps {
		if err := os.WriteFile(filepath.Join(dir, "apps", "web.yaml"), []byte(other+"---\n"+content), 0o644); err != nil {
			t.Fatal(err)
		}
		wt.Add("apps/web.yaml")
		sig := &object.Signature{Name: "Dev", Email: "dev@example.test", When: time.Date(2026, 11, 1, 10, i, 0, 0, time.UTC)}
		if _, err := wt.Commit("step "+string(rune('a'+i)), &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true}); err != nil {
			t.Fatal(err)
		}
	}
	return dir, r
}

func TestHistory(t *testing.T) {
	dir, _ := clone(t, []string{
		deployYAML("app:1", ""),
		deployYAML("app:1", " (a comment changes nothing)"),
		deployYAML("app:2", ""),
		"bogus: [", // a commit that does not load is skipped
		deployYAML("app:1", ""),
	})
	r, err := Open(filepath.Join(dir, "apps"), "apps")
	if err != nil {
		t.Fatal(err)
	}
	revs, err := r.History("default", "web")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, rv := range revs {
		msgs = append(msgs, rv.Message)
	}
	if got := strings.Join(msgs, ","); got != "step a,step c,step e" {
		t.Fatalf("revisions from %q, want step a, c, e", got)
	}
	if revs[2].Number != 3 || revs[0].Hash != revs[2].Hash || revs[1].File != "apps/web.yaml" || revs[0].Author != "Dev <dev@example.test>" {
		t.Fatalf("revisions %+v", revs)
	}
	if _, err := r.History("default", "nope"); err == nil {
		t.Fatal("a deployment that never existed has a history")
	}
}

func TestUndoAndPause(t *testing.T) {
	dir, repo := clone(t, []string{deployYAML("app:1", " v1"), deployYAML("app:2", " v2")})
	r, err := Open(dir, "apps")
	if err != nil {
		t.Fatal(err)
	}
	commit, rev, err := r.Undo("default", "web", 0)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Number != 1 {
		t.Fatalf("undo went to revision %d", rev.Number)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "apps", "web.yaml"))
	if !strings.Contains(string(data), "image: app:1") || !strings.Contains(string(data), "# the web tier v1") ||
		!strings.HasPrefix(string(data), other+"---\n") {
		t.Fatalf("after undo the file is:\n%s", data)
	}
	head, _ := repo.Head()
	if head.Hash().String() != commit {
		t.Fatalf("HEAD %s, undo made %s", head.Hash(), commit)
	}
	c, _ := repo.CommitObject(head.Hash())
	if !strings.HasPrefix(c.Message, "Roll back deployment web to revision 1") {
		t.Fatalf("commit message %q", c.Message)
	}
	revs, _ := r.History("default", "web")
	if len(revs) != 3 || revs[2].Hash != revs[0].Hash {
		t.Fatalf("after undo: %+v", revs)
	}
	if _, _, err := r.Undo("default", "web", 7); err == nil {
		t.Fatal("undo to a revision that does not exist")
	}

	// Pause and resume edit spec.paused, keep the rest and commit.
	if _, err := r.SetPaused("default", "web", true); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(dir, "apps", "web.yaml"))
	set, err := manifests.Read(manifests.Input{FS: os.DirFS(filepath.Join(dir, "apps"))}).Set()
	if err != nil {
		t.Fatalf("the paused manifest does not load: %v\n%s", err, data)
	}
	if set.Len() != 2 || !strings.Contains(string(data), "paused: true") || !strings.Contains(string(data), "# the web tier v1") {
		t.Fatalf("after pause:\n%s", data)
	}
	if _, err := r.SetPaused("default", "web", true); err == nil {
		t.Fatal("pausing a paused deployment made a commit")
	}
	if _, err := r.SetPaused("default", "web", false); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(dir, "apps", "web.yaml"))
	if !strings.Contains(string(data), "paused: false") {
		t.Fatalf("after resume:\n%s", data)
	}
}
