package previews

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/shoal-run/shoal/manifests"
)

// Path is where the preview configuration lives, relative to the folder
// the manifests are read from. manifests.Load skips dot-folders, so the
// file is never read as a manifest.
const Path = ".shoal/previews.yaml"

// APIVersion and Kind identify the configuration's document.
const (
	APIVersion = "shoal.run/v1alpha1"
	Kind       = "PreviewConfig"
)

// Defaults of Config.
const (
	DefaultTTL         = 72 * time.Hour
	DefaultMaxPreviews = 20
)

// DefaultRefs are the refs that are previews when the file names none:
// pull requests on GitHub-style hosts, and branches under preview/.
var DefaultRefs = []string{"refs/pull/*/head", "refs/heads/preview/*"}

// DefaultQuota is the ResourceQuota every preview namespace gets when the
// file sets no quota.
func DefaultQuota() corev1.ResourceQuotaSpec {
	return corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
		corev1.ResourcePods:           resource.MustParse("20"),
		corev1.ResourceRequestsCPU:    resource.MustParse("2"),
		corev1.ResourceRequestsMemory: resource.MustParse("2Gi"),
		corev1.ResourceLimitsCPU:      resource.MustParse("4"),
		corev1.ResourceLimitsMemory:   resource.MustParse("4Gi"),
	}}
}

// DefaultLimitRange is the LimitRange every preview namespace gets when
// the file sets none: default requests and limits for containers that say
// none, so that manifests without resources run under preview-strict
// (which requires cpu and memory limits) and the quota.
func DefaultLimitRange() corev1.LimitRangeSpec {
	return corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer,
		Default: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("500m"),
			corev1.ResourceMemory: resource.MustParse("256Mi"),
		},
		DefaultRequest: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("50m"),
			corev1.ResourceMemory: resource.MustParse("64Mi"),
		},
	}}}
}

// Config is a parsed preview configuration. Make one with Parse; it is
// read-only once made.
type Config struct {
	// File is the file it was read from.
	File string
	// Refs are the ref patterns that are previews, in the file's order:
	// each a full ref name with exactly one "*", which matches one or more
	// characters, "/" included (as in a Git refspec).
	Refs []string
	// Domain is the DNS domain preview Ingress hosts are made under; ""
	// leaves a preview's Ingresses out (with a message), since their
	// hosts would be main's.
	Domain string
	// TTL is how long a preview runs without a new commit before it
	// expires.
	TTL time.Duration
	// MaxPreviews is how many previews run at once; more wait, newest
	// last.
	MaxPreviews int
	// Quota is the ResourceQuota spec of every preview namespace; nil
	// makes none.
	Quota *corev1.ResourceQuotaSpec
	// LimitRange is the LimitRange spec of every preview namespace; nil
	// makes none.
	LimitRange *corev1.LimitRangeSpec
}

// document is the file as written.
type document struct {
	APIVersion  string                    `json:"apiVersion"`
	Kind        string                    `json:"kind"`
	Refs        []string                  `json:"refs,omitempty"`
	Domain      string                    `json:"domain,omitempty"`
	TTL         string                    `json:"ttl,omitempty"`
	MaxPreviews *int                      `json:"maxPreviews,omitempty"`
	Quota       *corev1.ResourceQuotaSpec `json:"quota,omitempty"`
	LimitRange  *corev1.LimitRangeSpec    `json:"limitRange,omitempty"`
}

// Parse reads the configuration file's content; file names it in
// diagnostics. Decoding is strict (unknown fields, keys given twice and
// wrong types are errors with their line); then every value is checked.
// On any problem it returns nil and manifests.Diagnostics listing every
// error, each with its line and field. Fields left out take their
// defaults: DefaultRefs, no domain, DefaultTTL, DefaultMaxPreviews,
// DefaultQuota and DefaultLimitRange ("quota: {}" or "limitRange: {}"
// makes none).
func Parse(file string, data []byte) (*Config, error) {
	var doc document
	if ds := manifests.DecodeStrict(file, data, &doc); len(ds) > 0 {
		return nil, ds
	}
	v := checker{manifests.FileChecker{File: file, Data: data}}
	cfg := v.config(&doc)
	if len(v.Diags) > 0 {
		return nil, v.Diags
	}
	return cfg, nil
}

// checker collects the problems of the file.
type checker struct {
	manifests.FileChecker
}

