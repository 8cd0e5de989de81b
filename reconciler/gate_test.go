package reconciler

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/reconciler/cronjobs"
	"github.com/shoal-run/shoal/reconciler/daemons"
	"github.com/shoal-run/shoal/reconciler/deployments"
	"github.com/shoal-run/shoal/reconciler/jobs"
	"github.com/shoal-run/shoal/reconciler/replicas"
)

// newWorld is a leader's state for the objects of yaml on live, ready
// nodes (a and b when none is named), with an empty ledger.
func newWorld(t *testing.T, yaml string, nodes ...string) *memoWorld {
	if len(nodes) == 0 {
		nodes = []string{"a", "b"}
	}
	var reports []NodeReport
	for _, n := range nodes {
		reports = append(reports, report(n))
	}
	return &memoWorld{phases: map[types.NamespacedName]corev1.PodPhase{}, in: Input{
		Desired:        load(t, yaml),
		Nodes:          reports,
		ClusterCIDR:    netip.MustParsePrefix("10.244.0.0/16"),
		PodCIDRs:       map[string]string{},
		Now:            now,
		Placements:     map[types.NamespacedName]string{},
		Owned:          map[types.NamespacedName]replicas.Owned{},
		Seq:            map[string]uint64{},
		DeploymentSets: map[string]map[string]deployments.Set{},
		JobStates:      map[string]jobs.State{},
		CronStates:     map[string]cronjobs.State{},
		DaemonStates:   map[string]daemons.State{},
	}}
}

// step computes with a Memo (checked against a plan without one), records
// the plan and has the nodes report its pods running.
func (w *memoWorld) step(t *testing.T, memo *Memo) Plan {
	t.Helper()
	plain := Compute(w.in)
	in := w.in
	in.Memo = memo
	plan := Compute(in)
	if !reflect.DeepEqual(plain, plan) {
		t.Fatalf("the plan with a Memo differs in %s", planDiff(plain, plan))
	}
	w.record(plan)
	w.in.Now = w.in.Now.Add(time.Second)
	for i := range w.in.Nodes {
		w.in.Nodes[i].LastSeen = w.in.Now
	}
	return plan
}

// nodePods are the pods the plan gives the nodes, by name.
func nodePods(p Plan) map[string]corev1.Pod {
	out := map[string]corev1.Pod{}
	for _, c := range p.Nodes {
		for _, pod := range c.Pods {
			out[pod.Name] = pod
		}
	}
	return out
}

const quotaRepo = `
apiVersion: v1
kind: ResourceQuota
metadata: {name: pods, namespace: shop}
spec:
  hard: {pods: "2", services: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: c, image: busybox}]}
`

// TestQuotaKeepsAControllerFromCreatingPods: a Deployment of 3 replicas
// in a namespace with a quota of 2 pods gets 2; its ReplicaSet reports
// FailedCreate with Kubernetes' message and the ReplicaFailure condition,
// on the Deployment too, and tries the same name again on the next step;
// raising the quota lets the third pod be made. Other namespaces are not
// counted.
func TestQuotaKeepsAControllerFromCreatingPods(t *testing.T) {
	w := newWorld(t, quotaRepo)
	memo := &Memo{}
	plan := w.step(t, memo)

	var rsKey string
	for k := range plan.Deployments.Put["shop/web"] {
		rsKey = "ReplicaSet/shop/web-" + k
	}
	created := map[string]int{}
	for _, o := range plan.Replicas.Create {
		created[o.Owner]++
	}
	if created[rsKey] != 2 || created["ReplicaSet/default/other-"+otherHash(plan)] != 3 {
		t.Fatalf("created %v, want 2 of %s and 3 of other", created, rsKey)
	}
	msg := plan.FailedCreate[rsKey]
	if len(plan.FailedCreate) != 1 || !strings.HasPrefix(msg, `pods "web-`) ||
		!strings.HasSuffix(msg, `" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2`) {
		t.Fatalf("FailedCreate %v", plan.FailedCreate)
	}
	if st := plan.Replicas.Status[rsKey]; st.Replicas != 2 {
		t.Errorf("status %+v, want 2 replicas", st)
	}
	if len(plan.Quotas) != 1 || plan.Quotas[0].Used.Pods().Value() != 2 || len(plan.Quotas[0].Untracked) != 1 {
		t.Errorf("quota usage %+v", plan.Quotas)
	}
	wl := workloads(w.in, plan)
	var rs *appsv1.ReplicaSet
	for i := range wl.ReplicaSets {
		if "ReplicaSet/shop/"+wl.ReplicaSets[i].Name == rsKey {
			rs = &wl.ReplicaSets[i]
		}
	}
	if rs == nil || len(rs.Status.Conditions) != 1 || rs.Status.Conditions[0].Type != appsv1.ReplicaSetReplicaFailure ||
		rs.Status.Conditions[0].Reason != "FailedCreate" || rs.Status.Conditions[0].Message != msg {
		t.Fatalf("ReplicaSet status %+v", rs)
	}
	var dep appsv1.Deployment
	for _, d := range wl.Deployments {
		if d.Name == "web" {
			dep = d
		}
	}
	if !hasDeploymentCondition(&dep, appsv1.DeploymentReplicaFailure) {
		t.Errorf("Deployment conditions %+v lack ReplicaFailure", dep.Status.Conditions)
	}

	// The next steps count the two made first; when no pod of the
	// controller fits, it tries the same name again.
	plan = w.step(t, memo)
	msg = plan.FailedCreate[rsKey]
	if len(plan.Replicas.Create) != 0 || msg == "" {
		t.Fatalf("second step: create %v, FailedCreate %v", plan.Replicas.Create, plan.FailedCreate)
	}
	if _, moved := plan.Replicas.Seq[rsKey]; moved {
		t.Errorf("the name sequence advanced though no pod was made")
	}
	if plan = w.step(t, memo); plan.FailedCreate[rsKey] != msg {
		t.Errorf("third step: FailedCreate %v, want %q again", plan.FailedCreate, msg)
	}

	// A higher quota lets the third pod be made.
	w.in.Desired = load(t, strings.Replace(quotaRepo, `pods: "2"`, `pods: "3"`, 1))
	plan = w.step(t, memo)
	if len(plan.Replicas.Create) != 1 || len(plan.FailedCreate) != 0 {
		t.Fatalf("after raising the quota: create %v, FailedCreate %v", plan.Replicas.Create, plan.FailedCreate)
	}
	if n := len(nodePods(plan)); n != 6 {
		t.Errorf("%d pods on the nodes, want 6", n)
	}
}

