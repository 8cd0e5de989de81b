package reconciler

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/reconciler/deployments"
	"github.com/shoal-run/shoal/reconciler/events"
	"github.com/shoal-run/shoal/reconciler/replicas"
	"github.com/shoal-run/shoal/reconciler/services"
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
	// PrefixReplicaTemplate + "Kind/namespace/name/hash" -> pod template
	// JSON: a template that pods of a repository's ReplicaSet or
	// ReplicationController still run.
	PrefixReplicaTemplate = "rstemplate/"
	// PrefixDeploymentSet + "namespace/deployment/hash" ->
	// deployments.Set JSON: one ReplicaSet of a Deployment.
	PrefixDeploymentSet = "deployrs/"
	// PrefixJob + "namespace/name" -> jobs.State JSON: a Job's progress.
	PrefixJob = "job/"
	// PrefixCronJob + "namespace/name" -> cronjobs.State JSON: a CronJob's
	// last schedule time and Jobs.
	PrefixCronJob = "cronjob/"
	// PrefixClusterIP + "namespace/name" -> a Service's cluster IP, then
	// a space and when the leader allocated it (RFC 3339); records
	// written before that time was kept hold the address alone.
	PrefixClusterIP = "clusterip/"
	// PrefixNodePort + services.NodePortKey -> a Service port's node port.
	PrefixNodePort = "nodeport/"
	// PrefixLoadBalancerIP + "namespace/name" -> a LoadBalancer's address.
	PrefixLoadBalancerIP = "lbip/"
	// PrefixDaemonSet + "namespace/name" -> daemons.State JSON: the
	// templates a DaemonSet's pods may still run and each node's.
	PrefixDaemonSet = "daemonset/"
	// PrefixKept + prune.RecordKey -> prune.Record JSON: an object that
	// opts out of pruning, as last applied, kept running when it leaves
	// Git until shoal delete.
	PrefixKept = "kept/"
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
	// commit it concerns when there is one (a commit that does not load,
	// or one whose admission file does not load: that one is Commit too,
	// since it applies under earlier policies).
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
	return readRecord[NodeSpec](l, PrefixNodeSpec+node)
}

