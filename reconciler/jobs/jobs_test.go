package jobs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func i32(v int32) *int32 { return &v }
func i64(v int64) *int64 { return &v }

func job(mod func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "work"}}
	j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	j.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox"}}
	if mod != nil {
		mod(j)
	}
	return j
}

// world runs steps, recording plans, with pod outcomes set by the test.
type world struct {
	t      *testing.T
	states map[string]State
	actual map[types.NamespacedName]*corev1.Pod
	gone   map[types.NamespacedName]bool
	now    time.Time
}

func newWorld(t *testing.T) *world {
	return &world{t: t, states: map[string]State{}, actual: map[types.NamespacedName]*corev1.Pod{},
		gone: map[types.NamespacedName]bool{}, now: t0}
}

func (w *world) step(j *batchv1.Job) (State, Plan) {
	p := Compute(Input{Jobs: []*batchv1.Job{j}, States: w.states, Actual: w.actual, Gone: w.gone, Now: w.now})
	for k, s := range p.Put {
		w.states[k] = s
	}
	for _, k := range p.Delete {
		delete(w.states, k)
	}
	return w.states[Key(j)], p
}

// set reports pod name with phase (and restarts).
func (w *world) set(name string, phase corev1.PodPhase, restarts int32) {
	p := &corev1.Pod{}
	p.Status.Phase = phase
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", RestartCount: restarts}}
	w.actual[types.NamespacedName{Namespace: "default", Name: name}] = p
}

func TestSequentialAndParallel(t *testing.T) {
	tests := []struct {
		name                     string
		completions, parallelism int32
		wantActive               []int // active pods after each round of successes
	}{
		{"sequential", 3, 1, []int{1, 1, 1, 0}},
		{"parallel", 4, 2, []int{2, 2, 0}},
		{"parallel, fewer missing than parallelism", 3, 5, []int{3, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			j := job(func(j *batchv1.Job) { j.Spec.Completions, j.Spec.Parallelism = &tt.completions, &tt.parallelism })
			st, _ := w.step(j)
			for round, want := range tt.wantActive {
				if len(st.Active) != want {
					t.Fatalf("round %d: %d active, want %d (%+v)", round, len(st.Active), want, st)
				}
				for _, name := range st.Active {
					w.set(name, corev1.PodSucceeded, 0)
				}
				st, _ = w.step(j)
				// The same step again (a new leader with the same ledger)
				// counts nothing twice.
				again, _ := w.step(j)
				if again.Succeeded != st.Succeeded {
					t.Fatalf("a repeated step counted again: %d -> %d", st.Succeeded, again.Succeeded)
				}
			}
			if st.Condition != Complete || st.Succeeded != tt.completions || len(st.Finished) != int(tt.completions) {
				t.Fatalf("final state %+v", st)
			}
		})
	}
}

func TestBackoffLimitAndOnFailure(t *testing.T) {
	w := newWorld(t)
	j := job(func(j *batchv1.Job) { j.Spec.BackoffLimit = i32(2) })
	for i := 0; i < 3; i++ {
		st, _ := w.step(j)
		if st.Condition != "" {
			t.Fatalf("failed too early after %d failures: %+v", i, st)
		}
		w.set(st.Active[0], corev1.PodFailed, 0)
	}
	st, p := w.step(j)
	if st.Condition != Failed || st.Reason != "BackoffLimitExceeded" || st.Failed != 3 || len(st.Active) != 0 {
		t.Fatalf("state %+v", st)
	}
	if len(p.Pods) != 3 {
		t.Fatalf("the failed pods should be kept: %d", len(p.Pods))
	}

	// OnFailure: container restarts count.
	w = newWorld(t)
	j = job(func(j *batchv1.Job) {
		j.Spec.BackoffLimit = i32(1)
		j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	})
	st, _ = w.step(j)
	w.set(st.Active[0], corev1.PodRunning, 1)
	if st, _ = w.step(j); st.Failed != 1 || st.Condition != "" {
		t.Fatalf("one restart: %+v", st)
	}
	w.set(st.Active[0], corev1.PodRunning, 2)
	if st, _ = w.step(j); st.Condition != Failed {
		t.Fatalf("two restarts over a limit of 1: %+v", st)
	}
}

