package reconciler

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/policies/admission"
	"github.com/shoal-run/shoal/reconciler/internal/memo"
)

// ReasonForbidden is the reason a bare pod of Git that a LimitRange or a
// ResourceQuota refuses is shown Pending with.
const ReasonForbidden = "Forbidden"

// Pod origins, for the gate.
const (
	fromGit = iota
	fromReplicas
	fromJob
	fromDaemon
	fromRelease // let go by its controller: runs as it is
)

// candidate is a pod of the step that admission decides on.
type candidate struct {
	pod    *corev1.Pod
	origin int
	owner  string // the controller's key, "Kind/namespace/name"
	// out is the pod to run (LimitRange defaults applied); nil when
	// refused.
	out *corev1.Pod
}

// nsRanges are the LimitRanges of one namespace, as one value that memo
// keys can hold: the same pointer while the list is the same.
type nsRanges struct{ list []*corev1.LimitRange }

// limited is ApplyLimitRange's answer for one pod.
type limited struct {
	pod *corev1.Pod
	vs  []admission.Violation
}

type limitKey struct {
	pod    *corev1.Pod
	ranges *nsRanges
}

// gateMemo is what the gate remembers across steps: each namespace's
// LimitRanges and the pods they defaulted, so that a pod keeps its
// pointer (and placement and node contents their caches) while nothing
// changes.
type gateMemo struct {
	ranges map[string]*nsRanges
	pods   memo.Map[limitKey, limited]
	usage  memo.Map[usageKey, admission.Usage]
}

// usageKey identifies a pod's quota usage: its (defaulted) spec, and
// whether its node reports it finished.
type usageKey struct {
	pod      *corev1.Pod
	finished bool
}

