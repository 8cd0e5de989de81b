package placement

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestScores(t *testing.T) {
	tests := []struct {
		name       string
		nodes      []Node
		pods       []*corev1.Pod
		placements map[string]string
		want       map[string]string // pod -> node, for every desired pod
	}{
		{
			name:  "tie goes to the first node by name",
			nodes: []Node{node("c"), node("a"), node("b")},
			pods:  []*corev1.Pod{pod("p", req("100m", "100Mi"))},
			want:  map[string]string{"p": "a"},
		},
		{
			name:  "least allocated: the bigger node",
			nodes: []Node{node("a", alloc("4", "8Gi")), node("b", alloc("8", "16Gi"))},
			pods:  []*corev1.Pod{pod("p", req("1", "1Gi"))},
			want:  map[string]string{"p": "b"},
		},
		{
			name:  "least allocated averages cpu and memory",
			nodes: []Node{node("a", alloc("8", "4Gi")), node("b", alloc("4", "16Gi"))},
			// a: cpu free 7/8, memory free 1/4 → 0.5625; b: 3/4, 15/16 → 0.84
			pods: []*corev1.Pod{pod("p", req("1", "3Gi"))},
			want: map[string]string{"p": "b"},
		},
		{
			name:       "least allocated counts what is placed",
			nodes:      []Node{node("a"), node("b")},
			pods:       []*corev1.Pod{pod("o", req("3", "1Gi")), pod("p", req("100m", "100Mi"))},
			placements: map[string]string{"o": "a"},
			want:       map[string]string{"o": "a", "p": "b"},
		},
		{
			name:  "pods without requests count with the non-zero defaults",
			nodes: []Node{node("a"), node("b")},
			pods:  []*corev1.Pod{pod("p1"), pod("p2")},
			want:  map[string]string{"p1": "a", "p2": "b"},
		},
		{
			name:  "without an owner, least allocated alone packs onto the big node",
			nodes: []Node{node("a", alloc("4", "8Gi")), node("b", alloc("8", "16Gi")), node("c", alloc("64", "256Gi"))},
			pods:  podsNamed(names(6, "w"), req("100m", "128Mi")),
			want:  map[string]string{"w0": "c", "w1": "c", "w2": "c", "w3": "c", "w4": "c", "w5": "c"},
		},
		{
			name:  "spread: 6 pods of one app, 2 per node, despite sizes",
			nodes: []Node{node("a", alloc("4", "8Gi")), node("b", alloc("8", "16Gi")), node("c", alloc("64", "256Gi"))},
			pods:  podsNamed(names(6, "w"), req("100m", "128Mi"), app("web")),
			want:  map[string]string{"w0": "c", "w1": "b", "w2": "a", "w3": "c", "w4": "b", "w5": "a"},
		},
		{
			name:  "spread by owner reference, whatever the labels",
			nodes: []Node{node("a"), node("b")},
			pods: []*corev1.Pod{
				pod("x", req("100m", "128Mi"), owner("u1"), app("one")),
				pod("y", req("100m", "128Mi"), owner("u1"), app("two")),
			},
			want: map[string]string{"x": "a", "y": "b"},
		},
		{
			name:       "spread counts kept placements",
			nodes:      []Node{node("a"), node("b", alloc("64", "256Gi"))},
			pods:       []*corev1.Pod{pod("w0", req("100m", "128Mi"), app("web")), pod("w1", req("100m", "128Mi"), app("web"))},
			placements: map[string]string{"w0": "b"},
			want:       map[string]string{"w0": "b", "w1": "a"},
		},
		{
			name:  "same app label in another namespace is another group",
			nodes: []Node{node("a"), node("b", alloc("64", "256Gi"))},
			pods: []*corev1.Pod{
				pod("w0", req("100m", "128Mi"), app("web")),
				pod("w1", req("100m", "128Mi"), app("web"), inNamespace("other")),
			},
			want: map[string]string{"w0": "b", "w1": "b"},
		},
		{
			name:  "resources of pods placed in the same Compute",
			nodes: []Node{node("a", alloc("2", "8Gi")), node("b", alloc("2", "8Gi"))},
			pods:  podsNamed(names(4, "p"), req("900m", "")),
			want:  map[string]string{"p0": "a", "p1": "b", "p2": "a", "p3": "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Pods: tt.pods, Nodes: tt.nodes, Now: now, Placements: map[types.NamespacedName]string{}}
			for p, n := range tt.placements {
				in.Placements[key(p)] = n
			}
			plan := Compute(in)
			if len(plan.Pending) != 0 {
				t.Errorf("Pending: %v", plan.Pending)
			}
			if got := where(plan); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("placed %v, want %v", got, tt.want)
			}
		})
	}
}

