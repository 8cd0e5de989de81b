package plan

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// PodSet is the pods one desired state runs, as a plan of the leader
// says: every desired pod, the node each is placed on, and those that fit
// on no node.
type PodSet struct {
	Pods []*corev1.Pod
	// Nodes are the nodes the pods run on; a pod missing here runs on its
	// spec.nodeName, if any.
	Nodes map[types.NamespacedName]string
	// Pending are the pods that fit on no node, with the scheduler's
	// message (placement's Pending).
	Pending map[types.NamespacedName]string
}

func (s PodSet) node(p *corev1.Pod) string {
	if n := s.Nodes[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}]; n != "" {
		return n
	}
	return p.Spec.NodeName
}

// PodChange is one pod that would start, stop, be replaced or wait.
type PodChange struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Node is where the pod runs (a stopping one) or would run.
	Node string `json:"node,omitempty"`
	// Owner is the workload the pod belongs to, "Deployment/web",
	// "DaemonSet/agent", "Job/backup", ...; empty for a bare pod.
	Owner string `json:"owner,omitempty"`
	// Replaces is, for a replacement, the pod it replaces: the pod's own
	// name when its spec changes under the same name (a DaemonSet's), else
	// a pod of the same workload that stops (a Deployment's new
	// ReplicaSet), on OldNode.
	Replaces string `json:"replaces,omitempty"`
	OldNode  string `json:"oldNode,omitempty"`
	// Message is why a pending pod fits nowhere, as the scheduler says.
	Message string `json:"message,omitempty"`
}

// Pods are the pods deploying the proposed commit would start, stop and
// replace, and those it would leave Pending; each list is sorted by
// namespace and name.
type Pods struct {
	Start   []PodChange `json:"start,omitempty"`
	Stop    []PodChange `json:"stop,omitempty"`
	Replace []PodChange `json:"replace,omitempty"`
	Pending []PodChange `json:"pending,omitempty"`
}

// Empty reports whether no pod changes.
func (p Pods) Empty() bool {
	return len(p.Start)+len(p.Stop)+len(p.Replace)+len(p.Pending) == 0
}

// ComparePods says how the pods of proposed differ from those of current:
//
//   - Pending: pods of proposed that fit on no node and do not already
//     wait in current;
//   - Replace: pods of both with the same name whose spec, labels or
//     annotations differ (a node runs them as new pods), and pairs of a
//     pod that stops and one that starts of the same workload, on the
//     same node first (a Deployment's new ReplicaSet, a Job's new pods);
//   - Start: the other pods only proposed runs;
//   - Stop: the other pods only current runs.
func ComparePods(current, proposed PodSet) Pods {
	type key = types.NamespacedName
	cur := map[key]*corev1.Pod{}
	for _, p := range current.Pods {
		cur[key{Namespace: p.Namespace, Name: p.Name}] = p
	}
	var out Pods
	var starts []PodChange
	inProp := map[key]bool{}
	for _, p := range proposed.Pods {
		k := key{Namespace: p.Namespace, Name: p.Name}
		inProp[k] = true
		c := PodChange{Namespace: p.Namespace, Name: p.Name, Node: proposed.node(p), Owner: Owner(p)}
		if why, ok := proposed.Pending[k]; ok {
			if _, was := current.Pending[k]; !was {
				c.Node, c.Message = "", why
				out.Pending = append(out.Pending, c)
			}
			continue
		}
		old, ok := cur[k]
		switch {
		case !ok:
			starts = append(starts, c)
		case !samePod(old, p):
			c.Replaces, c.OldNode = old.Name, current.node(old)
			out.Replace = append(out.Replace, c)
		}
	}
	var stops []PodChange
	for _, p := range current.Pods {
		k := key{Namespace: p.Namespace, Name: p.Name}
		if !inProp[k] {
			stops = append(stops, PodChange{Namespace: p.Namespace, Name: p.Name, Node: current.node(p), Owner: Owner(p)})
		}
	}
	replaced, started, stopped := pair(starts, stops)
	out.Replace = append(out.Replace, replaced...)
	out.Start, out.Stop = started, stopped
	for _, l := range [][]PodChange{out.Start, out.Stop, out.Replace, out.Pending} {
		sortChanges(l)
	}
	return out
}

// pair matches pods that stop with pods that start of the same workload
// (namespace and owner), on the same node first, then in name order. It
// returns the replacements and the starts and stops left.
func pair(starts, stops []PodChange) (replaced, started, stopped []PodChange) {
	type group struct{ ns, owner string }
	byGroup := map[group][]int{} // indexes of stops
	sortChanges(stops)
	for i, s := range stops {
		if s.Owner != "" {
			g := group{s.Namespace, s.Owner}
			byGroup[g] = append(byGroup[g], i)
		}
	}
	used := make([]bool, len(stops))
	// match returns the first stop left of start's workload (on its node
	// when sameNode), or -1.
	match := func(start PodChange, sameNode bool) int {
		if start.Owner == "" {
			return -1
		}
		for _, j := range byGroup[group{start.Namespace, start.Owner}] {
			if !used[j] && (!sameNode || start.Node != "" && stops[j].Node == start.Node) {
				return j
			}
		}
		return -1
	}
	sortChanges(starts)
	paired := make([]bool, len(starts))
	for _, sameNode := range []bool{true, false} {
		for i, s := range starts {
			if paired[i] {
				continue
			}
			if j := match(s, sameNode); j >= 0 {
				used[j], paired[i] = true, true
				s.Replaces, s.OldNode = stops[j].Name, stops[j].Node
				replaced = append(replaced, s)
			}
		}
	}
	for i, s := range starts {
		if !paired[i] {
			started = append(started, s)
		}
	}
	for j, s := range stops {
		if !used[j] {
			stopped = append(stopped, s)
		}
	}
	return replaced, started, stopped
}

func sortChanges(l []PodChange) {
	sort.Slice(l, func(i, j int) bool {
		if l[i].Namespace != l[j].Namespace {
			return l[i].Namespace < l[j].Namespace
		}
		return l[i].Name < l[j].Name
	})
}

// samePod reports whether a node would run b as the pod a: same spec,
// labels and annotations (what a pod's identity is made of).
func samePod(a, b *corev1.Pod) bool {
	if a == b {
		return true
	}
	ja, _ := json.Marshal([]any{a.Spec, a.Labels, a.Annotations})
	jb, _ := json.Marshal([]any{b.Spec, b.Labels, b.Annotations})
	return bytes.Equal(ja, jb)
}

// The label a Deployment's ReplicaSet adds to its pods.
const podTemplateHash = "pod-template-hash"

// Owner names the workload a pod belongs to, as "Kind/name": its
// controller, except that a Deployment's ReplicaSet
// (<deployment>-<pod-template-hash>) is named by its Deployment. It is ""
// for a pod without a controller.
func Owner(p *corev1.Pod) string {
	for _, r := range p.OwnerReferences {
		if r.Controller == nil || !*r.Controller {
			continue
		}
		if h := p.Labels[podTemplateHash]; r.Kind == "ReplicaSet" && h != "" && strings.HasSuffix(r.Name, "-"+h) {
			return "Deployment/" + strings.TrimSuffix(r.Name, "-"+h)
		}
		return r.Kind + "/" + r.Name
	}
	return ""
}
