package plan

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// pod makes a pod: owner is "Kind/name" ("" for a bare pod), node its
// spec.nodeName; a Deployment's pods carry their pod-template-hash.
func pod(name, owner, node, image string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{}}}
	p.Spec.NodeName = node
	p.Spec.Containers = []corev1.Container{{Name: "c", Image: image}}
	if kind, n, ok := strings.Cut(owner, "/"); ok {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: n, Controller: &yes}}
		if kind == "ReplicaSet" {
			if i := strings.LastIndex(n, "-"); i > 0 {
				p.Labels["pod-template-hash"] = n[i+1:]
			}
		}
	}
	return p
}

func renderPods(p Pods) string {
	var b strings.Builder
	line := func(sign string, c PodChange) {
		fmt.Fprintf(&b, "%s %s/%s", sign, c.Namespace, c.Name)
		if c.Replaces != "" {
			fmt.Fprintf(&b, " (was %s on %s)", c.Replaces, c.OldNode)
		}
		if c.Node != "" {
			fmt.Fprintf(&b, " on %s", c.Node)
		}
		if c.Owner != "" {
			fmt.Fprintf(&b, " [%s]", c.Owner)
		}
		if c.Message != "" {
			fmt.Fprintf(&b, ": %s", c.Message)
		}
		b.WriteString("\n")
	}
	for _, c := range p.Start {
		line("+", c)
	}
	for _, c := range p.Stop {
		line("-", c)
	}
	for _, c := range p.Replace {
		line("~", c)
	}
	for _, c := range p.Pending {
		line("!", c)
	}
	return b.String()
}

func TestComparePods(t *testing.T) {
	on := func(pods ...*corev1.Pod) PodSet { return PodSet{Pods: pods} }
	key := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "default", Name: name} }
	tests := []struct {
		name              string
		current, proposed PodSet
		want              string
	}{
		{name: "nothing"},
		{
			name:     "the same pods",
			current:  on(pod("a", "", "n1", "x"), pod("web-h1-aaaaa", "ReplicaSet/web-h1", "n2", "x")),
			proposed: on(pod("web-h1-aaaaa", "ReplicaSet/web-h1", "n2", "x"), pod("a", "", "n1", "x")),
		},
		{
			name:     "a bare pod starts, another stops",
			current:  on(pod("old", "", "n1", "x")),
			proposed: on(pod("new", "", "n2", "x")),
			want:     "+ default/new on n2\n- default/old on n1\n",
		},
		{
			name:     "a bare pod's spec changes under its name",
			current:  on(pod("a", "", "n1", "x:1")),
			proposed: on(pod("a", "", "n1", "x:2")),
			want:     "~ default/a (was a on n1) on n1\n",
		},
		{
			name: "a Deployment's new ReplicaSet replaces the old one's pods, on the same node first",
			current: on(pod("web-h1-aaaaa", "ReplicaSet/web-h1", "n1", "x:1"), pod("web-h1-bbbbb", "ReplicaSet/web-h1", "n2", "x:1"),
				pod("api-h9-ccccc", "ReplicaSet/api-h9", "n1", "y")),
			proposed: on(pod("web-h2-zzzzz", "ReplicaSet/web-h2", "n1", "x:2"), pod("web-h2-yyyyy", "ReplicaSet/web-h2", "n2", "x:2"),
				pod("web-h2-xxxxx", "ReplicaSet/web-h2", "n3", "x:2"), pod("api-h9-ccccc", "ReplicaSet/api-h9", "n1", "y")),
			want: "+ default/web-h2-xxxxx on n3 [Deployment/web]\n" +
				"~ default/web-h2-yyyyy (was web-h1-bbbbb on n2) on n2 [Deployment/web]\n" +
				"~ default/web-h2-zzzzz (was web-h1-aaaaa on n1) on n1 [Deployment/web]\n",
		},
		{
			name:     "a DaemonSet's template change keeps its pods' names",
			current:  on(pod("agent-q1", "DaemonSet/agent", "n1", "a:1"), pod("agent-q2", "DaemonSet/agent", "n2", "a:1")),
			proposed: on(pod("agent-q1", "DaemonSet/agent", "n1", "a:2"), pod("agent-q2", "DaemonSet/agent", "n2", "a:2")),
			want:     "~ default/agent-q1 (was agent-q1 on n1) on n1 [DaemonSet/agent]\n~ default/agent-q2 (was agent-q2 on n2) on n2 [DaemonSet/agent]\n",
		},
		{
			name:     "pods of different workloads are not paired",
			current:  on(pod("a-h1-aaaaa", "ReplicaSet/a-h1", "n1", "x")),
			proposed: on(pod("b-h1-aaaaa", "ReplicaSet/b-h1", "n1", "x")),
			want:     "+ default/b-h1-aaaaa on n1 [Deployment/b]\n- default/a-h1-aaaaa on n1 [Deployment/a]\n",
		},
		{
			name:     "placement's nodes win over spec.nodeName",
			current:  PodSet{Pods: []*corev1.Pod{pod("a", "", "", "x")}, Nodes: map[types.NamespacedName]string{key("a"): "n1"}},
			proposed: PodSet{Pods: []*corev1.Pod{pod("b", "", "", "x")}, Nodes: map[types.NamespacedName]string{key("b"): "n2"}},
			want:     "+ default/b on n2\n- default/a on n1\n",
		},
		{
			name:    "a pod that fits nowhere is pending, not started; one already pending is no change",
			current: PodSet{Pods: []*corev1.Pod{pod("waits", "", "", "x")}, Pending: map[types.NamespacedName]string{key("waits"): "0/3 nodes"}},
			proposed: PodSet{Pods: []*corev1.Pod{pod("waits", "", "", "x"), pod("big", "", "", "x")},
				Pending: map[types.NamespacedName]string{key("waits"): "0/3 nodes", key("big"): "0/3 nodes are available: 3 Insufficient memory."}},
			want: "! default/big: 0/3 nodes are available: 3 Insufficient memory.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ComparePods(tt.current, tt.proposed)
			if s := renderPods(got); s != tt.want {
				t.Errorf("ComparePods:\n%s\nwant:\n%s", s, tt.want)
			}
			if got.Empty() != (tt.want == "") {
				t.Errorf("Empty() = %v", got.Empty())
			}
		})
	}
}

func TestOwner(t *testing.T) {
	tests := []struct {
		pod  *corev1.Pod
		want string
	}{
		{pod("a", "", "", "x"), ""},
		{pod("web-5d8f-abcde", "ReplicaSet/web-5d8f", "", "x"), "Deployment/web"},
		{pod("rs-abcde", "ReplicaSet/rs", "", "x"), "ReplicaSet/rs"},
		{pod("agent-q1", "DaemonSet/agent", "", "x"), "DaemonSet/agent"},
		{pod("backup-x", "Job/backup", "", "x"), "Job/backup"},
	}
	for _, tt := range tests {
		if got := Owner(tt.pod); got != tt.want {
			t.Errorf("Owner(%s) = %q, want %q", tt.pod.Name, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	objs := []ObjectChange{{Op: Add}, {Op: Change}, {Op: Change}, {Op: Remove}}
	pods := Pods{Start: make([]PodChange, 1), Replace: make([]PodChange, 3), Pending: make([]PodChange, 1)}
	got := Summarize(objs, pods)
	want := Summary{Add: 1, Change: 2, Remove: 1, Start: 1, Replace: 3, Pending: 1}
	if got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
	if (Result{}).Changed() || !(Result{Pods: pods}).Changed() || !(Result{Objects: objs}).Changed() {
		t.Error("Changed")
	}
}
