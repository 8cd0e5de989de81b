package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/nodeagent/api"
)

// The quota kinds of `get` and `describe`: the desired state's
// ResourceQuotas, with the usage the leader counted, and LimitRanges.
var (
	resourceQuotaKind = resourceKind(api.ResourceQuotas, "resourcequota", []string{"resourcequotas", "resourcequota", "quota"},
		columns[corev1.ResourceQuota, *corev1.ResourceQuota]{
			names: []string{"REQUEST", "LIMIT"},
			row: func(q *corev1.ResourceQuota, _ time.Time) []string {
				request, limit := quotaCells(q)
				return []string{request, limit}
			},
			wide: func(*corev1.ResourceQuota) []string { return nil },
		}, describeResourceQuota)

	limitRangeKind = resourceKind(api.LimitRanges, "limitrange", []string{"limitranges", "limitrange", "limits"},
		columns[corev1.LimitRange, *corev1.LimitRange]{
			names: []string{"LIMITS"},
			row: func(lr *corev1.LimitRange, _ time.Time) []string {
				var parts []string
				for _, it := range lr.Spec.Limits {
					parts = append(parts, fmt.Sprintf("%s %s", it.Type, limitItemSummary(it)))
				}
				return []string{orNone(strings.Join(parts, "; "))}
			},
			wide: func(*corev1.LimitRange) []string { return nil },
		}, describeLimitRange)
)

// quotaCells are kubectl's REQUEST and LIMIT cells of a quota: each hard
// resource as "name: used/hard", those named limits.* in LIMIT. A resource
// shoal does not count has no used amount: "-".
func quotaCells(q *corev1.ResourceQuota) (request, limit string) {
	names := make([]string, 0, len(q.Status.Hard))
	for k := range q.Status.Hard {
		names = append(names, string(k))
	}
	if len(names) == 0 {
		for k := range q.Spec.Hard {
			names = append(names, string(k))
		}
	}
	sort.Strings(names)
	var req, lim []string
	for _, n := range names {
		cell := n + ": " + quotaUsed(q, corev1.ResourceName(n)) + "/" + quotaHard(q, corev1.ResourceName(n))
		if strings.HasPrefix(n, "limits.") {
			lim = append(lim, cell)
		} else {
			req = append(req, cell)
		}
	}
	return strings.Join(req, ", "), strings.Join(lim, ", ")
}

func quotaUsed(q *corev1.ResourceQuota, k corev1.ResourceName) string {
	if v, ok := q.Status.Used[k]; ok {
		return v.String()
	}
	return "-"
}

func quotaHard(q *corev1.ResourceQuota, k corev1.ResourceName) string {
	if v, ok := q.Status.Hard[k]; ok {
		return v.String()
	}
	v := q.Spec.Hard[k]
	return v.String()
}

// describeResourceQuota writes a quota as kubectl describe does: its
// scopes, then each resource with what is used and the hard limit.
func describeResourceQuota(d describer, q *corev1.ResourceQuota, _ *related) {
	d.line(0, "Name:\t%s", q.Name)
	d.line(0, "Namespace:\t%s", q.Namespace)
	if len(q.Spec.Scopes) > 0 {
		var scopes []string
		for _, s := range q.Spec.Scopes {
			scopes = append(scopes, string(s))
		}
		d.line(0, "Scopes:\t%s", strings.Join(scopes, ", "))
	}
	d.line(0, "Resource\tUsed\tHard")
	d.line(0, "--------\t----\t----")
	names := make([]string, 0, len(q.Spec.Hard))
	for k := range q.Spec.Hard {
		names = append(names, string(k))
	}
	sort.Strings(names)
	for _, n := range names {
		d.line(0, "%s\t%s\t%s", n, quotaUsed(q, corev1.ResourceName(n)), quotaHard(q, corev1.ResourceName(n)))
	}
}

// describeLimitRange writes a LimitRange as kubectl describe does: one
// row per type and resource with its min, max, defaults and ratio.
func describeLimitRange(d describer, lr *corev1.LimitRange, _ *related) {
	d.line(0, "Name:\t%s", lr.Name)
	d.line(0, "Namespace:\t%s", lr.Namespace)
	d.line(0, "Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio")
	d.line(0, "----\t--------\t---\t---\t---------------\t-------------\t-----------------------")
	for _, it := range lr.Spec.Limits {
		seen := map[corev1.ResourceName]bool{}
		for _, l := range []corev1.ResourceList{it.Min, it.Max, it.DefaultRequest, it.Default, it.MaxLimitRequestRatio} {
			for k := range l {
				seen[k] = true
			}
		}
		names := make([]string, 0, len(seen))
		for k := range seen {
			names = append(names, string(k))
		}
		sort.Strings(names)
		for _, n := range names {
			k := corev1.ResourceName(n)
			d.line(0, "%s\t%s\t%s\t%s\t%s\t%s\t%s", it.Type, n, quantityOr(it.Min, k), quantityOr(it.Max, k),
				quantityOr(it.DefaultRequest, k), quantityOr(it.Default, k), quantityOr(it.MaxLimitRequestRatio, k))
		}
	}
}

func quantityOr(l corev1.ResourceList, k corev1.ResourceName) string {
	if v, ok := l[k]; ok {
		return v.String()
	}
	return "-"
}

// limitItemSummary renders a LimitRange item's lists: "default
// cpu=500m,memory=256Mi, max cpu=1".
func limitItemSummary(it corev1.LimitRangeItem) string {
	var parts []string
	for _, l := range []struct {
		name string
		list corev1.ResourceList
	}{{"min", it.Min}, {"max", it.Max}, {"defaultRequest", it.DefaultRequest}, {"default", it.Default}, {"maxLimitRequestRatio", it.MaxLimitRequestRatio}} {
		if len(l.list) == 0 {
			continue
		}
		names := make([]string, 0, len(l.list))
		for k := range l.list {
			names = append(names, string(k))
		}
		sort.Strings(names)
		var kv []string
		for _, n := range names {
			v := l.list[corev1.ResourceName(n)]
			kv = append(kv, n+"="+v.String())
		}
		parts = append(parts, l.name+" "+strings.Join(kv, ","))
	}
	return strings.Join(parts, ", ")
}
