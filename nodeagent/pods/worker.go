package pods

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/shoal-run/shoal/nodeagent/gitvolume"
	"github.com/shoal-run/shoal/nodeagent/images"
	"github.com/shoal-run/shoal/nodeagent/logs"
	"github.com/shoal-run/shoal/nodeagent/podnet"
	"github.com/shoal-run/shoal/nodeagent/runtime"
	"github.com/shoal-run/shoal/policies/restart"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// run is one container of a pod as the worker drives it.
type run struct {
	rec  *ContainerRecord
	spec *corev1.Container

	attempt   int
	id        string // current runtime container ("" before the first start)
	prevID    string // the run before, for logs --previous
	startedAt time.Time
	backoff   restart.Backoff
	restartAt time.Time // when a stopped container may start again
	exited    bool      // the current run has terminated
	// stopProbes ends the current run's probe loops.
	stopProbes context.CancelFunc
	// killing is set while the worker stops the container on purpose (a
	// failed liveness probe or post-start hook), with the reason to report.
	killing string
	// adopted marks a run re-adopted after an agent restart: its
	// post-start hook already ran.
	adopted bool
}

// worker drives one pod through its life on this node. Its loop is
// level-based: each pass looks at the whole pod and does the next thing due.
type worker struct {
	m   *Manager
	pod *corev1.Pod
	key string // namespace/name
	uid string
	dir string
	log *slog.Logger

	wake chan struct{}
	// created is when this node first took the pod on (its
	// creationTimestamp: shoal has no API server to stamp it).
	created time.Time

	mu sync.Mutex // guards everything below
	// labels, annotations and owners change in place (pod stays, spec
	// unchanged).
	labels, annotations map[string]string
	owners              []metav1.OwnerReference
	init                []*run
	app                 []*run
	sandbox             *podnet.Sandbox
	conds               Conditions
	startTime           time.Time
	phase               corev1.PodPhase
	message             string // pod-level problem (sandbox), shown in status
	terminating         bool
	done                bool // the pod has terminated for good (Succeeded/Failed)
	pullBackoff         map[string]time.Time
	pullDelay           map[string]time.Duration
	pullErr             map[string]string    // the last pull error per image
	gitSyncAt           map[string]time.Time // next git sync per gitRepo volume

	// saved is the state last written by save (the worker's goroutine
	// alone uses it).
	saved []byte
}

func newWorker(m *Manager, pod *corev1.Pod) *worker {
	w := &worker{
		m:           m,
		pod:         pod,
		key:         pod.Namespace + "/" + pod.Name,
		uid:         string(pod.UID),
		dir:         filepath.Join(m.cfg.DataDir, "pods", string(pod.UID)),
		wake:        make(chan struct{}, 1),
		created:     time.Now(),
		pullBackoff: map[string]time.Time{},
		pullDelay:   map[string]time.Duration{},
		pullErr:     map[string]string{},
		gitSyncAt:   map[string]time.Time{},
	}
	w.log = m.log.With("pod", w.key)
	w.labels, w.annotations, w.owners = pod.Labels, pod.Annotations, pod.OwnerReferences
	mk := func(c *corev1.Container, init bool) *run {
		return &run{spec: c, rec: &ContainerRecord{Name: c.Name, Init: init, Image: c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: ReasonContainerCreating}}}}
	}
	for i := range pod.Spec.InitContainers {
		w.init = append(w.init, mk(&pod.Spec.InitContainers[i], true))
	}
	for i := range pod.Spec.Containers {
		r := mk(&pod.Spec.Containers[i], false)
		if len(pod.Spec.InitContainers) > 0 {
			r.rec.State.Waiting.Reason = ReasonPodInitializing
		}
		w.app = append(w.app, r)
	}
	w.phase = corev1.PodPending
	return w
}

// updateMeta takes a new version of the pod whose spec is unchanged: its
// labels and annotations change in place (downward API files follow), and
// the worker looks again at what depends on the desired state. A running
// pod whose metadata is the same and that reads nothing else of the
// desired state is left alone: every Apply would otherwise wake every pod
// of the node (a pass and a state write each) while a new pod starts.
func (w *worker) updateMeta(p *corev1.Pod) {
	w.mu.Lock()
	same := maps.Equal(w.labels, p.Labels) && maps.Equal(w.annotations, p.Annotations) &&
		equality.Semantic.DeepEqual(w.owners, p.OwnerReferences)
	w.labels, w.annotations, w.owners = p.Labels, p.Annotations, p.OwnerReferences
	settled := w.phase == corev1.PodRunning && w.message == ""
	for _, r := range w.app {
		if r.rec.State.Running == nil {
			settled = false
		}
	}
	w.mu.Unlock()
	if same && settled && !readsDesiredState(w.pod) {
		return
	}
	w.poke()
}