func TestDeadlineTTLSuspendGoneAndNewSpec(t *testing.T) {
	w := newWorld(t)
	j := job(func(j *batchv1.Job) {
		j.Spec.ActiveDeadlineSeconds = i64(60)
		j.Spec.TTLSecondsAfterFinished = i32(30)
	})
	st, _ := w.step(j)
	first := st.Active[0]
	// Its node is lost: a failure, replaced.
	w.gone[types.NamespacedName{Namespace: "default", Name: first}] = true
	if st, _ = w.step(j); st.Failed != 1 || len(st.Active) != 1 || st.Active[0] == first {
		t.Fatalf("after the lost node: %+v", st)
	}
	w.now = t0.Add(61 * time.Second)
	st, p := w.step(j)
	if st.Condition != Failed || st.Reason != "DeadlineExceeded" || len(p.Pods) != 0 {
		t.Fatalf("deadline: %+v, %d pods", st, len(p.Pods))
	}
	w.now = t0.Add(92 * time.Second)
	if st, p = w.step(j); !st.Expired || len(p.Pods) != 0 {
		t.Fatalf("ttl: %+v", st)
	}
	// A new spec starts over.
	j2 := job(func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "busybox:2" })
	if st, _ = w.step(j2); st.Expired || len(st.Active) != 1 || st.Failed != 0 {
		t.Fatalf("new spec: %+v", st)
	}
	// Suspended: nothing runs, and the Job goes on (same spec) after.
	seq := st.Seq
	j3 := job(func(j *batchv1.Job) {
		j.Spec.Template.Spec.Containers[0].Image = "busybox:2"
		j.Spec.Suspend = new(bool)
	})
	*j3.Spec.Suspend = true
	if st, _ = w.step(j3); len(st.Active) != 0 || st.Seq != seq {
		t.Fatalf("suspended: %+v", st)
	}
	if st, _ = w.step(j2); len(st.Active) != 1 || st.Seq != seq+1 {
		t.Fatalf("resumed: %+v", st)
	}
	// Gone from Git: its state goes.
	p = Compute(Input{States: w.states, Now: w.now})
	if len(p.Delete) != 1 {
		t.Fatalf("plan %+v", p)
	}
}

