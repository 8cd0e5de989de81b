package reconciler

import (
	"context"
	"maps"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/reconciler/daemons"
	"github.com/shoal-run/shoal/reconciler/deployments"
	"github.com/shoal-run/shoal/reconciler/plan"
)

// maxSettleSteps bounds settle: a rollout of a few hundred pods at a
// time is followed to its end; a longer one is cut there.
const maxSettleSteps = 200

// settle runs Compute from in as the leader's steps would run it, each
// step's records written back into the next step's Input and every pod
// the plan gives a live node reported by that node as Running and Ready
// (long enough for any minReadySeconds), until the pods stop changing
// for two steps: the state a change settles in once its rollouts are
// done, if every pod becomes Ready. It returns the last plan, its Input
// and whether it settled within maxSettleSteps (false too when ctx ends).
//
// It is pure but for ctx: in is not changed, the clock stays at in.Now
// (no CronJob comes due, no node is lost meanwhile, Job pods do not
// finish), and nothing is recorded anywhere.
func settle(ctx context.Context, in Input) (Plan, Input, bool) {
	in.Memo = nil
	prev, stable := "", 0
	for step := 1; ; step++ {
		p := Compute(in)
		fp := podsFingerprint(p)
		if fp == prev {
			stable++
			if stable == 2 {
				return p, in, true
			}
		} else {
			prev, stable = fp, 0
		}
		if step >= maxSettleSteps || ctx.Err() != nil {
			return p, in, false
		}
		in = advance(in, p)
	}
}

// podsFingerprint identifies the pods a plan runs where, with their
// templates' hashes (a DaemonSet's pod keeps its name across templates),
// and those it cannot place.
func podsFingerprint(p Plan) string {
	var lines []string
	for node, c := range p.Nodes {
		for i := range c.Pods {
			q := &c.Pods[i]
			lines = append(lines, node+" "+q.Namespace+"/"+q.Name+" "+q.Labels[deployments.HashLabel]+" "+q.Labels[daemons.HashLabel])
		}
	}
	for k := range p.Pending {
		lines = append(lines, "pending "+k.String())
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// advance returns the Input of the step after in, whose plan is p: p's
// ledger writes applied as the leader records them (step, recordOwned,
// recordFailed), and each live node reporting the pods p gives it, Running
// and Ready, or as it reported them when they ended (Succeeded, Failed).
// Maps of in are copied before they change.
func advance(in Input, p Plan) Input {
	next := in
	next.PodCIDRs = maps.Clone(in.PodCIDRs)
	maps.Copy(next.PodCIDRs, p.PodCIDRs)

	next.Owned = maps.Clone(in.Owned)
	maps.Copy(next.Owned, p.Replicas.Create)
	for _, k := range p.Replicas.Delete {
		delete(next.Owned, k)
	}
	next.Seq = maps.Clone(in.Seq)
	maps.Copy(next.Seq, p.Replicas.Seq)
	next.ReplicaTemplates = applyNested(in.ReplicaTemplates, p.Replicas.PutTemplates, p.Replicas.DeleteTemplates)
	next.DeploymentSets = applyNested(in.DeploymentSets, p.Deployments.Put, p.Deployments.Delete)
	next.DaemonStates = applyRecords(in.DaemonStates, p.Daemons.Put, p.Daemons.Delete)
	next.JobStates = applyRecords(in.JobStates, p.Jobs.Put, p.Jobs.Delete)
	next.CronStates = applyRecords(in.CronStates, p.CronJobs.Put, p.CronJobs.Delete)
	if len(p.Replicas.Release) > 0 {
		next.Quarantined = maps.Clone(in.Quarantined)
		for k, pod := range p.Replicas.Release {
			next.Quarantined[k] = *pod
		}
	}

	next.Placements = maps.Clone(in.Placements)
	maps.Copy(next.Placements, p.Place)
	for _, k := range p.Remove {
		delete(next.Placements, k)
	}
	if len(p.Failed) > 0 {
		failed := map[types.NamespacedName]failure{}
		for k := range p.Failed {
			delete(next.Placements, k)
			if pod, ok := in.Desired.Get("Pod", k.Namespace, k.Name).(*corev1.Pod); ok {
				failed[k] = failure{UID: specHash(pod)}
			}
		}
		next.Desired = withoutFailed(in.Desired, failed)
	}

	readySince := metav1.NewTime(in.Now.Add(-365 * 24 * time.Hour))
	next.Nodes = make([]NodeReport, len(in.Nodes))
	for i, n := range in.Nodes {
		next.Nodes[i] = n
		if !n.Live {
			continue
		}
		ended := map[types.NamespacedName]corev1.PodStatus{}
		for _, q := range n.Pods {
			if q.Status.Phase == corev1.PodSucceeded || q.Status.Phase == corev1.PodFailed {
				ended[types.NamespacedName{Namespace: q.Namespace, Name: q.Name}] = q.Status
			}
		}
		c := p.Nodes[n.Name]
		pods := make([]corev1.Pod, len(c.Pods))
		for j, q := range c.Pods {
			if st, ok := ended[types.NamespacedName{Namespace: q.Namespace, Name: q.Name}]; ok {
				q.Status = st
			} else {
				q.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &readySince, Conditions: []corev1.PodCondition{
					{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: readySince},
					{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: readySince},
					{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: readySince},
				}}
			}
			pods[j] = q
		}
		next.Nodes[i].Pods = pods
	}
	return next
}

// applyRecords returns records with put written and del removed, as the
// ledger would hold them; records itself is not changed.
func applyRecords[T any](records, put map[string]T, del []string) map[string]T {
	if len(put) == 0 && len(del) == 0 {
		return records
	}
	out := maps.Clone(records)
	if out == nil {
		out = map[string]T{}
	}
	maps.Copy(out, put)
	for _, k := range del {
		delete(out, k)
	}
	return out
}

// applyNested is applyRecords for records keyed by owner then hash.
func applyNested[T any](records, put map[string]map[string]T, del map[string][]string) map[string]map[string]T {
	if len(put) == 0 && len(del) == 0 {
		return records
	}
	out := maps.Clone(records)
	if out == nil {
		out = map[string]map[string]T{}
	}
	for owner, m := range put {
		out[owner] = applyRecords(out[owner], m, nil)
	}
	for owner, hashes := range del {
		if len(out[owner]) == 0 {
			continue
		}
		out[owner] = applyRecords(out[owner], nil, hashes)
		if len(out[owner]) == 0 {
			delete(out, owner)
		}
	}
	return out
}

// podSet is the pods a plan runs, where, and those it cannot place, for
// plan.ComparePods; a pod on no live node is where in's placements put it.
func podSet(p Plan, in Input) plan.PodSet {
	s := plan.PodSet{Pods: p.Pods, Nodes: map[types.NamespacedName]string{}, Pending: p.Pending}
	for k, node := range in.Placements {
		s.Nodes[k] = node
	}
	maps.Copy(s.Nodes, p.Place)
	for node, c := range p.Nodes {
		for i := range c.Pods {
			s.Nodes[types.NamespacedName{Namespace: c.Pods[i].Namespace, Name: c.Pods[i].Name}] = node
		}
	}
	return s
}
