package testenv

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The lab network. Rig k uses 10.250.k.0/24: the root namespace is
// 10.250.k.1 on link shl<k>, node i is 10.250.k.(10+i) on eth0 in its own
// namespace, and a bridge br0 in the lab namespace joins them. Nodes have
// no default route, so nothing they send leaves the machine.
const (
	// NetNSDir is where the rig bind-mounts its namespaces, so that
	// `ip netns list` shows them.
	NetNSDir = "/run/netns"
	// MinLabIndex and MaxLabIndex bound k.
	MinLabIndex = 1
	MaxLabIndex = 254
	// MaxNodes is the most nodes a rig has (addresses .11 to .210).
	MaxNodes = 200
	// GossipPort and APIPort are the agents' ports on their node address.
	GossipPort = 7946
	APIPort    = 7947

	labBridge   = "br0"
	labHostPeer = "host0" // the root veth's end in the lab namespace
	nodeLink    = "eth0"
	// globalLock serializes claiming a lab index among all rigs.
	globalLock = "/run/shoal-testenv.lock"
)

// labName is the lab namespace's name for index k.
func labName(k int) string { return fmt.Sprintf("shoal-lab%d", k) }

// nodeNetNSName is a node's namespace name.
func nodeNetNSName(k int, node string) string { return fmt.Sprintf("shoal-lab%d-%s", k, node) }

// hostLinkName is the root namespace's veth into lab k (at most 6 chars).
func hostLinkName(k int) string { return fmt.Sprintf("shl%d", k) }

// labLinkName is node i's veth end in the lab namespace.
func labLinkName(i int) string { return fmt.Sprintf("n%d", i) }

// hostAddr is the root namespace's address in lab k.
func hostAddr(k int) string { return fmt.Sprintf("10.250.%d.1", k) }

// nodeAddr is node i's (1-based) address in lab k.
func nodeAddr(k, i int) string { return fmt.Sprintf("10.250.%d.%d", k, 10+i) }

// labSubnet is lab k's subnet.
func labSubnet(k int) *net.IPNet {
	return &net.IPNet{IP: net.IPv4(10, 250, byte(k), 0).To4(), Mask: net.CIDRMask(24, 32)}
}

// labIndexFree reports whether index k is unused: no namespace of that
// name, no link shl<k> and no address or route of the root namespace in
// its subnet.
func labIndexFree(k int) (bool, error) {
	if _, err := os.Lstat(filepath.Join(NetNSDir, labName(k))); err == nil {
		return false, nil
	}
	if _, err := netlink.LinkByName(hostLinkName(k)); err == nil {
		return false, nil
	}
	subnet := labSubnet(k)
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return false, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if subnet.Contains(a.IP) {
			return false, nil
		}
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return false, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		// A route into the subnet or a part of it (a wider route, like a
		// blackhole for 10.250.0.0/16, loses to the rig's /24).
		if r.Dst != nil && maskLen(r.Dst) >= 24 && subnet.Contains(r.Dst.IP) {
			return false, nil
		}
	}
	return true, nil
}

func maskLen(n *net.IPNet) int { ones, _ := n.Mask.Size(); return ones }

// claimLab picks the first free lab index and makes its lab namespace
// (which is the claim), under a machine-wide lock so that rigs started at
// the same time get different indexes. It calls record with the index
// while the lock is held, so that the claim is on record before another
// rig looks.
func claimLab(record func(k int, labNS string) error) (int, error) {
	unlock, err := lockPath(globalLock)
	if err != nil {
		return 0, err
	}
	defer unlock()
	for k := MinLabIndex; k <= MaxLabIndex; k++ {
		free, err := labIndexFree(k)
		if err != nil {
			return 0, err
		}
		if !free {
			continue
		}
		path, err := NewNetNS(NetNSDir, labName(k))
		if err != nil {
			return 0, fmt.Errorf("make lab namespace %s: %w", labName(k), err)
		}
		if err := record(k, path); err != nil {
			RemoveNetNS(path)
			return 0, err
		}
		return k, nil
	}
	return 0, errors.New("no free lab index (10.250.1-254.0/24 all in use): run shoal testenv down on rigs left behind (ip netns list shows shoal-lab*)")
}

// buildLab makes the lab bridge, the root namespace's veth into it and
// every node's namespace and veth, as st describes. st.LabNetNS must exist.
func buildLab(st *State) error {
	lab, err := netns.GetFromPath(st.LabNetNS)
	if err != nil {
		return fmt.Errorf("open lab namespace %s: %w", st.LabNetNS, err)
	}
	defer lab.Close()
	lh, err := netlink.NewHandleAt(lab)
	if err != nil {
		return fmt.Errorf("netlink in lab namespace: %w", err)
	}
	defer lh.Close()

	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: labBridge}}
	if err := lh.LinkAdd(br); err != nil {
		return fmt.Errorf("make bridge %s in %s: %w", labBridge, st.LabNetNS, err)
	}
	if err := lh.LinkSetUp(br); err != nil {
		return fmt.Errorf("bring bridge up: %w", err)
	}

	// The root namespace's way in.
	hv := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: st.HostLink}, PeerName: labHostPeer, PeerNamespace: netlink.NsFd(int(lab))}
	if err := netlink.LinkAdd(hv); err != nil {
		return fmt.Errorf("make veth %s: %w", st.HostLink, err)
	}
	if err := attach(lh, labHostPeer, br); err != nil {
		return err
	}
	hl, err := netlink.LinkByName(st.HostLink)
	if err != nil {
		return err
	}
	addr, _ := netlink.ParseAddr(st.HostAddr + "/24")
	if err := netlink.AddrAdd(hl, addr); err != nil {
		return fmt.Errorf("address %s on %s: %w", st.HostAddr, st.HostLink, err)
	}
	if err := netlink.LinkSetUp(hl); err != nil {
		return fmt.Errorf("bring %s up: %w", st.HostLink, err)
	}

	for i := range st.Nodes {
		if err := buildNode(lh, lab, br, &st.Nodes[i]); err != nil {
			return fmt.Errorf("node %s: %w", st.Nodes[i].Name, err)
		}
	}
	return nil
}

