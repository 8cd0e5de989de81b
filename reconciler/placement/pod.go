package placement

import (
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/reconciler/internal/memo"
)

// kube-scheduler's requests for scoring a container that sets none.
const (
	defaultMilliCPU = 100
	defaultMemory   = 200 * 1024 * 1024
)

// podInfo is a pod with what the filters and scores need, computed once.
type podInfo struct {
	*podFacts
	owner int32 // index into computer.owners, -1 for none
}

// podFacts are what podInfo derives from the pod alone (a Memo keeps
// them).
type podFacts struct {
	pod          *corev1.Pod
	key          types.NamespacedName
	cpu, mem     int64 // requests: milli-cpu, bytes
	nzCPU, nzMem int64 // the same with kube-scheduler's non-zero defaults
	ports        []hostPort
	ownerKey     string // ownerKey(pod)
	selector     []labelPair
	terms        []corev1.NodeSelectorTerm
	hasAffinity  bool
	tolUnsched   bool // tolerates node.kubernetes.io/unschedulable:NoSchedule
	tolNotReady  bool // tolerates node.kubernetes.io/not-ready:NoSchedule
}

// factsOf computes a pod's facts into p.
func factsOf(p *podFacts, pod *corev1.Pod) *podFacts {
	spec := &pod.Spec
	*p = podFacts{pod: pod, key: keyOf(pod), ports: hostPorts(spec), ownerKey: ownerKey(pod)}
	p.cpu, p.nzCPU = podRequest(spec, corev1.ResourceCPU)
	p.mem, p.nzMem = podRequest(spec, corev1.ResourceMemory)
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
	return p
}

// Memo is what Compute remembers across the leader's steps: what it
// derives from each desired pod, and the copies of pods it binds to their
// node. The zero Memo is ready to use; it is not safe for concurrent use.
type Memo struct {
	facts memo.Map[*corev1.Pod, *podFacts]
	bound memo.Map[boundPod, *corev1.Pod]
}

// boundPod is a desired pod on a node other than its spec.nodeName.
type boundPod struct {
	pod  *corev1.Pod
	node string
}

type labelPair struct{ key, value string }

// hostPort is a port a pod binds on its node.
type hostPort struct {
	protocol corev1.Protocol
	port     int32
	ip       string
}

func (a hostPort) conflicts(b hostPort) bool {
	return a.port == b.port && a.protocol == b.protocol &&
		(a.ip == b.ip || a.ip == wildcardIP || b.ip == wildcardIP)
}

const wildcardIP = "0.0.0.0"

func keyOf(p *corev1.Pod) types.NamespacedName {
	return types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
}

// ownerKey is the spread group of a pod: the UID of its first owner
// reference, else its namespace and app label; "" for none.
func ownerKey(p *corev1.Pod) string {
	if len(p.OwnerReferences) > 0 {
		r := p.OwnerReferences[0]
		if r.UID != "" {
			return "uid:" + string(r.UID)
		}
		return "ref:" + p.Namespace + "/" + r.Kind + "/" + r.Name
	}
	if app, ok := p.Labels["app"]; ok {
		return "app:" + p.Namespace + "/" + app
	}
	return ""
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// request returns a container's request of r, and the same defaulted for
// scoring when the container does not set it.
func request(c *corev1.Container, r corev1.ResourceName) (req, nonZero int64) {
	q, ok := c.Resources.Requests[r]
	if !ok {
		if r == corev1.ResourceCPU {
			return 0, defaultMilliCPU
		}
		return 0, defaultMemory
	}
	v := quantity(q, r)
	return v, v
}

func quantity(q resource.Quantity, r corev1.ResourceName) int64 {
	if r == corev1.ResourceCPU {
		return q.MilliValue()
	}
	return q.Value()
}

// podRequest computes a pod's request of r as Kubernetes does: the sum of
// its containers, at least the largest init container (sidecars started
// before it running beside it, and sidecars running throughout), pod-level
// requests when set, plus the overhead.
func podRequest(spec *corev1.PodSpec, r corev1.ResourceName) (req, nonZero int64) {
	for i := range spec.Containers {
		a, b := request(&spec.Containers[i], r)
		req += a
		nonZero += b
	}
	var sidecars, sidecarsNZ, initMax, initMaxNZ int64
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		a, b := request(c, r)
		if isSidecar(c) {
			req += a
			nonZero += b
			sidecars += a
			sidecarsNZ += b
			initMax = max(initMax, sidecars)
			initMaxNZ = max(initMaxNZ, sidecarsNZ)
			continue
		}
		initMax = max(initMax, sidecars+a)
		initMaxNZ = max(initMaxNZ, sidecarsNZ+b)
	}
	req = max(req, initMax)
	nonZero = max(nonZero, initMaxNZ)
	if spec.Resources != nil {
		if q, ok := spec.Resources.Requests[r]; ok {
			req = quantity(q, r)
			nonZero = req
		}
	}
	if q, ok := spec.Overhead[r]; ok {
		req += quantity(q, r)
		nonZero += quantity(q, r)
	}
	return req, nonZero
}

