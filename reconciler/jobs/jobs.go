// Package jobs is the Job controller as a pure function: Compute(Input)
// Plan, with the clock in Input.Now.
//
// A Job's progress lives in the replicated ledger (Input.States,
// Plan.Put): which pods it runs, how many succeeded and failed, when it
// started and finished. A pod is counted once, in the same write that
// moves it from the running to the finished list, so a change of leader
// neither reruns a finished completion nor loses one.
//
// # Rules (Kubernetes' Job controller, for non-indexed Jobs)
//
//   - completions (default 1) successful pods finish the Job; at most
//     parallelism (default 1) pods run at once, and never more than the
//     completions still missing.
//   - A pod that fails counts against backoffLimit (default 6); with
//     restartPolicy OnFailure the node restarts the container in place and
//     each restart counts. More failures than backoffLimit fail the Job
//     (BackoffLimitExceeded); so does running longer than
//     activeDeadlineSeconds (DeadlineExceeded). A pod whose node is lost
//     counts as failed.
//   - A finished Job stops its running pods and keeps the finished ones,
//     for their status and logs, until ttlSecondsAfterFinished has passed
//     (then they go, and the Job does not run again).
//   - spec.suspend stops the running pods and starts none.
//   - Pods are named "<job>-<5 characters>" and labelled job-name and
//     controller-uid, with a Job ownerReference.
//   - A Job whose spec changes in Git is a new Job: it starts over, as a
//     deleted and re-created Kubernetes Job would; parallelism, suspend,
//     activeDeadlineSeconds and ttlSecondsAfterFinished may change without
//     that, as on a running Kubernetes Job.
//
// Not done yet: indexed completion mode, pod failure policies,
// backoff delays between retries (a failed pod is replaced on the next
// step).
package jobs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/reconciler/internal/memo"
	"github.com/shoal-run/shoal/reconciler/internal/names"
	"github.com/shoal-run/shoal/reconciler/internal/podstatus"
)

// Conditions a finished Job ends with.
const (
	Complete = "Complete"
	Failed   = "Failed"
)

