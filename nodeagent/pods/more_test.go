package pods_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/prometheus/client_golang/prometheus"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/nodeagent/pods"
	"github.com/shoal-run/shoal/nodeagent/runtime"

	corev1 "k8s.io/api/core/v1"
)

// TestPodsReachEachOther: two pods on the node talk by pod IP, and a
// container reaches its pod's other container on localhost.
func TestPodsReachEachOther(t *testing.T) {
	n := newNode(t)
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: server}
spec:
  containers:
  - name: app
    image: testapp:test
    imagePullPolicy: Never
    readinessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
  - name: sidecar
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
`)
	server := n.waitPod("server", wait, "Ready", ready)
	n.waitPod("client", wait, "Ready", ready)
	out, code := n.exec("client", "wget", "-q", "-O-", "http://"+server.Status.PodIP+":8080/")
	if code != 0 || out != "hello from server\n" {
		t.Errorf("client -> server by pod IP: %q (exit %d)", out, code)
	}
	var b strings.Builder
	code, err := n.mgr.Exec(t.Context(), "default", "server", execOpts("sidecar", &b, "wget", "-q", "-O-", "http://127.0.0.1:8080/"))
	if err != nil || code != 0 || b.String() != "hello from server\n" {
		t.Errorf("sidecar -> app on localhost: %q (exit %d, %v)", b.String(), code, err)
	}
}

// TestOOMKilled: a container over its memory limit is OOMKilled.
func TestOOMKilled(t *testing.T) {
	n := newNode(t)
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "head -c 200m /dev/zero | tail"]
    resources:
      limits: {memory: 32Mi}
`)
	p := n.waitPod("hog", wait, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if term := terminated(p, 0); term == nil || term.Reason != "OOMKilled" {
		t.Errorf("terminated = %+v", term)
	}
}

// TestDeletionRunsPreStop: removing a pod from the desired state runs its
// preStop hook, stops it within the grace period, and leaves nothing.
func TestDeletionRunsPreStop(t *testing.T) {
	n := newNode(t)
	marker := t.TempDir()
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: graceful}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'echo got TERM; exit 0' TERM; while true; do sleep 0.1; done"]
    lifecycle:
      preStop:
        exec: {command: ["sh", "-c", "echo prestop > /marker/prestop"]}
    volumeMounts: [{name: marker, mountPath: /marker}]
  volumes:
  - name: marker
    hostPath: {path: ` + marker + `}
`)
	p := n.waitPod("graceful", wait, "Ready", ready)
	n.apply("")
	waitFor(t, "the preStop hook's file", func() bool {
		data, err := os.ReadFile(filepath.Join(marker, "prestop"))
		return err == nil && string(data) == "prestop\n"
	})
	podDir := filepath.Join(n.dir, "agent", "pods", string(p.UID))
	waitFor(t, "the pod's files to go", func() bool {
		_, err := os.Stat(podDir)
		return os.IsNotExist(err)
	})
	if _, err := n.mgr.GetPod(t.Context(), "default", "graceful"); err == nil {
		t.Error("the pod is still listed")
	}
}

// TestReadoptAfterAgentRestart: a new agent on the same node re-adopts the
// running containers (none restarts, logs continue) and reports the real
// exit code of one that exited while no agent ran.
func TestReadoptAfterAgentRestart(t *testing.T) {
	n := newNode(t)
	manifest := `apiVersion: v1
