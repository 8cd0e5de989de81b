package previews

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/policies/admission"
)

// ObjectName names the ResourceQuota, LimitRange and NetworkPolicy that
// shoal adds to every preview namespace.
const ObjectName = "shoal-preview"

// Spec says how to make one preview.
type Spec struct {
	// ID is the preview's id (AssignIDs), Ref its ref and Commit the
	// commit its objects come from.
	ID, Ref, Commit string
	// Config is the tracked branch's preview configuration.
	Config *Config
	// Admission is the tracked branch's admission configuration; nil
	// when it has none, which still gives previews preview-strict.
	Admission *admission.Config
	// ClusterCIDR is the pod range; ipBlocks of the preview's own
	// NetworkPolicies cannot reach into it (see Transform). Zero leaves
	// them as written.
	ClusterCIDR netip.Prefix
}

// Refusal is an object of a preview's commit that the preview does not
// run, and why.
type Refusal struct {
	// Key is the object's key in the commit (its namespace unmapped).
	Key     manifests.Key    `json:"key"`
	Source  manifests.Source `json:"source"`
	Message string           `json:"message"`
}

// String renders the refusal as "Kind/ns/name (file:line): message".
func (r Refusal) String() string {
	where := ""
	if r.Source.File != "" {
		where = fmt.Sprintf(" (%s:%d)", r.Source.File, r.Source.Line)
	}
	return r.Key.String() + where + ": " + r.Message
}

// Preview is what a preview runs: its objects, ready to join the desired
// state, with what was left out or changed. Objects are shared and
// read-only, as a Set's.
type Preview struct {
	ID, Ref, Commit string
	// Objects are the preview's objects in their mapped namespaces, with
	// the Namespaces, quotas and limit ranges shoal adds, sorted by key.
	// The isolation policies are not among them: they depend on the
	// nodes (see Isolation).
	Objects []*manifests.Object
	// Namespaces maps each namespace of the commit to the preview's.
	Namespaces map[string]string
	// URLs are the preview's Ingress hosts as URLs (https when the
	// Ingress has TLS for the host), sorted; wildcard hosts are left out.
	URLs []string
	// Refused are the objects left out, sorted by key.
	Refused []Refusal
	// Notes are changes made to objects that run, one line each.
	Notes []string
}

// Mapped returns the preview's namespaces, sorted.
func (p *Preview) Mapped() []string {
	out := slices.Collect(maps.Values(p.Namespaces))
	sort.Strings(out)
	return out
}

// Transform makes preview spec.ID from its commit's objects:
//
//   - every namespaced object moves to its mapped namespace (Namespace)
//     and is labelled Label=<id>; a Namespace object of the commit becomes
//     the mapped one with its labels, and every mapped namespace gets a
//     Namespace labelled Label=<id> (and a ResourceQuota and LimitRange
//     named ObjectName, from the configuration) when the commit has none;
//   - cluster-scoped objects (Nodes, PersistentVolumes, StorageClasses)
//     are refused, and so are claims that name a PersistentVolume
//     (spec.volumeName), which could bind main's volumes, and objects
//     named as shoal's own (ObjectName);
//   - Ingress hosts become Host(id, host, domain) (two hosts that would
//     meet get the whole host instead of its first label), host-less
//     rules and the default backend answer on <id>.<domain>; without a
//     domain, Ingresses are refused;
//   - Services lose what would take cluster-wide resources main may hold:
//     a set clusterIP (not None), node ports, external IPs and a
//     load-balancer address; NodePort and LoadBalancer Services become
//     ClusterIP (a note says so);
//   - NetworkPolicies: namespace selectors on kubernetes.io/metadata.name
//     follow the mapping and every namespace selector also requires
//     Label=<id>; a rule without peers gets the preview's namespaces as
//     peers; an ipBlock that covers the pod range excepts it, one inside
//     it is dropped (a rule left with no peer is dropped): a preview's own
//     policies can open it only to itself and to addresses outside the
//     cluster;
//   - then the admission policies of the tracked branch decide, with
//     every preview namespace marked a preview (the preview policy
//     applies, preview-strict by default): refused objects are left out.
//
// set is never changed.
func Transform(set *manifests.Set, spec Spec) *Preview {
	t := &transformer{spec: spec, p: &Preview{ID: spec.ID, Ref: spec.Ref, Commit: spec.Commit, Namespaces: map[string]string{}},
		original: map[manifests.Key]*manifests.Object{}}
	for _, ns := range set.Namespaces() {
		t.p.Namespaces[ns] = Namespace(spec.ID, ns)
	}
	t.hosts = t.hostMap(manifests.Of[*networkingv1.Ingress](set))
	var out []*manifests.Object
	for _, o := range set.All() {
		if obj := t.object(o); obj != nil {
			out = append(out, obj)
		}
	}
	out = append(out, t.generated(set)...)
	t.p.Objects = t.admit(out)
	t.p.URLs = t.urls()
	sort.Slice(t.p.Refused, func(i, j int) bool { return t.p.Refused[i].Key.String() < t.p.Refused[j].Key.String() })
	return t.p
}

