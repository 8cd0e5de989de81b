package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// ClusterService is what a node that belongs to a cluster adds to its API:
// the nodes of the cluster and the cluster's state as this node sees it.
// The node agent implements it from its gossip membership and its sync
// loop. Every method is safe for concurrent use and answers from what the
// node already knows, without asking the other nodes, so none blocks for
// long.
type ClusterService interface {
	// Nodes returns every node the cluster knows, live or not, as
	// Kubernetes Node objects, sorted by name.
	Nodes(ctx context.Context) ([]corev1.Node, error)
	// Node returns one node, or an error wrapping ErrNotFound.
	Node(ctx context.Context, name string) (*corev1.Node, error)
	// Status returns the cluster's state as this node sees it.
	Status(ctx context.Context) (*ClusterStatus, error)
}

// ClusterStatus is the cluster's state as one node sees it: who leads,
// the members, and what was last synced from Git. Views differ between
// nodes while news spreads, so it names the node that answered.
type ClusterStatus struct {
	// Node is the node that answered.
	Node string `json:"node"`
	// Leader is the leader in that node's view; its Name is empty when no
	// live member is eligible.
	Leader LeaderStatus `json:"leader"`
	// Members are every member that node has heard of, itself included,
	// sorted by name.
	Members []MemberStatus `json:"members"`
	// Sync is the main ref's last sync.
	Sync SyncStatus `json:"sync"`
	// Refs are every tracked ref, the main one first; empty when the main
	// ref is the only one.
	Refs []SyncStatus `json:"refs,omitempty"`
	// Kept are the objects that left Git but keep running as last
	// applied, because they opt out of pruning, sorted by kind, namespace
	// and name; `shoal delete` removes them.
	Kept []KeptObject `json:"kept,omitempty"`
	// Refused is what the admission policies (.shoal/admission.yaml)
	// refuse in the main ref's commit in force: those objects do not run,
	// the rest of the commit does. Nil when they refuse nothing.
	Refused *RefusedStatus `json:"refused,omitempty"`
}

// RefusedStatus lists the objects of a commit that admission refuses.
type RefusedStatus struct {
	// Commit is the commit in force the objects are refused in.
	Commit string `json:"commit"`
	// Objects are the refused objects, sorted by kind, namespace and
	// name; fewer than Total when the list is too long to keep.
	Objects []RefusedObject `json:"objects"`
	Total   int             `json:"total"`
}

// RefusedObject is an object of the repository that admission refuses,
// with every reason.
type RefusedObject struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// File and Line are where the object starts in the repository.
	File       string      `json:"file"`
	Line       int         `json:"line,omitempty"`
	Violations []Violation `json:"violations"`
}

