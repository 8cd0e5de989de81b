package dns

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Defaults of Config.
const (
	DefaultClusterDomain   = "cluster.local"
	DefaultTTL             = 5 * time.Second
	DefaultUpstreamTimeout = 2 * time.Second
)

// negativeTTL is the TTL of NXDOMAIN and NODATA answers (the SOA's TTL and
// minimum), CoreDNS's default.
const negativeTTL = 5

// Config configures a Server.
type Config struct {
	// Addr is where the server listens, UDP and TCP: the node's
	// pod-bridge gateway address and port 53. Port 0 picks a free port,
	// the same for both (Server.Addr tells which).
	Addr netip.AddrPort
	// ClusterDomain is the domain the server answers from the table
	// ("cluster.local" when empty). A table naming another domain is
	// still served under this one (Update logs the mismatch).
	ClusterDomain string
	// TTL is the TTL of positive answers from the table, whole seconds
	// (DefaultTTL when zero).
	TTL time.Duration
	// Upstream are the resolvers names outside the cluster are forwarded
	// to, tried in order (UpstreamsFromResolvConf reads them from a
	// resolv.conf). None means those names get SERVFAIL.
	Upstream []netip.AddrPort
	// UpstreamTimeout bounds one attempt at one upstream
	// (DefaultUpstreamTimeout when zero).
	UpstreamTimeout time.Duration
	// ReverseCIDRs are IPv4 ranges whose in-addr.arpa names the server
	// answers itself (never forwarded), besides the table's ServiceCIDR
	// and its nodes' PodCIDRs: the cluster's pod range, so that a pod
	// address of a node not yet in the table is not asked upstream.
	ReverseCIDRs []netip.Prefix
	// Logger receives the server's logs (slog.Default() when nil).
	Logger *slog.Logger
}

// withDefaults returns cfg with its defaults filled in, or an error
// naming the first invalid field.
func (cfg Config) withDefaults() (Config, error) {
	if !cfg.Addr.IsValid() {
		return cfg, errors.New("dns: Config.Addr is required")
	}
	if cfg.ClusterDomain == "" {
		cfg.ClusterDomain = DefaultClusterDomain
	}
	cfg.ClusterDomain = strings.ToLower(strings.TrimSuffix(cfg.ClusterDomain, "."))
	if _, ok := dns.IsDomainName(cfg.ClusterDomain); !ok || cfg.ClusterDomain == "" {
		return cfg, fmt.Errorf("dns: Config.ClusterDomain %q is not a domain name", cfg.ClusterDomain)
	}
	switch {
	case cfg.TTL == 0:
		cfg.TTL = DefaultTTL
	case cfg.TTL < time.Second:
		return cfg, fmt.Errorf("dns: Config.TTL %s is under one second", cfg.TTL)
	}
	switch {
	case cfg.UpstreamTimeout == 0:
		cfg.UpstreamTimeout = DefaultUpstreamTimeout
	case cfg.UpstreamTimeout < 0:
		return cfg, fmt.Errorf("dns: Config.UpstreamTimeout %s is negative", cfg.UpstreamTimeout)
	}
	for _, u := range cfg.Upstream {
		if !u.IsValid() || u.Port() == 0 {
			return cfg, fmt.Errorf("dns: Config.Upstream %s is not an address and port", u)
		}
		if u == cfg.Addr {
			return cfg, fmt.Errorf("dns: Config.Upstream %s is the server's own address: it would forward to itself", u)
		}
	}
	for _, p := range cfg.ReverseCIDRs {
		if !p.IsValid() || !p.Addr().Is4() {
			return cfg, fmt.Errorf("dns: Config.ReverseCIDRs %s is not an IPv4 range", p)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}

// UpstreamsFromResolvConf returns the nameservers of a resolv.conf file
// (as /etc/resolv.conf) as upstreams on port 53, in the file's order;
// lines that are not a nameserver with an IP address are skipped. A file
// without any gives an empty list and no error. On a host whose
// /etc/resolv.conf names a local stub (systemd-resolved's 127.0.0.53),
// that stub is reachable from the agent, which runs in the host's network
// namespace.
func UpstreamsFromResolvConf(path string) ([]netip.AddrPort, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dns: read upstreams: %w", err)
	}
	var ups []netip.AddrPort
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		if a, err := netip.ParseAddr(f[1]); err == nil {
			ups = append(ups, netip.AddrPortFrom(a, 53))
		}
	}
	return ups, sc.Err()
}