func podsNamed(ns []string, opts ...podOpt) []*corev1.Pod {
	out := make([]*corev1.Pod, len(ns))
	for i, n := range ns {
		out[i] = pod(n, opts...)
	}
	return out
}

func TestSpreadCounts(t *testing.T) {
	// 6 pods of one app on 3 equal nodes: 2 each.
	plan := Compute(Input{
		Pods:  podsNamed(names(6, "web-"), req("100m", "64Mi"), app("web")),
		Nodes: []Node{node("a"), node("b"), node("c")},
		Now:   now,
	})
	for _, n := range []string{"a", "b", "c"} {
		if got := len(plan.PerNode[n]); got != 2 {
			t.Errorf("node %s runs %d pods, want 2", n, got)
		}
	}
}

func TestResourceAccountingWithinOneCompute(t *testing.T) {
	// Three pods of 1.5 cpu onto two 2-cpu nodes: the third does not fit,
	// because the first two count even though they are new.
	plan := Compute(Input{
		Pods:  podsNamed([]string{"p1", "p2", "p3"}, req("1500m", "")),
		Nodes: []Node{node("a", alloc("2", "8Gi")), node("b", alloc("2", "8Gi"))},
		Now:   now,
	})
	want := map[types.NamespacedName]string{key("p1"): "a", key("p2"): "b"}
	if !reflect.DeepEqual(plan.Place, want) {
		t.Errorf("Place = %v, want %v", plan.Place, want)
	}
	if got, w := plan.Pending[key("p3")], "0/2 nodes are available: 2 Insufficient cpu."; got != w {
		t.Errorf("Pending = %q, want %q", got, w)
	}
}

