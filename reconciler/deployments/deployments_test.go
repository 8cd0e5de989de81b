package deployments

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func deploy(image string, replicas int32, mod func(*appsv1.Deployment)) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}}
	d.Spec.Replicas = &replicas
	d.Spec.Template.Labels = map[string]string{"app": "web"}
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: image}}
	d.Spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	if mod != nil {
		mod(d)
	}
	return d
}

// sim is a cluster for one Deployment: its ledger records and, per
// ReplicaSet hash, how many of its pods exist and how many are Ready.
type sim struct {
	t     *testing.T
	sets  map[string]map[string]Set
	pods  map[string]int32 // hash -> pods reported
	ready map[string]int32 // hash -> of which Ready
}

func newSim(t *testing.T) *sim {
	return &sim{t: t, sets: map[string]map[string]Set{}, pods: map[string]int32{}, ready: map[string]int32{}}
}

// actual are the pods the sim's counts describe.
func (s *sim) actual() []*corev1.Pod {
	var actual []*corev1.Pod
	for h, n := range s.pods {
		for i := int32(0); i < n; i++ {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("%s-%d", h, i),
				OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-" + h}}}}
			p.Status.Phase = corev1.PodRunning
			st := corev1.ConditionFalse
			if i < s.ready[h] {
				st = corev1.ConditionTrue
			}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.NewTime(now.Add(-time.Hour))}}
			actual = append(actual, p)
		}
	}
	return actual
}

// step runs Compute, records its plan, and makes each ReplicaSet's pods
// follow its replicas (new pods not Ready).
func (s *sim) step(d *appsv1.Deployment) map[string]int32 {
	plan := Compute(Input{Deployments: []*appsv1.Deployment{d}, Sets: s.sets, Actual: s.actual(), Now: now})
	key := Key(d)
	if s.sets[key] == nil {
		s.sets[key] = map[string]Set{}
	}
	for h, set := range plan.Put[key] {
		s.sets[key][h] = set
	}
	for _, h := range plan.Delete[key] {
		delete(s.sets[key], h)
	}
	out := map[string]int32{}
	for h, set := range s.sets[key] {
		out[h] = set.Replicas
		// Pods follow: the ReplicaSet controller adds or deletes (not
		// Ready ones first).
		if s.pods[h] > set.Replicas {
			drop := s.pods[h] - set.Replicas
			notReady := s.pods[h] - s.ready[h]
			s.pods[h] = set.Replicas
			if drop > notReady {
				s.ready[h] -= drop - notReady
			}
		} else {
			s.pods[h] = set.Replicas
		}
	}
	if len(plan.Controllers) != len(s.sets[key]) {
		s.t.Fatalf("%d controllers for %d ReplicaSets", len(plan.Controllers), len(s.sets[key]))
	}
	return out
}

func TestRollingUpdateStepByStep(t *testing.T) {
	s := newSim(t)
	surge, unav := intstr.FromInt32(1), intstr.FromInt32(1)
	mod := func(d *appsv1.Deployment) {
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unav}
	}
	v1, v2 := deploy("app:1", 4, mod), deploy("app:2", 4, mod)
	h1, h2 := TemplateHash(&v1.Spec.Template), TemplateHash(&v2.Spec.Template)
	if h1 == h2 {
		t.Fatal("two templates, one hash")
	}
	if got := s.step(v1); got[h1] != 4 {
		t.Fatalf("first rollout: %v", got)
	}
	s.ready[h1] = 4
	steps := []struct {
		readyNew  int32 // Ready pods of the new ReplicaSet before the step
		old, next int32
	}{
		{0, 3, 1}, // surge one new, one old goes (4 available, 3 needed)
		{0, 3, 2}, // surge to 5 in total; nothing else may go
		{0, 3, 2}, // waiting for readiness
		{2, 1, 2}, // two new Ready: two old go
		{2, 1, 4}, // back under the surge: the new one grows
		{4, 0, 4}, // all Ready: the last old one goes
	}
	for i, st := range steps {
		s.ready[h2] = st.readyNew
		got := s.step(v2)
		if got[h1] != st.old || got[h2] != st.next {
			t.Fatalf("step %d: old %d new %d, want %d and %d", i, got[h1], got[h2], st.old, st.next)
		}
		total := got[h1] + got[h2]
		if total > 5 {
			t.Fatalf("step %d: %d replicas, more than replicas + maxSurge", i, total)
		}
		if avail := min(s.ready[h1], s.pods[h1]) + s.ready[h2]; avail < 3 {
			t.Fatalf("step %d: %d available, fewer than replicas - maxUnavailable", i, avail)
		}
	}
	if s.sets["default/web"][h2].Revision != 2 || s.sets["default/web"][h1].Revision != 1 {
		t.Fatalf("revisions %+v", s.sets["default/web"])
	}
	if s.sets["default/web"][h2].Template.Labels[HashLabel] != h2 {
		t.Fatalf("template labels %v", s.sets["default/web"][h2].Template.Labels)
	}

	// Rolling back to v1 revives its ReplicaSet under revision 3.
	s.ready[h2] = 4
	got := s.step(v1)
	if s.sets["default/web"][h1].Revision != 3 || got[h1] == 0 {
		t.Fatalf("rollback: %v, revision %d", got, s.sets["default/web"][h1].Revision)
	}
}

