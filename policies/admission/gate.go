package admission

import (
	"strings"

	"github.com/shoal-run/shoal/manifests"
	corev1 "k8s.io/api/core/v1"
)

// Gate admits the pods that controllers create, as the API server's
// LimitRanger and then ResourceQuota admission plugins do: LimitRange
// defaults and bounds (ApplyLimitRange), then quota (Quotas.Admit). It
// holds the quota usage of one computation, so it is made afresh for each.
type Gate struct {
	ranges map[string][]*corev1.LimitRange // by namespace
	quotas *Quotas
}

// NewGate makes a Gate over the LimitRanges and ResourceQuotas of a
// desired state, with no pod counted yet.
func NewGate(set *manifests.Set) *Gate {
	g := &Gate{ranges: map[string][]*corev1.LimitRange{}}
	for _, lr := range manifests.Of[*corev1.LimitRange](set) {
		g.ranges[lr.Namespace] = append(g.ranges[lr.Namespace], lr)
	}
	g.quotas = NewQuotas(manifests.Of[*corev1.ResourceQuota](set))
	return g
}

// Existing counts a pod that already exists toward the quotas, with the
// LimitRange defaults it was made with; it is never refused. Call it for
// every existing pod before the first Admit.
func (g *Gate) Existing(pod *corev1.Pod) {
	p, _ := ApplyLimitRange(pod, g.ranges[pod.Namespace])
	g.quotas.Add(p)
}

// Admit decides on a pod a controller is about to create. It returns the
// pod to create (with LimitRange defaults applied; pod itself is never
// changed) and nil, and counts it toward the quotas; or the violations,
// LimitRange's first and, when there are none, the quotas', and counts
// nothing. Pods must be admitted in a deterministic order (for instance by
// namespace and name), since each admitted pod uses quota the next may need.
func (g *Gate) Admit(pod *corev1.Pod) (*corev1.Pod, []Violation) {
	p, vs := ApplyLimitRange(pod, g.ranges[pod.Namespace])
	if len(vs) > 0 {
		return nil, vs
	}
	if vs := g.quotas.Admit(p); len(vs) > 0 {
		return nil, vs
	}
	return p, nil
}

// QuotaStatus returns every quota's hard limits and the usage counted so
// far (Quotas.Status).
func (g *Gate) QuotaStatus() []QuotaStatus { return g.quotas.Status() }

// Forbidden renders a refused pod's violations as the API server's error,
// which a controller's FailedCreate event carries after "Error creating: ":
// `pods "web-1" is forbidden: exceeded quota: ...`, the messages in
// brackets when there are several. Each message is prefixed with its field
// when it has one.
func Forbidden(podName string, vs []Violation) string {
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.Message
		if v.Field != "" && !strings.HasPrefix(v.Message, v.Field+":") {
			msgs[i] = v.Field + ": " + v.Message
		}
	}
	body := strings.Join(msgs, ", ")
	if len(msgs) > 1 {
		body = "[" + body + "]"
	}
	return `pods "` + podName + `" is forbidden: ` + body
}
