package transport

import (
	"encoding/json"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/shoal-run/shoal/gossip"
)

// NodeState is one node's full desired state, as the leader sends it.
// It is level-based: it replaces whatever the node had before.
type NodeState struct {
	// Term is the term of the leader that computed this state.
	Term gossip.Term `json:"term"`
	// Generation increases with every change the leader sends within its
	// term; a new term may start again from any value.
	Generation uint64 `json:"generation"`
	// Node is the name of the node this state is for.
	Node string `json:"node"`
	// Pods is the node's full desired pod set, each with spec.nodeName set.
	Pods []corev1.Pod `json:"pods,omitempty"`
	// ConfigMaps are the ConfigMaps the pods reference.
	ConfigMaps []corev1.ConfigMap `json:"configMaps,omitempty"`
	// Secrets are only the Secrets the pods reference.
	Secrets []corev1.Secret `json:"secrets,omitempty"`
	// PersistentVolumeClaims, PersistentVolumes and StorageClasses are the
	// desired state's, for the node's volume binder.
	PersistentVolumeClaims []corev1.PersistentVolumeClaim `json:"persistentVolumeClaims,omitempty"`
	PersistentVolumes      []corev1.PersistentVolume      `json:"persistentVolumes,omitempty"`
	StorageClasses         []storagev1.StorageClass       `json:"storageClasses,omitempty"`
	// Routes is the cluster routing table (services, ready endpoints),
	// opaque to the transport.
	Routes json.RawMessage `json:"routes,omitempty"`
}

// NodeStatus is what a node reports to the leader: the actual state of its
// pods.
type NodeStatus struct {
	// Node is the reporting node's name.
	Node string `json:"node"`
	// Term and Generation identify the desired state the node has applied
	// (empty and 0 if it has none).
	Term       gossip.Term `json:"term,omitempty"`
	Generation uint64      `json:"generation"`
	// Pods are the node's pods with their status.
	Pods []corev1.Pod `json:"pods,omitempty"`
	// NodeInfo is the node's own record as a Kubernetes Node: its labels,
	// capacity, allocatable, pod CIDR, addresses, system info and
	// conditions. Nil from a node that does not send it.
	NodeInfo *corev1.Node `json:"nodeInfo,omitempty"`
	// Time is when the node took this status, by its own clock.
	Time time.Time `json:"time"`
}

// Paths served by the Receiver (on each node) and the StatusServer (on the
// leader).
const (
	DesiredPath = "/v1/desired"
	StatusPath  = "/v1/status"
)

// pushReply is the JSON body of a successful PUT /v1/desired.
type pushReply struct {
	// Result is resultApplied, resultStale or resultUnchanged.
	Result     string      `json:"result"`
	Term       gossip.Term `json:"term"`
	Generation uint64      `json:"generation"`
}

const (
	resultApplied   = "applied"
	resultStale     = "stale"
	resultUnchanged = "unchanged"
)
