// Package replicas is the ReplicaSet and ReplicationController controller
// as a pure function: Compute(Input) Plan, with the clock in Input.Now.
//
// shoal has no API server to hold the pods a controller made: the pods a
// controller owns are records in the replicated ledger (Input.Owned), so a
// new leader carries on with the same pods. Compute keeps each controller's
// count of live records equal to its replicas: it makes new pod names when
// there are too few and chooses which records to delete when there are too
// many, and it replaces a pod that ended (Failed or Succeeded) or whose node
// was lost (Input.Gone). The caller records Plan.Create and Plan.Delete in
// the ledger, and places Plan.Pods like bare pods (they carry an
// ownerReference, which placement spreads by).
//
// # Rules
//
//   - A pod is made from the controller's current template: its labels and
//     annotations, its spec, the name "<controller>-<5 characters>" (as the
//     Kubernetes name generator), the controller's namespace, and a
//     controller ownerReference. Names come from a per-controller sequence
//     (Input.Seq, advanced in Plan.Seq) hashed with the controller's
//     identity, so the same input gives the same names.
//   - Scaling down deletes, in order: pods no node reports yet, pods not
//     Ready, then the most recently created, as the ReplicaSet controller
//     prefers.
//   - A controller that leaves the desired state has all its records
//     deleted (its pods stop).
//   - A template change in Git leaves the pods already made as they are,
//     as a Kubernetes ReplicaSet does: only new pods take the new
//     template. For that, each record names the template its pod was made
//     from (Owned.Template, a hash), and the templates still in use are
//     kept in the ledger (Input.Templates, Plan.PutTemplates,
//     Plan.DeleteTemplates). A Deployment's ReplicaSets need none of this:
//     their template never changes (Controller.KeepTemplates false).
//   - A pod whose labels stop matching its controller's selector (the
//     selector changed in Git) is let go, as Kubernetes orphans it: it
//     leaves Plan.Pods for Plan.Release, without its ownerReference, and
//     the controller makes a replacement. The caller keeps released pods
//     running until they are deleted (`shoal delete pod`).
package replicas

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/reconciler/internal/names"
	"github.com/shoal-run/shoal/reconciler/internal/podstatus"
)

// Owned is the ledger record of a pod a controller made.
type Owned struct {
	// Owner is the controller's key, "Kind/namespace/name".
	Owner string `json:"owner"`
	// Created is when the record was made.
	Created time.Time `json:"created"`
	// Template is the hash of the template the pod was made from, for a
	// controller that keeps its templates ("" otherwise: the controller's
	// current one).
	Template string `json:"template,omitempty"`
}

// Controller is a ReplicaSet or ReplicationController of the desired
// state, reduced to what the controller needs.
type Controller struct {
	Kind, APIVersion string
	Namespace, Name  string
	Replicas         int32
	Template         *corev1.PodTemplateSpec
	// Selector picks the controller's pods; a pod whose labels it does
	// not match is let go. Nil matches every pod.
	Selector labels.Selector
	// KeepTemplates says the template may change in Git (a ReplicaSet or
	// ReplicationController of the repository): the pods already made
	// keep the template they were made from.
	KeepTemplates bool
	// MinReadySeconds is how long a pod must have been Ready to count as
	// available (Status.AvailableReplicas).
	MinReadySeconds int32
}

// Key is the controller's key in Owned.Owner.
func (c *Controller) Key() string { return c.Kind + "/" + c.Namespace + "/" + c.Name }

// UID is the controller's stable identity: shoal's objects come from Git
// and have no server-made UID, so it is derived from kind, namespace and
// name.
func (c *Controller) UID() types.UID { return names.ControllerUID(c.Key()) }

// Input is everything Compute needs; it is not modified.
type Input struct {
	Controllers []Controller
	// Owned are the ledger's records, by pod.
	Owned map[types.NamespacedName]Owned
	// Seq is each controller's name sequence (by key), from the ledger.
	Seq map[string]uint64
	// Actual are the pods the nodes report, by pod.
	Actual map[types.NamespacedName]*corev1.Pod
	// Gone are pods whose node is lost: they are replaced.
	Gone map[types.NamespacedName]bool
	// Templates are the ledger's templates of controllers that keep
	// theirs: controller key -> template hash -> template.
	Templates map[string]map[string]corev1.PodTemplateSpec
	Now       time.Time
	// Memo, if set, is what Compute remembers across calls; it changes no
	// result.
	Memo *Memo
}

