package reconciler

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/reconciler/cronjobs"
	"github.com/shoal-run/shoal/reconciler/daemons"
	"github.com/shoal-run/shoal/reconciler/deployments"
	"github.com/shoal-run/shoal/reconciler/jobs"
	"github.com/shoal-run/shoal/reconciler/replicas"
)

// Ledger keys the reconciler writes. Every node holds the ledger, so every
// node can answer what they record.
const (
	// PrefixPlacement + "namespace/name" -> node name of a bare pod.
	PrefixPlacement = "placement/"
	// PrefixPodCIDR + node -> the node's pod CIDR.
	PrefixPodCIDR = "podcidr/"
	// PrefixNodeSpec + node -> NodeSpec JSON from the repository's Node
	// object, absent when the repository has none.
	PrefixNodeSpec = "nodespec/"
	// PrefixSync + ref -> SyncRecord JSON: the last sync of a tracked ref.
	PrefixSync = "sync/"
	// PrefixOwned + "namespace/name" -> replicas.Owned JSON: a pod a
	// controller made.
	PrefixOwned = "owned/"
	// PrefixSeq + controller key -> the controller's name sequence.
	PrefixSeq = "ownerseq/"
	// PrefixDeploymentSet + "namespace/deployment/hash" ->
	// deployments.Set JSON: one ReplicaSet of a Deployment.
	PrefixDeploymentSet = "deployrs/"
	// PrefixJob + "namespace/name" -> jobs.State JSON: a Job's progress.
	PrefixJob = "job/"
	// PrefixCronJob + "namespace/name" -> cronjobs.State JSON: a CronJob's
	// last schedule time and Jobs.
	PrefixCronJob = "cronjob/"
	// PrefixDaemonSet + "namespace/name" -> daemons.State JSON: the
	// templates a DaemonSet's pods may still run and each node's.
	PrefixDaemonSet = "daemonset/"
)

// SyncRecord is the outcome of the last sync of one tracked ref.
type SyncRecord struct {
	Repo string `json:"repo"`
	Ref  string `json:"ref"`
	// Commit is the commit in force: the last one that loaded.
	Commit  string    `json:"commit,omitempty"`
	Message string    `json:"message,omitempty"`
	Author  string    `json:"author,omitempty"`
	Time    time.Time `json:"time,omitempty"` // when Commit was applied
	// Error is the last sync's error ("" when it succeeded), with the
	// commit it concerns when there is one (a commit that does not load).
	Error       string    `json:"error,omitempty"`
	ErrorCommit string    `json:"errorCommit,omitempty"`
	ErrorTime   time.Time `json:"errorTime,omitempty"`
	// Term is the leader's term that synced.
	Term gossip.Term `json:"term,omitempty"`
}

// PodCIDR returns the pod CIDR the ledger gives node, if any.
func PodCIDR(l *gossip.Ledger, node string) (string, bool) {
	e, ok := l.Get(PrefixPodCIDR + node)
	if !ok {
		return "", false
	}
	return string(e.Value), true
}

// NodeSpecOf returns what the repository's Node object says of node.
func NodeSpecOf(l *gossip.Ledger, node string) (NodeSpec, bool) {
	e, ok := l.Get(PrefixNodeSpec + node)
	if !ok {
		return NodeSpec{}, false
	}
	var s NodeSpec
	if json.Unmarshal(e.Value, &s) != nil {
		return NodeSpec{}, false
	}
	return s, true
}

// Syncs returns the sync records of every tracked ref, sorted by ref.
func Syncs(l *gossip.Ledger) []SyncRecord {
	var out []SyncRecord
	for _, e := range l.List(PrefixSync) {
		var r SyncRecord
		if json.Unmarshal(e.Value, &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

func placementKey(k types.NamespacedName) string {
	return PrefixPlacement + k.Namespace + "/" + k.Name
}

// readPlacements returns the ledger's placements.
func readPlacements(l *gossip.Ledger) map[types.NamespacedName]string {
	out := map[types.NamespacedName]string{}
	for _, e := range l.List(PrefixPlacement) {
		ns, name, ok := strings.Cut(strings.TrimPrefix(e.Key, PrefixPlacement), "/")
		if ok {
			out[types.NamespacedName{Namespace: ns, Name: name}] = string(e.Value)
		}
	}
	return out
}

// readPodCIDRs returns the ledger's pod CIDRs by node.
func readPodCIDRs(l *gossip.Ledger) map[string]string {
	out := map[string]string{}
	for _, e := range l.List(PrefixPodCIDR) {
		out[strings.TrimPrefix(e.Key, PrefixPodCIDR)] = string(e.Value)
	}
	return out
}

// readOwned returns the ledger's controller pod records.
func readOwned(l *gossip.Ledger) map[types.NamespacedName]replicas.Owned {
	out := map[types.NamespacedName]replicas.Owned{}
	for _, e := range l.List(PrefixOwned) {
		ns, name, ok := strings.Cut(strings.TrimPrefix(e.Key, PrefixOwned), "/")
		var o replicas.Owned
		if ok && json.Unmarshal(e.Value, &o) == nil {
			out[types.NamespacedName{Namespace: ns, Name: name}] = o
		}
	}
	return out
}

// readSeq returns the controllers' name sequences.
func readSeq(l *gossip.Ledger) map[string]uint64 {
	out := map[string]uint64{}
	for _, e := range l.List(PrefixSeq) {
		if n, err := strconv.ParseUint(string(e.Value), 10, 64); err == nil {
			out[strings.TrimPrefix(e.Key, PrefixSeq)] = n
		}
	}
	return out
}

// readDeploymentSets returns the Deployments' ReplicaSet records.
func readDeploymentSets(l *gossip.Ledger) map[string]map[string]deployments.Set {
	out := map[string]map[string]deployments.Set{}
	for _, e := range l.List(PrefixDeploymentSet) {
		rest := strings.TrimPrefix(e.Key, PrefixDeploymentSet)
		i := strings.LastIndex(rest, "/")
		var s deployments.Set
		if i <= 0 || json.Unmarshal(e.Value, &s) != nil {
			continue
		}
		key, hash := rest[:i], rest[i+1:]
		if out[key] == nil {
			out[key] = map[string]deployments.Set{}
		}
		out[key][hash] = s
	}
	return out
}

// readJobStates returns the Jobs' progress records.
func readJobStates(l *gossip.Ledger) map[string]jobs.State {
	out := map[string]jobs.State{}
	for _, e := range l.List(PrefixJob) {
		var s jobs.State
		if json.Unmarshal(e.Value, &s) == nil {
			out[strings.TrimPrefix(e.Key, PrefixJob)] = s
		}
	}
	return out
}

// readCronStates returns the CronJobs' schedule records.
func readCronStates(l *gossip.Ledger) map[string]cronjobs.State {
	out := map[string]cronjobs.State{}
	for _, e := range l.List(PrefixCronJob) {
		var s cronjobs.State
		if json.Unmarshal(e.Value, &s) == nil {
			out[strings.TrimPrefix(e.Key, PrefixCronJob)] = s
		}
	}
	return out
}

// readDaemonStates returns the DaemonSets' records.
func readDaemonStates(l *gossip.Ledger) map[string]daemons.State {
	out := map[string]daemons.State{}
	for _, e := range l.List(PrefixDaemonSet) {
		var st daemons.State
		if json.Unmarshal(e.Value, &st) == nil {
			out[strings.TrimPrefix(e.Key, PrefixDaemonSet)] = st
		}
	}
	return out
}
