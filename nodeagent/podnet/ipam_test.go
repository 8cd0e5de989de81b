package podnet

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIPAM(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipam.json")
	cidr := netip.MustParsePrefix("10.1.0.0/29") // .2 to .6 usable
	a := newIPAM(path, cidr)
	alloc := func(a *ipam, id string) netip.Addr {
		t.Helper()
		ip, err := a.allocate(id)
		if err != nil {
			t.Fatalf("allocate %s: %v", id, err)
		}
		return ip
	}
	for i, id := range []string{"p2", "p3", "p4"} {
		if got, want := alloc(a, id), netip.AddrFrom4([4]byte{10, 1, 0, byte(2 + i)}); got != want {
			t.Errorf("allocate %s = %s, want %s", id, got, want)
		}
	}
	if got := alloc(a, "p3"); got != netip.MustParseAddr("10.1.0.3") {
		t.Errorf("allocating again for p3 gave %s, want its 10.1.0.3", got)
	}
	if err := a.release("p3"); err != nil {
		t.Fatal(err)
	}
	if err := a.release("p3"); err != nil {
		t.Fatalf("second release: %v", err)
	}

	// A second allocator on the same file (an agent restart) continues
	// round the range and reuses the released address last.
	b := newIPAM(path, cidr)
	for _, want := range []string{"10.1.0.5", "10.1.0.6", "10.1.0.3"} {
		if got := alloc(b, "q"+want); got.String() != want {
			t.Errorf("after restart allocated %s, want %s", got, want)
		}
	}
	_, err := b.allocate("overflow")
	if !errors.Is(err, ErrNoAddress) || !strings.Contains(err.Error(), "10.1.0.0/29") {
		t.Errorf("allocate in a full range: %v, want ErrNoAddress naming 10.1.0.0/29", err)
	}
	allocs, err := b.allocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(allocs) != 5 || allocs[netip.MustParseAddr("10.1.0.2")] != "p2" {
		t.Errorf("allocations %v", allocs)
	}

	// Another pod CIDR is refused while addresses are held, reset once empty.
	other := newIPAM(path, netip.MustParsePrefix("10.2.0.0/24"))
	if _, err := other.allocate("x"); err == nil || !strings.Contains(err.Error(), "10.1.0.0/29") {
		t.Errorf("allocate with another CIDR: %v, want an error naming the old CIDR", err)
	}
	for id := range map[string]bool{"p2": true, "p4": true, "q10.1.0.5": true, "q10.1.0.6": true, "q10.1.0.3": true} {
		if err := b.release(id); err != nil {
			t.Fatal(err)
		}
	}
	if got := alloc(other, "x"); got != netip.MustParseAddr("10.2.0.2") {
		t.Errorf("first address of the new CIDR %s, want 10.2.0.2", got)
	}

	// No temporary files are left by the atomic writes.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("files next to the allocation file: %v", entries)
	}
}

func TestIPAMSmallest(t *testing.T) {
	a := newIPAM(filepath.Join(t.TempDir(), "ipam.json"), netip.MustParsePrefix("192.168.9.4/30"))
	ip, err := a.allocate("one")
	if err != nil || ip != netip.MustParseAddr("192.168.9.6") {
		t.Fatalf("allocate in a /30: %s, %v; want 192.168.9.6", ip, err)
	}
	if _, err := a.allocate("two"); !errors.Is(err, ErrNoAddress) || !strings.Contains(err.Error(), "192.168.9.4/30") {
		t.Errorf("second allocate in a /30: %v", err)
	}
}

func TestLastAddr(t *testing.T) {
	for in, want := range map[string]string{
		"10.244.1.0/24": "10.244.1.255",
		"10.0.0.0/8":    "10.255.255.255",
		"10.1.0.0/29":   "10.1.0.7",
		"10.1.0.0/20":   "10.1.15.255",
		"10.1.2.4/30":   "10.1.2.7",
	} {
		if got := lastAddr(netip.MustParsePrefix(in)).String(); got != want {
			t.Errorf("lastAddr(%s) = %s, want %s", in, got, want)
		}
	}
}
