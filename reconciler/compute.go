package reconciler

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/policies/admission"
	"github.com/shoal-run/shoal/reconciler/cronjobs"
	"github.com/shoal-run/shoal/reconciler/daemons"
	"github.com/shoal-run/shoal/reconciler/deployments"
	"github.com/shoal-run/shoal/reconciler/jobs"
	"github.com/shoal-run/shoal/reconciler/placement"
	"github.com/shoal-run/shoal/reconciler/replicas"
	"github.com/shoal-run/shoal/reconciler/services"
)

// NodeReport is what the leader knows of one node: gossip says whether it
// is live, and the node's last status report gives its record and pods.
type NodeReport struct {
	Name string
	// Live says gossip sees the member alive or suspect.
	Live bool
	// Info is the node's own record from its last report (labels,
	// allocatable, conditions); nil before the first report.
	Info *corev1.Node
	// Pods are the pods the node last reported, with their status.
	Pods []corev1.Pod
	// LastSeen is the last time the node was seen live and ready.
	LastSeen time.Time
	// Address is the address gossip knows the node by, used for routes
	// when its record names no InternalIP.
	Address netip.Addr
}

// Input is everything Compute needs. Compute never modifies it.
type Input struct {
	// Desired is the last good commit's objects, with those kept though
	// removed from Git (package prune); nil when none has loaded
	// in this term yet, in which case Compute only allocates pod CIDRs and
	// the caller pushes nothing (nodes keep what they run).
	Desired *manifests.Set
	// Nodes are every node the leader knows of, live or not, with unique
	// names.
	Nodes []NodeReport
	// Placements and PodCIDRs are the ledger's: pod -> node, node -> CIDR.
	Placements map[types.NamespacedName]string
	PodCIDRs   map[string]string
	// ClusterCIDR is the range node pod CIDRs are cut from, NodeCIDRBits
	// the prefix length of each (24 when zero).
	ClusterCIDR  netip.Prefix
	NodeCIDRBits int
	Now          time.Time
	// NodeLostAfter is how long a node may go unseen before its pods fail
	// (placement.DefaultNodeLostAfter when zero).
	NodeLostAfter time.Duration
	// ReplaceAfter is how long a node may go unseen before the pods
	// controllers made on it are replaced elsewhere (DefaultReplaceAfter
	// when zero; at most NodeLostAfter).
	ReplaceAfter time.Duration
	// Owned and Seq are the ledger's records of the pods controllers made,
	// and their name sequences (package replicas).
	Owned map[types.NamespacedName]replicas.Owned
	Seq   map[string]uint64
	// ReplicaTemplates are the ledger's templates of the repository's
	// ReplicaSets and ReplicationControllers that their pods still run
	// (package replicas).
	ReplicaTemplates map[string]map[string]corev1.PodTemplateSpec
	// DeploymentSets are the ledger's ReplicaSets of each Deployment
	// (package deployments).
	DeploymentSets map[string]map[string]deployments.Set
	// JobStates are the ledger's Job progress records (package jobs).
	JobStates map[string]jobs.State
	// CronStates are the ledger's CronJob schedule records (package
	// cronjobs).
	CronStates map[string]cronjobs.State
	// Quarantined are pods taken out of their controllers: they run as
	// they are, where they are, until deleted.
	Quarantined map[types.NamespacedName]corev1.Pod
	// DaemonStates are the DaemonSets' records: the templates their pods
	// may still run and each node's (package daemons).
	DaemonStates map[string]daemons.State
	// Networking is the Service networking configuration and Allocations
	// the ledger's Service addresses and ports (package services).
	Networking  Networking
	Allocations Allocations
	// Memo, if set, is what Compute remembers from one call to the next
	// (see Memo); nil remembers nothing. It changes no result.
	Memo *Memo
}