// readsDesiredState reports whether a running pod uses objects of the
// desired state other than itself: ConfigMaps and Secrets (volumes, whose
// files follow them), claims, gitRepo volumes (their credentials).
func readsDesiredState(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil || v.Secret != nil || v.Projected != nil || v.PersistentVolumeClaim != nil || v.GitRepo != nil {
			return true
		}
	}
	return false
}

// currentPod returns the pod with its current labels, annotations and
// owners (a quarantined pod loses its owner in place). The
// spec is shared and never changes.
func (w *worker) currentPod() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.currentPodLocked()
}

func (w *worker) currentPodLocked() *corev1.Pod {
	p := *w.pod
	p.Labels, p.Annotations, p.OwnerReferences = w.labels, w.annotations, w.owners
	return &p
}

// event reports a kubelet event about the pod, if the manager has a sink.
func (w *worker) event(eventType, reason, message string) {
	if fn := w.m.cfg.Event; fn != nil {
		fn(w.currentPod(), eventType, reason, message)
	}
}

// poke asks the loop for another pass.
func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
	if f := w.m.cfg.Changed; f != nil {
		f()
	}
}

// loop runs passes until kill is closed (the pod left the desired state:
// stop it) or shutdown ends (the agent stops: let go, leave the containers
// running for the next agent).
func (w *worker) loop(kill <-chan struct{}, shutdown context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next := w.pass(shutdown)
		w.save()
		if next <= 0 {
			next = time.Hour
		}
		timer.Reset(next)
		select {
		case <-shutdown.Done():
			w.letGo()
			return
		case <-kill:
			w.terminate(shutdown)
			return
		case <-w.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// pass does what is due now and returns when the next pass is due on its
// own (0: only when poked).
func (w *worker) pass(ctx context.Context) time.Duration {
	now := time.Now()
	var next time.Duration
	due := func(d time.Duration) {
		if d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	w.mu.Lock()
	done := w.done
	w.mu.Unlock()
	if done {
		return 0
	}
	if err := w.ensureSandbox(); err != nil {
		w.mu.Lock()
		w.message = err.Error()
		w.mu.Unlock()
		w.log.Error("pod sandbox", "error", err)
		return 5 * time.Second
	}
	if err := w.syncVolumes(); err != nil {
		w.mu.Lock()
		w.message = err.Error()
		for _, r := range append(append([]*run(nil), w.init...), w.app...) {
			if r.id == "" {
				r.rec.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: ReasonContainerCreating, Message: err.Error()}}
			}
		}
		w.mu.Unlock()
		w.log.Warn("pod volumes", "error", err)
		return 2 * time.Second
	}
	w.mu.Lock()
	w.message = ""
	w.mu.Unlock()
	due(w.syncGit(now))
	// Init containers, one at a time, in order.
	for _, r := range w.init {
		w.mu.Lock()
		st := r.rec.State
		w.mu.Unlock()
		if st.Terminated != nil && st.Terminated.ExitCode == 0 {
			continue
		}
		if st.Running != nil {
			return next
		}
		due(w.maybeStart(ctx, r, now))
		w.updatePhase(now)
		return next
	}
	for _, r := range w.app {
		w.mu.Lock()
		running := r.rec.State.Running != nil
		w.mu.Unlock()
		if running {
			continue
		}
		due(w.maybeStart(ctx, r, now))
	}
	w.updatePhase(now)
	return next
}

// maybeStart starts r if it never ran, or restarts it under the pod's
// restart policy once its back-off has passed. It returns when to look
// again (0: when poked).
func (w *worker) maybeStart(ctx context.Context, r *run, now time.Time) time.Duration {
	w.mu.Lock()
	exited := r.exited
	var exitCode int32
	if t := r.rec.State.Terminated; t != nil {
		exitCode = t.ExitCode
	}
	restartAt := r.restartAt
	w.mu.Unlock()
	if exited {
		if !restart.ShouldRestart(w.pod.Spec.RestartPolicy, int(exitCode)) {
			return 0
		}
		if restart.InBackoff(now, restartAt) {
			w.mu.Lock()
			last := r.rec.State.Terminated
			if last != nil {
				r.rec.LastTermination = last
			}
			r.rec.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason:  ReasonCrashLoopBackOff,
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", r.backoff.Delay, r.spec.Name, w.pod.Name, w.pod.Namespace, w.uid),
			}}
			w.mu.Unlock()
			w.event(corev1.EventTypeWarning, "BackOff", "Back-off restarting failed container "+r.spec.Name+" in pod "+w.pod.Name)
			return restartAt.Sub(now)
		}
	}
	return w.start(ctx, r)
}

