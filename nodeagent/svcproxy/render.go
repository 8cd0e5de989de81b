package svcproxy

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/shoal-run/shoal/reconciler/services"
	corev1 "k8s.io/api/core/v1"
)

// Chains this package owns. The fixed ones always exist once Setup ran;
// the hashed ones exist while a Service port needs them.
const (
	chainServices    = "SHOAL-SERVICES"    // nat: service portals (PREROUTING, OUTPUT); filter: refusals (INPUT, FORWARD, OUTPUT)
	chainNodePorts   = "SHOAL-NODEPORTS"   // nat: node ports, from SHOAL-SERVICES for local destinations
	chainMarkMasq    = "SHOAL-MARK-MASQ"   // nat: marks a packet for masquerade
	chainPostrouting = "SHOAL-POSTROUTING" // nat: masquerades marked packets (POSTROUTING)

	prefixSVC = "SHOAL-SVC-" // a service port's cluster-wide endpoints
	prefixSVL = "SHOAL-SVL-" // a service port's endpoints on this node
	prefixEXT = "SHOAL-EXT-" // a service port's external destinations (node port, load balancer, external IPs)
	prefixSEP = "SHOAL-SEP-" // one endpoint: DNAT (and the affinity record)
)

// fixedChains are the chains of each table that exist whatever the table.
var fixedChains = map[string][]string{
	"nat":    {chainServices, chainNodePorts, chainMarkMasq, chainPostrouting},
	"filter": {chainServices},
}

// ownedChain reports whether a chain of table is this package's.
func ownedChain(table, name string) bool {
	for _, c := range fixedChains[table] {
		if c == name {
			return true
		}
	}
	if table != "nat" {
		return false
	}
	for _, p := range []string{prefixSVC, prefixSVL, prefixEXT, prefixSEP} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// hashName is kube-proxy's chain naming: the first 16 characters of the
// base32 SHA-256 of the parts, after prefix (26 characters in all, under
// iptables' limit of 28).
func hashName(prefix string, parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "")))
	return prefix + base32.StdEncoding.EncodeToString(h[:])[:16]
}

// localhostNet is never a node-port destination: DNAT from 127.0.0.1 would
// need route_localnet, which this package does not turn on.
const localhostNet = "127.0.0.0/8"

// Render returns the iptables-restore input (for --noflush) that declares,
// and so flushes, every chain this package owns in the nat and filter
// tables and fills them with the rules routing t's Services on node, as
// the package documentation describes, each chain's rules together. It is
// a pure function: equal arguments give equal text. Only IPv4 addresses
// are routed; a nil t renders the fixed chains (empty but for the
// masquerade rules). Chains of earlier renders that are no longer wanted
// are not mentioned: Proxy.Sync deletes them in the same transaction.
func Render(t *services.Table, node string, cfg Config) string {
	return render(t, node, cfg.withDefaults()).text(nil, nil)
}

// ruleset is a rendered nat and filter table.
type ruleset struct {
	nat, filter tableText
}

// tableText is one table's chains, in declaration order, and their rules.
type tableText struct {
	chains []string
	rules  map[string]*strings.Builder // by chain
	count  int
}

func (t *tableText) declare(chain string) {
	t.chains = append(t.chains, chain)
	if t.rules == nil {
		t.rules = map[string]*strings.Builder{}
	}
	t.rules[chain] = &strings.Builder{}
}

// add appends the rule "-A chain parts..." to a declared chain.
func (t *tableText) add(chain string, parts ...string) {
	b := t.rules[chain]
	b.WriteString("-A ")
	b.WriteString(chain)
	for _, p := range parts {
		b.WriteByte(' ')
		b.WriteString(p)
	}
	b.WriteByte('\n')
	t.count++
}

// hashes returns a digest of each chain's rules.
func (t *tableText) hashes() map[string]uint64 {
	out := make(map[string]uint64, len(t.chains))
	for _, c := range t.chains {
		h := fnv.New64a()
		h.Write([]byte(t.rules[c].String()))
		out[c] = h.Sum64()
	}
	return out
}