// attach puts a lab-namespace link on the bridge and brings it up.
func attach(lh *netlink.Handle, name string, br netlink.Link) error {
	l, err := lh.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s in lab namespace: %w", name, err)
	}
	if err := lh.LinkSetMaster(l, br); err != nil {
		return fmt.Errorf("put %s on the bridge: %w", name, err)
	}
	if err := lh.LinkSetUp(l); err != nil {
		return fmt.Errorf("bring %s up: %w", name, err)
	}
	return nil
}

// buildNode makes a node's namespace, its veth (eth0 inside, n.LabLink on
// the bridge), its address, and turns forwarding on inside it.
func buildNode(lh *netlink.Handle, lab netns.NsHandle, br netlink.Link, n *NodeState) error {
	if _, err := NewNetNS(filepath.Dir(n.NetNS), filepath.Base(n.NetNS)); err != nil {
		return fmt.Errorf("make namespace: %w", err)
	}
	ns, err := netns.GetFromPath(n.NetNS)
	if err != nil {
		return err
	}
	defer ns.Close()
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: n.LabLink}, PeerName: nodeLink, PeerNamespace: netlink.NsFd(int(ns))}
	if err := lh.LinkAdd(v); err != nil {
		return fmt.Errorf("make veth %s: %w", n.LabLink, err)
	}
	if err := attach(lh, n.LabLink, br); err != nil {
		return err
	}
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer nh.Close()
	eth, err := nh.LinkByName(nodeLink)
	if err != nil {
		return err
	}
	addr, _ := netlink.ParseAddr(n.Addr + "/24")
	if err := nh.AddrAdd(eth, addr); err != nil {
		return fmt.Errorf("address %s: %w", n.Addr, err)
	}
	if err := nh.LinkSetUp(eth); err != nil {
		return fmt.Errorf("bring %s up: %w", nodeLink, err)
	}
	return inNetNS(n.NetNS, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644)
	})
}

// inNetNS runs fn on a thread that has entered the namespace at path. The
// thread is never returned to the Go scheduler: it ends with fn's
// goroutine.
func inNetNS(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("enter %s: %w", path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// setLabLink sets a node's lab-side veth up or down: down cuts the node off
// every other node and the root namespace.
func setLabLink(st *State, n *NodeState, up bool) error {
	lab, err := netns.GetFromPath(st.LabNetNS)
	if err != nil {
		return fmt.Errorf("open lab namespace %s (is the rig up?): %w", st.LabNetNS, err)
	}
	defer lab.Close()
	lh, err := netlink.NewHandleAt(lab)
	if err != nil {
		return err
	}
	defer lh.Close()
	l, err := lh.LinkByName(n.LabLink)
	if err != nil {
		return fmt.Errorf("find %s of node %s in the lab namespace: %w", n.LabLink, n.Name, err)
	}
	if up {
		return lh.LinkSetUp(l)
	}
	return lh.LinkSetDown(l)
}

// teardownLab removes the lab's links and namespaces. Whatever is already
// gone is skipped; the errors of the rest are joined.
func teardownLab(st *State) error {
	var errs []error
	if st.HostLink != "" {
		if l, err := netlink.LinkByName(st.HostLink); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("delete %s: %w", st.HostLink, err))
			}
		}
	}
	if lab, err := netns.GetFromPath(st.LabNetNS); err == nil {
		if lh, err := netlink.NewHandleAt(lab); err == nil {
			for _, n := range st.Nodes {
				if l, err := lh.LinkByName(n.LabLink); err == nil {
					if err := lh.LinkDel(l); err != nil {
						errs = append(errs, fmt.Errorf("delete %s: %w", n.LabLink, err))
					}
				}
			}
			lh.Close()
		}
		lab.Close()
	}
	paths := []string{st.LabNetNS}
	for _, n := range st.Nodes {
		paths = append(paths, n.NetNS)
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if err := RemoveNetNS(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove namespace %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// cgroupRoots returns the mount points of every cgroup hierarchy (v1 and
// v2) of this machine.
func cgroupRoots() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var roots []string
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		fstype := strings.Fields(post)
		f := strings.Fields(pre)
		if len(fstype) == 0 || len(f) < 5 {
			continue
		}
		if fstype[0] == "cgroup" || fstype[0] == "cgroup2" {
			roots = append(roots, f[4])
		}
	}
	return roots, nil
}

// removeCgroups removes the folder parent (like /shoal/lab3) and all below
// it in every cgroup hierarchy, deepest first. A cgroup that still holds
// processes cannot be removed: that is an error naming it.
func removeCgroups(parent string) error {
	if parent == "" || parent == "/" {
		return nil
	}
	roots, err := cgroupRoots()
	if err != nil {
		return err
	}
	var errs []error
	for _, root := range roots {
		top := filepath.Join(root, parent)
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := unix.Rmdir(d); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("remove cgroup %s (processes left in it? see cgroup.procs): %w", d, err))
			}
		}
		// The folders above (like /shoal) go too once empty; one that
		// another rig or node still uses stays.
		for p := filepath.Dir(top); len(p) > len(root); p = filepath.Dir(p) {
			if unix.Rmdir(p) != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}
