package admission

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"github.com/shoal-run/shoal/manifests"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Path is where the admission file lives, relative to the folder the
// manifests are read from (the repository's root unless the source is set
// to a sub-folder). manifests.Load skips dot-folders, so the file is never
// read as a manifest.
const Path = ".shoal/admission.yaml"

// APIVersion and Kind identify the admission file's document.
const (
	APIVersion = "shoal.run/v1alpha1"
	Kind       = "AdmissionPolicy"
)

// PreviewStrictName names the built-in policy that preview namespaces get
// unless the file's previewPolicy names another.
const PreviewStrictName = "preview-strict"

// Rules are the checks of one policy. The zero value checks nothing; each
// field that is set turns one rule on. The JSON names are the rule names
// that violations carry.
type Rules struct {
	// ForbidHostPath refuses hostPath volumes.
	ForbidHostPath bool `json:"forbidHostPath,omitempty"`
	// ForbidPrivileged refuses containers with securityContext.privileged.
	ForbidPrivileged bool `json:"forbidPrivileged,omitempty"`
	// ForbidHostNamespaces refuses hostNetwork, hostPID and hostIPC.
	ForbidHostNamespaces bool `json:"forbidHostNamespaces,omitempty"`
	// ForbidAddedCapabilities refuses capabilities added to a container
	// (securityContext.capabilities.add) other than AllowedCapabilities.
	ForbidAddedCapabilities bool `json:"forbidAddedCapabilities,omitempty"`
	// AllowedCapabilities are the capabilities ForbidAddedCapabilities
	// lets through, written with or without "CAP_".
	AllowedCapabilities []string `json:"allowedCapabilities,omitempty"`
	// ForbidHostPorts refuses container ports with a hostPort.
	ForbidHostPorts bool `json:"forbidHostPorts,omitempty"`
	// AllowedRegistries, when set, refuses images from anywhere else. Each
	// entry is a registry host ("ghcr.io", "localhost:5000") optionally
	// followed by a repository prefix ("ghcr.io/acme"); it matches whole
	// path components. An image without a registry is Docker Hub's
	// ("nginx" is docker.io/library/nginx).
	AllowedRegistries []string `json:"allowedRegistries,omitempty"`
	// RequireLimits lists the resources (cpu, memory, ephemeral-storage)
	// every container must have a limit for, its own or a LimitRange
	// default of its namespace.
	RequireLimits []corev1.ResourceName `json:"requireLimits,omitempty"`
}

// Rule names, as written in the file and carried by violations.
const (
	RuleForbidHostPath          = "forbidHostPath"
	RuleForbidPrivileged        = "forbidPrivileged"
	RuleForbidHostNamespaces    = "forbidHostNamespaces"
	RuleForbidAddedCapabilities = "forbidAddedCapabilities"
	RuleForbidHostPorts         = "forbidHostPorts"
	RuleAllowedRegistries       = "allowedRegistries"
	RuleRequireLimits           = "requireLimits"
)

// Policy is a named set of rules and the namespaces it applies to.
type Policy struct {
	// Name identifies the policy in violations.
	Name string `json:"name"`
	// Namespaces lists namespaces by name.
	Namespaces []string `json:"namespaces,omitempty"`
	// NamespaceSelector selects namespaces by their labels (a Namespace
	// object's labels, plus kubernetes.io/metadata.name as Kubernetes sets
	// it). An empty selector ({}) selects every namespace. A namespace is
	// covered when it is listed or selected.
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	Rules             Rules                 `json:"rules"`

	selector labels.Selector // NamespaceSelector, compiled; nil when unset
}

// Config is a parsed admission file: the policies and which one previews
// get. The zero value has no policies and gives previews preview-strict.
// A Config is read-only once made.
type Config struct {
	// File is the file it was read from, "" when there was none.
	File string
	// PreviewPolicy names the policy every preview namespace gets, besides
	// the policies that cover it by name or selector: PreviewStrictName
	// (the default) or one of Policies.
	PreviewPolicy string
	// Policies in the order the file lists them.
	Policies []Policy
}

// document is the admission file as written.
type document struct {
	APIVersion    string   `json:"apiVersion"`
	Kind          string   `json:"kind"`
	PreviewPolicy string   `json:"previewPolicy,omitempty"`
	Policies      []Policy `json:"policies"`
}

// PreviewStrict returns the built-in policy for previews: every forbid on
// (only NET_BIND_SERVICE may be added), and cpu and memory limits required.
// It allows images from any registry.
func PreviewStrict() Policy {
	return Policy{Name: PreviewStrictName, Rules: Rules{
		ForbidHostPath:          true,
		ForbidPrivileged:        true,
		ForbidHostNamespaces:    true,
		ForbidAddedCapabilities: true,
		AllowedCapabilities:     []string{"NET_BIND_SERVICE"},
		ForbidHostPorts:         true,
		RequireLimits:           []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory},
	}}
}