type transformer struct {
	spec     Spec
	p        *Preview
	hosts    map[string]string                   // original host -> preview host
	original map[manifests.Key]*manifests.Object // mapped key -> commit's object
	tls      map[string]bool                     // preview hosts with TLS
}

func (t *transformer) refuse(o *manifests.Object, format string, args ...any) {
	t.p.Refused = append(t.p.Refused, Refusal{Key: o.Key, Source: o.Source, Message: fmt.Sprintf(format, args...)})
}

func (t *transformer) note(o *manifests.Object, format string, args ...any) {
	t.p.Notes = append(t.p.Notes, o.Key.String()+": "+fmt.Sprintf(format, args...))
}

// object returns the preview's copy of o, or nil when refused.
func (t *transformer) object(o *manifests.Object) *manifests.Object {
	id := t.spec.ID
	if o.Key.Kind == "Namespace" {
		ns := o.Obj.DeepCopyObject().(*corev1.Namespace)
		ns.Name = t.p.Namespaces[o.Key.Name]
		ns.Labels = withLabel(ns.Labels, id)
		ns.Labels[admission.NamespaceNameLabel] = ns.Name
		return t.keep(o, ns, manifests.Key{Kind: "Namespace", Name: ns.Name})
	}
	if !manifests.IsNamespaced(o.Key.Kind) {
		t.refuse(o, "%s is cluster-scoped: it would be shared with main and every other preview, so a preview may hold only namespaced objects (and Namespaces, which it maps); put it in the tracked branch if the preview needs it", o.Key.Kind)
		return nil
	}
	if o.Key.Name == ObjectName && (o.Key.Kind == "ResourceQuota" || o.Key.Kind == "LimitRange" || o.Key.Kind == "NetworkPolicy") {
		t.refuse(o, "the name %s is shoal's own %s in every preview namespace: rename it", ObjectName, o.Key.Kind)
		return nil
	}
	obj := o.Obj.DeepCopyObject()
	m, err := meta.Accessor(obj)
	if err != nil {
		t.refuse(o, "cannot read its metadata: %v", err)
		return nil
	}
	m.SetNamespace(t.p.Namespaces[o.Key.Namespace])
	m.SetLabels(withLabel(m.GetLabels(), id))
	switch x := obj.(type) {
	case *corev1.PersistentVolumeClaim:
		if x.Spec.VolumeName != "" {
			t.refuse(o, "spec.volumeName binds PersistentVolume %q, which may be main's: leave volumeName out so that the claim gets a volume of its own from its StorageClass", x.Spec.VolumeName)
			return nil
		}
	case *networkingv1.Ingress:
		if t.spec.Config.Domain == "" {
			t.refuse(o, "%s sets no domain, so the preview has no hosts of its own (main's hosts are main's): set domain in the tracked branch to reach previews through their Ingresses", t.spec.Config.File)
			return nil
		}
		t.ingress(x)
	case *corev1.Service:
		t.service(o, x)
	case *networkingv1.NetworkPolicy:
		t.policy(x)
	}
	return t.keep(o, obj, manifests.Key{Kind: o.Key.Kind, Namespace: m.GetNamespace(), Name: o.Key.Name})
}

func (t *transformer) keep(o *manifests.Object, obj runtime.Object, key manifests.Key) *manifests.Object {
	t.original[key] = o
	return &manifests.Object{Key: key, Source: o.Source, Obj: obj}
}

func withLabel(l map[string]string, id string) map[string]string {
	out := make(map[string]string, len(l)+1)
	maps.Copy(out, l)
	out[Label] = id
	return out
}

// hostMap maps every host of the commit's Ingresses (TLS hosts included)
// to its preview host: Host, or, when two hosts would meet, the whole
// host with dots as dashes for all but the first in name order.
func (t *transformer) hostMap(ings []*networkingv1.Ingress) map[string]string {
	seen := map[string]bool{}
	for _, ing := range ings {
		for _, r := range ing.Spec.Rules {
			if r.Host != "" {
				seen[r.Host] = true
			}
		}
		for _, tls := range ing.Spec.TLS {
			for _, h := range tls.Hosts {
				if h != "" {
					seen[h] = true
				}
			}
		}
	}
	hosts := slices.Sorted(maps.Keys(seen))
	out := map[string]string{}
	used := map[string]bool{}
	domain := t.spec.Config.Domain
	for _, h := range hosts {
		ph := Host(t.spec.ID, h, domain)
		if used[ph] {
			whole := fit(strings.ReplaceAll(strings.TrimPrefix(h, "*."), ".", "-"), maxLabel, h)
			ph = t.spec.ID + "." + whole + "." + domain
			if strings.HasPrefix(h, "*.") {
				ph = "*." + ph
			}
		}
		used[ph] = true
		out[h] = ph
	}
	return out
}

