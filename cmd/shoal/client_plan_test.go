package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/reconciler"
	"github.com/shoal-run/shoal/reconciler/gitsource"
	"github.com/shoal-run/shoal/reconciler/plan"
)

// featurePlan is a plan with every kind of change.
func featurePlan() plan.Result {
	objs := []plan.ObjectChange{
		{Kind: "ConfigMap", Namespace: "default", Name: "extra", Op: plan.Add, File: "extra.yaml", Line: 1},
		{Kind: "ConfigMap", Namespace: "default", Name: "old", Op: plan.Remove, File: "old.yaml", Line: 1},
		{Kind: "Deployment", Namespace: "default", Name: "web", Op: plan.Change, File: "web.yaml", Line: 1, Fields: []plan.FieldChange{
			{Path: "spec.replicas", Op: plan.Change, Old: json.RawMessage(`2`), New: json.RawMessage(`3`)},
			{Path: "spec.template.spec.containers[0].image", Op: plan.Change, Old: json.RawMessage(`"nginx:1.25"`), New: json.RawMessage(`"nginx:1.27"`)},
			{Path: "spec.template.spec.containers[0].args", Op: plan.Change, Old: json.RawMessage(`["a"]`), New: json.RawMessage(`["a","b c"]`)},
			{Path: "spec.template.spec.containers", Op: plan.Change, Old: json.RawMessage(`["web","log"]`), New: json.RawMessage(`["log","web"]`), Note: plan.NoteOrder},
			{Path: `metadata.labels["app.kubernetes.io/name"]`, Op: plan.Add, New: json.RawMessage(`"web"`)},
			{Path: "metadata.annotations.note", Op: plan.Remove, Old: json.RawMessage(`"a long note, ` + strings.Repeat("x", 120) + `"`)},
		}},
		{Kind: "Secret", Namespace: "default", Name: "db", Op: plan.Change, File: "db.yaml", Line: 4, Fields: []plan.FieldChange{
			{Path: "data.password", Op: plan.Change, Redacted: true},
		}},
		{Kind: "StorageClass", Name: "fast", Op: plan.Remove, File: "sc.yaml", Line: 1,
			Note: `kept running as last applied: it opts out of pruning (shoal.run/prune: "false"); shoal delete storageclass fast removes it`},
	}
	pods := plan.Pods{
		Start: []plan.PodChange{{Namespace: "default", Name: "extra-x", Node: "node2"}},
		Stop:  []plan.PodChange{{Namespace: "default", Name: "old-y", Node: "node1", Owner: "Job/old"}},
		Replace: []plan.PodChange{
			{Namespace: "default", Name: "agent-q1", Node: "node1", Owner: "DaemonSet/agent", Replaces: "agent-q1", OldNode: "node1"},
			{Namespace: "default", Name: "web-h2-a", Node: "node1", Owner: "Deployment/web", Replaces: "web-h1-a", OldNode: "node1"},
			{Namespace: "default", Name: "web-h2-b", Node: "node3", Owner: "Deployment/web", Replaces: "web-h1-b", OldNode: "node2"},
		},
		Pending: []plan.PodChange{{Namespace: "default", Name: "huge", Message: "0/3 nodes are available: 3 Insufficient memory."}},
	}
	return plan.Result{
		Ref:      "feature",
		Proposed: plan.Commit{Ref: "refs/heads/feature", Commit: "1a2b3c4d5e6f7a8b9c0d", Message: "bump web"},
		Current:  plan.Commit{Ref: "refs/heads/main", Commit: "9f8e7d6c5b4a3f2e1d0c", Message: "web"},
		Objects:  objs, Pods: pods, Settled: true, Summary: plan.Summarize(objs, pods),
	}
}