// NodeContent is one node's full desired state: its pods (spec.nodeName
// set) and only the ConfigMaps and Secrets they reference.
type NodeContent struct {
	Pods       []corev1.Pod
	ConfigMaps []corev1.ConfigMap
	Secrets    []corev1.Secret
	// Claims, Volumes and StorageClasses are every PersistentVolumeClaim,
	// PersistentVolume and StorageClass of the desired state: each node
	// binds the claims of its pods itself for now (see
	// docs/ARCHITECTURE.md, volumes in a cluster).
	Claims         []corev1.PersistentVolumeClaim
	Volumes        []corev1.PersistentVolume
	StorageClasses []storagev1.StorageClass
}

// NodeSpec is what Node objects in the repository say of a node.
type NodeSpec struct {
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
	Unschedulable bool              `json:"unschedulable,omitempty"`
}

// Plan is what Compute decided. Every map is non-nil. A plan shares its
// pods, templates and node contents with the Input and, with a Memo, with
// the plans of other calls: it is read-only.
type Plan struct {
	// PodCIDRs are new pod CIDR allocations to record: node -> CIDR.
	PodCIDRs map[string]string
	// CIDRErrors are live nodes that got no pod CIDR, with why.
	CIDRErrors map[string]string
	// NodeSpecs are the Node objects of the repository, by node name.
	NodeSpecs map[string]NodeSpec
	// Nodes is the full desired state of every live node, when
	// Input.Desired is set (empty otherwise: push nothing).
	Nodes map[string]NodeContent
	// Place, Remove, Pending and Failed are placement's (see
	// placement.Plan).
	Place   map[types.NamespacedName]string
	Remove  []types.NamespacedName
	Pending map[types.NamespacedName]string
	Failed  map[types.NamespacedName]string
	// Pods are every desired pod: the bare pods and those the controllers
	// keep (Input.Desired's with the controllers' added), with the
	// LimitRange defaults of their namespace, without those a LimitRange
	// or ResourceQuota refused (see admitPods).
	Pods []*corev1.Pod
	// Replicas is the controllers' plan: records to create and delete,
	// sequences, status.
	Replicas replicas.Plan
	// Deployments is the Deployment controller's plan: its ReplicaSet
	// records to write and delete.
	Deployments deployments.Plan
	// Jobs is the Job controller's plan: progress records to write.
	Jobs jobs.Plan
	// CronJobs is the CronJob controller's plan: schedule records to write.
	CronJobs cronjobs.Plan
	// Daemons is the DaemonSet controller's plan: pods and templates.
	Daemons daemons.Plan
	// Routes is the cluster routing table every live node gets, with the
	// Service allocations to record (package services); zero when
	// Input.Desired is nil.
	Routes services.Plan
	// FailedCreate are the controllers (by key, "Kind/namespace/name")
	// that a LimitRange or a ResourceQuota kept from creating a pod this
	// step, with the API server's message for the first pod refused
	// (`pods "web-7c2xk" is forbidden: exceeded quota: ...`); Forbidden
	// are the bare pods of Git refused so, with theirs: they stay
	// Pending. Quotas are the ResourceQuotas' usage after the step (see
	// admitPods).
	FailedCreate map[string]string
	Forbidden    map[types.NamespacedName]string
	Quotas       []admission.QuotaStatus
}