// start pulls the image if needed, prepares and starts one run of r. A
// failure leaves r waiting with the kubelet's reason and returns when to
// try again.
func (w *worker) start(ctx context.Context, r *run) time.Duration {
	begin := time.Now()
	setWaiting := func(reason, msg string) {
		w.mu.Lock()
		r.rec.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
		w.mu.Unlock()
	}
	img, wait := w.ensureImage(ctx, r, setWaiting)
	if img == nil {
		return wait
	}
	w.mu.Lock()
	r.rec.ImageID = img.Ref + "@" + img.Digest
	sandbox := w.sandbox
	w.mu.Unlock()

	podIP := ""
	if sandbox != nil && sandbox.IP.IsValid() {
		podIP = sandbox.IP.String()
	}
	pod := w.currentPod()
	var svcEnv []corev1.EnvVar
	if f := w.m.cfg.ServiceEnv; f != nil {
		svcEnv = f(pod.Namespace, pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks)
	}
	env, warnings, err := Env(EnvInput{Pod: pod, Container: r.spec, PodIP: podIP, HostIP: w.m.cfg.NodeIP, NodeName: w.m.cfg.NodeName,
		ServiceEnv: svcEnv, Config: w.m.configSource()})
	for _, warn := range warnings {
		w.log.Warn("container environment", "container", r.spec.Name, "warning", warn)
	}
	if err != nil {
		setWaiting(ReasonCreateContainerConfigError, err.Error())
		return 2 * time.Second
	}
	attempt := r.attempt + 1
	id := containerID(w.uid, r.spec.Name, attempt)
	runDir := filepath.Join(w.dir, "containers", r.spec.Name, fmt.Sprint(attempt))
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		setWaiting(ReasonCreateContainerError, err.Error())
		return 5 * time.Second
	}
	if r.spec.TerminationMessagePath != "" {
		if err := os.WriteFile(filepath.Join(runDir, "termination-log"), nil, 0o666); err != nil {
			setWaiting(ReasonCreateContainerError, err.Error())
			return 5 * time.Second
		}
	}
	spec, err := containerSpec(specInput{id: id, pod: w.pod, container: r.spec, image: img, env: env, sandbox: sandbox, podDir: w.dir, runDir: runDir, pidsLimit: w.m.cfg.PodPidsLimit, claim: w.m.claim})
	var ce *ConfigError
	if errors.As(err, &ce) {
		setWaiting(ReasonCreateContainerConfigError, ce.Message)
		return 2 * time.Second
	}
	if err != nil {
		setWaiting(ReasonCreateContainerError, err.Error())
		return 5 * time.Second
	}
	started := time.Now()
	prepared := started.Sub(begin)
	st, err := w.m.rt.Start(ctx, spec)
	if errors.Is(err, runtime.ErrExists) && w.removeNeverStarted(id) {
		// A container of this run's ID left by an agent that stopped
		// inside Start (before the run was recorded): it never ran, so it
		// goes, and this start is the one that counts.
		st, err = w.m.rt.Start(ctx, spec)
	}
	w.mu.Lock()
	r.attempt = attempt
	if r.id != "" {
		r.prevID = r.id
	}
	r.id = id
	r.rec.ContainerID = id
	if r.rec.State.Terminated != nil {
		r.rec.LastTermination = r.rec.State.Terminated
	}
	if r.exited {
		r.rec.RestartCount++
	}
	w.mu.Unlock()
	if err == nil {
		w.m.metrics.starts.WithLabelValues("started").Inc()
		w.m.metrics.startSeconds.Observe(time.Since(begin).Seconds())
	} else {
		w.m.metrics.starts.WithLabelValues("failed").Inc()
	}
	if err != nil {
		// The run failed to start: it counts as a run that ended at once,
		// with the kubelet's StartError, and restarts with back-off.
		w.m.rt.Remove(id, runtime.RemoveOptions{KeepLogs: true})
		msg := err.Error()
		if errors.Is(err, runtime.ErrCommandNotFound) || errors.Is(err, runtime.ErrNotExecutable) {
			msg = fmt.Sprintf("failed to create containerd task: failed to create shim task: OCI runtime create failed: %v", err)
		}
		w.finished(r, runtime.State{ID: id, Status: runtime.Exited, ExitCode: 128, StartedAt: started, FinishedAt: time.Now(), Reason: "StartError", Message: msg})
		return time.Second
	}
	w.mu.Lock()
	r.exited = false
	r.startedAt = st.StartedAt
	r.rec.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(st.StartedAt)}}
	r.rec.Started = r.spec.StartupProbe == nil
	r.rec.Ready = false
	w.mu.Unlock()
	w.log.Info("container started", "container", r.spec.Name, "id", id, "attempt", attempt,
		"prepare", prepared.Round(time.Microsecond), "start", time.Since(started).Round(time.Microsecond))
	w.event(corev1.EventTypeNormal, "Created", "Created container "+r.spec.Name)
	w.event(corev1.EventTypeNormal, "Started", "Started container "+r.spec.Name)
	w.afterStart(r, id)
	return 0
}

