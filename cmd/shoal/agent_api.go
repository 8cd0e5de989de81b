package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/gossip/transport"
	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/reconciler"
	"github.com/shoal-run/shoal/reconciler/gitsource"
)

// peerTimeout bounds a request to another node made while answering a
// client.
const peerTimeout = 3 * time.Second

// peer returns a client of another node's API; scoped clients ask for that
// node's own pods only.
func (a *agent) peer(addr string, scoped bool) (*api.Client, error) {
	key := fmt.Sprintf("%s/%t", addr, scoped)
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.peers[key]; ok {
		return c, nil
	}
	c, err := api.NewClient(addr, api.ClientOptions{Token: a.r.token, NodeScope: scoped})
	if err != nil {
		return nil, err
	}
	a.peers[key] = c
	return c, nil
}

// errNoLeader answers what only the leader knows when there is none.
var errNoLeader = errors.New("no leader: the cluster has no eligible member alive")

// leaderClient returns a client of the leader's API, or nil when this node
// leads; errNoLeader when no member leads.
func (a *agent) leaderClient() (*api.Client, error) {
	l := a.cluster.Leader()
	switch {
	case l.Term == "":
		return nil, errNoLeader
	case l.Self:
		return nil, nil
	}
	return a.peer(l.Leader.APIAddr, false)
}

// --- api.PodService: the cluster's pods, wherever they run ---

// localPods lists this node's own pods.
func (a *agent) localPods(ctx context.Context, ns string) ([]corev1.Pod, error) {
	p := a.nodeParts()
	if p == nil {
		return nil, nil
	}
	return p.mgr.ListPods(ctx, ns)
}

// ListPods implements api.PodService: with node scope this node's pods;
// otherwise the leader's answer (every node's pods plus those that run
// nowhere), or this node's own gathering when the leader cannot answer.
func (a *agent) ListPods(ctx context.Context, ns string) ([]corev1.Pod, error) {
	if api.NodeScope(ctx) {
		return a.localPods(ctx, ns)
	}
	if c, err := a.leaderClient(); err == nil && c != nil {
		fctx, cancel := context.WithTimeout(ctx, 2*peerTimeout)
		pods, err := c.ListPods(fctx, ns)
		cancel()
		if err == nil {
			return pods, nil
		}
		a.log.Warn("the leader did not answer a pod listing; answering from the nodes", "leader", c.Server(), "err", err)
	}
	return a.clusterPods(ctx, ns)
}

// clusterPods asks every live member for its pods and adds what the
// reconciler knows: pods that run nowhere and the last report of nodes
// that do not answer.
func (a *agent) clusterPods(ctx context.Context, ns string) ([]corev1.Pod, error) {
	type key struct{ ns, name string }
	out := map[key]corev1.Pod{}
	for _, p := range a.rec.View().Unscheduled {
		if ns == "" || p.Namespace == ns {
			out[key{p.Namespace, p.Name}] = p
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	add := func(pods []corev1.Pod) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range pods {
			if ns != "" && p.Namespace != ns {
				continue
			}
			if _, ok := out[key{p.Namespace, p.Name}]; !ok {
				out[key{p.Namespace, p.Name}] = p
			}
		}
	}
	for _, m := range a.cluster.Members() {
		if m.Name == a.cfg.Name {
			pods, err := a.localPods(ctx, ns)
			if err != nil {
				return nil, err
			}
			add(pods)
			continue
		}
		reported := func() {
			if st, _, ok := a.statuses.Get(m.Name); ok {
				add(st.Pods)
			}
		}
		if !m.State.Live() || m.APIAddr == "" {
			reported()
			continue
		}
		wg.Go(func() {
			c, err := a.peer(m.APIAddr, true)
			if err == nil {
				fctx, cancel := context.WithTimeout(ctx, peerTimeout)
				defer cancel()
				var pods []corev1.Pod
				if pods, err = c.ListPods(fctx, ns); err == nil {
					add(pods)
					return
				}
			}
			a.log.Warn("a node did not answer a pod listing; using its last report", "member", m.Name, "err", err)
			reported()
		})
	}
	wg.Wait()
	pods := make([]corev1.Pod, 0, len(out))
	for _, p := range out {
		pods = append(pods, p)
	}
	sort.Slice(pods, func(i, j int) bool {
		if pods[i].Namespace != pods[j].Namespace {
			return pods[i].Namespace < pods[j].Namespace
		}
		return pods[i].Name < pods[j].Name
	})
	return pods, nil
}

// GetPod implements api.PodService.
func (a *agent) GetPod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	if api.NodeScope(ctx) {
		p := a.nodeParts()
		if p == nil {
			return nil, fmt.Errorf("pod %q not found in namespace %q (this node is starting): %w", name, ns, api.ErrNotFound)
		}
		return p.mgr.GetPod(ctx, ns, name)
	}
	pods, err := a.ListPods(ctx, ns)
	if err != nil {
		return nil, err
	}
	for i := range pods {
		if pods[i].Name == name {
			return &pods[i], nil
		}
	}
	return nil, fmt.Errorf("pod %q not found in namespace %q: %w", name, ns, api.ErrNotFound)
}

