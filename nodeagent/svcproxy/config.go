package svcproxy

import (
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"net/netip"
	"strings"
)

// ErrInvalid marks a Config that can never work.
var ErrInvalid = errors.New("svcproxy: invalid")

// DefaultMasqueradeMark is the packet mark bit that asks for masquerade
// (kube-proxy's 0x4000).
const DefaultMasqueradeMark uint32 = 0x4000

// announceLabelSuffix ends the label of every load-balancer address this
// package adds, so that a restarted agent finds its own addresses again.
const announceLabelSuffix = ":lb"

// Config describes one node's service proxy.
type Config struct {
	// NodeName is this node's name as the Table's endpoints and Announcer
	// name it. Required.
	NodeName string
	// NetNS is the path of the node's network namespace file. Everything
	// the Proxy does (iptables, addresses, ARP, health-check listeners)
	// happens there. Empty means the agent's own network namespace.
	NetNS string
	// Interface is the node's interface on the node network (e.g. eth0):
	// load-balancer addresses this node announces are added to it as /32
	// and announced by gratuitous ARP, and it is set to answer ARP only for
	// the addresses it carries itself (arp_ignore=1, arp_announce=2).
	// Empty disables the announcement (load-balancer addresses are still
	// DNAT'ed on every node). At most 12 bytes: the addresses carry the
	// label Interface+":lb".
	Interface string
	// PodCIDR is this node's pod range (e.g. 10.244.1.0/24): traffic from
	// it is "pod traffic on this node", which reaches external destinations
	// of an externalTrafficPolicy Local Service like cluster traffic.
	// Required.
	PodCIDR netip.Prefix
	// ClusterCIDR is the range of every pod of the cluster (e.g.
	// 10.244.0.0/16): traffic to a cluster IP from outside it is
	// masqueraded. The zero value means PodCIDR.
	ClusterCIDR netip.Prefix
	// MasqueradeMark is the single packet mark bit that asks for
	// masquerade in POSTROUTING. Zero means DefaultMasqueradeMark.
	MasqueradeMark uint32
	// Logger receives the component's logs (component=svcproxy).
	Logger *slog.Logger
}

// DefaultConfig returns the configuration of node with pod range podCIDR
// (also taken as the cluster range), in the agent's own network
// namespace, without load-balancer announcement, with the default mark and
// logger.
func DefaultConfig(node string, podCIDR netip.Prefix) Config {
	return Config{NodeName: node, PodCIDR: podCIDR, MasqueradeMark: DefaultMasqueradeMark, Logger: slog.Default()}
}

// withDefaults fills the zero fields that have defaults.
func (c Config) withDefaults() Config {
	if c.MasqueradeMark == 0 {
		c.MasqueradeMark = DefaultMasqueradeMark
	}
	if !c.ClusterCIDR.IsValid() {
		c.ClusterCIDR = c.PodCIDR
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// validate fills the defaults and checks the rest.
func (c *Config) validate() error {
	*c = c.withDefaults()
	if c.NodeName == "" {
		return fmt.Errorf("%w config: NodeName is required", ErrInvalid)
	}
	for _, f := range []struct {
		name string
		p    netip.Prefix
	}{{"PodCIDR", c.PodCIDR}, {"ClusterCIDR", c.ClusterCIDR}} {
		if !f.p.IsValid() || !f.p.Addr().Is4() || f.p.Masked() != f.p {
			return fmt.Errorf("%w config: %s %q must be a masked IPv4 prefix", ErrInvalid, f.name, f.p)
		}
	}
	if c.ClusterCIDR.Bits() > c.PodCIDR.Bits() || !c.ClusterCIDR.Contains(c.PodCIDR.Addr()) {
		return fmt.Errorf("%w config: ClusterCIDR %s does not contain PodCIDR %s", ErrInvalid, c.ClusterCIDR, c.PodCIDR)
	}
	if bits.OnesCount32(c.MasqueradeMark) != 1 {
		return fmt.Errorf("%w config: MasqueradeMark %#x must have exactly one bit set", ErrInvalid, c.MasqueradeMark)
	}
	if c.Interface != "" {
		if len(c.Interface)+len(announceLabelSuffix) > 15 || strings.ContainsAny(c.Interface, "/: \t\n") {
			return fmt.Errorf("%w config: Interface %q must be an interface name of at most %d bytes (its addresses are labelled %q)",
				ErrInvalid, c.Interface, 15-len(announceLabelSuffix), c.Interface+announceLabelSuffix)
		}
	}
	return nil
}
