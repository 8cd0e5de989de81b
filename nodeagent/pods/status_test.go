package pods

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
}

func exited(code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func TestPodPhase(t *testing.T) {
	last := &corev1.ContainerStateTerminated{ExitCode: 1}
	tests := []struct {
		name   string
		policy corev1.RestartPolicy
		init   []*ContainerRecord
		app    []*ContainerRecord
		want   corev1.PodPhase
	}{
		{"creating", corev1.RestartPolicyAlways, nil, []*ContainerRecord{{State: waiting(ReasonContainerCreating)}}, corev1.PodPending},
		{"image pull failing", corev1.RestartPolicyAlways, nil, []*ContainerRecord{{State: waiting(ReasonErrImagePull)}}, corev1.PodPending},
		{"running", corev1.RestartPolicyAlways, nil, []*ContainerRecord{{State: running()}, {State: running()}}, corev1.PodRunning},
		{"one running one pending", corev1.RestartPolicyAlways, nil, []*ContainerRecord{{State: running()}, {State: waiting(ReasonContainerCreating)}}, corev1.PodPending},
		{"crash looping", corev1.RestartPolicyAlways, nil, []*ContainerRecord{{State: waiting(ReasonCrashLoopBackOff), LastTermination: last}}, corev1.PodRunning},
		{"init running", corev1.RestartPolicyAlways, []*ContainerRecord{{State: running()}}, []*ContainerRecord{{State: waiting(ReasonPodInitializing)}}, corev1.PodPending},
		{"init failed under Never", corev1.RestartPolicyNever, []*ContainerRecord{{State: exited(2)}}, []*ContainerRecord{{State: waiting(ReasonPodInitializing)}}, corev1.PodFailed},
		{"init failed under OnFailure retries", corev1.RestartPolicyOnFailure, []*ContainerRecord{{State: exited(2)}}, []*ContainerRecord{{State: waiting(ReasonPodInitializing)}}, corev1.PodPending},
		{"init done", corev1.RestartPolicyAlways, []*ContainerRecord{{State: exited(0)}}, []*ContainerRecord{{State: running()}}, corev1.PodRunning},
		{"completed under Never", corev1.RestartPolicyNever, nil, []*ContainerRecord{{State: exited(0)}}, corev1.PodSucceeded},
		{"failed under Never", corev1.RestartPolicyNever, nil, []*ContainerRecord{{State: exited(0)}, {State: exited(3)}}, corev1.PodFailed},
		{"completed under OnFailure", corev1.RestartPolicyOnFailure, nil, []*ContainerRecord{{State: exited(0)}}, corev1.PodSucceeded},
		{"failed under OnFailure restarts", corev1.RestartPolicyOnFailure, nil, []*ContainerRecord{{State: exited(1)}}, corev1.PodRunning},
		{"exited under Always restarts", corev1.RestartPolicyAlways, nil, []*ContainerRecord{{State: exited(0)}}, corev1.PodRunning},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &corev1.PodSpec{RestartPolicy: tt.policy}
			if got := PodPhase(spec, tt.init, tt.app); got != tt.want {
				t.Errorf("phase %s, want %s", got, tt.want)
			}
		})
	}
}

func TestConditionsKeepTransitionTimes(t *testing.T) {
	var c Conditions
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	app := []*ContainerRecord{{Name: "web", State: running()}}
	conds := c.Update(nil, app, corev1.PodRunning, t0)
	byType := func(cs []corev1.PodCondition, ct corev1.PodConditionType) corev1.PodCondition {
		for _, x := range cs {
			if x.Type == ct {
				return x
			}
		}
		t.Fatalf("no %s condition", ct)
		return corev1.PodCondition{}
	}
	r := byType(conds, corev1.PodReady)
	if r.Status != corev1.ConditionFalse || r.Reason != "ContainersNotReady" || r.Message != "containers with unready status: [web]" {
		t.Errorf("Ready = %+v", r)
	}
	app[0].Ready = true
	conds = c.Update(nil, app, corev1.PodRunning, t0.Add(time.Minute))
	r = byType(conds, corev1.PodReady)
	if r.Status != corev1.ConditionTrue || !r.LastTransitionTime.Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("Ready after probe = %+v", r)
	}
	if s := byType(conds, corev1.PodScheduled); !s.LastTransitionTime.Time.Equal(t0) {
		t.Errorf("PodScheduled moved: %+v", s)
	}
	conds = c.Update(nil, app, corev1.PodRunning, t0.Add(2*time.Minute))
	if r := byType(conds, corev1.PodReady); !r.LastTransitionTime.Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("unchanged Ready moved its time: %+v", r)
	}
}

func TestTerminatedReason(t *testing.T) {
	if TerminatedReason(0, false) != ReasonCompleted || TerminatedReason(1, false) != ReasonError || TerminatedReason(137, true) != ReasonOOMKilled {
		t.Error("wrong reasons")
	}
}
