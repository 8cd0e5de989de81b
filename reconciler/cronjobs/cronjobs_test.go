package cronjobs

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoal-run/shoal/reconciler/jobs"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 30, 0, time.UTC)

func cron(schedule string, mod func(*batchv1.CronJob)) *batchv1.CronJob {
	utc := "UTC"
	c := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "tick"}}
	c.Spec.Schedule, c.Spec.TimeZone = schedule, &utc
	c.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	c.Spec.JobTemplate.Spec.Template.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox"}}
	if mod != nil {
		mod(c)
	}
	return c
}

// ledger holds states through a JSON round trip, as the real one does.
type ledger struct {
	states map[string]State
	jobs   map[string]jobs.State
}

func (l *ledger) step(t *testing.T, c *batchv1.CronJob, now time.Time) Plan {
	p := Compute(Input{CronJobs: []*batchv1.CronJob{c}, States: l.states, JobStates: l.jobs, Now: now})
	for k, s := range p.Put {
		data, _ := json.Marshal(s)
		var back State
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		l.states[k] = back
	}
	return p
}

func (l *ledger) finish(job, cond string) { l.jobs["default/"+job] = jobs.State{Condition: cond} }

// jobNames are the plan's Jobs by name, sorted.
func jobNames(p Plan) []string {
	var out []string
	for _, j := range p.Jobs {
		out = append(out, j.Name)
	}
	sort.Strings(out)
	return out
}

func TestScheduleFiresOnceAcrossLeaders(t *testing.T) {
	l := &ledger{states: map[string]State{}, jobs: map[string]jobs.State{}}
	c := cron("*/5 * * * *", nil)
	if p := l.step(t, c, t0); len(p.Jobs) != 0 {
		t.Fatalf("a new CronJob ran a time before it was seen: %v", jobNames(p))
	}
	at := time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)
	p := l.step(t, c, at.Add(2*time.Second))
	want := "tick-29929685" // 12:05 UTC in minutes since the epoch
	if len(p.Jobs) != 1 || p.Jobs[0].Name != want {
		t.Fatalf("jobs %v, want %s", jobNames(p), want)
	}
	// The same step again, or a new leader that lost the last write: the
	// same Job, not a second one.
	if p = l.step(t, c, at.Add(20*time.Second)); len(p.Jobs) != 1 || len(p.Put) != 0 {
		t.Fatalf("second step: %v, put %v", jobNames(p), p.Put)
	}
	lost := &ledger{states: map[string]State{"default/tick": {Since: t0}}, jobs: map[string]jobs.State{}}
	if p = lost.step(t, c, at.Add(20*time.Second)); len(p.Jobs) != 1 || p.Jobs[0].Name != want {
		t.Fatalf("a leader without the last write made %v", jobNames(p))
	}
	// Missed runs: only the most recent fires.
	l.finish(want, jobs.Complete)
	p = l.step(t, c, at.Add(16*time.Minute))
	got := jobNames(p)
	if len(got) != 2 || got[0] != want || got[1] != "tick-29929700" {
		t.Fatalf("after missed runs: %v", got)
	}
	if j := p.Jobs[0]; j.OwnerReferences[0].Kind != "CronJob" || j.Spec.Template.Spec.Containers[0].Image != "busybox" {
		t.Fatalf("job %+v", j.ObjectMeta)
	}
}