// afterStart watches a run: its exit, its post-start hook and its probes.
func (w *worker) afterStart(r *run, id string) {
	probeCtx, cancel := context.WithCancel(w.m.shutdownCtx)
	w.mu.Lock()
	r.stopProbes = cancel
	w.mu.Unlock()
	go func() {
		st, err := w.m.rt.Wait(w.m.shutdownCtx, id)
		if err != nil {
			return // the agent is stopping; the next agent re-adopts
		}
		cancel()
		w.finished(r, st)
	}()
	go w.probeLoop(probeCtx, r, id)
}

// finished records the end of a run and schedules its restart.
func (w *worker) finished(r *run, st runtime.State) {
	w.mu.Lock()
	if r.id != st.ID || r.exited {
		w.mu.Unlock()
		return
	}
	r.exited = true
	reason := st.Reason
	if reason == "" || reason == runtime.ReasonCompleted || reason == runtime.ReasonError {
		reason = TerminatedReason(int32(st.ExitCode), st.OOMKilled)
	}
	if st.OOMKilled {
		reason = ReasonOOMKilled
	}
	term := &corev1.ContainerStateTerminated{
		ExitCode:    int32(st.ExitCode),
		Signal:      int32(st.Signal),
		Reason:      reason,
		Message:     st.Message,
		StartedAt:   metav1.NewTime(st.StartedAt),
		FinishedAt:  metav1.NewTime(st.FinishedAt),
		ContainerID: "shoal://" + st.ID,
	}
	if msg := w.terminationMessage(r, st.ExitCode); msg != "" {
		term.Message = msg
	}
	r.rec.State = corev1.ContainerState{Terminated: term}
	r.rec.Ready = false
	r.rec.Started = false
	var delay time.Duration
	delay, r.backoff = r.backoff.Next(w.m.cfg.Backoff, st.StartedAt, st.FinishedAt)
	r.restartAt = restart.RestartAt(st.FinishedAt, delay)
	if r.rec.Init && st.ExitCode == 0 {
		r.restartAt = time.Time{}
	}
	w.mu.Unlock()
	w.m.metrics.exits.WithLabelValues(reason).Inc()
	w.log.Info("container exited", "container", r.spec.Name, "id", st.ID, "exitCode", st.ExitCode, "reason", reason)
	w.poke()
}

// terminationMessage reads the run's termination log, or its log's tail
// under FallbackToLogsOnError, as the kubelet does (at most 4 KiB).
func (w *worker) terminationMessage(r *run, exitCode int) string {
	runDir := filepath.Join(w.dir, "containers", r.spec.Name, fmt.Sprint(r.attempt))
	data, err := os.ReadFile(filepath.Join(runDir, "termination-log"))
	if err == nil && len(data) > 0 {
		if len(data) > 4096 {
			data = data[:4096]
		}
		return string(data)
	}
	if r.spec.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError && exitCode != 0 && r.id != "" {
		// The kubelet's fallback: the last 80 lines of the log, at most
		// 2048 bytes.
		var b strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := logs.Read(ctx, w.m.rt.LogPath(r.id), logs.Options{TailLines: 80}, &b); err == nil {
			msg := b.String()
			if len(msg) > 2048 {
				msg = msg[len(msg)-2048:]
			}
			return msg
		}
	}
	return ""
}

