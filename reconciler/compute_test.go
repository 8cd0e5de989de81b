package reconciler

import (
	"fmt"
	"net/netip"
	"testing"
	"testing/fstest"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/reconciler/replicas"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// load reads manifests from YAML text.
func load(t *testing.T, yaml string) *manifests.Set {
	t.Helper()
	set, err := manifests.Load(fstest.MapFS{"m.yaml": {Data: []byte(yaml)}})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// report is a live, ready node with 4 cpu and 8Gi.
func report(name string, labels ...string) NodeReport {
	n := &corev1.Node{}
	n.Name = name
	n.Labels = map[string]string{"kubernetes.io/hostname": name}
	for i := 0; i+1 < len(labels); i += 2 {
		n.Labels[labels[i]] = labels[i+1]
	}
	n.Status.Allocatable = corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"),
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	return NodeReport{Name: name, Live: true, Info: n, LastSeen: now}
}

func key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: "default", Name: name}
}

const pods = `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  nodeSelector: {disk: ssd}
  containers:
  - name: c
    image: busybox
    env:
    - name: A
      valueFrom: {configMapKeyRef: {name: settings, key: a}}
  volumes:
  - name: s
    secret: {secretName: creds}
---
apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers:
  - name: c
    image: busybox
    resources: {requests: {memory: 100Gi}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unused}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {p: x}
---
apiVersion: v1
kind: Node
metadata:
  name: n2
  labels: {disk: ssd}
spec: {unschedulable: false}
`

func TestComputePlacesAndShipsReferencedConfig(t *testing.T) {
	in := Input{
		Desired:     load(t, pods),
		Nodes:       []NodeReport{report("n1"), report("n2"), report("n3", "disk", "hdd")},
		ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"),
		PodCIDRs:    map[string]string{"n1": "10.244.0.0/24", "n2": "10.244.1.0/24", "n3": "10.244.2.0/24"},
		Now:         now,
	}
	plan := Compute(in)
	// The repository's Node object labels n2, so web (nodeSelector
	// disk=ssd) goes there.
	if got := plan.Place[key("web")]; got != "n2" {
		t.Fatalf("web placed on %q, want n2 (plan %+v)", got, plan.Place)
	}
	if _, ok := plan.Pending[key("huge")]; !ok {
		t.Fatalf("huge should be pending: %+v", plan.Pending)
	}
	n2 := plan.Nodes["n2"]
	if len(n2.Pods) != 1 || n2.Pods[0].Spec.NodeName != "n2" {
		t.Fatalf("n2 pods = %+v", n2.Pods)
	}
	if len(n2.ConfigMaps) != 1 || n2.ConfigMaps[0].Name != "settings" || len(n2.Secrets) != 1 || n2.Secrets[0].Name != "creds" {
		t.Fatalf("n2 config = %v / %v, want only what web references", n2.ConfigMaps, n2.Secrets)
	}
	if c, ok := plan.Nodes["n1"]; !ok || len(c.Pods) != 0 {
		t.Fatalf("n1 must get an empty state (it stops what it runs): %+v, %v", c, ok)
	}
	if spec := plan.NodeSpecs["n2"]; spec.Labels["disk"] != "ssd" {
		t.Fatalf("node spec = %+v", spec)
	}
	if len(plan.PodCIDRs) != 0 {
		t.Fatalf("no new CIDRs expected: %v", plan.PodCIDRs)
	}

	// Applying the placements gives the same state and nothing new.
	in.Placements = plan.Place
	again := Compute(in)
	if len(again.Place) != 0 || again.Nodes["n2"].Pods[0].Name != "web" {
		t.Fatalf("second compute: place %v, n2 %v", again.Place, again.Nodes["n2"].Pods)
	}
}

func TestComputeWithoutDesiredOnlyAllocates(t *testing.T) {
	plan := Compute(Input{
		Nodes:       []NodeReport{report("a"), report("b"), {Name: "dead"}},
		PodCIDRs:    map[string]string{"a": "10.244.0.0/24"},
		ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"),
		Now:         now,
	})
	if len(plan.Nodes) != 0 || len(plan.Place) != 0 {
		t.Fatalf("without a desired state nothing may be pushed: %+v", plan)
	}
	if plan.PodCIDRs["b"] != "10.244.1.0/24" || len(plan.PodCIDRs) != 1 {
		t.Fatalf("CIDRs = %v, want only b -> 10.244.1.0/24 (dead nodes get none)", plan.PodCIDRs)
	}
}

