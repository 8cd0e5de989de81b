// Package daemons is the DaemonSet controller as a pure function: one pod
// of each DaemonSet on every node its template's nodeSelector and required
// node affinity accept, as Compute(Input) []*corev1.Pod.
//
// A daemon pod is bound to its node (spec.nodeName), so it runs there
// whatever the node's state, cordoned (spec.unschedulable) included, as in
// Kubernetes, where DaemonSet pods tolerate the node-state taints. A node
// that is lost (unseen for NodeLostAfter) gets no pod: its pod leaves the
// desired state, and comes back when the node does. A node that joins gets
// its pod on the leader's next step. Pod names are "<daemonset>-<5
// characters>" from a hash of the DaemonSet and the node, so they need no
// ledger record and are the same on every leader.
//
// Not done yet: rolling updates (a template change replaces every pod at
// once, not maxUnavailable at a time), history (controller revisions).
package daemons

import (
	"sort"
	"time"

	"github.com/shoal-run/shoal/reconciler/internal/names"
	"github.com/shoal-run/shoal/reconciler/placement"
	corev1 "k8s.io/api/core/v1"
)

// DaemonSet is a DaemonSet of the desired state, reduced to what the
// controller needs.
type DaemonSet struct {
	Namespace, Name string
	Template        *corev1.PodTemplateSpec
}

// Input is everything Compute needs; it is not modified.
type Input struct {
	DaemonSets []DaemonSet
	// Nodes are the cluster's nodes with their labels (the repository's
	// Node objects merged) and when they were last seen.
	Nodes         []placement.Node
	Now           time.Time
	NodeLostAfter time.Duration
}

// Compute returns every daemon pod, sorted by namespace and name.
func Compute(in Input) []*corev1.Pod {
	lostAfter := in.NodeLostAfter
	if lostAfter <= 0 {
		lostAfter = placement.DefaultNodeLostAfter
	}
	var out []*corev1.Pod
	for i := range in.DaemonSets {
		ds := &in.DaemonSets[i]
		for j := range in.Nodes {
			n := &in.Nodes[j]
			if in.Now.Sub(n.LastSeen) >= lostAfter || !placement.MatchesNode(&ds.Template.Spec, n) {
				continue
			}
			out = append(out, podFor(ds, n.Name))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func podFor(ds *DaemonSet, node string) *corev1.Pod {
	key := "DaemonSet/" + ds.Namespace + "/" + ds.Name
	p := names.Pod(ds.Template, ds.Namespace, ds.Name+"-"+names.Suffix(key+"@"+node), "apps/v1", "DaemonSet", ds.Name)
	p.Spec.NodeName = node
	return p
}
