package dns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestUpdateUnderQueries: while tables alternate, every answer comes whole
// from one of them: the service's address in either, never NXDOMAIN or
// nothing.
func TestUpdateUnderQueries(t *testing.T) {
	a, b := fixture(), fixture()
	web := &b.Services[len(b.Services)-1]
	web.ClusterIP = netip.MustParseAddr("10.96.0.20")
	s := startServer(t, Config{}, a)
	want := []string{"web.shop.svc.cluster.local. 5 IN A 10.96.0.10", "web.shop.svc.cluster.local. 5 IN A 10.96.0.20"}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			if i%2 == 0 {
				s.Update(b)
			} else {
				s.Update(a)
			}
		}
	})
	var queriers sync.WaitGroup
	for _, network := range []string{"udp", "udp", "tcp"} {
		queriers.Go(func() {
			for range 200 {
				r := ask(t, s.Addr(), network, "web.shop.svc.cluster.local.", dns.TypeA, 0)
				got := rrs(r.Answer)
				if r.Rcode != dns.RcodeSuccess || len(got) != 1 || !slices.Contains(want, got[0]) {
					t.Errorf("%s: %s %v", network, dns.RcodeToString[r.Rcode], got)
					return
				}
			}
		})
	}
	queriers.Wait()
	close(done)
	wg.Wait()
	s.Update(b)
	if got := rrs(ask(t, s.Addr(), "udp", "web.shop.svc.cluster.local.", dns.TypeA, 0).Answer); !slices.Equal(got, want[1:]) {
		t.Errorf("after the last Update: %v, want %v", got, want[1:])
	}
}

// TestLifecycle: Start binds before returning and reports a bind error;
// cancelling Start's context stops the server and its goroutines; Close
// after that, and again, is fine.
func TestLifecycle(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := New(Config{Addr: local, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	s.Update(fixture())
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Errorf("second Start: %v", err)
	}
	// Bound at once: a query right after Start is answered.
	if r := ask(t, s.Addr(), "udp", "web.shop.svc.cluster.local.", dns.TypeA, 0); len(r.Answer) != 1 {
		t.Errorf("answer %v", rrs(r.Answer))
	}

	// The address is taken now: another server cannot start there.
	other, err := New(Config{Addr: s.Addr(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Start on a taken address: %v", err)
	}

	// A TCP connection left open must not hold the shutdown.
	idle, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	cancel()
	waitFor(t, "the server to stop", func() bool {
		c := dns.Client{Net: "tcp", Timeout: 200 * time.Millisecond}
		_, _, err := c.Exchange(new(dns.Msg).SetQuestion("web.shop.svc.cluster.local.", dns.TypeA), s.Addr().String())
		return err != nil
	})
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := other.Close(); err != nil {
		t.Errorf("Close of a server that did not start: %v", err)
	}
	if err := other.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "server closed") {
		t.Errorf("Start after Close: %v", err)
	}
	idle.Close()
	waitFor(t, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

// TestCloseEndsForwarding: Close does not wait for an upstream that never
// answers.
func TestCloseEndsForwarding(t *testing.T) {
	silent := startUpstream(t, "silent")
	s, err := New(Config{Addr: local, Upstream: []netip.AddrPort{silent.addr}, UpstreamTimeout: time.Hour, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	answered := make(chan *dns.Msg, 1)
	go func() {
		c := dns.Client{Net: "udp", Timeout: time.Minute}
		r, _, _ := c.Exchange(new(dns.Msg).SetQuestion("example.org.", dns.TypeA), s.Addr().String())
		answered <- r
	}()
	waitFor(t, "the query to reach the upstream", func() bool { return len(silent.queries()) > 0 })
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the upstream")
	}
	// The query in flight was answered before the socket closed.
	if r := <-answered; r == nil || r.Rcode != dns.RcodeServerFailure {
		t.Errorf("query in flight at Close: %v, want SERVFAIL", r)
	}
}

func TestNew(t *testing.T) {
	addr := netip.MustParseAddrPort("10.244.1.1:53")
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"no address", Config{}, "Config.Addr is required"},
		{"bad domain", Config{Addr: addr, ClusterDomain: "bad domain..x"}, "is not a domain name"},
		{"TTL under a second", Config{Addr: addr, TTL: time.Millisecond}, "under one second"},
		{"negative timeout", Config{Addr: addr, UpstreamTimeout: -time.Second}, "negative"},
		{"upstream without port", Config{Addr: addr, Upstream: []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("192.0.2.53"), 0)}}, "not an address and port"},
		{"upstream is itself", Config{Addr: addr, Upstream: []netip.AddrPort{addr}}, "forward to itself"},
		{"IPv6 reverse range", Config{Addr: addr, ReverseCIDRs: []netip.Prefix{netip.MustParsePrefix("fd00::/64")}}, "not an IPv4 range"},
		{"defaults", Config{Addr: addr}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.cfg.ClusterDomain != DefaultClusterDomain || s.cfg.TTL != DefaultTTL || s.cfg.UpstreamTimeout != DefaultUpstreamTimeout || s.cfg.Logger == nil {
					t.Errorf("defaults not filled in: %+v", s.cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want one saying %q", err, tt.err)
			}
		})
	}
}

func TestUpstreamsFromResolvConf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	conf := "# comment\nnameserver 192.0.2.53\nsearch corp.example\nnameserver fe80::1%eth0\nnameserver not-an-ip\noptions edns0\nnameserver 127.0.0.53\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := UpstreamsFromResolvConf(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.AddrPort{
		netip.MustParseAddrPort("192.0.2.53:53"),
		netip.MustParseAddrPort("[fe80::1%eth0]:53"),
		netip.MustParseAddrPort("127.0.0.53:53"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := UpstreamsFromResolvConf(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing file gave no error")
	}
}

func TestMetrics(t *testing.T) {
	s := startServer(t, Config{Upstream: []netip.AddrPort{closedPort(t)}}, fixture())
	ask(t, s.Addr(), "udp", "web.shop.svc.cluster.local.", dns.TypeA, 0)
	ask(t, s.Addr(), "udp", "nope.shop.svc.cluster.local.", dns.TypeA, 0)
	ask(t, s.Addr(), "udp", "example.org.", dns.TypeA, 0)
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	want := `
# HELP shoal_dns_queries_total Queries the node's DNS answered, by source (cluster: from the routing table; upstream: forwarded) and response code.
# TYPE shoal_dns_queries_total counter
shoal_dns_queries_total{rcode="NOERROR",source="cluster"} 1
shoal_dns_queries_total{rcode="NXDOMAIN",source="cluster"} 1
shoal_dns_queries_total{rcode="SERVFAIL",source="upstream"} 1
# HELP shoal_dns_services Services in the routing table the node's DNS answers from.
# TYPE shoal_dns_services gauge
shoal_dns_services 6
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "shoal_dns_queries_total", "shoal_dns_services"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(s, "shoal_dns_upstream_failures_total"); n != 1 {
		t.Errorf("%d upstream failure series, want 1", n)
	}
}