kind: Pod
metadata: {name: steady}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done"]
---
apiVersion: v1
kind: Pod
metadata: {name: ender}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 7"]
`
	n.apply(manifest)
	steady := n.waitPod("steady", wait, "Running", ready)
	ender := n.waitPod("ender", wait, "Running", ready)
	enderID := strings.TrimPrefix(ender.Status.ContainerStatuses[0].ContainerID, "shoal://")

	// The agent goes away; its containers stay.
	n.mgr.Shutdown()
	n.mgr = nil
	var err error
	n.rt, err = runtime.New(runtime.Config{Root: filepath.Join(n.dir, "runtime"), CgroupParent: n.cgroup, InitBinary: testInit})
	if err != nil {
		t.Fatal(err)
	}
	// While no agent runs, one container exits.
	if code, err := n.rt.Exec(t.Context(), enderID, runtime.ExecSpec{Args: []string{"touch", "/tmp/go"}}); err != nil || code != 0 {
		t.Fatalf("touch /tmp/go: %d %v", code, err)
	}
	waitFor(t, "the container to exit without an agent", func() bool {
		st, err := n.rt.State(enderID)
		return err == nil && st.Status == runtime.Exited
	})

	n.start()
	n.apply(manifest)
	again := n.waitPod("steady", wait, "Ready after restart", ready)
	cs, was := again.Status.ContainerStatuses[0], steady.Status.ContainerStatuses[0]
	if cs.ContainerID != was.ContainerID || cs.RestartCount != 0 || cs.State.Running.StartedAt.Unix() != was.State.Running.StartedAt.Unix() {
		t.Errorf("container was not re-adopted: before %+v, after %+v", was, cs)
	}
	count := func() int { return strings.Count(n.logs("steady", api.LogOptions{TailLines: -1}), "tick") }
	c1 := count()
	waitFor(t, "logs to keep growing", func() bool { return count() > c1+3 })
	if out, code := n.exec("steady", "echo", "still here"); code != 0 || out != "still here\n" {
		t.Errorf("exec after re-adoption: %q %d", out, code)
	}
	p := n.waitPod("ender", wait, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if term := terminated(p, 0); term == nil || term.ExitCode != 7 {
		t.Errorf("exit while no agent ran: %+v", term)
	}
}

// neverStarted is a runtime that reports container id as its runtime
// does when the agent stopped inside Start: Unknown, never started.
type neverStarted struct {
	pods.Runtime
	id string
}

func (r neverStarted) State(id string) (runtime.State, error) {
	if id == r.id {
		return runtime.State{ID: id, Status: runtime.Unknown, Reason: runtime.ReasonUnknown,
			Message: "the container was never started (its agent stopped during Start)"}, nil
	}
	return r.Runtime.State(id)
}

// TestNeverStartedContainerStartsAgain: a container whose agent stopped
// inside Start never ran its command; the next agent starts it, as the
// kubelet starts a container it finds missing — not a restart, not an
// end (a restartPolicy Never pod must not end Succeeded or Failed for it).
func TestNeverStartedContainerStartsAgain(t *testing.T) {
	n := newNode(t)
	manifest := `apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
`
	n.apply(manifest)
	p := n.waitPod("once", wait, "Running", ready)
	id := strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "shoal://")
	n.mgr.Shutdown()
	n.mgr = nil
	if _, err := n.rt.Stop(t.Context(), id, 0); err != nil {
		t.Fatal(err)
	}
	n.wrap = func(rt pods.Runtime) pods.Runtime { return neverStarted{rt, id} }
	n.start()
	n.apply(manifest)
	again := n.waitPod("once", wait, "Running again", ready)
	cs := again.Status.ContainerStatuses[0]
	if again.Status.Phase != corev1.PodRunning || cs.RestartCount != 0 || cs.State.Running == nil {
		t.Fatalf("after the agent stopped inside Start: phase %s, %+v", again.Status.Phase, cs)
	}
}

// leftover is a runtime holding, under the ID of the first container
// started, one an earlier agent left when it stopped inside Start before
// the pod's record named it: Start of that ID fails with ErrExists and
// State reports it never started, until it is removed.
type leftover struct {
	pods.Runtime
	mu      sync.Mutex
	id      string
	present bool
}

func (r *leftover) Start(ctx context.Context, spec runtime.ContainerSpec) (runtime.State, error) {
	r.mu.Lock()
	if r.id == "" {
		r.id, r.present = spec.ID, true
	}
	stale := r.present && spec.ID == r.id
	r.mu.Unlock()
	if stale {
		return runtime.State{}, fmt.Errorf("container %s: %w", spec.ID, runtime.ErrExists)
	}
	return r.Runtime.Start(ctx, spec)
}

func (r *leftover) State(id string) (runtime.State, error) {
	r.mu.Lock()
	stale := r.present && id == r.id
	r.mu.Unlock()
	if stale {
		return runtime.State{ID: id, Status: runtime.Unknown, Reason: runtime.ReasonUnknown}, nil
	}
	return r.Runtime.State(id)
}

func (r *leftover) Remove(id string, opts runtime.RemoveOptions) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.present && id == r.id {
		r.present = false
		return nil
	}
	return r.Runtime.Remove(id, opts)
}

// TestLeftoverOfAnInterruptedStartIsReplaced: a container an earlier agent
// left under the ID a run is about to use (it stopped inside Start before
// recording the run) is removed and the run starts — not a StartError.
func TestLeftoverOfAnInterruptedStartIsReplaced(t *testing.T) {
	n := newNode(t)
	n.mgr.Shutdown()
	n.wrap = func(rt pods.Runtime) pods.Runtime { return &leftover{Runtime: rt} }
	n.start()
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
`)
	p := n.waitPod("once", wait, "Running", ready)
	if cs := p.Status.ContainerStatuses[0]; cs.RestartCount != 0 || !strings.HasSuffix(cs.ContainerID, "-app-1") {
		t.Fatalf("after a leftover of an interrupted start: %+v", cs)
	}
}

