package placement

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/reconciler/internal/memo"
)

// maxScore is the top of each score (least allocated, spread).
const maxScore = 1_000_000

// Filter failures, one bit each; reasonText gives their words.
const (
	failUnschedulable uint16 = 1 << iota
	failUnreachable
	failNotReady
	failAffinity
	failPorts
	failCPU
	failMemory
	failPods
	numFails = iota
)

var reasonText = [numFails]string{
	ReasonUnschedulable, ReasonUnreachable, ReasonNotReady, ReasonNodeAffinity,
	ReasonHostPorts, ReasonCPU, ReasonMemory, ReasonTooManyPods,
}

// nodeState is a node with what is counted on it so far.
type nodeState struct {
	node                   *Node
	idx                    int32
	lost                   bool
	allocCPU, allocMem     int64
	allocPods              int64 // -1: no limit
	cpu, mem, nzCPU, nzMem int64
	pods                   int64
	ports                  []hostPort
	desired                []*corev1.Pod
}

// ownerNode is a pod of an owner added to a node.
type ownerNode struct{ owner, node int32 }

type nodePod struct {
	node string
	key  types.NamespacedName
}

// actualPod is a pod a node reports.
type actualPod struct {
	nodePod
	pod *corev1.Pod
	// desired says the pod is desired on this node, in this plan (added
	// to it, which is live).
	desired bool
}

type computer struct {
	in      Input
	plan    Plan
	nodes   []nodeState // by name
	byName  map[string]*nodeState
	actuals []actualPod       // in the order of Input.Actual, without repeats
	actual  map[nodePod]int32 // index into actuals
	// running are the nodes reporting each pod, made at the first adoption.
	running map[types.NamespacedName][]string
	// inLedger counts the desired pods that have a placement in the ledger.
	inLedger int
	owners   map[string]int32
	// counts are owner -> node index -> desired pods, made when the first
	// pod is scheduled (spread needs them); added are the owners' pods
	// added until then.
	counts []map[int32]int32
	added  []ownerNode
	// buf holds the counts of bufOwner densely, by node index.
	buf      []int32
	bufOwner int32
}

// Compute decides where every desired bare pod runs. It is pure and
// deterministic; see the package documentation for the rules.
func Compute(in Input) Plan {
	lostAfter := in.NodeLostAfter
	if lostAfter <= 0 {
		lostAfter = DefaultNodeLostAfter
	}
	c := &computer{
		in: in,
		plan: Plan{
			Place:   map[types.NamespacedName]string{},
			PerNode: make(map[string][]*corev1.Pod, len(in.Nodes)),
			Pending: map[types.NamespacedName]string{},
			Failed:  map[types.NamespacedName]string{},
		},
		nodes:    make([]nodeState, len(in.Nodes)),
		byName:   make(map[string]*nodeState, len(in.Nodes)),
		actuals:  make([]actualPod, 0, len(in.Actual)),
		actual:   make(map[nodePod]int32, len(in.Actual)),
		owners:   map[string]int32{},
		buf:      make([]int32, len(in.Nodes)),
		bufOwner: -1,
	}
	c.indexNodes(lostAfter)
	for _, a := range in.Actual {
		if a.Pod == nil {
			continue
		}
		np := nodePod{a.Node, keyOf(a.Pod)}
		if _, dup := c.actual[np]; dup {
			continue
		}
		c.actual[np] = int32(len(c.actuals))
		c.actuals = append(c.actuals, actualPod{nodePod: np, pod: a.Pod})
	}

	pods := c.podInfos()
	c.added = make([]ownerNode, 0, len(pods))
	var queue []*podInfo
	for _, p := range pods {
		if !c.assignKnown(p) {
			queue = append(queue, p)
		}
	}
	c.countLeftovers()
	feasible := make([]int32, 0, len(c.nodes))
	for _, p := range queue {
		feasible = c.schedule(p, feasible[:0])
	}
	c.finish(pods)
	if m := in.Memo; m != nil {
		m.facts.EndStep()
		m.bound.EndStep()
	}
	return c.plan
}

