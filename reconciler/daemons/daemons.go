// Package daemons is the DaemonSet controller as a pure function:
// Compute(Input) Plan: one pod of each DaemonSet on every node its
// template's nodeSelector and required node affinity accept.
//
// A daemon pod is bound to its node (spec.nodeName), so it runs there
// whatever the node's state, cordoned (spec.unschedulable) included, as in
// Kubernetes, where DaemonSet pods tolerate the node-state taints. A node
// that is lost (unseen for NodeLostAfter) gets no pod: its pod leaves the
// desired state, and comes back when the node does. A node that joins gets
// its pod on the leader's next step. Pod names are "<daemonset>-<5
// characters>" from a hash of the DaemonSet and the node, the same on every
// leader.
//
// # Rolling updates
//
// Pods carry the controller-revision-hash label of their template. When
// the template changes, updateStrategy RollingUpdate (the default) moves
// nodes to the new template a few at a time: a node whose pod runs an old
// template is updated only while fewer than maxUnavailable (default 1;
// a number or a percentage of the nodes, rounded up) of the DaemonSet's
// pods are unavailable (not Ready, or not reported yet); the others keep
// their template, which the ledger keeps for them with the template each
// node was last given (Input.States, Plan.Put): a node whose new pod is not
// reported yet counts as unavailable, so an update never outruns the
// nodes' reports. OnDelete updates a node's pod only when it is gone (its node
// new, or the pod deleted). minReadySeconds counts in the status only
// (numberAvailable). Not done yet: maxSurge, minReadySeconds holding an
// update back.
package daemons

import (
	"encoding/json"
	"hash/fnv"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shoal-run/shoal/reconciler/internal/memo"
	"github.com/shoal-run/shoal/reconciler/internal/names"
	"github.com/shoal-run/shoal/reconciler/internal/podstatus"
	"github.com/shoal-run/shoal/reconciler/placement"
)

// HashLabel labels a daemon pod with its template's hash.
const HashLabel = "controller-revision-hash"

// Revision is a template a DaemonSet's pods may still run.
type Revision struct {
	Template corev1.PodTemplateSpec `json:"template"`
}

// State is a DaemonSet's ledger record: the templates its pods may still
// run, and the template each node was last given (a node whose pod is not
// reported yet keeps it, so that an update never outruns the reports).
type State struct {
	Revisions map[string]Revision `json:"revisions"`
	Nodes     map[string]string   `json:"nodes"`
	// Created is when the leader first saw the DaemonSet (Git objects
	// have no creation time of their own); records made before it was
	// kept get the time of the step that reads them.
	Created time.Time `json:"created,omitzero"`
}

// Input is everything Compute needs; it is not modified.
type Input struct {
	DaemonSets []*appsv1.DaemonSet
	// Nodes are the cluster's nodes with their labels (the repository's
	// Node objects merged) and when they were last seen.
	Nodes []placement.Node
	// Actual are the pods the nodes report.
	Actual []*corev1.Pod
	// States are the ledger's records, by DaemonSet key
	// ("namespace/name").
	States        map[string]State
	Now           time.Time
	NodeLostAfter time.Duration
	// Memo, if set, is what Compute remembers across calls; it changes no
	// result. The DaemonSets must then be objects that never change (those
	// of a manifests.Set).
	Memo *Memo
}

// Memo is what Compute remembers across the leader's steps: each
// DaemonSet's template hash and the pods made from its templates. The zero
// Memo is ready to use; it is not safe for concurrent use.
type Memo struct {
	hashes memo.Map[*corev1.PodTemplateSpec, string]
	pods   names.PodCache[string] // by DaemonSet key and template hash
}