// Violation is one reason an object is refused: the policy and its rule,
// the field at fault ("" for the whole object) and what to do.
type Violation struct {
	Policy  string `json:"policy"`
	Rule    string `json:"rule"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// KeptObject is an object kept running though removed from Git.
type KeptObject struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// File is the repository's file that last had it; Commit is the
	// commit that applied it as it runs.
	File   string `json:"file"`
	Commit string `json:"commit"`
	// Removed is when it left Git, with the commit RemovedCommit.
	Removed       time.Time `json:"removed"`
	RemovedCommit string    `json:"removedCommit"`
}

// LeaderStatus names the leader and its term.
type LeaderStatus struct {
	Name string `json:"name"`
	// Term is the leader's term as gossip names it: "name@unixnano", the
	// leader's start time in Unix nanoseconds.
	Term string `json:"term"`
	// APIAddr is the host:port of the leader's API.
	APIAddr string `json:"apiAddr,omitempty"`
}

// The member states of a MemberStatus.
const (
	MemberAlive   = "alive"
	MemberSuspect = "suspect"
	MemberDead    = "dead"
	MemberLeft    = "left"
)

// MemberStatus is one member of the cluster as the answering node sees it.
type MemberStatus struct {
	Name string `json:"name"`
	// State is MemberAlive, MemberSuspect, MemberDead or MemberLeft.
	State string `json:"state"`
	// Addr is the member's gossip host:port.
	Addr string `json:"addr"`
	// APIAddr is the host:port of the member's API.
	APIAddr string `json:"apiAddr"`
	// Eligible says whether the member may lead.
	Eligible  bool      `json:"eligible"`
	StartTime time.Time `json:"startTime,omitzero"`
	// Leader is true for the leader in the answering node's view.
	Leader bool `json:"leader"`
}

// SyncStatus is the last sync of one Git ref.
type SyncStatus struct {
	Repo string `json:"repo"`
	Ref  string `json:"ref"`
	// Commit is the full hash of the commit last synced; "" before the
	// first good sync.
	Commit  string `json:"commit"`
	Message string `json:"message,omitempty"` // the commit's subject line
	Author  string `json:"author,omitempty"`
	// Time is when Commit was synced.
	Time time.Time `json:"time,omitzero"`
	// Error is why the last sync failed, "" when it was good; Commit is then
	// still the last good one. A commit whose admission file does not load
	// applies under earlier policies: it is Commit and ErrorCommit, and
	// Error lists the file's errors.
	Error string `json:"error"`
	// ErrorCommit is the commit the error concerns, when it is one that
	// does not load.
	ErrorCommit string    `json:"errorCommit,omitempty"`
	ErrorTime   time.Time `json:"errorTime,omitzero"`
}

// errNoCluster answers the cluster routes of a node outside any cluster.
var errNoCluster = &Error{
	Message: "this node does not belong to a cluster",
	Reason:  ReasonNotFound, Code: http.StatusNotFound,
}

func (s *server) listNodes(w http.ResponseWriter, r *http.Request) {
	if s.cluster == nil {
		s.writeError(w, r, errNoCluster)
		return
	}
	nodes, err := s.cluster.Nodes(r.Context())
	if err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	if nodes == nil {
		nodes = []corev1.Node{}
	}
	for i := range nodes {
		nodes[i].Kind, nodes[i].APIVersion = "Node", "v1"
	}
	list := corev1.NodeList{Items: nodes}
	list.Kind, list.APIVersion = "NodeList", "v1"
	s.writeJSON(w, r, list)
}

func (s *server) getNode(w http.ResponseWriter, r *http.Request) {
	if s.cluster == nil {
		s.writeError(w, r, errNoCluster)
		return
	}
	node, err := s.cluster.Node(r.Context(), r.PathValue("name"))
	if err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	n := *node
	n.Kind, n.APIVersion = "Node", "v1"
	s.writeJSON(w, r, &n)
}

func (s *server) status(w http.ResponseWriter, r *http.Request) {
	if s.cluster == nil {
		s.writeError(w, r, errNoCluster)
		return
	}
	st, err := s.cluster.Status(r.Context())
	if err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	out := *st
	if out.Members == nil {
		out.Members = []MemberStatus{}
	}
	s.writeJSON(w, r, &out)
}

// ListNodes returns the nodes of the server's cluster. An error wraps
// ErrNotFound when the server belongs to no cluster.
func (c *Client) ListNodes(ctx context.Context) ([]corev1.Node, error) {
	var list corev1.NodeList
	if err := c.getJSON(ctx, "/api/v1/nodes", &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// GetNode returns one node of the server's cluster; an error wraps
// ErrNotFound when there is none (or no cluster).
func (c *Client) GetNode(ctx context.Context, name string) (*corev1.Node, error) {
	var node corev1.Node
	if err := c.getJSON(ctx, "/api/v1/nodes/"+url.PathEscape(name), &node); err != nil {
		return nil, err
	}
	return &node, nil
}

// Status returns the cluster's state as the server's node sees it. An
// error wraps ErrNotFound when the server belongs to no cluster.
func (c *Client) Status(ctx context.Context) (*ClusterStatus, error) {
	var st ClusterStatus
	if err := c.getJSON(ctx, "/api/v1/status", &st); err != nil {
		return nil, err
	}
	return &st, nil
}