// fakePlanner serves the plan route: "feature" has changes, "same" none,
// "long" did not settle, "broken" does not load; it records the requests.
func fakePlanner(t *testing.T) (*httptest.Server, *[]string) {
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref := r.URL.Query().Get("ref")
		calls = append(calls, r.Method+" "+r.URL.Path+" "+ref+" "+r.Header.Get("Authorization"))
		var res plan.Result
		switch ref {
		case "feature":
			res = featurePlan()
		case "same":
			res = plan.Result{Ref: ref, Proposed: plan.Commit{Ref: ref, Commit: ref}, Current: plan.Commit{Ref: "refs/heads/main", Commit: "9f8e7d6c5b4a3f2e1d0c"},
				Objects: []plan.ObjectChange{}, Settled: true}
		case "long":
			res = featurePlan()
			res.Objects, res.Pods.Stop, res.Pods.Replace, res.Pods.Pending = nil, nil, nil, nil
			res.Settled, res.Summary = false, plan.Summarize(nil, res.Pods)
		case "broken":
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"message":"commit 1a2b3c4d5e6f on refs/heads/broken: manifests under \".\" do not load (1 errors):\n  web.yaml:3: Deployment/web: error: unknown field \"metadata.lables\"","reason":"BadRequest","code":400}`))
			return
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message":"git ls-remote http://git/repo.git: \"` + ref + `\": no such ref or commit on the remote","reason":"NotFound","code":404}`))
			return
		}
		json.NewEncoder(w).Encode(res)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestPlanVerb(t *testing.T) {
	srv, calls := fakePlanner(t)
	t.Setenv("SHOAL_TOKEN", "tok")
	out, errOut, code := run(t, "plan", "--ref", "feature", "--server", srv.URL)
	want := `Plan of refs/heads/feature (1a2b3c4d5e6f "bump web") against refs/heads/main (9f8e7d6c5b4a "web")

  + ConfigMap default/extra  (extra.yaml:1)
  - ConfigMap default/old  (old.yaml:1)
  ~ Deployment default/web  (web.yaml:1)
      ~ spec.replicas: 2 → 3
      ~ spec.template.spec.containers[0].image: nginx:1.25 → nginx:1.27
      ~ spec.template.spec.containers[0].args: ["a"] → ["a","b c"]
      ~ spec.template.spec.containers: order ["web","log"] → ["log","web"]
      + metadata.labels["app.kubernetes.io/name"]: web
      - metadata.annotations.note: "a long note, XXX…
  ~ Secret default/db  (db.yaml:4)
      ~ data.password: (value hidden)
  - StorageClass fast  (sc.yaml:1)
      kept running as last applied: it opts out of pruning (shoal.run/prune: "false"); shoal delete storageclass fast removes it

Pods: 1 to start, 1 to stop, 3 to replace, 1 pending
  + default/extra-x on node2
  - default/old-y on node1  (Job/old)
  ~ default/agent-q1 on node1, spec changed  (DaemonSet/agent)
  ~ default/web-h2-a on node1, replacing web-h1-a  (Deployment/web)
  ~ default/web-h2-b on node3, replacing web-h1-b on node2  (Deployment/web)
  ! default/huge: fits on no node: 0/3 nodes are available: 3 Insufficient memory.

Plan: 1 to add, 2 to change, 2 to remove; pods: 1 to start, 1 to stop, 3 to replace, 1 pending.
`
	want = strings.Replace(want, "XXX", strings.Repeat("x", 85), 1) // cut at 100 characters
	if code != planChanges || out != want {
		t.Errorf("plan feature: exit %d (%s)\n%s\nwant:\n%s", code, errOut, out, want)
	}

	out, _, code = run(t, "plan", "same", "--server", srv.URL)
	if code != planNoChanges || out != "Plan of same against refs/heads/main (9f8e7d6c5b4a)\n\nNo changes: it deploys the same objects and runs the same pods.\n" {
		t.Errorf("plan same: exit %d\n%s", code, out)
	}

	out, _, code = run(t, "plan", "--ref", "long", "--server", srv.URL)
	if code != planChanges || !strings.Contains(out, "\nNote: a rollout was followed as far as the leader simulates and did not end") ||
		!strings.Contains(out, "Pods: 1 to start, 0 to stop, 0 to replace, 0 pending\n  + default/extra-x on node2\n") {
		t.Errorf("plan long: exit %d\n%s", code, out)
	}

	out, _, code = run(t, "plan", "--ref", "feature", "-o", "json", "--server", srv.URL)
	var res plan.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != planChanges || res.Summary.Replace != 3 || !strings.HasPrefix(out, "{\n  \"ref\": \"feature\",") {
		t.Errorf("plan -o json: exit %d, %v\n%s", code, err, out)
	}

	_, errOut, code = run(t, "plan", "--ref", "broken", "--server", srv.URL)
	if code != planFailed || !strings.Contains(errOut, "shoal plan: commit 1a2b3c4d5e6f on refs/heads/broken") || !strings.Contains(errOut, "web.yaml:3: Deployment/web") {
		t.Errorf("plan broken: exit %d: %s", code, errOut)
	}
	_, errOut, code = run(t, "plan", "--ref", "nope", "--server", srv.URL)
	if code != planFailed || !strings.Contains(errOut, `"nope": no such ref or commit on the remote`) {
		t.Errorf("plan nope: exit %d: %s", code, errOut)
	}
	for _, args := range [][]string{{"plan"}, {"plan", "--ref", "a", "b"}, {"plan", "--ref", "feature", "-o", "yaml"}, {"plan", "a", "b"}, {"plan", "--nope"}} {
		if _, errOut, code := run(t, append(args, "--server", srv.URL)...); code != planFailed || !strings.HasPrefix(errOut, "shoal plan: ") {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
	}
	want2 := []string{"POST /api/v1/plan feature Bearer tok", "POST /api/v1/plan same Bearer tok", "POST /api/v1/plan long Bearer tok",
		"POST /api/v1/plan feature Bearer tok", "POST /api/v1/plan broken Bearer tok", "POST /api/v1/plan nope Bearer tok"}
	if strings.Join(*calls, "\n") != strings.Join(want2, "\n") {
		t.Errorf("calls:\n%s", strings.Join(*calls, "\n"))
	}
}

// TestPlanErrorStatus: the leader's plan errors reach the client with
// their status and message.
func TestPlanErrorStatus(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{fmt.Errorf("git ls-remote x: %w", gitsource.ErrRefNotFound), http.StatusNotFound},
		{&gitsource.LoadError{Path: ".", Err: gitsource.ErrPathNotFound}, http.StatusBadRequest},
		{fmt.Errorf(`"a..b": %w`, gitsource.ErrBadRef), http.StatusBadRequest},
		{fmt.Errorf("%w: not yet", reconciler.ErrNotLeading), http.StatusBadRequest},
		{errors.New("disk full"), 0},
	}
	for _, tt := range tests {
		err := planError(tt.err)
		var e *api.Error
		switch {
		case tt.code == 0 && err != tt.err:
			t.Errorf("%v: became %v", tt.err, err)
		case tt.code != 0 && (!errors.As(err, &e) || e.Code != tt.code || e.Message != tt.err.Error()):
			t.Errorf("%v: %#v, want code %d", tt.err, err, tt.code)
		}
	}
}