// admitPods runs the desired state's LimitRanges and ResourceQuotas over
// the step's pods, as Kubernetes' LimitRanger and ResourceQuota admission
// plugins run over the pods its controllers create. It is the identity,
// at no cost, for a desired state with neither.
//
// Every pod gets the LimitRange defaults of its namespace, computed from
// the LimitRanges in force (so a LimitRange edit changes the pods' specs:
// see docs/SUPPORT.md). Pods that exist — a bare pod placed or reported by
// a node, a controller's pod recorded in the ledger before this step (a
// DaemonSet's: reported), a quarantined or released one — are counted
// toward the quotas first and never refused. The pods this step would
// create are then admitted one by one, by namespace and name: a pod that a
// LimitRange's bounds or a quota refuses is not created. A controller's
// record of it is dropped from the step's plan (its name sequence is not
// advanced when none of its pods was admitted, so the next step tries the
// same name), its status does not count it, and Plan.FailedCreate gives
// the controller the API server's message; a bare pod of Git stays
// Pending, in Plan.Forbidden. Plan.Quotas is every quota's usage after.
//
// bare are the desired state's bare pods; it returns them as they run.
func admitPods(in Input, plan *Plan, bare []*corev1.Pod, reported []*corev1.Pod) []*corev1.Pod {
	var gm *gateMemo
	var usages *memo.Map[usageKey, admission.Usage]
	if in.Memo != nil {
		gm = &in.Memo.gate
		usages = &gm.usage
		defer gm.pods.EndStep()
		defer gm.usage.EndStep()
	}
	lrs := manifests.Of[*corev1.LimitRange](in.Desired)
	rqs := manifests.Of[*corev1.ResourceQuota](in.Desired)
	if len(lrs) == 0 && len(rqs) == 0 {
		if gm != nil {
			gm.ranges = nil
		}
		return bare
	}
	ranges := rangesByNamespace(lrs, gm)
	quotaNS := map[string]bool{}
	for _, q := range rqs {
		quotaNS[q.Namespace] = true
	}
	quotas := admission.NewQuotas(rqs)
	actual := make(map[types.NamespacedName]*corev1.Pod, len(reported))
	for _, p := range reported {
		actual[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}] = p
	}
	limit := func(p *corev1.Pod) limited {
		r := ranges[p.Namespace]
		if r == nil {
			return limited{pod: p}
		}
		var pods *memo.Map[limitKey, limited]
		if gm != nil {
			pods = &gm.pods
		}
		return pods.Get(limitKey{p, r}, func() limited {
			out, vs := admission.ApplyLimitRange(p, r.list)
			return limited{out, vs}
		})
	}

	// Every pod of the step, with where it comes from and whether it
	// exists already.
	var all, fresh []*candidate
	add := func(p *corev1.Pod, origin int, owner string, exists bool) {
		c := &candidate{pod: p, origin: origin, owner: owner}
		all = append(all, c)
		if !exists {
			fresh = append(fresh, c)
			return
		}
		l := limit(p)
		c.out = l.pod
		if quotaNS[p.Namespace] {
			a := actual[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}]
			finished := a != nil && (a.Status.Phase == corev1.PodSucceeded || a.Status.Phase == corev1.PodFailed)
			quotas.AddUsage(l.pod, usages.Get(usageKey{l.pod, finished}, func() admission.Usage {
				if !finished {
					return admission.PodUsage(l.pod)
				}
				q := *l.pod
				q.Status.Phase = a.Status.Phase
				return admission.PodUsage(&q)
			}))
		}
	}
	for _, p := range bare {
		key := types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
		_, placed := in.Placements[key]
		add(p, fromGit, "", placed || actual[key] != nil)
	}
	for _, p := range plan.Replicas.Pods {
		key := types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
		o, created := plan.Replicas.Create[key]
		add(p, fromReplicas, o.Owner, !created)
	}
	for _, p := range plan.Jobs.Pods {
		jkey := p.Namespace + "/" + ownerName(p)
		old := in.JobStates[jkey]
		_, put := plan.Jobs.Put[jkey]
		add(p, fromJob, "Job/"+jkey, !put || slices.Contains(old.Active, p.Name) || slices.Contains(old.Finished, p.Name))
	}
	for _, key := range sortedKeys(plan.Replicas.Release) {
		if _, ok := in.Quarantined[key]; !ok {
			add(plan.Replicas.Release[key], fromRelease, "", true)
		}
	}
	for _, p := range plan.Daemons.Pods {
		key := types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
		add(p, fromDaemon, "DaemonSet/"+p.Namespace+"/"+ownerName(p), actual[key] != nil)
	}
	for _, p := range in.Quarantined {
		if quotaNS[p.Namespace] {
			if a := actual[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}]; a != nil {
				p.Status.Phase = a.Status.Phase
			}
			quotas.Add(&p)
		}
	}

	// The pods to create, in a fixed order.
	slices.SortStableFunc(fresh, func(a, b *candidate) int {
		if x := strings.Compare(a.pod.Namespace, b.pod.Namespace); x != 0 {
			return x
		}
		return strings.Compare(a.pod.Name, b.pod.Name)
	})
	refusedBy := map[string]int{} // pods refused, by controller
	for _, c := range fresh {
		l := limit(c.pod)
		vs := l.vs
		if len(vs) == 0 && quotaNS[c.pod.Namespace] {
			vs = quotas.Admit(l.pod)
		}
		if len(vs) == 0 {
			c.out = l.pod
			continue
		}
		msg := admission.Forbidden(c.pod.Name, vs)
		key := types.NamespacedName{Namespace: c.pod.Namespace, Name: c.pod.Name}
		if c.origin == fromGit {
			plan.Forbidden[key] = msg
			continue
		}
		refusedBy[c.owner]++
		if _, ok := plan.FailedCreate[c.owner]; !ok {
			plan.FailedCreate[c.owner] = msg
		}
		switch c.origin {
		case fromReplicas:
			delete(plan.Replicas.Create, key)
			st := plan.Replicas.Status[c.owner]
			st.Replicas--
			plan.Replicas.Status[c.owner] = st
		case fromJob:
			jkey := strings.TrimPrefix(c.owner, "Job/")
			st := plan.Jobs.Put[jkey]
			st.Active = slices.DeleteFunc(slices.Clone(st.Active), func(n string) bool { return n == c.pod.Name })
			plan.Jobs.Put[jkey] = st
			js := plan.Jobs.Status[jkey]
			js.Active--
			plan.Jobs.Status[jkey] = js
		}
	}
	// A controller none of whose new pods was admitted keeps its name
	// sequence, so that it tries the same names (and messages) again.
	for owner, n := range refusedBy {
		switch {
		case strings.HasPrefix(owner, "Job/"):
			jkey := strings.TrimPrefix(owner, "Job/")
			if n == newJobPods(in, plan, jkey, n) {
				st := plan.Jobs.Put[jkey]
				st.Seq = in.JobStates[jkey].Seq
				if st.Spec != in.JobStates[jkey].Spec {
					st.Seq = 0
				}
				plan.Jobs.Put[jkey] = st
			}
		default:
			if _, ok := plan.Replicas.Seq[owner]; ok && !createsOf(plan, owner) {
				delete(plan.Replicas.Seq, owner)
			}
		}
	}

	// The pods as they run, refused ones out.
	out := make([]*corev1.Pod, 0, len(bare))
	var rs, js, ds []*corev1.Pod
	for _, c := range all {
		if c.out == nil {
			continue
		}
		switch c.origin {
		case fromGit:
			out = append(out, c.out)
		case fromReplicas:
			rs = append(rs, c.out)
		case fromJob:
			js = append(js, c.out)
		case fromDaemon:
			ds = append(ds, c.out)
		case fromRelease:
			plan.Replicas.Release[types.NamespacedName{Namespace: c.pod.Namespace, Name: c.pod.Name}] = c.out
		}
	}
	plan.Replicas.Pods, plan.Jobs.Pods, plan.Daemons.Pods = rs, js, ds
	plan.Quotas = quotas.Status()
	return out
}

// rangesByNamespace groups LimitRanges by namespace, keeping a
// namespace's value from the memo while its list is the same.
func rangesByNamespace(lrs []*corev1.LimitRange, gm *gateMemo) map[string]*nsRanges {
	lists := map[string][]*corev1.LimitRange{}
	for _, lr := range lrs {
		lists[lr.Namespace] = append(lists[lr.Namespace], lr)
	}
	out := make(map[string]*nsRanges, len(lists))
	for ns, list := range lists {
		if gm != nil {
			if old := gm.ranges[ns]; old != nil && slices.Equal(old.list, list) {
				out[ns] = old
				continue
			}
		}
		out[ns] = &nsRanges{list: list}
	}
	if gm != nil {
		gm.ranges = out
	}
	return out
}

// ownerName is the name of a pod's controller (its first ownerReference).
func ownerName(p *corev1.Pod) string {
	if len(p.OwnerReferences) == 0 {
		return ""
	}
	return p.OwnerReferences[0].Name
}

// newJobPods counts the pods a Job's step would have created (refused
// ones included): its Active pods that its old state did not have, plus
// the refused already taken out.
func newJobPods(in Input, plan *Plan, jkey string, refused int) int {
	old := in.JobStates[jkey]
	n := refused
	for _, name := range plan.Jobs.Put[jkey].Active {
		if !slices.Contains(old.Active, name) && !slices.Contains(old.Finished, name) {
			n++
		}
	}
	return n
}

// createsOf reports whether a controller still creates a pod this step.
func createsOf(plan *Plan, owner string) bool {
	for _, o := range plan.Replicas.Create {
		if o.Owner == owner {
			return true
		}
	}
	return false
}
