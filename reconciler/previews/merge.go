package previews

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoal-run/shoal/manifests"
)

// Isolation returns the NetworkPolicy (named ObjectName) of each of a
// preview's namespaces: it selects every pod of the namespace and
//
//   - admits connections from the preview's own namespaces (Label=<id>)
//     and from the nodes (ipBlocks of their addresses, where the ingress
//     proxies connect from; a pod's own node is always admitted anyway);
//   - lets pods connect to the preview's own namespaces, and to any
//     address outside the pod range (cluster), so not to main's pods nor
//     another preview's, through a Service or not (a connection is judged
//     against the pod the Service chose).
//
// nodes are the nodes' addresses; invalid ones are skipped. A zero
// cluster leaves egress open.
func Isolation(id string, namespaces []string, nodes []netip.Addr, cluster netip.Prefix) []*manifests.Object {
	from := []networkingv1.NetworkPolicyPeer{ownPeer(id)}
	for _, a := range sortedAddrs(nodes) {
		from = append(from, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: netip.PrefixFrom(a, a.BitLen()).String()}})
	}
	egress := []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{ownPeer(id)}}}
	types := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if cluster.IsValid() {
		all := "0.0.0.0/0"
		if cluster.Addr().Is6() {
			all = "::/0"
		}
		egress = append(egress, networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{
			{IPBlock: &networkingv1.IPBlock{CIDR: all, Except: []string{cluster.Masked().String()}}}}})
		types = append(types, networkingv1.PolicyTypeEgress)
	} else {
		egress = nil
	}
	var out []*manifests.Object
	for _, ns := range namespaces {
		np := &networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: ObjectName, Namespace: ns, Labels: map[string]string{Label: id}},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{},
				PolicyTypes: types,
				Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: from}},
				Egress:      egress,
			},
		}
		out = append(out, &manifests.Object{Key: manifests.Key{Kind: "NetworkPolicy", Namespace: ns, Name: ObjectName},
			Source: manifests.Source{File: Path, APIVersion: "networking.k8s.io/v1"}, Obj: np})
	}
	return out
}

func sortedAddrs(in []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range in {
		if a.IsValid() && !slices.Contains(out, a.Unmap()) {
			out = append(out, a.Unmap())
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}

// Conflicts returns, for each preview that cannot run beside main and the
// previews before it, why: one of its namespaces is also one of main's
// (mainNamespaces) or an earlier preview's. Previews are taken in the
// order given (the oldest first), so a running preview keeps running when
// a newer one would collide with it.
func Conflicts(mainNamespaces []string, ps []*Preview) map[string]string {
	owner := map[string]string{}
	for _, ns := range mainNamespaces {
		owner[ns] = "the tracked branch"
	}
	out := map[string]string{}
	for _, p := range ps {
		var clash []string
		for _, ns := range p.Mapped() {
			if o, ok := owner[ns]; ok {
				clash = append(clash, fmt.Sprintf("namespace %s is also %s's", ns, o))
			}
		}
		if len(clash) > 0 {
			out[p.ID] = strings.Join(clash, "; ") + ": rename the namespace in one of them"
			continue
		}
		for _, ns := range p.Mapped() {
			owner[ns] = p.Ref
		}
	}
	return out
}

// Merge returns base with the objects of every preview and their
// isolation policies (see Isolation) added, as a new Set; base is
// returned as it is when there are no previews. An object whose key base
// already holds is left out and reported in skipped (Conflicts keeps
// that from happening unless base changed since). Objects are shared.
func Merge(base *manifests.Set, ps []*Preview, nodes []netip.Addr, cluster netip.Prefix) (merged *manifests.Set, skipped []string) {
	if len(ps) == 0 {
		return base, nil
	}
	objs := base.All()
	seen := make(map[manifests.Key]bool, len(objs))
	for _, o := range objs {
		seen[o.Key] = true
	}
	add := func(p *Preview, o *manifests.Object) {
		if seen[o.Key] {
			skipped = append(skipped, fmt.Sprintf("%s of preview %s: the desired state already holds it", o.Key, p.Ref))
			return
		}
		seen[o.Key] = true
		objs = append(objs, o)
	}
	for _, p := range ps {
		for _, o := range p.Objects {
			add(p, o)
		}
		for _, o := range Isolation(p.ID, p.Mapped(), nodes, cluster) {
			add(p, o)
		}
	}
	sort.Strings(skipped)
	return manifests.NewSet(objs), skipped
}
