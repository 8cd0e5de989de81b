package replicas

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func rs(name string, replicas int32) Controller {
	return Controller{
		Kind: "ReplicaSet", APIVersion: "apps/v1", Namespace: "default", Name: name, Replicas: replicas,
		Template: &corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
		},
	}
}

func key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: "default", Name: name}
}

// apply records a plan as the leader does, for the next Compute.
func apply(in *Input, p Plan) {
	if in.Owned == nil {
		in.Owned = map[types.NamespacedName]Owned{}
	}
	if in.Seq == nil {
		in.Seq = map[string]uint64{}
	}
	for k, o := range p.Create {
		in.Owned[k] = o
	}
	for _, k := range p.Delete {
		delete(in.Owned, k)
	}
	for k, s := range p.Seq {
		in.Seq[k] = s
	}
	if in.Templates == nil {
		in.Templates = map[string]map[string]corev1.PodTemplateSpec{}
	}
	for c, ts := range p.PutTemplates {
		if in.Templates[c] == nil {
			in.Templates[c] = map[string]corev1.PodTemplateSpec{}
		}
		for h, t := range ts {
			in.Templates[c][h] = t
		}
	}
	for c, hs := range p.DeleteTemplates {
		for _, h := range hs {
			delete(in.Templates[c], h)
		}
	}
}

func pod(phase corev1.PodPhase, ready bool) *corev1.Pod {
	p := &corev1.Pod{Status: corev1.PodStatus{Phase: phase}}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	return p
}

func TestScaleUpMakesStablePods(t *testing.T) {
	in := Input{Controllers: []Controller{rs("web", 3)}, Now: now}
	p := Compute(in)
	if len(p.Pods) != 3 || len(p.Create) != 3 || p.Seq["ReplicaSet/default/web"] != 3 {
		t.Fatalf("plan: %d pods, %d creates, seq %v", len(p.Pods), len(p.Create), p.Seq)
	}
	for _, pod := range p.Pods {
		if !strings.HasPrefix(pod.Name, "web-") || len(pod.Name) != len("web-")+5 || pod.Labels["app"] != "web" ||
			len(pod.OwnerReferences) != 1 || pod.OwnerReferences[0].Kind != "ReplicaSet" || pod.OwnerReferences[0].UID == "" {
			t.Fatalf("pod %+v", pod.ObjectMeta)
		}
	}
	// The same input gives the same names; once recorded, nothing changes.
	if again := Compute(in); again.Pods[0].Name != p.Pods[0].Name {
		t.Fatal("names are not deterministic")
	}
	apply(&in, p)
	next := Compute(in)
	if len(next.Create) != 0 || len(next.Delete) != 0 || len(next.Seq) != 0 || len(next.Pods) != 3 {
		t.Fatalf("a recorded plan changed again: %+v", next)
	}
	if next.Status["ReplicaSet/default/web"].Replicas != 3 {
		t.Fatalf("status %+v", next.Status)
	}
}

func TestScaleDownOrder(t *testing.T) {
	in := Input{Controllers: []Controller{rs("web", 4)}, Now: now}
	p := Compute(in)
	apply(&in, p)
	names := []string{}
	for _, pod := range p.Pods {
		names = append(names, pod.Name)
	}
	// Created at different times; one not reported, one not ready.
	for i, n := range names {
		o := in.Owned[key(n)]
		o.Created = now.Add(time.Duration(i) * time.Minute)
		in.Owned[key(n)] = o
	}
	in.Actual = map[types.NamespacedName]*corev1.Pod{
		key(names[0]): pod(corev1.PodRunning, true),
		key(names[1]): pod(corev1.PodRunning, false),
		key(names[3]): pod(corev1.PodRunning, true),
		// names[2] not reported
	}
	tests := []struct {
		replicas int32
		deleted  []string
	}{
		{3, []string{names[2]}},
		{2, []string{names[1], names[2]}},
		{1, []string{names[1], names[2], names[3]}},
		{0, names},
	}
	for _, tt := range tests {
		in.Controllers = []Controller{rs("web", tt.replicas)}
		got := Compute(in)
		var del []string
		for _, k := range got.Delete {
			del = append(del, k.Name)
		}
		if strings.Join(sorted(del), ",") != strings.Join(sorted(tt.deleted), ",") || len(got.Pods) != int(tt.replicas) {
			t.Errorf("replicas %d: deleted %v, want %v (%d pods)", tt.replicas, del, tt.deleted, len(got.Pods))
		}
	}
}