func TestRecreateWaitsForOldPods(t *testing.T) {
	s := newSim(t)
	mod := func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType }
	v1, v2 := deploy("app:1", 3, mod), deploy("app:2", 3, mod)
	h1, h2 := TemplateHash(&v1.Spec.Template), TemplateHash(&v2.Spec.Template)
	s.step(v1)
	s.ready[h1] = 3
	s.pods[h1] = 3
	// The old pods are still reported this step (the sim removes them
	// after): the new ReplicaSet waits.
	s.pods[h1] = 3
	got := s.step(v2)
	if got[h1] != 0 || got[h2] != 0 {
		t.Fatalf("first step: %v", got)
	}
	got = s.step(v2) // old pods gone now
	if got[h2] != 3 {
		t.Fatalf("second step: %v", got)
	}
}

func TestPausedAndHistory(t *testing.T) {
	s := newSim(t)
	hist := int32(1)
	v := func(image string, replicas int32, paused bool) *appsv1.Deployment {
		return deploy(image, replicas, func(d *appsv1.Deployment) { d.Spec.Paused = paused; d.Spec.RevisionHistoryLimit = &hist })
	}
	s.step(v("app:1", 2, false))
	// Paused: a new template rolls nothing out, a new count still applies.
	got := s.step(v("app:2", 3, true))
	if len(got) != 1 || got[TemplateHash(&v("app:1", 2, false).Spec.Template)] != 3 {
		t.Fatalf("paused: %v", got)
	}
	// Unpaused through three templates: one idle ReplicaSet is kept.
	for _, img := range []string{"app:2", "app:3", "app:4"} {
		d := v(img, 2, false)
		for i := 0; i < 6; i++ {
			for h := range s.pods {
				s.ready[h] = s.pods[h]
			}
			s.step(d)
		}
	}
	if n := len(s.sets["default/web"]); n != 2 {
		t.Fatalf("%d ReplicaSets kept, want the current one and 1 of history", n)
	}
}

func TestDeploymentGoneRemovesItsReplicaSets(t *testing.T) {
	s := newSim(t)
	s.step(deploy("app:1", 2, nil))
	plan := Compute(Input{Sets: s.sets, Now: now})
	if len(plan.Delete["default/web"]) != 1 || len(plan.Controllers) != 0 {
		t.Fatalf("plan %+v", plan)
	}
}

// TestRollingUpdateWithStaleReadiness: when the leader has not heard that
// the old pods are Ready, the rollout waits instead of removing them (it
// once removed them all: unavailable old pods were cleaned up without the
// bound Kubernetes puts on it).
func TestRollingUpdateWithStaleReadiness(t *testing.T) {
	s := newSim(t)
	surge, unav := intstr.FromInt32(1), intstr.FromInt32(0)
	mod := func(d *appsv1.Deployment) {
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unav}
	}
	v1, v2 := deploy("app:1", 3, mod), deploy("app:2", 3, mod)
	h1, h2 := TemplateHash(&v1.Spec.Template), TemplateHash(&v2.Spec.Template)
	s.step(v1)
	s.ready[h1] = 0 // running, but no Ready report yet
	for i := 0; i < 3; i++ {
		got := s.step(v2)
		if got[h1] != 3 || got[h2] != 1 {
			t.Fatalf("step %d: old %d new %d, want 3 and 1", i, got[h1], got[h2])
		}
	}
	s.ready[h1], s.ready[h2] = 3, 1
	if got := s.step(v2); got[h1] != 2 {
		t.Fatalf("with the reports in: old %d, want 2", got[h1])
	}
}

func TestProgressing(t *testing.T) {
	s := newSim(t)
	deadline := int32(60)
	mod := func(d *appsv1.Deployment) { d.Spec.ProgressDeadlineSeconds = &deadline }
	v1 := deploy("app:1", 2, mod)
	h1 := TemplateHash(&v1.Spec.Template)
	progressing := func(at time.Time) (string, appsv1.DeploymentStatus) {
		plan := Compute(Input{Deployments: []*appsv1.Deployment{v1}, Sets: s.sets, Actual: s.actual(), Now: at})
		for h, set := range plan.Put["default/web"] {
			s.sets["default/web"][h] = set
		}
		st := plan.Status["default/web"]
		for _, c := range st.Conditions {
			if c.Type == appsv1.DeploymentProgressing {
				return c.Reason, st
			}
		}
		return "", st
	}
	s.step(v1)
	if r, _ := progressing(now); r != ReasonReplicaSetUpdated {
		t.Fatalf("just started: %s", r)
	}
	// No pod ever Ready: past the deadline, the rollout has timed out.
	if r, _ := progressing(now.Add(61 * time.Second)); r != ReasonProgressDeadlineExceeded {
		t.Fatalf("past the deadline: %s", r)
	}
	s.ready[h1] = 2
	r, st := progressing(now.Add(62 * time.Second))
	if r != ReasonNewReplicaSetAvailable || st.UpdatedReplicas != 2 || st.AvailableReplicas != 2 || st.ReadyReplicas != 2 {
		t.Fatalf("all Ready: %s %+v", r, st)
	}
}

