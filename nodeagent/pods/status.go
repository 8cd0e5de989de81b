package pods

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Waiting reasons, as the kubelet reports them.
const (
	ReasonContainerCreating          = "ContainerCreating"
	ReasonPodInitializing            = "PodInitializing"
	ReasonErrImagePull               = "ErrImagePull"
	ReasonImagePullBackOff           = "ImagePullBackOff"
	ReasonErrImageNeverPull          = "ErrImageNeverPull"
	ReasonCrashLoopBackOff           = "CrashLoopBackOff"
	ReasonCreateContainerError       = "CreateContainerError"
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonRunContainerError          = "RunContainerError"
)

// Terminated reasons.
const (
	ReasonCompleted = "Completed"
	ReasonError     = "Error"
	ReasonOOMKilled = "OOMKilled"
)

// ContainerRecord is what the node knows of one container of a pod: its
// current state, the last time it terminated, readiness and restarts. It is
// the input of PodStatus; the pod worker owns and updates it.
type ContainerRecord struct {
	Name  string
	Init  bool
	Image string
	// ImageID is the image's digest reference once pulled.
	ImageID string
	// ContainerID is the runtime's ID of the current run ("" before the
	// first start).
	ContainerID string
	// State is the current state: exactly one of its fields is set.
	State corev1.ContainerState
	// LastTermination is the state of the previous run, when there was one.
	LastTermination *corev1.ContainerStateTerminated
	Ready           bool
	// Started is true once the startup probe (if any) has passed and the
	// container is running.
	Started      bool
	RestartCount int32
}

// Status renders the record as a Kubernetes container status.
func (r *ContainerRecord) Status() corev1.ContainerStatus {
	st := corev1.ContainerStatus{
		Name:         r.Name,
		State:        r.State,
		Ready:        r.Ready,
		RestartCount: r.RestartCount,
		Image:        r.Image,
		ImageID:      r.ImageID,
	}
	if r.ContainerID != "" {
		st.ContainerID = "shoal://" + r.ContainerID
	}
	if r.LastTermination != nil {
		st.LastTerminationState = corev1.ContainerState{Terminated: r.LastTermination.DeepCopy()}
	}
	started := r.Started
	st.Started = &started
	if st.State.Waiting == nil && st.State.Running == nil && st.State.Terminated == nil {
		st.State.Waiting = &corev1.ContainerStateWaiting{Reason: ReasonContainerCreating}
	}
	return st
}

// PodPhase computes a pod's phase from its containers, as the kubelet's
// getPhase does: Pending until the init containers are done and every app
// container has started once; Running while any runs or will be restarted;
// Succeeded or Failed once all have terminated for good under the restart
// policy.
func PodPhase(spec *corev1.PodSpec, init, app []*ContainerRecord) corev1.PodPhase {
	for _, r := range init {
		t := r.State.Terminated
		switch {
		case t != nil && t.ExitCode == 0:
			continue
		case t != nil && spec.RestartPolicy == corev1.RestartPolicyNever:
			return corev1.PodFailed
		case r.State.Waiting != nil && r.LastTermination != nil && r.LastTermination.ExitCode != 0 && spec.RestartPolicy == corev1.RestartPolicyNever:
			return corev1.PodFailed
		}
		return corev1.PodPending
	}
	var pending, running, succeeded, failed int
	for _, r := range app {
		switch {
		case r.State.Running != nil:
			running++
		case r.State.Terminated != nil:
			if r.State.Terminated.ExitCode == 0 {
				succeeded++
			} else {
				failed++
			}
		case r.LastTermination != nil:
			// Waiting to restart after a run.
			running++
		default:
			pending++
		}
	}
	switch {
	case len(app) == 0:
		return corev1.PodPending
	case pending > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	}
	switch spec.RestartPolicy {
	case corev1.RestartPolicyAlways, "":
		return corev1.PodRunning
	case corev1.RestartPolicyOnFailure:
		if failed > 0 {
			return corev1.PodRunning
		}
		return corev1.PodSucceeded
	}
	if failed > 0 {
		return corev1.PodFailed
	}
	return corev1.PodSucceeded
}

// Conditions tracks a pod's conditions with their transition times. The
// zero value is ready to use; it is not safe for concurrent use.
type Conditions struct {
	last map[corev1.PodConditionType]corev1.PodCondition
}

// Update computes the pod's conditions at now — PodScheduled,
// Initialized, ContainersReady and Ready — keeping each condition's
// lastTransitionTime until its status changes.
func (c *Conditions) Update(init, app []*ContainerRecord, phase corev1.PodPhase, now time.Time) []corev1.PodCondition {
	if c.last == nil {
		c.last = map[corev1.PodConditionType]corev1.PodCondition{}
	}
	initialized := true
	var initMsg string
	for _, r := range init {
		if r.State.Terminated == nil || r.State.Terminated.ExitCode != 0 {
			initialized = false
			initMsg = "containers with incomplete status: [" + r.Name + "]"
			break
		}
	}
	ready := initialized && len(app) > 0
	var notReady []string
	for _, r := range app {
		if !r.Ready {
			ready = false
			notReady = append(notReady, r.Name)
		}
	}
	readyMsg := ""
	if len(notReady) > 0 {
		readyMsg = "containers with unready status: ["
		for i, n := range notReady {
			if i > 0 {
				readyMsg += " "
			}
			readyMsg += n
		}
		readyMsg += "]"
	}
	if phase == corev1.PodSucceeded || phase == corev1.PodFailed {
		ready = false
		readyMsg = ""
	}
	set := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		status := corev1.ConditionFalse
		if ok {
			status = corev1.ConditionTrue
			reason, msg = "", ""
		}
		prev, had := c.last[t]
		cond := corev1.PodCondition{Type: t, Status: status, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(now)}
		if had && prev.Status == status {
			cond.LastTransitionTime = prev.LastTransitionTime
		}
		c.last[t] = cond
		return cond
	}
	notReadyReason := "ContainersNotReady"
	if phase == corev1.PodSucceeded || phase == corev1.PodFailed {
		notReadyReason = "PodCompleted"
	}
	return []corev1.PodCondition{
		set(corev1.PodScheduled, true, "", ""),
		set(corev1.PodInitialized, initialized, "ContainersNotInitialized", initMsg),
		set(corev1.ContainersReady, ready, notReadyReason, readyMsg),
		set(corev1.PodReady, ready, notReadyReason, readyMsg),
	}
}

// TerminatedReason names why a container stopped, as the kubelet does.
func TerminatedReason(exitCode int32, oomKilled bool) string {
	switch {
	case oomKilled:
		return ReasonOOMKilled
	case exitCode == 0:
		return ReasonCompleted
	}
	return ReasonError
}