// Memo is what Compute remembers across the leader's steps: the pods made
// from each controller's template, while the template stays equal. The
// zero Memo is ready to use; it is not safe for concurrent use.
type Memo struct {
	pods names.PodCache[podOwner]
}

// podOwner is what a controller's pods depend on but their template and
// name (names.Pod): its API version and key, and the hash of a kept
// template they run ("" for the controller's current one).
type podOwner struct{ apiVersion, key, template string }

// Status is a controller's replica counts, as Kubernetes reports them in
// a ReplicaSet's or ReplicationController's status: Replicas are its pods
// (reported by a node or not yet), ReadyReplicas those whose Ready
// condition is True, AvailableReplicas those Ready for MinReadySeconds.
type Status struct {
	Replicas, ReadyReplicas, AvailableReplicas int32
}

// Plan is what Compute decided. Every map is non-nil.
type Plan struct {
	// Pods are every controller pod to run, sorted by namespace and name.
	Pods []*corev1.Pod
	// Create are new records; Delete records to remove, sorted.
	Create map[types.NamespacedName]Owned
	Delete []types.NamespacedName
	// Seq are the controllers' advanced sequences (only those that moved).
	Seq map[string]uint64
	// Status by controller key.
	Status map[string]Status
	// PutTemplates are templates to record and DeleteTemplates those no
	// pod uses any more, as controller key -> hash.
	PutTemplates    map[string]map[string]corev1.PodTemplateSpec
	DeleteTemplates map[string][]string
	// Release are pods let go by their controller, as they run without
	// their ownerReference; their records are in Delete.
	Release map[types.NamespacedName]*corev1.Pod
}