func (c *computer) indexNodes(lostAfter time.Duration) {
	sorted := make([]*Node, len(c.in.Nodes))
	for i := range c.in.Nodes {
		sorted[i] = &c.in.Nodes[i]
	}
	slices.SortStableFunc(sorted, func(a, b *Node) int { return strings.Compare(a.Name, b.Name) })
	for i, n := range sorted {
		ns := &c.nodes[i]
		*ns = nodeState{
			node:      n,
			idx:       int32(i),
			lost:      c.in.Now.Sub(n.LastSeen) >= lostAfter,
			allocPods: -1,
		}
		if q, ok := n.Allocatable[corev1.ResourceCPU]; ok {
			ns.allocCPU = q.MilliValue()
		}
		if q, ok := n.Allocatable[corev1.ResourceMemory]; ok {
			ns.allocMem = q.Value()
		}
		if q, ok := n.Allocatable[corev1.ResourcePods]; ok {
			ns.allocPods = q.Value()
		}
		if _, dup := c.byName[n.Name]; !dup {
			c.byName[n.Name] = ns
		}
		c.plan.PerNode[n.Name] = []*corev1.Pod{}
	}
}

// podInfos sorts the desired pods by namespace/name and computes what the
// filters need.
func (c *computer) podInfos() []*podInfo {
	sorted := make([]*corev1.Pod, 0, len(c.in.Pods))
	for _, pod := range c.in.Pods {
		if pod != nil {
			sorted = append(sorted, pod)
		}
	}
	slices.SortStableFunc(sorted, func(a, b *corev1.Pod) int {
		if x := strings.Compare(a.Namespace, b.Namespace); x != 0 {
			return x
		}
		return strings.Compare(a.Name, b.Name)
	})
	var facts *memo.Map[*corev1.Pod, *podFacts]
	var slab []podFacts // the facts, without a Memo
	if c.in.Memo != nil {
		facts = &c.in.Memo.facts
	} else {
		slab = make([]podFacts, len(sorted))
	}
	infos := make([]podInfo, 0, len(sorted))
	out := make([]*podInfo, 0, len(sorted))
	for _, pod := range sorted {
		if len(infos) > 0 && keyOf(pod) == infos[len(infos)-1].key {
			continue
		}
		var f *podFacts
		if facts != nil {
			f = facts.Get(pod, func() *podFacts { return factsOf(&podFacts{}, pod) })
		} else {
			f = factsOf(&slab[len(infos)], pod)
		}
		p := podInfo{podFacts: f, owner: -1}
		if k := p.ownerKey; k != "" {
			id, ok := c.owners[k]
			if !ok {
				id = int32(len(c.owners))
				c.owners[k] = id
			}
			p.owner = id
		}
		infos = append(infos, p)
		out = append(out, &infos[len(infos)-1])
	}
	return out
}

// assignKnown handles a pod whose node is already decided: by
// spec.nodeName, by the ledger, or by a live node running it. It returns
// false for a pod to schedule.
func (c *computer) assignKnown(p *podInfo) bool {
	placed, hasPlacement := c.in.Placements[p.key]
	if hasPlacement {
		c.inLedger++
	}
	hasPlacement = hasPlacement && placed != ""
	var target string
	switch {
	case p.pod.Spec.NodeName != "":
		target = p.pod.Spec.NodeName
		if c.byName[target] == nil {
			if hasPlacement && placed == target {
				c.fail(p, target)
			} else {
				c.plan.Pending[p.key] = fmt.Sprintf("node %q named in spec.nodeName does not exist", target)
			}
			return true
		}
	case hasPlacement:
		target = placed
		if c.byName[target] == nil {
			c.fail(p, target)
			return true
		}
	default:
		target = c.adoptable(p.key)
		if target == "" {
			return false
		}
	}
	if !hasPlacement || placed != target {
		c.plan.Place[p.key] = target
	}
	ns := c.byName[target]
	if ns.lost {
		c.fail(p, target)
		return true
	}
	c.add(p, ns)
	return true
}

