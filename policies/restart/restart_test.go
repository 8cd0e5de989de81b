package restart

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestShouldRestart(t *testing.T) {
	tests := []struct {
		policy corev1.RestartPolicy
		code   int
		want   bool
	}{
		{corev1.RestartPolicyAlways, 0, true},
		{corev1.RestartPolicyAlways, 1, true},
		{corev1.RestartPolicyOnFailure, 0, false},
		{corev1.RestartPolicyOnFailure, 137, true},
		{corev1.RestartPolicyNever, 0, false},
		{corev1.RestartPolicyNever, 1, false},
	}
	for _, tt := range tests {
		if got := ShouldRestart(tt.policy, tt.code); got != tt.want {
			t.Errorf("ShouldRestart(%s, %d) = %v, want %v", tt.policy, tt.code, got, tt.want)
		}
	}
}

// TestBackoffCurve follows a container that crashes right after starting:
// 10 s, 20 s, 40 s, ... capped at 5 min; then one long run resets it.
func TestBackoffCurve(t *testing.T) {
	cfg := DefaultConfig()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var b Backoff
	now := t0
	want := []time.Duration{10, 20, 40, 80, 160, 300, 300}
	for i, w := range want {
		var d time.Duration
		d, b = b.Next(cfg, now, now.Add(time.Second))
		if d != w*time.Second {
			t.Fatalf("restart %d: delay %v, want %v", i+1, d, w*time.Second)
		}
		now = RestartAt(now.Add(time.Second), d)
		if InBackoff(now.Add(-time.Nanosecond), now) != true || InBackoff(now, now) {
			t.Fatalf("InBackoff around %v is wrong", now)
		}
	}
	// It ran for 10 minutes: back to the initial delay.
	d, _ := b.Next(cfg, now, now.Add(10*time.Minute))
	if d != 10*time.Second {
		t.Errorf("after a 10 min run: delay %v, want 10s", d)
	}
	// 9 minutes is not enough.
	d, _ = b.Next(cfg, now, now.Add(9*time.Minute))
	if d != 5*time.Minute {
		t.Errorf("after a 9 min run: delay %v, want 5m", d)
	}
}
