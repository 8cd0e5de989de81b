package daemons

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shoal-run/shoal/reconciler/placement"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func ds(name, image string, sel map[string]string, aff *corev1.Affinity) *appsv1.DaemonSet {
	d := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: name}}
	d.Spec.Template.Labels = map[string]string{"app": name}
	d.Spec.Template.Spec = corev1.PodSpec{NodeSelector: sel, Affinity: aff,
		Containers: []corev1.Container{{Name: "c", Image: image}}}
	return d
}

func node(name string, seen time.Duration, unschedulable bool, labels ...string) placement.Node {
	n := placement.Node{Name: name, LastSeen: now.Add(-seen), Unschedulable: unschedulable,
		Labels: map[string]string{"kubernetes.io/hostname": name}}
	for i := 0; i+1 < len(labels); i += 2 {
		n.Labels[labels[i]] = labels[i+1]
	}
	return n
}

func TestPlacement(t *testing.T) {
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
		ds    *appsv1.DaemonSet
		nodes []string
	}{
		{"every live node, cordoned included", ds("log", "busybox", nil, nil), []string{"a", "b"}},
		{"nodeSelector", ds("ssd", "busybox", map[string]string{"disk": "ssd"}, nil), []string{"a"}},
		{"required node affinity", ds("aff", "busybox", nil, notB), []string{"a"}},
		{"nothing matches", ds("none", "busybox", map[string]string{"gpu": "yes"}, nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Compute(Input{DaemonSets: []*appsv1.DaemonSet{tt.ds}, Nodes: nodes, Now: now, NodeLostAfter: time.Minute})
			var got []string
			for _, pod := range p.Pods {
				got = append(got, pod.Spec.NodeName)
				if !strings.HasPrefix(pod.Name, tt.ds.Name+"-") || pod.OwnerReferences[0].Kind != "DaemonSet" ||
					pod.Labels["app"] != tt.ds.Name || pod.Labels[HashLabel] == "" {
					t.Errorf("pod %+v", pod.ObjectMeta)
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(tt.nodes, ",") {
				t.Fatalf("pods on %v, want %v", got, tt.nodes)
			}
		})
	}
}

func TestRollingUpdate(t *testing.T) {
	nodes := []placement.Node{node("a", 0, false), node("b", 0, false), node("c", 0, false), node("d", 0, false)}
	states := map[string]State{}
	record := func(p Plan) {
		for k, st := range p.Put {
			states[k] = st
		}
		for _, k := range p.Delete {
			delete(states, k)
		}
	}
	// reported makes the nodes report the plan's pods, Ready unless listed.
	reported := func(p Plan, notReady ...string) []*corev1.Pod {
		var out []*corev1.Pod
		for _, pod := range p.Pods {
			q := pod.DeepCopy()
			st := corev1.ConditionTrue
			for _, n := range notReady {
				if n == q.Spec.NodeName {
					st = corev1.ConditionFalse
				}
			}
			q.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
			out = append(out, q)
		}
		return out
	}
	images := func(p Plan) string {
		var out []string
		for _, pod := range p.Pods {
			out = append(out, pod.Spec.NodeName+"="+pod.Spec.Containers[0].Image)
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	v1 := ds("log", "app:1", nil, nil)
	p := Compute(Input{DaemonSets: []*appsv1.DaemonSet{v1}, Nodes: nodes, Now: now})
	record(p)
	actual := reported(p)

	two := intstr.FromInt32(2)
	v2 := ds("log", "app:2", nil, nil)
	v2.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &two}
	step := func(notReady ...string) string {
		p := Compute(Input{DaemonSets: []*appsv1.DaemonSet{v2}, Nodes: nodes, Actual: actual, States: states, Now: now})
		record(p)
		actual = reported(p, notReady...)
		return images(p)
	}
	// Two nodes at a time (maxUnavailable 2), each waiting for Ready. A
	// step's argument lists the nodes whose new pod is not Ready at the
	// next step.
	if got := step("a", "b"); got != "a=app:2,b=app:2,c=app:1,d=app:1" {
		t.Fatalf("first step: %s", got)
	}
	if got := step(); got != "a=app:2,b=app:2,c=app:1,d=app:1" {
		t.Fatalf("while a and b are not Ready: %s", got)
	}
	if got := step(); got != "a=app:2,b=app:2,c=app:2,d=app:2" {
		t.Fatalf("once they are: %s", got)
	}
	if got := step(); got != "a=app:2,b=app:2,c=app:2,d=app:2" || len(states["kube-system/log"].Revisions) != 1 {
		t.Fatalf("done: %s, %d templates kept", got, len(states["kube-system/log"].Revisions))
	}
	// Gone from Git: its record goes.
	p = Compute(Input{States: states, Now: now})
	if len(p.Delete) != 1 || len(p.Pods) != 0 {
		t.Fatalf("plan %+v", p)
	}
}

// TestRollingUpdateWaitsForReports: nodes whose pods are not reported yet
// do not all move to a new template at once (they once did).
func TestRollingUpdateWaitsForReports(t *testing.T) {
	nodes := []placement.Node{node("a", 0, false), node("b", 0, false), node("c", 0, false)}
	v1, v2 := ds("log", "app:1", nil, nil), ds("log", "app:2", nil, nil)
	p := Compute(Input{DaemonSets: []*appsv1.DaemonSet{v1}, Nodes: nodes, Now: now})
	states := p.Put
	// Nothing reported yet, and the template changes.
	p = Compute(Input{DaemonSets: []*appsv1.DaemonSet{v2}, Nodes: nodes, States: states, Now: now})
	for _, pod := range p.Pods {
		if pod.Spec.Containers[0].Image != "app:1" {
			t.Fatalf("%s moved to the new template before its pod was reported", pod.Spec.NodeName)
		}
	}
	// The v1 pods reported Ready: one node moves; while its report lags
	// (it still reports v1), it stays on v2 and no other moves.
	var actual []*corev1.Pod
	for _, pod := range p.Pods {
		q := pod.DeepCopy()
		q.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		actual = append(actual, q)
	}
	images := func(p Plan) string {
		var out []string
		for _, pod := range p.Pods {
			out = append(out, pod.Spec.NodeName+"="+pod.Spec.Containers[0].Image)
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	for i := 0; i < 3; i++ {
		p = Compute(Input{DaemonSets: []*appsv1.DaemonSet{v2}, Nodes: nodes, Actual: actual, States: states, Now: now})
		for k, st := range p.Put {
			states[k] = st
		}
		if got := images(p); got != "a=app:2,b=app:1,c=app:1" {
			t.Fatalf("step %d with lagging reports: %s", i, got)
		}
	}
}

// TestStatus: a DaemonSet's counts as Kubernetes reports them, from the
// nodes' reports and the clock (minReadySeconds).
func TestStatus(t *testing.T) {
	nodes := []placement.Node{node("a", 0, false, "disk", "ssd"), node("b", 0, false, "disk", "ssd"), node("c", 0, false, "disk", "ssd"), node("d", 0, false)}
	ssd := ds("log", "app:1", map[string]string{"disk": "ssd"}, nil)
	ssd.Spec.MinReadySeconds = 30
	first := Compute(Input{DaemonSets: []*appsv1.DaemonSet{ssd}, Nodes: nodes, Now: now})
	if got := first.Put["kube-system/log"].Created; !got.Equal(now) {
		t.Fatalf("created %v, want the step's time", got)
	}
	byNode := map[string]*corev1.Pod{}
	for _, p := range first.Pods {
		byNode[p.Spec.NodeName] = p
	}
	at := now.Add(time.Minute) // the steps' clock
	// reported is a node's pod: Ready for so long (negative: not Ready),
	// on the current template or an old one.
	reported := func(node string, readyFor time.Duration, current bool) *corev1.Pod {
		src := byNode[node]
		if src == nil { // a node that should not run it
			src = byNode["a"]
		}
		p := src.DeepCopy()
		p.Spec.NodeName = node
		if !current {
			p.Labels = map[string]string{HashLabel: "old"}
		}
		st := corev1.ConditionTrue
		if readyFor < 0 {
			st = corev1.ConditionFalse
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.NewTime(at.Add(-readyFor))}}
		return p
	}
	tests := []struct {
		name   string
		actual []*corev1.Pod
		want   appsv1.DaemonSetStatus
	}{
		{"nothing reported", nil, appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, NumberUnavailable: 3}},
		{"all up, one too recently Ready", []*corev1.Pod{reported("a", time.Hour, true), reported("b", time.Hour, true), reported("c", time.Second, true)},
			appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, UpdatedNumberScheduled: 3, NumberReady: 3, NumberAvailable: 2, NumberUnavailable: 1}},
		{"an old template, a pod not Ready, one misscheduled", []*corev1.Pod{reported("a", time.Hour, false), reported("b", -1, true), reported("d", time.Hour, true)},
			appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 2, UpdatedNumberScheduled: 1, NumberReady: 1, NumberAvailable: 1, NumberUnavailable: 2, NumberMisscheduled: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Compute(Input{DaemonSets: []*appsv1.DaemonSet{ssd}, Nodes: nodes, Actual: tt.actual, States: first.Put, Now: at})
			if got := p.Status["kube-system/log"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("status\n%+v\nwant\n%+v", got, tt.want)
			}
			if got, ok := p.Put["kube-system/log"]; ok && !got.Created.Equal(now) {
				t.Errorf("created moved to %v", got.Created)
			}
		})
	}
}
