package reconciler

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/policies/admission"
	"github.com/shoal-run/shoal/reconciler/gitsource"
	"github.com/shoal-run/shoal/reconciler/plan"
	"github.com/shoal-run/shoal/reconciler/prune"
	"github.com/shoal-run/shoal/reconciler/replicas"
)

// planApps is a rolling Deployment, a DaemonSet and a bare pod; version
// goes into the Deployment's and the DaemonSet's images, extra is more
// YAML.
func planApps(version, extra string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: "web:%[1]s"}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: "agent:%[1]s"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: bare}
spec: {containers: [{name: c, image: busybox}]}
%[2]s`, version, extra)
}

// emptyInput is a leader's first step over three ready nodes with an
// empty ledger.
func emptyInput(t *testing.T, yaml string) Input {
	return Input{
		Desired:     load(t, yaml),
		Nodes:       []NodeReport{report("n1"), report("n2"), report("n3")},
		Placements:  map[types.NamespacedName]string{},
		PodCIDRs:    map[string]string{},
		ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"),
		Now:         now,
		Owned:       map[types.NamespacedName]replicas.Owned{},
		Seq:         map[string]uint64{},
	}
}

// owners counts a plan's pods by owner (plan.Owner, "bare" for none).
func owners(p Plan) string {
	n := map[string]int{}
	for _, pod := range p.Pods {
		o := plan.Owner(pod)
		if o == "" {
			o = "bare"
		}
		n[o]++
	}
	var out []string
	for o, c := range n {
		out = append(out, fmt.Sprintf("%s=%d", o, c))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestSettleFollowsRolloutsToTheirEnd(t *testing.T) {
	ctx := context.Background()
	in := emptyInput(t, planApps("1", ""))
	first, settledIn, ok := settle(ctx, in)
	if !ok || owners(first) != "DaemonSet/agent=3 Deployment/web=3 bare=1" {
		t.Fatalf("settled %v with %s", ok, owners(first))
	}
	if len(in.Owned) != 0 || len(in.Placements) != 0 {
		t.Fatalf("settle changed its input: %d owned, %d placements", len(in.Owned), len(in.Placements))
	}

	// One step of the new version starts one pod (maxSurge 1) and moves
	// one daemon node; settled, every pod is on the new version.
	next := settledIn
	next.Desired = load(t, planApps("2", ""))
	step := Compute(next)
	if got := images(step, "web:2"); got != 1 {
		t.Fatalf("one step: %d pods of web:2, want 1", got)
	}
	last, _, ok := settle(ctx, next)
	if !ok || images(last, "web:2") != 3 || images(last, "web:1") != 0 || images(last, "agent:2") != 3 {
		t.Fatalf("settled %v: web:2 %d, web:1 %d, agent:2 %d", ok, images(last, "web:2"), images(last, "web:1"), images(last, "agent:2"))
	}
}

func images(p Plan, image string) int {
	n := 0
	for _, pod := range p.Pods {
		if pod.Spec.Containers[0].Image == image {
			n++
		}
	}
	return n
}

func TestPlanAgainst(t *testing.T) {
	ctx := context.Background()
	current := load(t, planApps("1", "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: old}\n"))
	in := emptyInput(t, "")
	in.Desired = current
	_, settledIn, _ := settle(ctx, in)
	base := planBase{in: settledIn, desired: current, rev: gitsource.Revision{Ref: "refs/heads/main", Commit: "aaaa"}}

	huge := `---
