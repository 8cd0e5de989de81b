package placement

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
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

type nodePod struct {
	node string
	key  types.NamespacedName
}

type computer struct {
	in       Input
	plan     Plan
	nodes    []nodeState // by name
	byName   map[string]*nodeState
	actual   map[nodePod]*corev1.Pod
	running  map[types.NamespacedName][]string // pod -> nodes reporting it
	assigned map[types.NamespacedName]string   // pod -> live node, this plan
	owners   map[string]int32
	counts   []map[int32]int32 // owner -> node index -> desired pods
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
		actual:   make(map[nodePod]*corev1.Pod, len(in.Actual)),
		running:  make(map[types.NamespacedName][]string, len(in.Actual)),
		assigned: make(map[types.NamespacedName]string, len(in.Pods)),
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
		c.actual[np] = a.Pod
		c.running[np.key] = append(c.running[np.key], a.Node)
	}

	pods := c.podInfos()
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
	infos := make([]podInfo, 0, len(sorted))
	out := make([]*podInfo, 0, len(sorted))
	for _, pod := range sorted {
		if len(infos) > 0 && keyOf(pod) == infos[len(infos)-1].key {
			continue
		}
		spec := &pod.Spec
		p := podInfo{pod: pod, key: keyOf(pod), owner: -1, ports: hostPorts(spec)}
		p.cpu, p.nzCPU = podRequest(spec, corev1.ResourceCPU)
		p.mem, p.nzMem = podRequest(spec, corev1.ResourceMemory)
		if k := ownerKey(pod); k != "" {
			id, ok := c.owners[k]
			if !ok {
				id = int32(len(c.counts))
				c.owners[k] = id
				c.counts = append(c.counts, map[int32]int32{})
			}
			p.owner = id
		}
		for k, v := range spec.NodeSelector {
			p.selector = append(p.selector, labelPair{k, v})
		}
		sort.Slice(p.selector, func(i, j int) bool { return p.selector[i].key < p.selector[j].key })
		if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
			p.hasAffinity = true
			p.terms = a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		}
		p.tolUnsched = tolerates(spec.Tolerations, TaintUnschedulable)
		p.tolNotReady = tolerates(spec.Tolerations, TaintNotReady)
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
	c.assigned[p.key] = ns.node.Name
	pod := p.pod
	if pod.Spec.NodeName != ns.node.Name {
		cp := *pod
		cp.Spec.NodeName = ns.node.Name
		pod = &cp
	}
	ns.desired = append(ns.desired, pod)
	if p.owner >= 0 {
		c.counts[p.owner][ns.idx]++
		if p.owner == c.bufOwner {
			c.buf[ns.idx]++
		}
	}
	if terminal(c.actual[nodePod{ns.node.Name, p.key}]) {
		return
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
	for np, pod := range c.actual {
		ns := c.byName[np.node]
		if ns == nil || ns.lost || terminal(pod) || c.assigned[np.key] == np.node {
			continue
		}
		cpu, nzCPU := podRequest(&pod.Spec, corev1.ResourceCPU)
		mem, nzMem := podRequest(&pod.Spec, corev1.ResourceMemory)
		ns.count(cpu, mem, nzCPU, nzMem, hostPorts(&pod.Spec))
	}
}

// ownerCounts returns the desired pods of an owner per node index.
func (c *computer) ownerCounts(owner int32) []int32 {
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
