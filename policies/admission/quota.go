package admission

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// Quota rule names, as violations carry them.
const (
	// RuleHard: the pod would take a quota's usage over its hard limit.
	RuleHard = "hard"
	// RuleRequired: the quota limits cpu or memory and a container does
	// not say how much it needs.
	RuleRequired = "required"
)

// QuotaStatus is one ResourceQuota's state, as `shoal get quota` shows it.
type QuotaStatus struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Hard is the quota's spec.hard.
	Hard corev1.ResourceList `json:"hard"`
	// Used holds, for every hard resource shoal counts, what the pods
	// admitted so far use (0 when none).
	Used corev1.ResourceList `json:"used"`
	// Untracked lists the hard resources shoal does not count, so does
	// not enforce: object counts other than pods (services, configmaps,
	// count/deployments.apps, ...) and storage.
	Untracked []corev1.ResourceName `json:"untracked,omitempty"`
}

// Quotas accounts the pods of a cluster against its ResourceQuotas, as
// Kubernetes' ResourceQuota admission plugin and quota controller do for
// pods. It counts, per quota: pods and count/pods; cpu, memory and
// ephemeral-storage (bare names are requests) with their requests. and
// limits. forms; hugepages-*; and requests.* of extended resources. Usage
// is Kubernetes' (the containers' sum, at least the largest init
// container, pod-level resources and overhead included); a Failed or
// Succeeded pod counts only toward count/pods. Scopes Terminating,
// NotTerminating, BestEffort and NotBestEffort (and a scopeSelector on
// those and PriorityClass) choose the pods a quota counts.
//
// It is a value built for one computation: fill it with Add in any order,
// then Admit new pods one by one in a deterministic order, since each
// admitted pod counts against the next. It never reads a clock or the
// quotas' status.
type Quotas struct {
	all []*quotaState // by namespace, then name
}

type quotaState struct {
	q         *corev1.ResourceQuota
	tracked   []corev1.ResourceName // hard resources counted, sorted
	untracked []corev1.ResourceName
	used      corev1.ResourceList
}

// NewQuotas starts the accounting with no pods counted. The quotas are
// read, never changed.
func NewQuotas(quotas []*corev1.ResourceQuota) *Quotas {
	q := &Quotas{}
	for _, rq := range quotas {
		if rq == nil {
			continue
		}
		st := &quotaState{q: rq, used: corev1.ResourceList{}}
		for _, k := range sortedNames(rq.Spec.Hard) {
			if tracksPodResource(k) {
				st.tracked = append(st.tracked, k)
				st.used[k] = *resource.NewQuantity(0, resource.DecimalSI)
			} else {
				st.untracked = append(st.untracked, k)
			}
		}
		q.all = append(q.all, st)
	}
	slices.SortFunc(q.all, func(a, b *quotaState) int {
		if c := strings.Compare(a.q.Namespace, b.q.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.q.Name, b.q.Name)
	})
	return q
}

// Add counts a pod that already exists, whatever the quotas say (a quota
// lowered below its usage refuses new pods, and never removes running ones).
func (q *Quotas) Add(pod *corev1.Pod) { q.AddUsage(pod, PodUsage(pod)) }

// Usage is what one pod uses of quotas (Kubernetes' pod usage: requests
// and limits summed as the quota names them, and the pod counts), as
// PodUsage computes it. It depends on the pod's spec and phase only, so a
// caller may keep it while those do not change.
type Usage struct{ list corev1.ResourceList }

// PodUsage computes what pod uses of quotas.
func PodUsage(pod *corev1.Pod) Usage { return Usage{podUsage(pod)} }

// AddUsage is Add for a pod whose PodUsage is u. Counting allocates
// nothing.
func (q *Quotas) AddUsage(pod *corev1.Pod, u Usage) {
	for _, st := range q.all {
		if st.q.Namespace != pod.Namespace || len(st.tracked) == 0 || !scopesMatch(st.q, pod) {
			continue
		}
		for _, k := range st.tracked {
			if v, ok := u.list[k]; ok {
				used := st.used[k]
				used.Add(v)
				st.used[k] = used
			}
		}
	}
}

