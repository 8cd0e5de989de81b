package dns

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/reconciler/services"
)

// local is the address every test server listens on: loopback, a free port.
var local = netip.MustParseAddrPort("127.0.0.1:0")

// testLogger writes warnings and errors to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startServer starts a server on 127.0.0.1 with cfg (Addr and Logger
// filled in) and table t (none when nil), closed at the end of the test.
func startServer(t testing.TB, cfg Config, table *services.Table) *Server {
	t.Helper()
	cfg.Addr = local
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if table != nil {
		s.Update(table)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// ask sends one query over network ("udp" or "tcp") and returns the
// answer. edns is the EDNS0 buffer size to advertise, 0 for none.
func ask(t testing.TB, addr netip.AddrPort, network, name string, qtype uint16, edns uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg).SetQuestion(name, qtype)
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	c := dns.Client{Net: network, Timeout: 10 * time.Second}
	r, _, err := c.Exchange(m, addr.String())
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

// rrs renders records one a line, fields separated by single spaces.
func rrs(list []dns.RR) []string {
	var out []string
	for _, rr := range list {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	return out
}

// upstream is a resolver on 127.0.0.1 standing in for the node's
// upstreams. It answers A queries with 192.0.2.1 (TTL 60), PTR queries
// with host.example., "nx.example." with NXDOMAIN, "big.example." with 60
// A records, and other types with NODATA; its mode changes that.
type upstream struct {
	addr netip.AddrPort
	mode string // "" answers; "servfail", "refused", "silent"; "truncate": TC without records over UDP

	mu    sync.Mutex
	asked []string // "name type network" of every query received
}

func startUpstream(t testing.TB, mode string) *upstream {
	t.Helper()
	u := &upstream{mode: mode}
	pc, ln, err := listen(local)
	if err != nil {
		t.Fatal(err)
	}
	u.addr = pc.LocalAddr().(*net.UDPAddr).AddrPort()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: u}, {Listener: ln, Handler: u}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return u
}

func (u *upstream) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	q := req.Question[0]
	network := w.RemoteAddr().Network()
	u.mu.Lock()
	u.asked = append(u.asked, q.Name+" "+dns.TypeToString[q.Qtype]+" "+network)
	u.mu.Unlock()
	m := new(dns.Msg).SetReply(req)
	m.RecursionAvailable = true
	switch {
	case u.mode == "silent":
		return
	case u.mode == "servfail":
		m.Rcode = dns.RcodeServerFailure
	case u.mode == "refused":
		m.Rcode = dns.RcodeRefused
	case u.mode == "truncate" && network == "udp":
		m.Truncated = true
	case q.Name == "nx.example.":
		m.Rcode = dns.RcodeNameError
	case q.Qtype == dns.TypeA:
		n := 1
		if q.Name == "big.example." {
			n = 60
		}
		for i := range n {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A: netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i)}).AsSlice()})
		}
	case q.Qtype == dns.TypePTR:
		m.Answer = append(m.Answer, &dns.PTR{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 60}, Ptr: "host.example."})
	}
	w.WriteMsg(m)
}

// queries returns what the upstream was asked so far.
func (u *upstream) queries() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.asked...)
}

// fixture is a table with a Service of each kind:
//   - shop/web: cluster IP 10.96.0.10, ports http/TCP 80 and dns/UDP 53;
//   - shop/db: headless, port pg; endpoints db-0 (10.244.1.5, ready),
//     db-2 (10.244.1.7, not ready), 10.244.2.6 (ready, no hostname, pg on 6432);
//   - shop/cache: headless, publishNotReadyAddresses, 10.244.1.8 not ready;
//   - shop/ext: ExternalName example.org; shop/alias: ExternalName of
//     web.shop.svc.cluster.local;
//   - other/empty: headless without endpoints.
func fixture() *services.Table {
	ip := netip.MustParseAddr
	return &services.Table{
		ServiceCIDR:   netip.MustParsePrefix("10.96.0.0/12"),
		ClusterDomain: "cluster.local",
		Nodes: []services.Node{
			{Name: "n1", PodCIDR: netip.MustParsePrefix("10.244.1.0/24"), Ready: true},
			{Name: "n2", PodCIDR: netip.MustParsePrefix("10.244.2.0/24"), Ready: true},
		},
		Services: []services.Service{
			{Namespace: "other", Name: "empty", Type: corev1.ServiceTypeClusterIP, Headless: true},
			{Namespace: "shop", Name: "alias", Type: corev1.ServiceTypeExternalName, ExternalName: "web.shop.svc.cluster.local"},
			{Namespace: "shop", Name: "cache", Type: corev1.ServiceTypeClusterIP, Headless: true, PublishNotReady: true,
				Endpoints: []services.Endpoint{{IP: ip("10.244.1.8"), Node: "n1", Pod: "cache-0"}}},
			{Namespace: "shop", Name: "db", Type: corev1.ServiceTypeClusterIP, Headless: true,
				Ports: []services.Port{{Name: "pg", Protocol: corev1.ProtocolTCP, Port: 5432}},
				Endpoints: []services.Endpoint{
					{IP: ip("10.244.1.5"), Node: "n1", Pod: "db-0", Hostname: "db-0", Ready: true, Ports: map[string]int32{"pg": 5432}},
					{IP: ip("10.244.1.7"), Node: "n1", Pod: "db-2", Hostname: "db-2", Ports: map[string]int32{"pg": 5432}},
					{IP: ip("10.244.2.6"), Node: "n2", Pod: "db-x", Ready: true, Ports: map[string]int32{"pg": 6432}},
				}},
			{Namespace: "shop", Name: "ext", Type: corev1.ServiceTypeExternalName, ExternalName: "example.org"},
			{Namespace: "shop", Name: "web", Type: corev1.ServiceTypeClusterIP, ClusterIP: ip("10.96.0.10"),
				Ports: []services.Port{
					{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80},
					{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53},
				},
				Endpoints: []services.Endpoint{{IP: ip("10.244.1.20"), Ready: true, Ports: map[string]int32{"http": 8080, "dns": 5353}}}},
		},
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
