package placement

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestFilters schedules pod "p" (after any other pods, which are placed
// through Placements) and checks its node or its exact Pending message.
func TestFilters(t *testing.T) {
	tests := []struct {
		name       string
		nodes      []Node
		pods       []*corev1.Pod
		placements map[string]string // other pod -> node
		actual     []Actual
		wantNode   string
		wantMsg    string
	}{
		{
			name:    "no nodes",
			pods:    []*corev1.Pod{pod("p")},
			wantMsg: "no nodes available to schedule pods",
		},
		{
			name:    "kubernetes example: cordoned and memory",
			nodes:   []Node{node("a", cordoned()), node("b", alloc("4", "1Gi")), node("c", alloc("4", "1Gi"))},
			pods:    []*corev1.Pod{pod("p", req("", "2Gi"))},
			wantMsg: "0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient memory.",
		},
		{
			name:     "cordoned node skipped",
			nodes:    []Node{node("a", cordoned()), node("b")},
			pods:     []*corev1.Pod{pod("p")},
			wantNode: "b",
		},
		{
			name:     "cordon tolerated",
			nodes:    []Node{node("a", cordoned())},
			pods:     []*corev1.Pod{pod("p", tolerate(TaintUnschedulable))},
			wantNode: "a",
		},
		{
			name:    "not ready",
			nodes:   []Node{node("a", notReady())},
			pods:    []*corev1.Pod{pod("p")},
			wantMsg: "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.",
		},
		{
			name:     "not ready tolerated",
			nodes:    []Node{node("a", notReady())},
			pods:     []*corev1.Pod{pod("p", tolerate(TaintNotReady))},
			wantNode: "a",
		},
		{
			name:    "lost node, even when tolerated",
			nodes:   []Node{node("a", seen(10*time.Minute)), node("b", seen(6*time.Minute), notReady())},
			pods:    []*corev1.Pod{pod("p", tolerate(TaintUnreachable), tolerate(TaintNotReady))},
			wantMsg: "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.",
		},
		{
			name:    "first failing filter only",
			nodes:   []Node{node("a", cordoned(), notReady(), alloc("1", "1Gi"))},
			pods:    []*corev1.Pod{pod("p", req("2", "2Gi"), selector("disk", "ssd"))},
			wantMsg: "0/1 nodes are available: 1 node(s) were unschedulable.",
		},
		{
			name:     "nodeSelector matches",
			nodes:    []Node{node("a"), node("b", labels("disk", "ssd")), node("c", labels("disk", "hdd"))},
			pods:     []*corev1.Pod{pod("p", selector("disk", "ssd"))},
			wantNode: "b",
		},
		{
			name:    "nodeSelector matches nothing",
			nodes:   []Node{node("a"), node("b", labels("disk", "hdd"))},
			pods:    []*corev1.Pod{pod("p", selector("disk", "ssd"))},
			wantMsg: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
		},
		{
			name:    "nodeSelector and affinity both required",
			nodes:   []Node{node("a", labels("disk", "ssd")), node("b", labels("zone", "z1"))},
			pods:    []*corev1.Pod{pod("p", selector("disk", "ssd"), affinity(term(expr("zone", corev1.NodeSelectorOpIn, "z1"))))},
			wantMsg: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
		},
		{
			name:    "host port taken",
			nodes:   []Node{node("a")},
			pods:    []*corev1.Pod{pod("o", port(80, "", "")), pod("p", port(80, corev1.ProtocolTCP, ""))},
			wantMsg: "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.",
		},
		{
			name:     "host port taken on one node",
			nodes:    []Node{node("a"), node("b")},
			pods:     []*corev1.Pod{pod("o", port(80, "", "")), pod("p", port(80, "", ""))},
			wantNode: "b",
		},
		{
			name:     "host port other protocol",
			nodes:    []Node{node("a")},
			pods:     []*corev1.Pod{pod("o", port(53, corev1.ProtocolTCP, "")), pod("p", port(53, corev1.ProtocolUDP, ""))},
			wantNode: "a",
		},
		{
			name:     "host port other IPs",
			nodes:    []Node{node("a")},
			pods:     []*corev1.Pod{pod("o", port(80, "", "10.0.0.1")), pod("p", port(80, "", "10.0.0.2"))},
			wantNode: "a",
		},
		{
			name:    "host port wildcard IP conflicts with a specific one",
			nodes:   []Node{node("a")},
			pods:    []*corev1.Pod{pod("o", port(80, "", "10.0.0.1")), pod("p", port(80, "", "0.0.0.0"))},
			wantMsg: "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.",
		},
		{
			name:    "host port held by a pod the node still runs",
			nodes:   []Node{node("a")},
			pods:    []*corev1.Pod{pod("p", port(80, "", ""))},
			actual:  []Actual{{Node: "a", Pod: pod("old", port(80, "", ""))}},
			wantMsg: "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.",
		},
		{
			name:     "host port of a finished pod is free",
			nodes:    []Node{node("a")},
			pods:     []*corev1.Pod{pod("p", port(80, "", ""))},
			actual:   []Actual{{Node: "a", Pod: pod("old", port(80, "", ""), phase(corev1.PodSucceeded))}},
			wantNode: "a",
		},
		{
			name:    "insufficient cpu",
			nodes:   []Node{node("a", alloc("1", "8Gi"))},
			pods:    []*corev1.Pod{pod("p", req("1500m", ""))},
			wantMsg: "0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name:    "insufficient cpu and memory on one node",
			nodes:   []Node{node("a", alloc("1", "1Gi"))},
			pods:    []*corev1.Pod{pod("p", req("2", "2Gi"))},
			wantMsg: "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.",
		},
		{
			name:       "requests of placed pods count",
			nodes:      []Node{node("a", alloc("2", "8Gi"))},
			pods:       []*corev1.Pod{pod("o", req("1500m", "")), pod("p", req("1", ""))},
			placements: map[string]string{"o": "a"},
			wantMsg:    "0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name:     "exact fit",
			nodes:    []Node{node("a", alloc("2", "8Gi"))},
			pods:     []*corev1.Pod{pod("o", req("1", "4Gi")), pod("p", req("1", "4Gi"))},
			wantNode: "a",
		},
		{
			name:    "requests of a leftover pod count",
			nodes:   []Node{node("a", alloc("2", "8Gi"))},
			pods:    []*corev1.Pod{pod("p", req("1", ""))},
			actual:  []Actual{{Node: "a", Pod: pod("old", req("1500m", ""))}},
			wantMsg: "0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name:     "requests of a failed pod do not count",
			nodes:    []Node{node("a", alloc("2", "8Gi"))},
			pods:     []*corev1.Pod{pod("p", req("1", ""))},
			actual:   []Actual{{Node: "a", Pod: pod("old", req("1500m", ""), phase(corev1.PodFailed))}},
			wantNode: "a",
		},
		{
			name:    "too many pods",
			nodes:   []Node{node("a", maxPods("1"))},
			pods:    []*corev1.Pod{pod("o"), pod("p")},
			wantMsg: "0/1 nodes are available: 1 Too many pods.",
		},
		{
			name: "reasons sorted as strings, as kube-scheduler",
			nodes: append(
				[]Node{node("x1", alloc("1", "1Gi")), node("x2", alloc("1", "1Gi"))},
				nodesNamed(names(10, "n"))...),
			pods:    []*corev1.Pod{pod("p", req("2", ""), selector("kubernetes.io/hostname", "x1"), affinity(term(expr("kubernetes.io/hostname", corev1.NodeSelectorOpExists))))},
			wantMsg: "0/12 nodes are available: 1 Insufficient cpu, 11 node(s) didn't match Pod's node affinity/selector.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Pods: tt.pods, Nodes: tt.nodes, Actual: tt.actual, Now: now,
				Placements: map[types.NamespacedName]string{}}
			for p, n := range tt.placements {
				in.Placements[key(p)] = n
			}
			plan := Compute(in)
			if tt.wantMsg != "" {
				if got := plan.Pending[key("p")]; got != tt.wantMsg {
					t.Errorf("Pending:\n got %q\nwant %q", got, tt.wantMsg)
				}
				if n, ok := plan.Place[key("p")]; ok {
					t.Errorf("placed on %s, want Pending", n)
				}
				return
			}
			if got := plan.Place[key("p")]; got != tt.wantNode {
				t.Errorf("placed on %q, want %q (pending: %q)", got, tt.wantNode, plan.Pending[key("p")])
			}
		})
	}
}