// otherHash is the hash of the ReplicaSet of Deployment default/other.
func otherHash(p Plan) string {
	for h := range p.Deployments.Put["default/other"] {
		return h
	}
	return ""
}

const limitRepo = `
apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: shop}
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
    max: {cpu: "1"}
---
apiVersion: v1
kind: Pod
metadata: {name: bare, namespace: shop}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: greedy, namespace: shop}
spec: {containers: [{name: c, image: busybox, resources: {limits: {cpu: "2"}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: elsewhere}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: rs}}
  template:
    metadata: {labels: {app: rs}}
    spec: {containers: [{name: c, image: busybox, resources: {limits: {memory: 64Mi}}}]}
`

// TestLimitRangeDefaultsReachTheNodes: the pods a node gets carry the
// LimitRange defaults of their namespace (recorded in the limit-ranger
// annotation), bare pods and controllers' alike, and keep them from step
// to step; a bare pod above a LimitRange's max is not placed but
// Forbidden with Kubernetes' message; other namespaces are untouched.
func TestLimitRangeDefaultsReachTheNodes(t *testing.T) {
	w := newWorld(t, limitRepo)
	memo := &Memo{}
	plan := w.step(t, memo)
	got := nodePods(plan)
	bare := got["bare"]
	res := bare.Spec.Containers[0].Resources
	if res.Limits.Cpu().String() != "500m" || res.Limits.Memory().String() != "256Mi" ||
		res.Requests.Cpu().String() != "100m" || res.Requests.Memory().String() != "128Mi" {
		t.Fatalf("bare pod's resources %+v, want the LimitRange's defaults", res)
	}
	if a := bare.Annotations["kubernetes.io/limit-ranger"]; !strings.Contains(a, "cpu, memory request for container c") {
		t.Errorf("limit-ranger annotation %q", a)
	}
	var rsPod corev1.Pod
	for name, p := range got {
		if strings.HasPrefix(name, "rs-") {
			rsPod = p
		}
	}
	// Its own memory limit stays (and is its request); cpu is defaulted.
	if r := rsPod.Spec.Containers[0].Resources; r.Limits.Memory().String() != "64Mi" || r.Requests.Memory().String() != "64Mi" || r.Limits.Cpu().String() != "500m" {
		t.Errorf("the ReplicaSet's pod resources %+v", r)
	}
	if r := got["elsewhere"].Spec.Containers[0].Resources; len(r.Limits) != 0 || len(r.Requests) != 0 {
		t.Errorf("a pod of another namespace got resources %+v", r)
	}
	if _, placed := got["greedy"]; placed {
		t.Fatalf("greedy was placed")
	}
	want := `pods "greedy" is forbidden: spec.containers[0].resources.limits[cpu]: maximum cpu usage per Container is 1, but limit is 2`
	if msg := plan.Forbidden[types.NamespacedName{Namespace: "shop", Name: "greedy"}]; msg != want || len(plan.Forbidden) != 1 {
		t.Fatalf("Forbidden %v, want greedy: %q", plan.Forbidden, want)
	}
	if p := forbiddenPod(w.in.Desired.Get("Pod", "shop", "greedy").(*corev1.Pod), want); p.Status.Phase != corev1.PodPending || p.Status.Reason != ReasonForbidden {
		t.Errorf("forbidden pod shown as %+v", p.Status)
	}

	// The next step gives the same pods, and the Memo the same objects.
	next := w.step(t, memo)
	if !samePods(plan.Pods, next.Pods) {
		t.Errorf("the defaulted pods changed from one step to the next")
	}
	// A LimitRange edit changes the pods' specs (see docs/SUPPORT.md).
	w.in.Desired = load(t, strings.Replace(limitRepo, "default: {cpu: 500m,", "default: {cpu: 600m,", 1))
	plan = w.step(t, memo)
	if c := nodePods(plan)["bare"].Spec.Containers[0].Resources.Limits.Cpu().String(); c != "600m" {
		t.Errorf("after the LimitRange edit the bare pod's cpu limit is %s", c)
	}
}