// Compute decides what every node runs. It is pure: no I/O, no clock but
// Input.Now, and the same input gives the same plan. The one thing it
// writes is Input.Memo, a cache that changes no result.
//
// Node objects in the desired state add their labels to the node's own
// (the repository wins on a conflict) and cordon it with
// spec.unschedulable. A node is ready when it is live and its last report
// has a Ready condition that is True. The LimitRanges and ResourceQuotas
// of the desired state then admit the pods the controllers and Git would
// create (admitPods). Bare pods are placed by
// placement.Compute; each live node then gets its pods with the ConfigMaps
// and Secrets they reference from its namespace (volumes, projected
// sources, env, envFrom, imagePullSecrets).
func Compute(in Input) Plan {
	plan := Plan{
		PodCIDRs:   map[string]string{},
		CIDRErrors: map[string]string{},
		NodeSpecs:  map[string]NodeSpec{},
		Nodes:      map[string]NodeContent{},
		Place:      map[types.NamespacedName]string{},
		Pending:    map[types.NamespacedName]string{},
		Failed:     map[types.NamespacedName]string{},

		FailedCreate: map[string]string{},
		Forbidden:    map[types.NamespacedName]string{},
	}
	allocateCIDRs(in, &plan)
	if in.Desired == nil {
		return plan
	}
	if m := in.Memo; m != nil {
		m.mu.Lock()
		defer m.mu.Unlock()
	}
	for _, n := range manifests.Of[*corev1.Node](in.Desired) {
		plan.NodeSpecs[n.Name] = NodeSpec{Labels: n.Labels, Annotations: n.Annotations, Unschedulable: n.Spec.Unschedulable}
	}

	plan.Replicas, plan.Deployments, plan.Jobs, plan.CronJobs = computeControllers(in)
	npods := 0
	for _, n := range in.Nodes {
		npods += len(n.Pods)
	}
	pin := placement.Input{
		Placements:    in.Placements,
		Now:           in.Now,
		NodeLostAfter: in.NodeLostAfter,
		Nodes:         make([]placement.Node, 0, len(in.Nodes)),
		Actual:        make([]placement.Actual, 0, npods),
	}
	for _, n := range in.Nodes {
		pn := placement.Node{Name: n.Name, LastSeen: n.LastSeen, Labels: map[string]string{}}
		if n.Info != nil {
			for k, v := range n.Info.Labels {
				pn.Labels[k] = v
			}
			pn.Allocatable = n.Info.Status.Allocatable
			pn.Unschedulable = n.Info.Spec.Unschedulable
			pn.Ready = n.Live && nodeReady(n.Info)
		}
		if spec, ok := plan.NodeSpecs[n.Name]; ok {
			for k, v := range spec.Labels {
				pn.Labels[k] = v
			}
			pn.Unschedulable = pn.Unschedulable || spec.Unschedulable
		}
		pin.Nodes = append(pin.Nodes, pn)
		for i := range n.Pods {
			pin.Actual = append(pin.Actual, placement.Actual{Node: n.Name, Pod: &n.Pods[i]})
		}
	}
	reported := make([]*corev1.Pod, 0, len(pin.Actual))
	for _, a := range pin.Actual {
		reported = append(reported, a.Pod)
	}
	var dmemo *daemons.Memo
	if in.Memo != nil {
		dmemo, pin.Memo = &in.Memo.daemons, &in.Memo.placement
	}
	plan.Daemons = daemons.Compute(daemons.Input{
		DaemonSets: manifests.Of[*appsv1.DaemonSet](in.Desired), Nodes: pin.Nodes, Actual: reported,
		States: in.DaemonStates, Now: in.Now, NodeLostAfter: in.NodeLostAfter, Memo: dmemo,
	})
	bare := admitPods(in, &plan, manifests.Of[*corev1.Pod](in.Desired), reported)

	plan.Pods = make([]*corev1.Pod, 0, len(bare)+len(plan.Replicas.Pods)+len(plan.Jobs.Pods)+len(in.Quarantined)+len(plan.Daemons.Pods))
	plan.Pods = append(plan.Pods, bare...)
	plan.Pods = append(plan.Pods, plan.Replicas.Pods...)
	plan.Pods = append(plan.Pods, plan.Jobs.Pods...)
	for _, key := range sortedKeys(in.Quarantined) {
		p := in.Quarantined[key]
		plan.Pods = append(plan.Pods, &p)
	}
	// Pods let go this step run on, where they are, as the caller records
	// them with the quarantined ones.
	for _, key := range sortedKeys(plan.Replicas.Release) {
		if _, ok := in.Quarantined[key]; !ok {
			plan.Pods = append(plan.Pods, plan.Replicas.Release[key])
		}
	}
	plan.Pods = append(plan.Pods, plan.Daemons.Pods...)
	pin.Pods = plan.Pods
	pp := placement.Compute(pin)
	plan.Place, plan.Remove, plan.Pending, plan.Failed = pp.Place, pp.Remove, pp.Pending, pp.Failed

	var claims []corev1.PersistentVolumeClaim
	for _, c := range manifests.Of[*corev1.PersistentVolumeClaim](in.Desired) {
		claims = append(claims, *c)
	}
	var volumes []corev1.PersistentVolume
	for _, v := range manifests.Of[*corev1.PersistentVolume](in.Desired) {
		volumes = append(volumes, *v)
	}
	var classes []storagev1.StorageClass
	for _, sc := range manifests.Of[*storagev1.StorageClass](in.Desired) {
		classes = append(classes, *sc)
	}
	for _, n := range in.Nodes {
		if !n.Live {
			continue
		}
		pods := pp.PerNode[n.Name]
		var c NodeContent
		if cached := in.Memo.nodeContent(n.Name, pods, in.Desired); cached != nil {
			c = *cached
		} else {
			var refs []resolved
			c, refs = cutNode(in.Desired, pods)
			if in.Memo != nil {
				if in.Memo.nodes == nil {
					in.Memo.nodes = map[string]*nodeMemo{}
				}
				in.Memo.nodes[n.Name] = &nodeMemo{pods: pods, refs: refs, set: in.Desired, content: c}
			}
		}
		c.Claims, c.Volumes, c.StorageClasses = claims, volumes, classes
		plan.Nodes[n.Name] = c
	}
	if in.Memo != nil {
		for node := range in.Memo.nodes {
			if _, ok := plan.Nodes[node]; !ok {
				delete(in.Memo.nodes, node)
			}
		}
	}
	plan.Routes = computeRoutes(in, &plan)
	return plan
}