// podNode finds where a pod runs: nil for this node, else a scoped client
// of its node.
func (a *agent) podNode(ctx context.Context, ns, name string) (*api.Client, error) {
	if api.NodeScope(ctx) {
		return nil, nil
	}
	pod, err := a.GetPod(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	node := pod.Spec.NodeName
	if node == "" || node == a.cfg.Name {
		return nil, nil
	}
	for _, m := range a.cluster.Members() {
		if m.Name == node {
			if !m.State.Live() {
				return nil, fmt.Errorf("pod %q runs on node %s, which is %s", name, node, m.State)
			}
			return a.peer(m.APIAddr, true)
		}
	}
	return nil, fmt.Errorf("pod %q runs on node %s, which is not a member", name, node)
}

// Logs implements api.PodService, reading from the pod's node.
func (a *agent) Logs(ctx context.Context, ns, name string, opts api.LogOptions, w io.Writer) error {
	c, err := a.podNode(ctx, ns, name)
	if err != nil {
		return err
	}
	if c != nil {
		return c.Logs(ctx, ns, name, opts, w)
	}
	p := a.nodeParts()
	if p == nil {
		return fmt.Errorf("pod %q not found in namespace %q (this node is starting): %w", name, ns, api.ErrNotFound)
	}
	return p.mgr.Logs(ctx, ns, name, opts, w)
}

// Exec implements api.PodService, running on the pod's node.
func (a *agent) Exec(ctx context.Context, ns, name string, opts api.ExecOptions) (int, error) {
	c, err := a.podNode(ctx, ns, name)
	if err != nil {
		return -1, err
	}
	if c != nil {
		return c.Exec(ctx, ns, name, opts)
	}
	p := a.nodeParts()
	if p == nil {
		return -1, fmt.Errorf("pod %q not found in namespace %q (this node is starting): %w", name, ns, api.ErrNotFound)
	}
	return p.mgr.Exec(ctx, ns, name, opts)
}

// DialPod implements api.PortForwarder: it connects to a pod's port from
// the pod's node, asked of it when that is another node (so that a pod of
// the host network is reached too, as logs and exec are).
func (a *agent) DialPod(ctx context.Context, ns, name string, port int32) (io.ReadWriteCloser, error) {
	c, err := a.podNode(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	if c != nil {
		return c.DialPod(ctx, ns, name, port)
	}
	p := a.nodeParts()
	if p == nil {
		return nil, fmt.Errorf("pod %q not found in namespace %q (this node is starting): %w", name, ns, api.ErrNotFound)
	}
	pod, err := p.mgr.GetPod(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	if pod.Status.PodIP == "" {
		return nil, fmt.Errorf("pod %s/%s has no IP yet (phase %s): forward once it runs", ns, name, pod.Status.Phase)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(int(port))))
	if err != nil {
		return nil, fmt.Errorf("cannot connect to port %d of pod %s/%s: %w (is a container listening on it?)", port, ns, name, err)
	}
	return conn, nil
}

// QuarantinePod implements api.PodControl: on the leader, or asked of it.
func (a *agent) QuarantinePod(ctx context.Context, ns, name string) error {
	return a.podControl(ctx, func(c *api.Client) error { return c.QuarantinePod(ctx, ns, name) },
		func() error { return a.rec.Quarantine(ctx, ns, name) })
}

// DeletePod implements api.PodControl.
func (a *agent) DeletePod(ctx context.Context, ns, name string) error {
	return a.podControl(ctx, func(c *api.Client) error { return c.DeletePod(ctx, ns, name) },
		func() error { return a.rec.DeletePod(ctx, ns, name) })
}

// DeleteObject implements api.ObjectControl.
func (a *agent) DeleteObject(ctx context.Context, kind, ns, name string) error {
	res, ok := api.ResourceFor(kind)
	if !ok {
		return fmt.Errorf("kind %s cannot be deleted: %w", kind, api.ErrNotFound)
	}
	return a.podControl(ctx, func(c *api.Client) error { return c.DeleteObject(ctx, res, ns, name) },
		func() error { return a.rec.Delete(ctx, kind, ns, name) })
}

// podControl runs a pod request on the leader: here, or forwarded.
func (a *agent) podControl(ctx context.Context, remote func(*api.Client) error, local func() error) error {
	c, err := a.leaderClient()
	if err != nil {
		return err
	}
	if c != nil {
		return remote(c)
	}
	err = local()
	// The API's own errors, so that the message reaches the user as the
	// reconciler wrote it.
	switch {
	case errors.Is(err, reconciler.ErrNotFound):
		return &api.Error{Message: err.Error(), Reason: api.ReasonNotFound, Code: http.StatusNotFound}
	case errors.Is(err, reconciler.ErrFromGit), errors.Is(err, reconciler.ErrNotLeading):
		return &api.Error{Message: err.Error(), Reason: api.ReasonBadRequest, Code: http.StatusBadRequest}
	}
	return err
}

// --- api.ClusterService ---

// Nodes implements api.ClusterService: every member's record, asked of
// the member itself, or made from what gossip and the ledger know when it
// does not answer.
func (a *agent) Nodes(ctx context.Context) ([]corev1.Node, error) {
	members := a.cluster.Members()
	out := make([]corev1.Node, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() { out[i] = a.memberRecord(ctx, m) })
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Node implements api.ClusterService.
func (a *agent) Node(ctx context.Context, name string) (*corev1.Node, error) {
	if name == a.cfg.Name {
		n := a.selfRecord()
		return &n, nil
	}
	if !api.NodeScope(ctx) {
		for _, m := range a.cluster.Members() {
			if m.Name == name {
				n := a.memberRecord(ctx, m)
				return &n, nil
			}
		}
	}
	return nil, fmt.Errorf("node %q not found: %w", name, api.ErrNotFound)
}

// memberRecord returns a member's record.
func (a *agent) memberRecord(ctx context.Context, m gossip.Member) corev1.Node {
	if m.Name == a.cfg.Name {
		return a.selfRecord()
	}
	if m.State.Live() && m.APIAddr != "" {
		if c, err := a.peer(m.APIAddr, true); err == nil {
			fctx, cancel := context.WithTimeout(ctx, peerTimeout)
			n, err := c.GetNode(fctx, m.Name)
			cancel()
			if err == nil {
				a.mu.Lock()
				a.records[m.Name] = *n
				a.mu.Unlock()
				return *n
			}
		}
	}
	// Not answering: the last record seen (here or in a report), marked
	// unknown, as Kubernetes shows a node whose kubelet stopped posting.
	a.mu.Lock()
	n, ok := a.records[m.Name]
	a.mu.Unlock()
	if !ok {
		if st, _, ok2 := a.statuses.Get(m.Name); ok2 && st.NodeInfo != nil {
			n, ok = *st.NodeInfo.DeepCopy(), true
		}
	}
	if !ok {
		n = corev1.Node{}
		n.Name = m.Name
		n.Labels = map[string]string{"kubernetes.io/hostname": m.Name}
		n.CreationTimestamp = metav1.NewTime(m.StartTime)
		if cidr, ok := reconciler.PodCIDR(a.cluster.Ledger(), m.Name); ok {
			n.Spec.PodCIDR, n.Spec.PodCIDRs = cidr, []string{cidr}
		}
		if m.Addr.IsValid() {
			n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: m.Addr.Addr().String()}}
		}
	}
	n.TypeMeta = metav1.TypeMeta{Kind: "Node", APIVersion: "v1"}
	msg := fmt.Sprintf("the node's agent does not answer (gossip: %s)", m.State)
	n.Status.Conditions = []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown", Message: msg,
		LastHeartbeatTime: readyHeartbeat(n), LastTransitionTime: metav1.Now(),
	}}
	return n
}