// Admit decides whether a new pod fits every quota of its namespace that
// counts it. When it fits, it is counted and Admit returns nil. Otherwise
// nothing is counted and each violation carries Kubernetes' message:
// "exceeded quota: NAME, requested: requests.memory=1Gi, used:
// requests.memory=3Gi, limited: requests.memory=4Gi" (rule hard), or, for a
// quota on cpu or memory that a container gives no request or limit for,
// "failed quota: NAME: must specify limits.cpu for: app; requests.memory
// for: app,sidecar" (rule required). Kubernetes stops at the first quota
// that refuses; Admit reports every one.
func (q *Quotas) Admit(pod *corev1.Pod) []Violation {
	usage := podUsage(pod)
	matching := q.matching(pod)
	var out []Violation
	for _, st := range matching {
		policy := "ResourceQuota/" + st.q.Name
		if msg := missingResources(st.tracked, pod); msg != "" {
			out = append(out, Violation{Policy: policy, Rule: RuleRequired,
				Message: fmt.Sprintf("failed quota: %s: must specify %s", st.q.Name, msg)})
			continue
		}
		requested := mask(usage, st.tracked)
		newUsage := mask(st.used, sortedNames(requested))
		addTo(newUsage, requested)
		var exceeded []corev1.ResourceName
		for _, k := range sortedNames(newUsage) {
			if hard, ok := st.q.Spec.Hard[k]; ok && greater(newUsage[k], hard) {
				exceeded = append(exceeded, k)
			}
		}
		if len(exceeded) > 0 {
			out = append(out, Violation{Policy: policy, Rule: RuleHard,
				Message: fmt.Sprintf("exceeded quota: %s, requested: %s, used: %s, limited: %s", st.q.Name,
					prettyPrint(mask(requested, exceeded)), prettyPrint(mask(st.used, exceeded)), prettyPrint(mask(st.q.Spec.Hard, exceeded)))})
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, st := range matching {
		addTo(st.used, mask(usage, st.tracked))
	}
	return nil
}

// Status returns every quota's hard limits and usage, by namespace and name.
// The lists are copies.
func (q *Quotas) Status() []QuotaStatus {
	out := make([]QuotaStatus, 0, len(q.all))
	for _, st := range q.all {
		s := QuotaStatus{Namespace: st.q.Namespace, Name: st.q.Name, Hard: st.q.Spec.Hard.DeepCopy(),
			Used: st.used.DeepCopy(), Untracked: slices.Clone(st.untracked)}
		out = append(out, s)
	}
	return out
}

// matching returns the quotas of the pod's namespace that count it: those
// tracking a pod resource whose scopes all match the pod.
func (q *Quotas) matching(pod *corev1.Pod) []*quotaState {
	var out []*quotaState
	for _, st := range q.all {
		if st.q.Namespace != pod.Namespace || len(st.tracked) == 0 {
			continue
		}
		if scopesMatch(st.q, pod) {
			out = append(out, st)
		}
	}
	return out
}

// greater reports whether a > b.
func greater(a, b resource.Quantity) bool { return a.Cmp(b) > 0 }

// mask returns the entries of l named in names.
func mask(l corev1.ResourceList, names []corev1.ResourceName) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, k := range names {
		if v, ok := l[k]; ok {
			out[k] = v.DeepCopy()
		}
	}
	return out
}

// computeNames are the resources a pod's quota usage has under these names
// (plus the requests./limits. forms that podComputeUsage adds).
var podQuotaNames = map[corev1.ResourceName]bool{
	corev1.ResourcePods: true, "count/pods": true,
	corev1.ResourceCPU: true, corev1.ResourceRequestsCPU: true, corev1.ResourceLimitsCPU: true,
	corev1.ResourceMemory: true, corev1.ResourceRequestsMemory: true, corev1.ResourceLimitsMemory: true,
	corev1.ResourceEphemeralStorage: true, corev1.ResourceRequestsEphemeralStorage: true, corev1.ResourceLimitsEphemeralStorage: true,
}

// tracksPodResource reports whether a quota's hard resource is one that
// pods use (Kubernetes' pod evaluator's MatchingResources).
func tracksPodResource(k corev1.ResourceName) bool {
	s := string(k)
	switch {
	case podQuotaNames[k]:
		return true
	case strings.HasPrefix(s, corev1.ResourceHugePagesPrefix), strings.HasPrefix(s, "requests."+corev1.ResourceHugePagesPrefix):
		return true
	case strings.HasPrefix(s, "requests.") && isExtendedResource(strings.TrimPrefix(s, "requests.")):
		return true
	}
	return false
}

// isExtendedResource reports whether a resource name is an extended
// resource (vendor.example/thing, outside kubernetes.io).
func isExtendedResource(s string) bool {
	return strings.Contains(s, "/") && !strings.HasPrefix(s, "requests.") && !strings.Contains(s, "kubernetes.io/")
}

// podUsage is what a pod uses of quotas (Kubernetes' PodUsageFunc).
func podUsage(pod *corev1.Pod) corev1.ResourceList {
	out := corev1.ResourceList{"count/pods": *resource.NewQuantity(1, resource.DecimalSI)}
	if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
		return out
	}
	spec := &pod.Spec
	reqs := podTotals(spec, requestsOf)
	lims := podTotals(spec, limitsOf)
	if spec.Resources != nil {
		for k, v := range spec.Resources.Requests {
			reqs[k] = v.DeepCopy()
		}
		for k, v := range spec.Resources.Limits {
			lims[k] = v.DeepCopy()
		}
	}
	addTo(reqs, spec.Overhead)
	for k, v := range spec.Overhead {
		if l, ok := lims[k]; ok {
			l.Add(v)
			lims[k] = l
		}
	}
	addTo(out, computeUsage(reqs, lims))
	out[corev1.ResourcePods] = *resource.NewQuantity(1, resource.DecimalSI)
	return out
}

