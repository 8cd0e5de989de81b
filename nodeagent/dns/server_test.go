package dns

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/shoal-run/shoal/reconciler/services"
)

// TestRecords asks a server holding fixture() for every kind of name, over
// UDP and TCP, with a second server on 127.0.0.1 as its upstream.
func TestRecords(t *testing.T) {
	up := startUpstream(t, "")
	s := startServer(t, Config{
		Upstream:     []netip.AddrPort{up.addr},
		ReverseCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")},
	}, fixture())

	const (
		noerror = dns.RcodeSuccess
		nx      = dns.RcodeNameError
		zone    = "cluster.local."
	)
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		extra  []string
		// soa is the owner of the SOA expected in the authority section
		// (negative answers), "" for none.
		soa string
		// forwarded answers are not authoritative.
		forwarded bool
	}{
		{name: "cluster IP", qname: "web.shop.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"web.shop.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "names are case-insensitive", qname: "WEB.Shop.svc.Cluster.Local.", qtype: dns.TypeA,
			answer: []string{"web.shop.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "ANY gives the name's records", qname: "web.shop.svc.cluster.local.", qtype: dns.TypeANY,
			answer: []string{"web.shop.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "AAAA of an IPv4 service is NODATA", qname: "web.shop.svc.cluster.local.", qtype: dns.TypeAAAA, soa: zone},
		{name: "MX of a service is NODATA", qname: "web.shop.svc.cluster.local.", qtype: dns.TypeMX, soa: zone},
		{name: "missing service is NXDOMAIN", qname: "nope.shop.svc.cluster.local.", qtype: dns.TypeA, rcode: nx, soa: zone},
		{name: "missing name in the domain is NXDOMAIN, not forwarded", qname: "foo.cluster.local.", qtype: dns.TypeA, rcode: nx, soa: zone},
		{name: "namespace with services is NODATA", qname: "shop.svc.cluster.local.", qtype: dns.TypeA, soa: zone},
		{name: "namespace without services is NXDOMAIN", qname: "kube-system.svc.cluster.local.", qtype: dns.TypeA, rcode: nx, soa: zone},
		{name: "svc subdomain is NODATA", qname: "svc.cluster.local.", qtype: dns.TypeA, soa: zone},
		{name: "domain's SOA", qname: "cluster.local.", qtype: dns.TypeSOA,
			answer: []string{"cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. SERIAL 7200 1800 86400 5"}},
		{name: "schema version", qname: "dns-version.cluster.local.", qtype: dns.TypeTXT,
			answer: []string{`dns-version.cluster.local. 5 IN TXT "1.1.0"`}},

		{name: "headless: the ready endpoints", qname: "db.shop.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"db.shop.svc.cluster.local. 5 IN A 10.244.1.5", "db.shop.svc.cluster.local. 5 IN A 10.244.2.6"}},
		{name: "headless AAAA is NODATA", qname: "db.shop.svc.cluster.local.", qtype: dns.TypeAAAA, soa: zone},
		{name: "headless endpoint by hostname", qname: "db-0.db.shop.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"db-0.db.shop.svc.cluster.local. 5 IN A 10.244.1.5"}},
		{name: "headless endpoint by dashed address", qname: "10-244-2-6.db.shop.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"10-244-2-6.db.shop.svc.cluster.local. 5 IN A 10.244.2.6"}},
		{name: "headless endpoint not ready is NXDOMAIN", qname: "db-2.db.shop.svc.cluster.local.", qtype: dns.TypeA, rcode: nx, soa: zone},
		{name: "publishNotReadyAddresses lists endpoints not ready", qname: "cache.shop.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"cache.shop.svc.cluster.local. 5 IN A 10.244.1.8"}},
		{name: "headless without endpoints is NODATA", qname: "empty.other.svc.cluster.local.", qtype: dns.TypeA, soa: zone},

		{name: "SRV of a cluster IP service", qname: "_http._tcp.web.shop.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_http._tcp.web.shop.svc.cluster.local. 5 IN SRV 0 100 80 web.shop.svc.cluster.local."},
			extra:  []string{"web.shop.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "SRV of a UDP port", qname: "_dns._udp.web.shop.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_dns._udp.web.shop.svc.cluster.local. 5 IN SRV 0 100 53 web.shop.svc.cluster.local."},
			extra:  []string{"web.shop.svc.cluster.local. 5 IN A 10.96.0.10"}},
		{name: "SRV with the wrong protocol is NXDOMAIN", qname: "_http._udp.web.shop.svc.cluster.local.", qtype: dns.TypeSRV, rcode: nx, soa: zone},
		{name: "SRV name asked for A is NODATA", qname: "_http._tcp.web.shop.svc.cluster.local.", qtype: dns.TypeA, soa: zone},
		{name: "SRV of a headless service: one per ready endpoint, its port", qname: "_pg._tcp.db.shop.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{
				"_pg._tcp.db.shop.svc.cluster.local. 5 IN SRV 0 50 5432 db-0.db.shop.svc.cluster.local.",
				"_pg._tcp.db.shop.svc.cluster.local. 5 IN SRV 0 50 6432 10-244-2-6.db.shop.svc.cluster.local.",
			},
			extra: []string{"db-0.db.shop.svc.cluster.local. 5 IN A 10.244.1.5", "10-244-2-6.db.shop.svc.cluster.local. 5 IN A 10.244.2.6"}},

		{name: "ExternalName: CNAME and the target's A from upstream", qname: "ext.shop.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"ext.shop.svc.cluster.local. 5 IN CNAME example.org.", "example.org. 60 IN A 192.0.2.1"}},
		{name: "ExternalName asked for its CNAME", qname: "ext.shop.svc.cluster.local.", qtype: dns.TypeCNAME,
			answer: []string{"ext.shop.svc.cluster.local. 5 IN CNAME example.org."}},
		{name: "ExternalName AAAA: the CNAME, the target has none", qname: "ext.shop.svc.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"ext.shop.svc.cluster.local. 5 IN CNAME example.org."}},
		{name: "ExternalName inside the domain is followed in the table", qname: "alias.shop.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"alias.shop.svc.cluster.local. 5 IN CNAME web.shop.svc.cluster.local.", "web.shop.svc.cluster.local. 5 IN A 10.96.0.10"}},

		{name: "pod by dashed address", qname: "10-244-1-99.shop.pod.cluster.local.", qtype: dns.TypeA,
			answer: []string{"10-244-1-99.shop.pod.cluster.local. 5 IN A 10.244.1.99"}},
		{name: "pod AAAA is NODATA", qname: "10-244-1-99.shop.pod.cluster.local.", qtype: dns.TypeAAAA, soa: zone},
		{name: "pod name that is no address is NXDOMAIN", qname: "web-0.shop.pod.cluster.local.", qtype: dns.TypeA, rcode: nx, soa: zone},
		{name: "pod name of three numbers is NXDOMAIN", qname: "10-244-1.shop.pod.cluster.local.", qtype: dns.TypeA, rcode: nx, soa: zone},
		{name: "pod namespace is NODATA", qname: "shop.pod.cluster.local.", qtype: dns.TypeA, soa: zone},

		{name: "PTR of a cluster IP", qname: "10.0.96.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"10.0.96.10.in-addr.arpa. 5 IN PTR web.shop.svc.cluster.local."}},
		{name: "PTR of a headless endpoint with a hostname", qname: "5.1.244.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"5.1.244.10.in-addr.arpa. 5 IN PTR db-0.db.shop.svc.cluster.local."}},
		{name: "PTR of a headless endpoint without hostname", qname: "6.2.244.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"6.2.244.10.in-addr.arpa. 5 IN PTR 10-244-2-6.db.shop.svc.cluster.local."}},
		{name: "PTR of an unused cluster IP is NXDOMAIN, not forwarded", qname: "99.0.96.10.in-addr.arpa.", qtype: dns.TypePTR, rcode: nx, soa: "96.10.in-addr.arpa."},
		{name: "PTR in the upper half of the service range", qname: "1.0.111.10.in-addr.arpa.", qtype: dns.TypePTR, rcode: nx, soa: "111.10.in-addr.arpa."},
		{name: "PTR of an endpoint not ready is NXDOMAIN", qname: "7.1.244.10.in-addr.arpa.", qtype: dns.TypePTR, rcode: nx, soa: "1.244.10.in-addr.arpa."},
		{name: "PTR in Config.ReverseCIDRs is not forwarded", qname: "4.3.244.10.in-addr.arpa.", qtype: dns.TypePTR, rcode: nx, soa: "244.10.in-addr.arpa."},
		{name: "reverse zone with records below is NODATA", qname: "0.96.10.in-addr.arpa.", qtype: dns.TypePTR, soa: "96.10.in-addr.arpa."},

		{name: "other PTR is forwarded", qname: "1.2.0.192.in-addr.arpa.", qtype: dns.TypePTR, forwarded: true,
			answer: []string{"1.2.0.192.in-addr.arpa. 60 IN PTR host.example."}},
		{name: "PTR of a range containing the service range is forwarded", qname: "10.in-addr.arpa.", qtype: dns.TypePTR, forwarded: true,
			answer: []string{"10.in-addr.arpa. 60 IN PTR host.example."}},
		{name: "other names are forwarded", qname: "example.org.", qtype: dns.TypeA, forwarded: true,
			answer: []string{"example.org. 60 IN A 192.0.2.1"}},
		{name: "upstream NXDOMAIN is passed on", qname: "nx.example.", qtype: dns.TypeA, rcode: nx, forwarded: true},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				r := ask(t, s.Addr(), network, tt.qname, tt.qtype, 0)
				if r.Rcode != tt.rcode {
					t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
				}
				if r.Authoritative == tt.forwarded {
					t.Errorf("authoritative %v, want %v", r.Authoritative, !tt.forwarded)
				}
				if !r.RecursionAvailable {
					t.Error("RA not set")
				}
				got := rrs(r.Answer)
				if tt.qtype == dns.TypeSOA && len(got) == 1 {
					got[0] = strings.Replace(got[0], strings.Fields(got[0])[6], "SERIAL", 1)
				}
				if !slices.Equal(got, tt.answer) {
					t.Errorf("answer:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.answer, "\n"))
				}
				if got := rrs(r.Extra); !slices.Equal(got, tt.extra) {
					t.Errorf("additional:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.extra, "\n"))
				}
				checkSOA(t, r, tt.soa)
			})
		}
	}
	for _, q := range up.queries() {
		if strings.Contains(q, "cluster.local.") || strings.Contains(q, ".10.in-addr.arpa.") {
			t.Errorf("upstream was asked %q", q)
		}
	}
}

// checkSOA checks that the authority section holds just the SOA of zone
// with the negative TTL (nothing when zone is "").
func checkSOA(t *testing.T, r *dns.Msg, zone string) {
	t.Helper()
	if zone == "" {
		if len(r.Ns) != 0 && r.Authoritative {
			t.Errorf("authority: %v, want none", rrs(r.Ns))
		}
		return
	}
	if len(r.Ns) != 1 {
		t.Fatalf("authority: %v, want the SOA of %s", rrs(r.Ns), zone)
	}
	soa, ok := r.Ns[0].(*dns.SOA)
	if !ok || soa.Hdr.Name != zone || soa.Hdr.Ttl != negativeTTL || soa.Minttl != negativeTTL || soa.Ns != "ns.dns.cluster.local." {
		t.Errorf("authority: %v, want the SOA of %s, TTL and minimum %d", rrs(r.Ns), zone, negativeTTL)
	}
}

// TestConfigTTL: positive answers carry Config.TTL; negative ones keep 5 s.
func TestConfigTTL(t *testing.T) {
	s := startServer(t, Config{TTL: 30e9, ClusterDomain: "corp.internal."}, fixture())
	r := ask(t, s.Addr(), "udp", "web.shop.svc.corp.internal.", dns.TypeA, 0)
	if got := rrs(r.Answer); !slices.Equal(got, []string{"web.shop.svc.corp.internal. 30 IN A 10.96.0.10"}) {
		t.Errorf("answer %v", got)
	}
	r = ask(t, s.Addr(), "udp", "nope.shop.svc.corp.internal.", dns.TypeA, 0)
	if r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 || r.Ns[0].Header().Ttl != negativeTTL {
		t.Errorf("negative answer %s %v", dns.RcodeToString[r.Rcode], rrs(r.Ns))
	}
	r = ask(t, s.Addr(), "udp", "web.shop.svc.cluster.local.", dns.TypeA, 0)
	if r.Rcode != dns.RcodeServerFailure { // not the server's, and no upstream
		t.Errorf("another domain: %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
}

// TestBeforeFirstUpdate: until it has a table the server answers SERVFAIL
// for the cluster's names (no NXDOMAIN to cache) and forwards the rest.
func TestBeforeFirstUpdate(t *testing.T) {
	up := startUpstream(t, "")
	s := startServer(t, Config{Upstream: []netip.AddrPort{up.addr}}, nil)
	if r := ask(t, s.Addr(), "udp", "web.shop.svc.cluster.local.", dns.TypeA, 0); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("cluster name: %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	if r := ask(t, s.Addr(), "udp", "example.org.", dns.TypeA, 0); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("forwarded: %s %v", dns.RcodeToString[r.Rcode], rrs(r.Answer))
	}
	s.Update(fixture())
	if r := ask(t, s.Addr(), "udp", "web.shop.svc.cluster.local.", dns.TypeA, 0); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("after Update: %s %v", dns.RcodeToString[r.Rcode], rrs(r.Answer))
	}
}

// TestTruncation: an answer too large for the client's UDP buffer is
// truncated with TC set; the same over TCP, or with a large enough EDNS0
// buffer, is whole.
func TestTruncation(t *testing.T) {
	table := fixture()
	db := &table.Services[3]
	db.Endpoints = nil
	for i := range 100 {
		db.Endpoints = append(db.Endpoints, services.Endpoint{IP: netip.AddrFrom4([4]byte{10, 244, 1, byte(10 + i)}), Ready: true})
	}
	s := startServer(t, Config{}, table)
	const name = "db.shop.svc.cluster.local."
	for _, tt := range []struct {
		network   string
		edns      uint16
		truncated bool
	}{
		{"udp", 0, true},
		{"udp", 1232, true},
		{"udp", 4096, false},
		{"tcp", 0, false},
	} {
		r := ask(t, s.Addr(), tt.network, name, dns.TypeA, tt.edns)
		if r.Truncated != tt.truncated {
			t.Errorf("%s edns %d: TC %v, want %v", tt.network, tt.edns, r.Truncated, tt.truncated)
		}
		if !tt.truncated && len(r.Answer) != 100 {
			t.Errorf("%s edns %d: %d answers, want 100", tt.network, tt.edns, len(r.Answer))
		}
		if tt.edns > 0 && r.IsEdns0() == nil {
			t.Errorf("%s edns %d: no OPT in the answer", tt.network, tt.edns)
		}
	}
}