func TestEndedAndGonePodsAreReplaced(t *testing.T) {
	in := Input{Controllers: []Controller{rs("web", 3)}, Now: now}
	apply(&in, Compute(in))
	var names []string
	for k := range in.Owned {
		names = append(names, k.Name)
	}
	names = sorted(names)
	in.Actual = map[types.NamespacedName]*corev1.Pod{
		key(names[0]): pod(corev1.PodFailed, false),
		key(names[1]): pod(corev1.PodRunning, true),
	}
	in.Gone = map[types.NamespacedName]bool{key(names[2]): true}
	p := Compute(in)
	if len(p.Delete) != 2 || len(p.Create) != 2 || len(p.Pods) != 3 {
		t.Fatalf("plan: delete %v, create %v, %d pods", p.Delete, p.Create, len(p.Pods))
	}
	for k := range p.Create {
		if k.Name == names[0] || k.Name == names[2] {
			t.Fatalf("a replacement reused the name %s", k.Name)
		}
	}
	if p.Status["ReplicaSet/default/web"].ReadyReplicas != 1 {
		t.Fatalf("status %+v", p.Status)
	}
}

func TestControllerGoneDeletesItsPods(t *testing.T) {
	in := Input{Controllers: []Controller{rs("web", 2), rs("api", 1)}, Now: now}
	apply(&in, Compute(in))
	in.Controllers = []Controller{rs("api", 1)}
	p := Compute(in)
	if len(p.Delete) != 2 || len(p.Pods) != 1 || !strings.HasPrefix(p.Pods[0].Name, "api-") {
		t.Fatalf("plan: delete %v, pods %d", p.Delete, len(p.Pods))
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// gitRS is a repository's ReplicaSet: it keeps its pods' templates and
// selects app=name.
func gitRS(name, image string, replicas int32) Controller {
	c := rs(name, replicas)
	c.Template.Spec.Containers[0].Image = image
	c.KeepTemplates = true
	c.Selector = labels.SelectorFromSet(labels.Set{"app": name})
	return c
}

func images(pods []*corev1.Pod) map[string]int {
	out := map[string]int{}
	for _, p := range pods {
		out[p.Spec.Containers[0].Image]++
	}
	return out
}

// TestTemplateChangeKeepsPods: a ReplicaSet's template change in Git
// leaves its pods as they were; only new pods (a scale-up, a replacement)
// take the new template, and a template no pod runs is forgotten.
func TestTemplateChangeKeepsPods(t *testing.T) {
	in := Input{Controllers: []Controller{gitRS("web", "app:1", 2)}, Now: now}
	apply(&in, Compute(in))
	in.Controllers = []Controller{gitRS("web", "app:2", 3)}
	p := Compute(in)
	if got := images(p.Pods); got["app:1"] != 2 || got["app:2"] != 1 {
		t.Fatalf("after the template change: %v, want the 2 pods on app:1 and 1 new on app:2", got)
	}
	if len(p.Delete) != 0 {
		t.Fatalf("deleted %v", p.Delete)
	}
	apply(&in, p)
	if n := len(in.Templates["ReplicaSet/default/web"]); n != 2 {
		t.Fatalf("%d templates kept, want both in use", n)
	}
	// The old pods end: their replacements take app:2, and app:1 is
	// forgotten.
	in.Actual = map[types.NamespacedName]*corev1.Pod{}
	for k, o := range in.Owned {
		if o.Template == "" {
			t.Fatalf("record %v names no template", k)
		}
		if in.Templates["ReplicaSet/default/web"][o.Template].Spec.Containers[0].Image == "app:1" {
			in.Actual[k] = pod(corev1.PodFailed, false)
		}
	}
	apply(&in, Compute(in))
	in.Actual = nil
	p = Compute(in)
	if got := images(p.Pods); got["app:2"] != 3 {
		t.Fatalf("after replacing: %v", got)
	}
	apply(&in, p)
	if n := len(in.Templates["ReplicaSet/default/web"]); n != 1 {
		t.Fatalf("%d templates kept, want the one in use", n)
	}
	// The ReplicaSet leaves Git: its templates go too.
	in.Controllers = nil
	p = Compute(in)
	if len(p.DeleteTemplates["ReplicaSet/default/web"]) != 1 || len(p.Delete) != 3 {
		t.Fatalf("controller gone: delete %v, templates %v", p.Delete, p.DeleteTemplates)
	}
}

// TestSelectorChangeReleasesPods: pods whose labels stop matching the
// selector are let go (released without their ownerReference, as they run)
// and replaced.
func TestSelectorChangeReleasesPods(t *testing.T) {
	in := Input{Controllers: []Controller{gitRS("web", "app:1", 2)}, Now: now}
	apply(&in, Compute(in))
	before := map[types.NamespacedName]bool{}
	for k := range in.Owned {
		before[k] = true
	}
	// New labels and selector: tier=front.
	c := gitRS("web", "app:1", 2)
	c.Template.Labels = map[string]string{"tier": "front"}
	c.Selector = labels.SelectorFromSet(labels.Set{"tier": "front"})
	in.Controllers = []Controller{c}
	p := Compute(in)
	if len(p.Release) != 2 {
		t.Fatalf("released %d pods, want 2", len(p.Release))
	}
	for k, pod := range p.Release {
		if !before[k] || len(pod.OwnerReferences) != 0 || pod.Labels["app"] != "web" {
			t.Fatalf("released %v: %+v", k, pod.ObjectMeta)
		}
	}
	if len(p.Delete) != 2 || len(p.Create) != 2 {
		t.Fatalf("delete %v create %v", p.Delete, p.Create)
	}
	for _, pod := range p.Pods {
		if before[types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}] || pod.Labels["tier"] != "front" {
			t.Fatalf("controller pod %s %v", pod.Name, pod.Labels)
		}
	}
	// A Deployment's ReplicaSet (no selector given) never releases.
	d := rs("web-abc", 1)
	in = Input{Controllers: []Controller{d}, Now: now}
	apply(&in, Compute(in))
	d.Template.Labels = map[string]string{"other": "x"}
	if p := Compute(in); len(p.Release) != 0 {
		t.Fatalf("released %v", p.Release)
	}
}

// TestStatusCounts: replicas are the live records, ready those a node
// reports Ready, available those Ready for minReadySeconds by the clock.
func TestStatusCounts(t *testing.T) {
	readyFor := func(d time.Duration) *corev1.Pod {
		p := pod(corev1.PodRunning, true)
		p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(now.Add(-d))
		return p
	}
	tests := []struct {
		name     string
		minReady int32
		pods     []*corev1.Pod // reported, in name order; nil: not reported
		want     Status
	}{
		{"none reported", 0, []*corev1.Pod{nil, nil, nil}, Status{Replicas: 3}},
		{"ready is available without minReadySeconds", 0,
			[]*corev1.Pod{readyFor(0), pod(corev1.PodRunning, false), nil}, Status{Replicas: 3, ReadyReplicas: 1, AvailableReplicas: 1}},
		{"minReadySeconds holds back the newly Ready", 30,
			[]*corev1.Pod{readyFor(time.Minute), readyFor(10 * time.Second), readyFor(30 * time.Second)}, Status{Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := rs("web", 3)
			c.MinReadySeconds = tt.minReady
			in := Input{Controllers: []Controller{c}, Now: now}
			apply(&in, Compute(in))
			var names []string
			for k := range in.Owned {
				names = append(names, k.Name)
			}
			in.Actual = map[types.NamespacedName]*corev1.Pod{}
			for i, n := range sorted(names) {
				if tt.pods[i] != nil {
					in.Actual[key(n)] = tt.pods[i]
				}
			}
			if got := Compute(in).Status["ReplicaSet/default/web"]; got != tt.want {
				t.Errorf("status %+v, want %+v", got, tt.want)
			}
		})
	}
}