func (v *checker) config(doc *document) *Config {
	v.Identity("apiVersion", doc.APIVersion, APIVersion, "is not a version shoal reads")
	v.Identity("kind", doc.Kind, Kind, "is not what this file holds")
	cfg := &Config{File: v.File, Refs: doc.Refs, Domain: strings.TrimSuffix(doc.Domain, "."),
		TTL: DefaultTTL, MaxPreviews: DefaultMaxPreviews}
	if doc.Refs == nil {
		cfg.Refs = append([]string(nil), DefaultRefs...)
	} else if len(doc.Refs) == 0 {
		v.Errorf("refs", "the list is empty, which would make no preview: list ref patterns such as refs/heads/preview/*, or remove the file to turn previews off")
	}
	seen := map[string]int{}
	for i, p := range doc.Refs {
		at := fmt.Sprintf("refs[%d]", i)
		if msg := checkPattern(p); msg != "" {
			v.Errorf(at, "%q %s", p, msg)
		}
		if j, dup := seen[p]; dup {
			v.Errorf(at, "%q is also refs[%d]: remove one", p, j)
		}
		seen[p] = i
	}
	if cfg.Domain != "" {
		if msgs := validation.IsDNS1123Subdomain(cfg.Domain); len(msgs) > 0 {
			v.Errorf("domain", "%q is not a DNS domain: %s", doc.Domain, strings.Join(msgs, "; "))
		}
	}
	if doc.TTL != "" {
		d, err := parseTTL(doc.TTL)
		switch {
		case err != nil:
			v.Errorf("ttl", "%q is not a duration: write it as 72h, 90m or 3d", doc.TTL)
		case d < time.Minute:
			v.Errorf("ttl", "%q is shorter than a minute: previews would expire before they run", doc.TTL)
		default:
			cfg.TTL = d
		}
	}
	if doc.MaxPreviews != nil {
		if *doc.MaxPreviews < 1 {
			v.Errorf("maxPreviews", "%d: at least 1 preview must be allowed (remove the file to turn previews off)", *doc.MaxPreviews)
		}
		cfg.MaxPreviews = *doc.MaxPreviews
	}
	q, lr := DefaultQuota(), DefaultLimitRange()
	cfg.Quota, cfg.LimitRange = &q, &lr
	if doc.Quota != nil {
		cfg.Quota = v.quota(doc.Quota)
	}
	if doc.LimitRange != nil {
		cfg.LimitRange = v.limitRange(doc.LimitRange)
	}
	return cfg
}

// checkPattern says what is wrong with a ref pattern, or "".
func checkPattern(p string) string {
	switch {
	case !strings.HasPrefix(p, "refs/"):
		return "is not a full ref name: start it with refs/ (refs/heads/preview/* for branches under preview/)"
	case strings.Count(p, "*") != 1:
		return "needs exactly one \"*\" (the part that names each preview)"
	case strings.ContainsAny(p, " \t~^:?[\\") || strings.Contains(p, "..") || strings.Contains(p, "//"):
		return "is not a valid ref pattern (no spaces, ~ ^ : ? [ \\, \"..\" or \"//\")"
	}
	return ""
}

// parseTTL reads a Go duration, or a whole number of days ("3d").
func parseTTL(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// quota checks the quota spec; an empty one (no hard) means no quota.
func (v *checker) quota(q *corev1.ResourceQuotaSpec) *corev1.ResourceQuotaSpec {
	if len(q.Hard) == 0 {
		if len(q.Scopes) > 0 || q.ScopeSelector != nil {
			v.Errorf("quota", "scopes without hard limits limit nothing: set quota.hard, or write quota: {} for no quota")
		}
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(q.Hard)) {
		if qty := q.Hard[name]; qty.Sign() < 0 {
			v.Errorf("quota.hard["+string(name)+"]", "%s is negative", qty.String())
		}
		if msgs := validation.IsQualifiedName(string(name)); len(msgs) > 0 {
			v.Errorf("quota.hard["+string(name)+"]", "%q is not a resource name: %s", name, strings.Join(msgs, "; "))
		}
	}
	return q
}

// limitRange checks the LimitRange spec; an empty one means none.
func (v *checker) limitRange(lr *corev1.LimitRangeSpec) *corev1.LimitRangeSpec {
	if len(lr.Limits) == 0 {
		return nil
	}
	for i, item := range lr.Limits {
		at := fmt.Sprintf("limitRange.limits[%d]", i)
		switch item.Type {
		case corev1.LimitTypeContainer, corev1.LimitTypePod, corev1.LimitTypePersistentVolumeClaim:
		default:
			v.Errorf(at+".type", "%q: use Container, Pod or PersistentVolumeClaim", item.Type)
		}
		if item.Type != corev1.LimitTypeContainer && (len(item.Default) > 0 || len(item.DefaultRequest) > 0) {
			v.Errorf(at, "default and defaultRequest apply to containers only: set type: Container")
		}
		for field, list := range map[string]corev1.ResourceList{"default": item.Default, "defaultRequest": item.DefaultRequest,
			"max": item.Max, "min": item.Min} {
			for _, name := range slices.Sorted(maps.Keys(list)) {
				if qty := list[name]; qty.Sign() < 0 {
					v.Errorf(fmt.Sprintf("%s.%s[%s]", at, field, name), "%s is negative", qty.String())
				}
			}
		}
		for _, name := range slices.Sorted(maps.Keys(item.DefaultRequest)) {
			rq := item.DefaultRequest[name]
			if d, ok := item.Default[name]; ok && rq.Cmp(d) > 0 {
				v.Errorf(fmt.Sprintf("%s.defaultRequest[%s]", at, name), "%s is more than default[%s] %s: a request cannot pass its limit",
					rq.String(), name, d.String())
			}
		}
	}
	return lr
}