// ensureImage returns the container's image, pulling it as its
// imagePullPolicy says. While it cannot, it sets the waiting reason and
// returns nil and when to try again.
func (w *worker) ensureImage(ctx context.Context, r *run, setWaiting func(reason, msg string)) (*images.Image, time.Duration) {
	ref := r.spec.Image
	policy := r.spec.ImagePullPolicy
	img, err := w.m.images.Get(ref)
	present := err == nil
	if present && policy != corev1.PullAlways {
		if r.attempt <= 1 {
			w.event(corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", ref))
		}
		return img, 0
	}
	if !present && policy == corev1.PullNever {
		setWaiting(ReasonErrImageNeverPull, fmt.Sprintf("Container image %q is not present with pull policy of Never", ref))
		return nil, 5 * time.Second
	}
	now := time.Now()
	w.mu.Lock()
	until := w.pullBackoff[ref]
	w.mu.Unlock()
	if now.Before(until) {
		w.mu.Lock()
		last := w.pullErr[ref]
		w.mu.Unlock()
		msg := fmt.Sprintf("Back-off pulling image %q", ref)
		if last != "" {
			msg += ": " + last
		}
		setWaiting(ReasonImagePullBackOff, msg)
		return nil, until.Sub(now)
	}
	if !present {
		setWaiting(ReasonContainerCreating, "")
	}
	kc, kerr := w.m.pullKeychain(w.pod)
	if kerr != nil {
		w.log.Warn("image pull secrets", "error", kerr)
	}
	w.event(corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", ref))
	pullBegan := time.Now()
	pulled, err := w.m.images.Pull(ctx, ref, images.PullOptions{Keychain: kc})
	if err != nil {
		w.event(corev1.EventTypeWarning, "Failed", fmt.Sprintf("Failed to pull image %q: %v", ref, err))
		if present {
			// Always with a copy present: keep running the copy, as the
			// kubelet would fail the pull; report and use what we have.
			w.log.Warn("image pull failed; using the local copy", "image", ref, "error", err)
			return img, 0
		}
		w.mu.Lock()
		d := w.pullDelay[ref]
		if d == 0 {
			d = w.m.cfg.Backoff.Initial
		} else if d *= 2; d > w.m.cfg.Backoff.Max {
			d = w.m.cfg.Backoff.Max
		}
		w.pullDelay[ref] = d
		w.pullBackoff[ref] = time.Now().Add(d)
		w.pullErr[ref] = err.Error()
		w.mu.Unlock()
		setWaiting(ReasonErrImagePull, err.Error())
		w.log.Warn("image pull failed", "image", ref, "error", err)
		// ErrImagePull shows for a moment, then ImagePullBackOff for the
		// rest of the back-off, as with the kubelet.
		return nil, min(d/2, 2*time.Second)
	}
	w.mu.Lock()
	delete(w.pullDelay, ref)
	delete(w.pullBackoff, ref)
	delete(w.pullErr, ref)
	w.mu.Unlock()
	w.event(corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q in %s", ref, time.Since(pullBegan).Round(time.Millisecond)))
	return pulled, 0
}

// ensureSandbox creates the pod's namespaces and managed files once.
func (w *worker) ensureSandbox() error {
	w.mu.Lock()
	have := w.sandbox != nil
	w.mu.Unlock()
	if have {
		return nil
	}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return err
	}
	spec := podnet.SandboxSpec{ID: w.uid, Hostname: Hostname(w.pod), HostNetwork: w.pod.Spec.HostNetwork, HostIPC: w.pod.Spec.HostIPC}
	for _, c := range w.pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort != 0 && !w.pod.Spec.HostNetwork {
				spec.HostPorts = append(spec.HostPorts, podnet.HostPort{Protocol: string(p.Protocol), HostIP: p.HostIP, HostPort: int(p.HostPort), ContainerPort: int(p.ContainerPort)})
			}
		}
	}
	sb, err := w.m.net.CreateSandbox(spec)
	if err != nil {
		return fmt.Errorf("create pod sandbox: %w", err)
	}
	podIP := ""
	if sb.IP.IsValid() {
		podIP = sb.IP.String()
	}
	files := map[string][]byte{
		"hosts":       HostsFile(w.pod, podIP, w.m.cfg.DNS.ClusterDomain),
		"hostname":    []byte(Hostname(w.pod) + "\n"),
		"resolv.conf": ResolvConf(w.pod, w.m.cfg.DNS),
	}
	for name, data := range files {
		if data == nil && name == "hosts" {
			continue // host-network pods see the host's file
		}
		if err := os.WriteFile(filepath.Join(w.dir, name), data, 0o644); err != nil {
			return err
		}
	}
	if err := w.prepareVolumes(); err != nil {
		return err
	}
	w.mu.Lock()
	w.sandbox = sb
	if w.startTime.IsZero() {
		w.startTime = time.Now()
	}
	w.message = ""
	w.mu.Unlock()
	return nil
}

