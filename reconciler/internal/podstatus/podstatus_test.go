package podstatus

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReadyAndAvailable(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	withReady := func(s corev1.ConditionStatus, since time.Duration) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: s, LastTransitionTime: metav1.NewTime(now.Add(-since))},
		}}}
	}
	tests := []struct {
		name             string
		pod              *corev1.Pod
		minReady         time.Duration
		ready, available bool
	}{
		{"no conditions", &corev1.Pod{}, 0, false, false},
		{"not ready", withReady(corev1.ConditionFalse, time.Hour), 0, false, false},
		{"ready", withReady(corev1.ConditionTrue, 0), 0, true, true},
		{"ready, not long enough", withReady(corev1.ConditionTrue, 5*time.Second), 10 * time.Second, true, false},
		{"ready exactly long enough", withReady(corev1.ConditionTrue, 10*time.Second), 10 * time.Second, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Ready(tt.pod); got != tt.ready {
				t.Errorf("Ready = %v, want %v", got, tt.ready)
			}
			if got := Available(tt.pod, tt.minReady, now); got != tt.available {
				t.Errorf("Available = %v, want %v", got, tt.available)
			}
		})
	}
	if !Terminal(&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed}}) || Terminal(&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}) {
		t.Error("Terminal")
	}
}
