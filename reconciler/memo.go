package reconciler

import (
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/reconciler/cronjobs"
	"github.com/shoal-run/shoal/reconciler/daemons"
	"github.com/shoal-run/shoal/reconciler/deployments"
	"github.com/shoal-run/shoal/reconciler/jobs"
	"github.com/shoal-run/shoal/reconciler/placement"
	"github.com/shoal-run/shoal/reconciler/replicas"
)

// Memo is what Compute remembers from one call to the next, so that a step
// over an unchanged commit does not derive again what it derived from the
// commit's objects: the template hashes of Deployments and DaemonSets, the
// spec hashes of Jobs, the parsed schedules and Jobs of CronJobs, the pods
// the controllers make from their templates, the pods with the defaults
// of their namespace's LimitRanges, what placement reads from each pod and
// the copies it binds to nodes, each node's content while its pods are the
// same, and the routing table while its inputs are.
//
// A Memo changes no result: Compute with a Memo returns the plan it
// returns without one. It relies on what manifests.Set promises: the
// objects of a Set never change. Its entries are keyed by those objects
// (or, for the ledger's templates, checked with reflect.DeepEqual), and
// those a call did not use are dropped when it returns, so a Memo holds
// what one step needs; the leader keeps one while its commit is unchanged
// and starts a new one with each commit. Plans made with a Memo share pods
// and node contents with each other (plans share them with their Input
// anyway): they are read-only.
//
// The zero Memo is ready to use. Calls of Compute with the same Memo run
// one at a time.
type Memo struct {
	mu          sync.Mutex
	deployments deployments.Memo
	replicas    replicas.Memo
	jobs        jobs.Memo
	cronJobs    cronjobs.Memo
	daemons     daemons.Memo
	placement   placement.Memo
	gate        gateMemo
	nodes       map[string]*nodeMemo
	routes      *routesMemo
}

// nodeMemo is a node's content as the last Compute cut it.
type nodeMemo struct {
	// pods are placement's pods for the node, the content's source.
	pods []*corev1.Pod
	// refs are the ConfigMaps and Secrets the pods reference, as the
	// desired Set resolved them (nil when it had none).
	refs []resolved
	set  *manifests.Set
	// content has the node's Pods, ConfigMaps and Secrets.
	content NodeContent
}

// resolved is a ConfigMap or Secret reference and the object it named.
type resolved struct {
	kind string
	key  types.NamespacedName
	obj  runtime.Object
}

// nodeContent returns the content cut for node last time when its pods
// are the same (placement hands out the same pointers for the same pods)
// and the references resolve to the same objects; else nil.
func (m *Memo) nodeContent(node string, pods []*corev1.Pod, set *manifests.Set) *NodeContent {
	if m == nil {
		return nil
	}
	nm := m.nodes[node]
	if nm == nil || !slices.Equal(nm.pods, pods) {
		return nil
	}
	if nm.set != set {
		for _, r := range nm.refs {
			if set.Get(r.kind, r.key.Namespace, r.key.Name) != r.obj {
				return nil
			}
		}
		nm.set = set
	}
	return &nm.content
}