// prepareVolumes makes the pod's emptyDir folders (tmpfs for medium
// Memory) and checks hostPath types.
func (w *worker) prepareVolumes() error {
	for _, v := range w.pod.Spec.Volumes {
		switch {
		case v.EmptyDir != nil:
			dir := filepath.Join(w.dir, "volumes", v.Name)
			if err := os.MkdirAll(dir, 0o777); err != nil {
				return err
			}
			if err := os.Chmod(dir, 0o777); err != nil {
				return err
			}
			if v.EmptyDir.Medium == corev1.StorageMediumMemory {
				if err := mountTmpfs(dir, v.EmptyDir.SizeLimit); err != nil {
					return fmt.Errorf("emptyDir %s: %w", v.Name, err)
				}
			}
		case v.HostPath != nil:
			if err := checkHostPath(v.HostPath); err != nil {
				return fmt.Errorf("hostPath volume %s: %w", v.Name, err)
			}
		case v.NFS != nil:
			if err := mountNFS(v.NFS, filepath.Join(w.dir, "volumes", v.Name)); err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
		case v.PersistentVolumeClaim != nil:
			c := w.m.claim(w.pod.Namespace, v.PersistentVolumeClaim.ClaimName)
			if c.Pending != "" {
				return fmt.Errorf("volume %s: %s", v.Name, c.Pending)
			}
			if c.NFS != nil {
				if err := mountNFS(c.NFS, filepath.Join(w.dir, "volumes", v.Name)); err != nil {
					return fmt.Errorf("volume %s: %w", v.Name, err)
				}
			}
		case v.GitRepo != nil:
			auth, err := w.gitAuth()
			if err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
			ctx, cancel := context.WithTimeout(w.m.shutdownCtx, 5*time.Minute)
			err = gitvolume.Clone(ctx, v.GitRepo, filepath.Join(w.dir, "volumes", v.Name), auth)
			cancel()
			if err != nil {
				return fmt.Errorf("volume %s: %w", v.Name, err)
			}
		}
	}
	return nil
}

// probeLoop runs a run's startup, liveness and readiness probes until ctx
// ends (the run exited or the agent stops).
func (w *worker) probeLoop(ctx context.Context, r *run, id string) {
	c := r.spec
	target := w.probeTarget(c, id)
	period := func(p *corev1.Probe) time.Duration {
		if p.PeriodSeconds > 0 {
			return time.Duration(p.PeriodSeconds) * time.Second
		}
		return 10 * time.Second
	}
	sleep := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	w.mu.Lock()
	adopted := r.adopted
	w.mu.Unlock()
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil && !adopted {
		if err := RunHandler(ctx, c.Lifecycle.PostStart, target); err != nil {
			w.log.Warn("postStart hook failed; killing the container", "container", c.Name, "error", err)
			w.killRun(r, id, "FailedPostStartHook")
			return
		}
	}
	if p := c.StartupProbe; p != nil {
		if !sleep(time.Duration(p.InitialDelaySeconds) * time.Second) {
			return
		}
		st := NewProbeState(false)
		for {
			ok, msg := RunProbe(ctx, p, target)
			if ctx.Err() != nil {
				return
			}
			st.Observe(p, ok)
			if st.Result {
				break
			}
			if !ok && st.Failures() >= p.FailureThreshold {
				w.log.Info("startup probe failed; restarting the container", "container", c.Name, "message", msg)
				w.killRun(r, id, "StartupProbeFailed")
				return
			}
			if !sleep(period(p)) {
				return
			}
		}
		w.mu.Lock()
		r.rec.Started = true
		w.mu.Unlock()
	}
	var wg sync.WaitGroup
	if p := c.LivenessProbe; p != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !sleep(time.Duration(p.InitialDelaySeconds) * time.Second) {
				return
			}
			st := NewProbeState(true)
			for {
				ok, msg := RunProbe(ctx, p, target)
				if ctx.Err() != nil {
					return
				}
				if st.Observe(p, ok) && !st.Result {
					w.log.Info("liveness probe failed; restarting the container", "container", c.Name, "message", msg)
					w.killRun(r, id, "LivenessProbeFailed")
					return
				}
				if !sleep(period(p)) {
					return
				}
			}
		}()
	}
	if p := c.ReadinessProbe; p != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !sleep(time.Duration(p.InitialDelaySeconds) * time.Second) {
				return
			}
			st := NewProbeState(false)
			for {
				ok, _ := RunProbe(ctx, p, target)
				if ctx.Err() != nil {
					return
				}
				if st.Observe(p, ok) {
					w.mu.Lock()
					r.rec.Ready = st.Result && r.id == id && !r.exited
					w.mu.Unlock()
					w.poke()
				}
				if !sleep(period(p)) {
					return
				}
			}
		}()
	} else {
		w.mu.Lock()
		if r.id == id && !r.exited {
			r.rec.Ready = r.rec.Started || c.StartupProbe == nil
		}
		w.mu.Unlock()
		w.poke()
	}
	wg.Wait()
}

