package dns

import (
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// closedPort returns a loopback UDP address nothing listens on: queries
// to it are refused at once.
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(local))
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close()
	return addr
}

// TestForward: failover between upstreams, SERVFAIL when all fail, TCP on
// truncation.
func TestForward(t *testing.T) {
	good := startUpstream(t, "")
	servfail := startUpstream(t, "servfail")
	refused := startUpstream(t, "refused")
	silent := startUpstream(t, "silent")
	truncating := startUpstream(t, "truncate")
	closed := closedPort(t)

	tests := []struct {
		name      string
		upstreams []netip.AddrPort
		qname     string
		network   string
		rcode     int
		answers   int
		// asked are the queries the good (or truncating) upstream must get.
		via    *upstream
		asked  []string
		silent bool // the silent upstream must have been tried
	}{
		{name: "first upstream answers", upstreams: []netip.AddrPort{good.addr}, qname: "a.example.",
			answers: 1, via: good, asked: []string{"a.example. A udp"}},
		{name: "after SERVFAIL the next", upstreams: []netip.AddrPort{servfail.addr, good.addr}, qname: "b.example.",
			answers: 1, via: good, asked: []string{"b.example. A udp"}},
		{name: "after REFUSED the next", upstreams: []netip.AddrPort{refused.addr, good.addr}, qname: "c.example.",
			answers: 1, via: good, asked: []string{"c.example. A udp"}},
		{name: "after a timeout the next", upstreams: []netip.AddrPort{silent.addr, good.addr}, qname: "d.example.",
			answers: 1, via: good, asked: []string{"d.example. A udp"}, silent: true},
		{name: "after an unreachable one the next", upstreams: []netip.AddrPort{closed, good.addr}, qname: "e.example.",
			answers: 1, via: good, asked: []string{"e.example. A udp"}},
		{name: "all failing is SERVFAIL", upstreams: []netip.AddrPort{servfail.addr, closed, silent.addr}, qname: "f.example.",
			rcode: dns.RcodeServerFailure, silent: true},
		{name: "no upstream is SERVFAIL", qname: "g.example.", rcode: dns.RcodeServerFailure},
		{name: "truncated over UDP is asked again over TCP", upstreams: []netip.AddrPort{truncating.addr}, qname: "h.example.",
			answers: 1, via: truncating, asked: []string{"h.example. A udp", "h.example. A tcp"}},
		{name: "a client over TCP is forwarded over TCP", upstreams: []netip.AddrPort{good.addr}, qname: "i.example.", network: "tcp",
			answers: 1, via: good, asked: []string{"i.example. A tcp"}},
		{name: "a large answer comes whole over TCP", upstreams: []netip.AddrPort{good.addr}, qname: "big.example.", network: "tcp",
			answers: 60, via: good, asked: []string{"big.example. A tcp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Config{Upstream: tt.upstreams, UpstreamTimeout: 200 * time.Millisecond}, fixture())
			network := tt.network
			if network == "" {
				network = "udp"
			}
			silentBefore := len(silent.queries())
			r := ask(t, s.Addr(), network, tt.qname, dns.TypeA, 0)
			if r.Rcode != tt.rcode || len(r.Answer) != tt.answers {
				t.Errorf("%s with %d answers, want %s with %d", dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[tt.rcode], tt.answers)
			}
			if tt.via != nil {
				var got []string
				for _, q := range tt.via.queries() {
					if q[:len(tt.qname)] == tt.qname {
						got = append(got, q)
					}
				}
				if !slices.Equal(got, tt.asked) {
					t.Errorf("upstream asked %v, want %v", got, tt.asked)
				}
			}
			if tried := len(silent.queries()) > silentBefore; tried != tt.silent {
				t.Errorf("silent upstream tried: %v, want %v", tried, tt.silent)
			}
		})
	}
}

// TestForwardTruncatesForUDPClients: an upstream answer larger than the
// client's UDP buffer reaches it truncated, so it asks again over TCP.
func TestForwardTruncatesForUDPClients(t *testing.T) {
	good := startUpstream(t, "")
	s := startServer(t, Config{Upstream: []netip.AddrPort{good.addr}}, fixture())
	r := ask(t, s.Addr(), "udp", "big.example.", dns.TypeA, 0)
	if !r.Truncated || len(r.Answer) == 60 {
		t.Errorf("TC %v with %d answers, want truncated", r.Truncated, len(r.Answer))
	}
	if r = ask(t, s.Addr(), "udp", "big.example.", dns.TypeA, 4096); r.Truncated || len(r.Answer) != 60 {
		t.Errorf("with EDNS0 4096: TC %v with %d answers, want 60", r.Truncated, len(r.Answer))
	}
}
