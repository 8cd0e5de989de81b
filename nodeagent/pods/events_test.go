package pods_test

import (
	"strings"
	"testing"
)

// TestEvents: the manager reports the kubelet's events: the image already
// present, Created and Started, BackOff for a crashing container, Killing
// when a pod is stopped.
func TestEvents(t *testing.T) {
	n := newNode(t)
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  containers: [{name: c, image: busybox:test, imagePullPolicy: IfNotPresent, command: [sh, -c, "exit 1"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: calm}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: busybox:test, imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}]
`)
	has := func(pod, prefix string) bool {
		for _, e := range n.eventsOf(pod) {
			if strings.HasPrefix(e, prefix) {
				return true
			}
		}
		return false
	}
	waitFor(t, "crash's events", func() bool {
		return has("crash", `Pulled: Container image "busybox:test" already present on machine`) &&
			has("crash", "Created: Created container c") && has("crash", "Started: Started container c") &&
			has("crash", "BackOff: Back-off restarting failed container c in pod crash")
	})
	waitFor(t, "calm started", func() bool { return has("calm", "Started: Started container c") })
	n.apply("")
	waitFor(t, "calm killed", func() bool { return has("calm", "Killing: Stopping container c") })
}
