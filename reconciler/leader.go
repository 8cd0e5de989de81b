package reconciler

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/gossip/transport"
	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/policies/admission"
	"github.com/shoal-run/shoal/reconciler/cronjobs"
	"github.com/shoal-run/shoal/reconciler/daemons"
	"github.com/shoal-run/shoal/reconciler/deployments"
	"github.com/shoal-run/shoal/reconciler/events"
	"github.com/shoal-run/shoal/reconciler/gitsource"
	"github.com/shoal-run/shoal/reconciler/jobs"
	"github.com/shoal-run/shoal/reconciler/placement"
	"github.com/shoal-run/shoal/reconciler/replicas"
	"github.com/shoal-run/shoal/reconciler/services"
)

// Cluster is the leader's view of gossip; *gossip.Cluster implements it.
type Cluster interface {
	Members() []gossip.Member
	Ledger() *gossip.Ledger
}

// Transport carries desired state to nodes and fetches their status;
// *transport.Client implements it.
type Transport interface {
	PushState(ctx context.Context, nodeAPIAddr string, st transport.NodeState) error
	FetchStatus(ctx context.Context, nodeAPIAddr string) (transport.NodeStatus, error)
}

// Source is the Git source of the desired state; *gitsource.Source
// implements it.
type Source interface {
	Run(ctx context.Context, apply func(gitsource.Result), report func(gitsource.Revision, error)) error
	Config() gitsource.Config
}

// Config configures a Reconciler.
type Config struct {
	Cluster   Cluster
	Transport Transport
	// Source is the Git source; nil runs without desired state (only pod
	// CIDRs are allocated), which is for tests.
	Source Source
	// Statuses are the nodes' reports (the node's StatusServer feeds it).
	Statuses *Statuses
	// ClusterCIDR is cut into NodeCIDRBits-long pod CIDRs, one per node
	// (default 10.244.0.0/16 and 24).
	ClusterCIDR  netip.Prefix
	NodeCIDRBits int
	// NodeLostAfter and ReplaceAfter: see Input.
	NodeLostAfter time.Duration
	ReplaceAfter  time.Duration
	// Interval is how often the loop recomputes without a trigger, for
	// retries and node loss (default 1s).
	Interval time.Duration
	// GatherTimeout bounds the first gathering of the nodes' actual pods
	// when a term starts (default 10s): a node that does not answer by then
	// is reconciled from its ledger placements and its later reports.
	GatherTimeout time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Networking is the Service networking configuration: service range,
	// node ports, load-balancer pool, cluster domain.
	Networking Networking
	// Metrics, if set, are updated (see NewMetrics).
	Metrics *Metrics
	// Events, if set, receives the leader's events (FailedScheduling,
	// Scheduled, SuccessfulCreate, ScalingReplicaSet, Completed,
	// FailedAdmission, FailedCreate, ...).
	Events *events.Store
}

// Reconciler is the loop that runs on the elected node: Lead is the
// function gossip.Cluster.WhileLeader runs for each term.
type Reconciler struct {
	cfg Config
	log *slog.Logger

	requests chan request // quarantine and delete, run by the leading term

	mu   sync.Mutex
	view View
}

// View is what the leader knows that the nodes do not: the pods it could
// not run and the commit in force. Served on the API by the leader.
type View struct {
	// Term is the term the view was computed under ("" when not leading).
	Term gossip.Term
	// Revision is the commit in force (zero before the first good sync).
	Revision gitsource.Revision
	// Unscheduled are desired pods that run nowhere, as Kubernetes shows
	// them: Pending with PodScheduled False (reason Unschedulable), or
	// Failed with reason NodeLost when their node was lost.
	Unscheduled []corev1.Pod
	// Workloads are the desired workload objects with their status.
	Workloads
	// Network are the desired Services, Endpoints and Ingresses with what
	// the routing table adds to them.
	Network
	// Routes is the cluster routing table the nodes were last sent: the
	// Services with their addresses, node ports and endpoints, and the
	// Ingresses; nil before the first commit loads.
	Routes *services.Table
	// Refused are the objects of the commit in force that its admission
	// policies refuse (they do not run), sorted by kind, namespace and
	// name.
	Refused []admission.Refusal
	// ResourceQuotas are the desired state's, with the usage the last
	// step counted (status.hard and status.used); LimitRanges are the
	// desired state's. Both sorted by namespace and name.
	ResourceQuotas []corev1.ResourceQuota
	LimitRanges    []corev1.LimitRange
}

