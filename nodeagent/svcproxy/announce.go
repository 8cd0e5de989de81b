package svcproxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/shoal-run/shoal/reconciler/services"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ARP operations.
const (
	arpRequest = 1
	arpReply   = 2
)

var broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// arpFrame returns an Ethernet frame (padded to the 60-byte minimum) from
// src to dst carrying an ARP packet of operation op: sender sha/spa, target
// tha/tpa.
func arpFrame(dst, src net.HardwareAddr, op uint16, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr) []byte {
	f := make([]byte, 60)
	copy(f[0:6], dst)
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:14], unix.ETH_P_ARP)
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:2], 1)             // Ethernet
	binary.BigEndian.PutUint16(a[2:4], unix.ETH_P_IP) // IPv4
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], op)
	copy(a[8:14], sha)
	s4, t4 := spa.As4(), tpa.As4()
	copy(a[14:18], s4[:])
	copy(a[18:24], tha)
	copy(a[24:28], t4[:])
	return f
}

// arpPacket is a parsed ARP packet over Ethernet.
type arpPacket struct {
	op       uint16
	sha, tha net.HardwareAddr
	spa, tpa netip.Addr
}

// parseARP parses an Ethernet frame carrying IPv4-over-Ethernet ARP.
func parseARP(f []byte) (arpPacket, bool) {
	if len(f) < 42 || binary.BigEndian.Uint16(f[12:14]) != unix.ETH_P_ARP {
		return arpPacket{}, false
	}
	a := f[14:]
	if binary.BigEndian.Uint16(a[0:2]) != 1 || binary.BigEndian.Uint16(a[2:4]) != unix.ETH_P_IP || a[4] != 6 || a[5] != 4 {
		return arpPacket{}, false
	}
	return arpPacket{
		op:  binary.BigEndian.Uint16(a[6:8]),
		sha: net.HardwareAddr(append([]byte(nil), a[8:14]...)),
		spa: netip.AddrFrom4([4]byte(a[14:18])),
		tha: net.HardwareAddr(append([]byte(nil), a[18:24]...)),
		tpa: netip.AddrFrom4([4]byte(a[24:28])),
	}, true
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// sendFrames sends raw Ethernet frames on interface ifIndex of the
// network namespace at nsPath, through an AF_PACKET socket.
func sendFrames(nsPath string, ifIndex int, frames ...[]byte) error {
	return inNetNS(nsPath, func() error {
		// Protocol 0: the socket only sends, it receives nothing.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open packet socket: %w", err)
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: ifIndex, Halen: 6}
		copy(to.Addr[:], broadcastMAC)
		for _, f := range frames {
			if err := unix.Sendto(fd, f, 0, to); err != nil {
				return fmt.Errorf("send ARP frame on interface %d: %w", ifIndex, err)
			}
		}
		return nil
	})
}

// gratuitousARP announces that ip is at link's MAC: an ARP announcement
// (a request for ip from ip, RFC 5227) and a gratuitous reply, both
// broadcast, so that neighbours of either habit update their caches.
func (p *Proxy) gratuitousARP(link netlink.Link, ip netip.Addr) error {
	mac := link.Attrs().HardwareAddr
	if len(mac) != 6 {
		return fmt.Errorf("gratuitous ARP for %s: interface %s has no Ethernet address", ip, link.Attrs().Name)
	}
	zero := make(net.HardwareAddr, 6)
	return sendFrames(p.cfg.NetNS, link.Attrs().Index,
		arpFrame(broadcastMAC, mac, arpRequest, mac, ip, zero, ip),
		arpFrame(broadcastMAC, mac, arpReply, mac, ip, broadcastMAC, ip))
}

// arpSysctls make Config.Interface answer ARP only for the addresses
// configured on it (not for the node's other addresses, the pod gateway
// among them), and pick its own address as the source of its ARP requests
// (never an announced load-balancer address).
var arpSysctls = []struct{ key, value string }{
	{"arp_ignore", "1"},
	{"arp_announce", "2"},
}

// setupARP checks Config.Interface and sets its ARP sysctls.
func (p *Proxy) setupARP() error {
	h, err := handleAt(p.cfg.NetNS)
	if err != nil {
		return err
	}
	defer h.Close()
	if _, err := h.LinkByName(p.cfg.Interface); err != nil {
		return fmt.Errorf("find interface %s for load-balancer addresses: %w", p.cfg.Interface, err)
	}
	return inNetNS(p.cfg.NetNS, func() error {
		for _, s := range arpSysctls {
			path := filepath.Join("/proc/sys/net/ipv4/conf", p.cfg.Interface, s.key)
			if cur, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(cur)) == s.value {
				continue
			}
			if err := os.WriteFile(path, []byte(s.value), 0o644); err != nil {
				return fmt.Errorf("set sysctl net.ipv4.conf.%s.%s=%s: %w", p.cfg.Interface, s.key, s.value, err)
			}
		}
		return nil
	})
}

// announced returns the load-balancer addresses of t this node announces.
func announced(t *services.Table, node string) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	if t == nil {
		return out
	}
	for i := range t.Services {
		s := &t.Services[i]
		if s.LoadBalancerIP.Is4() && s.Announcer == node {
			out[s.LoadBalancerIP] = s.Key()
		}
	}
	return out
}

// syncAnnounced makes the /32 addresses labelled Interface+":lb" on
// Config.Interface the load-balancer addresses t has this node announce,
// sending a gratuitous ARP for each one added. A nil t removes them all.
// Without Interface it does nothing.
func (p *Proxy) syncAnnounced(t *services.Table) error {
	if p.cfg.Interface == "" {
		return nil
	}
	want := announced(t, p.cfg.NodeName)
	h, err := handleAt(p.cfg.NetNS)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(p.cfg.Interface)
	if err != nil {
		if t == nil && errors.As(err, new(netlink.LinkNotFoundError)) {
			return nil // gone with its addresses
		}
		return fmt.Errorf("find interface %s for load-balancer addresses: %w", p.cfg.Interface, err)
	}
	label := p.cfg.Interface + announceLabelSuffix
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", p.cfg.Interface, err)
	}
	have := map[netip.Addr]bool{}
	var errs []error
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP.To4())
		ones, _ := a.Mask.Size()
		if !ok || ones != 32 {
			continue
		}
		if a.Label != label {
			have[ip] = true // not ours, but there: nothing to add
			continue
		}
		if _, keep := want[ip]; keep {
			have[ip] = true
			continue
		}
		if err := h.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("remove load-balancer address %s/32 from %s: %w", ip, p.cfg.Interface, err))
			continue
		}
		p.log.Info("stopped announcing load-balancer address", "address", ip, "interface", p.cfg.Interface)
	}
	adds := make([]netip.Addr, 0, len(want))
	for ip := range want {
		if !have[ip] {
			adds = append(adds, ip)
		}
	}
	sort.Slice(adds, func(i, j int) bool { return adds[i].Less(adds[j]) })
	for _, ip := range adds {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: net.IP(ip.AsSlice()), Mask: net.CIDRMask(32, 32)}, Label: label}
		if err := h.AddrAdd(link, a); err != nil && !errors.Is(err, unix.EEXIST) {
			errs = append(errs, fmt.Errorf("add load-balancer address %s/32 to %s: %w", ip, p.cfg.Interface, err))
			continue
		}
		if err := p.gratuitousARP(link, ip); err != nil {
			errs = append(errs, err)
		}
		p.log.Info("announcing load-balancer address", "address", ip, "service", want[ip], "interface", p.cfg.Interface)
	}
	p.metrics.announced.Set(float64(len(want)))
	return errors.Join(errs...)
}
