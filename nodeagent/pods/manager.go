package pods

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/nodeagent/images"
	"github.com/shoal-run/shoal/nodeagent/logs"
	"github.com/shoal-run/shoal/nodeagent/podnet"
	"github.com/shoal-run/shoal/nodeagent/runtime"
	"github.com/shoal-run/shoal/policies/restart"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The Manager is a prometheus.Collector (metrics.go): register it with the
// node's registry to serve pods by phase and container start metrics.

// Runtime is the container runtime the manager drives (nodeagent/runtime
// implements it). Start returns once the process runs; Wait blocks until it
// exits; Stop and Remove are idempotent.
type Runtime interface {
	Start(ctx context.Context, spec runtime.ContainerSpec) (runtime.State, error)
	State(id string) (runtime.State, error)
	Wait(ctx context.Context, id string) (runtime.State, error)
	Stop(ctx context.Context, id string, grace time.Duration) (runtime.State, error)
	Exec(ctx context.Context, id string, e runtime.ExecSpec) (int, error)
	Remove(id string, opts runtime.RemoveOptions) error
	LogPath(id string) string
}

// Images is the image store the manager pulls through (nodeagent/images).
type Images interface {
	Get(ref string) (*images.Image, error)
	Pull(ctx context.Context, ref string, opts images.PullOptions) (*images.Image, error)
}

// Network makes and removes pod sandboxes (nodeagent/podnet).
type Network interface {
	CreateSandbox(spec podnet.SandboxSpec) (*podnet.Sandbox, error)
	RemoveSandbox(id string) error
}

// Config configures a Manager.
type Config struct {
	// NodeName is this node's name, reported as the pods' spec.nodeName.
	NodeName string
	// NodeIP is the node's address (status.hostIP).
	NodeIP string
	// DataDir holds the pods' files and saved state (DataDir/pods).
	DataDir string
	DNS     DNSConfig
	// PodPidsLimit caps the processes of each container (the pids cgroup),
	// as the kubelet's podPidsLimit does; 0 means no limit.
	PodPidsLimit int64
	// NetNS is the path of the node's network namespace when it is not the
	// agent's own (test rigs): probes connect from there.
	NetNS   string
	Backoff restart.Config
	Logger  *slog.Logger
	// ServiceEnv, if set, returns the service-link variables of a
	// namespace for a container about to start (its pod's
	// enableServiceLinks says whether the Docker-link style ones are
	// wanted); it must be safe for concurrent use.
	ServiceEnv func(namespace string, links bool) []corev1.EnvVar
	// Changed, if set, is called when a pod's status may have changed (a
	// container started or exited, readiness turned): a status reporter
	// looks at once instead of at its next tick. It must not block.
	Changed func()
	// Event, if set, receives the kubelet's events about pods (Pulled,
	// Failed, Created, Started, Killing, BackOff) as they happen, on the
	// pod's worker goroutine: it must not block.
	Event func(pod *corev1.Pod, eventType, reason, message string)
}

// Manager runs the pods this node is meant to run: it starts a worker per
// pod, stops pods that leave the desired state, and serves the node API's
// view of them. It implements api.PodService.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	rt     Runtime
	images Images
	net    Network

	shutdownCtx context.Context
	shutdown    context.CancelFunc
	metrics     *metrics
	// allocatable is what the node offers pods (downward API of unset
	// limits).
	allocatable corev1.ResourceList
	// dial opens probe connections (nil: the agent's own namespace).
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu      sync.Mutex
	workers map[string]*podHandle // by namespace/name
	// config holds the ConfigMaps and Secrets of the desired state; it is
	// read without mu, so that a worker never waits for an Apply.
	config atomic.Pointer[setConfig]
	claims Claims // PersistentVolumeClaim bindings
	wg     sync.WaitGroup
}

// podHandle is a running worker and the switch that stops its pod.
type podHandle struct {
	w      *worker
	killCh chan struct{}
	once   sync.Once
	done   chan struct{}
}

// kill tells the worker to stop its pod; it may be called more than once.
func (h *podHandle) kill() { h.once.Do(func() { close(h.killCh) }) }

// NewManager makes a manager; Restore then Apply start it.
func NewManager(cfg Config, rt Runtime, img Images, net Network) (*Manager, error) {
	if cfg.DataDir == "" || cfg.NodeName == "" {
		return nil, errors.New("pods: Config needs DataDir and NodeName")
	}
	if cfg.Backoff.Initial == 0 {
		cfg.Backoff = restart.DefaultConfig()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DNS.ClusterDomain == "" {
		cfg.DNS.ClusterDomain = "cluster.local"
	}
	if cfg.DNS.HostResolvConf == nil {
		cfg.DNS.HostResolvConf, _ = os.ReadFile("/etc/resolv.conf")
	}
	if err := os.MkdirAll(filepath.Join(cfg.DataDir, "pods"), 0o755); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		cfg: cfg, log: cfg.Logger.With("component", "pods"), rt: rt, images: img, net: net,
		shutdownCtx: ctx, shutdown: cancel,
		workers:     map[string]*podHandle{},
		allocatable: nodeAllocatable(),
		metrics:     newMetrics(),
	}
	m.config.Store(&setConfig{})
	if cfg.NetNS != "" {
		m.dial = netnsDialer(cfg.NetNS)
	}
	return m, nil
}