// readRecord returns the JSON record at key; false when there is none or
// it does not decode.
func readRecord[T any](l *gossip.Ledger, key string) (T, bool) {
	var v T
	e, ok := l.Get(key)
	if !ok || json.Unmarshal(e.Value, &v) != nil {
		var zero T
		return zero, false
	}
	return v, true
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

// readRecords returns the JSON records under prefix, by the rest of their
// key; entries that do not decode are skipped.
func readRecords[T any](l *gossip.Ledger, prefix string) map[string]T {
	out := map[string]T{}
	for _, e := range l.List(prefix) {
		var v T
		if json.Unmarshal(e.Value, &v) == nil {
			out[strings.TrimPrefix(e.Key, prefix)] = v
		}
	}
	return out
}

// byPod re-keys records whose key is "namespace/name".
func byPod[T any](m map[string]T) map[types.NamespacedName]T {
	out := make(map[types.NamespacedName]T, len(m))
	for k, v := range m {
		if ns, name, ok := strings.Cut(k, "/"); ok {
			out[types.NamespacedName{Namespace: ns, Name: name}] = v
		}
	}
	return out
}

// writeRecords adds to the step's batch the JSON records to put under
// prefix and the keys to delete.
func writeRecords[T any](t *term, prefix string, put map[string]T, del []string) {
	for k, v := range put {
		data, _ := json.Marshal(v)
		t.put(prefix+k, data)
	}
	for _, k := range del {
		t.del(prefix + k)
	}
}

// readOwned returns the ledger's controller pod records.
func readOwned(l *gossip.Ledger) map[types.NamespacedName]replicas.Owned {
	return byPod(readRecords[replicas.Owned](l, PrefixOwned))
}

// readSeq returns the controllers' name sequences.
func readSeq(l *gossip.Ledger) map[string]uint64 {
	return readRecords[uint64](l, PrefixSeq)
}

// recordCache keeps the records the leader decoded, with the bytes they
// came from: a record whose bytes did not change reads as the same value
// (a deployments.Set with the same template pointer), so that Compute's
// Memo knows its template without comparing it, and it is not decoded
// again. Values are shared from one read to the next: read-only. The zero
// recordCache is ready; the nil one keeps nothing.
type recordCache[T any] struct {
	m map[string]cachedRecord[T]
}

type cachedRecord[T any] struct {
	raw []byte
	v   T
}

// read is readRecords through the cache, which then holds the records
// read.
func (c *recordCache[T]) read(l *gossip.Ledger, prefix string) map[string]T {
	if c == nil {
		return readRecords[T](l, prefix)
	}
	entries := l.List(prefix)
	out := make(map[string]T, len(entries))
	next := make(map[string]cachedRecord[T], len(entries))
	for _, e := range entries {
		r, ok := c.m[e.Key]
		if !ok || !bytes.Equal(r.raw, e.Value) {
			var v T
			if json.Unmarshal(e.Value, &v) != nil {
				continue
			}
			r = cachedRecord[T]{raw: e.Value, v: v}
		}
		next[e.Key] = r
		out[strings.TrimPrefix(e.Key, prefix)] = r.v
	}
	c.m = next
	return out
}

// readDeploymentSets returns the Deployments' ReplicaSet records, keyed
// "namespace/deployment" then hash, through cache (nil for none).
func readDeploymentSets(l *gossip.Ledger, cache *recordCache[deployments.Set]) map[string]map[string]deployments.Set {
	return nest(cache.read(l, PrefixDeploymentSet))
}

// readNested returns the JSON records under prefix keyed "owner/hash",
// by owner then hash.
func readNested[T any](l *gossip.Ledger, prefix string) map[string]map[string]T {
	return nest(readRecords[T](l, prefix))
}

// nest re-keys records keyed "owner/hash" by owner then hash.
func nest[T any](m map[string]T) map[string]map[string]T {
	out := map[string]map[string]T{}
	for k, s := range m {
		i := strings.LastIndex(k, "/")
		if i <= 0 {
			continue
		}
		if out[k[:i]] == nil {
			out[k[:i]] = map[string]T{}
		}
		out[k[:i]][k[i+1:]] = s
	}
	return out
}

// readAllocations returns the ledger's Service allocations; entries that
// do not parse are skipped (and so reallocated).
func readAllocations(l *gossip.Ledger) Allocations {
	a := Allocations{ClusterIPs: map[string]netip.Addr{}, ClusterIPTimes: map[string]time.Time{},
		NodePorts: map[string]int32{}, LoadBalancerIPs: map[string]netip.Addr{}}
	for _, e := range l.List(PrefixClusterIP) {
		if ip, at, ok := parseClusterIPRecord(string(e.Value)); ok {
			k := strings.TrimPrefix(e.Key, PrefixClusterIP)
			a.ClusterIPs[k] = ip
			if !at.IsZero() {
				a.ClusterIPTimes[k] = at
			}
		}
	}
	for _, e := range l.List(PrefixLoadBalancerIP) {
		if ip, err := netip.ParseAddr(string(e.Value)); err == nil {
			a.LoadBalancerIPs[strings.TrimPrefix(e.Key, PrefixLoadBalancerIP)] = ip
		}
	}
	for _, e := range l.List(PrefixNodePort) {
		if p, err := strconv.ParseInt(string(e.Value), 10, 32); err == nil {
			a.NodePorts[strings.TrimPrefix(e.Key, PrefixNodePort)] = int32(p)
		}
	}
	return a
}

// clusterIPRecord is the ledger value of a cluster IP allocated at at.
func clusterIPRecord(ip netip.Addr, at time.Time) string {
	return ip.String() + " " + at.UTC().Format(time.RFC3339)
}

// parseClusterIPRecord reads a cluster IP record: the address, and when it
// was allocated (zero for a record that does not say); false when the
// address does not parse.
func parseClusterIPRecord(v string) (netip.Addr, time.Time, bool) {
	addr, at, _ := strings.Cut(v, " ")
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Addr{}, time.Time{}, false
	}
	t, _ := time.Parse(time.RFC3339, at)
	return ip, t, true
}

// recordAllocations writes a step's new Service allocations (a cluster IP
// with the step's time now) and drops the released ones, and reports
// routing errors once each time they change.
func (t *term) recordAllocations(p services.Plan, now time.Time) {
	for k, ip := range p.ClusterIPs {
		t.put(PrefixClusterIP+k, []byte(clusterIPRecord(ip, now)))
	}
	for k, ip := range p.LoadBalancerIPs {
		t.put(PrefixLoadBalancerIP+k, []byte(ip.String()))
	}
	for k, port := range p.NodePorts {
		t.put(PrefixNodePort+k, []byte(strconv.Itoa(int(port))))
	}
	for _, k := range p.ReleaseClusterIPs {
		t.del(PrefixClusterIP + k)
	}
	for _, k := range p.ReleaseLoadBalancerIPs {
		t.del(PrefixLoadBalancerIP + k)
	}
	for _, k := range p.ReleaseNodePorts {
		t.del(PrefixNodePort + k)
	}
	for obj, msg := range p.Errors {
		if t.routeErr[obj] == msg {
			continue
		}
		t.log.Warn("service networking", "object", obj, "err", msg)
		if ev := t.r.cfg.Events; ev != nil {
			parts := strings.SplitN(obj, "/", 3)
			if len(parts) == 3 {
				ev.Record(events.Object{Kind: parts[0], Namespace: parts[1], Name: parts[2]}, corev1.EventTypeWarning, "FailedRouting", msg)
			}
		}
	}
	t.routeErr = p.Errors
}
