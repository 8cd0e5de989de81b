package dns

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/shoal-run/shoal/reconciler/services"
)

// dnsSchemaVersion is the Kubernetes DNS specification version served at
// dns-version.<domain>.
const dnsSchemaVersion = "1.1.0"

// zone is the index of one table: every name the server answers itself,
// with its records, built once by buildZone and never changed after, so
// that readers share it without locks.
type zone struct {
	domain    string // the cluster domain, lowercase and fully qualified: "cluster.local."
	dotDomain string // "." + domain
	podSuffix string // ".pod." + domain
	soa       *dns.SOA
	names     map[string]*node
	reverse   []reverseRange
	// ready is false for the zone a server has before its first table:
	// its names then get SERVFAIL rather than a cached NXDOMAIN.
	ready    bool
	ttl      uint32 // of positive answers
	services int
}

// reverseRange is an IPv4 range whose in-addr.arpa names the server
// answers itself, with the SOAs of its negative answers: one per
// whole-octet zone in the range (sixteen /16 zones for a /12), as
// CoreDNS splits a range that does not end on an octet.
type reverseRange struct {
	prefix netip.Prefix
	soas   []*dns.SOA
}

func newReverseRange(p netip.Prefix, domain string, serial uint32) reverseRange {
	zoneBits := (p.Bits() + 7) / 8 * 8
	r := reverseRange{prefix: p}
	for i := range 1 << (zoneBits - p.Bits()) {
		a := p.Addr().As4()
		v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		if zoneBits > 0 {
			v |= uint32(i) << (32 - zoneBits)
		}
		sub := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), zoneBits)
		r.soas = append(r.soas, newSOA(reverseZoneName(sub), domain, serial))
	}
	return r
}

// soa returns the SOA of the zone of ip, an address in the range.
func (r *reverseRange) soa(ip netip.Addr) *dns.SOA {
	zoneBits := (r.prefix.Bits() + 7) / 8 * 8
	if zoneBits == r.prefix.Bits() {
		return r.soas[0]
	}
	a := ip.As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	return r.soas[(v>>(32-zoneBits))&(1<<(zoneBits-r.prefix.Bits())-1)]
}

// node is one name of the zone: its records grouped by type (none for an
// empty non-terminal, a name that exists only because names below it do).
type node struct {
	sets  [][]dns.RR
	cname *dns.CNAME
	// extra is the additional section of an SRV answer: the targets'
	// address records.
	extra []dns.RR
}

// records returns the node's records of type qtype (all of them for
// ANY). The slice is shared: callers copy it, never change it.
func (n *node) records(qtype uint16) []dns.RR {
	if qtype == dns.TypeANY {
		var all []dns.RR
		for _, set := range n.sets {
			all = append(all, set...)
		}
		return all
	}
	for _, set := range n.sets {
		if set[0].Header().Rrtype == qtype {
			return set
		}
	}
	return nil
}

func (n *node) add(rr dns.RR) {
	t := rr.Header().Rrtype
	for i, set := range n.sets {
		if set[0].Header().Rrtype == t {
			n.sets[i] = append(set, rr)
			return
		}
	}
	n.sets = append(n.sets, []dns.RR{rr})
}

// zoneConfig is what buildZone takes from the server's Config.
type zoneConfig struct {
	domain  string // lowercase, without the trailing dot
	ttl     uint32
	reverse []netip.Prefix
	serial  uint32
}

// buildZone indexes table t (nil for none yet) and returns the zone with
// the problems of the records it left out (an ExternalName that is not a
// domain name).
func buildZone(t *services.Table, cfg zoneConfig) (*zone, []error) {
	d := cfg.domain + "."
	z := &zone{
		domain: d, dotDomain: "." + d, podSuffix: ".pod." + d,
		soa:   newSOA(d, d, cfg.serial),
		names: map[string]*node{},
		ready: t != nil, ttl: cfg.ttl,
	}
	b := &builder{z: z, ttl: cfg.ttl, seen: map[recordKey]bool{}}
	ranges := slices.Clone(cfg.reverse)
	if t != nil {
		ranges = append(ranges, t.ServiceCIDR)
		for _, n := range t.Nodes {
			ranges = append(ranges, n.PodCIDR)
		}
	}
	for _, p := range ranges {
		if !p.IsValid() || !p.Addr().Is4() {
			continue
		}
		p = p.Masked()
		if !slices.ContainsFunc(z.reverse, func(r reverseRange) bool { return r.prefix == p }) {
			z.reverse = append(z.reverse, newReverseRange(p, d, cfg.serial))
		}
	}
	// The most specific range first: its zone is the one a name is in.
	slices.SortStableFunc(z.reverse, func(a, b reverseRange) int { return b.prefix.Bits() - a.prefix.Bits() })

	z.names[d] = &node{sets: [][]dns.RR{{z.soa}}}
	b.node("svc." + d)
	b.node("pod." + d)
	version := "dns-version." + d
	b.node(version).add(&dns.TXT{Hdr: b.hdr(version, dns.TypeTXT), Txt: []string{dnsSchemaVersion}})
	if t == nil {
		return z, nil
	}
	var problems []error
	for i := range t.Services {
		if err := b.service(&t.Services[i]); err != nil {
			problems = append(problems, err)
		}
	}
	z.services = len(t.Services)
	return z, problems
}

