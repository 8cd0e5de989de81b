package pods_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/api"
	corev1 "k8s.io/api/core/v1"
)

const wait = 30 * time.Second

// TestPodLifecycle runs the kubelet's rules on real containers, one pod per
// rule, on one node.
func TestPodLifecycle(t *testing.T) {
	n := newNode(t)
	n.apply(`apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: app
    image: testapp:test
    imagePullPolicy: Never
    args: ["-listen=:8080"]
    env:
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - {name: GREETING, value: "hello $(POD_NAME)"}
    ports:
    - {name: http, containerPort: 8080}
    readinessProbe:
      httpGet: {path: /ready, port: http}
      periodSeconds: 1
    livenessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 1
      failureThreshold: 2
---
apiVersion: v1
kind: Pod
metadata:
  name: fails
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "echo going down; echo oops >&2; exit 3"]
---
apiVersion: v1
kind: Pod
metadata:
  name: completes
spec:
  restartPolicy: OnFailure
  initContainers:
  - name: first
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "echo one > /work/order"]
    volumeMounts: [{name: work, mountPath: /work}]
  - name: second
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "echo two >> /work/order"]
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "cat /work/order; hostname; echo $HOSTNAME"]
    volumeMounts: [{name: work, mountPath: /work}]
  volumes:
  - name: work
    emptyDir: {}
---
apiVersion: v1
kind: Pod
metadata:
  name: crashes
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "echo crashing; exit 1"]
---
apiVersion: v1
kind: Pod
metadata:
  name: missing-image
spec:
  containers:
  - name: app
    image: nothere:1.0
    imagePullPolicy: Never
---
apiVersion: v1
kind: Pod
metadata:
  name: bad-command
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["/no/such/binary"]
`)

	t.Run("ready, exec, env and logs", func(t *testing.T) {
		p := n.waitPod("web", wait, "Ready", ready)
		if p.Status.PodIP == "" || p.Spec.NodeName != "node-a" || p.Status.Phase != corev1.PodRunning {
			t.Errorf("pod = ip %q node %q phase %s", p.Status.PodIP, p.Spec.NodeName, p.Status.Phase)
		}
		if out, code := n.exec("web", "cat", "/etc/hostname"); code != 0 || strings.TrimSpace(out) != "web" {
			t.Errorf("hostname file %q, exit %d", out, code)
		}
		if out, _ := n.exec("web", "sh", "-c", "echo $GREETING; echo $HOSTNAME"); out != "hello web\nweb\n" {
			t.Errorf("env = %q", out)
		}
		if _, code := n.exec("web", "sh", "-c", "exit 42"); code != 42 {
			t.Errorf("exec exit code %d, want 42", code)
		}
		logs := n.logs("web", api.LogOptions{TailLines: -1})
		if !strings.Contains(logs, "testapp on web listening on :8080") {
			t.Errorf("logs = %q", logs)
		}
	})
	t.Run("restartPolicy Never: Failed with the exit code", func(t *testing.T) {
		p := n.waitPod("fails", wait, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		term := terminated(p, 0)
		if term == nil || term.ExitCode != 3 || term.Reason != "Error" || p.Status.ContainerStatuses[0].RestartCount != 0 {
			t.Errorf("terminated = %+v", term)
		}
		// stdout and stderr are separate pipes: their order is not kept.
		logs := n.logs("fails", api.LogOptions{TailLines: -1})
		if logs != "going down\noops\n" && logs != "oops\ngoing down\n" {
			t.Errorf("logs = %q", logs)
		}
	})
	t.Run("init containers in order, then Succeeded under OnFailure", func(t *testing.T) {
		p := n.waitPod("completes", wait, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		if term := terminated(p, 0); term == nil || term.Reason != "Completed" {
			t.Errorf("terminated = %+v", term)
		}
		for _, ic := range p.Status.InitContainerStatuses {
			if ic.State.Terminated == nil || ic.State.Terminated.ExitCode != 0 {
				t.Errorf("init container %s: %+v", ic.Name, ic.State)
			}
		}
		if logs := n.logs("completes", api.LogOptions{Container: "app", TailLines: -1}); logs != "one\ntwo\ncompletes\ncompletes\n" {
			t.Errorf("logs = %q", logs)
		}
	})
	t.Run("crash loop with back-off and restart count", func(t *testing.T) {
		p := n.waitPod("crashes", wait, "two restarts and CrashLoopBackOff", func(p *corev1.Pod) bool {
			return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 2 && waitingReason(p, 0) == "CrashLoopBackOff"
		})
		last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
		if last == nil || last.ExitCode != 1 || last.Reason != "Error" {
			t.Errorf("last termination = %+v", last)
		}
		if p.Status.Phase != corev1.PodRunning {
			t.Errorf("phase %s, want Running", p.Status.Phase)
		}
		if logs := n.logs("crashes", api.LogOptions{Previous: true, TailLines: -1}); logs != "crashing\n" {
			t.Errorf("previous logs = %q", logs)
		}
	})
	t.Run("image not present with pull policy Never", func(t *testing.T) {
		p := n.waitPod("missing-image", wait, "ErrImageNeverPull", func(p *corev1.Pod) bool { return waitingReason(p, 0) == "ErrImageNeverPull" })
		if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !strings.Contains(msg, `"nothere:1.0" is not present`) {
			t.Errorf("message = %q", msg)
		}
		if p.Status.Phase != corev1.PodPending {
			t.Errorf("phase %s", p.Status.Phase)
		}
	})
	t.Run("command not in the image", func(t *testing.T) {
		p := n.waitPod("bad-command", wait, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
		term := terminated(p, 0)
		if term == nil || term.Reason != "StartError" || term.ExitCode != 128 || !strings.Contains(term.Message, "/no/such/binary") {
			t.Errorf("terminated = %+v", term)
		}
	})
	t.Run("readiness follows the probe", func(t *testing.T) {
		n.waitPod("web", wait, "Ready", ready)
		if out, code := n.exec("web", "wget", "-q", "-O-", "http://127.0.0.1:8080/ready/fail"); code != 0 || !strings.Contains(out, "readiness will fail on web") {
			t.Fatalf("ready/fail: %q %d", out, code)
		}
		n.waitPod("web", wait, "not Ready", func(p *corev1.Pod) bool { return !ready(p) })
		n.exec("web", "wget", "-q", "-O-", "http://127.0.0.1:8080/ready/ok")
		n.waitPod("web", wait, "Ready again", ready)
	})
	t.Run("liveness failure restarts the container", func(t *testing.T) {
		before := n.waitPod("web", wait, "Ready", ready)
		if out, code := n.exec("web", "wget", "-q", "-O-", "http://127.0.0.1:8080/healthz/fail"); code != 0 || !strings.Contains(out, "liveness will fail on web") {
			t.Fatalf("healthz/fail: %q %d", out, code)
		}
		p := n.waitPod("web", wait, "a restart", func(p *corev1.Pod) bool {
			return p.Status.ContainerStatuses[0].RestartCount == before.Status.ContainerStatuses[0].RestartCount+1 && ready(p)
		})
		// The app exits 0 on SIGTERM, so its killed run reads Completed,
		// as it would under the kubelet.
		if last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated; last == nil || last.Reason != "Completed" {
			t.Errorf("last termination = %+v", last)
		}
		if p.Status.PodIP != before.Status.PodIP {
			t.Errorf("pod IP changed across a container restart: %s -> %s", before.Status.PodIP, p.Status.PodIP)
		}
	})
}