// State is a Job's progress, the ledger record.
type State struct {
	// Spec identifies the Job's spec: a new spec starts over.
	Spec string `json:"spec"`
	// Seq is the pod name sequence.
	Seq       uint64    `json:"seq"`
	Start     time.Time `json:"start"`
	Active    []string  `json:"active,omitempty"`
	Finished  []string  `json:"finished,omitempty"`
	Succeeded int32     `json:"succeeded"`
	Failed    int32     `json:"failed"`
	// Restarts counts container restarts of running OnFailure pods, per
	// pod, already counted in Failed.
	Restarts map[string]int32 `json:"restarts,omitempty"`
	// Condition is Complete or Failed once the Job finished, with Reason.
	Condition  string    `json:"condition,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	FinishTime time.Time `json:"finishTime,omitempty"`
	// Expired is set when ttlSecondsAfterFinished passed: nothing runs.
	Expired bool `json:"expired,omitempty"`
}

// Input is everything Compute needs; it is not modified.
type Input struct {
	Jobs []*batchv1.Job
	// States are the ledger's, by "namespace/name".
	States map[string]State
	// Actual are the pods the nodes report, by pod.
	Actual map[types.NamespacedName]*corev1.Pod
	// Gone are pods whose node is lost.
	Gone map[types.NamespacedName]bool
	Now  time.Time
	// Memo, if set, is what Compute remembers across calls; it changes no
	// result. The Jobs must then be objects that never change (those of a
	// manifests.Set, or the ones a cronjobs.Memo hands out).
	Memo *Memo
}

// Memo is what Compute remembers across the leader's steps: each Job's
// spec hash and the pods made from its template. The zero Memo is ready to
// use; it is not safe for concurrent use.
type Memo struct {
	specs memo.Map[*batchv1.Job, string]
	pods  names.PodCache[string] // by Job key
}

// Plan is what Compute decided. Every map is non-nil.
type Plan struct {
	// Put are states to write; Delete keys of states to remove (Jobs gone
	// from the desired state).
	Put    map[string]State
	Delete []string
	// Pods are every Job pod to run or keep, sorted.
	Pods []*corev1.Pod
	// Status is each Job's status, by key (see Status); a Job whose
	// ttlSecondsAfterFinished passed has none: Kubernetes would have
	// deleted it.
	Status map[string]batchv1.JobStatus
}

// Key is a Job's key in Input.States.
func Key(j *batchv1.Job) string { return j.Namespace + "/" + j.Name }

// Compute advances every Job one step.
func Compute(in Input) Plan {
	plan := Plan{Put: map[string]State{}, Status: map[string]batchv1.JobStatus{}}
	known := make(map[string]bool, len(in.Jobs))
	var specs *memo.Map[*batchv1.Job, string]
	var pods *names.PodCache[string]
	if in.Memo != nil {
		specs, pods = &in.Memo.specs, &in.Memo.pods
		defer specs.EndStep()
		defer pods.EndStep()
	}
	for _, j := range in.Jobs {
		key := Key(j)
		known[key] = true
		old, had := in.States[key]
		spec := specs.Get(j, func() string { return SpecHash(j) })
		st := step(j, spec, old, had, in)
		if !had || !equal(old, st) {
			plan.Put[key] = st
		}
		if st.Expired {
			continue
		}
		plan.Status[key] = Status(j, st, in.Actual)
		// A Job's pods depend on its namespace, name and template.
		owner := key
		for _, list := range [2][]string{st.Active, st.Finished} {
			for _, name := range list {
				plan.Pods = append(plan.Pods, pods.Pod(owner, &j.Spec.Template, name, func() *corev1.Pod { return podFor(j, name) }))
			}
		}
	}
	for key := range in.States {
		if !known[key] {
			plan.Delete = append(plan.Delete, key)
		}
	}
	sort.Strings(plan.Delete)
	names.SortPods(plan.Pods)
	return plan
}

// step advances Job j, whose SpecHash is spec, from its state st.
func step(j *batchv1.Job, spec string, st State, had bool, in Input) State {
	if !had || st.Spec != spec {
		st = State{Spec: spec, Start: in.Now}
	}
	st = clone(st)
	if st.Expired {
		return st
	}
	if st.Condition != "" {
		if ttl := j.Spec.TTLSecondsAfterFinished; ttl != nil && !in.Now.Before(st.FinishTime.Add(time.Duration(*ttl)*time.Second)) {
			st.Expired, st.Finished = true, nil
		}
		return st
	}
	onFailure := j.Spec.Template.Spec.RestartPolicy == corev1.RestartPolicyOnFailure

	// Observe the running pods.
	var still []string
	for _, name := range st.Active {
		key := types.NamespacedName{Namespace: j.Namespace, Name: name}
		p := in.Actual[key]
		switch {
		case in.Gone[key]:
			st.Failed++
			delete(st.Restarts, name)
		case p != nil && p.Status.Phase == corev1.PodSucceeded:
			st.Succeeded++
			st.Finished = append(st.Finished, name)
			delete(st.Restarts, name)
		case p != nil && p.Status.Phase == corev1.PodFailed:
			st.Failed++
			st.Finished = append(st.Finished, name)
			delete(st.Restarts, name)
		default:
			if onFailure && p != nil {
				if r := restarts(p); r > st.Restarts[name] {
					st.Failed += r - st.Restarts[name]
					if st.Restarts == nil {
						st.Restarts = map[string]int32{}
					}
					st.Restarts[name] = r
				}
			}
			still = append(still, name)
		}
	}
	st.Active = still

	completions := int32(1)
	if j.Spec.Completions != nil {
		completions = *j.Spec.Completions
	}
	parallelism := int32(1)
	if j.Spec.Parallelism != nil {
		parallelism = *j.Spec.Parallelism
	}
	backoff := int32(6)
	if j.Spec.BackoffLimit != nil {
		backoff = *j.Spec.BackoffLimit
	}
	finish := func(cond, reason string) {
		st.Condition, st.Reason, st.FinishTime = cond, reason, in.Now
		st.Active = nil // running pods stop
		st.Restarts = nil
	}
	switch {
	case st.Succeeded >= completions:
		finish(Complete, "")
		return st
	case st.Failed > backoff:
		finish(Failed, ReasonBackoffLimitExceeded)
		return st
	case j.Spec.ActiveDeadlineSeconds != nil && !in.Now.Before(st.Start.Add(time.Duration(*j.Spec.ActiveDeadlineSeconds)*time.Second)):
		finish(Failed, ReasonDeadlineExceeded)
		return st
	}
	if j.Spec.Suspend != nil && *j.Spec.Suspend {
		st.Active = nil
		return st
	}
	want := min(parallelism, completions-st.Succeeded)
	for int32(len(st.Active)) < want {
		st.Seq++
		st.Active = append(st.Active, j.Name+"-"+names.Suffix(fmt.Sprintf("Job/%s/%s#%s#%d", j.Namespace, j.Name, spec, st.Seq)))
	}
	return st
}

// Reasons and messages of the conditions a Job ends with, as the
// Kubernetes Job controller words them.
const (
	ReasonCompletionsReached    = "CompletionsReached"
	ReasonBackoffLimitExceeded  = "BackoffLimitExceeded"
	ReasonDeadlineExceeded      = "DeadlineExceeded"
	ReasonSuspended             = "JobSuspended"
	messageCompletionsReached   = "Reached expected number of succeeded pods"
	messageBackoffLimitExceeded = "Job has reached the specified backoff limit"
	messageDeadlineExceeded     = "Job was active longer than specified deadline"
)

// Status is a Job's status as Kubernetes reports it, from its progress
// record st and the pods the nodes report (actual): active, ready,
// succeeded and failed pods, the start time, and once it finished its
// conditions (SuccessCriteriaMet and Complete, or FailureTarget and Failed
// with reason BackoffLimitExceeded or DeadlineExceeded) with the
// completion time of a complete one. A suspended Job that has not finished
// has the Suspended condition.
func Status(j *batchv1.Job, st State, actual map[types.NamespacedName]*corev1.Pod) batchv1.JobStatus {
	out := batchv1.JobStatus{Active: int32(len(st.Active)), Succeeded: st.Succeeded, Failed: st.Failed}
	if !st.Start.IsZero() {
		start := metav1.NewTime(st.Start)
		out.StartTime = &start
	}
	ready := int32(0)
	for _, name := range st.Active {
		if p := actual[types.NamespacedName{Namespace: j.Namespace, Name: name}]; p != nil && podstatus.Ready(p) {
			ready++
		}
	}
	out.Ready = &ready
	at := metav1.NewTime(st.FinishTime)
	cond := func(t batchv1.JobConditionType, reason, msg string) batchv1.JobCondition {
		return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastProbeTime: at, LastTransitionTime: at}
	}
	switch st.Condition {
	case Complete:
		out.CompletionTime = &at
		out.Conditions = []batchv1.JobCondition{
			cond(batchv1.JobSuccessCriteriaMet, ReasonCompletionsReached, messageCompletionsReached),
			cond(batchv1.JobComplete, ReasonCompletionsReached, messageCompletionsReached),
		}
	case Failed:
		msg := messageBackoffLimitExceeded
		if st.Reason == ReasonDeadlineExceeded {
			msg = messageDeadlineExceeded
		}
		out.Conditions = []batchv1.JobCondition{
			cond(batchv1.JobFailureTarget, st.Reason, msg),
			cond(batchv1.JobFailed, st.Reason, msg),
		}
	default:
		if j.Spec.Suspend != nil && *j.Spec.Suspend {
			c := cond(batchv1.JobSuspended, ReasonSuspended, "Job suspended")
			c.LastProbeTime, c.LastTransitionTime = metav1.Time{}, metav1.Time{}
			out.Conditions = []batchv1.JobCondition{c}
		}
	}
	return out
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	return n
}

// podFor makes a Job's pod.
func podFor(j *batchv1.Job, name string) *corev1.Pod {
	p := names.Pod(&j.Spec.Template, j.Namespace, name, "batch/v1", "Job", j.Name)
	labels := map[string]string{}
	for k, v := range j.Spec.Template.Labels {
		labels[k] = v
	}
	labels["job-name"] = j.Name
	labels["controller-uid"] = string(p.OwnerReferences[0].UID)
	p.Labels = labels
	return p
}

// SpecHash identifies a Job's spec, without the fields Kubernetes lets
// change on a running Job (parallelism, suspend, activeDeadlineSeconds,
// ttlSecondsAfterFinished).
func SpecHash(j *batchv1.Job) string {
	spec := *j.Spec.DeepCopy()
	spec.Parallelism, spec.Suspend, spec.ActiveDeadlineSeconds, spec.TTLSecondsAfterFinished = nil, nil, nil, nil
	data, _ := json.Marshal(spec)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

func clone(s State) State {
	s.Active = append([]string(nil), s.Active...)
	s.Finished = append([]string(nil), s.Finished...)
	if s.Restarts != nil {
		r := make(map[string]int32, len(s.Restarts))
		for k, v := range s.Restarts {
			r[k] = v
		}
		s.Restarts = r
	}
	return s
}

// equal reports whether two states are the same record: the same JSON.
func equal(a, b State) bool {
	if same(a, b) {
		return true
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// same is equal's quick path: states field by field identical (times
// with ==, their location included) have the same JSON; others may too.
func same(a, b State) bool {
	return a.Spec == b.Spec && a.Seq == b.Seq && a.Start == b.Start && slices.Equal(a.Active, b.Active) &&
		slices.Equal(a.Finished, b.Finished) && a.Succeeded == b.Succeeded && a.Failed == b.Failed &&
		maps.Equal(a.Restarts, b.Restarts) && a.Condition == b.Condition && a.Reason == b.Reason &&
		a.FinishTime == b.FinishTime && a.Expired == b.Expired
}