// computeUsage maps requests and limits to quota resource names
// (Kubernetes' podComputeUsageHelper, without pods).
func computeUsage(requests, limits corev1.ResourceList) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if q, ok := requests[r]; ok {
			out[r] = q.DeepCopy()
			out["requests."+r] = q.DeepCopy()
		}
		if q, ok := limits[r]; ok {
			out["limits."+r] = q.DeepCopy()
		}
	}
	for k, q := range requests {
		switch {
		case strings.HasPrefix(string(k), corev1.ResourceHugePagesPrefix):
			out[k] = q.DeepCopy()
			out["requests."+k] = q.DeepCopy()
		case isExtendedResource(string(k)):
			out["requests."+k] = q.DeepCopy()
		}
	}
	return out
}

// requiredSet holds the resources that a quota makes every container name
// (Kubernetes' pod evaluator validationSet).
var requiredSet = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
	corev1.ResourceMemory, corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory,
}

// missingResources returns, for a quota tracking tracked, "RESOURCE for:
// c1,c2; ..." naming the containers that give no amount for a cpu or
// memory resource the quota limits, or "" (Kubernetes' pod evaluator
// Constraints).
func missingResources(tracked []corev1.ResourceName, pod *corev1.Pod) string {
	missing := map[corev1.ResourceName][]string{}
	check := func(c *corev1.Container) {
		have := computeUsage(requestsOf(c.Resources), c.Resources.Limits)
		for _, r := range requiredSet {
			if !slices.Contains(tracked, r) {
				continue
			}
			if _, ok := have[r]; !ok && !slices.Contains(missing[r], c.Name) {
				missing[r] = append(missing[r], c.Name)
			}
		}
	}
	for i := range pod.Spec.Containers {
		check(&pod.Spec.Containers[i])
	}
	for i := range pod.Spec.InitContainers {
		check(&pod.Spec.InitContainers[i])
	}
	var parts []string
	for _, r := range requiredSet { // sorted
		if names := missing[r]; len(names) > 0 {
			slices.Sort(names)
			parts = append(parts, fmt.Sprintf("%s for: %s", r, strings.Join(names, ",")))
		}
	}
	return strings.Join(parts, "; ")
}

// scopesMatch reports whether every scope of a quota (spec.scopes and
// spec.scopeSelector) matches the pod.
func scopesMatch(rq *corev1.ResourceQuota, pod *corev1.Pod) bool {
	for _, s := range rq.Spec.Scopes {
		if !scopeMatches(corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists}, pod) {
			return false
		}
	}
	if rq.Spec.ScopeSelector != nil {
		for _, req := range rq.Spec.ScopeSelector.MatchExpressions {
			if !scopeMatches(req, pod) {
				return false
			}
		}
	}
	return true
}

// scopeMatches is Kubernetes' podMatchesScopeFunc.
func scopeMatches(req corev1.ScopedResourceSelectorRequirement, pod *corev1.Pod) bool {
	switch req.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return isTerminating(pod)
	case corev1.ResourceQuotaScopeNotTerminating:
		return !isTerminating(pod)
	case corev1.ResourceQuotaScopeBestEffort:
		return isBestEffort(pod)
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !isBestEffort(pod)
	case corev1.ResourceQuotaScopePriorityClass:
		if req.Operator == corev1.ScopeSelectorOpExists {
			return pod.Spec.PriorityClassName != ""
		}
		op := map[corev1.ScopeSelectorOperator]selection.Operator{
			corev1.ScopeSelectorOpIn: selection.In, corev1.ScopeSelectorOpNotIn: selection.NotIn,
			corev1.ScopeSelectorOpDoesNotExist: selection.DoesNotExist,
		}[req.Operator]
		r, err := labels.NewRequirement(string(req.ScopeName), op, req.Values)
		if err != nil {
			return false
		}
		return r.Matches(labels.Set{string(req.ScopeName): pod.Spec.PriorityClassName})
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return usesCrossNamespaceAffinity(pod)
	}
	return false
}

// isTerminating reports whether a pod has an active deadline.
func isTerminating(pod *corev1.Pod) bool {
	return pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0
}

// isBestEffort reports whether a pod is of QoS class BestEffort: no
// container, and not the pod itself, requests or limits cpu or memory.
func isBestEffort(pod *corev1.Pod) bool {
	positive := func(l corev1.ResourceList) bool {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := l[r]; ok && q.Sign() > 0 {
				return true
			}
		}
		return false
	}
	if r := pod.Spec.Resources; r != nil && (positive(r.Requests) || positive(r.Limits)) {
		return false
	}
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			if positive(cs[i].Resources.Requests) || positive(cs[i].Resources.Limits) {
				return false
			}
		}
	}
	return true
}

// usesCrossNamespaceAffinity reports whether a pod's (anti-)affinity terms
// reach other namespaces.
func usesCrossNamespaceAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	var terms []corev1.PodAffinityTerm
	if a.PodAffinity != nil {
		terms = append(terms, a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	if a.PodAntiAffinity != nil {
		terms = append(terms, a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	for _, t := range terms {
		if len(t.Namespaces) > 0 || t.NamespaceSelector != nil {
			return true
		}
	}
	return false
}
