package pods_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	corev1 "k8s.io/api/core/v1"
)

// TestSecurityContext checks the user, read-only root, capabilities and
// runAsNonRoot rules on real containers.
func TestSecurityContext(t *testing.T) {
	n := newNode(t)
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: guest}
spec:
  securityContext:
    runAsUser: 405
    runAsGroup: 100
    supplementalGroups: [2000]
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    securityContext:
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
---
apiVersion: v1
kind: Pod
metadata: {name: nochown}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    securityContext:
      capabilities:
        drop: ["CHOWN"]
---
apiVersion: v1
kind: Pod
metadata: {name: nonroot}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    securityContext:
      runAsNonRoot: true
`)
	n.waitPod("guest", wait, "Ready", ready)
	if out, _ := n.exec("guest", "id"); !strings.HasPrefix(out, "uid=405(guest) gid=100(users) groups=") || !strings.Contains(out, "2000") {
		t.Errorf("id = %q", out)
	}
	if out, code := n.exec("guest", "touch", "/newfile"); code == 0 || !strings.Contains(out, "Read-only file system") {
		t.Errorf("writing the read-only root: %q (exit %d)", out, code)
	}
	if out, code := n.exec("guest", "grep", "NoNewPrivs", "/proc/self/status"); code != 0 || !strings.Contains(out, "1") {
		t.Errorf("no_new_privs: %q", out)
	}
	n.waitPod("nochown", wait, "Ready", ready)
	if out, code := n.exec("nochown", "chown", "65534", "/tmp"); code == 0 {
		t.Errorf("chown without CAP_CHOWN succeeded: %q", out)
	}
	if _, code := n.exec("guest", "true"); code != 0 {
		t.Error("exec as the pod's user failed")
	}
	p := n.waitPod("nonroot", wait, "CreateContainerConfigError", func(p *corev1.Pod) bool {
		return waitingReason(p, 0) == "CreateContainerConfigError"
	})
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !strings.Contains(msg, "runAsNonRoot and image will run as root") {
		t.Errorf("message = %q", msg)
	}
}

// TestImagePullErrors: an image the registry does not have gives
// ErrImagePull with the registry's answer, then ImagePullBackOff.
func TestImagePullErrors(t *testing.T) {
	n := newNode(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: registry.New()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: nope}
spec:
  containers:
  - name: app
    image: ` + ln.Addr().String() + `/nothing/here:1.0
`)
	p := n.waitPod("nope", wait, "ErrImagePull", func(p *corev1.Pod) bool { return waitingReason(p, 0) == "ErrImagePull" })
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !strings.Contains(msg, "not found in registry") {
		t.Errorf("message = %q", msg)
	}
	p = n.waitPod("nope", wait, "ImagePullBackOff", func(p *corev1.Pod) bool { return waitingReason(p, 0) == "ImagePullBackOff" })
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !strings.HasPrefix(msg, "Back-off pulling image") || !strings.Contains(msg, "not found in registry") {
		t.Errorf("back-off message = %q", msg)
	}
}

// TestHostPortAndPostStart: a hostPort reaches the pod from the node, and a
// failing postStart hook kills the container so that it restarts.
func TestHostPortAndPostStart(t *testing.T) {
	n := newNode(t)
	pods := `apiVersion: v1
kind: Pod
metadata: {name: exposed}
spec:
  containers:
  - name: app
    image: testapp:test
    imagePullPolicy: Never
    ports: [{containerPort: 8080, hostPort: 18080}]
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: hooked}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    lifecycle:
      postStart:
        exec: {command: ["sh", "-c", "exit 9"]}
`
	n.apply(pods)
	n.waitPod("exposed", wait, "Ready", ready)
	// A client pod reaches the server through the node's address and the
	// hostPort.
	n.apply(pods + `---
apiVersion: v1
kind: Pod
metadata: {name: caller}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
`)
	n.waitPod("caller", wait, "Ready", ready)
	if out, code := n.exec("caller", "wget", "-q", "-O-", "http://10.244.7.1:18080/"); code != 0 || out != "hello from exposed\n" {
		t.Errorf("through the hostPort: %q (exit %d)", out, code)
	}
	n.waitPod("hooked", wait, "restarts after the failed hook", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
}