// TestTerminationMessagesAndPids: the termination message comes from the
// file, or from the log's tail under FallbackToLogsOnError; the node's pids
// limit reaches the container's cgroup.
func TestTerminationMessagesAndPids(t *testing.T) {
	n := newNode(t)
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: file}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "echo 'disk full' > /dev/termination-log; exit 1"]
---
apiVersion: v1
kind: Pod
metadata: {name: fallback}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    terminationMessagePolicy: FallbackToLogsOnError
    command: ["sh", "-c", "echo starting; echo 'fatal: no config' >&2; exit 2"]
---
apiVersion: v1
kind: Pod
metadata: {name: pids}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
`)
	p := n.waitPod("file", wait, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if term := terminated(p, 0); term == nil || term.Message != "disk full\n" {
		t.Errorf("termination message from the file: %+v", term)
	}
	p = n.waitPod("fallback", wait, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if term := terminated(p, 0); term == nil || !strings.Contains(term.Message, "fatal: no config") || !strings.Contains(term.Message, "starting") {
		t.Errorf("termination message from the log: %+v", term)
	}
	n.waitPod("pids", wait, "Ready", ready)
	if out, code := n.exec("pids", "cat", "/sys/fs/cgroup/pids/pids.max"); code != 0 || strings.TrimSpace(out) != "512" {
		t.Errorf("pids.max = %q (exit %d)", out, code)
	}
}

// TestLabelChangeKeepsThePod: new labels apply in place; a new spec
// replaces the pod.
func TestLabelChangeKeepsThePod(t *testing.T) {
	n := newNode(t)
	pod := func(label, cmd string) string {
		return `apiVersion: v1
kind: Pod
metadata: {name: stable, labels: {tier: ` + label + `}}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "` + cmd + `"]
`
	}
	n.apply(pod("a", "sleep 3600"))
	before := n.waitPod("stable", wait, "Ready", ready)
	n.apply(pod("b", "sleep 3600"))
	after := n.waitPod("stable", wait, "the new label", func(p *corev1.Pod) bool { return p.Labels["tier"] == "b" })
	if after.UID != before.UID || after.Status.ContainerStatuses[0].ContainerID != before.Status.ContainerStatuses[0].ContainerID {
		t.Errorf("a label change replaced the pod: %s/%s -> %s/%s", before.UID, before.Status.ContainerStatuses[0].ContainerID, after.UID, after.Status.ContainerStatuses[0].ContainerID)
	}
	n.apply(pod("b", "sleep 1800"))
	replaced := n.waitPod("stable", wait, "a new pod for the new spec", func(p *corev1.Pod) bool { return p.UID != before.UID && ready(p) })
	if replaced.Status.ContainerStatuses[0].ContainerID == before.Status.ContainerStatuses[0].ContainerID {
		t.Error("the new spec kept the old container")
	}
}

// TestGitRepoVolume: a gitRepo volume is cloned from a real local
// repository before the container starts.
func TestGitRepoVolume(t *testing.T) {
	n := newNode(t)
	repo := t.TempDir()
	r, err := git.PlainInit(repo, false)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(repo, "index.html"), []byte("from git\n"), 0o644)
	wt, _ := r.Worktree()
	wt.Add("index.html")
	if _, err := wt.Commit("site", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.test", When: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: site}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    volumeMounts: [{name: site, mountPath: /srv}]
  volumes:
  - name: site
    gitRepo: {repository: "` + repo + `", directory: www}
`)
	n.waitPod("site", wait, "Ready", ready)
	if out, code := n.exec("site", "cat", "/srv/www/index.html"); code != 0 || out != "from git\n" {
		t.Errorf("cloned file: %q (exit %d)", out, code)
	}
}