// Load reads the admission file at Path in fsys (the folder the manifests
// are read from). A missing file is no error: it returns an empty Config,
// under which namespaces run anything and previews get preview-strict. Any
// problem with the file is returned as manifests.Diagnostics naming the
// file, the line and the field; the caller should then keep the policies
// in force, as it keeps the last good manifests.
func Load(fsys fs.FS) (*Config, error) {
	data, err := fs.ReadFile(fsys, Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		alt := strings.TrimSuffix(Path, ".yaml") + ".yml"
		if _, err := fs.Stat(fsys, alt); err == nil {
			return nil, manifests.Diagnostics{{Severity: manifests.SeverityError, File: alt,
				Message: "shoal reads admission policies from " + Path + " only: rename the file"}}
		}
		return &Config{PreviewPolicy: PreviewStrictName}, nil
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, manifests.Diagnostics{{Severity: manifests.SeverityError, File: Path,
			Message: fmt.Sprintf("cannot read: %v", err)}}
	}
	return Parse(Path, data)
}

// Parse reads an admission file's content; file names it in diagnostics.
// Decoding is strict (unknown fields, keys given twice and wrong types are
// errors); then every value is checked. On any problem it returns nil and
// manifests.Diagnostics listing every error found, each with its line.
func Parse(file string, data []byte) (*Config, error) {
	var doc document
	if ds := manifests.DecodeStrict(file, data, &doc); len(ds) > 0 {
		return nil, ds
	}
	v := validator{manifests.FileChecker{File: file, Data: data}}
	cfg := v.config(&doc)
	if len(v.Diags) > 0 {
		return nil, v.Diags
	}
	return cfg, nil
}

// validator collects the problems of one file.
type validator struct {
	manifests.FileChecker
}

