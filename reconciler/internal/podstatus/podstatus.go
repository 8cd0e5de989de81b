// Package podstatus reads a reported pod's readiness as the Kubernetes
// controllers do, for the controllers' replica counts and statuses.
package podstatus

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Ready reports whether the pod's Ready condition is True.
func Ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Available reports whether the pod has been Ready for at least minReady
// at now, by its Ready condition's transition time (Ready is enough when
// minReady is zero).
func Available(p *corev1.Pod, minReady time.Duration, now time.Time) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return minReady <= 0 || !c.LastTransitionTime.Add(minReady).After(now)
		}
	}
	return false
}

// Terminal reports whether the pod ended (Succeeded or Failed).
func Terminal(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}