func TestConcurrencyDeadlineSuspendHistory(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	i32 := func(v int32) *int32 { return &v }
	const r2, r3 = "tick-29929682", "tick-29929683" // 12:02 and 12:03 UTC
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		mod         func(*batchv1.CronJob)
		finishFirst bool          // 12:02's Job ends before 12:03
		late        time.Duration // how long after 12:03 the step runs
		want        string
	}{
		{"allow runs alongside", nil, false, time.Second, r2 + "," + r3},
		{"forbid waits", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent }, false, time.Second, r2},
		{"forbid runs once the first ended", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent }, true, time.Second, r2 + "," + r3},
		{"replace", func(c *batchv1.CronJob) { c.Spec.ConcurrencyPolicy = batchv1.ReplaceConcurrent }, false, time.Second, r3},
		{"too late for the deadline", func(c *batchv1.CronJob) { c.Spec.StartingDeadlineSeconds = i64(10) }, false, 30 * time.Second, r2},
		{"within the deadline", func(c *batchv1.CronJob) { c.Spec.StartingDeadlineSeconds = i64(60) }, false, 30 * time.Second, r2 + "," + r3},
		{"suspended", func(c *batchv1.CronJob) { c.Spec.Suspend = new(bool); *c.Spec.Suspend = true }, false, time.Second, ""},
		{"history limit 0 drops the finished run", func(c *batchv1.CronJob) { c.Spec.SuccessfulJobsHistoryLimit = i32(0) }, true, time.Second, r3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &ledger{states: map[string]State{"default/tick": {Since: base.Add(90 * time.Second)}}, jobs: map[string]jobs.State{}}
			c := cron("* * * * *", tt.mod)
			l.step(t, c, base.Add(2*time.Minute+time.Second))
			if tt.finishFirst {
				l.finish(r2, jobs.Complete)
			}
			p := l.step(t, c, base.Add(3*time.Minute+tt.late))
			if got := strings.Join(jobNames(p), ","); got != tt.want {
				t.Fatalf("jobs %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStatus: the running Jobs, the last schedule time and the last
// success (the Job's finish time, or its schedule time once the Job's
// record is gone).
func TestStatus(t *testing.T) {
	const r2, r3 = "tick-29929682", "tick-29929683" // 12:02 and 12:03 UTC
	base := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	finished := base.Add(2*time.Minute + 40*time.Second)
	tests := []struct {
		name        string
		jobs        map[string]jobs.State // after 12:02 ran
		active      string
		lastSuccess time.Time
	}{
		{"both running", nil, r2 + "," + r3, time.Time{}},
		{"12:02 complete", map[string]jobs.State{"default/" + r2: {Condition: jobs.Complete, FinishTime: finished}}, r3, finished},
		{"12:02 complete, its record gone", map[string]jobs.State{"default/" + r2: {Condition: jobs.Complete}}, r3, base.Add(2 * time.Minute)},
		{"12:02 failed", map[string]jobs.State{"default/" + r2: {Condition: jobs.Failed, FinishTime: finished}}, r3, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &ledger{states: map[string]State{"default/tick": {Since: base.Add(90 * time.Second)}}, jobs: map[string]jobs.State{}}
			c := cron("* * * * *", nil)
			if st := l.step(t, c, base.Add(2*time.Minute+time.Second)).Status["default/tick"]; len(st.Active) != 1 || st.Active[0].Name != r2 {
				t.Fatalf("first run: active %+v", st.Active)
			}
			for k, v := range tt.jobs {
				l.jobs[k] = v
			}
			st := l.step(t, c, base.Add(3*time.Minute+time.Second)).Status["default/tick"]
			var active []string
			for _, ref := range st.Active {
				if ref.Kind != "Job" || ref.APIVersion != "batch/v1" || ref.Namespace != "default" || ref.UID == "" {
					t.Errorf("reference %+v", ref)
				}
				active = append(active, ref.Name)
			}
			if got := strings.Join(active, ","); got != tt.active {
				t.Errorf("active %s, want %s", got, tt.active)
			}
			if st.LastScheduleTime == nil || !st.LastScheduleTime.Time.Equal(base.Add(3*time.Minute)) {
				t.Errorf("last schedule %v", st.LastScheduleTime)
			}
			switch {
			case tt.lastSuccess.IsZero() && st.LastSuccessfulTime != nil:
				t.Errorf("last success %v, want none", st.LastSuccessfulTime)
			case !tt.lastSuccess.IsZero() && (st.LastSuccessfulTime == nil || !st.LastSuccessfulTime.Time.Equal(tt.lastSuccess)):
				t.Errorf("last success %v, want %v", st.LastSuccessfulTime, tt.lastSuccess)
			}
		})
	}
}