var (
	dnsLabelRE   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	capabilityRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	pathPartRE   = regexp.MustCompile(`^[a-z0-9]+([._-]+[a-z0-9]+)*$`)
	hostRE       = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]+)?$`)
)

var ruleNames = []string{RuleForbidHostPath, RuleForbidPrivileged, RuleForbidHostNamespaces,
	RuleForbidAddedCapabilities, RuleForbidHostPorts, RuleAllowedRegistries, RuleRequireLimits}

func (v *validator) config(doc *document) *Config {
	v.Identity("apiVersion", doc.APIVersion, APIVersion, "is not a version shoal reads")
	v.Identity("kind", doc.Kind, Kind, "is not what this file holds")
	cfg := &Config{File: v.File, PreviewPolicy: doc.PreviewPolicy}
	if cfg.PreviewPolicy == "" {
		cfg.PreviewPolicy = PreviewStrictName
	}
	names := map[string]int{}
	for i := range doc.Policies {
		p := doc.Policies[i]
		at := fmt.Sprintf("policies[%d]", i)
		switch {
		case p.Name == "":
			v.Errorf(at+".name", "required: give the policy a name (lowercase letters, digits and '-')")
		case p.Name == PreviewStrictName:
			v.Errorf(at+".name", "%q is the built-in preview policy: choose another name", p.Name)
		case !dnsLabelRE.MatchString(p.Name) || len(p.Name) > 63:
			v.Errorf(at+".name", "%q is not a valid name: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", p.Name)
		default:
			if j, dup := names[p.Name]; dup {
				v.Errorf(at+".name", "%q is also the name of policies[%d]: names must be unique", p.Name, j)
			}
			names[p.Name] = i
		}
		seen := map[string]bool{}
		for j, ns := range p.Namespaces {
			nat := fmt.Sprintf("%s.namespaces[%d]", at, j)
			if !dnsLabelRE.MatchString(ns) || len(ns) > 63 {
				v.Errorf(nat, "%q is not a valid namespace name (at most 63 lowercase letters, digits and '-')", ns)
			}
			if seen[ns] {
				v.Errorf(nat, "namespace %q is listed twice: remove one", ns)
			}
			seen[ns] = true
		}
		if p.NamespaceSelector != nil {
			p.selector = v.selector(at+".namespaceSelector", p.NamespaceSelector)
		}
		if len(p.Namespaces) == 0 && p.NamespaceSelector == nil && p.Name != doc.PreviewPolicy {
			v.Errorf(at, "policy %q applies to no namespace: set namespaces, or namespaceSelector ({} selects every namespace)", p.Name)
		}
		v.rules(at+".rules", &p.Rules)
		cfg.Policies = append(cfg.Policies, p)
	}
	if doc.PreviewPolicy != "" && doc.PreviewPolicy != PreviewStrictName {
		if _, ok := names[doc.PreviewPolicy]; !ok {
			v.Errorf("previewPolicy", "no policy is named %q: name one of the file's policies, or %s", doc.PreviewPolicy, PreviewStrictName)
		}
	}
	return cfg
}

// selector checks a label selector field by field, so that an error names
// the expression at fault, and returns it compiled.
func (v *validator) selector(at string, s *metav1.LabelSelector) labels.Selector {
	ok := true
	for _, k := range sortedKeys(s.MatchLabels) {
		one := &metav1.LabelSelector{MatchLabels: map[string]string{k: s.MatchLabels[k]}}
		if _, err := metav1.LabelSelectorAsSelector(one); err != nil {
			v.Errorf(fmt.Sprintf("%s.matchLabels[%s]", at, k), "%v", err)
			ok = false
		}
	}
	for i, e := range s.MatchExpressions {
		one := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{e}}
		if _, err := metav1.LabelSelectorAsSelector(one); err != nil {
			v.Errorf(fmt.Sprintf("%s.matchExpressions[%d]", at, i), "%v: operator is one of In, NotIn, Exists, DoesNotExist; In and NotIn need values, Exists and DoesNotExist none", err)
			ok = false
		}
	}
	if !ok {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		v.Errorf(at, "%v", err)
		return nil
	}
	return sel
}

func (v *validator) rules(at string, r *Rules) {
	if !r.ForbidHostPath && !r.ForbidPrivileged && !r.ForbidHostNamespaces && !r.ForbidAddedCapabilities &&
		!r.ForbidHostPorts && r.AllowedRegistries == nil && r.RequireLimits == nil {
		v.Errorf(at, "the policy has no rule: set at least one of %s", strings.Join(ruleNames, ", "))
	}
	if r.AllowedCapabilities != nil && !r.ForbidAddedCapabilities {
		v.Errorf(at+".allowedCapabilities", "has no effect without forbidAddedCapabilities: true: set it, or remove allowedCapabilities")
	}
	for i, c := range r.AllowedCapabilities {
		if !capabilityRE.MatchString(c) {
			v.Errorf(fmt.Sprintf("%s.allowedCapabilities[%d]", at, i), "%q is not a capability name: write it in capitals, such as NET_BIND_SERVICE", c)
		}
	}
	if r.AllowedRegistries != nil && len(r.AllowedRegistries) == 0 {
		v.Errorf(at+".allowedRegistries", "the list is empty, which would refuse every image: list registries, or remove the rule to allow any")
	}
	for i, reg := range r.AllowedRegistries {
		if msg := checkRegistry(reg); msg != "" {
			v.Errorf(fmt.Sprintf("%s.allowedRegistries[%d]", at, i), "%q %s", reg, msg)
		}
	}
	if r.RequireLimits != nil && len(r.RequireLimits) == 0 {
		v.Errorf(at+".requireLimits", "the list is empty: list cpu, memory or ephemeral-storage, or remove the rule")
	}
	seen := map[corev1.ResourceName]bool{}
	for i, name := range r.RequireLimits {
		p := fmt.Sprintf("%s.requireLimits[%d]", at, i)
		switch name {
		case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		default:
			v.Errorf(p, "%q is not a resource a limit can be required for: use cpu, memory or ephemeral-storage", name)
		}
		if seen[name] {
			v.Errorf(p, "%q is listed twice: remove one", name)
		}
		seen[name] = true
	}
}

// checkRegistry returns what is wrong with an allowedRegistries entry, or "".
func checkRegistry(reg string) string {
	switch {
	case reg == "":
		return "is empty: write a registry host such as ghcr.io, optionally with a repository prefix (ghcr.io/acme)"
	case strings.Contains(reg, "://"):
		return "has a scheme: write the registry host without it (ghcr.io, not https://ghcr.io)"
	case strings.ContainsAny(reg, "@ \t"):
		return "is not a registry: write a registry host, optionally with a repository prefix, without a tag or digest"
	}
	parts := strings.Split(strings.TrimSuffix(reg, "/"), "/")
	if !hostRE.MatchString(parts[0]) || !isRegistryHost(parts[0]) {
		return "does not start with a registry host (a name with a dot or a port, or localhost, such as ghcr.io or localhost:5000): write docker.io/" + reg + " for Docker Hub"
	}
	for _, p := range parts[1:] {
		if !pathPartRE.MatchString(p) {
			return "has a repository part that is not a lowercase name (a tag is not allowed here)"
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