func TestKnownPlacements(t *testing.T) {
	tests := []struct {
		name       string
		nodes      []Node
		pods       []*corev1.Pod
		placements map[string]string
		actual     []Actual
		lostAfter  time.Duration
		want       Plan // PerNode given as pod names, see perNodeNames
	}{
		{
			name:       "placement kept on a cordoned, not ready, full node",
			nodes:      []Node{node("a", cordoned(), notReady(), alloc("1", "1Gi")), node("b")},
			pods:       []*corev1.Pod{pod("p", req("2", "2Gi"))},
			placements: map[string]string{"p": "a"},
			want:       Plan{PerNode: perNode("a", "p", "b")},
		},
		{
			name:  "spec.nodeName bypasses the filters",
			nodes: []Node{node("a", cordoned(), notReady(), alloc("1", "1Gi")), node("b")},
			pods:  []*corev1.Pod{pod("p", nodeName("a"), req("2", "2Gi"))},
			want:  Plan{Place: place("p", "a"), PerNode: perNode("a", "p", "b")},
		},
		{
			name:  "spec.nodeName of a node that does not exist",
			nodes: []Node{node("a")},
			pods:  []*corev1.Pod{pod("p", nodeName("ghost"))},
			want: Plan{PerNode: perNode("a"), Pending: map[types.NamespacedName]string{
				key("p"): `node "ghost" named in spec.nodeName does not exist`,
			}},
		},
		{
			name:       "spec.nodeName wins over another placement",
			nodes:      []Node{node("a"), node("b")},
			pods:       []*corev1.Pod{pod("p", nodeName("b"))},
			placements: map[string]string{"p": "a"},
			want:       Plan{Place: place("p", "b"), PerNode: perNode("a", "b", "p")},
		},
		{
			name:       "spec.nodeName to a lost node: placed and Failed",
			nodes:      []Node{node("a", seen(time.Hour))},
			pods:       []*corev1.Pod{pod("p", nodeName("a"))},
			placements: map[string]string{},
			want: Plan{Place: place("p", "a"), PerNode: perNode("a"), Failed: map[types.NamespacedName]string{
				key("p"): "Node a which was running pod p is unresponsive",
			}},
		},
		{
			name:       "lost node: Failed, placement kept, never re-placed",
			nodes:      []Node{node("a", seen(5*time.Minute)), node("b")},
			pods:       []*corev1.Pod{pod("p"), pod("q")},
			placements: map[string]string{"p": "a", "q": "b"},
			want: Plan{PerNode: perNode("a", "b", "q"), Failed: map[types.NamespacedName]string{
				key("p"): "Node a which was running pod p is unresponsive",
			}},
		},
		{
			name:       "NodeLostAfter from the input",
			nodes:      []Node{node("a", seen(30*time.Second)), node("b")},
			pods:       []*corev1.Pod{pod("p")},
			placements: map[string]string{"p": "a"},
			lostAfter:  20 * time.Second,
			want: Plan{PerNode: perNode("a", "b"), Failed: map[types.NamespacedName]string{
				key("p"): "Node a which was running pod p is unresponsive",
			}},
		},
		{
			name:       "seen within NodeLostAfter: kept",
			nodes:      []Node{node("a", seen(4*time.Minute), notReady())},
			pods:       []*corev1.Pod{pod("p")},
			placements: map[string]string{"p": "a"},
			want:       Plan{PerNode: perNode("a", "p")},
		},
		{
			name:       "node gone: Failed",
			nodes:      []Node{node("b")},
			pods:       []*corev1.Pod{pod("p")},
			placements: map[string]string{"p": "a"},
			want: Plan{PerNode: perNode("b"), Failed: map[types.NamespacedName]string{
				key("p"): "Node a which was running pod p is unresponsive",
			}},
		},
		{
			name:   "a pod a live node runs is adopted",
			nodes:  []Node{node("a"), node("b")},
			pods:   []*corev1.Pod{pod("p")},
			actual: []Actual{{Node: "b", Pod: pod("p")}},
			want:   Plan{Place: place("p", "b"), PerNode: perNode("a", "b", "p")},
		},
		{
			name:   "a pod only a lost node runs is scheduled",
			nodes:  []Node{node("a"), node("b", seen(time.Hour))},
			pods:   []*corev1.Pod{pod("p")},
			actual: []Actual{{Node: "b", Pod: pod("p")}},
			want:   Plan{Place: place("p", "a"), PerNode: perNode("a", "p", "b")},
		},
		{
			name:       "pods no longer desired: Remove, sorted",
			nodes:      []Node{node("a")},
			pods:       []*corev1.Pod{pod("p")},
			placements: map[string]string{"p": "a", "z": "a", "gone": "b"},
			actual:     []Actual{{Node: "a", Pod: pod("z")}},
			want:       Plan{PerNode: perNode("a", "p"), Remove: []types.NamespacedName{key("gone"), key("z")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Pods: tt.pods, Nodes: tt.nodes, Actual: tt.actual, Now: now, NodeLostAfter: tt.lostAfter,
				Placements: map[types.NamespacedName]string{}}
			for p, n := range tt.placements {
				in.Placements[key(p)] = n
			}
			got := Compute(in)
			want := tt.want
			for _, m := range []*map[types.NamespacedName]string{&want.Place, &want.Pending, &want.Failed} {
				if *m == nil {
					*m = map[types.NamespacedName]string{}
				}
			}
			if !reflect.DeepEqual(got.Place, want.Place) {
				t.Errorf("Place = %v, want %v", got.Place, want.Place)
			}
			if !reflect.DeepEqual(got.Pending, want.Pending) {
				t.Errorf("Pending = %v, want %v", got.Pending, want.Pending)
			}
			if !reflect.DeepEqual(got.Failed, want.Failed) {
				t.Errorf("Failed = %v, want %v", got.Failed, want.Failed)
			}
			if !reflect.DeepEqual(got.Remove, want.Remove) {
				t.Errorf("Remove = %v, want %v", got.Remove, want.Remove)
			}
			if g, w := perNodeNames(got.PerNode), perNodeNames(want.PerNode); !reflect.DeepEqual(g, w) {
				t.Errorf("PerNode = %v, want %v", g, w)
			}
			for n, pods := range got.PerNode {
				for _, p := range pods {
					if p.Spec.NodeName != n {
						t.Errorf("pod %s on %s has spec.nodeName %q", p.Name, n, p.Spec.NodeName)
					}
				}
			}
			for _, p := range tt.pods {
				if p.Spec.NodeName != "" && p.Spec.NodeName != "a" && p.Spec.NodeName != "b" && p.Spec.NodeName != "ghost" {
					t.Errorf("input pod %s modified", p.Name)
				}
			}
		})
	}
}

// perNode builds a PerNode from "node", "pod"..., "node", ... where nodes
// are one letter and pods longer or given after their node.
func perNode(items ...string) map[string][]*corev1.Pod {
	out := map[string][]*corev1.Pod{}
	cur := ""
	for _, it := range items {
		if it == "a" || it == "b" || it == "c" {
			cur = it
			out[cur] = []*corev1.Pod{}
			continue
		}
		out[cur] = append(out[cur], pod(it))
	}
	return out
}

func perNodeNames(m map[string][]*corev1.Pod) map[string][]string {
	out := map[string][]string{}
	for n, pods := range m {
		out[n] = []string{}
		for _, p := range pods {
			out[n] = append(out[n], p.Namespace+"/"+p.Name)
		}
	}
	return out
}

func place(kv ...string) map[types.NamespacedName]string {
	out := map[types.NamespacedName]string{}
	for i := 0; i < len(kv); i += 2 {
		out[key(kv[i])] = kv[i+1]
	}
	return out
}