func TestAllocateCIDRs(t *testing.T) {
	tests := []struct {
		name    string
		cluster string
		bits    int
		have    map[string]string
		nodes   []string
		want    map[string]string
		errs    int
	}{
		{"first free, in name order", "10.244.0.0/16", 0, nil, []string{"b", "a"},
			map[string]string{"a": "10.244.0.0/24", "b": "10.244.1.0/24"}, 0},
		{"skips used, never reuses", "10.244.0.0/16", 0, map[string]string{"old": "10.244.0.0/24", "x": "10.244.2.0/24"}, []string{"n"},
			map[string]string{"n": "10.244.1.0/24"}, 0},
		{"full", "10.9.0.0/23", 24, map[string]string{"a": "10.9.0.0/24", "b": "10.9.1.0/24"}, []string{"c"},
			map[string]string{}, 1},
		{"smaller node ranges", "10.9.0.0/24", 26, nil, []string{"a", "b"},
			map[string]string{"a": "10.9.0.0/26", "b": "10.9.0.64/26"}, 0},
		{"invalid cluster range", "10.9.0.0/24", 16, nil, []string{"a"}, map[string]string{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{ClusterCIDR: netip.MustParsePrefix(tt.cluster), NodeCIDRBits: tt.bits, PodCIDRs: tt.have}
			for _, n := range tt.nodes {
				in.Nodes = append(in.Nodes, NodeReport{Name: n, Live: true})
			}
			plan := Plan{PodCIDRs: map[string]string{}, CIDRErrors: map[string]string{}}
			allocateCIDRs(in, &plan)
			if len(plan.PodCIDRs) != len(tt.want) || len(plan.CIDRErrors) != tt.errs {
				t.Fatalf("got %v, errors %v; want %v and %d errors", plan.PodCIDRs, plan.CIDRErrors, tt.want, tt.errs)
			}
			for n, c := range tt.want {
				if plan.PodCIDRs[n] != c {
					t.Fatalf("%s got %s, want %s", n, plan.PodCIDRs[n], c)
				}
			}
		})
	}
}