// New validates cfg and returns a Reconciler.
func New(cfg Config) (*Reconciler, error) {
	if cfg.Cluster == nil || cfg.Transport == nil || cfg.Statuses == nil {
		return nil, errors.New("reconciler: Config needs Cluster, Transport and Statuses")
	}
	if !cfg.ClusterCIDR.IsValid() {
		cfg.ClusterCIDR = netip.MustParsePrefix("10.244.0.0/16")
	}
	if cfg.NodeCIDRBits == 0 {
		cfg.NodeCIDRBits = 24
	}
	if cfg.NodeLostAfter <= 0 {
		cfg.NodeLostAfter = placement.DefaultNodeLostAfter
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.GatherTimeout <= 0 {
		cfg.GatherTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Reconciler{cfg: cfg, log: cfg.Logger.With("component", "reconciler"), requests: make(chan request)}, nil
}

// View returns the leader's last view; its Term is empty when this node
// does not lead.
func (r *Reconciler) View() View {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.view
}

// sent is what the leader last pushed to a node in this term.
type sent struct {
	hash       string
	generation uint64
	at         time.Time
	inFlight   bool
}

// term is the state of one term's loop.
type term struct {
	r       *Reconciler
	term    gossip.Term
	ledger  *gossip.Ledger
	log     *slog.Logger
	wake    chan struct{}
	desired *manifests.Set // the commit in force
	rev     gitsource.Revision
	// refused are the objects of desired that the admission policies
	// refuse, decided once per commit (see load); applied leaves them out.
	refused   []admission.Refusal
	admission *admission.Config // the policies desired runs under
	// withKept is desired with the objects kept though removed from Git
	// (see applied), computed for the commit keptFor; keptWatch signals a
	// change of the ledger's kept records, which sets keptDirty.
	withKept  *manifests.Set
	keptFor   *manifests.Set
	keptWatch <-chan struct{}
	keptDirty bool

	mu       sync.Mutex // guards sent and generation (push goroutines)
	sent     map[string]*sent
	gen      uint64
	lastSeen map[string]time.Time
	members  string                          // fingerprint of the membership, to notice changes
	batch    gossip.Batch                    // the step's ledger writes, applied by flush
	lastPods []*corev1.Pod                   // the last plan's pods, for pod requests
	lastIn   *Input                          // the last step's input, for plans (read-only)
	pending  map[types.NamespacedName]string // FailedScheduling messages recorded
	routeErr map[string]string               // routing errors recorded, by object
	// failedCreate and forbidden are the FailedCreate messages recorded,
	// by controller key and by bare pod.
	failedCreate map[string]string
	forbidden    map[types.NamespacedName]string
	// memo is Compute's Memo for the commit in force, replaced with each
	// new commit; sets keeps the Deployments' ReplicaSet records decoded,
	// so that unchanged ones are the same values from step to step.
	memo *Memo
	sets recordCache[deployments.Set]
	pv   previewState // the previews (preview_leader.go)
}

// Lead runs the reconciler for one term until ctx is cancelled (leadership
// lost): it first gathers every live node's actual pods, then follows the
// Git source, recomputes on every new commit, node report, membership
// change and Interval, records allocations in the ledger and pushes each
// node its desired state when it changed.
func (r *Reconciler) Lead(ctx context.Context, tm gossip.Term) {
	t := &term{
		r: r, term: tm, ledger: r.cfg.Cluster.Ledger(),
		log:  r.log.With("term", tm),
		wake: make(chan struct{}, 1),
		sent: map[string]*sent{}, lastSeen: map[string]time.Time{},
		keptDirty: true,
	}
	t.keptWatch = t.ledger.Watch(ctx, PrefixKept)
	start := r.cfg.Now()
	for _, m := range r.cfg.Cluster.Members() {
		t.lastSeen[m.Name] = start
	}
	defer func() {
		r.mu.Lock()
		r.view = View{}
		r.mu.Unlock()
	}()
	r.mu.Lock()
	r.view = View{Term: tm}
	r.mu.Unlock()

	t.gather(ctx)
	if ctx.Err() != nil {
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	t.startPreviews(ctx, &wg)
	desiredCh := make(chan gitsource.Result, 1)
	if src := r.cfg.Source; src != nil {
		wg.Go(func() {
			_ = src.Run(ctx, func(res gitsource.Result) {
				// The commit applies; its admission file's error, if any,
				// is the sync's to show.
				t.recordSync(res.Revision, true, res.AdmissionErr)
				// Latest wins: replace a value not yet taken.
				select {
				case <-desiredCh:
				default:
				}
				desiredCh <- res
			}, func(rev gitsource.Revision, err error) {
				if err != nil {
					t.recordSync(rev, false, err)
				}
			})
		})
	}
	tick := time.NewTicker(r.cfg.Interval)
	defer tick.Stop()
	for {
		t.step(ctx)
		select {
		case <-ctx.Done():
			t.log.Info("reconciler stopped: leadership lost or node stopping")
			return
		case res := <-desiredCh:
			t.load(res)
		case req := <-r.requests:
			req.reply <- t.handle(req)
		case <-r.cfg.Statuses.Changed():
		case <-t.wake:
		case <-tick.C:
		}
	}
}

// gather asks every live member for its status, in parallel, until each
// answered or GatherTimeout.
func (t *term) gather(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, t.r.cfg.GatherTimeout)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var missing []string
	for _, m := range t.r.cfg.Cluster.Members() {
		if !m.State.Live() || m.APIAddr == "" {
			continue
		}
		wg.Go(func() {
			st, err := t.r.cfg.Transport.FetchStatus(ctx, m.APIAddr)
			if err != nil {
				mu.Lock()
				missing = append(missing, m.Name)
				mu.Unlock()
				t.log.Warn("could not gather a node's pods before acting", "node", m.Name, "err", err)
				return
			}
			t.r.cfg.Statuses.Report(st)
		})
	}
	wg.Wait()
	t.log.Info("gathered the nodes' actual pods", "missing", missing)
}

// recordSync writes the outcome of a sync to the ledger: applied says rev
// is now the commit in force, err is the sync's error (for an applied
// commit, its admission file's).
func (t *term) recordSync(rev gitsource.Revision, applied bool, err error) {
	cfg := gitsource.Config{}
	if t.r.cfg.Source != nil {
		cfg = t.r.cfg.Source.Config()
	}
	ref := rev.Ref
	if ref == "" {
		ref = "refs/heads/" + cfg.Branch
	}
	rec := SyncRecord{Repo: RedactURL(cfg.URL), Ref: ref}
	if e, ok := t.ledger.Get(PrefixSync + ref); ok {
		_ = json.Unmarshal(e.Value, &rec)
	}
	rec.Repo, rec.Ref, rec.Term = RedactURL(cfg.URL), ref, t.term
	now := t.r.cfg.Now().UTC()
	if applied {
		rec.Commit, rec.Message, rec.Author, rec.Time = rev.Commit, firstLine(rev.Message), rev.Author, now
	}
	if err == nil {
		rec.Error, rec.ErrorCommit, rec.ErrorTime = "", "", time.Time{}
	} else {
		rec.Error, rec.ErrorTime = err.Error(), now
		rec.ErrorCommit = ""
		var le *gitsource.LoadError
		var ae *gitsource.AdmissionError
		switch {
		case errors.As(err, &le):
			rec.ErrorCommit = le.Revision.Commit
		case errors.As(err, &ae):
			rec.ErrorCommit = ae.Revision.Commit
		}
		if len(rec.Error) > 16<<10 {
			rec.Error = rec.Error[:16<<10] + "\n(truncated)"
		}
	}
	data, _ := json.Marshal(rec)
	if err := t.ledger.Put(t.term, PrefixSync+ref, data); err != nil {
		t.log.Warn("recording the sync in the ledger", "err", err)
	}
}

// step computes once and acts on the plan.
func (t *term) step(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	now := t.r.cfg.Now()
	members := t.r.cfg.Cluster.Members()
	if t.memo == nil {
		t.memo = &Memo{}
	}
	in := Input{
		Desired:       t.desired,
		Placements:    readPlacements(t.ledger),
		PodCIDRs:      readPodCIDRs(t.ledger),
		ClusterCIDR:   t.r.cfg.ClusterCIDR,
		NodeCIDRBits:  t.r.cfg.NodeCIDRBits,
		Now:           now,
		NodeLostAfter: t.r.cfg.NodeLostAfter,
		ReplaceAfter:  t.r.cfg.ReplaceAfter,
		Owned:         readOwned(t.ledger),
		Seq:           readSeq(t.ledger),

		ReplicaTemplates: readNested[corev1.PodTemplateSpec](t.ledger, PrefixReplicaTemplate),

		DeploymentSets: readDeploymentSets(t.ledger, &t.sets),
		JobStates:      readRecords[jobs.State](t.ledger, PrefixJob),
		CronStates:     readRecords[cronjobs.State](t.ledger, PrefixCronJob),
		Quarantined:    readQuarantined(t.ledger),
		DaemonStates:   readRecords[daemons.State](t.ledger, PrefixDaemonSet),
		Networking:     t.r.cfg.Networking,
		Allocations:    readAllocations(t.ledger),
		Memo:           t.memo,
	}
	if t.desired != nil {
		in.Desired = t.withPreviews(t.applied(now), members)
	}
	failed := readFailed(t.ledger)
	if in.Desired != nil && len(failed) > 0 {
		in.Desired = withoutFailed(in.Desired, failed)
	}
	addrs := map[string]string{}
	var fp strings.Builder
	for _, m := range members {
		fmt.Fprintf(&fp, "%s=%s,", m.Name, m.State)
		rep := NodeReport{Name: m.Name, Live: m.State.Live(), Address: m.Addr.Addr()}
		if st, _, ok := t.r.cfg.Statuses.Get(m.Name); ok {
			rep.Info, rep.Pods = st.NodeInfo, st.Pods
		}
		if rep.Live {
			addrs[m.Name] = m.APIAddr
			if rep.Info != nil && nodeReady(rep.Info) {
				t.lastSeen[m.Name] = now
			}
		}
		if _, ok := t.lastSeen[m.Name]; !ok {
			t.lastSeen[m.Name] = now
		}
		rep.LastSeen = t.lastSeen[m.Name]
		in.Nodes = append(in.Nodes, rep)
	}
	if fp.String() != t.members {
		t.members = fp.String()
		t.log.Info("membership", "members", t.members)
	}
	plan := Compute(in)

	for node, cidr := range plan.PodCIDRs {
		t.log.Info("pod CIDR allocated", "node", node, "cidr", cidr)
		t.put(PrefixPodCIDR+node, []byte(cidr))
	}
	for node, why := range plan.CIDRErrors {
		t.log.Error("node has no pod CIDR", "node", node, "reason", why)
	}
	if in.Desired == nil { // no commit yet, or the previews not read yet
		t.flush()
		return
	}
	t.lastPods, t.lastIn = plan.Pods, &in
	t.recordNodeSpecs(plan.NodeSpecs)
	t.recordOwned(plan.Replicas)
	for key, sets := range plan.Deployments.Put {
		writeRecords(t, PrefixDeploymentSet+key+"/", sets, nil)
	}
	for key, hashes := range plan.Deployments.Delete {
		writeRecords[deployments.Set](t, PrefixDeploymentSet+key+"/", nil, hashes)
	}
	writeRecords(t, PrefixDaemonSet, plan.Daemons.Put, plan.Daemons.Delete)
	writeRecords(t, PrefixCronJob, plan.CronJobs.Put, plan.CronJobs.Delete)
	writeRecords(t, PrefixJob, plan.Jobs.Put, plan.Jobs.Delete)
	for _, ev := range plan.CronJobs.Events {
		t.log.Info("cronjob", "event", ev)
	}
	for key, node := range plan.Place {
		t.put(placementKey(key), []byte(node))
	}
	for _, key := range plan.Remove {
		t.del(placementKey(key))
	}
	t.flush()
	t.recordFailed(plan, failed)
	t.recordAllocations(plan.Routes, now)
	t.flush()
	t.updateView(in, plan, failed, addrs)
	t.recordEvents(in, plan)
	t.recordAdmission(plan)
	routes, _ := json.Marshal(plan.Routes.Table)
	for node, content := range plan.Nodes {
		if addr := addrs[node]; addr != "" {
			t.push(ctx, node, addr, content, routes)
		}
	}
}

// put adds a write to the step's batch unless the ledger already holds
// that value; flush applies the batch (one ledger save).
func (t *term) put(key string, value []byte) {
	if e, ok := t.ledger.Get(key); ok && bytes.Equal(e.Value, value) {
		return
	}
	if t.batch.Put == nil {
		t.batch.Put = map[string][]byte{}
	}
	t.batch.Put[key] = value
}

// del adds a deletion of a key the ledger holds to the step's batch.
func (t *term) del(key string) {
	if _, ok := t.ledger.Get(key); ok {
		t.batch.Delete = append(t.batch.Delete, key)
	}
}

func (t *term) flush() {
	b := t.batch
	t.batch = gossip.Batch{}
	if err := t.ledger.Apply(t.term, b); err != nil {
		t.log.Warn("ledger", "err", err)
	}
}

// recordOwned records the controllers' new pods, forgets deleted ones and
// advances their name sequences.
func (t *term) recordOwned(p replicas.Plan) {
	for key, o := range p.Create {
		data, _ := json.Marshal(o)
		t.put(PrefixOwned+key.Namespace+"/"+key.Name, data)
	}
	for _, key := range p.Delete {
		t.del(PrefixOwned + key.Namespace + "/" + key.Name)
	}
	writeRecords(t, PrefixSeq, p.Seq, nil)
	for key, ts := range p.PutTemplates {
		writeRecords(t, PrefixReplicaTemplate+key+"/", ts, nil)
	}
	for key, hashes := range p.DeleteTemplates {
		writeRecords[corev1.PodTemplateSpec](t, PrefixReplicaTemplate+key+"/", nil, hashes)
	}
	for key, pod := range p.Release {
		path := key.Namespace + "/" + key.Name
		data, _ := json.Marshal(Quarantined{Pod: *pod, Released: true})
		t.put(PrefixQuarantine+path, data)
		t.log.Info("pod released: it no longer matches its controller's selector", "pod", path)
		if ev := t.r.cfg.Events; ev != nil {
			ev.Record(events.Object{Kind: "Pod", Namespace: key.Namespace, Name: key.Name}, corev1.EventTypeNormal,
				"Released", "No longer matches its controller's selector: it runs on its own until shoal delete pod")
		}
	}
}

// recordNodeSpecs keeps the ledger's nodespec entries equal to the
// repository's Node objects.
func (t *term) recordNodeSpecs(specs map[string]NodeSpec) {
	for node, spec := range specs {
		data, _ := json.Marshal(spec)
		t.put(PrefixNodeSpec+node, data)
	}
	for _, e := range t.ledger.List(PrefixNodeSpec) {
		if _, ok := specs[strings.TrimPrefix(e.Key, PrefixNodeSpec)]; !ok {
			t.del(e.Key)
		}
	}
}

// push sends node its content when it changed since the last push in this
// term, or when the node reports it runs another state, one push at a
// time per node; failures are retried on the next step.
func (t *term) push(ctx context.Context, node, addr string, c NodeContent, routes []byte) {
	data, _ := json.Marshal(c)
	sum := sha256.Sum256(append(data, routes...))
	hash := hex.EncodeToString(sum[:])
	now := t.r.cfg.Now()

	t.mu.Lock()
	s := t.sent[node]
	if s == nil {
		s = &sent{}
		t.sent[node] = s
	}
	if s.inFlight {
		t.mu.Unlock()
		return
	}
	resend := false
	if s.hash == hash {
		st, _, ok := t.r.cfg.Statuses.Get(node)
		// The node restarted without its state, or follows another term:
		// send again, not more often than every few seconds.
		if ok && (st.Term != t.term || st.Generation < s.generation) && now.Sub(s.at) > 3*time.Second && st.Time.After(s.at) {
			resend = true
		}
		if !resend {
			t.mu.Unlock()
			return
		}
	}
	gen := s.generation
	if s.hash != hash {
		t.gen++
		gen = t.gen
	}
	s.inFlight = true
	t.mu.Unlock()

	st := transport.NodeState{
		Term: t.term, Generation: gen, Node: node,
		Pods: c.Pods, ConfigMaps: c.ConfigMaps, Secrets: c.Secrets,
		PersistentVolumeClaims: c.Claims, PersistentVolumes: c.Volumes, StorageClasses: c.StorageClasses,
		Routes: routes,
	}
	go func() {
		began := time.Now()
		err := t.r.cfg.Transport.PushState(ctx, addr, st)
		t.mu.Lock()
		s.inFlight = false
		if err == nil {
			s.hash, s.generation, s.at = hash, gen, t.r.cfg.Now()
		}
		t.mu.Unlock()
		t.r.cfg.Metrics.observePush(time.Since(began), err)
		if err != nil {
			if ctx.Err() == nil {
				t.log.Warn("pushing desired state failed; retrying", "node", node, "err", err)
			}
			return
		}
		t.log.Info("desired state pushed", "node", node, "generation", gen, "pods", len(st.Pods))
	}()
}

// updateView publishes the pods that no live node reports: pending ones
// (those a LimitRange or ResourceQuota refuses too), failed ones, and
// those placed on a node that does not answer (with its last report, else
// phase Unknown), as Kubernetes shows them; the workload objects with
// their status (see Workloads); what admission refuses; and the quotas
// with their usage.
func (t *term) updateView(in Input, plan Plan, failed map[types.NamespacedName]failure, live map[string]string) {
	var out []corev1.Pod
	// Every desired pod, failed bare pods included (plan.Pods lacks them).
	pods := append([]*corev1.Pod(nil), plan.Pods...)
	for _, p := range manifests.Of[*corev1.Pod](t.inForce()) {
		if _, ok := failed[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}]; ok {
			pods = append(pods, p)
		}
	}
	placements := readPlacements(t.ledger)
	for _, p := range pods {
		key := types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
		if node, ok := placements[key]; ok && live[node] == "" {
			if _, isFailed := failed[key]; !isFailed {
				out = append(out, unreachablePod(p, node, t.r.cfg.Statuses))
				continue
			}
		}
		if why, ok := plan.Pending[key]; ok {
			q := p.DeepCopy()
			q.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
				Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
				Reason: corev1.PodReasonUnschedulable, Message: why,
			}}}
			out = append(out, *q)
			continue
		}
		if f, ok := failed[key]; ok && f.UID == specHash(p) {
			q := p.DeepCopy()
			q.Spec.NodeName = f.Node
			q.Status = corev1.PodStatus{Phase: corev1.PodFailed, Reason: placement.ReasonNodeLost, Message: f.Message}
			out = append(out, *q)
		}
	}
	for _, key := range sortedKeys(plan.Forbidden) {
		if p, ok := in.Desired.Get("Pod", key.Namespace, key.Name).(*corev1.Pod); ok {
			out = append(out, forbiddenPod(p, plan.Forbidden[key]))
		}
	}
	w, n := workloads(in, plan), network(in, plan)
	quotas, ranges := quotaObjects(in.Desired, plan.Quotas)
	t.r.mu.Lock()
	t.r.view = View{Term: t.term, Revision: t.rev, Unscheduled: out, Workloads: w, Network: n, Routes: &plan.Routes.Table,
		Refused: t.refused, ResourceQuotas: quotas, LimitRanges: ranges}
	t.r.mu.Unlock()
}

