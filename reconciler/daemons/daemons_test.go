package daemons

import (
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoal-run/shoal/reconciler/placement"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func ds(name string, sel map[string]string, aff *corev1.Affinity) DaemonSet {
	return DaemonSet{Namespace: "kube-system", Name: name, Template: &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{NodeSelector: sel, Affinity: aff,
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
	}}
}

func node(name string, seen time.Duration, unschedulable bool, labels ...string) placement.Node {
	n := placement.Node{Name: name, LastSeen: now.Add(-seen), Unschedulable: unschedulable,
		Labels: map[string]string{"kubernetes.io/hostname": name}}
	for i := 0; i+1 < len(labels); i += 2 {
		n.Labels[labels[i]] = labels[i+1]
	}
	return n
}

func TestCompute(t *testing.T) {
	nodes := []placement.Node{
		node("a", 0, false, "disk", "ssd"),
		node("b", 0, true),                         // cordoned: daemon pods still go
		node("c", time.Hour, false, "disk", "ssd"), // lost
	}
	notB := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"b"}},
		}}},
	}}}
	tests := []struct {
		name  string
		ds    DaemonSet
		nodes []string
	}{
		{"every live node, cordoned included", ds("log", nil, nil), []string{"a", "b"}},
		{"nodeSelector", ds("ssd", map[string]string{"disk": "ssd"}, nil), []string{"a"}},
		{"required node affinity", ds("aff", nil, notB), []string{"a"}},
		{"nothing matches", ds("none", map[string]string{"gpu": "yes"}, nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pods := Compute(Input{DaemonSets: []DaemonSet{tt.ds}, Nodes: nodes, Now: now, NodeLostAfter: time.Minute})
			var got []string
			for _, p := range pods {
				got = append(got, p.Spec.NodeName)
				if !strings.HasPrefix(p.Name, tt.ds.Name+"-") || p.OwnerReferences[0].Kind != "DaemonSet" || p.Labels["app"] != tt.ds.Name {
					t.Errorf("pod %+v", p.ObjectMeta)
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tt.nodes, ",") {
				t.Fatalf("pods on %v, want %v", got, tt.nodes)
			}
		})
	}
	// Names are stable and distinct per node.
	one := Compute(Input{DaemonSets: []DaemonSet{ds("log", nil, nil)}, Nodes: nodes, Now: now, NodeLostAfter: time.Minute})
	two := Compute(Input{DaemonSets: []DaemonSet{ds("log", nil, nil)}, Nodes: nodes[:2], Now: now, NodeLostAfter: time.Minute})
	if one[0].Name != two[0].Name || one[0].Name == one[1].Name {
		t.Fatalf("names %s %s / %s", one[0].Name, one[1].Name, two[0].Name)
	}
}