// adoptable returns the first live node, by name, reporting the pod.
func (c *computer) adoptable(key types.NamespacedName) string {
	if c.running == nil {
		c.running = make(map[types.NamespacedName][]string, len(c.actuals))
		for _, a := range c.actuals {
			c.running[a.key] = append(c.running[a.key], a.node)
		}
	}
	best := ""
	for _, n := range c.running[key] {
		if ns := c.byName[n]; ns != nil && !ns.lost && (best == "" || n < best) {
			best = n
		}
	}
	return best
}

func (c *computer) fail(p *podInfo, node string) {
	c.plan.Failed[p.key] = fmt.Sprintf("Node %v which was running pod %v is unresponsive", node, p.key.Name)
}

// add puts a desired pod on a live node and counts it.
func (c *computer) add(p *podInfo, ns *nodeState) {
	pod := p.pod
	if pod.Spec.NodeName != ns.node.Name {
		var bound *memo.Map[boundPod, *corev1.Pod]
		if c.in.Memo != nil {
			bound = &c.in.Memo.bound
		}
		pod = bound.Get(boundPod{pod, ns.node.Name}, func() *corev1.Pod {
			cp := *pod
			cp.Spec.NodeName = ns.node.Name
			return &cp
		})
	}
	ns.desired = append(ns.desired, pod)
	if p.owner >= 0 {
		if c.counts == nil {
			c.added = append(c.added, ownerNode{p.owner, ns.idx})
		} else {
			c.count(p.owner, ns.idx)
			if p.owner == c.bufOwner {
				c.buf[ns.idx]++
			}
		}
	}
	if i, ok := c.actual[nodePod{ns.node.Name, p.key}]; ok {
		a := &c.actuals[i]
		a.desired = true
		if terminal(a.pod) {
			return
		}
	}
	ns.count(p.cpu, p.mem, p.nzCPU, p.nzMem, p.ports)
}

func (ns *nodeState) count(cpu, mem, nzCPU, nzMem int64, ports []hostPort) {
	ns.cpu += cpu
	ns.mem += mem
	ns.nzCPU += nzCPU
	ns.nzMem += nzMem
	ns.pods++
	ns.ports = append(ns.ports, ports...)
}

func terminal(p *corev1.Pod) bool {
	return p != nil && (p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed)
}

// countLeftovers counts, on live nodes, the pods they run that are not
// desired there: they hold their resources until they are gone.
func (c *computer) countLeftovers() {
	for _, a := range c.actuals {
		ns, pod := c.byName[a.node], a.pod
		if ns == nil || ns.lost || terminal(pod) || a.desired {
			continue
		}
		cpu, nzCPU := podRequest(&pod.Spec, corev1.ResourceCPU)
		mem, nzMem := podRequest(&pod.Spec, corev1.ResourceMemory)
		ns.count(cpu, mem, nzCPU, nzMem, hostPorts(&pod.Spec))
	}
}

// count counts a pod of owner on node index idx.
func (c *computer) count(owner, idx int32) {
	m := c.counts[owner]
	if m == nil {
		m = map[int32]int32{}
		c.counts[owner] = m
	}
	m[idx]++
}

// ownerCounts returns the desired pods of an owner per node index.
func (c *computer) ownerCounts(owner int32) []int32 {
	if c.counts == nil {
		c.counts = make([]map[int32]int32, len(c.owners))
		for _, a := range c.added {
			c.count(a.owner, a.node)
		}
		c.added = nil
	}
	if owner != c.bufOwner {
		clear(c.buf)
		for i, n := range c.counts[owner] {
			c.buf[i] = n
		}
		c.bufOwner = owner
	}
	return c.buf
}

