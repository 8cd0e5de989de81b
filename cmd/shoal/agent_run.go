package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/gossip/transport"
	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/nodeagent/api"
	shoaldns "github.com/shoal-run/shoal/nodeagent/dns"
	"github.com/shoal-run/shoal/nodeagent/ingress"
	"github.com/shoal-run/shoal/reconciler"
	"github.com/shoal-run/shoal/reconciler/events"
	"github.com/shoal-run/shoal/reconciler/gitsource"
	"github.com/shoal-run/shoal/reconciler/services"
)

// agent is a running cluster node: gossip, the transport endpoints, the
// reconciler it runs while elected, and its pods once it has a pod CIDR.
type agent struct {
	cfg     agentConfig
	r       *resolved
	log     *slog.Logger
	started time.Time

	cluster   *gossip.Cluster
	statuses  *reconciler.Statuses
	rec       *reconciler.Reconciler
	src       *gitsource.Source // nil without --repo
	tclient   *transport.Client
	recv      *transport.Receiver
	states    chan transport.NodeState // latest accepted state, handed to the pod loop
	kick      chan struct{}            // asks the reporter for a report now
	metrics   *reconciler.Metrics
	events    *events.Store // the leader's
	podEvents *events.Store // this node's pods'

	mu        sync.Mutex
	parts     *nodeParts // nil until the node has its pod CIDR
	restored  atomic.Bool
	podCIDR   string
	binder    *localBinder
	peers     map[string]*api.Client
	records   map[string]corev1.Node // last record fetched of each member
	routes    atomic.Pointer[services.Table]
	dns       atomic.Pointer[shoaldns.Server] // nil until started
	ingress   atomic.Pointer[ingress.Proxy]   // nil until started
	proxyKick chan struct{}                   // a new routing table for the service proxy
}