// ingress rewrites an Ingress's hosts in place.
func (t *transformer) ingress(ing *networkingv1.Ingress) {
	if t.tls == nil {
		t.tls = map[string]bool{}
	}
	for i := range ing.Spec.Rules {
		if h := ing.Spec.Rules[i].Host; h == "" {
			ing.Spec.Rules[i].Host = Host(t.spec.ID, "", t.spec.Config.Domain)
		} else {
			ing.Spec.Rules[i].Host = t.hosts[h]
		}
	}
	for i := range ing.Spec.TLS {
		for j, h := range ing.Spec.TLS[i].Hosts {
			ing.Spec.TLS[i].Hosts[j] = t.hosts[h]
			t.tls[t.hosts[h]] = true
		}
	}
	if b := ing.Spec.DefaultBackend; b != nil {
		ing.Spec.DefaultBackend = nil
		prefix := networkingv1.PathTypePrefix
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{
			Host: Host(t.spec.ID, "", t.spec.Config.Domain),
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: *b}},
			}},
		})
	}
}

// service clears what is cluster-wide in a Service.
func (t *transformer) service(o *manifests.Object, s *corev1.Service) {
	if s.Spec.ClusterIP != "" && s.Spec.ClusterIP != corev1.ClusterIPNone {
		s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
		t.note(o, "spec.clusterIP left out: the preview's Service gets an address of its own")
	}
	if s.Spec.Type == corev1.ServiceTypeNodePort || s.Spec.Type == corev1.ServiceTypeLoadBalancer {
		t.note(o, "type %s made ClusterIP: a preview is reached through its Ingress hosts, not node ports or load-balancer addresses", s.Spec.Type)
		s.Spec.Type = corev1.ServiceTypeClusterIP
		s.Spec.ExternalTrafficPolicy, s.Spec.HealthCheckNodePort = "", 0
		s.Spec.LoadBalancerIP, s.Spec.LoadBalancerSourceRanges, s.Spec.LoadBalancerClass = "", nil, nil
		s.Spec.AllocateLoadBalancerNodePorts = nil
		for i := range s.Spec.Ports {
			s.Spec.Ports[i].NodePort = 0
		}
	}
	if len(s.Spec.ExternalIPs) > 0 {
		s.Spec.ExternalIPs = nil
		t.note(o, "spec.externalIPs left out: those addresses are main's")
	}
}

// policy maps and confines a NetworkPolicy in place.
func (t *transformer) policy(np *networkingv1.NetworkPolicy) {
	var ingress []networkingv1.NetworkPolicyIngressRule
	for _, r := range np.Spec.Ingress {
		if peers, ok := t.peers(r.From); ok {
			r.From = peers
			ingress = append(ingress, r)
		}
	}
	var egress []networkingv1.NetworkPolicyEgressRule
	for _, r := range np.Spec.Egress {
		if peers, ok := t.peers(r.To); ok {
			r.To = peers
			egress = append(egress, r)
		}
	}
	np.Spec.Ingress, np.Spec.Egress = ingress, egress
}

// peers confines a rule's peers; false drops the rule.
func (t *transformer) peers(in []networkingv1.NetworkPolicyPeer) ([]networkingv1.NetworkPolicyPeer, bool) {
	if len(in) == 0 {
		return []networkingv1.NetworkPolicyPeer{ownPeer(t.spec.ID)}, true
	}
	var out []networkingv1.NetworkPolicyPeer
	for _, p := range in {
		switch {
		case p.IPBlock != nil:
			b, ok := confineBlock(*p.IPBlock, t.spec.ClusterCIDR)
			if !ok {
				continue
			}
			p.IPBlock = &b
		case p.NamespaceSelector != nil:
			p.NamespaceSelector = t.selector(p.NamespaceSelector)
		}
		out = append(out, p)
	}
	return out, len(out) > 0
}

// ownPeer selects every pod of preview id's namespaces.
func ownPeer(id string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{Label: id}}}
}