// TestNFSWithoutClient: on a node without the NFS client, an nfs volume
// leaves the pod waiting with a message that says what to install, and the
// agent carries on.
func TestNFSWithoutClient(t *testing.T) {
	for _, p := range []string{"/sbin/mount.nfs", "/usr/sbin/mount.nfs"} {
		if _, err := os.Stat(p); err == nil {
			t.Skip("this machine has an NFS client; the missing-client message cannot be seen")
		}
	}
	n := newNode(t)
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: share}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    nfs: {server: 192.0.2.10, path: /exports/data}
`)
	p := n.waitPod("share", wait, "the NFS message", func(p *corev1.Pod) bool { return strings.Contains(p.Status.Message, "nfs-common") })
	if p.Status.Phase != corev1.PodPending {
		t.Errorf("phase %s", p.Status.Phase)
	}
}

// TestConfigVolumesFollowTheDesiredState: configMap, secret and downwardAPI
// volumes show the desired state; a changed ConfigMap changes the mounted
// file, but not the environment variable nor the subPath mount taken from
// it; new labels reach the downward API file; a missing ConfigMap leaves
// the pod waiting with the kubelet's message.
func TestConfigVolumesFollowTheDesiredState(t *testing.T) {
	n := newNode(t)
	manifest := func(greeting string) string {
		return `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: "` + greeting + `", other: x}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: conf, labels: {tier: ` + greeting + `}}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
    - {name: cfg, mountPath: /etc/greeting.txt, subPath: greeting}
    - {name: creds, mountPath: /etc/creds}
    - {name: info, mountPath: /etc/podinfo}
  volumes:
  - name: cfg
    configMap: {name: cfg}
  - name: creds
    secret: {secretName: creds, defaultMode: 0400}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
`
	}
	n.apply(manifest("hello"))
	n.waitPod("conf", wait, "Ready", ready)
	check := func(cmd, want string) {
		t.Helper()
		if out, code := n.exec("conf", "sh", "-c", cmd); code != 0 || out != want {
			t.Errorf("%s: %q (exit %d), want %q", cmd, out, code, want)
		}
	}
	check("cat /etc/cfg/greeting", "hello")
	check("cat /etc/greeting.txt", "hello")
	check("echo $GREETING", "hello\n")
	check("cat /etc/creds/password", "s3cret")
	check("stat -c %a /etc/creds/..data/password", "400\n")
	check("cat /etc/podinfo/labels", `tier="hello"`)
	check("grep -c ' /etc/creds .*tmpfs' /proc/mounts || mount | grep -c 'on /etc/creds type tmpfs'", "1\n")

	n.apply(manifest("bonjour"))
	waitFor(t, "the mounted ConfigMap file to change", func() bool {
		out, _ := n.exec("conf", "cat", "/etc/cfg/greeting")
		return out == "bonjour"
	})
	waitFor(t, "the downward API labels to change", func() bool {
		out, _ := n.exec("conf", "cat", "/etc/podinfo/labels")
		return out == `tier="bonjour"`
	})
	check("echo $GREETING", "hello\n")
	check("cat /etc/greeting.txt", "hello")

	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: orphan}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    volumeMounts: [{name: cfg, mountPath: /etc/cfg}]
  volumes:
  - name: cfg
    configMap: {name: absent}
`)
	p := n.waitPod("orphan", wait, "the missing ConfigMap message", func(p *corev1.Pod) bool {
		return strings.Contains(p.Status.Message, `MountVolume.SetUp failed for volume "cfg" : configmap "absent" not found`)
	})
	if waitingReason(p, 0) != "ContainerCreating" {
		t.Errorf("waiting reason %q", waitingReason(p, 0))
	}
}

// TestClaimDataOutlivesThePod: data a pod writes to its claim's volume is
// read by the pod that replaces it; an unbound claim leaves the pod waiting
// with the binder's reason.
func TestClaimDataOutlivesThePod(t *testing.T) {
	n := newNode(t)
	data := t.TempDir()
	n.mgr.SetClaims(pods.ClaimMap{
		"default/data":    {Path: data},
		"default/nowhere": {Pending: `persistentvolumeclaim "nowhere" is not bound: no persistent volumes available for this claim and no storage class is set`},
	})
	pod := func(cmd string) string {
		return `apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "` + cmd + `"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
`
	}
	n.apply(pod("echo kept > /data/file"))
	n.waitPod("writer", wait, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	n.apply(pod("cat /data/file"))
	n.waitPod("writer", wait, "the replacement to succeed", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Terminated != nil
	})
	waitFor(t, "the replacement's log", func() bool {
		var b strings.Builder
		n.mgr.Logs(t.Context(), "default", "writer", api.LogOptions{TailLines: -1}, &b)
		return b.String() == "kept\n"
	})
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: stuck}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    volumeMounts: [{name: v, mountPath: /v}]
  volumes:
  - name: v
    persistentVolumeClaim: {claimName: nowhere}