// Plan is what Compute decided. Every map is non-nil.
type Plan struct {
	// Pods are every daemon pod, sorted by namespace and name.
	Pods []*corev1.Pod
	// Put are records to write, Delete the keys of records to remove.
	Put    map[string]State
	Delete []string
	// Status is each DaemonSet's status, by key, as Kubernetes counts it
	// from the nodes' reports: desired are the nodes that should run its
	// pod, current those of them that report one, misscheduled the other
	// nodes that report one; ready, available (Ready for
	// minReadySeconds) and updated (on the current template) count the
	// pods of the nodes that should run one.
	Status map[string]appsv1.DaemonSetStatus
}

// Key is a DaemonSet's key in Input.States.
func Key(d *appsv1.DaemonSet) string { return d.Namespace + "/" + d.Name }

// Compute returns every daemon pod and the template records to keep.
func Compute(in Input) Plan {
	plan := Plan{Put: map[string]State{}, Status: map[string]appsv1.DaemonSetStatus{}}
	lostAfter := in.NodeLostAfter
	if lostAfter <= 0 {
		lostAfter = placement.DefaultNodeLostAfter
	}
	// Reported daemon pods by DaemonSet key and node.
	reported := map[string]map[string]*corev1.Pod{}
	for _, p := range in.Actual {
		if len(p.OwnerReferences) == 0 || p.OwnerReferences[0].Kind != "DaemonSet" {
			continue
		}
		k := p.Namespace + "/" + p.OwnerReferences[0].Name
		if reported[k] == nil {
			reported[k] = map[string]*corev1.Pod{}
		}
		reported[k][p.Spec.NodeName] = p
	}
	known := map[string]bool{}
	var hashes *memo.Map[*corev1.PodTemplateSpec, string]
	var pods *names.PodCache[string]
	if in.Memo != nil {
		hashes, pods = &in.Memo.hashes, &in.Memo.pods
		defer hashes.EndStep()
		defer pods.EndStep()
	}
	for _, ds := range in.DaemonSets {
		key := Key(ds)
		known[key] = true
		cur := hashes.Get(&ds.Spec.Template, func() string { return TemplateHash(&ds.Spec.Template) })
		old := in.States[key]
		st := State{Revisions: map[string]Revision{}, Nodes: map[string]string{}, Created: old.Created}
		if st.Created.IsZero() {
			st.Created = in.Now
		}
		// The templates the pods may run, by hash, with their pods'
		// owner in the memo (a daemon pod depends on its DaemonSet's
		// namespace and name, the template and its hash, and the node).
		revs := make(map[string]*revision, len(old.Revisions)+1)
		for h, r := range old.Revisions {
			revs[h] = &revision{r, key + "#" + h}
		}
		if _, ok := revs[cur]; !ok {
			revs[cur] = &revision{Revision{Template: *ds.Spec.Template.DeepCopy()}, key + "#" + cur}
		}
		var nodes []*placement.Node
		for i := range in.Nodes {
			n := &in.Nodes[i]
			if in.Now.Sub(n.LastSeen) < lostAfter && placement.MatchesNode(&ds.Spec.Template.Spec, n) {
				nodes = append(nodes, n)
			}
		}
		sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
		onDelete := ds.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType
		// running is the template each node runs or is moving to: as last
		// given, else as reported (records lost); "" for a node that has
		// none.
		running := func(node string) string {
			if h := old.Nodes[node]; h != "" {
				return h
			}
			if p := reported[key][node]; p != nil {
				return p.Labels[HashLabel]
			}
			return ""
		}
		budget := maxUnavailable(ds, len(nodes))
		for _, n := range nodes {
			if p := reported[key][n.Name]; p == nil || !podstatus.Ready(p) || p.Labels[HashLabel] != old.Nodes[n.Name] && old.Nodes[n.Name] != "" {
				budget-- // not Ready, not reported, or not yet on what it was given
			}
		}
		for _, n := range nodes {
			hash := cur
			if was := running(n.Name); was != "" && was != cur {
				_, have := revs[was]
				p := reported[key][n.Name]
				switch {
				case !have:
					// An unknown template (records lost): update.
				case onDelete:
					hash = was
				case budget > 0 && p != nil && podstatus.Ready(p) && p.Labels[HashLabel] == was:
					budget-- // this node's pod goes unavailable while it updates
				default:
					hash = was
				}
			}
			rev := revs[hash]
			st.Nodes[n.Name] = hash
			st.Revisions[hash] = rev.Revision
			plan.Pods = append(plan.Pods, pods.Pod(rev.owner, &rev.Template, n.Name, func() *corev1.Pod {
				return podFor(ds, n.Name, hash, rev.Revision)
			}))
		}
		if _, ok := st.Revisions[cur]; !ok {
			st.Revisions[cur] = revs[cur].Revision
		}
		if !equalState(old, st) {
			plan.Put[key] = st
		}
		plan.Status[key] = status(ds, cur, nodes, reported[key], in.Now)
	}
	for key := range in.States {
		if !known[key] {
			plan.Delete = append(plan.Delete, key)
		}
	}
	sort.Strings(plan.Delete)
	names.SortPods(plan.Pods)
	return plan
}