// write writes the table: the chains write accepts (all when nil) declared
// and refilled, then each chain of stale declared and deleted. Chains left
// out are not touched by iptables-restore --noflush.
func (t *tableText) write(b *strings.Builder, name string, write func(chain string) bool, stale []string) {
	fmt.Fprintf(b, "*%s\n", name)
	for _, c := range t.chains {
		if write == nil || write(c) {
			fmt.Fprintf(b, ":%s - [0:0]\n", c)
		}
	}
	for _, c := range stale {
		fmt.Fprintf(b, ":%s - [0:0]\n", c)
	}
	for _, c := range t.chains {
		if write == nil || write(c) {
			b.WriteString(t.rules[c].String())
		}
	}
	for _, c := range stale {
		fmt.Fprintf(b, "-X %s\n", c)
	}
	b.WriteString("COMMIT\n")
}

// text returns the iptables-restore input: the chains write accepts (by
// table; all when nil) rewritten, and stale's chains (by table) deleted.
func (r *ruleset) text(write func(table, chain string) bool, stale map[string][]string) string {
	var b strings.Builder
	for _, tt := range []struct {
		name string
		t    *tableText
	}{{"nat", &r.nat}, {"filter", &r.filter}} {
		var w func(string) bool
		if write != nil {
			w = func(c string) bool { return write(tt.name, c) }
		}
		tt.t.write(&b, tt.name, w, stale[tt.name])
	}
	return b.String()
}

// chainSet returns the declared chains of each table.
func (r *ruleset) chainSet() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for name, t := range map[string]*tableText{"nat": &r.nat, "filter": &r.filter} {
		out[name] = make(map[string]bool, len(t.chains))
		for _, c := range t.chains {
			out[name][c] = true
		}
	}
	return out
}

// render builds the ruleset; cfg has its defaults.
func render(t *services.Table, node string, cfg Config) *ruleset {
	r := &ruleset{}
	for _, c := range fixedChains["nat"] {
		r.nat.declare(c)
	}
	for _, c := range fixedChains["filter"] {
		r.filter.declare(c)
	}
	mark := fmt.Sprintf("%#x", cfg.MasqueradeMark)
	r.nat.add(chainMarkMasq, "-j", "MARK", "--or-mark", mark)
	r.nat.add(chainPostrouting, "-m", "mark", "!", "--mark", mark+"/"+mark, "-j", "RETURN")
	// Clear the mark, so that a packet re-entering the stack (an
	// encapsulation) is not masqueraded again.
	r.nat.add(chainPostrouting, "-j", "MARK", "--xor-mark", mark)
	r.nat.add(chainPostrouting, "-m", "comment", "--comment", q("shoal service traffic requiring SNAT"), "-j", "MASQUERADE", "--random-fully")
	if t == nil {
		return r
	}
	for i := range t.Services {
		s := &t.Services[i]
		if s.Headless || s.ExternalName != "" || !s.ClusterIP.Is4() {
			continue
		}
		for _, p := range s.Ports {
			renderPort(r, s, p, node, cfg)
		}
	}
	// Node ports last: every local address, but only after the more
	// specific destinations above.
	r.nat.add(chainServices, "-m", "addrtype", "--dst-type", "LOCAL", "!", "-d", localhostNet,
		"-m", "comment", "--comment", q("shoal service node ports; NOTE: this must be the last rule in this chain"), "-j", chainNodePorts)
	if cidr := t.ServiceCIDR; cidr.IsValid() && cidr.Addr().Is4() {
		// Whatever is still addressed to the service range was DNAT'ed by
		// no rule above: no Service owns that address or that port.
		c := cidr.Masked().String()
		r.filter.add(chainServices, "-d", c, "-p", "tcp", "-m", "comment", "--comment", q("shoal service CIDR: no Service has this address and port"),
			"-j", "REJECT", "--reject-with", "tcp-reset")
		r.filter.add(chainServices, "-d", c, "-m", "comment", "--comment", q("shoal service CIDR: no Service has this address and port"),
			"-j", "REJECT", "--reject-with", "icmp-port-unreachable")
	}
	return r
}