func readyHeartbeat(n corev1.Node) metav1.Time {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.LastHeartbeatTime
		}
	}
	return metav1.Time{}
}

// selfRecord is this node's own record.
func (a *agent) selfRecord() corev1.Node {
	var n corev1.Node
	n.TypeMeta = metav1.TypeMeta{Kind: "Node", APIVersion: "v1"}
	n.Name = a.cfg.Name
	n.CreationTimestamp = metav1.NewTime(a.started)
	n.Labels = map[string]string{
		"kubernetes.io/hostname": a.cfg.Name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     goruntime.GOARCH,
	}
	for k, v := range a.cfg.Labels {
		n.Labels[k] = v
	}
	ledger := a.cluster.Ledger()
	if spec, ok := reconciler.NodeSpecOf(ledger, a.cfg.Name); ok {
		for k, v := range spec.Labels {
			n.Labels[k] = v
		}
		if len(spec.Annotations) > 0 {
			n.Annotations = spec.Annotations
		}
		n.Spec.Unschedulable = spec.Unschedulable
		if spec.Unschedulable {
			n.Spec.Taints = []corev1.Taint{{Key: "node.kubernetes.io/unschedulable", Effect: corev1.TaintEffectNoSchedule}}
		}
	}
	if cidr, ok := reconciler.PodCIDR(ledger, a.cfg.Name); ok {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = cidr, []string{cidr}
	}
	m := machine()
	n.Status.Capacity, n.Status.Allocatable = m.capacity.DeepCopy(), m.capacity.DeepCopy()
	n.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeInternalIP, Address: a.r.advertise.Addr().String()},
		{Type: corev1.NodeHostName, Address: m.host},
	}
	n.Status.NodeInfo = m.info
	now := metav1.Now()
	ready := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "shoal agent is running pods", LastHeartbeatTime: now, LastTransitionTime: metav1.NewTime(a.started),
	}
	if !a.restored.Load() {
		ready.Status, ready.Reason, ready.Message = corev1.ConditionFalse, "PodCIDRPending", "waiting for the leader to allocate this node's pod CIDR"
	}
	n.Status.Conditions = []corev1.NodeCondition{ready}
	return n
}