// TestProportionalScaling is the example of the Kubernetes documentation
// (Deployments, proportional scaling): 10 replicas, maxSurge 3,
// maxUnavailable 2, a rollout stuck on pods that never get Ready, then
// scaled to 15: the 5 new replicas are shared 3 to the old ReplicaSet
// and 2 to the new one.
func TestProportionalScaling(t *testing.T) {
	surge, unav := intstr.FromInt32(3), intstr.FromInt32(2)
	mod := func(d *appsv1.Deployment) {
		d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unav}
	}
	tests := []struct {
		name           string
		scaleTo        int32
		paused         bool
		wantOld, wantN int32
	}{
		{name: "up", scaleTo: 15, wantOld: 11, wantN: 7},
		{name: "down", scaleTo: 5, wantOld: 5, wantN: 3},
		{name: "to zero", scaleTo: 0, wantOld: 0, wantN: 0},
		{name: "up while paused", scaleTo: 15, paused: true, wantOld: 11, wantN: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(t)
			v1 := deploy("app:1", 10, mod)
			h1 := TemplateHash(&v1.Spec.Template)
			s.step(v1)
			s.ready[h1] = 10
			v2 := deploy("app:2", 10, mod)
			h2 := TemplateHash(&v2.Spec.Template)
			s.step(v2)
			if got := s.step(v2); got[h1] != 8 || got[h2] != 5 {
				t.Fatalf("stuck rollout: old %d new %d, want 8 and 5", got[h1], got[h2])
			}
			scaled := deploy("app:2", tt.scaleTo, func(d *appsv1.Deployment) { mod(d); d.Spec.Paused = tt.paused })
			got := s.step(scaled)
			if got[h1] != tt.wantOld || got[h2] != tt.wantN {
				t.Fatalf("scaled to %d: old %d new %d, want %d and %d", tt.scaleTo, got[h1], got[h2], tt.wantOld, tt.wantN)
			}
			for h, set := range s.sets["default/web"] {
				if set.Replicas > 0 && set.Desired != tt.scaleTo {
					t.Fatalf("ReplicaSet %s sized for %d, want %d", h, set.Desired, tt.scaleTo)
				}
			}
			// Sized: the next step is a rollout step again, within
			// replicas + maxSurge.
			if got := s.step(scaled); !tt.paused && got[h1]+got[h2] > tt.scaleTo+3 {
				t.Fatalf("after scaling: %v over replicas + maxSurge", got)
			}
		})
	}
}

// TestReplicaSetObject: a Deployment's ReplicaSet record as the API shows
// it, named, selected and owned as Kubernetes makes it.
func TestReplicaSetObject(t *testing.T) {
	d := deploy("nginx:1", 3, func(d *appsv1.Deployment) {
		d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
		d.Spec.MinReadySeconds = 5
	})
	p := Compute(Input{Deployments: []*appsv1.Deployment{d}, Now: now})
	var hash string
	var set Set
	for h, s := range p.Put["default/web"] {
		hash, set = h, s
	}
	rs := ReplicaSet(d, "uid-1", hash, set)
	switch {
	case rs.Name != "web-"+hash || rs.Namespace != "default" || rs.Kind != "ReplicaSet":
		t.Errorf("name %s/%s kind %s", rs.Namespace, rs.Name, rs.Kind)
	case rs.Labels[HashLabel] != hash || rs.Labels["app"] != "web":
		t.Errorf("labels %v", rs.Labels)
	case rs.Spec.Selector.MatchLabels[HashLabel] != hash || rs.Spec.Selector.MatchLabels["app"] != "web" || d.Spec.Selector.MatchLabels[HashLabel] != "":
		t.Errorf("selector %v (the Deployment's %v)", rs.Spec.Selector, d.Spec.Selector)
	case *rs.Spec.Replicas != set.Replicas || rs.Spec.MinReadySeconds != 5 || !rs.CreationTimestamp.Time.Equal(now):
		t.Errorf("spec %+v created %v", rs.Spec, rs.CreationTimestamp)
	case rs.Annotations[RevisionAnnotation] != "1":
		t.Errorf("annotations %v", rs.Annotations)
	case len(rs.OwnerReferences) != 1 || rs.OwnerReferences[0].Kind != "Deployment" || rs.OwnerReferences[0].Name != "web" || rs.OwnerReferences[0].UID != "uid-1":
		t.Errorf("owner %+v", rs.OwnerReferences)
	}
	if c := p.Controllers[0]; c.MinReadySeconds != 5 || c.Name != rs.Name {
		t.Errorf("controller %s minReadySeconds %d", c.Name, c.MinReadySeconds)
	}
}
