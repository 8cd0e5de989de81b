package podnet

import (
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// routes lists the routes a Network made in the node namespace, as
// "dst via gw" or "dst unreachable", sorted.
func (r *rig) routes() []string {
	r.t.Helper()
	h := r.handle(r.nodeNS)
	list, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: routeProtocol, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, rt := range list {
		if rt.Type == unix.RTN_UNREACHABLE {
			out = append(out, rt.Dst.String()+" unreachable")
		} else if rt.Gw == nil {
			out = append(out, rt.Dst.String()+" dev")
		} else {
			out = append(out, rt.Dst.String()+" via "+rt.Gw.String())
		}
	}
	sort.Strings(out)
	return out
}

func TestSyncPeers(t *testing.T) {
	r := newRig(t)
	// The node network: a veth pair with 10.77.0.1/24, so peers' addresses
	// are on-link (no packet is sent by this test; the kernel here has no
	// dummy links).
	h := r.handle(r.nodeNS)
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "lab0"}, PeerName: "lab1"}); err != nil {
		t.Fatal(err)
	}
	lab, err := h.LinkByName("lab0")
	if err == nil {
		err = h.AddrAdd(lab, mustAddr("10.77.0.1/24"))
	}
	if err == nil {
		err = h.LinkSetUp(lab)
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.config("10.244.0.0/24", "10.244.0.0/16")
	cfg.ServiceCIDR = netip.MustParsePrefix("10.96.0.0/12")
	n := r.network(cfg)
	peer := func(cidr, via string) Peer {
		return Peer{PodCIDR: netip.MustParsePrefix(cidr), Via: netip.MustParseAddr(via)}
	}
	steps := []struct {
		name  string
		peers []Peer
		want  []string
	}{
		{"two peers and this node", []Peer{peer("10.244.1.0/24", "10.77.0.2"), peer("10.244.2.0/24", "10.77.0.3"), peer("10.244.0.0/24", "10.77.0.1")},
			[]string{"10.244.0.0/16 unreachable", "10.244.1.0/24 via 10.77.0.2", "10.244.2.0/24 via 10.77.0.3", "10.96.0.0/12 dev"}},
		{"idempotent", []Peer{peer("10.244.1.0/24", "10.77.0.2"), peer("10.244.2.0/24", "10.77.0.3")},
			[]string{"10.244.0.0/16 unreachable", "10.244.1.0/24 via 10.77.0.2", "10.244.2.0/24 via 10.77.0.3", "10.96.0.0/12 dev"}},
		{"one gone, one moved", []Peer{peer("10.244.2.0/24", "10.77.0.4")},
			[]string{"10.244.0.0/16 unreachable", "10.244.2.0/24 via 10.77.0.4", "10.96.0.0/12 dev"}},
		{"none", nil, []string{"10.244.0.0/16 unreachable", "10.96.0.0/12 dev"}},
	}
	for _, st := range steps {
		if err := n.SyncPeers(st.peers); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := r.routes(); strings.Join(got, ";") != strings.Join(st.want, ";") {
			t.Fatalf("%s: routes %v, want %v", st.name, got, st.want)
		}
	}
	if err := n.Teardown(); err != nil {
		t.Fatal(err)
	}
	if got := r.routes(); len(got) != 0 {
		t.Fatalf("after Teardown: %v", got)
	}
}