// Compute keeps every controller's pods at its replica count.
func Compute(in Input) Plan {
	plan := Plan{
		Create: map[types.NamespacedName]Owned{},
		Seq:    map[string]uint64{},
		Status: map[string]Status{},

		PutTemplates:    map[string]map[string]corev1.PodTemplateSpec{},
		DeleteTemplates: map[string][]string{},
		Release:         map[types.NamespacedName]*corev1.Pod{},
	}
	// The records of each owner, and whether it is a controller of the
	// input.
	type records struct {
		keys  []types.NamespacedName
		known bool
	}
	byOwner := make(map[string]*records, len(in.Controllers))
	for key, o := range in.Owned {
		r := byOwner[o.Owner]
		if r == nil {
			r = &records{}
			byOwner[o.Owner] = r
		}
		r.keys = append(r.keys, key)
	}
	// taken are the names in use, new ones included, once a name is made.
	var taken map[types.NamespacedName]bool
	type keyed struct {
		c   *Controller
		key string
	}
	ctrls := make([]keyed, len(in.Controllers))
	for i := range in.Controllers {
		ctrls[i] = keyed{&in.Controllers[i], in.Controllers[i].Key()}
	}
	sort.Slice(ctrls, func(i, j int) bool { return ctrls[i].key < ctrls[j].key })
	npods := 0
	for i := range in.Controllers {
		npods += max(0, int(in.Controllers[i].Replicas))
	}
	if npods > 0 {
		plan.Pods = make([]*corev1.Pod, 0, npods)
	}
	var pods *names.PodCache[podOwner]
	if in.Memo != nil {
		pods = &in.Memo.pods
		defer pods.EndStep()
	}
	for _, kc := range ctrls {
		c, ckey := kc.c, kc.key
		cur := ""
		if c.KeepTemplates {
			cur = names.TemplateHash(c.Template)
		}
		var live []types.NamespacedName
		var owned []types.NamespacedName
		if r := byOwner[ckey]; r != nil {
			r.known, owned = true, r.keys
		}
		for _, key := range owned {
			if p := in.Actual[key]; in.Gone[key] || (p != nil && podstatus.Terminal(p)) {
				plan.Delete = append(plan.Delete, key)
				continue
			}
			if t, _ := templateOf(c, in.Owned[key], in.Templates); c.Selector != nil && !c.Selector.Matches(labels.Set(t.Labels)) {
				pod := names.Pod(t, c.Namespace, key.Name, c.APIVersion, c.Kind, c.Name)
				pod.OwnerReferences = nil
				plan.Release[key] = pod
				plan.Delete = append(plan.Delete, key)
				continue
			}
			live = append(live, key)
		}
		want := int(c.Replicas)
		if len(live) > want {
			sortForDeletion(live, in)
			plan.Delete = append(plan.Delete, live[want:]...)
			live = live[:want]
		}
		seq := in.Seq[ckey]
		if len(live) < want && taken == nil {
			taken = make(map[types.NamespacedName]bool, len(in.Owned))
			for key := range in.Owned {
				taken[key] = true
			}
		}
		for len(live) < want {
			seq++
			name := c.Name + "-" + names.Suffix(fmt.Sprintf("%s#%d", c.UID(), seq))
			if taken[types.NamespacedName{Namespace: c.Namespace, Name: name}] {
				continue
			}
			key := types.NamespacedName{Namespace: c.Namespace, Name: name}
			taken[key] = true
			plan.Create[key] = Owned{Owner: ckey, Created: in.Now, Template: cur}
			live = append(live, key)
		}
		if seq != in.Seq[ckey] {
			plan.Seq[ckey] = seq
		}
		st := Status{Replicas: int32(len(live))}
		minReady := time.Duration(c.MinReadySeconds) * time.Second
		used := map[string]bool{}
		for _, key := range live {
			o, ok := plan.Create[key]
			if !ok {
				o = in.Owned[key]
			}
			if o.Template != "" {
				used[o.Template] = true
			}
			t, kept := templateOf(c, o, in.Templates)
			owner := podOwner{apiVersion: c.APIVersion, key: ckey}
			if kept {
				owner.template = o.Template
			}
			plan.Pods = append(plan.Pods, pods.Pod(owner, t, key.Name, func() *corev1.Pod {
				return names.Pod(t, c.Namespace, key.Name, c.APIVersion, c.Kind, c.Name)
			}))
			if p := in.Actual[key]; p != nil && podstatus.Ready(p) {
				st.ReadyReplicas++
				if podstatus.Available(p, minReady, in.Now) {
					st.AvailableReplicas++
				}
			}
		}
		plan.Status[ckey] = st
		if used[cur] {
			if _, ok := in.Templates[ckey][cur]; !ok {
				plan.PutTemplates[ckey] = map[string]corev1.PodTemplateSpec{cur: *c.Template}
			}
		}
		for h := range in.Templates[ckey] {
			if !used[h] {
				plan.DeleteTemplates[ckey] = append(plan.DeleteTemplates[ckey], h)
			}
		}
		sort.Strings(plan.DeleteTemplates[ckey])
	}
	if len(in.Templates) > 0 {
		known := make(map[string]bool, len(ctrls))
		for _, kc := range ctrls {
			known[kc.key] = true
		}
		for key, ts := range in.Templates {
			if known[key] {
				continue
			}
			for h := range ts {
				plan.DeleteTemplates[key] = append(plan.DeleteTemplates[key], h)
			}
			sort.Strings(plan.DeleteTemplates[key])
		}
	}
	for _, r := range byOwner {
		if !r.known {
			plan.Delete = append(plan.Delete, r.keys...)
		}
	}
	names.SortPods(plan.Pods)
	sortKeys(plan.Delete)
	return plan
}

// sortForDeletion orders a controller's pods: the ones to keep first.
// Deleted first (so last here): not reported by a node, not Ready, newest.
func sortForDeletion(keys []types.NamespacedName, in Input) {
	rank := func(key types.NamespacedName) int {
		p := in.Actual[key]
		switch {
		case p == nil:
			return 2
		case !podstatus.Ready(p):
			return 1
		}
		return 0
	}
	sort.SliceStable(keys, func(i, j int) bool {
		ri, rj := rank(keys[i]), rank(keys[j])
		if ri != rj {
			return ri < rj
		}
		ci, cj := in.Owned[keys[i]].Created, in.Owned[keys[j]].Created
		if !ci.Equal(cj) {
			return ci.Before(cj)
		}
		return keys[i].Name < keys[j].Name
	})
}

// templateOf returns the template the pod of record o runs: the one it was
// made from when the controller keeps templates and the ledger still has
// it (kept true), else the controller's current one.
func templateOf(c *Controller, o Owned, kept map[string]map[string]corev1.PodTemplateSpec) (*corev1.PodTemplateSpec, bool) {
	if !c.KeepTemplates || o.Template == "" {
		return c.Template, false
	}
	if t, ok := kept[c.Key()][o.Template]; ok {
		return &t, true
	}
	return c.Template, false
}

func sortKeys(keys []types.NamespacedName) {
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Namespace != keys[j].Namespace {
			return keys[i].Namespace < keys[j].Namespace
		}
		return keys[i].Name < keys[j].Name
	})
}