// runAgent runs a cluster node until ctx ends, then leaves the cluster and
// lets go of its pods (they keep running for the next start).
func runAgent(ctx context.Context, cfg agentConfig, log *slog.Logger) error {
	if os.Geteuid() != 0 {
		return errors.New("a shoal node runs containers and must run as root")
	}
	r, err := cfg.resolve()
	if err != nil {
		return err
	}
	log = log.With("node", cfg.Name)
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return err
	}
	nc := cfg.nodeConfigOf("")
	if pid, alive := runningPID(nc); alive {
		return fmt.Errorf("a shoal node already runs on %s (pid %d): stop it first", cfg.DataDir, pid)
	}
	// Containers whose parent agent died are re-parented here.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

	ln, err := net.Listen("tcp", r.apiListen)
	if err != nil {
		return fmt.Errorf("--api %s: %w", r.apiListen, err)
	}
	defer ln.Close()
	a := &agent{
		cfg: cfg, r: r, log: log, started: time.Now(),
		statuses:  reconciler.NewStatuses(),
		states:    make(chan transport.NodeState, 1),
		kick:      make(chan struct{}, 1),
		proxyKick: make(chan struct{}, 1),
		metrics:   reconciler.NewMetrics(),
		events:    events.New(events.Config{Component: "shoal-reconciler"}),
		podEvents: events.New(events.Config{Component: "shoal-node"}),
		peers:     map[string]*api.Client{},
		records:   map[string]corev1.Node{},
	}
	if a.tclient, err = transport.NewClient(transport.ClientConfig{ClusterKey: r.key, Logger: log}); err != nil {
		return err
	}
	if cfg.Repo != "" {
		if a.src, err = a.gitSource(); err != nil {
			return err
		}
	}
	gcfg := cfg.gossipConfig(r, log)
	gcfg.Join = nil // joined below, with retries
	a.cluster, err = gossip.New(gcfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := a.cluster.Leave(2 * time.Second); err != nil {
			log.Warn("leaving the cluster", "err", err)
		}
		_ = a.cluster.Shutdown()
	}()
	a.recv, err = transport.NewReceiver(transport.ReceiverConfig{
		ClusterKey: r.key,
		StateFile:  filepath.Join(cfg.DataDir, "desired.json"),
		Leader:     transport.LeaderOf(a.cluster),
		Apply:      a.handOff,
		Node:       cfg.Name,
		Logger:     log,
	})
	if err != nil {
		return err
	}
	statusSrv, err := transport.NewStatusServer(transport.StatusServerConfig{
		ClusterKey: r.key, Report: a.statuses.Report, Local: a.localStatus, Logger: log,
	})
	if err != nil {
		return err
	}
	rc := reconciler.Config{
		Cluster: a.cluster, Transport: a.tclient, Statuses: a.statuses,
		ClusterCIDR: r.clusterCIDR, NodeLostAfter: cfg.NodeLostAfter, ReplaceAfter: cfg.ReplaceAfter,
		Networking: r.networking,
		Logger:     log, Metrics: a.metrics, Events: a.events,
	}
	if a.src != nil {
		rc.Source = a.src
	}
	if a.rec, err = reconciler.New(rc); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle(transport.DesiredPath, a.recv)
	mux.Handle(transport.StatusPath, statusSrv)
	mux.Handle("/webhook", a.webhookHandler())
	mux.Handle("/metrics", promhttp.HandlerFor(a.registry(), promhttp.HandlerOpts{}))
	mux.Handle("GET "+RoutesPath, api.Authenticate(r.token, http.HandlerFunc(a.serveRoutes)))
	mux.Handle("/", api.NewServer(a, api.ServerOptions{Logger: log, Token: r.token, Cluster: a}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("node API", "error", err)
		}
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := nc.save(); err != nil {
		return err
	}
	if err := os.WriteFile(nc.pidFile(), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	defer os.Remove(nc.pidFile())
	log.Info("shoal agent running", "api", r.apiAdvertise, "gossip", r.advertise.String(),
		"eligible", cfg.Reconciler, "repo", reconciler.RedactURL(cfg.Repo), "dataDir", cfg.DataDir)

	// The node's loops stop together: when ctx ends, or when the pods
	// cannot run (runPods returns an error).
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	// A node given --join takes part in the election only once it has
	// joined: alone, it would elect itself and allocate pod CIDRs that the
	// cluster it is about to join may have given to others. Its pods run
	// meanwhile from its persisted state.
	wg.Go(func() {
		if len(cfg.Join) > 0 && !a.join(ctx) {
			return
		}
		_ = a.cluster.WhileLeader(ctx, a.rec.Lead)
	})
	wg.Go(func() { a.report(ctx) })
	wg.Go(func() { a.reconnect(ctx) })
	err = a.runPods(ctx)
	stop()
	wg.Wait()
	log.Info("shoal agent stopped; its pods keep running for the next start", "dataDir", cfg.DataDir)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// join joins the members of --join, retrying every joinRetry until one
// answers: members may start in any order, and a member that restarts
// finds the others again. A member that answers but has another cluster
// key refuses the join, which is logged each time.
// It returns false if ctx ended first.
func (a *agent) join(ctx context.Context) bool {
	for attempt := 1; ; attempt++ {
		n, err := a.cluster.Join(a.cfg.Join...)
		if err == nil {
			a.log.Info("joined the cluster", "reached", n)
			return true
		}
		if attempt == 1 || attempt%15 == 0 {
			a.log.Warn("cannot join the cluster yet; retrying, and not taking part in the election until joined (check --join and that every node has the same --cluster-key-file)", "err", err, "attempt", attempt)
		}
		if !waitCtx(ctx, joinRetry) {
			return false
		}
	}
}

// reconnect tries, every reconnectInterval, to join again the members this
// node sees dead: memberlist does not look for dead members itself (it
// only gossips to them for a while), so without this a partition that
// lasted longer would never heal. Serf does the same (its reconnect
// interval).
func (a *agent) reconnect(ctx context.Context) {
	for waitCtx(ctx, reconnectInterval) {
		for _, m := range a.cluster.Members() {
			if m.State != gossip.StateDead || !m.Addr.IsValid() {
				continue
			}
			if _, err := a.cluster.Join(m.Addr.String()); err == nil {
				a.log.Info("reconnected to a member seen dead", "member", m.Name)
			}
		}
	}
}

// reconnectInterval is how often dead members are tried again.
const reconnectInterval = 3 * time.Second

// joinRetry is the wait between join attempts.
const joinRetry = 2 * time.Second

// gitSource makes the Git source of the desired state.
func (a *agent) gitSource() (*gitsource.Source, error) {
	cfg := a.cfg
	gc := gitsource.DefaultConfig(repoURL(cfg.Repo))
	gc.Branch, gc.Path = cfg.Branch, cfg.Path
	gc.CacheDir = filepath.Join(cfg.DataDir, "git")
	gc.PollInterval = cfg.GitPollInterval
	gc.Logger = a.log
	ref := "refs/heads/" + cfg.Branch
	gc.Observe = func(d time.Duration, err error) { a.metrics.ObserveSync(ref, d, err) }
	if cfg.RepoUser != "" || cfg.RepoPasswordFile != "" {
		gc.Auth.Username = cfg.RepoUser
		if cfg.RepoPasswordFile != "" {
			pw, err := os.ReadFile(cfg.RepoPasswordFile)
			if err != nil {
				return nil, fmt.Errorf("--repo-password-file: %w", err)
			}
			gc.Auth.Password = string(trimSpace(pw))
		}
	}
	if cfg.RepoSSHKeyFile != "" {
		key, err := os.ReadFile(cfg.RepoSSHKeyFile)
		if err != nil {
			return nil, fmt.Errorf("--repo-ssh-key-file: %w", err)
		}
		gc.Auth.SSHPrivateKey = key
		if cfg.RepoKnownHostsFile == "" {
			return nil, errors.New("--repo-ssh-key-file needs --repo-known-hosts-file: the server's host key is always verified (ssh-keyscan HOST > known_hosts, then check it)")
		}
	}
	if cfg.RepoKnownHostsFile != "" {
		kh, err := os.ReadFile(cfg.RepoKnownHostsFile)
		if err != nil {
			return nil, fmt.Errorf("--repo-known-hosts-file: %w", err)
		}
		gc.Auth.SSHKnownHosts = kh
	}
	s, err := gitsource.New(gc)
	if err != nil {
		return nil, fmt.Errorf("--repo: %w", err)
	}
	return s, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// registry holds the node's metrics: gossip, the reconciler, its pods,
// DNS, ingress, service proxy, network policy, Go.
func (a *agent) registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(a.cluster,
		laterCollector(func(ch chan<- prometheus.Metric) {
			if p := a.nodeParts(); p != nil {
				p.mgr.Collect(ch)
				p.proxy.Collect(ch)
				p.netpol.Collect(ch)
			}
		}),
		laterCollector(func(ch chan<- prometheus.Metric) {
			if d := a.dns.Load(); d != nil {
				d.Collect(ch)
			}
		}),
		laterCollector(func(ch chan<- prometheus.Metric) {
			if p := a.ingress.Load(); p != nil {
				p.Collect(ch)
			}
		}))
	reg.MustRegister(a.metrics.Collectors()...)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// laterCollector collects from parts the node makes after its metrics
// registry (the pod manager, service proxy, network policy, DNS, ingress):
// nothing until they exist.
type laterCollector func(ch chan<- prometheus.Metric)

func (c laterCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c laterCollector) Collect(ch chan<- prometheus.Metric) { c(ch) }

func (a *agent) nodeParts() *nodeParts {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.parts
}

// handOff is the Receiver's Apply: the latest state wins.
func (a *agent) handOff(st transport.NodeState) {
	for {
		select {
		case a.states <- st:
			return
		default:
		}
		select {
		case <-a.states:
		default:
		}
	}
}

// runPods waits for this node's pod CIDR in the ledger, starts its pod
// network and manager, re-adopts its pods and applies each desired state
// the leader sends, until ctx ends.
func (a *agent) runPods(ctx context.Context) error {
	ledger := a.cluster.Ledger()
	watch := ledger.Watch(ctx, reconciler.PrefixPodCIDR)
	var cidr string
	for {
		if c, ok := reconciler.PodCIDR(ledger, a.cfg.Name); ok {
			cidr = c
			break
		}
		a.log.Info("waiting for the leader to allocate this node's pod CIDR")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-watch:
		}
	}
	nc := a.cfg.nodeConfigOf(cidr)
	nc.NodeIP = a.r.advertise.Addr().String()
	nc.ServiceEnv, nc.Changed = a.serviceEnv, a.kickReport
	nc.ClusterDNS, nc.ClusterDomain = true, a.r.networking.ClusterDomain
	nc.Event = func(pod *corev1.Pod, eventType, reason, message string) {
		a.podEvents.Record(events.Object{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)}, eventType, reason, message)
	}
	if err := nc.save(); err != nil {
		return err
	}
	p, err := openNode(nc, a.log)
	if err != nil {
		return err
	}
	if a.binder, err = newLocalBinder(a.cfg.DataDir, a.cfg.Name, a.log); err != nil {
		return err
	}
	if err := p.net.Setup(); err != nil {
		return fmt.Errorf("set up the pod network: %w", err)
	}
	defer p.net.Close() // stops the refill of spare sandboxes; they stay for the next start
	// Network policy first: the service proxy's jump, put at the head of
	// filter FORWARD after it, then comes first, so that its refusals of
	// unowned service addresses are answered before policy is asked.
	if err := p.netpol.Setup(); err != nil {
		return fmt.Errorf("set up network policy: %w", err)
	}
	if err := p.proxy.Setup(); err != nil {
		return fmt.Errorf("set up service routing: %w", err)
	}
	go a.runProxy(ctx, p)
	go a.runNetpol(ctx, p)
	a.startDNS(ctx, p)
	a.startIngress(ctx)
	if err := p.mgr.Restore(); err != nil {
		a.log.Warn("some pods could not be re-adopted", "error", err)
	}
	a.mu.Lock()
	a.parts, a.podCIDR = p, cidr
	a.mu.Unlock()
	a.restored.Store(true)
	a.kickReport()
	a.log.Info("pods ready", "podCIDR", cidr)
	defer p.mgr.Shutdown()
	var applied transport.NodeState
	apply := func(st transport.NodeState) {
		if st.Term == applied.Term && st.Generation == applied.Generation && applied.Term != "" {
			return // the persisted state, handed off again
		}
		applied = st
		a.apply(p, st)
	}
	if st, ok := a.recv.State(); ok {
		apply(st)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case st := <-a.states:
			apply(st)
		}
	}
}