// builder adds records to a zone being built.
type builder struct {
	z    *zone
	ttl  uint32
	seen map[recordKey]bool
}

// recordKey tells records apart, to add each only once.
type recordKey struct {
	name  string
	rtype uint16
	data  string
}

func (b *builder) hdr(name string, rtype uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: rtype, Class: dns.ClassINET, Ttl: b.ttl}
}

// node returns the node of name, making it and the empty non-terminals
// above it, up to the apex of the zone it is in, when missing.
func (b *builder) node(name string) *node {
	if n, ok := b.z.names[name]; ok {
		return n
	}
	n := &node{}
	b.z.names[name] = n
	if _, parent, ok := strings.Cut(name, "."); ok && b.z.authority(parent) != nil {
		b.node(parent)
	}
	return n
}

// addr adds the A (or AAAA) record name → ip, once.
func (b *builder) addr(name string, ip netip.Addr) {
	if k := (recordKey{name, dns.TypeA, ip.String()}); !b.seen[k] {
		b.seen[k] = true
		b.node(name).add(addrRR(b.hdr(name, 0), ip))
	}
}

// ptr adds the PTR record of ip → target when ip is in a reverse range.
func (b *builder) ptr(ip netip.Addr, target string) {
	if !ip.Is4() || b.z.reverseRangeOf(ip) == nil {
		return
	}
	name, err := dns.ReverseAddr(ip.String())
	if err != nil {
		return
	}
	if k := (recordKey{name, dns.TypePTR, target}); !b.seen[k] {
		b.seen[k] = true
		b.node(name).add(&dns.PTR{Hdr: b.hdr(name, dns.TypePTR), Ptr: target})
	}
}

// service adds the records of one Service.
func (b *builder) service(svc *services.Service) error {
	name := strings.ToLower(svc.Name + "." + svc.Namespace + ".svc." + b.z.domain)
	n := b.node(name)
	switch {
	case svc.ExternalName != "":
		target := strings.ToLower(dns.Fqdn(svc.ExternalName))
		if _, ok := dns.IsDomainName(target); !ok {
			return fmt.Errorf("service %s: externalName %q is not a domain name", svc.Key(), svc.ExternalName)
		}
		n.cname = &dns.CNAME{Hdr: b.hdr(name, dns.TypeCNAME), Target: target}
		n.add(n.cname)
	case svc.Headless:
		for _, ep := range svc.Endpoints {
			if !published(svc, ep) {
				continue
			}
			epName := endpointLabel(ep) + "." + name
			b.addr(name, ep.IP)
			b.addr(epName, ep.IP)
			b.ptr(ep.IP, epName)
		}
		for _, p := range svc.Ports {
			if p.Name == "" {
				continue
			}
			var targets []services.Endpoint
			for _, ep := range svc.Endpoints {
				if _, serves := ep.Ports[p.Name]; serves && published(svc, ep) {
					targets = append(targets, ep)
				}
			}
			owner := srvName(p, name)
			srv := b.node(owner)
			for _, ep := range targets {
				epName := endpointLabel(ep) + "." + name
				srv.add(&dns.SRV{Hdr: b.hdr(owner, dns.TypeSRV), Priority: 0, Weight: uint16(100 / len(targets)),
					Port: uint16(ep.Ports[p.Name]), Target: epName})
				srv.extra = append(srv.extra, addrRR(b.hdr(epName, 0), ep.IP))
			}
		}
	case svc.ClusterIP.IsValid():
		b.addr(name, svc.ClusterIP)
		b.ptr(svc.ClusterIP, name)
		for _, p := range svc.Ports {
			if p.Name == "" {
				continue
			}
			owner := srvName(p, name)
			srv := b.node(owner)
			srv.add(&dns.SRV{Hdr: b.hdr(owner, dns.TypeSRV), Priority: 0, Weight: 100, Port: uint16(p.Port), Target: name})
			srv.extra = append(srv.extra, addrRR(b.hdr(name, 0), svc.ClusterIP))
		}
	}
	return nil
}

// srvName is the SRV name of port p of the Service named svcName.
func srvName(p services.Port, svcName string) string {
	proto := strings.ToLower(string(p.Protocol))
	if proto == "" {
		proto = "tcp"
	}
	return strings.ToLower("_"+p.Name) + "._" + proto + "." + svcName
}