// machineFacts are what a node record says of the machine; they do not
// change while the agent runs, and the record is made every report.
type machineFacts struct {
	capacity corev1.ResourceList
	host     string
	info     corev1.NodeSystemInfo
}

// machine reads the machine's facts once.
var machine = sync.OnceValue(func() machineFacts {
	var m machineFacts
	m.capacity = corev1.ResourceList{
		corev1.ResourceCPU:  *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
		corev1.ResourcePods: *resource.NewQuantity(110, resource.DecimalSI),
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		m.capacity[corev1.ResourceMemory] = *resource.NewQuantity(int64(si.Totalram)*int64(si.Unit), resource.BinarySI)
	}
	m.host, _ = os.Hostname()
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	m.info = corev1.NodeSystemInfo{
		KernelVersion:           unix.ByteSliceToString(uts.Release[:]),
		OSImage:                 osImage(),
		ContainerRuntimeVersion: "shoal://" + version(),
		KubeletVersion:          "shoal-" + version(),
		OperatingSystem:         "linux",
		Architecture:            goruntime.GOARCH,
		MachineID:               strings.TrimSpace(readFile("/etc/machine-id")),
	}
	return m
})

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// osImage is PRETTY_NAME of /etc/os-release.
func osImage() string {
	for _, line := range strings.Split(readFile("/etc/os-release"), "\n") {
		if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}

// Status implements api.ClusterService from this node's view of gossip and
// the ledger, which every node holds.
func (a *agent) Status(ctx context.Context) (*api.ClusterStatus, error) {
	l := a.cluster.Leader()
	st := &api.ClusterStatus{Node: a.cfg.Name}
	if l.Term != "" {
		st.Leader = api.LeaderStatus{Name: l.Leader.Name, Term: string(l.Term), APIAddr: l.Leader.APIAddr}
	}
	for _, m := range a.cluster.Members() {
		ms := api.MemberStatus{
			Name: m.Name, State: m.State.String(), APIAddr: m.APIAddr,
			Eligible: m.Eligible, StartTime: m.StartTime, Leader: l.Term != "" && m.Name == l.Leader.Name,
		}
		if m.Addr.IsValid() {
			ms.Addr = m.Addr.String()
		}
		st.Members = append(st.Members, ms)
	}
	main := "refs/heads/" + a.cfg.Branch
	for _, r := range reconciler.Syncs(a.cluster.Ledger()) {
		s := api.SyncStatus{
			Repo: r.Repo, Ref: r.Ref, Commit: r.Commit, Message: r.Message, Author: r.Author,
			Time: r.Time, Error: r.Error, ErrorCommit: r.ErrorCommit, ErrorTime: r.ErrorTime,
		}
		if r.Ref == main {
			st.Sync = s
			st.Refs = append([]api.SyncStatus{s}, st.Refs...)
		} else {
			st.Refs = append(st.Refs, s)
		}
	}
	if st.Sync.Ref == "" && a.cfg.Repo != "" {
		st.Sync = api.SyncStatus{Repo: reconciler.RedactURL(a.cfg.Repo), Ref: main, Error: "not synced yet"}
	}
	for _, r := range reconciler.Kept(a.cluster.Ledger()) {
		st.Kept = append(st.Kept, api.KeptObject{
			Kind: r.Key.Kind, Namespace: r.Key.Namespace, Name: r.Key.Name, File: r.File, Commit: r.Commit,
			Removed: r.Removed, RemovedCommit: r.RemovedCommit,
		})
	}
	if rec, ok := reconciler.Refused(a.cluster.Ledger(), main); ok {
		st.Refused = &api.RefusedStatus{Commit: rec.Commit, Total: rec.Total, Objects: []api.RefusedObject{}}
		for _, r := range rec.Objects {
			o := api.RefusedObject{Kind: r.Key.Kind, Namespace: r.Key.Namespace, Name: r.Key.Name, File: r.Source.File, Line: r.Source.Line}
			for _, v := range r.Violations {
				o.Violations = append(o.Violations, api.Violation{Policy: v.Policy, Rule: v.Rule, Field: v.Field, Message: v.Message})
			}
			st.Refused.Objects = append(st.Refused.Objects, o)
		}
	}
	return st, nil
}

// --- api.WorkloadService and api.NetworkService: the leader's view, asked
// of the leader when this node does not lead ---

// The services the server finds on the agent by type assertion.
var (
	_ api.ClusterService  = (*agent)(nil)
	_ api.WorkloadService = (*agent)(nil)
	_ api.EventService    = (*agent)(nil)
	_ api.PodControl      = (*agent)(nil)
	_ api.PortForwarder   = (*agent)(nil)
	_ api.NetworkService  = (*agent)(nil)
)

// fromLeader lists a workload resource of namespace ns ("" for all): from
// this node's reconciler view (of picks the kind) when it leads, else
// asked of the leader.
func fromLeader[T any, PT interface {
	*T
	GetNamespace() string
}](ctx context.Context, a *agent, r api.Resource[T], ns string, of func(reconciler.View) []T) ([]T, error) {
	c, err := a.leaderClient()
	if err != nil {
		return nil, err
	}
	if c != nil {
		fctx, cancel := context.WithTimeout(ctx, 2*peerTimeout)
		defer cancel()
		return api.List(fctx, c, r, ns)
	}
	var out []T
	for _, o := range of(a.rec.View()) {
		if ns == "" || PT(&o).GetNamespace() == ns {
			out = append(out, o)
		}
	}
	return out, nil
}

func (a *agent) Deployments(ctx context.Context, ns string) ([]appsv1.Deployment, error) {
	return fromLeader(ctx, a, api.Deployments, ns, func(v reconciler.View) []appsv1.Deployment { return v.Deployments })
}

func (a *agent) ReplicaSets(ctx context.Context, ns string) ([]appsv1.ReplicaSet, error) {
	return fromLeader(ctx, a, api.ReplicaSets, ns, func(v reconciler.View) []appsv1.ReplicaSet { return v.ReplicaSets })
}

func (a *agent) ReplicationControllers(ctx context.Context, ns string) ([]corev1.ReplicationController, error) {
	return fromLeader(ctx, a, api.ReplicationControllers, ns, func(v reconciler.View) []corev1.ReplicationController { return v.ReplicationControllers })
}

func (a *agent) DaemonSets(ctx context.Context, ns string) ([]appsv1.DaemonSet, error) {
	return fromLeader(ctx, a, api.DaemonSets, ns, func(v reconciler.View) []appsv1.DaemonSet { return v.DaemonSets })
}

func (a *agent) Jobs(ctx context.Context, ns string) ([]batchv1.Job, error) {
	return fromLeader(ctx, a, api.Jobs, ns, func(v reconciler.View) []batchv1.Job { return v.Jobs })
}

func (a *agent) CronJobs(ctx context.Context, ns string) ([]batchv1.CronJob, error) {
	return fromLeader(ctx, a, api.CronJobs, ns, func(v reconciler.View) []batchv1.CronJob { return v.CronJobs })
}

func (a *agent) Services(ctx context.Context, ns string) ([]corev1.Service, error) {
	return fromLeader(ctx, a, api.Services, ns, func(v reconciler.View) []corev1.Service { return v.Services })
}

func (a *agent) Endpoints(ctx context.Context, ns string) ([]corev1.Endpoints, error) {
	return fromLeader(ctx, a, api.Endpoints, ns, func(v reconciler.View) []corev1.Endpoints { return v.Endpoints })
}

func (a *agent) Ingresses(ctx context.Context, ns string) ([]networkingv1.Ingress, error) {
	return fromLeader(ctx, a, api.Ingresses, ns, func(v reconciler.View) []networkingv1.Ingress { return v.Ingresses })
}

func (a *agent) ResourceQuotas(ctx context.Context, ns string) ([]corev1.ResourceQuota, error) {
	return fromLeader(ctx, a, api.ResourceQuotas, ns, func(v reconciler.View) []corev1.ResourceQuota { return v.ResourceQuotas })
}

func (a *agent) LimitRanges(ctx context.Context, ns string) ([]corev1.LimitRange, error) {
	return fromLeader(ctx, a, api.LimitRanges, ns, func(v reconciler.View) []corev1.LimitRange { return v.LimitRanges })
}

// Events implements api.EventService: the leader's events, asked of the
// leader when this node does not lead.
//
// With node scope it is this node's pods' events; otherwise the leader
// adds every live node's.
func (a *agent) Events(ctx context.Context, ns string) ([]corev1.Event, error) {
	if api.NodeScope(ctx) {
		return a.podEvents.List(ns), nil
	}
	if c, err := a.leaderClient(); err != nil || c != nil {
		if err != nil {
			return nil, err
		}
		fctx, cancel := context.WithTimeout(ctx, 2*peerTimeout)
		defer cancel()
		return c.ListEvents(fctx, ns)
	}
	out := a.events.List(ns)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range a.cluster.Members() {
		if m.Name == a.cfg.Name {
			out = append(out, a.podEvents.List(ns)...)
			continue
		}
		if !m.State.Live() || m.APIAddr == "" {
			continue
		}
		wg.Go(func() {
			c, err := a.peer(m.APIAddr, true)
			if err != nil {
				return
			}
			fctx, cancel := context.WithTimeout(ctx, peerTimeout)
			defer cancel()
			evs, err := c.ListEvents(fctx, ns)
			if err != nil {
				a.log.Warn("a node did not answer an event listing", "member", m.Name, "err", err)
				return
			}
			for i := range evs {
				evs[i].Source.Host = m.Name
			}
			mu.Lock()
			out = append(out, evs...)
			mu.Unlock()
		})
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastTimestamp.Equal(&out[j].LastTimestamp) {
			return out[i].LastTimestamp.Before(&out[j].LastTimestamp)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// --- status reports to the leader ---

// localStatus is this node's status for the leader; false while its pods
// are being re-adopted.
func (a *agent) localStatus() (transport.NodeStatus, bool) {
	p := a.nodeParts()
	if p == nil && a.restored.Load() {
		return transport.NodeStatus{}, false
	}
	if p == nil {
		// No pod CIDR yet: a new node that runs nothing, unless it ran
		// pods before (then its ledger file has its CIDR and it restores).
		if _, ok := reconciler.PodCIDR(a.cluster.Ledger(), a.cfg.Name); ok {
			return transport.NodeStatus{}, false
		}
	}
	info := a.selfRecord()
	st := transport.NodeStatus{Node: a.cfg.Name, NodeInfo: &info, Time: time.Now().UTC()}
	if p != nil {
		pods, err := p.mgr.ListPods(context.Background(), "")
		if err != nil {
			return transport.NodeStatus{}, false
		}
		st.Pods = pods
	}
	if ds, ok := a.recv.State(); ok {
		st.Term, st.Generation = ds.Term, ds.Generation
	}
	return st, true
}

// reportInterval is how often a node looks for changes to report;
// reportEvery how often it reports without one.
const (
	reportInterval = 500 * time.Millisecond
	reportEvery    = 10 * time.Second
)

// report sends this node's status to the leader when it changed, when the
// leader changed, and every reportEvery.
func (a *agent) report(ctx context.Context) {
	var last []byte
	var lastTerm gossip.Term
	var lastAt time.Time
	t := time.NewTicker(reportInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.kick:
		}
		l := a.cluster.Leader()
		if l.Term == "" {
			continue
		}
		st, ok := a.localStatus()
		if !ok {
			continue
		}
		fp := fingerprint(st)
		if bytes.Equal(fp, last) && l.Term == lastTerm && time.Since(lastAt) < reportEvery {
			continue
		}
		if l.Self {
			a.statuses.Report(st)
		} else {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := a.tclient.ReportStatus(rctx, l.Leader.APIAddr, st)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					a.log.Warn("reporting status to the leader", "leader", l.Leader.Name, "err", err)
				}
				continue
			}
		}
		last, lastTerm, lastAt = fp, l.Term, time.Now()
	}
}

// kickReport asks the reporter to look for a change now (the node just
// became Ready: the leader may place pods on it at once).
func (a *agent) kickReport() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// fingerprint is what a status change is judged by: the pods and the node
// record without heartbeat times.
func fingerprint(st transport.NodeStatus) []byte {
	info := st.NodeInfo.DeepCopy()
	for i := range info.Status.Conditions {
		info.Status.Conditions[i].LastHeartbeatTime = metav1.Time{}
	}
	b, _ := json.Marshal(struct {
		Term       gossip.Term
		Generation uint64
		Pods       []corev1.Pod
		Info       *corev1.Node
	}{st.Term, st.Generation, st.Pods, info})
	return b
}

// --- webhook ---

// webhookHandler verifies a push webhook and syncs at once on the leader;
// other nodes forward it to the leader, signed again with the same secret.
func (a *agent) webhookHandler() http.Handler {
	if len(a.r.webhook) == 0 {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "this node has no webhook secret (--webhook-secret-file): the leader polls the repository instead", http.StatusNotFound)
		})
	}
	return gitsource.WebhookHandler(a.r.webhook, func(ref string) {
		l := a.cluster.Leader()
		switch {
		case l.Self:
			if a.src != nil {
				a.src.Trigger()
			}
		case l.Term != "":
			go a.forwardWebhook(l.Leader, ref)
		}
	})
}

// forwardWebhook sends a push event for ref to the leader's webhook.
func (a *agent) forwardWebhook(leader gossip.Member, ref string) {
	body, _ := json.Marshal(map[string]string{"ref": ref})
	mac := hmac.New(sha256.New, a.r.webhook)
	mac.Write(body)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+leader.APIAddr+"/webhook", bytes.NewReader(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("Shoal-Forwarded-By", a.cfg.Name)
	resp, err := noProxyClient.Do(req)
	if err != nil {
		a.log.Warn("forwarding the webhook to the leader", "leader", leader.Name, "err", err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		a.log.Warn("the leader refused the forwarded webhook", "leader", leader.Name, "status", resp.Status)
	}
}

// noProxyClient talks to other nodes directly.
var noProxyClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	return &http.Client{Transport: t}
}()