// TestStatus: a Job's status as Kubernetes reports it, through its life:
// running (with a Ready pod), complete, failed by backoffLimit or by its
// deadline, suspended, and none once its TTL passed.
func TestStatus(t *testing.T) {
	type want struct {
		active, ready, succeeded, failed int32
		conditions                       string // "Type=Reason,..."
		completed                        bool   // completionTime set
	}
	tests := []struct {
		name string
		job  *batchv1.Job
		// run advances the world and returns the Job's status key's plan.
		run  func(w *world, j *batchv1.Job) Plan
		want want
		none bool
	}{
		{"running, one Ready", job(func(j *batchv1.Job) { j.Spec.Parallelism, j.Spec.Completions = i32(2), i32(3) }),
			func(w *world, j *batchv1.Job) Plan {
				st, _ := w.step(j)
				w.set(st.Active[0], corev1.PodRunning, 0)
				w.actual[types.NamespacedName{Namespace: "default", Name: st.Active[0]}].Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
				w.set(st.Active[1], corev1.PodSucceeded, 0)
				_, p := w.step(j)
				return p
			}, want{active: 2, ready: 1, succeeded: 1}, false},
		{"complete", job(nil), func(w *world, j *batchv1.Job) Plan {
			st, _ := w.step(j)
			w.set(st.Active[0], corev1.PodSucceeded, 0)
			w.now = t0.Add(time.Minute)
			_, p := w.step(j)
			return p
		}, want{succeeded: 1, conditions: "SuccessCriteriaMet=CompletionsReached,Complete=CompletionsReached", completed: true}, false},
		{"backoff limit", job(func(j *batchv1.Job) { j.Spec.BackoffLimit = i32(0) }), func(w *world, j *batchv1.Job) Plan {
			st, _ := w.step(j)
			w.set(st.Active[0], corev1.PodFailed, 0)
			_, p := w.step(j)
			return p
		}, want{failed: 1, conditions: "FailureTarget=BackoffLimitExceeded,Failed=BackoffLimitExceeded"}, false},
		{"deadline", job(func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = i64(10) }), func(w *world, j *batchv1.Job) Plan {
			w.step(j)
			w.now = t0.Add(10 * time.Second)
			_, p := w.step(j)
			return p
		}, want{conditions: "FailureTarget=DeadlineExceeded,Failed=DeadlineExceeded"}, false},
		{"suspended", job(func(j *batchv1.Job) { j.Spec.Suspend = new(bool); *j.Spec.Suspend = true }), func(w *world, j *batchv1.Job) Plan {
			_, p := w.step(j)
			return p
		}, want{conditions: "Suspended=JobSuspended"}, false},
		{"expired", job(func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = i32(0) }), func(w *world, j *batchv1.Job) Plan {
			st, _ := w.step(j)
			w.set(st.Active[0], corev1.PodSucceeded, 0)
			w.step(j)
			_, p := w.step(j)
			return p
		}, want{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			p := tt.run(w, tt.job)
			got, ok := p.Status[Key(tt.job)]
			if tt.none {
				if ok {
					t.Fatalf("an expired Job has a status: %+v", got)
				}
				return
			}
			var conds []string
			for _, c := range got.Conditions {
				if c.Status != corev1.ConditionTrue {
					t.Errorf("condition %s is %s", c.Type, c.Status)
				}
				conds = append(conds, string(c.Type)+"="+c.Reason)
			}
			g := want{active: got.Active, succeeded: got.Succeeded, failed: got.Failed, conditions: strings.Join(conds, ","), completed: got.CompletionTime != nil}
			if got.Ready != nil {
				g.ready = *got.Ready
			}
			if g != tt.want {
				t.Errorf("status %+v, want %+v", g, tt.want)
			}
			if got.StartTime == nil || !got.StartTime.Time.Equal(t0) {
				t.Errorf("start time %v, want %v", got.StartTime, t0)
			}
			if got.CompletionTime != nil && !got.CompletionTime.Time.Equal(t0.Add(time.Minute)) {
				t.Errorf("completion time %v", got.CompletionTime)
			}
		})
	}
}

// TestEqualIsJSONEquality checks equal, with its quick path, against the
// records' JSON.
func TestEqualIsJSONEquality(t *testing.T) {
	base := State{Spec: "s", Seq: 2, Start: t0, Active: []string{"a"}, Succeeded: 1, Restarts: map[string]int32{"a": 1}}
	tests := []struct {
		name string
		mod  func(*State)
	}{
		{"the same", func(*State) {}},
		{"empty lists and maps as none", func(s *State) { s.Finished, s.Restarts = []string{}, map[string]int32{} }},
		{"the same time in another zone", func(s *State) { s.Start = t0.In(time.FixedZone("X", 3600)) }},
		{"the same time in UTC", func(s *State) { s.Start = t0.UTC() }},
		{"another pod", func(s *State) { s.Active = []string{"b"} }},
		{"another restart count", func(s *State) { s.Restarts = map[string]int32{"a": 2} }},
		{"finished", func(s *State) { s.Condition, s.FinishTime = Complete, t0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := clone(base)
			tt.mod(&b)
			x, _ := json.Marshal(base)
			y, _ := json.Marshal(b)
			if want := string(x) == string(y); equal(base, b) != want {
				t.Fatalf("equal = %v, the JSON says %v:\n%s\n%s", !want, want, x, y)
			}
		})
	}
}
