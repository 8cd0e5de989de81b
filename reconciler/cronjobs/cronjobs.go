// Package cronjobs is the CronJob controller as a pure function:
// Compute(Input) Plan, with the clock in Input.Now.
//
// A CronJob's schedule state lives in the replicated ledger (Input.States,
// Plan.Put): the last schedule time it acted on, its running Jobs and its
// finished ones. The Jobs it makes are named "<cronjob>-<scheduled time in
// minutes since the epoch>" as Kubernetes names them, so a new leader that
// did not see the last write makes the same Job again, not a second one:
// a schedule never fires twice, and a missed one fires when the leader
// that takes over is still within its deadline. The Jobs are handed to the
// Job controller (package jobs) like Jobs from Git.
//
// # Rules (Kubernetes' CronJob controller)
//
//   - The schedule is read by manifests.ParseCronSchedule (robfig/cron's
//     standard parser, the five fields and the @hourly-style macros, in
//     spec.timeZone or the leader's local zone).
//   - Each step looks for the most recent scheduled time after the last one
//     acted on (for a new CronJob: after the leader first saw it) and not
//     after now; only that one runs, however many were missed. With
//     startingDeadlineSeconds, a time older than that is skipped.
//   - concurrencyPolicy Allow runs it; Forbid waits while a Job of this
//     CronJob still runs (the time stays due, within its deadline);
//     Replace stops the running Jobs and runs it.
//   - suspend: nothing new runs.
//   - successfulJobsHistoryLimit (default 3) and failedJobsHistoryLimit
//     (default 1) finished Jobs are kept, with their pods; older ones go.
package cronjobs

import (
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/reconciler/internal/memo"
	"github.com/shoal-run/shoal/reconciler/internal/names"
	"github.com/shoal-run/shoal/reconciler/jobs"
)

// State is a CronJob's schedule state, the ledger record.
type State struct {
	// Since is when the leader first saw the CronJob: no earlier time runs.
	Since time.Time `json:"since"`
	// LastSchedule is the last scheduled time acted on (run or skipped).
	LastSchedule time.Time `json:"lastSchedule,omitempty"`
	// Active are the running Jobs, History the finished ones, oldest first.
	Active  []Run `json:"active,omitempty"`
	History []Run `json:"history,omitempty"`
}

// Run is one Job of a CronJob.
type Run struct {
	Job       string    `json:"job"`
	Scheduled time.Time `json:"scheduled"`
	// Condition is jobs.Complete or jobs.Failed once finished.
	Condition string `json:"condition,omitempty"`
}

// Input is everything Compute needs; it is not modified.
type Input struct {
	CronJobs []*batchv1.CronJob
	// States are the ledger's, by "namespace/name".
	States map[string]State
	// JobStates are the Job controller's records, by "namespace/name", to
	// see which Jobs finished.
	JobStates map[string]jobs.State
	Now       time.Time
	// Memo, if set, is what Compute remembers across calls; it changes no
	// result. The CronJobs must then be objects that never change (those
	// of a manifests.Set).
	Memo *Memo
}

// Memo is what Compute remembers across the leader's steps: each CronJob's
// parsed schedule and the Jobs made from its template, so that a Job is
// the same object from one step to the next (a jobs.Memo keeps its pods).
// The zero Memo is ready to use; it is not safe for concurrent use.
type Memo struct {
	schedules memo.Map[*batchv1.CronJob, parsed]
	jobs      memo.Map[run, *batchv1.Job]
}

// schedule is a parsed schedule (a cron.Schedule).
type schedule interface{ Next(time.Time) time.Time }

// parsed is a schedule as manifests.ParseCronSchedule returns it.
type parsed struct {
	sched schedule
	err   error
}

// run is a Job of a CronJob: everything jobFor reads.
type run struct {
	cronJob   *batchv1.CronJob
	job       string
	scheduled time.Time // == also compares the location, which the Job's annotation shows
}