// PodUID derives a pod's identity from its namespace, name and spec, so
// that the same manifest keeps its UID across agent restarts and a changed
// spec becomes a new pod (as deleting and re-creating it would in
// Kubernetes, which does not let a pod's spec change). Labels and
// annotations are not part of it: they change in place.
func PodUID(pod *corev1.Pod) types.UID {
	h := sha256.New()
	fmt.Fprintf(h, "%s/%s\n", pod.Namespace, pod.Name)
	js, _ := json.Marshal(pod.Spec)
	h.Write(js)
	s := hex.EncodeToString(h.Sum(nil))
	return types.UID(s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32])
}

// Apply makes the desired state in set the one in force: bare Pods for this
// node (spec.nodeName empty or this node) start, pods that left it or whose
// manifest changed stop. It does not block on pods starting or stopping.
func (m *Manager) Apply(set *manifests.Set) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.config.Store(newSetConfig(set))
	want := map[string]*corev1.Pod{}
	for _, p := range manifests.Of[*corev1.Pod](set) {
		if p.Spec.NodeName != "" && p.Spec.NodeName != m.cfg.NodeName {
			continue
		}
		want[p.Namespace+"/"+p.Name] = p
	}
	withUID := func(p *corev1.Pod) *corev1.Pod {
		pod := p.DeepCopy()
		pod.UID = PodUID(pod)
		return pod
	}
	// New pods first: their workers start while the others are compared.
	fresh := map[string]bool{}
	for key, p := range want {
		if _, ok := m.workers[key]; !ok {
			m.startWorker(newWorker(m, withUID(p)))
			fresh[key] = true
		}
	}
	var replaced []*corev1.Pod
	for key, h := range m.workers {
		if fresh[key] {
			continue
		}
		if p, ok := want[key]; ok {
			pod := withUID(p)
			if pod.UID == h.w.pod.UID {
				h.w.updateMeta(pod)
				continue
			}
			replaced = append(replaced, pod) // a new spec is a new pod
		}
		m.log.Info("stopping pod", "pod", key)
		h.kill()
		delete(m.workers, key)
	}
	for _, pod := range replaced {
		m.startWorker(newWorker(m, pod))
	}
}

// startWorker runs a worker until its pod is stopped or the agent shuts
// down. m.mu must be held.
func (m *Manager) startWorker(w *worker) {
	h := &podHandle{w: w, killCh: make(chan struct{}), done: make(chan struct{})}
	m.workers[w.key] = h
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(h.done)
		w.loop(h.killCh, m.shutdownCtx)
	}()
}

// Shutdown lets go of every pod, leaving its containers running for the
// next agent to re-adopt, and waits for the workers to save their state.
func (m *Manager) Shutdown() {
	m.shutdown()
	m.wg.Wait()
}

// StopAll stops every pod (preStop hooks, grace periods) and removes them,
// as `shoal down` does, then shuts the manager down.
func (m *Manager) StopAll() {
	m.mu.Lock()
	handles := make([]*podHandle, 0, len(m.workers))
	for key, h := range m.workers {
		handles = append(handles, h)
		h.kill()
		delete(m.workers, key)
	}
	m.mu.Unlock()
	for _, h := range handles {
		<-h.done
	}
	m.Shutdown()
}