// hostPorts lists the ports a pod binds on its node (containers and
// sidecars), with Kubernetes' defaults: TCP, 0.0.0.0.
func hostPorts(spec *corev1.PodSpec) []hostPort {
	var out []hostPort
	add := func(c *corev1.Container) {
		for _, p := range c.Ports {
			if p.HostPort <= 0 {
				continue
			}
			hp := hostPort{protocol: p.Protocol, port: p.HostPort, ip: p.HostIP}
			if hp.protocol == "" {
				hp.protocol = corev1.ProtocolTCP
			}
			if hp.ip == "" {
				hp.ip = wildcardIP
			}
			out = append(out, hp)
		}
	}
	for i := range spec.Containers {
		add(&spec.Containers[i])
	}
	for i := range spec.InitContainers {
		if isSidecar(&spec.InitContainers[i]) {
			add(&spec.InitContainers[i])
		}
	}
	return out
}

// tolerates says whether tolerations admit a taint with an empty value and
// effect NoSchedule.
func tolerates(tols []corev1.Toleration, key string) bool {
	for _, t := range tols {
		if t.Effect != "" && t.Effect != corev1.TaintEffectNoSchedule {
			continue
		}
		if t.Key != "" && t.Key != key {
			continue
		}
		switch t.Operator {
		case corev1.TolerationOpExists:
			return true
		case "", corev1.TolerationOpEqual:
			if t.Key != "" && t.Value == "" {
				return true
			}
		}
	}
	return false
}

// matchesNode applies spec.nodeSelector and the required node affinity.
func (p *podInfo) matchesNode(n *Node) bool {
	for _, l := range p.selector {
		if v, ok := n.Labels[l.key]; !ok || v != l.value {
			return false
		}
	}
	if !p.hasAffinity {
		return true
	}
	for i := range p.terms {
		if termMatches(&p.terms[i], n) {
			return true
		}
	}
	return false
}

// termMatches ANDs a term's expressions; an empty term matches nothing.
func termMatches(t *corev1.NodeSelectorTerm, n *Node) bool {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return false
	}
	for i := range t.MatchExpressions {
		e := &t.MatchExpressions[i]
		v, ok := n.Labels[e.Key]
		if !requirementMatches(e, v, ok) {
			return false
		}
	}
	for i := range t.MatchFields {
		e := &t.MatchFields[i]
		if !requirementMatches(e, n.Name, e.Key == "metadata.name") {
			return false
		}
	}
	return true
}

func requirementMatches(e *corev1.NodeSelectorRequirement, v string, has bool) bool {
	switch e.Operator {
	case corev1.NodeSelectorOpIn:
		return has && contains(e.Values, v)
	case corev1.NodeSelectorOpNotIn:
		return !has || !contains(e.Values, v)
	case corev1.NodeSelectorOpExists:
		return has
	case corev1.NodeSelectorOpDoesNotExist:
		return !has
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if !has || len(e.Values) != 1 {
			return false
		}
		got, err1 := strconv.ParseInt(v, 10, 64)
		want, err2 := strconv.ParseInt(e.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if e.Operator == corev1.NodeSelectorOpGt {
			return got > want
		}
		return got < want
	}
	return false
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// MatchesNode reports whether a pod spec's nodeSelector and required node
// affinity accept node n, by the rules Compute filters with. DaemonSets use
// it to choose their nodes.
func MatchesNode(spec *corev1.PodSpec, n *Node) bool {
	for k, v := range spec.NodeSelector {
		if got, ok := n.Labels[k]; !ok || got != v {
			return false
		}
	}
	a := spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	for i := range terms {
		if termMatches(&terms[i], n) {
			return true
		}
	}
	return false
}