// Plan is what Compute decided. Every map is non-nil.
type Plan struct {
	Put    map[string]State
	Delete []string
	// Jobs are every Job the CronJobs keep (running and in history).
	Jobs []*batchv1.Job
	// Events say what happened, for logs: "default/backup: ran backup-29312345".
	Events []string
	// Status is each CronJob's status, by key: its running Jobs, the last
	// schedule time acted on, and when a Job of it last succeeded (the
	// finish time of the newest complete Job in its history, or that Job's
	// schedule time when the Job's record is gone).
	Status map[string]batchv1.CronJobStatus
}

// Key is a CronJob's key in Input.States.
func Key(c *batchv1.CronJob) string { return c.Namespace + "/" + c.Name }

// Compute advances every CronJob one step.
func Compute(in Input) Plan {
	plan := Plan{Put: map[string]State{}, Status: map[string]batchv1.CronJobStatus{}}
	known := map[string]bool{}
	var schedules *memo.Map[*batchv1.CronJob, parsed]
	var made *memo.Map[run, *batchv1.Job]
	if in.Memo != nil {
		schedules, made = &in.Memo.schedules, &in.Memo.jobs
		defer schedules.EndStep()
		defer made.EndStep()
	}
	for _, cj := range in.CronJobs {
		key := Key(cj)
		known[key] = true
		old, had := in.States[key]
		st := old
		if !had {
			st = State{Since: in.Now}
		}
		st.Active = append([]Run(nil), st.Active...)
		st.History = append([]Run(nil), st.History...)
		parse := func() (schedule, error) {
			p := schedules.Get(cj, func() parsed {
				s, err := manifests.ParseCronSchedule(cj.Spec.Schedule, cj.Spec.TimeZone)
				return parsed{s, err}
			})
			return p.sched, p.err
		}
		st = step(cj, st, parse, in, &plan)
		if !had || !equal(old, st) {
			plan.Put[key] = st
		}
		plan.Status[key] = status(cj, st, in.JobStates)
		for _, runs := range [2][]Run{st.Active, st.History} {
			for _, r := range runs {
				plan.Jobs = append(plan.Jobs, made.Get(run{cj, r.Job, r.Scheduled}, func() *batchv1.Job { return jobFor(cj, r) }))
			}
		}
	}
	for key := range in.States {
		if !known[key] {
			plan.Delete = append(plan.Delete, key)
		}
	}
	sort.Strings(plan.Delete)
	return plan
}

// step advances CronJob cj from its state st; parse reads its schedule.
func step(cj *batchv1.CronJob, st State, parse func() (schedule, error), in Input, plan *Plan) State {
	// Finished Jobs move to the history.
	var running []Run
	for _, r := range st.Active {
		js, ok := in.JobStates[cj.Namespace+"/"+r.Job]
		if ok && js.Condition != "" {
			r.Condition = js.Condition
			st.History = append(st.History, r)
			continue
		}
		running = append(running, r)
	}
	st.Active = running
	st.History = trimHistory(cj, st.History)

	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return st
	}
	sched, err := parse()
	if err != nil {
		return st // validation refuses such a CronJob; nothing to run
	}
	from := st.Since
	if st.LastSchedule.After(from) {
		from = st.LastSchedule
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil {
		if earliest := in.Now.Add(-time.Duration(*d) * time.Second); earliest.After(from) {
			from = earliest.Add(-time.Nanosecond)
		}
	}
	due, ok := mostRecent(sched, from, in.Now)
	if !ok {
		return st
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(st.Active) > 0 {
			return st // stays due while within its deadline
		}
	case batchv1.ReplaceConcurrent:
		for _, r := range st.Active {
			plan.Events = append(plan.Events, fmt.Sprintf("%s: replaced %s", Key(cj), r.Job))
		}
		st.Active = nil
	}
	run := Run{Job: jobName(cj.Name, due), Scheduled: due}
	st.Active = append(st.Active, run)
	st.LastSchedule = due
	plan.Events = append(plan.Events, fmt.Sprintf("%s: ran %s for %s", Key(cj), run.Job, due.Format(time.RFC3339)))
	return st
}