// protocols maps a Service port's protocol to iptables' name ("" is TCP).
var protocols = map[corev1.Protocol]string{"": "tcp", corev1.ProtocolTCP: "tcp", corev1.ProtocolUDP: "udp", corev1.ProtocolSCTP: "sctp"}

// target is one ready endpoint of a service port.
type target struct {
	addr  netip.AddrPort
	local bool
	chain string // SHOAL-SEP-…
}

// renderPort renders one service port.
func renderPort(r *ruleset, s *services.Service, p services.Port, node string, cfg Config) {
	proto, ok := protocols[p.Protocol]
	if !ok || p.Port <= 0 {
		return
	}
	spn := s.Key()
	if p.Name != "" {
		spn += ":" + p.Name
	}
	var all, local []target
	seen := map[netip.AddrPort]bool{}
	for _, e := range s.Endpoints {
		a, ok := e.Target(p)
		if !ok || !e.Ready || !a.Addr().Is4() || a.Port() == 0 || seen[a] {
			continue
		}
		seen[a] = true
		tg := target{addr: a, local: e.Node != "" && e.Node == node, chain: hashName(prefixSEP, spn, proto, a.String())}
		all = append(all, tg)
		if tg.local {
			local = append(local, tg)
		}
	}

	external := p.NodePort > 0 || s.LoadBalancerIP.Is4() || len(s.ExternalIPs) > 0
	svc, svl, ext := hashName(prefixSVC, spn, proto), hashName(prefixSVL, spn, proto), hashName(prefixEXT, spn, proto)
	internalChain, internalEPs := svc, all
	if s.InternalLocal {
		internalChain, internalEPs = svl, local
	}
	externalOK := len(all) > 0 // external destinations have a usable endpoint for traffic from outside
	if s.ExternalLocal {
		externalOK = len(local) > 0
	}
	usesSVC := len(all) > 0 && (!s.InternalLocal || external)
	usesSVL := len(local) > 0 && (s.InternalLocal || (external && s.ExternalLocal))
	usesEXT := external && len(all) > 0

	portMatch := []string{"-p", proto, "-m", proto, "--dport", strconv.Itoa(int(p.Port))}
	reject := []string{"-j", "REJECT", "--reject-with", "icmp-port-unreachable"}
	if proto == "tcp" {
		reject = []string{"-j", "REJECT", "--reject-with", "tcp-reset"}
	}
	noEndpoints := q(spn + " has no endpoints")
	if len(all) > 0 {
		noEndpoints = q(spn + " has no local endpoints")
	}
	dest := func(ip netip.Addr, match []string, what, chain string, ok bool) {
		args := append([]string{"-d", ip.String() + "/32"}, match...)
		if ok {
			r.nat.add(chainServices, append(args, "-m", "comment", "--comment", q(spn+" "+what), "-j", chain)...)
		} else {
			r.filter.add(chainServices, append(append(args, "-m", "comment", "--comment", noEndpoints), reject...)...)
		}
	}

	// Portals.
	dest(s.ClusterIP, portMatch, "cluster IP", internalChain, len(internalEPs) > 0)
	for _, ip := range s.ExternalIPs {
		if ip.Is4() {
			if usesEXT {
				dest(ip, portMatch, "external IP", ext, true)
			}
			if !externalOK {
				dest(ip, portMatch, "external IP", "", false)
			}
		}
	}
	if s.LoadBalancerIP.Is4() {
		if usesEXT {
			dest(s.LoadBalancerIP, portMatch, "loadbalancer IP", ext, true)
		}
		if !externalOK {
			dest(s.LoadBalancerIP, portMatch, "loadbalancer IP", "", false)
		}
	}
	if p.NodePort > 0 {
		npMatch := []string{"-p", proto, "-m", proto, "--dport", strconv.Itoa(int(p.NodePort))}
		if usesEXT {
			r.nat.add(chainNodePorts, append(npMatch, "-m", "comment", "--comment", q(spn+" node port"), "-j", ext)...)
		}
		if !externalOK {
			r.filter.add(chainServices, append(append([]string{"-m", "addrtype", "--dst-type", "LOCAL", "!", "-d", localhostNet},
				npMatch...), append([]string{"-m", "comment", "--comment", noEndpoints}, reject...)...)...)
		}
	}

	// Policy chains.
	masqCluster := func(chain string) {
		r.nat.add(chain, append(append([]string{"-d", s.ClusterIP.String() + "/32"}, portMatch...),
			"!", "-s", cfg.ClusterCIDR.String(), "-m", "comment", "--comment", q(spn+" cluster IP from outside the cluster"), "-j", chainMarkMasq)...)
	}
	if usesSVC {
		r.nat.declare(svc)
		if internalChain == svc {
			masqCluster(svc)
		}
		spread(r, svc, spn, all, s.Affinity)
	}
	if usesSVL {
		r.nat.declare(svl)
		if internalChain == svl {
			masqCluster(svl)
		}
		spread(r, svl, spn, local, s.Affinity)
	}
	if usesEXT {
		r.nat.declare(ext)
		if !s.ExternalLocal {
			r.nat.add(ext, "-m", "comment", "--comment", q("masquerade traffic for "+spn+" external destinations"), "-j", chainMarkMasq)
			r.nat.add(ext, "-j", svc)
		} else {
			// Pods of this node, and the node itself, reach external
			// destinations like the cluster IP (as if they went out to a
			// load balancer and came back); the node's traffic is
			// masqueraded, its source being one of the node's addresses.
			r.nat.add(ext, "-s", cfg.PodCIDR.String(), "-m", "comment", "--comment", q("pod traffic for "+spn+" external destinations"), "-j", svc)
			r.nat.add(ext, "-m", "addrtype", "--src-type", "LOCAL", "-m", "comment", "--comment", q("masquerade LOCAL traffic for "+spn+" external destinations"), "-j", chainMarkMasq)
			r.nat.add(ext, "-m", "addrtype", "--src-type", "LOCAL", "-m", "comment", "--comment", q("route LOCAL traffic for "+spn+" external destinations"), "-j", svc)
			if len(local) > 0 {
				// Everything else: only this node's endpoints, the
				// client's address kept.
				r.nat.add(ext, "-j", svl)
			}
		}
	}

	// Endpoints.
	eps := all
	if !usesSVC {
		eps = local
		if !usesSVL {
			eps = nil
		}
	}
	for _, tg := range eps {
		r.nat.declare(tg.chain)
		ep := tg.addr.String()
		c := q(spn + " -> " + ep)
		// Hairpin: a pod reaching itself through the Service must see
		// another source, or it would answer itself directly.
		r.nat.add(tg.chain, "-s", tg.addr.Addr().String()+"/32", "-m", "comment", "--comment", c, "-j", chainMarkMasq)
		args := []string{"-p", proto, "-m", "comment", "--comment", c}
		if s.Affinity > 0 {
			args = append(args, "-m", "recent", "--set", "--name", tg.chain, "--mask", "255.255.255.255", "--rsource")
		}
		r.nat.add(tg.chain, append(args, "-m", proto, "-j", "DNAT", "--to-destination", ep)...)
	}
}

// spread fills a policy chain: the affinity checks (the endpoint a client
// used within the timeout, as recorded by its SHOAL-SEP chain), then a
// random choice with probabilities 1/n, 1/(n-1), ..., 1.
func spread(r *ruleset, chain, spn string, eps []target, affinity time.Duration) {
	if affinity > 0 {
		secs := max(1, int((affinity+time.Second-1)/time.Second))
		for _, tg := range eps {
			r.nat.add(chain, "-m", "comment", "--comment", q(spn+" -> "+tg.addr.String()),
				"-m", "recent", "--name", tg.chain, "--rcheck", "--seconds", strconv.Itoa(secs), "--reap", "-j", tg.chain)
		}
	}
	for i, tg := range eps {
		args := []string{"-m", "comment", "--comment", q(spn + " -> " + tg.addr.String())}
		if n := len(eps) - i; n > 1 {
			args = append(args, "-m", "statistic", "--mode", "random", "--probability", fmt.Sprintf("%0.10f", 1/float64(n)))
		}
		r.nat.add(chain, append(args, "-j", tg.chain)...)
	}
}

// q quotes an iptables comment (names in shoal's tables carry no quotes).
func q(s string) string { return `"` + s + `"` }
