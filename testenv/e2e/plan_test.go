package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/reconciler/plan"
	"github.com/shoal-run/shoal/testenv"
)

// planDeployment is a Deployment of two sleeping busybox pods of image.
func planDeployment(image string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: "` + image + `", command: [sleep, "3600"]}
`
}

// runPlan runs the real `shoal plan` against node's API and returns its
// stdout, stderr and exit code.
func runPlan(t *testing.T, c *testenv.Cluster, node string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "shoal"), append(append([]string{"plan"}, args...), "--server", c.APIAddr(node))...)
	cmd.Env = append(os.Environ(), "SHOAL_TOKEN="+c.Token())
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &ee):
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	t.Fatalf("shoal plan: %v", err)
	return "", "", -1
}

// TestPlanABranchOnTheCluster: a branch pushed with git that changes one
// Deployment's image and adds a ConfigMap; `shoal plan --ref` on a node
// that does not lead lists exactly those objects and the Deployment's
// pods replaced, and exits 2; the cluster runs main all along.
func TestPlanABranchOnTheCluster(t *testing.T) {
	c := startRig(t, 2, func(cfg *testenv.Config) { cfg.GitPollInterval = time.Second })
	main := push(t, c, map[string]string{
		"web.yaml": planDeployment("busybox"),
		"cfg.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: \"1\"}\n",
	}, "web and its config")
	webPods := func(ps []corev1.Pod) []string {
		var out []string
		for _, p := range ps {
			if strings.HasPrefix(p.Name, "web-") && p.Status.Phase == corev1.PodRunning {
				out = append(out, p.Name)
			}
		}
		sort.Strings(out)
		return out
	}
	var running []string
	waitFor(t, 90*time.Second, "two web pods running on main", func() bool {
		st := status(t, c, "node2")
		running = webPods(pods(c, t, "node2"))
		return len(running) == 2 && st != nil && st.Sync.Commit == main
	})
	leader := leaderOf(t, c, "node2")
	asked := "node2"
	if leader == "node2" {
		asked = "node1" // ask a node that forwards to the leader
	}

	work := clone(t, c)
	gitCmd(t, work, "checkout", "-q", "-b", "feature")
	for file, content := range map[string]string{
		"web.yaml":   planDeployment("busybox:1.36"),
		"extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\ndata: {b: \"2\"}\n",
	} {
		if err := os.WriteFile(filepath.Join(work, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitCmd(t, work, "add", "-A")
	gitCmd(t, work, "commit", "-q", "-m", "web on busybox:1.36, extra config")
	gitCmd(t, work, "push", "-q", "origin", "feature")

	out, errOut, code := runPlan(t, c, asked, "--ref", "feature")
	if code != 2 {
		t.Fatalf("shoal plan --ref feature: exit %d, want 2\n%s\n%s", code, out, errOut)
	}
	// The object lines, exactly.
	var objects []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "  + ") || strings.HasPrefix(line, "  ~ ") || strings.HasPrefix(line, "  - ") || strings.HasPrefix(line, "      ") {
			if strings.Contains(line, "default/web-") {
				continue // a pod line
			}
			objects = append(objects, line)
		}
	}
	want := []string{
		"  + ConfigMap default/extra  (extra.yaml:1)",
		"  ~ Deployment default/web  (web.yaml:1)",
		"      ~ spec.template.spec.containers[0].image: busybox → busybox:1.36",
		// A tagged image defaults to IfNotPresent, an untagged one to Always.
		"      ~ spec.template.spec.containers[0].imagePullPolicy: Always → IfNotPresent",
	}
	if strings.Join(objects, "\n") != strings.Join(want, "\n") {
		t.Errorf("object lines:\n%s\nwant:\n%s\nin:\n%s", strings.Join(objects, "\n"), strings.Join(want, "\n"), out)
	}
	if !strings.Contains(out, "Pods: 0 to start, 0 to stop, 2 to replace, 0 pending") ||
		!strings.Contains(out, "Plan: 1 to add, 1 to change, 0 to remove; pods: 0 to start, 0 to stop, 2 to replace, 0 pending.") {
		t.Errorf("pods and summary:\n%s", out)
	}

	// The same as JSON: the pods replaced are those running now.
	out, _, code = runPlan(t, c, asked, "--ref", "refs/heads/feature", "-o", "json")
	var res plan.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 2 {
		t.Fatalf("-o json: exit %d, %v\n%s", code, err, out)
	}
	var replaced []string
	for _, p := range res.Pods.Replace {
		replaced = append(replaced, p.Replaces)
	}
	sort.Strings(replaced)
	if strings.Join(replaced, ",") != strings.Join(running, ",") || res.Current.Commit != main || !res.Settled {
		t.Errorf("replaced %v, want %v; against %s (main %s); settled %v", replaced, running, res.Current.Commit, main, res.Settled)
	}

	// main itself: nothing to change, exit 0; a ref that does not exist:
	// exit 1 with the reason.
	if out, _, code := runPlan(t, c, asked, "--ref", "main"); code != 0 || !strings.Contains(out, "No changes") {
		t.Errorf("plan main: exit %d\n%s", code, out)
	}
	if _, errOut, code := runPlan(t, c, asked, "--ref", "no-such-branch"); code != 1 || !strings.Contains(errOut, "no such ref or commit on the remote") {
		t.Errorf("plan of a missing ref: exit %d: %s", code, errOut)
	}

	// Planning changed nothing: main's pods run on, main is in force.
	time.Sleep(2 * time.Second)
	if got := webPods(mustPods(c, t, "node1")); strings.Join(got, ",") != strings.Join(running, ",") {
		t.Errorf("after planning, web runs %v, was %v", got, running)
	}
	if st := mustStatus(t, c, "node1"); st.Sync.Commit != main {
		t.Errorf("after planning, the commit in force is %s, want main's %s", st.Sync.Commit, main)
	}
}
