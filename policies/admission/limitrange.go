package admission

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// LimitRangerAnnotation is the annotation Kubernetes' LimitRanger puts on a
// pod whose resources it defaulted, saying what it set.
const LimitRangerAnnotation = "kubernetes.io/limit-ranger"

// LimitRange rule names, as violations carry them.
const (
	RuleMin                  = "min"
	RuleMax                  = "max"
	RuleMaxLimitRequestRatio = "maxLimitRequestRatio"
	// RuleDefault: the LimitRange's defaults left a container with a
	// request above its limit.
	RuleDefault = "default"
)

// ApplyLimitRange does for a pod being created what Kubernetes' LimitRanger
// admission plugin does, with the LimitRanges of the pod's namespace
// (ranges of other namespaces are ignored):
//
//  1. It returns a copy of the pod in which every container and init
//     container lacking a request or limit gets the LimitRanges' Container
//     default (limits) and defaultRequest (requests), recorded in the
//     kubernetes.io/limit-ranger annotation. As the API server does first,
//     a resource with a limit and no request requests its limit. When two
//     LimitRanges default the same resource, the first by name wins
//     (Kubernetes leaves that order unspecified).
//  2. It checks the result against each LimitRange's min, max and
//     maxLimitRequestRatio, for each container and init container (type
//     Container) and for the pod's totals (type Pod: the containers'
//     sum, at least the largest init container), with Kubernetes' messages
//     ("maximum cpu usage per Container is 1, but limit is 2"). It also
//     refuses a container whose defaulted limit is below its own request,
//     as the API server's validation then would.
//
// Violations name the LimitRange ("LimitRange/NAME"), the rule and the
// field. A pod with violations must not be created; Kubernetes reports all
// of one LimitRange's violations, shoal those of every LimitRange. When no
// LimitRange applies, the pod itself is returned unchanged. pod is never
// modified.
func ApplyLimitRange(pod *corev1.Pod, ranges []*corev1.LimitRange) (*corev1.Pod, []Violation) {
	var mine []*corev1.LimitRange
	for _, lr := range ranges {
		if lr != nil && lr.Namespace == pod.Namespace {
			mine = append(mine, lr)
		}
	}
	if len(mine) == 0 {
		return pod, nil
	}
	slices.SortFunc(mine, func(a, b *corev1.LimitRange) int { return strings.Compare(a.Name, b.Name) })

	out := pod.DeepCopy()
	var notes []string
	var vs []Violation
	each := func(fn func(c *corev1.Container, path, kind string)) {
		for i := range out.Spec.Containers {
			fn(&out.Spec.Containers[i], fmt.Sprintf("spec.containers[%d]", i), "container")
		}
		for i := range out.Spec.InitContainers {
			fn(&out.Spec.InitContainers[i], fmt.Sprintf("spec.initContainers[%d]", i), "init container")
		}
	}
	each(func(c *corev1.Container, path, kind string) {
		c.Resources.Requests = requestsOf(c.Resources)
		if len(c.Resources.Requests) == 0 {
			c.Resources.Requests = nil
		}
		var setReq, setLim []string
		from := map[corev1.ResourceName]string{} // the LimitRange that set a request or limit
		for _, lr := range mine {
			req, lim := containerDefaults(lr)
			for _, k := range fillMissing(&c.Resources.Limits, lim) {
				setLim = append(setLim, string(k))
				from[k] = lr.Name
			}
			for _, k := range fillMissing(&c.Resources.Requests, req) {
				setReq = append(setReq, string(k))
				if _, ok := from[k]; !ok {
					from[k] = lr.Name
				}
			}
		}
		// A request above its limit is refused by the API server's
		// validation; written by hand it never loads, so a default made it.
		for _, k := range sortedNames(c.Resources.Requests) {
			r, l := c.Resources.Requests[k], c.Resources.Limits[k]
			if _, ok := c.Resources.Limits[k]; !ok || r.Cmp(l) <= 0 || from[k] == "" {
				continue
			}
			vs = append(vs, Violation{Policy: "LimitRange/" + from[k], Rule: RuleDefault,
				Field: fmt.Sprintf("%s.resources.requests[%s]", path, k),
				Message: fmt.Sprintf("Invalid value: %q: must be less than or equal to %s limit of %s (set by the LimitRange's defaults: set resources.limits.%s and resources.requests.%s)",
					r.String(), k, l.String(), k, k)})
		}
		if len(setReq) > 0 {
			slices.Sort(setReq)
			notes = append(notes, strings.Join(setReq, ", ")+" request for "+kind+" "+c.Name)
		}
		if len(setLim) > 0 {
			slices.Sort(setLim)
			notes = append(notes, strings.Join(setLim, ", ")+" limit for "+kind+" "+c.Name)
		}
	})
	if len(notes) > 0 {
		if out.Annotations == nil {
			out.Annotations = map[string]string{}
		}
		out.Annotations[LimitRangerAnnotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
	}

	for _, lr := range mine {
		policy := "LimitRange/" + lr.Name
		for _, item := range lr.Spec.Limits {
			switch item.Type {
			case corev1.LimitTypeContainer:
				each(func(c *corev1.Container, path, _ string) {
					vs = append(vs, checkBounds(policy, path+".resources", string(item.Type), item, c.Resources.Requests, c.Resources.Limits)...)
				})
			case corev1.LimitTypePod:
				reqs := podTotals(&out.Spec, func(r corev1.ResourceRequirements) corev1.ResourceList { return r.Requests })
				lims := podTotals(&out.Spec, limitsOf)
				vs = append(vs, checkBounds(policy, "", string(item.Type), item, reqs, lims)...)
			}
		}
	}
	return out, vs
}

// fillMissing copies into *dst (made when nil) the defaults it lacks and
// returns their names, sorted.
func fillMissing(dst *corev1.ResourceList, defaults corev1.ResourceList) []corev1.ResourceName {
	var set []corev1.ResourceName
	for _, k := range sortedNames(defaults) {
		if _, ok := (*dst)[k]; ok {
			continue
		}
		if *dst == nil {
			*dst = corev1.ResourceList{}
		}
		(*dst)[k] = defaults[k].DeepCopy()
		set = append(set, k)
	}
	return set
}

// containerDefaults returns a LimitRange's Container defaultRequest and
// default (later items of one LimitRange override earlier ones, as in
// Kubernetes).
func containerDefaults(lr *corev1.LimitRange) (requests, limits corev1.ResourceList) {
	requests, limits = corev1.ResourceList{}, corev1.ResourceList{}
	for _, item := range lr.Spec.Limits {
		if item.Type != corev1.LimitTypeContainer {
			continue
		}
		for k, v := range item.DefaultRequest {
			requests[k] = v
		}
		for k, v := range item.Default {
			limits[k] = v
		}
	}
	return requests, limits
}

// defaultLimits returns the limits that the LimitRanges (sorted by name)
// give a container that sets none.
func defaultLimits(ranges []*corev1.LimitRange) corev1.ResourceList {
	out := corev1.ResourceList{}
	for _, lr := range ranges {
		_, lim := containerDefaults(lr)
		for k, v := range lim {
			if _, ok := out[k]; !ok {
				out[k] = v
			}
		}
	}
	return out
}

// checkBounds checks one LimitRange item's min, max and
// maxLimitRequestRatio against requests and limits, with the messages of
// Kubernetes' minConstraint, maxConstraint and limitRequestRatioConstraint.
// at is the resources' field path ("" for a pod's totals).
func checkBounds(policy, at, limitType string, item corev1.LimitRangeItem, requests, limits corev1.ResourceList) []Violation {
	var out []Violation
	field := func(list string, k corev1.ResourceName) string {
		if at == "" {
			return ""
		}
		return fmt.Sprintf("%s.%s[%s]", at, list, k)
	}
	add := func(rule, f, format string, args ...any) {
		out = append(out, Violation{Policy: policy, Rule: rule, Field: f, Message: fmt.Sprintf(format, args...)})
	}
	observe(item.Min, requests, limits, func(k corev1.ResourceName, enforced, req, lim resource.Quantity, hasReq, hasLim bool, v []int64) {
		switch {
		case !hasReq:
			add(RuleMin, field("requests", k), "minimum %s usage per %s is %s.  No request is specified", k, limitType, enforced.String())
		case v[0] < v[2]:
			add(RuleMin, field("requests", k), "minimum %s usage per %s is %s, but request is %s", k, limitType, enforced.String(), req.String())
		case hasLim && v[1] < v[2]:
			add(RuleMin, field("limits", k), "minimum %s usage per %s is %s, but limit is %s", k, limitType, enforced.String(), lim.String())
		}
	})
	observe(item.Max, requests, limits, func(k corev1.ResourceName, enforced, req, lim resource.Quantity, hasReq, hasLim bool, v []int64) {
		switch {
		case !hasLim:
			add(RuleMax, field("limits", k), "maximum %s usage per %s is %s.  No limit is specified", k, limitType, enforced.String())
		case v[1] > v[2]:
			add(RuleMax, field("limits", k), "maximum %s usage per %s is %s, but limit is %s", k, limitType, enforced.String(), lim.String())
		case hasReq && v[0] > v[2]:
			add(RuleMax, field("requests", k), "maximum %s usage per %s is %s, but request is %s", k, limitType, enforced.String(), req.String())
		}
	})
	observe(item.MaxLimitRequestRatio, requests, limits, func(k corev1.ResourceName, enforced, req, lim resource.Quantity, hasReq, hasLim bool, v []int64) {
		switch {
		case !hasReq || v[0] == 0:
			add(RuleMaxLimitRequestRatio, field("requests", k), "%s max limit to request ratio per %s is %s, but no request is specified or request is 0", k, limitType, enforced.String())
		case !hasLim || v[1] == 0:
			add(RuleMaxLimitRequestRatio, field("limits", k), "%s max limit to request ratio per %s is %s, but no limit is specified or limit is 0", k, limitType, enforced.String())
		default:
			observed := float64(v[1]) / float64(v[0])
			display := observed
			maxRatio := float64(enforced.Value())
			if enforced.Value() <= resource.MaxMilliValue {
				observed *= 1000
				maxRatio = float64(enforced.MilliValue())
			}
			if observed > maxRatio {
				add(RuleMaxLimitRequestRatio, field("limits", k), "%s max limit to request ratio per %s is %s, but provided ratio is %f", k, limitType, enforced.String(), display)
			}
		}
	})
	return out
}

// observe calls fn for each resource of a LimitRange item's list, in name
// order, with the enforced value, the request and limit (and whether they
// are given), and the three as comparable numbers (milliOrValue).
func observe(enforcedList, requests, limits corev1.ResourceList,
	fn func(k corev1.ResourceName, enforced, req, lim resource.Quantity, hasReq, hasLim bool, v []int64)) {
	for _, k := range sortedNames(enforcedList) {
		enforced := enforcedList[k]
		req, hasReq := requests[k]
		lim, hasLim := limits[k]
		fn(k, enforced, req, lim, hasReq, hasLim, milliOrValue(req, lim, enforced))
	}
}
