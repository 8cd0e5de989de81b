package network

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/shoal-run/shoal/manifests"
)

// compatDir finds the compatibility corpus (../shared/compat beside the
// repository, or $SHOAL_COMPAT_DIR), as the manifests tests do.
func compatDir() (string, bool) {
	dir := os.Getenv("SHOAL_COMPAT_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "compat", "kubernetes-in-action")
	}
	st, err := os.Stat(dir)
	return dir, err == nil && st.IsDir()
}

// corpusPolicies loads NetworkPolicies of the corpus's Chapter13 through
// manifests.
func corpusPolicies(t *testing.T, dir string, files ...string) []*networkingv1.NetworkPolicy {
	t.Helper()
	var inputs []manifests.Input
	for _, f := range files {
		inputs = append(inputs, manifests.Input{FS: os.DirFS(dir), Path: filepath.Join("Chapter13", f)})
	}
	set, err := manifests.Read(inputs...).Set()
	if err != nil {
		t.Fatalf("loading %v: %v", files, err)
	}
	return manifests.Of[*networkingv1.NetworkPolicy](set)
}

// TestCorpus judges connections under the NetworkPolicies of Kubernetes in
// Action (chapter 13), alone and the two that the book combines (a
// webserver that may only reach the database, a database only the
// webserver may reach), in one small world: a shopping cart, a webserver and
// a database in default, clients in tenant namespaces.
func TestCorpus(t *testing.T) {
	dir, ok := compatDir()
	if !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("compatibility corpus not found at %s (set SHOAL_COMPAT_DIR)", dir)
		}
		t.Skipf("compatibility corpus not found at %s (set SHOAL_COMPAT_DIR)", dir)
	}
	pods := []Pod{
		testPod("default", "cart", "10.1.0.10", "app=shopping-cart"),
		testPod("default", "web", "10.1.0.11", "app=webserver"),
		testPod("default", "db", "10.1.0.12", "app=database"),
		testPod("default", "client", "10.1.0.13"),
		testPod("default", "inblock", "192.168.1.20"),
		testPod("manning-a", "client", "10.1.1.10"),
		testPod("acme", "client", "10.1.2.10"),
		testPod("other", "db", "10.1.3.12", "app=database"),
		testPod("other", "web", "10.1.3.11", "app=webserver"),
	}
	namespaces := []*corev1.Namespace{namespace("manning-a", "tenant=manning"), namespace("acme", "tenant=acme")}
	const out = "203.0.113.5"
	tests := []struct {
		files []string
		cases []connCase
	}{
		{[]string{"network-policy-cart.yaml"}, []connCase{
			{"manning-a/client", "default/cart", "TCP 80", "allowed ingress:default/shoppingcart-netpolicy#0", "namespaceSelector tenant=manning"},
			{"manning-a/client", "default/cart", "TCP 8080", "denied ingress:denied(default/shoppingcart-netpolicy)", "port 80 only"},
			{"manning-a/client", "default/cart", "UDP 80", "denied ingress:denied(default/shoppingcart-netpolicy)", "a port without protocol is TCP"},
			{"acme/client", "default/cart", "TCP 80", "denied ingress:denied(default/shoppingcart-netpolicy)", "tenant=acme"},
			{"default/client", "default/cart", "TCP 80", "denied ingress:denied(default/shoppingcart-netpolicy)", "a namespaceSelector alone does not include the policy's own namespace"},
			{out, "default/cart", "TCP 80", "denied ingress:denied(default/shoppingcart-netpolicy)", "selectors match pods only"},
			{"default/cart", out, "TCP 443", "allowed", "the policy has no egress"},
			{"manning-a/client", "default/client", "TCP 80", "allowed", "only the cart is isolated"},
		}},
		{[]string{"network-policy-cidr.yaml"}, []connCase{
			{"192.168.1.77", "default/cart", "TCP 443", "allowed ingress:default/ipblock-netpolicy#0", "inside 192.168.1.0/24, a rule without ports allows every port"},
			{"192.168.1.77", "default/cart", "UDP 53", "allowed ingress:default/ipblock-netpolicy#0", "and every protocol"},
			{"192.168.2.1", "default/cart", "TCP 443", "denied ingress:denied(default/ipblock-netpolicy)", "outside the block"},
			{"default/client", "default/cart", "TCP 80", "denied ingress:denied(default/ipblock-netpolicy)", "a pod outside the block"},
			{"default/inblock", "default/cart", "TCP 80", "allowed ingress:default/ipblock-netpolicy#0", "shoal's choice: ipBlock matches pod addresses too"},
		}},
		{[]string{"network-policy-default-deny.yaml"}, []connCase{
			{"default/client", "default/cart", "TCP 80", "denied ingress:denied(default/default-deny)", "a null podSelector selects every pod of the namespace"},
			{"acme/client", "default/db", "TCP 5432", "denied ingress:denied(default/default-deny)", "from other namespaces too"},
			{out, "default/web", "TCP 80", "denied ingress:denied(default/default-deny)", "and from outside"},
			{"acme/client", "manning-a/client", "TCP 80", "allowed", "other namespaces are not isolated"},
			{"default/cart", "acme/client", "TCP 80", "allowed", "egress is untouched"},
			{"192.168.0.1", "default/cart", "TCP 8080", "allowed ingress:node", "the pod's own node"},
		}},
		{[]string{"network-policy-egress.yaml"}, []connCase{
			{"default/web", "default/db", "TCP 5432", "allowed egress:default/egress-net-policy#0", "to app=database on 5432"},
			{"default/web", "default/db", "TCP 5433", "denied egress:denied(default/egress-net-policy)", "another port"},
			{"default/web", "default/db", "UDP 5432", "denied egress:denied(default/egress-net-policy)", "another protocol"},
			{"default/web", "other/db", "TCP 5432", "denied egress:denied(default/egress-net-policy)", "a podSelector alone selects the policy's namespace only"},
			{"default/web", out, "TCP 443", "denied egress:denied(default/egress-net-policy)", "nothing outside"},
			{"default/web", "10.1.0.1", "UDP 53", "allowed egress:node", "the node's DNS on its bridge address"},
			{"default/client", "default/db", "TCP 5432", "allowed", "client is not isolated"},
			{"default/client", "default/web", "TCP 80", "denied ingress:denied(default/egress-net-policy)", "policyTypes defaults to [Ingress, Egress] and the policy has no ingress rule"},
		}},
		{[]string{"network-policy-postgres.yaml"}, []connCase{
			{"default/web", "default/db", "TCP 5432", "allowed ingress:default/postgres-netpolicy#0", "from app=webserver on 5432"},
			{"default/web", "default/db", "TCP 5433", "denied ingress:denied(default/postgres-netpolicy)", "another port"},
			{"default/client", "default/db", "TCP 5432", "denied ingress:denied(default/postgres-netpolicy)", "not a webserver"},
			{"other/web", "default/db", "TCP 5432", "denied ingress:denied(default/postgres-netpolicy)", "a webserver of another namespace"},
			{"default/db", out, "TCP 443", "allowed", "policyTypes defaults to [Ingress] without egress rules"},
		}},
		{[]string{"network-policy-egress.yaml", "network-policy-postgres.yaml"}, []connCase{
			{"default/web", "default/db", "TCP 5432", "allowed egress:default/egress-net-policy#0 ingress:default/postgres-netpolicy#0", "both ends allow it"},
			{"default/web", "default/db", "TCP 5433", "denied egress:denied(default/egress-net-policy) ingress:denied(default/postgres-netpolicy)", "neither end allows it"},
			{"default/client", "default/db", "TCP 5432", "denied ingress:denied(default/postgres-netpolicy)", "the database's ingress"},
			{"other/web", "default/db", "TCP 5432", "denied ingress:denied(default/postgres-netpolicy)", "the database's ingress"},
		}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.files, "+"), func(t *testing.T) {
			set := New(Input{Policies: corpusPolicies(t, dir, tt.files...), Pods: pods, Namespaces: namespaces})
			checkConns(t, set, pods, tt.cases)
		})
	}
}