func TestComputeNodeStates(t *testing.T) {
	set := load(t, `
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Node
metadata: {name: a}
spec: {unschedulable: true}
`)
	notReady := report("b")
	notReady.Info.Status.Conditions[0].Status = corev1.ConditionFalse
	tests := []struct {
		name    string
		nodes   []NodeReport
		place   map[types.NamespacedName]string
		want    string // node of p, "" pending
		failed  bool
		pending bool
	}{
		{"cordoned by the repository", []NodeReport{report("a"), report("c")}, nil, "c", false, false},
		{"not ready is skipped", []NodeReport{report("a"), notReady, report("c")}, nil, "c", false, false},
		{"nowhere to go", []NodeReport{report("a"), notReady}, nil, "", false, true},
		{"lost node fails its pod", []NodeReport{report("c"), {Name: "d", LastSeen: now.Add(-time.Hour)}},
			map[types.NamespacedName]string{key("p"): "d"}, "", true, false},
		{"placed pod stays on its live node", []NodeReport{report("c"), report("d")},
			map[types.NamespacedName]string{key("p"): "d"}, "d", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Compute(Input{Desired: set, Nodes: tt.nodes, Placements: tt.place, Now: now,
				ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16")})
			got := ""
			for n, c := range plan.Nodes {
				for _, p := range c.Pods {
					if p.Name == "p" {
						got = n
					}
				}
			}
			_, failed := plan.Failed[key("p")]
			_, pending := plan.Pending[key("p")]
			if got != tt.want || failed != tt.failed || pending != tt.pending {
				t.Fatalf("p on %q failed=%v pending=%v; want %q %v %v (plan %+v)", got, failed, pending, tt.want, tt.failed, tt.pending, plan)
			}
		})
	}
}

func loadFS(fsys fstest.MapFS) (*manifests.Set, error) { return manifests.Load(fsys) }

func mustQ(s string) resource.Quantity { return resource.MustParse(s) }

func TestComputeReplicaSetSpreadsAndReplacesLostPods(t *testing.T) {
	set := load(t, `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: busybox}]}
`)
	in := Input{Desired: set, Nodes: []NodeReport{report("a"), report("b"), report("c")}, Now: now,
		ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"), Placements: map[types.NamespacedName]string{},
		Owned: map[types.NamespacedName]replicas.Owned{}, Seq: map[string]uint64{}}
	plan := Compute(in)
	for _, n := range []string{"a", "b", "c"} {
		if len(plan.Nodes[n].Pods) != 1 || plan.Nodes[n].Pods[0].OwnerReferences[0].Name != "web" {
			t.Fatalf("node %s: %v (spread one per node)", n, plan.Nodes[n].Pods)
		}
	}
	// Record the plan, then lose node c: its pod is replaced on a or b.
	for k, o := range plan.Replicas.Create {
		in.Owned[k] = o
	}
	for k, v := range plan.Replicas.Seq {
		in.Seq[k] = v
	}
	for k, n := range plan.Place {
		in.Placements[k] = n
	}
	lostPod := plan.Nodes["c"].Pods[0].Name
	in.Nodes[2] = NodeReport{Name: "c", LastSeen: now.Add(-time.Hour)}
	next := Compute(in)
	if len(next.Replicas.Delete) != 1 || next.Replicas.Delete[0].Name != lostPod || len(next.Replicas.Create) != 1 {
		t.Fatalf("replicas plan: %+v", next.Replicas)
	}
	total := len(next.Nodes["a"].Pods) + len(next.Nodes["b"].Pods)
	if total != 3 || len(next.Failed) != 0 {
		t.Fatalf("after losing c: a %d, b %d pods, failed %v", len(next.Nodes["a"].Pods), len(next.Nodes["b"].Pods), next.Failed)
	}
}

func TestControllerPodsMoveBeforeBarePodsFail(t *testing.T) {
	set := load(t, `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {nodeSelector: {kubernetes.io/hostname: a}, containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: bare}
spec: {nodeName: a, containers: [{name: c, image: busybox}]}
`)
	in := Input{Desired: set, Nodes: []NodeReport{report("a"), report("b")}, Now: now,
		ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"), Placements: map[types.NamespacedName]string{},
		Owned: map[types.NamespacedName]replicas.Owned{}, Seq: map[string]uint64{}}
	first := Compute(in)
	for k, o := range first.Replicas.Create {
		in.Owned[k] = o
	}
	for k, v := range first.Replicas.Seq {
		in.Seq[k] = v
	}
	for k, n := range first.Place {
		in.Placements[k] = n
	}
	in.Placements[key("bare")] = "a"
	// a unseen for 2 minutes: past ReplaceAfter (1 min), not NodeLostAfter.
	in.Nodes[0] = NodeReport{Name: "a", LastSeen: now.Add(-2 * time.Minute)}
	next := Compute(in)
	if len(next.Replicas.Delete) != 1 || len(next.Replicas.Create) != 1 {
		t.Fatalf("the ReplicaSet's pod should be replaced: %+v", next.Replicas)
	}
	if len(next.Failed) != 0 {
		t.Fatalf("the bare pod failed before NodeLostAfter: %v", next.Failed)
	}
}

// TestReleasedPodsStayWhereTheyRun: a ReplicaSet whose selector changes in
// Git lets its pods go; in the same step they stay in the plan, on their
// node, without their owner, beside their replacements.
func TestReleasedPodsStayWhereTheyRun(t *testing.T) {
	const rs = `
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {%[1]s: web}}
  template:
    metadata: {labels: {%[1]s: web}}
    spec: {containers: [{name: c, image: busybox}]}
`
	in := Input{Desired: load(t, fmt.Sprintf(rs, "app")), Nodes: []NodeReport{report("a")}, Now: now,
		ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"), Placements: map[types.NamespacedName]string{},
		Owned: map[types.NamespacedName]replicas.Owned{}, Seq: map[string]uint64{}}
	first := Compute(in)
	for k, o := range first.Replicas.Create {
		in.Owned[k] = o
	}
	for k, n := range first.Place {
		in.Placements[k] = n
	}
	in.ReplicaTemplates = first.Replicas.PutTemplates
	old := first.Nodes["a"].Pods[0].Name
	in.Desired = load(t, fmt.Sprintf(rs, "role"))
	next := Compute(in)
	if len(next.Replicas.Release) != 1 || len(next.Remove) != 0 {
		t.Fatalf("released %v, removed %v", next.Replicas.Release, next.Remove)
	}
	var names []string
	for _, p := range next.Nodes["a"].Pods {
		names = append(names, p.Name)
		if p.Name == old && (len(p.OwnerReferences) != 0 || p.Labels["app"] != "web") {
			t.Fatalf("released pod %+v", p.ObjectMeta)
		}
	}
	if len(names) != 2 {
		t.Fatalf("node a runs %v, want the released pod and its replacement", names)
	}
}