// status counts a DaemonSet's pods (reported, by node) on the nodes that
// should run one, cur being its current template's hash.
func status(ds *appsv1.DaemonSet, cur string, nodes []*placement.Node, reported map[string]*corev1.Pod, now time.Time) appsv1.DaemonSetStatus {
	st := appsv1.DaemonSetStatus{DesiredNumberScheduled: int32(len(nodes))}
	minReady := time.Duration(ds.Spec.MinReadySeconds) * time.Second
	should := map[string]bool{}
	for _, n := range nodes {
		should[n.Name] = true
		p := reported[n.Name]
		if p == nil {
			continue
		}
		st.CurrentNumberScheduled++
		if p.Labels[HashLabel] == cur {
			st.UpdatedNumberScheduled++
		}
		if podstatus.Ready(p) {
			st.NumberReady++
			if podstatus.Available(p, minReady, now) {
				st.NumberAvailable++
			}
		}
	}
	for node := range reported {
		if !should[node] {
			st.NumberMisscheduled++
		}
	}
	st.NumberUnavailable = max(0, st.DesiredNumberScheduled-st.NumberAvailable)
	return st
}

// revision is a template a DaemonSet's pods may run, with the key of its
// pods in a Memo.
type revision struct {
	Revision
	owner string
}

// equalState compares records by the template hashes they keep, the
// nodes' assignments (a hash names one template) and the creation time.
func equalState(a, b State) bool {
	if len(a.Revisions) != len(b.Revisions) || len(a.Nodes) != len(b.Nodes) || !a.Created.Equal(b.Created) {
		return false
	}
	for h := range a.Revisions {
		if _, ok := b.Revisions[h]; !ok {
			return false
		}
	}
	for n, h := range a.Nodes {
		if b.Nodes[n] != h {
			return false
		}
	}
	return true
}

// maxUnavailable resolves the rolling update's maxUnavailable (default 1;
// a percentage of the nodes rounds up, and is at least 1).
func maxUnavailable(ds *appsv1.DaemonSet, nodes int) int {
	v := intstr.FromInt32(1)
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		v = *ru.MaxUnavailable
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(&v, nodes, true)
	if err != nil || n < 1 {
		n = 1
	}
	return n
}

func podFor(ds *appsv1.DaemonSet, node, hash string, rev Revision) *corev1.Pod {
	key := "DaemonSet/" + ds.Namespace + "/" + ds.Name
	t := rev.Template
	labels := map[string]string{}
	for k, v := range t.Labels {
		labels[k] = v
	}
	labels[HashLabel] = hash
	t.Labels = labels
	p := names.Pod(&t, ds.Namespace, ds.Name+"-"+names.Suffix(key+"@"+node), "apps/v1", "DaemonSet", ds.Name)
	p.Spec.NodeName = node
	return p
}

// TemplateHash is a short, stable hash of a pod template.
func TemplateHash(t *corev1.PodTemplateSpec) string {
	data, _ := json.Marshal(t)
	h := fnv.New32a()
	h.Write(data)
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}
