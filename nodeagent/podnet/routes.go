package podnet

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// routeProtocol marks the routes a Network owns (the "proto" column of
// `ip route`), so that SyncPeers can find and remove them and touch no
// other route.
const routeProtocol netlink.RouteProtocol = 0x5c

// Peer is another node of the cluster: its pod range is reached through
// its address on the node network (host-gw routing).
type Peer struct {
	PodCIDR netip.Prefix
	Via     netip.Addr
}

// SyncPeers makes the node's routes to other nodes' pod ranges exactly
// peers, Config.ServiceCIDR (when set) to the bridge, and, when
// ClusterCIDR is wider than PodCIDR, an unreachable route for ClusterCIDR, so that a pod address of no live node is refused at
// once rather than sent out through the default route. Peers for this
// node's own PodCIDR, and invalid ones, are skipped. Routes are replaced in
// place (a peer that moved address is followed); routes this Network made
// for peers no longer listed are deleted. It is idempotent.
func (n *Network) SyncPeers(peers []Peer) error {
	h, err := n.nodeHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	want := map[netip.Prefix]netlink.Route{}
	for _, p := range peers {
		cidr := p.PodCIDR.Masked()
		if !cidr.IsValid() || !p.Via.IsValid() || cidr == n.cfg.PodCIDR.Masked() || !cidr.Addr().Is4() {
			continue
		}
		want[cidr] = netlink.Route{Dst: ipNet(cidr.Addr(), cidr.Bits()), Gw: p.Via.AsSlice(), Protocol: routeProtocol}
	}
	if cl := n.cfg.ClusterCIDR.Masked(); cl.IsValid() && cl.Bits() < n.cfg.PodCIDR.Bits() {
		want[cl] = netlink.Route{Dst: ipNet(cl.Addr(), cl.Bits()), Type: unix.RTN_UNREACHABLE, Protocol: routeProtocol}
	}
	if svc := n.cfg.ServiceCIDR.Masked(); svc.IsValid() && svc.Addr().Is4() {
		br, err := h.LinkByName(n.cfg.Bridge)
		if err != nil {
			return fmt.Errorf("find bridge %s: %w", n.cfg.Bridge, err)
		}
		want[svc] = netlink.Route{Dst: ipNet(svc.Addr(), svc.Bits()), LinkIndex: br.Attrs().Index,
			Scope: netlink.SCOPE_LINK, Protocol: routeProtocol}
	}
	return syncRoutes(h, want)
}

// removeRoutes deletes every route the Network made.
func (n *Network) removeRoutes() error {
	h, err := n.nodeHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	return syncRoutes(h, nil)
}

// syncRoutes makes the routes marked routeProtocol in the main table
// exactly want.
func syncRoutes(h *netlink.Handle, want map[netip.Prefix]netlink.Route) error {
	have, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: routeProtocol, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("list pod routes: %w", err)
	}
	var errs []error
	for _, r := range have {
		if r.Dst == nil {
			continue
		}
		p, ok := netip.AddrFromSlice(r.Dst.IP)
		bits, _ := r.Dst.Mask.Size()
		if !ok {
			continue
		}
		if _, keep := want[netip.PrefixFrom(p.Unmap(), bits)]; keep {
			continue
		}
		if err := h.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("delete route to %s: %w", r.Dst, err))
		}
	}
	keys := make([]netip.Prefix, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		r := want[k]
		if err := h.RouteReplace(&r); err != nil {
			what := "unreachable"
			switch {
			case r.Gw != nil:
				what = "via " + r.Gw.String()
			case r.LinkIndex != 0:
				what = "to the bridge"
			}
			errs = append(errs, fmt.Errorf("route %s %s: %w", k, what, err))
		}
	}
	return errors.Join(errs...)
}
