package placement

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

const ns = "default"

func key(name string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: name} }

func ptr[T any](v T) *T { return &v }

type nodeOpt func(*Node)

// node is ready, seen now, with 4 cpu, 8Gi and 110 pods.
func node(name string, opts ...nodeOpt) Node {
	n := Node{
		Name:   name,
		Labels: map[string]string{"kubernetes.io/hostname": name},
		Ready:  true,
		Allocatable: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("4"),
			corev1.ResourceMemory: resource.MustParse("8Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		},
		LastSeen: now,
	}
	for _, o := range opts {
		o(&n)
	}
	return n
}

func alloc(cpu, mem string) nodeOpt {
	return func(n *Node) {
		n.Allocatable[corev1.ResourceCPU] = resource.MustParse(cpu)
		n.Allocatable[corev1.ResourceMemory] = resource.MustParse(mem)
	}
}
func maxPods(p string) nodeOpt {
	return func(n *Node) { n.Allocatable[corev1.ResourcePods] = resource.MustParse(p) }
}
func cordoned() nodeOpt              { return func(n *Node) { n.Unschedulable = true } }
func notReady() nodeOpt              { return func(n *Node) { n.Ready = false } }
func seen(ago time.Duration) nodeOpt { return func(n *Node) { n.LastSeen = now.Add(-ago) } }
func labels(kv ...string) nodeOpt {
	return func(n *Node) {
		for i := 0; i < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}

type podOpt func(*corev1.Pod)

func pod(name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "busybox"}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func req(cpu, mem string) podOpt {
	return func(p *corev1.Pod) {
		rl := corev1.ResourceList{}
		if cpu != "" {
			rl[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			rl[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		p.Spec.Containers[0].Resources.Requests = rl
	}
}
func app(a string) podOpt         { return func(p *corev1.Pod) { setLabel(p, "app", a) } }
func nodeName(n string) podOpt    { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func inNamespace(n string) podOpt { return func(p *corev1.Pod) { p.Namespace = n } }
func owner(uid string) podOpt {
	return func(p *corev1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", UID: types.UID(uid)}}
	}
}
func selector(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.NodeSelector = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			p.Spec.NodeSelector[kv[i]] = kv[i+1]
		}
	}
}
func affinity(terms ...corev1.NodeSelectorTerm) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms},
		}}
	}
}
func tolerate(key string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{
			Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule,
		})
	}
}
func port(hostPort int32, proto corev1.Protocol, ip string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{
			ContainerPort: 8080, HostPort: hostPort, Protocol: proto, HostIP: ip,
		})
	}
}
func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }

func setLabel(p *corev1.Pod, k, v string) {
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Labels[k] = v
}

// expr builds a node selector requirement.
func expr(k string, op corev1.NodeSelectorOperator, vs ...string) corev1.NodeSelectorRequirement {
	return corev1.NodeSelectorRequirement{Key: k, Operator: op, Values: vs}
}
func term(exprs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: exprs}
}
func fieldTerm(exprs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchFields: exprs}
}

// where maps each pod of a plan's PerNode to its node, by name.
func where(p Plan) map[string]string {
	out := map[string]string{}
	for n, pods := range p.PerNode {
		for _, pod := range pods {
			out[pod.Name] = n
		}
	}
	return out
}

func names(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}