apiVersion: v1
kind: Pod
metadata: {name: huge}
spec: {containers: [{name: c, image: busybox, resources: {requests: {memory: 100Gi}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: small}
spec: {containers: [{name: c, image: busybox}]}
`
	rev := gitsource.Revision{Ref: "refs/heads/feature", Commit: "bbbb", Message: "web 2\n\nbody"}
	res := planAgainst(ctx, base, rev, load(t, planApps("2", huge)), nil)
	var objs []string
	for _, o := range res.Objects {
		objs = append(objs, string(o.Op)+" "+o.Kind+"/"+o.Name)
	}
	if got := strings.Join(objs, ", "); got != "remove ConfigMap/old, change DaemonSet/agent, change Deployment/web, add Pod/huge, add Pod/small" {
		t.Errorf("objects: %s", got)
	}
	s := res.Summary
	if !res.Settled || s.Start != 1 || s.Stop != 0 || s.Replace != 6 || s.Pending != 1 || res.Pods.Pending[0].Name != "huge" ||
		!strings.Contains(res.Pods.Pending[0].Message, "Insufficient memory") || res.Pods.Start[0].Name != "small" {
		t.Errorf("pods: settled %v, %+v\n%+v", res.Settled, s, res.Pods)
	}
	for _, r := range res.Pods.Replace {
		switch {
		case r.Owner == "DaemonSet/agent" && r.Replaces == r.Name && r.Node == r.OldNode:
		case r.Owner == "Deployment/web" && r.Replaces != r.Name && strings.HasPrefix(r.Replaces, "web-"):
		default:
			t.Errorf("replacement %+v", r)
		}
	}
	if res.Proposed.Message != "web 2" || res.Current.Commit != "aaaa" {
		t.Errorf("commits %+v %+v", res.Proposed, res.Current)
	}

	// The same commit: no change at all.
	same := planAgainst(ctx, base, gitsource.Revision{Commit: "aaaa"}, current, nil)
	if same.Changed() || !same.Settled || same.Objects == nil {
		t.Errorf("the commit in force planned: %+v", same)
	}
}

func TestPlanAgainstKeepsWhatOptsOutOfPruning(t *testing.T) {
	ctx := context.Background()
	kept := "apiVersion: v1\nkind: Pod\nmetadata: {name: keeper, annotations: {shoal.run/prune: \"false\"}}\nspec: {containers: [{name: c, image: busybox}]}\n"
	current := load(t, kept)
	in := emptyInput(t, kept)
	_, settledIn, _ := settle(ctx, in)
	// The leader has recorded the object that opts out.
	records := prune.Compute(prune.Input{Desired: current, Commit: "aaaa", Now: now}).Put
	base := planBase{in: settledIn, desired: current, kept: records}
	res := planAgainst(ctx, base, gitsource.Revision{}, load(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), nil)
	if len(res.Objects) != 2 || res.Objects[1].Op != plan.Remove || !strings.Contains(res.Objects[1].Note, `kept running as last applied: it opts out of pruning (shoal.run/prune: "false"); shoal delete pod keeper removes it`) {
		t.Fatalf("objects %+v", res.Objects)
	}
	if !res.Pods.Empty() {
		t.Errorf("the kept pod should keep running: %+v", res.Pods)
	}
}

// TestPlanAgainstLeavesOutWhatAdmissionRefuses: an object the proposed
// commit's admission policies refuse is listed with the refusal as its
// note, and its pods are not among those that would start.
func TestPlanAgainstLeavesOutWhatAdmissionRefuses(t *testing.T) {
	ctx := context.Background()
	current := load(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
	in := emptyInput(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
	_, settledIn, _ := settle(ctx, in)
	base := planBase{in: settledIn, desired: current}
	cfg, err := admission.Parse(".shoal/admission.yaml", []byte(`apiVersion: shoal.run/v1alpha1
kind: AdmissionPolicy
policies:
- name: no-host
  namespaceSelector: {}
  rules: {forbidHostPath: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	proposed := load(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {name: host}
spec:
  containers: [{name: c, image: busybox}]
  volumes: [{name: h, hostPath: {path: /etc}}]
---
apiVersion: v1
kind: Pod
metadata: {name: fine}
spec: {containers: [{name: c, image: busybox}]}
`)
	res := planAgainst(ctx, base, gitsource.Revision{}, proposed, cfg)
	var notes []string
	for _, o := range res.Objects {
		notes = append(notes, o.Name+": "+o.Note)
	}
	if len(res.Objects) != 2 || !strings.Contains(strings.Join(notes, "\n"), "host: refused by admission, it would not run: ") {
		t.Fatalf("objects:\n%s", strings.Join(notes, "\n"))
	}
	if len(res.Pods.Start) != 1 || res.Pods.Start[0].Name != "fine" {
		t.Fatalf("pods to start %+v, want fine only", res.Pods.Start)
	}
}