// cutNode returns a node's pods (copies of pods) with the ConfigMaps and
// Secrets of set they reference, and those references as resolved.
func cutNode(set *manifests.Set, pods []*corev1.Pod) (NodeContent, []resolved) {
	var c NodeContent
	if len(pods) > 0 {
		c.Pods = make([]corev1.Pod, len(pods))
	}
	var cms, secrets []types.NamespacedName
	for i, p := range pods {
		c.Pods[i] = *p
		refs(&p.Spec, func(kind, name string) {
			key := types.NamespacedName{Namespace: p.Namespace, Name: name}
			if kind == "ConfigMap" {
				cms = append(cms, key)
			} else {
				secrets = append(secrets, key)
			}
		})
	}
	cms, secrets = sortedUnique(cms), sortedUnique(secrets)
	out := make([]resolved, 0, len(cms)+len(secrets))
	for _, key := range cms {
		obj := set.Get("ConfigMap", key.Namespace, key.Name)
		out = append(out, resolved{"ConfigMap", key, obj})
		if cm, ok := obj.(*corev1.ConfigMap); ok {
			if c.ConfigMaps == nil {
				c.ConfigMaps = make([]corev1.ConfigMap, 0, len(cms))
			}
			c.ConfigMaps = append(c.ConfigMaps, *cm)
		}
	}
	for _, key := range secrets {
		obj := set.Get("Secret", key.Namespace, key.Name)
		out = append(out, resolved{"Secret", key, obj})
		if s, ok := obj.(*corev1.Secret); ok {
			if c.Secrets == nil {
				c.Secrets = make([]corev1.Secret, 0, len(secrets))
			}
			c.Secrets = append(c.Secrets, *s)
		}
	}
	return c, out
}

// DefaultReplaceAfter is used when Input.ReplaceAfter is zero: well under
// Kubernetes' five minutes, since a controller's pod can run elsewhere
// (a bare pod cannot; it waits for NodeLostAfter).
const DefaultReplaceAfter = time.Minute