// probeTarget says how probes reach container c of this pod.
func (w *worker) probeTarget(c *corev1.Container, id string) ProbeTarget {
	w.mu.Lock()
	sb := w.sandbox
	w.mu.Unlock()
	host := "127.0.0.1"
	if sb != nil && sb.IP.IsValid() {
		host = sb.IP.String()
	}
	return ProbeTarget{
		Host:  host,
		Ports: c.Ports,
		Dial:  w.m.dial,
		Exec: func(ctx context.Context, cmd []string) (int, error) {
			return w.m.rt.Exec(ctx, id, runtime.ExecSpec{Args: cmd, Stdout: discard{}, Stderr: discard{}})
		},
	}
}

// discard is an io.Writer that keeps nothing.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// killRun stops a run on purpose (failed probe or hook); its exit is then
// recorded as usual and the restart policy applies.
func (w *worker) killRun(r *run, id, why string) {
	grace := w.grace()
	if p := r.spec.LivenessProbe; p != nil && p.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
	}
	w.mu.Lock()
	r.killing = why
	w.mu.Unlock()
	go func() {
		w.stopRun(w.m.shutdownCtx, r, id, grace)
	}()
}

// stopRun runs the preStop hook and stops the container within grace.
func (w *worker) stopRun(ctx context.Context, r *run, id string, grace time.Duration) {
	deadline := time.Now().Add(grace)
	w.event(corev1.EventTypeNormal, "Killing", "Stopping container "+r.spec.Name)
	if h := r.spec.Lifecycle; h != nil && h.PreStop != nil {
		hctx, cancel := context.WithDeadline(ctx, deadline)
		if err := RunHandler(hctx, h.PreStop, w.probeTarget(r.spec, id)); err != nil {
			w.log.Warn("preStop hook failed", "container", r.spec.Name, "error", err)
		}
		cancel()
	}
	left := time.Until(deadline)
	if left < 0 {
		left = 0
	}
	if _, err := w.m.rt.Stop(ctx, id, left); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		w.log.Warn("stop container", "container", r.spec.Name, "error", err)
	}
}

// grace is the pod's termination grace period.
func (w *worker) grace() time.Duration {
	if g := w.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		return time.Duration(*g) * time.Second
	}
	return 30 * time.Second
}

// updatePhase recomputes the pod's phase; a pod that has terminated for
// good stops its probes.
func (w *worker) updatePhase(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.phase = PodPhase(&w.pod.Spec, records(w.init), records(w.app))
	if w.phase == corev1.PodSucceeded || w.phase == corev1.PodFailed {
		w.done = true
	}
}

func records(runs []*run) []*ContainerRecord {
	out := make([]*ContainerRecord, len(runs))
	for i, r := range runs {
		out[i] = r.rec
	}
	return out
}

// status renders the pod as a Kubernetes Pod object.
func (w *worker) status(now time.Time) *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	pod := w.currentPodLocked().DeepCopy()
	pod.Spec.NodeName = w.m.cfg.NodeName
	pod.CreationTimestamp = metav1.NewTime(w.created)
	st := corev1.PodStatus{Phase: w.phase, HostIP: w.m.cfg.NodeIP, QOSClass: qosClass(w.pod)}
	if w.m.cfg.NodeIP != "" {
		st.HostIPs = []corev1.HostIP{{IP: w.m.cfg.NodeIP}}
	}
	if w.sandbox != nil {
		if w.sandbox.IP.IsValid() {
			st.PodIP = w.sandbox.IP.String()
		} else if pod.Spec.HostNetwork {
			st.PodIP = w.m.cfg.NodeIP
		}
		if st.PodIP != "" {
			st.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
		}
	}
	if !w.startTime.IsZero() {
		t := metav1.NewTime(w.startTime)
		st.StartTime = &t
	}
	st.Conditions = w.conds.Update(records(w.init), records(w.app), w.phase, now)
	for _, r := range w.init {
		st.InitContainerStatuses = append(st.InitContainerStatuses, r.rec.Status())
	}
	for _, r := range w.app {
		st.ContainerStatuses = append(st.ContainerStatuses, r.rec.Status())
	}
	if w.message != "" {
		st.Message = w.message
	}
	if w.terminating {
		t := metav1.NewTime(now)
		pod.DeletionTimestamp = &t
	}
	pod.Status = st
	return pod
}