// TestQuotaOverJobsDaemonsAndBarePods: a Job, a DaemonSet and bare pods
// under one quota; existing pods count first and are never refused, new
// ones are admitted by name.
func TestQuotaOverJobsDaemonsAndBarePods(t *testing.T) {
	yaml := `
apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: batch}
spec:
  hard: {count/pods: "3", requests.memory: 1Gi}
---
apiVersion: v1
kind: LimitRange
metadata: {name: mem, namespace: batch}
spec:
  limits: [{type: Container, defaultRequest: {memory: 300Mi}, default: {memory: 300Mi}}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: crunch, namespace: batch}
spec:
  parallelism: 3
  completions: 3
  template:
    spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: batch}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: busybox}]}
`
	w := newWorld(t, yaml)
	memo := &Memo{}
	plan := w.step(t, memo)
	// 3 Job pods and 2 daemon pods want 5 pods and 1500Mi: by name,
	// agent-* come first (2 pods, 600Mi), then one crunch-* (900Mi).
	var agents, crunch int
	for name := range nodePods(plan) {
		switch {
		case strings.HasPrefix(name, "agent-"):
			agents++
		case strings.HasPrefix(name, "crunch-"):
			crunch++
		}
	}
	if agents != 2 || crunch != 1 {
		t.Fatalf("%d daemon pods and %d Job pods run, want 2 and 1 (FailedCreate %v)", agents, crunch, plan.FailedCreate)
	}
	if st := plan.Jobs.Put["batch/crunch"]; len(st.Active) != 1 || plan.Jobs.Status["batch/crunch"].Active != 1 {
		t.Errorf("Job state %+v, status %+v: want 1 active", st, plan.Jobs.Status["batch/crunch"])
	}
	msg := plan.FailedCreate["Job/batch/crunch"]
	if !strings.Contains(msg, "is forbidden: exceeded quota: q, requested: ") || len(plan.FailedCreate) != 1 {
		t.Errorf("FailedCreate %v", plan.FailedCreate)
	}
	// The pods made count next step: the Job gets no more, nothing made
	// is refused, and once none of its new pods fits it tries the same
	// names again.
	plan = w.step(t, memo)
	msg = plan.FailedCreate["Job/batch/crunch"]
	if n := len(nodePods(plan)); n != 3 || msg == "" {
		t.Fatalf("second step: %d pods, FailedCreate %v", n, plan.FailedCreate)
	}
	// The Job's pod succeeds: it counts toward count/pods only.
	for k := range w.in.Placements {
		if strings.HasPrefix(k.Name, "crunch-") {
			w.phases[k] = corev1.PodSucceeded
		}
	}
	plan = w.step(t, memo)
	if plan.FailedCreate["Job/batch/crunch"] != msg {
		t.Errorf("third step: FailedCreate %v, want %q again", plan.FailedCreate, msg)
	}
	plan = w.step(t, memo)
	used := plan.Quotas[0].Used
	if c, m := used["count/pods"], used["requests.memory"]; c.Cmp(mustQ("3")) != 0 || m.Cmp(mustQ("600Mi")) != 0 {
		t.Errorf("quota usage %v", used)
	}
	if st := plan.Jobs.Put["batch/crunch"]; st.Succeeded != 1 || len(st.Active) != 0 {
		t.Errorf("Job state %+v: want 1 succeeded, none active (no room)", st)
	}
}