// computeControllers runs the Deployment controller, then the ReplicaSet
// and ReplicationController controller over the ReplicaSets of Git and
// those of the Deployments, and the CronJob and Job controllers. A
// controller's pod is gone (replaced, or counted as a failure) when its
// node has been unseen for ReplaceAfter or is no longer a node.
func computeControllers(in Input) (replicas.Plan, deployments.Plan, jobs.Plan, cronjobs.Plan) {
	var ctrls []replicas.Controller
	for _, r := range manifests.Of[*appsv1.ReplicaSet](in.Desired) {
		n := int32(1)
		if r.Spec.Replicas != nil {
			n = *r.Spec.Replicas
		}
		c := replicas.Controller{Kind: "ReplicaSet", APIVersion: "apps/v1",
			Namespace: r.Namespace, Name: r.Name, Replicas: n, Template: &r.Spec.Template, KeepTemplates: true}
		if sel, err := metav1.LabelSelectorAsSelector(r.Spec.Selector); err == nil && r.Spec.Selector != nil {
			c.Selector = sel
		}
		ctrls = append(ctrls, c)
	}
	for _, r := range manifests.Of[*corev1.ReplicationController](in.Desired) {
		if r.Spec.Template == nil {
			continue
		}
		n := int32(1)
		if r.Spec.Replicas != nil {
			n = *r.Spec.Replicas
		}
		c := replicas.Controller{Kind: "ReplicationController", APIVersion: "v1",
			Namespace: r.Namespace, Name: r.Name, Replicas: n, Template: r.Spec.Template, KeepTemplates: true}
		if len(r.Spec.Selector) > 0 {
			c.Selector = labels.SelectorFromSet(r.Spec.Selector)
		}
		ctrls = append(ctrls, c)
	}
	lostAfter := in.NodeLostAfter
	if lostAfter <= 0 {
		lostAfter = placement.DefaultNodeLostAfter
	}
	replaceAfter := in.ReplaceAfter
	if replaceAfter <= 0 {
		replaceAfter = DefaultReplaceAfter
	}
	replaceAfter = min(replaceAfter, lostAfter)
	lastSeen := make(map[string]time.Time, len(in.Nodes))
	npods := 0
	for _, n := range in.Nodes {
		lastSeen[n.Name] = n.LastSeen
		npods += len(n.Pods)
	}
	actual := make(map[types.NamespacedName]*corev1.Pod, npods)
	for _, n := range in.Nodes {
		for i := range n.Pods {
			p := &n.Pods[i]
			actual[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}] = p
		}
	}
	gone := map[types.NamespacedName]bool{}
	for key, node := range in.Placements {
		seen, ok := lastSeen[node]
		if !ok || in.Now.Sub(seen) >= replaceAfter {
			gone[key] = true
		}
	}
	reported := make([]*corev1.Pod, 0, npods)
	for _, n := range in.Nodes {
		if !n.Live {
			continue
		}
		for i := range n.Pods {
			reported = append(reported, &n.Pods[i])
		}
	}
	var (
		dmemo *deployments.Memo
		rmemo *replicas.Memo
		cmemo *cronjobs.Memo
		jmemo *jobs.Memo
	)
	if m := in.Memo; m != nil {
		dmemo, rmemo, cmemo, jmemo = &m.deployments, &m.replicas, &m.cronJobs, &m.jobs
	}
	dplan := deployments.Compute(deployments.Input{
		Deployments: manifests.Of[*appsv1.Deployment](in.Desired),
		Sets:        in.DeploymentSets, Actual: reported, Now: in.Now, Memo: dmemo,
	})
	ctrls = append(ctrls, dplan.Controllers...)
	rplan := replicas.Compute(replicas.Input{
		Controllers: ctrls, Owned: in.Owned, Seq: in.Seq,
		Actual: actual, Gone: gone, Templates: in.ReplicaTemplates, Now: in.Now, Memo: rmemo,
	})
	cplan := cronjobs.Compute(cronjobs.Input{
		CronJobs: manifests.Of[*batchv1.CronJob](in.Desired), States: in.CronStates,
		JobStates: in.JobStates, Now: in.Now, Memo: cmemo,
	})
	jplan := jobs.Compute(jobs.Input{
		Jobs: allJobs(in.Desired, cplan), States: in.JobStates,
		Actual: actual, Gone: gone, Now: in.Now, Memo: jmemo,
	})
	return rplan, dplan, jplan, cplan
}