func TestInputNotModified(t *testing.T) {
	p := pod("p", req("1", "1Gi"))
	in := Input{Pods: []*corev1.Pod{p}, Nodes: []Node{node("a")}, Now: now}
	plan := Compute(in)
	if p.Spec.NodeName != "" {
		t.Errorf("input pod got spec.nodeName %q", p.Spec.NodeName)
	}
	if got := plan.PerNode["a"][0].Spec.NodeName; got != "a" {
		t.Errorf("PerNode pod has spec.nodeName %q, want a", got)
	}
}

// cluster builds a mixed cluster: nodes of several sizes and states, pods
// of several apps with requests, selectors and host ports, some already
// placed, some running leftovers.
func cluster(nNodes, nPods int, seed uint64) Input {
	r := rand.New(rand.NewPCG(seed, 1))
	in := Input{Now: now, Placements: map[types.NamespacedName]string{}}
	for i := range nNodes {
		opts := []nodeOpt{labels("zone", fmt.Sprintf("z%d", i%3))}
		switch r.IntN(10) {
		case 0:
			opts = append(opts, cordoned())
		case 1:
			opts = append(opts, notReady())
		case 2:
			opts = append(opts, alloc("64", "256Gi"))
		case 3:
			opts = append(opts, seen(time.Hour))
		}
		in.Nodes = append(in.Nodes, node(fmt.Sprintf("node-%04d", i), opts...))
	}
	for i := range nPods {
		opts := []podOpt{app(fmt.Sprintf("app%d", i%17)), req(fmt.Sprintf("%dm", 50+r.IntN(400)), fmt.Sprintf("%dMi", 64+r.IntN(512)))}
		switch r.IntN(8) {
		case 0:
			opts = append(opts, selector("zone", "z1"))
		case 1:
			opts = append(opts, port(int32(8000+r.IntN(4)), "", ""))
		case 2:
			opts = append(opts, affinity(term(expr("zone", corev1.NodeSelectorOpNotIn, "z0"))))
		case 3:
			if r.IntN(10) == 0 {
				opts = append(opts, selector("zone", "nowhere"))
			}
		}
		p := pod(fmt.Sprintf("pod-%05d", i), opts...)
		in.Pods = append(in.Pods, p)
		if r.IntN(4) == 0 {
			in.Placements[keyOf(p)] = in.Nodes[r.IntN(nNodes)].Name
		}
	}
	for i := range nNodes / 4 {
		in.Actual = append(in.Actual, Actual{Node: in.Nodes[i*4].Name, Pod: pod(fmt.Sprintf("old-%d", i), req("1", "1Gi"))})
	}
	return in
}

func TestIdempotent(t *testing.T) {
	in := cluster(20, 300, 1)
	first := Compute(in)
	if len(first.Place) == 0 || len(first.Pending) == 0 || len(first.Failed) == 0 {
		t.Fatalf("the cluster should place, leave pending and fail some pods: %d placed, %d pending, %d failed", len(first.Place), len(first.Pending), len(first.Failed))
	}
	for k, n := range first.Place {
		in.Placements[k] = n
	}
	second := Compute(in)
	if len(second.Place) != 0 {
		t.Errorf("second Compute places %v", second.Place)
	}
	if !reflect.DeepEqual(first.PerNode, second.PerNode) {
		t.Errorf("PerNode changed:\n%v\n%v", perNodeNames(first.PerNode), perNodeNames(second.PerNode))
	}
	if !reflect.DeepEqual(first.Pending, second.Pending) {
		t.Errorf("Pending changed:\n%v\n%v", first.Pending, second.Pending)
	}
	if !reflect.DeepEqual(first.Failed, second.Failed) {
		t.Errorf("Failed changed:\n%v\n%v", first.Failed, second.Failed)
	}
}

func TestDeterministic(t *testing.T) {
	in := cluster(30, 400, 2)
	want := Compute(in)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 5 {
		s := in
		s.Pods = append([]*corev1.Pod(nil), in.Pods...)
		s.Nodes = append([]Node(nil), in.Nodes...)
		s.Actual = append([]Actual(nil), in.Actual...)
		r.Shuffle(len(s.Pods), func(i, j int) { s.Pods[i], s.Pods[j] = s.Pods[j], s.Pods[i] })
		r.Shuffle(len(s.Nodes), func(i, j int) { s.Nodes[i], s.Nodes[j] = s.Nodes[j], s.Nodes[i] })
		r.Shuffle(len(s.Actual), func(i, j int) { s.Actual[i], s.Actual[j] = s.Actual[j], s.Actual[i] })
		if got := Compute(s); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffle %d: plan differs", i)
		}
	}
}
