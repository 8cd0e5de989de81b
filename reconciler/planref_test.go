package reconciler

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/reconciler/gitsource"
)

// webDeployment is a Deployment of two replicas running image.
func webDeployment(image string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: "` + image + `"}]}
`
}

// branch commits files (name -> content) on a new branch from main,
// pushes it to ref and goes back to main; it returns the commit.
func (r *gitRepo) branch(name, ref string, files map[string]string) string {
	r.t.Helper()
	r.git("checkout", "-q", "-b", name, "main")
	for file, content := range files {
		if err := os.WriteFile(filepath.Join(r.work, file), []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("commit", "-q", "-m", "change on "+name)
	r.git("push", "-q", "origin", "HEAD:"+ref)
	commit := r.git("rev-parse", "HEAD")
	r.git("checkout", "-q", "main")
	return commit
}

// TestLeaderPlansABranch: over real gossip, transport and Git, the leader
// plans a branch that changes one Deployment's image and adds a
// ConfigMap: exactly those objects, the Deployment's pods replaced, and
// nothing changes on the cluster; refs that do not exist or do not load
// are clear errors.
func TestLeaderPlansABranch(t *testing.T) {
	repo := newGitRepo(t)
	repo.push("cfg.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: \"1\"}\n", "config")
	main := repo.push("web.yaml", webDeployment("nginx:1.25"), "web")
	a := startMember(t, "a", time.Now(), "", repo.url, nil)
	webPods := func() []string {
		var out []string
		for _, p := range a.pods() {
			if strings.HasPrefix(p, "web-") {
				out = append(out, p)
			}
		}
		sort.Strings(out)
		return out
	}
	waitFor(t, 15*time.Second, "two web pods", func() bool {
		return len(webPods()) == 2 && a.rec.View().Revision.Commit == main
	})
	before := webPods()

	feature := repo.branch("feature", "refs/heads/feature", map[string]string{
		"web.yaml":   webDeployment("nginx:1.27"),
		"extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {b: \"2\"}\n",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := a.rec.Plan(ctx, "feature")
	if err != nil {
		t.Fatal(err)
	}
	var objs []string
	for _, o := range res.Objects {
		line := string(o.Op) + " " + o.Key().String()
		for _, f := range o.Fields {
			line += " | " + f.Path + ": " + string(f.Old) + " -> " + string(f.New)
		}
		objs = append(objs, line)
	}
	want := []string{
		"add ConfigMap/default/extra",
		`change Deployment/default/web | spec.template.spec.containers[0].image: "nginx:1.25" -> "nginx:1.27"`,
	}
	if strings.Join(objs, "\n") != strings.Join(want, "\n") {
		t.Errorf("objects:\n%s\nwant:\n%s", strings.Join(objs, "\n"), strings.Join(want, "\n"))
	}
	if res.Proposed.Commit != feature || res.Proposed.Ref != "refs/heads/feature" || res.Current.Commit != main || res.Ref != "feature" {
		t.Errorf("commits: %+v against %+v", res.Proposed, res.Current)
	}
	var replaced []string
	for _, p := range res.Pods.Replace {
		if p.Owner != "Deployment/web" || !strings.HasPrefix(p.Name, "web-") || p.Name == p.Replaces || p.Node != "a" {
			t.Errorf("replacement %+v", p)
		}
		replaced = append(replaced, p.Replaces)
	}
	sort.Strings(replaced)
	if !res.Settled || len(res.Pods.Start)+len(res.Pods.Stop)+len(res.Pods.Pending) != 0 || strings.Join(replaced, ",") != strings.Join(before, ",") {
		t.Errorf("pods: settled %v, %+v; want %v replaced", res.Settled, res.Pods, before)
	}

	// Planning changed nothing: same commit, same pods, no new record.
	time.Sleep(300 * time.Millisecond) // a few steps
	if got := webPods(); strings.Join(got, ",") != strings.Join(before, ",") || a.rec.View().Revision.Commit != main {
		t.Errorf("after the plan: pods %v (were %v), commit %s", got, before, a.rec.View().Revision.Short())
	}
	if s := Syncs(a.cluster.Ledger()); len(s) != 1 || s[0].Ref != "refs/heads/main" || s[0].Commit != main {
		t.Errorf("sync records after the plan: %+v", s)
	}

	// The commit in force, by hash: no change.
	same, err := a.rec.Plan(ctx, main[:8])
	if err != nil || same.Changed() {
		t.Errorf("planning main's commit: %v, %+v", err, same)
	}

	// A pull request's ref that does not load: its file and line.
	repo.branch("broken", "refs/pull/7/head", map[string]string{"web.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, lables: {}}\n"})
	_, err = a.rec.Plan(ctx, "refs/pull/7/head")
	var le *gitsource.LoadError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "web.yaml:3") || !strings.Contains(err.Error(), "refs/pull/7/head") {
		t.Errorf("planning a ref that does not load: %v", err)
	}
	if _, err := a.rec.Plan(ctx, "no-such-branch"); !errors.Is(err, gitsource.ErrRefNotFound) {
		t.Errorf("planning a ref that does not exist: %v", err)
	}
}