// apply hands a desired state to the volume binder and the pod manager.
func (a *agent) apply(p *nodeParts, st transport.NodeState) {
	var objs []*manifests.Object
	seen := map[manifests.Key]bool{}
	add := func(kind, ns, name string, obj k8sruntime.Object) {
		k := manifests.Key{Kind: kind, Namespace: ns, Name: name}
		if !seen[k] {
			seen[k] = true
			objs = append(objs, &manifests.Object{Key: k, Obj: obj})
		}
	}
	for i := range st.Pods {
		add("Pod", st.Pods[i].Namespace, st.Pods[i].Name, &st.Pods[i])
	}
	for i := range st.ConfigMaps {
		add("ConfigMap", st.ConfigMaps[i].Namespace, st.ConfigMaps[i].Name, &st.ConfigMaps[i])
	}
	for i := range st.Secrets {
		add("Secret", st.Secrets[i].Namespace, st.Secrets[i].Name, &st.Secrets[i])
	}
	for i := range st.PersistentVolumeClaims {
		c := &st.PersistentVolumeClaims[i]
		add("PersistentVolumeClaim", c.Namespace, c.Name, c)
	}
	for i := range st.PersistentVolumes {
		add("PersistentVolume", "", st.PersistentVolumes[i].Name, &st.PersistentVolumes[i])
	}
	for i := range st.StorageClasses {
		add("StorageClass", "", st.StorageClasses[i].Name, &st.StorageClasses[i])
	}
	a.applyRoutes(p, st.Routes)
	a.log.Info("applying desired state", "term", st.Term, "generation", st.Generation, "pods", len(st.Pods))
	set := manifests.NewSet(objs)
	p.mgr.SetClaims(a.binder.Sync(set))
	p.mgr.Apply(set)
}
