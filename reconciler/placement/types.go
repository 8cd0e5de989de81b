package placement

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// DefaultNodeLostAfter is used when Input.NodeLostAfter is zero: the
// Kubernetes node controller's 40s grace period plus the default 300s
// toleration of unreachable nodes, rounded.
const DefaultNodeLostAfter = 5 * time.Minute

// ReasonNodeLost is the status reason of a pod whose node is lost, as
// Kubernetes' node lifecycle controller sets it.
const ReasonNodeLost = "NodeLost"

// Kubernetes' FailedScheduling reasons, one per filter.
const (
	ReasonUnschedulable = "node(s) were unschedulable"
	ReasonNotReady      = "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
	ReasonUnreachable   = "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"
	ReasonNodeAffinity  = "node(s) didn't match Pod's node affinity/selector"
	ReasonHostPorts     = "node(s) didn't have free ports for the requested pod ports"
	ReasonCPU           = "Insufficient cpu"
	ReasonMemory        = "Insufficient memory"
	ReasonTooManyPods   = "Too many pods"
	// ReasonNoNodes is the whole message when the cluster has no node.
	ReasonNoNodes = "no nodes available to schedule pods"
)

// Taints that Kubernetes puts on nodes in these states; a pod's
// tolerations of them (effect NoSchedule or any) are honoured, except for
// unreachable.
const (
	TaintUnschedulable = "node.kubernetes.io/unschedulable"
	TaintNotReady      = "node.kubernetes.io/not-ready"
	TaintUnreachable   = "node.kubernetes.io/unreachable"
)

// Node is a member of the cluster as gossip knows it.
type Node struct {
	Name   string
	Labels map[string]string
	// Unschedulable says the node is cordoned: no new pods, the placed
	// ones stay.
	Unschedulable bool
	// Allocatable is what pods may use: cpu, memory and, when set, pods.
	Allocatable corev1.ResourceList
	// Ready says the node's agent reports it can run pods.
	Ready bool
	// LastSeen is the last time the node was seen alive and ready; the
	// caller does not advance it while the node reports not ready.
	LastSeen time.Time
}

// Actual is a pod a node reports it runs, with its status.
type Actual struct {
	Node string
	Pod  *corev1.Pod
}

// Input is everything Compute needs. Compute never modifies it; node names
// and pod keys are unique.
type Input struct {
	// Pods are the desired bare pods, defaulted and validated.
	Pods   []*corev1.Pod
	Nodes  []Node
	Actual []Actual
	// Placements are the ledger's: pod -> node.
	Placements    map[types.NamespacedName]string
	Now           time.Time
	NodeLostAfter time.Duration
	// Memo, if set, is what Compute remembers across calls; it changes no
	// result. The Pods must then never change (Plan.PerNode may hand out
	// the same copies again).
	Memo *Memo
}

// Plan is what Compute decided. Every map is non-nil.
type Plan struct {
	// Place are new placements, to record in the ledger and send.
	Place map[types.NamespacedName]string
	// PerNode is the full desired pod set of every node in Input.Nodes
	// (empty for a node with none, so that it stops what it runs), sorted
	// by namespace/name, with spec.nodeName set. Pods are shared with the
	// input, or shallow copies when spec.nodeName had to be set (with a
	// Memo, the copies an earlier Compute made): treat them as read-only.
	PerNode map[string][]*corev1.Pod
	// Pending are pods placed nowhere, with the reason a user sees.
	Pending map[types.NamespacedName]string
	// Failed are pods whose node is lost, with the status message; their
	// status reason is ReasonNodeLost. They are never placed again.
	Failed map[types.NamespacedName]string
	// Remove are placements of pods no longer desired, sorted, to prune
	// from the ledger.
	Remove []types.NamespacedName
}
