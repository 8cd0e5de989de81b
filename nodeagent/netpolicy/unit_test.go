package netpolicy

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoal-run/shoal/policies/network"
	"github.com/shoal-run/shoal/reconciler/services"
)

func TestConfig(t *testing.T) {
	cidr := netip.MustParsePrefix("10.244.1.0/24")
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults fill in", Config{PodCIDR: cidr}, true},
		{"no pod range", Config{}, false},
		{"pod range with host bits", Config{PodCIDR: netip.MustParsePrefix("10.244.1.7/24")}, false},
		{"IPv6 pod range", Config{PodCIDR: netip.MustParsePrefix("fd00::/64")}, false},
		{"mark of two bits", Config{PodCIDR: cidr, Mark: 0x30000}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.cfg)
			if ok := err == nil; ok != tt.ok {
				t.Fatalf("New: %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v is not ErrInvalid", err)
				}
				return
			}
			got := e.Config()
			if got.QueueNum != DefaultQueueNum || got.Mark != DefaultMark || got.QueueMaxLen != DefaultQueueMaxLen || got.Logger == nil {
				t.Fatalf("defaults not filled: %+v", got)
			}
		})
	}
}

func TestRender(t *testing.T) {
	web := Selected{Pod: network.Ref{Namespace: "shop", Name: "web"}, IP: netip.MustParseAddr("10.244.1.5"), Ingress: true}
	both := Selected{Pod: network.Ref{Namespace: "shop", Name: "db"}, IP: netip.MustParseAddr("10.244.1.6"), Ingress: true, Egress: true}
	head := "*filter\n:SHOAL-NETPOL - [0:0]\n" +
		`-A SHOAL-NETPOL -m mark --mark 0x10000/0x10000 -m comment --comment "shoal netpol: accepted by the agent" -j CONNMARK --or-mark 0x10000` + "\n" +
		`-A SHOAL-NETPOL -m connmark --mark 0x10000/0x10000 -m comment --comment "shoal netpol: connection accepted before" -j RETURN` + "\n"
	tests := []struct {
		name string
		cfg  Config
		sel  []Selected
		want string
	}{
		{"nothing selected", Config{}, nil, head + "COMMIT\n"},
		{"ingress and egress", Config{}, []Selected{web, both}, head +
			`-A SHOAL-NETPOL -d 10.244.1.5/32 -m comment --comment "shop/web ingress" -j NFQUEUE --queue-num 100` + "\n" +
			`-A SHOAL-NETPOL -d 10.244.1.6/32 -m comment --comment "shop/db ingress" -j NFQUEUE --queue-num 100` + "\n" +
			`-A SHOAL-NETPOL -s 10.244.1.6/32 -m comment --comment "shop/db egress" -j NFQUEUE --queue-num 100` + "\n" +
			"COMMIT\n"},
		{"bypass, another queue and mark", Config{Bypass: true, QueueNum: 7, Mark: 0x800}, []Selected{web},
			"*filter\n:SHOAL-NETPOL - [0:0]\n" +
				`-A SHOAL-NETPOL -m mark --mark 0x800/0x800 -m comment --comment "shoal netpol: accepted by the agent" -j CONNMARK --or-mark 0x800` + "\n" +
				`-A SHOAL-NETPOL -m connmark --mark 0x800/0x800 -m comment --comment "shoal netpol: connection accepted before" -j RETURN` + "\n" +
				`-A SHOAL-NETPOL -d 10.244.1.5/32 -m comment --comment "shop/web ingress" -j NFQUEUE --queue-num 7 --queue-bypass` + "\n" +
				"COMMIT\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Render(tt.cfg, tt.sel); got != tt.want {
				t.Fatalf("Render:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// packet builds an IPv4 packet of proto from src to dst with the ports as
// the first 4 bytes of the transport header; ihl is in bytes.
func packet(proto byte, src, dst string, sport, dport uint16, ihl int) []byte {
	b := make([]byte, ihl+8)
	b[0] = 0x40 | byte(ihl/4)
	b[9] = proto
	copy(b[12:16], netip.MustParseAddr(src).AsSlice())
	copy(b[16:20], netip.MustParseAddr(dst).AsSlice())
	binary.BigEndian.PutUint16(b[ihl:], sport)
	binary.BigEndian.PutUint16(b[ihl+2:], dport)
	return b
}

func TestParse(t *testing.T) {
	src, dst := netip.MustParseAddr("10.244.1.4"), netip.MustParseAddr("10.244.2.5")
	fragment := packet(6, "10.244.1.4", "10.244.2.5", 1, 2, 20)
	fragment[7] = 8 // offset 64 bytes: no transport header here
	tests := []struct {
		name string
		pkt  []byte
		want network.Conn
		ok   bool
	}{
		{"TCP", packet(6, "10.244.1.4", "10.244.2.5", 40000, 8080, 20), network.Conn{Src: src, Dst: dst, Protocol: corev1.ProtocolTCP, DstPort: 8080}, true},
		{"UDP with IP options", packet(17, "10.244.1.4", "10.244.2.5", 40000, 53, 24), network.Conn{Src: src, Dst: dst, Protocol: corev1.ProtocolUDP, DstPort: 53}, true},
		{"SCTP", packet(132, "10.244.1.4", "10.244.2.5", 1, 3868, 20), network.Conn{Src: src, Dst: dst, Protocol: corev1.ProtocolSCTP, DstPort: 3868}, true},
		{"ICMP has no port", packet(1, "10.244.1.4", "10.244.2.5", 0x0800, 0, 20), network.Conn{Src: src, Dst: dst, Protocol: "ICMP"}, true},
		{"another protocol", packet(47, "10.244.1.4", "10.244.2.5", 0, 0, 20), network.Conn{Src: src, Dst: dst, Protocol: "IP-47"}, true},
		{"IPv6", append([]byte{0x60}, make([]byte, 59)...), network.Conn{}, false},
		{"short", []byte{0x45, 0}, network.Conn{}, false},
		{"truncated ports", packet(6, "10.244.1.4", "10.244.2.5", 1, 2, 20)[:22], network.Conn{}, false},
		{"later fragment", fragment, network.Conn{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parse(tt.pkt)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Fatalf("parse = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRecent(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	f := func(port uint16) flow { return flow{proto: corev1.ProtocolTCP, sport: port, dport: 80} }
	r := newRecent(2, time.Minute)
	steps := []struct {
		flow  flow
		at    time.Duration
		first bool
	}{
		{f(1), 0, true},
		{f(1), time.Second, false},      // a retransmission
		{f(1), 50 * time.Second, false}, // still retrying: remembered from the last one
		{f(2), 51 * time.Second, true},
		{f(3), 52 * time.Second, true},  // full, none expired: forgets all
		{f(1), 53 * time.Second, true},  // forgotten
		{f(3), 54 * time.Second, false}, // remembered after the reset
		{f(4), 3 * time.Minute, true},   // full: the expired go
		{f(3), 3*time.Minute + 1, true}, // expired
		{f(4), 3*time.Minute + time.Second, false},
	}
	for i, s := range steps {
		if got := r.first(s.flow, now.Add(s.at)); got != s.first {
			t.Fatalf("step %d (%+v at %v): first = %v, want %v", i, s.flow, s.at, got, s.first)
		}
	}
}

func TestInputOf(t *testing.T) {
	if in := InputOf(nil); in.Policies != nil || in.Pods != nil {
		t.Fatalf("InputOf(nil) = %+v", in)
	}
	if in := InputOf(&services.Table{}); in.Policies != nil || in.Pods != nil {
		t.Fatalf("InputOf of a table without policy = %+v", in)
	}
	ports := []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}
	tbl := &services.Table{Policy: &services.Policy{
		NetworkPolicies: []networkingv1.NetworkPolicy{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "deny"}}},
		Namespaces:      []services.NamespaceLabels{{Name: "shop", Labels: map[string]string{"team": "shop"}}},
		Pods: []services.PolicyPod{{Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web"}, Node: "n1",
			IP: netip.MustParseAddr("10.244.1.5"), HostIPs: []netip.Addr{netip.MustParseAddr("10.244.1.1")}, HostNetwork: false, Ports: ports}},
	}}
	in := InputOf(tbl)
	if len(in.Policies) != 1 || in.Policies[0] != &tbl.Policy.NetworkPolicies[0] {
		t.Errorf("policies %+v", in.Policies)
	}
	if len(in.Namespaces) != 1 || in.Namespaces[0].Name != "shop" || in.Namespaces[0].Labels["team"] != "shop" {
		t.Errorf("namespaces %+v", in.Namespaces)
	}
	want := []network.Pod{{Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web"}, IP: netip.MustParseAddr("10.244.1.5"),
		HostIPs: []netip.Addr{netip.MustParseAddr("10.244.1.1")}, Ports: ports}}
	if !reflect.DeepEqual(in.Pods, want) {
		t.Errorf("pods %+v, want %+v", in.Pods, want)
	}
}

// TestSelectedOf: only pods of this node's range that a policy isolates
// are queued, in namespace/name order; hostNetwork pods never are.
func TestSelectedOf(t *testing.T) {
	e, err := New(Config{PodCIDR: netip.MustParsePrefix("10.244.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	pod := func(ns, name, ip string, hostNet bool) network.Pod {
		return network.Pod{Namespace: ns, Name: name, IP: netip.MustParseAddr(ip), HostNetwork: hostNet, Labels: map[string]string{"app": name}}
	}
	pods := []network.Pod{
		pod("shop", "web", "10.244.1.9", false),
		pod("shop", "db", "10.244.1.3", false),
		pod("shop", "far", "10.244.2.3", false), // another node's
		pod("shop", "agent", "10.244.1.200", true),
		pod("", "open", "10.244.1.4", false), // no policy of default
	}
	egress := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db-egress"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}}
	all := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "deny"}}
	got := e.selectedOf(network.New(network.Input{Policies: []*networkingv1.NetworkPolicy{egress, all}, Pods: pods}), pods)
	want := []Selected{
		{Pod: network.Ref{Namespace: "shop", Name: "db"}, IP: netip.MustParseAddr("10.244.1.3"), Ingress: true, Egress: true},
		{Pod: network.Ref{Namespace: "shop", Name: "web"}, IP: netip.MustParseAddr("10.244.1.9"), Ingress: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("selectedOf = %+v, want %+v", got, want)
	}
}