// filter returns the failures of a pod on a node, the first failing filter
// only, as kube-scheduler reports them.
func (c *computer) filter(p *podInfo, ns *nodeState) uint16 {
	n := ns.node
	if n.Unschedulable && !p.tolUnsched {
		return failUnschedulable
	}
	if ns.lost {
		return failUnreachable
	}
	if !n.Ready && !p.tolNotReady {
		return failNotReady
	}
	if !p.matchesNode(n) {
		return failAffinity
	}
	for _, a := range p.ports {
		for _, b := range ns.ports {
			if a.conflicts(b) {
				return failPorts
			}
		}
	}
	var f uint16
	if ns.allocPods >= 0 && ns.pods+1 > ns.allocPods {
		f |= failPods
	}
	if p.cpu > 0 && p.cpu > ns.allocCPU-ns.cpu {
		f |= failCPU
	}
	if p.mem > 0 && p.mem > ns.allocMem-ns.mem {
		f |= failMemory
	}
	return f
}

// schedule filters every node, scores the feasible ones and places the
// pod on the best, or makes it Pending.
func (c *computer) schedule(p *podInfo, feasible []int32) []int32 {
	var fails [numFails]int
	var counts []int32
	if p.owner >= 0 {
		counts = c.ownerCounts(p.owner)
	}
	var maxCount int32
	for i := range c.nodes {
		ns := &c.nodes[i]
		if f := c.filter(p, ns); f != 0 {
			for b := range numFails {
				if f&(1<<b) != 0 {
					fails[b]++
				}
			}
			continue
		}
		feasible = append(feasible, int32(i))
		if counts != nil {
			maxCount = max(maxCount, counts[i])
		}
	}
	if len(feasible) == 0 {
		c.plan.Pending[p.key] = c.fitError(&fails)
		return feasible
	}
	best, bestScore := int32(-1), int64(-1)
	for _, i := range feasible {
		ns := &c.nodes[i]
		s := (freeFraction(ns.allocCPU, ns.nzCPU+p.nzCPU) + freeFraction(ns.allocMem, ns.nzMem+p.nzMem)) / 2
		if counts == nil || maxCount == 0 {
			s += maxScore
		} else {
			s += int64(maxCount-counts[i]) * maxScore / int64(maxCount)
		}
		if s > bestScore {
			best, bestScore = i, s
		}
	}
	ns := &c.nodes[best]
	c.plan.Place[p.key] = ns.node.Name
	c.add(p, ns)
	return feasible
}

// freeFraction is kube-scheduler's least-allocated score of one resource.
func freeFraction(alloc, requested int64) int64 {
	if alloc <= 0 || requested > alloc {
		return 0
	}
	return int64(float64(alloc-requested) / float64(alloc) * maxScore)
}

// fitError writes kube-scheduler's FailedScheduling message.
func (c *computer) fitError(fails *[numFails]int) string {
	if len(c.nodes) == 0 {
		return ReasonNoNodes
	}
	var parts []string
	for b, n := range fails {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, reasonText[b]))
		}
	}
	sort.Strings(parts)
	return fmt.Sprintf("0/%d nodes are available: %s.", len(c.nodes), strings.Join(parts, ", "))
}

// finish sorts every node's pods and lists the placements to prune.
func (c *computer) finish(pods []*podInfo) {
	for i := range c.nodes {
		ns := &c.nodes[i]
		if c.byName[ns.node.Name] != ns {
			continue
		}
		slices.SortFunc(ns.desired, func(a, b *corev1.Pod) int {
			if x := strings.Compare(a.Namespace, b.Namespace); x != 0 {
				return x
			}
			return strings.Compare(a.Name, b.Name)
		})
		if len(ns.desired) > 0 {
			c.plan.PerNode[ns.node.Name] = ns.desired
		}
	}
	if c.inLedger == len(c.in.Placements) {
		return // every placement is of a desired pod
	}
	desired := make(map[types.NamespacedName]bool, len(pods))
	for _, p := range pods {
		desired[p.key] = true
	}
	for k := range c.in.Placements {
		if !desired[k] {
			c.plan.Remove = append(c.plan.Remove, k)
		}
	}
	slices.SortFunc(c.plan.Remove, func(a, b types.NamespacedName) int {
		if x := strings.Compare(a.Namespace, b.Namespace); x != 0 {
			return x
		}
		return strings.Compare(a.Name, b.Name)
	})
}