// status is a CronJob's status from its state after the step.
func status(cj *batchv1.CronJob, st State, jobStates map[string]jobs.State) batchv1.CronJobStatus {
	var out batchv1.CronJobStatus
	for _, r := range st.Active {
		out.Active = append(out.Active, corev1.ObjectReference{
			Kind: "Job", APIVersion: "batch/v1", Namespace: cj.Namespace, Name: r.Job,
			UID: names.ControllerUID("Job/" + cj.Namespace + "/" + r.Job),
		})
	}
	if !st.LastSchedule.IsZero() {
		t := metav1.NewTime(st.LastSchedule)
		out.LastScheduleTime = &t
	}
	for _, r := range st.History {
		if r.Condition != jobs.Complete {
			continue
		}
		at := r.Scheduled
		if js, ok := jobStates[cj.Namespace+"/"+r.Job]; ok && !js.FinishTime.IsZero() {
			at = js.FinishTime
		}
		if out.LastSuccessfulTime == nil || at.After(out.LastSuccessfulTime.Time) {
			t := metav1.NewTime(at)
			out.LastSuccessfulTime = &t
		}
	}
	return out
}

// jobName is Kubernetes' name for the Job of a scheduled time: the
// CronJob's name and the time in minutes since the epoch. A time that is
// not on a minute (an "@every 10s" schedule) uses seconds, so that two runs
// in one minute get two names.
func jobName(cronJob string, t time.Time) string {
	if t.Second() == 0 && t.Nanosecond() == 0 {
		return fmt.Sprintf("%s-%d", cronJob, t.Unix()/60)
	}
	return fmt.Sprintf("%s-%d", cronJob, t.Unix())
}

// mostRecent is the latest time of sched in (after, now]; it looks at no
// more than a year of schedule times.
func mostRecent(sched schedule, after, now time.Time) (time.Time, bool) {
	var last time.Time
	t := after
	for i := 0; i < 600_000; i++ {
		t = sched.Next(t)
		if t.IsZero() || t.After(now) {
			break
		}
		last = t
	}
	return last, !last.IsZero()
}

// trimHistory keeps the newest successful and failed runs within their
// limits.
func trimHistory(cj *batchv1.CronJob, h []Run) []Run {
	okLimit, failLimit := int32(3), int32(1)
	if cj.Spec.SuccessfulJobsHistoryLimit != nil {
		okLimit = *cj.Spec.SuccessfulJobsHistoryLimit
	}
	if cj.Spec.FailedJobsHistoryLimit != nil {
		failLimit = *cj.Spec.FailedJobsHistoryLimit
	}
	var out []Run
	okN, failN := int32(0), int32(0)
	for i := len(h) - 1; i >= 0; i-- {
		r := h[i]
		if r.Condition == jobs.Failed {
			if failN >= failLimit {
				continue
			}
			failN++
		} else {
			if okN >= okLimit {
				continue
			}
			okN++
		}
		out = append([]Run{r}, out...)
	}
	return out
}

// jobFor makes the Job of a run from the CronJob's template.
func jobFor(cj *batchv1.CronJob, r Run) *batchv1.Job {
	yes := true
	t := cj.Spec.JobTemplate
	j := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{Kind: "Job", APIVersion: "batch/v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: r.Job, Namespace: cj.Namespace, Labels: t.Labels,
			Annotations: map[string]string{"batch.kubernetes.io/cronjob-scheduled-timestamp": r.Scheduled.Format(time.RFC3339)},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name,
				UID:        names.ControllerUID("CronJob/" + Key(cj)),
				Controller: &yes, BlockOwnerDeletion: &yes,
			}},
		},
		Spec: *t.Spec.DeepCopy(),
	}
	return j
}

func equal(a, b State) bool {
	if !a.Since.Equal(b.Since) || !a.LastSchedule.Equal(b.LastSchedule) || len(a.Active) != len(b.Active) || len(a.History) != len(b.History) {
		return false
	}
	for i := range a.Active {
		if !a.Active[i].equal(b.Active[i]) {
			return false
		}
	}
	for i := range a.History {
		if !a.History[i].equal(b.History[i]) {
			return false
		}
	}
	return true
}

func (r Run) equal(o Run) bool {
	return r.Job == o.Job && r.Condition == o.Condition && r.Scheduled.Equal(o.Scheduled)
}