// published reports whether DNS lists endpoint ep of headless Service
// svc: when it is ready, or always with publishNotReadyAddresses.
func published(svc *services.Service, ep services.Endpoint) bool {
	return ep.IP.IsValid() && (ep.Ready || svc.PublishNotReady)
}

// endpointLabel is an endpoint's first label under its Service: its
// hostname, else its address with dashes ("10-244-1-7").
func endpointLabel(ep services.Endpoint) string {
	if ep.Hostname != "" {
		return strings.ToLower(ep.Hostname)
	}
	if ep.IP.Is4() {
		return strings.ReplaceAll(ep.IP.String(), ".", "-")
	}
	return strings.ReplaceAll(ep.IP.StringExpanded(), ":", "-")
}

// addrRR is the A or AAAA record of ip with header h (its type set here).
func addrRR(h dns.RR_Header, ip netip.Addr) dns.RR {
	if ip.Is4() {
		h.Rrtype = dns.TypeA
		return &dns.A{Hdr: h, A: ip.AsSlice()}
	}
	h.Rrtype = dns.TypeAAAA
	return &dns.AAAA{Hdr: h, AAAA: ip.AsSlice()}
}

// newSOA is the SOA of zone origin, as CoreDNS writes it; its TTL and
// minimum are the negative TTL.
func newSOA(origin, domain string, serial uint32) *dns.SOA {
	return &dns.SOA{
		Hdr: dns.RR_Header{Name: origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: negativeTTL},
		Ns:  "ns.dns." + domain, Mbox: "hostmaster." + domain,
		Serial: serial, Refresh: 7200, Retry: 1800, Expire: 86400, Minttl: negativeTTL,
	}
}

// reverseZoneName is the in-addr.arpa zone of p, a whole-octet range:
// "96.10.in-addr.arpa." for 10.96.0.0/16.
func reverseZoneName(p netip.Prefix) string {
	a := p.Addr().As4()
	name := "in-addr.arpa."
	for i := range p.Bits() / 8 {
		name = strconv.Itoa(int(a[i])) + "." + name
	}
	return name
}

// authority returns the SOA of the zone name (lowercase, fully
// qualified) is in, or nil when the name is not the server's to answer.
func (z *zone) authority(name string) *dns.SOA {
	if name == z.domain || strings.HasSuffix(name, z.dotDomain) {
		return z.soa
	}
	if r, ip := z.reverseRangeOfName(name); r != nil {
		return r.soa(ip)
	}
	return nil
}

// reverseRangeOf returns the reverse range holding ip, or nil.
func (z *zone) reverseRangeOf(ip netip.Addr) *reverseRange {
	for i := range z.reverse {
		if z.reverse[i].prefix.Contains(ip) {
			return &z.reverse[i]
		}
	}
	return nil
}

// reverseRangeOfName returns the reverse range an in-addr.arpa name is
// in, the one holding the whole range the name stands for (an address,
// or a whole-octet range for a shorter name), with the first address of
// that; nil when none does or the name is not a reverse name.
func (z *zone) reverseRangeOfName(name string) (*reverseRange, netip.Addr) {
	rest, ok := strings.CutSuffix(name, ".in-addr.arpa.")
	if !ok || rest == "" || len(z.reverse) == 0 {
		return nil, netip.Addr{}
	}
	var a [4]byte
	n := 0
	for ; n < 4 && rest != ""; n++ {
		label := rest
		if i := strings.LastIndexByte(rest, '.'); i >= 0 {
			label, rest = rest[i+1:], rest[:i]
		} else {
			rest = ""
		}
		v, err := strconv.ParseUint(label, 10, 8)
		if err != nil || (len(label) > 1 && label[0] == '0') {
			return nil, netip.Addr{}
		}
		a[n] = byte(v)
	}
	ip := netip.AddrFrom4(a)
	for i := range z.reverse {
		if p := z.reverse[i].prefix; p.Bits() <= n*8 && p.Contains(ip) {
			return &z.reverse[i], ip
		}
	}
	return nil, netip.Addr{}
}

// lookup returns the node of name (lowercase, fully qualified, in the
// zone), or nil when the name does not exist. Pod names are made up on
// the spot: <a>-<b>-<c>-<d>.<ns>.pod.<domain> for any IPv4 address and
// namespace.
func (z *zone) lookup(name string) *node {
	if n, ok := z.names[name]; ok {
		return n
	}
	rest, ok := strings.CutSuffix(name, z.podSuffix)
	if !ok {
		return nil
	}
	label, ns, ok := strings.Cut(rest, ".")
	if !ok {
		return &node{} // <ns>.pod.<domain>: exists, has no records
	}
	if strings.Contains(ns, ".") {
		return nil
	}
	ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", "."))
	if err != nil || !ip.Is4() {
		return nil
	}
	h := dns.RR_Header{Name: name, Class: dns.ClassINET, Ttl: z.ttl}
	return &node{sets: [][]dns.RR{{addrRR(h, ip)}}}
}