func nodesNamed(ns []string) []Node {
	out := make([]Node, len(ns))
	for i, n := range ns {
		out[i] = node(n)
	}
	return out
}

func TestNodeAffinity(t *testing.T) {
	nodes := []Node{
		node("a", labels("zone", "z1", "gen", "3")),
		node("b", labels("zone", "z2", "gen", "5", "gpu", "")),
		node("c", labels("gen", "x")),
	}
	const none = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
	tests := []struct {
		name  string
		terms []corev1.NodeSelectorTerm
		want  string // node, or the Pending message
	}{
		{"In", []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpIn, "z2", "z9"))}, "b"},
		{"In, no value", []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpIn, "z9"))}, none},
		{"NotIn matches a missing label", []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpNotIn, "z1", "z2"))}, "c"},
		{"Exists", []corev1.NodeSelectorTerm{term(expr("gpu", corev1.NodeSelectorOpExists))}, "b"},
		{"DoesNotExist", []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpDoesNotExist))}, "c"},
		{"Gt", []corev1.NodeSelectorTerm{term(expr("gen", corev1.NodeSelectorOpGt, "4"))}, "b"},
		{"Lt", []corev1.NodeSelectorTerm{term(expr("gen", corev1.NodeSelectorOpLt, "4"))}, "a"},
		{"Gt, not a number on the node", []corev1.NodeSelectorTerm{term(expr("gen", corev1.NodeSelectorOpGt, "-1"), expr("zone", corev1.NodeSelectorOpDoesNotExist))}, none},
		{"Gt, not a number in the pod", []corev1.NodeSelectorTerm{term(expr("gen", corev1.NodeSelectorOpGt, "four"))}, none},
		{"expressions ANDed", []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpExists), expr("gen", corev1.NodeSelectorOpLt, "4"))}, "a"},
		{"terms ORed", []corev1.NodeSelectorTerm{term(expr("zone", corev1.NodeSelectorOpIn, "z9")), term(expr("gen", corev1.NodeSelectorOpIn, "x"))}, "c"},
		{"matchFields metadata.name In", []corev1.NodeSelectorTerm{fieldTerm(expr("metadata.name", corev1.NodeSelectorOpIn, "c"))}, "c"},
		{"matchFields metadata.name NotIn", []corev1.NodeSelectorTerm{fieldTerm(expr("metadata.name", corev1.NodeSelectorOpNotIn, "a", "b"))}, "c"},
		{"matchFields and expressions", []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{expr("zone", corev1.NodeSelectorOpExists)},
			MatchFields:      []corev1.NodeSelectorRequirement{expr("metadata.name", corev1.NodeSelectorOpNotIn, "a")},
		}}, "b"},
		{"empty term matches nothing", []corev1.NodeSelectorTerm{{}}, none},
		{"no terms match nothing", nil, none},
		{"unknown operator", []corev1.NodeSelectorTerm{term(expr("zone", "Near", "z1"))}, none},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Compute(Input{Pods: []*corev1.Pod{pod("p", affinity(tt.terms...))}, Nodes: nodes, Now: now})
			got := plan.Place[key("p")]
			if got == "" {
				got = plan.Pending[key("p")]
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPodRequest(t *testing.T) {
	c := func(cpu string, sidecar bool) corev1.Container {
		ctr := pod("x", req(cpu, "")).Spec.Containers[0]
		if cpu == "" {
			ctr.Resources.Requests = nil
		}
		if sidecar {
			ctr.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
		}
		return ctr
	}
	tests := []struct {
		name         string
		spec         corev1.PodSpec
		req, nonZero int64
	}{
		{"none", corev1.PodSpec{Containers: []corev1.Container{c("", false)}}, 0, 100},
		{"sum of containers", corev1.PodSpec{Containers: []corev1.Container{c("100m", false), c("200m", false)}}, 300, 300},
		{"non-zero default per container", corev1.PodSpec{Containers: []corev1.Container{c("", false), c("50m", false)}}, 50, 150},
		{"init container larger", corev1.PodSpec{
			InitContainers: []corev1.Container{c("500m", false)},
			Containers:     []corev1.Container{c("100m", false), c("200m", false)},
		}, 500, 500},
		{"sidecar runs beside later init containers and the containers", corev1.PodSpec{
			InitContainers: []corev1.Container{c("100m", true), c("500m", false)},
			Containers:     []corev1.Container{c("300m", false)},
		}, 600, 600},
		{"overhead", corev1.PodSpec{
			Containers: []corev1.Container{c("100m", false)},
			Overhead:   corev1.ResourceList{corev1.ResourceCPU: pod("x", req("50m", "")).Spec.Containers[0].Resources.Requests[corev1.ResourceCPU]},
		}, 150, 150},
		{"pod-level requests win", corev1.PodSpec{
			Containers: []corev1.Container{c("100m", false), c("", false)},
			Resources:  &pod("x", req("2", "")).Spec.Containers[0].Resources,
		}, 2000, 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, nz := podRequest(&tt.spec, corev1.ResourceCPU)
			if r != tt.req || nz != tt.nonZero {
				t.Errorf("got %d (non-zero %d), want %d (%d)", r, nz, tt.req, tt.nonZero)
			}
		})
	}
}

func TestOwnerKey(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"owner UID", pod("p", owner("u1"), app("web")), "uid:u1"},
		{"app label", pod("p", app("web")), "app:default/web"},
		{"app label in another namespace", pod("p", app("web"), inNamespace("prod")), "app:prod/web"},
		{"none", pod("p"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ownerKey(tt.pod); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
