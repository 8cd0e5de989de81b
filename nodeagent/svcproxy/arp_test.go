package svcproxy

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestARPFrame(t *testing.T) {
	mac := net.HardwareAddr{0x02, 1, 2, 3, 4, 5}
	ip := netip.MustParseAddr("192.168.77.100")
	f := arpFrame(broadcastMAC, mac, arpReply, mac, ip, broadcastMAC, ip)
	if len(f) != 60 {
		t.Fatalf("frame of %d bytes, want 60 (Ethernet minimum)", len(f))
	}
	p, ok := parseARP(f)
	if !ok || p.op != arpReply || p.sha.String() != mac.String() || p.spa != ip || p.tpa != ip || p.tha.String() != broadcastMAC.String() {
		t.Errorf("parsed %+v", p)
	}
	if _, ok := parseARP(f[:30]); ok {
		t.Error("a short frame parsed")
	}
}

// arpSocket receives the ARP frames of one interface of a namespace (an
// AF_PACKET socket made there), and sends on it.
type arpSocket struct {
	fd      int
	ifIndex int
	mac     net.HardwareAddr
}

func openARP(t testing.TB, nsPath, ifName string) *arpSocket {
	t.Helper()
	s := &arpSocket{fd: -1}
	err := inNetNS(nsPath, func() error {
		iface, err := net.InterfaceByName(ifName)
		if err != nil {
			return err
		}
		s.ifIndex, s.mac = iface.Index, iface.HardwareAddr
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			return err
		}
		s.fd = fd
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: iface.Index})
	})
	if s.fd >= 0 {
		t.Cleanup(func() { unix.Close(s.fd) })
	}
	if err != nil {
		t.Fatalf("open ARP socket on %s in %s: %v", ifName, nsPath, err)
	}
	return s
}

// next returns the first ARP packet that match accepts, or false when the
// deadline passes.
func (s *arpSocket) next(t testing.TB, deadline time.Time, match func(arpPacket) bool) (arpPacket, bool) {
	t.Helper()
	buf := make([]byte, 1500)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return arpPacket{}, false
		}
		tv := unix.NsecToTimeval(left.Nanoseconds())
		if err := unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			t.Fatal(err)
		}
		n, _, err := unix.Recvfrom(s.fd, buf, 0)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("receive ARP: %v", err)
		}
		if p, ok := parseARP(buf[:n]); ok && match(p) {
			return p, true
		}
	}
}

// ask sends "who has target? tell from" and reports whether an answer
// comes within wait (and from which MAC).
func (s *arpSocket) ask(t testing.TB, from, target netip.Addr, wait time.Duration) (net.HardwareAddr, bool) {
	t.Helper()
	req := arpFrame(broadcastMAC, s.mac, arpRequest, s.mac, from, make(net.HardwareAddr, 6), target)
	to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: s.ifIndex, Halen: 6}
	copy(to.Addr[:], broadcastMAC)
	if err := unix.Sendto(s.fd, req, 0, to); err != nil {
		t.Fatalf("send ARP request for %s: %v", target, err)
	}
	p, ok := s.next(t, time.Now().Add(wait), func(p arpPacket) bool { return p.op == arpReply && p.spa == target })
	return p.sha, ok
}