// selector maps a namespace selector's names and confines it to the
// preview's namespaces.
func (t *transformer) selector(s *metav1.LabelSelector) *metav1.LabelSelector {
	s = s.DeepCopy()
	mapName := func(n string) string {
		if m, ok := t.p.Namespaces[n]; ok {
			return m
		}
		return Namespace(t.spec.ID, n)
	}
	if n, ok := s.MatchLabels[admission.NamespaceNameLabel]; ok {
		s.MatchLabels[admission.NamespaceNameLabel] = mapName(n)
	}
	for i := range s.MatchExpressions {
		if e := &s.MatchExpressions[i]; e.Key == admission.NamespaceNameLabel {
			for j := range e.Values {
				e.Values[j] = mapName(e.Values[j])
			}
		}
	}
	if s.MatchLabels == nil {
		s.MatchLabels = map[string]string{}
	}
	s.MatchLabels[Label] = t.spec.ID
	return s
}

// confineBlock keeps an ipBlock out of the pod range: a block inside it
// is dropped (false), one that covers it excepts it.
func confineBlock(b networkingv1.IPBlock, cluster netip.Prefix) (networkingv1.IPBlock, bool) {
	p, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !cluster.IsValid() || p.Addr().Is4() != cluster.Addr().Is4() {
		return b, true
	}
	switch {
	case p.Bits() >= cluster.Bits() && cluster.Contains(p.Addr()):
		return b, false
	case p.Bits() <= cluster.Bits() && p.Contains(cluster.Addr()):
		for _, e := range b.Except {
			if ep, err := netip.ParsePrefix(e); err == nil && ep.Bits() <= cluster.Bits() && ep.Contains(cluster.Addr()) {
				return b, true
			}
		}
		b.Except = append(append([]string(nil), b.Except...), cluster.String())
	}
	return b, true
}

// generated returns the Namespace objects the commit lacks, and each
// namespace's ResourceQuota and LimitRange.
func (t *transformer) generated(set *manifests.Set) []*manifests.Object {
	var out []*manifests.Object
	src := manifests.Source{File: t.spec.Config.File, APIVersion: "v1"}
	for _, orig := range slices.Sorted(maps.Keys(t.p.Namespaces)) {
		ns := t.p.Namespaces[orig]
		if set.Get("Namespace", "", orig) == nil {
			obj := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
				ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{Label: t.spec.ID, admission.NamespaceNameLabel: ns}}}
			out = append(out, &manifests.Object{Key: manifests.Key{Kind: "Namespace", Name: ns}, Source: src, Obj: obj})
		}
		meta := metav1.ObjectMeta{Name: ObjectName, Namespace: ns, Labels: map[string]string{Label: t.spec.ID}}
		if q := t.spec.Config.Quota; q != nil {
			obj := &corev1.ResourceQuota{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"}, ObjectMeta: *meta.DeepCopy(), Spec: *q.DeepCopy()}
			out = append(out, &manifests.Object{Key: manifests.Key{Kind: "ResourceQuota", Namespace: ns, Name: ObjectName}, Source: src, Obj: obj})
		}
		if lr := t.spec.Config.LimitRange; lr != nil {
			obj := &corev1.LimitRange{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "LimitRange"}, ObjectMeta: *meta.DeepCopy(), Spec: *lr.DeepCopy()}
			out = append(out, &manifests.Object{Key: manifests.Key{Kind: "LimitRange", Namespace: ns, Name: ObjectName}, Source: src, Obj: obj})
		}
	}
	return out
}

// admit runs the admission policies over the preview's objects, every
// namespace a preview's, and returns those admitted.
func (t *transformer) admit(objs []*manifests.Object) []*manifests.Object {
	set := manifests.NewSet(objs)
	namespaces := admission.NamespacesOf(set)
	for name, ns := range namespaces {
		ns.Preview = true
		namespaces[name] = ns
	}
	refused := admission.Decide(set, t.spec.Admission, namespaces)
	keys := make([]manifests.Key, 0, len(refused))
	for _, r := range refused {
		keys = append(keys, r.Key)
		parts := make([]string, len(r.Violations))
		for i, v := range r.Violations {
			parts[i] = v.String()
		}
		o := t.original[r.Key]
		if o == nil {
			o = &manifests.Object{Key: r.Key, Source: r.Source}
		}
		t.refuse(o, "refused by admission: %s", strings.Join(parts, "; "))
	}
	return set.Without(keys...).All()
}

// urls lists the preview's hosts as URLs.
func (t *transformer) urls() []string {
	seen := map[string]bool{}
	for _, o := range t.p.Objects {
		ing, ok := o.Obj.(*networkingv1.Ingress)
		if !ok {
			continue
		}
		for _, r := range ing.Spec.Rules {
			if r.Host == "" || strings.HasPrefix(r.Host, "*.") {
				continue
			}
			scheme := "http://"
			if t.tls[r.Host] {
				scheme = "https://"
			}
			seen[scheme+r.Host] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}