`)
	n.waitPod("stuck", wait, "the binder's reason", func(p *corev1.Pod) bool {
		return strings.Contains(p.Status.Message, "no persistent volumes available for this claim")
	})
}

// TestSubPathExprAndHostPathTypes: subPathExpr expands the container's
// environment; a hostPath whose type check fails leaves the pod waiting
// with the reason, and the node carries on.
func TestSubPathExprAndHostPathTypes(t *testing.T) {
	n := newNode(t)
	shared := t.TempDir()
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: per-pod}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sh", "-c", "echo mine > /out/file"]
    env:
    - name: POD
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    volumeMounts: [{name: shared, mountPath: /out, subPathExpr: "logs/$(POD)"}]
  volumes:
  - name: shared
    hostPath: {path: ` + shared + `}
---
apiVersion: v1
kind: Pod
metadata: {name: wrong-type}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    volumeMounts: [{name: f, mountPath: /f}]
  volumes:
  - name: f
    hostPath: {path: ` + shared + `, type: File}
`)
	n.waitPod("per-pod", wait, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if data, err := os.ReadFile(filepath.Join(shared, "logs", "per-pod", "file")); err != nil || string(data) != "mine\n" {
		t.Errorf("file under the expanded subPath: %q, %v", data, err)
	}
	n.waitPod("wrong-type", wait, "the type check message", func(p *corev1.Pod) bool {
		return strings.Contains(p.Status.Message, "hostPath type check failed: "+shared+" is not a file")
	})
}

// TestProjectedMemoryAndEnvSources: a projected volume (configMap, secret
// and downward API in one directory), an emptyDir on tmpfs with its size
// limit, and every environment source, read from inside the container.
func TestProjectedMemoryAndEnvSources(t *testing.T) {
	n := newNode(t)
	n.apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: app}
data: {MODE: prod, LEVEL: debug}
---
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {user: admin, password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: all, labels: {app: all}}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
    resources:
      limits: {memory: 64Mi}
    envFrom:
    - configMapRef: {name: app}
      prefix: CFG_
    - secretRef: {name: db}
    env:
    - name: DB_PASSWORD
      valueFrom: {secretKeyRef: {name: db, key: password}}
    - name: MEM_MI
      valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}
    volumeMounts:
    - {name: bundle, mountPath: /etc/bundle}
    - {name: scratch, mountPath: /scratch}
  volumes:
  - name: bundle
    projected:
      sources:
      - configMap: {name: app, items: [{key: MODE, path: mode}]}
      - secret: {name: db, items: [{key: user, path: creds/user}]}
      - downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
  - name: scratch
    emptyDir: {medium: Memory, sizeLimit: 4Mi}
`)
	n.waitPod("all", wait, "Ready", ready)
	check := func(cmd, want string) {
		t.Helper()
		if out, code := n.exec("all", "sh", "-c", cmd); code != 0 || out != want {
			t.Errorf("%s: %q (exit %d), want %q", cmd, out, code, want)
		}
	}
	check("echo $CFG_MODE $CFG_LEVEL $user $DB_PASSWORD $MEM_MI", "prod debug admin s3cret 64\n")
	check("cat /etc/bundle/mode; echo; cat /etc/bundle/creds/user; echo; cat /etc/bundle/labels", "prod\nadmin\napp=\"all\"")
	check("mount | grep -c 'on /scratch type tmpfs'", "1\n")
	if out, code := n.exec("all", "sh", "-c", "head -c 8388608 /dev/zero > /scratch/big"); code == 0 {
		t.Errorf("writing 8 MiB into a 4 MiB emptyDir succeeded: %q", out)
	}
}

// TestMetrics: the manager serves pods by phase and container starts.
func TestMetrics(t *testing.T) {
	n := newNode(t)
	n.apply(`apiVersion: v1
kind: Pod
metadata: {name: counted}
spec:
  containers:
  - name: app
    image: busybox:test
    imagePullPolicy: Never
    command: ["sleep", "3600"]
`)
	n.waitPod("counted", wait, "Ready", ready)
	reg := prometheus.NewRegistry()
	if err := reg.Register(n.mgr); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.Gauge != nil:
				got[key] = m.GetGauge().GetValue()
			case m.Counter != nil:
				got[key] = m.GetCounter().GetValue()
			case m.Histogram != nil:
				got[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	if got["shoal_pods{phase=Running}"] != 1 || got["shoal_pods{phase=Pending}"] != 0 {
		t.Errorf("pods by phase = %v", got)
	}
	if got["shoal_container_starts_total{result=started}"] != 1 || got["shoal_container_start_seconds"] != 1 {
		t.Errorf("container starts = %v", got)
	}
}