// unreachablePod is a pod placed on a node that does not answer: its last
// reported status with Ready False, or phase Unknown when none was seen.
func unreachablePod(p *corev1.Pod, node string, statuses *Statuses) corev1.Pod {
	if st, _, ok := statuses.Get(node); ok {
		for _, q := range st.Pods {
			if q.Namespace == p.Namespace && q.Name == p.Name {
				q := *q.DeepCopy()
				for i := range q.Status.Conditions {
					if c := &q.Status.Conditions[i]; c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
						c.Status, c.Reason = corev1.ConditionFalse, "NodeUnreachable"
					}
				}
				return q
			}
		}
	}
	q := p.DeepCopy()
	q.Spec.NodeName = node
	q.Status = corev1.PodStatus{
		Phase: corev1.PodUnknown, Reason: "NodeUnreachable",
		Message: fmt.Sprintf("node %s does not answer; its pods are reported Failed once it is lost", node),
	}
	return *q
}

// failure records a bare pod that failed with its node, so that it stays
// failed when the node comes back, as a Kubernetes pod evicted from a lost
// node does. A new spec (another UID) runs again.
type failure struct {
	UID     string    `json:"uid"`
	Node    string    `json:"node"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// PrefixFailed + "namespace/name" -> a bare pod failed with its lost node.
const PrefixFailed = "failed/"

func readFailed(l *gossip.Ledger) map[types.NamespacedName]failure {
	return byPod(readRecords[failure](l, PrefixFailed))
}

// recordFailed records the pods placement failed, and forgets failures of
// pods no longer desired with that spec.
func (t *term) recordFailed(plan Plan, failed map[types.NamespacedName]failure) {
	desired := map[types.NamespacedName]string{}
	for _, p := range manifests.Of[*corev1.Pod](t.inForce()) {
		desired[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}] = specHash(p)
	}
	placements := readPlacements(t.ledger)
	for key, msg := range plan.Failed {
		f := failure{UID: desired[key], Node: placements[key], Message: msg, Time: t.r.cfg.Now().UTC()}
		t.log.Warn("pod failed: its node is lost", "pod", key, "node", f.Node)
		data, _ := json.Marshal(f)
		t.put(PrefixFailed+key.Namespace+"/"+key.Name, data)
		t.del(placementKey(key))
		failed[key] = f
	}
	for key, f := range failed {
		if uid, ok := desired[key]; !ok || uid != f.UID {
			t.del(PrefixFailed + key.Namespace + "/" + key.Name)
			delete(failed, key)
		}
	}
}

// withoutFailed returns set without the pods that failed with their spec.
func withoutFailed(set *manifests.Set, failed map[types.NamespacedName]failure) *manifests.Set {
	var keep []*manifests.Object
	for _, o := range set.All() {
		if p, ok := o.Obj.(*corev1.Pod); ok {
			if f, ok := failed[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}]; ok && f.UID == specHash(p) {
				continue
			}
		}
		keep = append(keep, o)
	}
	return manifests.NewSet(keep)
}

// specHash identifies a pod's spec.
func specHash(p *corev1.Pod) string {
	data, _ := json.Marshal(p.Spec)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// RedactURL drops credentials from a repository URL, for logs and status.
func RedactURL(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		if at := strings.Index(rest, "@"); at >= 0 && at < strings.IndexAny(rest+"/", "/") {
			return raw[:i+3] + rest[at+1:]
		}
	}
	return raw
}