// nodeReady reports whether a node record's Ready condition is True.
func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// allocateCIDRs gives every live node without one the first free pod CIDR
// of the cluster range. Allocations are never reused while in the ledger.
func allocateCIDRs(in Input, plan *Plan) {
	bits := in.NodeCIDRBits
	if bits == 0 {
		bits = 24
	}
	var need []string
	for _, n := range in.Nodes {
		if _, ok := in.PodCIDRs[n.Name]; !ok && n.Live {
			need = append(need, n.Name)
		}
	}
	if len(need) == 0 {
		return
	}
	sort.Strings(need)
	if !in.ClusterCIDR.IsValid() || !in.ClusterCIDR.Addr().Is4() || bits < in.ClusterCIDR.Bits() || bits > 30 {
		for _, n := range need {
			plan.CIDRErrors[n] = fmt.Sprintf("cluster CIDR %s cannot be cut into /%d pod CIDRs", in.ClusterCIDR, bits)
		}
		return
	}
	used := map[netip.Prefix]bool{}
	for _, c := range in.PodCIDRs {
		if p, err := netip.ParsePrefix(c); err == nil {
			used[p.Masked()] = true
		}
	}
	base := in.ClusterCIDR.Masked().Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	count := uint32(1) << (bits - in.ClusterCIDR.Bits())
	step := uint32(1) << (32 - bits)
	next := uint32(0)
	for _, n := range need {
		for ; next < count; next++ {
			a := start + next*step
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), bits)
			if !used[p] {
				used[p] = true
				plan.PodCIDRs[n] = p.String()
				break
			}
		}
		if _, ok := plan.PodCIDRs[n]; !ok {
			plan.CIDRErrors[n] = fmt.Sprintf("no free /%d left in cluster CIDR %s", bits, in.ClusterCIDR)
		}
	}
}

// refs calls fn with every ConfigMap and Secret a pod spec names.
func refs(spec *corev1.PodSpec, fn func(kind, name string)) {
	for _, s := range spec.ImagePullSecrets {
		fn("Secret", s.Name)
	}
	for _, v := range spec.Volumes {
		switch {
		case v.ConfigMap != nil:
			fn("ConfigMap", v.ConfigMap.Name)
		case v.Secret != nil:
			fn("Secret", v.Secret.SecretName)
		case v.Projected != nil:
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					fn("ConfigMap", s.ConfigMap.Name)
				}
				if s.Secret != nil {
					fn("Secret", s.Secret.Name)
				}
			}
		}
	}
	env := func(c *corev1.Container) {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				fn("ConfigMap", e.ConfigMapRef.Name)
			}
			if e.SecretRef != nil {
				fn("Secret", e.SecretRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
				fn("ConfigMap", r.Name)
			}
			if r := e.ValueFrom.SecretKeyRef; r != nil {
				fn("Secret", r.Name)
			}
		}
	}
	for i := range spec.InitContainers {
		env(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		env(&spec.Containers[i])
	}
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[types.NamespacedName]V) []types.NamespacedName {
	out := make([]types.NamespacedName, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return sortedUnique(out)
}

// sortedUnique sorts keys by namespace and name and drops repeats, in
// place.
func sortedUnique(keys []types.NamespacedName) []types.NamespacedName {
	slices.SortFunc(keys, func(a, b types.NamespacedName) int {
		if x := strings.Compare(a.Namespace, b.Namespace); x != 0 {
			return x
		}
		return strings.Compare(a.Name, b.Name)
	})
	return slices.Compact(keys)
}