// qosClass is the pod's quality-of-service class, as Kubernetes defines it.
func qosClass(pod *corev1.Pod) corev1.PodQOSClass {
	all := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	anySet, guaranteed := false, true
	for _, c := range all {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[name]
			lim, hasLim := c.Resources.Limits[name]
			if hasReq || hasLim {
				anySet = true
			}
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case !anySet:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// terminate stops every container (preStop hooks and the grace period, in
// parallel), then removes the containers, the sandbox and the pod's files.
func (w *worker) terminate(ctx context.Context) {
	w.mu.Lock()
	w.terminating = true
	var live []*run
	for _, r := range append(append([]*run(nil), w.init...), w.app...) {
		if r.id != "" && !r.exited {
			live = append(live, r)
		}
	}
	w.mu.Unlock()
	grace := w.grace()
	var wg sync.WaitGroup
	for _, r := range live {
		wg.Add(1)
		go func(r *run) {
			defer wg.Done()
			w.stopRun(ctx, r, r.id, grace)
		}(r)
	}
	wg.Wait()
	w.cleanup()
}

// cleanup removes everything the pod left on the node.
func (w *worker) cleanup() {
	w.mu.Lock()
	runs := append(append([]*run(nil), w.init...), w.app...)
	w.mu.Unlock()
	for _, r := range runs {
		if r.stopProbes != nil {
			r.stopProbes()
		}
		for a := 1; a <= r.attempt; a++ {
			if err := w.m.rt.Remove(containerID(w.uid, r.spec.Name, a), runtime.RemoveOptions{}); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				w.log.Warn("remove container", "container", r.spec.Name, "error", err)
			}
		}
	}
	for i := range w.pod.Spec.Volumes {
		v := &w.pod.Spec.Volumes[i]
		if usesTmpfs(v) || v.NFS != nil || v.PersistentVolumeClaim != nil {
			unmountAll(filepath.Join(w.dir, "volumes", v.Name))
		}
	}
	if err := w.m.net.RemoveSandbox(w.uid); err != nil {
		w.log.Warn("remove pod sandbox", "error", err)
	}
	if err := os.RemoveAll(w.dir); err != nil {
		w.log.Warn("remove pod files", "error", err)
	}
	w.log.Info("pod removed")
}

// letGo stops watching without touching the containers, for the next agent
// to re-adopt.
func (w *worker) letGo() {
	w.save()
}

// containerID names one run of a container.
func containerID(uid, name string, attempt int) string {
	short := strings.ReplaceAll(uid, "-", "")
	if len(short) > 12 {
		short = short[:12]
	}
	return fmt.Sprintf("%s-%s-%d", short, name, attempt)
}

// syncGit keeps the gitRepo volumes the pod's gitvolume.SyncAnnotation names
// in step with their branches, and returns when the next sync is due.
func (w *worker) syncGit(now time.Time) time.Duration {
	pod := w.currentPod()
	value := pod.Annotations[gitvolume.SyncAnnotation]
	if value == "" {
		return 0
	}
	intervals, err := gitvolume.ParseSync(value)
	if err != nil {
		w.log.Warn("git sync", "error", err)
		return 0
	}
	var next time.Duration
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		iv, ok := intervals[v.Name]
		if !ok || v.GitRepo == nil {
			continue
		}
		w.mu.Lock()
		at := w.gitSyncAt[v.Name]
		w.mu.Unlock()
		if at.IsZero() || !now.Before(at) {
			auth, err := w.gitAuth()
			changed := false
			if err == nil {
				ctx, cancel := context.WithTimeout(w.m.shutdownCtx, iv)
				changed, err = gitvolume.Sync(ctx, v.GitRepo, filepath.Join(w.dir, "volumes", v.Name), auth)
				cancel()
			}
			if err != nil {
				w.log.Warn("git sync", "volume", v.Name, "error", err)
			} else if changed {
				w.log.Info("git sync: new commit checked out", "volume", v.Name)
			}
			at = now.Add(iv)
			w.mu.Lock()
			w.gitSyncAt[v.Name] = at
			w.mu.Unlock()
		}
		if d := at.Sub(now); next == 0 || d < next {
			next = d
		}
	}
	return next
}

// gitAuth returns the credentials the pod's gitvolume.CredentialsAnnotation
// names (nil when it names none).
func (w *worker) gitAuth() (transport.AuthMethod, error) {
	name := w.currentPod().Annotations[gitvolume.CredentialsAnnotation]
	if name == "" {
		return nil, nil
	}
	s, ok := w.m.configSource().Secret(w.pod.Namespace, name)
	if !ok {
		return nil, fmt.Errorf("secret %q (annotation %s) not found", name, gitvolume.CredentialsAnnotation)
	}
	return gitvolume.AuthFromSecret(s)
}