// ListPods implements api.PodService.
func (m *Manager) ListPods(_ context.Context, namespace string) ([]corev1.Pod, error) {
	m.mu.Lock()
	ws := make([]*worker, 0, len(m.workers))
	for _, h := range m.workers {
		if namespace == "" || h.w.pod.Namespace == namespace {
			ws = append(ws, h.w)
		}
	}
	m.mu.Unlock()
	now := time.Now()
	out := make([]corev1.Pod, 0, len(ws))
	for _, w := range ws {
		out = append(out, *w.status(now))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// GetPod implements api.PodService.
func (m *Manager) GetPod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	w, err := m.worker(namespace, name)
	if err != nil {
		return nil, err
	}
	return w.status(time.Now()), nil
}

func (m *Manager) worker(namespace, name string) (*worker, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h, ok := m.workers[namespace+"/"+name]
	if !ok {
		return nil, fmt.Errorf("pod %q not found in namespace %q: %w", name, namespace, api.ErrNotFound)
	}
	return h.w, nil
}

// pickRun finds a container of the pod by name ("" for the only one).
func (w *worker) pickRun(name string) (*run, error) {
	all := append(append([]*run(nil), w.init...), w.app...)
	if name == "" {
		if len(w.app) == 1 {
			return w.app[0], nil
		}
		names := make([]string, 0, len(all))
		for _, r := range all {
			names = append(names, r.spec.Name)
		}
		return nil, fmt.Errorf("a container name must be specified for pod %s, choose one of: %v: %w", w.pod.Name, names, api.ErrBadRequest)
	}
	for _, r := range all {
		if r.spec.Name == name {
			return r, nil
		}
	}
	return nil, fmt.Errorf("container %s is not valid for pod %s: %w", name, w.pod.Name, api.ErrNotFound)
}

// Logs implements api.PodService.
func (m *Manager) Logs(ctx context.Context, namespace, name string, opts api.LogOptions, out io.Writer) error {
	w, err := m.worker(namespace, name)
	if err != nil {
		return err
	}
	w.mu.Lock()
	r, err := w.pickRun(opts.Container)
	var id, prev string
	if err == nil {
		id, prev = r.id, r.prevID
	}
	w.mu.Unlock()
	if err != nil {
		return err
	}
	if opts.Previous {
		if prev == "" {
			return fmt.Errorf("previous terminated container %q in pod %q not found: %w", r.spec.Name, name, api.ErrNotFound)
		}
		id = prev
	}
	if id == "" {
		return fmt.Errorf("container %q in pod %q is waiting to start", r.spec.Name, name)
	}
	lo := logs.Options{Follow: opts.Follow && !opts.Previous, Timestamps: opts.Timestamps, TailLines: opts.TailLines}
	if opts.Since > 0 {
		lo.Since = time.Now().Add(-opts.Since)
	}
	current := id
	lo.Done = func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return r.id != current || r.exited
	}
	return logs.Read(ctx, m.rt.LogPath(id), lo, out)
}

// Exec implements api.PodService.
func (m *Manager) Exec(ctx context.Context, namespace, name string, opts api.ExecOptions) (int, error) {
	w, err := m.worker(namespace, name)
	if err != nil {
		return -1, err
	}
	w.mu.Lock()
	r, err := w.pickRun(opts.Container)
	var id string
	running := false
	if err == nil {
		id, running = r.id, r.rec.State.Running != nil
	}
	w.mu.Unlock()
	if err != nil {
		return -1, err
	}
	if !running {
		return -1, fmt.Errorf("container %s in pod %s is not running", r.spec.Name, name)
	}
	spec := runtime.ExecSpec{Args: opts.Command, TTY: opts.TTY, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr}
	if opts.Resize != nil {
		ch := make(chan runtime.TermSize, 1)
		go func() {
			defer close(ch)
			for s := range opts.Resize {
				select {
				case ch <- runtime.TermSize{Width: s.Width, Height: s.Height}:
				case <-ctx.Done():
					return
				}
			}
		}()
		spec.Resize = ch
	}
	return m.rt.Exec(ctx, id, spec)
}

// pullKeychain builds the credentials of the pod's imagePullSecrets.
func (m *Manager) pullKeychain(pod *corev1.Pod) (authn.Keychain, error) {
	cfg := m.config.Load()
	var secrets [][]byte
	var missing []string
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, ok := cfg.Secret(pod.Namespace, ref.Name)
		if !ok {
			missing = append(missing, ref.Name)
			continue
		}
		for _, key := range []string{corev1.DockerConfigJsonKey, corev1.DockerConfigKey} {
			if data, ok := s.Data[key]; ok {
				secrets = append(secrets, data)
			}
		}
	}
	var err error
	if len(missing) > 0 {
		err = fmt.Errorf("image pull secrets %v not found in namespace %s", missing, pod.Namespace)
	}
	if len(secrets) == 0 {
		return authn.DefaultKeychain, err
	}
	kc, kerr := images.KeychainFromDockerConfigJSON(secrets...)
	if kerr != nil {
		return authn.DefaultKeychain, kerr
	}
	return kc, err
}

// setConfig serves the ConfigMaps and Secrets of a desired state.
type setConfig struct{ set *manifests.Set }

func newSetConfig(set *manifests.Set) *setConfig { return &setConfig{set: set} }

// ConfigMap implements ConfigSource.
func (c *setConfig) ConfigMap(ns, name string) (*corev1.ConfigMap, bool) {
	if c == nil || c.set == nil {
		return nil, false
	}
	cm, ok := c.set.Get("ConfigMap", ns, name).(*corev1.ConfigMap)
	return cm, ok
}

// Secret implements ConfigSource.
func (c *setConfig) Secret(ns, name string) (*corev1.Secret, bool) {
	if c == nil || c.set == nil {
		return nil, false
	}
	s, ok := c.set.Get("Secret", ns, name).(*corev1.Secret)
	return s, ok
}

// config returns the current ConfigSource (the worker reads it through
// the manager so that it always sees the newest desired state).
func (m *Manager) configSource() ConfigSource {
	return m.config.Load()
}
