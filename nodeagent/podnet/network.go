package podnet

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Errors callers branch on with errors.Is.
var (
	// ErrInvalid marks a Config or SandboxSpec that can never work.
	ErrInvalid = errors.New("podnet: invalid")
	// ErrNotFound: no sandbox with that ID.
	ErrNotFound = errors.New("podnet: sandbox not found")
	// ErrNoAddress: the pod CIDR has no free address; the error names the CIDR.
	ErrNoAddress = errors.New("podnet: no free pod address")
	// ErrHostPortInUse: another sandbox already holds the hostPort.
	ErrHostPortInUse = errors.New("podnet: hostPort in use")
)

// Config describes one node's pod network.
type Config struct {
	// StateDir holds the bind-mounted namespace files, the sandbox records and
	// the IP allocations, e.g. <data-dir>/podnet. It must be on a file system
	// where bind mounts work, and it must survive an agent restart for the
	// sandboxes to be found again.
	StateDir string
	// Bridge is the name of the node's pod bridge (at most 15 bytes).
	Bridge string
	// PodCIDR is this node's IPv4 pod range, e.g. 10.244.1.0/24 (at most /30).
	// The bridge gets its first address, the pods' gateway.
	PodCIDR netip.Prefix
	// ClusterCIDR is the range of every pod of the cluster, e.g. 10.244.0.0/16.
	// Pod traffic to it keeps its pod source address; traffic leaving it
	// through this node is masqueraded. The zero value means PodCIDR.
	ClusterCIDR netip.Prefix
	// ServiceCIDR, when valid, is routed to the bridge (by SyncPeers), so
	// that the node's own processes have a route to cluster IPs for the
	// service proxy's NAT rules to rewrite, and an address no Service
	// owns meets the proxy's refusal instead of "network unreachable".
	ServiceCIDR netip.Prefix
	// MTU of the bridge and of both ends of every veth.
	MTU int
	// NetNS is the path of the node's network namespace file. Everything this
	// Network does to the node's network (bridge, veths, sysctls, iptables)
	// happens there. Empty means the agent's own network namespace.
	NetNS string
	// Logger receives the component's logs (component=podnet).
	Logger *slog.Logger
	// Spares is how many spare sandboxes (network, IPC and UTS namespaces,
	// veth on the bridge, address) Setup keeps made ahead for CreateSandbox
	// to take; each holds a pod address while it waits. 0 means none: every
	// sandbox is made when asked for. At most 64.
	Spares int
}

// DefaultConfig returns the configuration of a node with the bridge shoal0,
// an MTU of 1500, the node's own network namespace, the default logger and
// DefaultSpares spare sandboxes.
func DefaultConfig(stateDir string, podCIDR netip.Prefix) Config {
	return Config{
		StateDir: stateDir,
		Bridge:   "shoal0",
		PodCIDR:  podCIDR,
		MTU:      1500,
		Logger:   slog.Default(),
		Spares:   DefaultSpares,
	}
}

// validate fills the defaults of zero fields and checks the rest.
func (c *Config) validate() error {
	if c.Bridge == "" {
		c.Bridge = "shoal0"
	}
	if c.MTU == 0 {
		c.MTU = 1500
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.StateDir == "" || !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("%w config: StateDir %q must be an absolute path", ErrInvalid, c.StateDir)
	}
	c.StateDir = filepath.Clean(c.StateDir)
	if err := validateIfName(c.Bridge); err != nil {
		return fmt.Errorf("%w config: Bridge: %v", ErrInvalid, err)
	}
	if !c.PodCIDR.IsValid() || !c.PodCIDR.Addr().Is4() {
		return fmt.Errorf("%w config: PodCIDR %q must be an IPv4 prefix", ErrInvalid, c.PodCIDR)
	}
	if c.PodCIDR.Masked() != c.PodCIDR {
		return fmt.Errorf("%w config: PodCIDR %s has host bits set (did you mean %s?)", ErrInvalid, c.PodCIDR, c.PodCIDR.Masked())
	}
	if c.PodCIDR.Bits() > 30 {
		return fmt.Errorf("%w config: PodCIDR %s is too small: at most /30 (gateway plus one pod)", ErrInvalid, c.PodCIDR)
	}
	if !c.ClusterCIDR.IsValid() {
		c.ClusterCIDR = c.PodCIDR
	}
	if !c.ClusterCIDR.Addr().Is4() || c.ClusterCIDR.Masked() != c.ClusterCIDR {
		return fmt.Errorf("%w config: ClusterCIDR %s must be a masked IPv4 prefix", ErrInvalid, c.ClusterCIDR)
	}
	if c.ClusterCIDR.Bits() > c.PodCIDR.Bits() || !c.ClusterCIDR.Contains(c.PodCIDR.Addr()) {
		return fmt.Errorf("%w config: ClusterCIDR %s does not contain PodCIDR %s", ErrInvalid, c.ClusterCIDR, c.PodCIDR)
	}
	if c.MTU < 576 || c.MTU > 65535 {
		return fmt.Errorf("%w config: MTU %d out of range 576..65535", ErrInvalid, c.MTU)
	}
	if c.Spares < 0 || c.Spares > maxSpares {
		return fmt.Errorf("%w config: Spares %d out of range 0..%d", ErrInvalid, c.Spares, maxSpares)
	}
	return nil
}

// validateIfName checks a Linux interface name.
func validateIfName(name string) error {
	if name == "" || len(name) > 15 {
		return fmt.Errorf("interface name %q must have 1 to 15 bytes", name)
	}
	if name == "." || name == ".." || strings.ContainsAny(name, "/: \t\n") {
		return fmt.Errorf("interface name %q has a forbidden character", name)
	}
	return nil
}

// Network manages one node's pod network and the sandboxes on it. Create it
// with New; it is safe for concurrent use.
type Network struct {
	cfg     Config
	log     *slog.Logger
	gateway netip.Addr
	chains  chains
	ipam    *ipam

	mu sync.Mutex
	// spares are the ready spare sandboxes' records (the ones on disk
	// under spares/, as far as Setup found them usable), oldest first.
	spares []*record
	// failAt, set by tests only, makes CreateSandbox fail right before the
	// named step ("namespaces", "veth", "rules", "record"; with a spare
	// "take-hostname", "take-record") and the refill before
	// "spare-namespaces", "spare-veth", "spare-record". Set it while no
	// refill runs (before Setup, or after Close).
	failAt func(step string) error

	fillMu sync.Mutex
	fill   *refiller // the running background refill, if any
}

// New validates cfg (filling zero Bridge, MTU and Logger with the defaults)
// and returns a Network. It does not touch the system: call Setup before
// creating sandboxes.
func New(cfg Config) (*Network, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Network{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "podnet", "bridge", cfg.Bridge),
		gateway: cfg.PodCIDR.Addr().Next(),
		chains:  newChains(cfg.Bridge),
		ipam:    newIPAM(filepath.Join(cfg.StateDir, ipamFile), cfg.PodCIDR),
	}, nil
}

// Config returns the validated configuration, defaults filled in.
func (n *Network) Config() Config { return n.cfg }

// Gateway returns the bridge's address, the pods' default gateway.
func (n *Network) Gateway() netip.Addr { return n.gateway }

// Setup makes the node ready for sandboxes; it is idempotent and meant to
// run at every agent start. See the package documentation for what it does.
// When it succeeds and Config.Spares asks for spares, a background refill
// keeps them made until Close or Teardown.
func (n *Network) Setup() error {
	n.stopRefill() // the garbage collection must not see a spare being made
	if err := n.setup(); err != nil {
		return err
	}
	n.startRefill()
	return nil
}

func (n *Network) setup() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, d := range []string{n.cfg.StateDir, filepath.Join(n.cfg.StateDir, recordsDir), filepath.Join(n.cfg.StateDir, sparesDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create state folder: %w", err)
		}
	}
	if err := ensurePrivateMount(filepath.Join(n.cfg.StateDir, nsDir)); err != nil {
		return err
	}
	if err := n.setupSysctls(); err != nil {
		return err
	}
	if err := n.ensureBridge(); err != nil {
		return err
	}
	// hostPorts on 127.0.0.1: DNAT'ed packets from the loopback source may
	// only leave through the bridge with route_localnet.
	if err := n.writeSysctl(fmt.Sprintf("net/ipv4/conf/%s/route_localnet", n.cfg.Bridge), "1"); err != nil {
		return err
	}
	if _, err := n.ipam.allocations(); err != nil {
		return err
	}
	recs, err := n.collectGarbage(n.cfg.Spares)
	if err != nil {
		return err
	}
	if err := n.syncRules(recs); err != nil {
		return err
	}
	if err := n.ensureJumps(); err != nil {
		return err
	}
	n.log.Info("pod network ready", "podCIDR", n.cfg.PodCIDR, "gateway", n.gateway, "sandboxes", len(recs), "spares", len(n.spares))
	return nil
}

// setupSysctls enables forwarding and makes bridged traffic go through
// iptables (needed for pod→service→pod on one bridge and for hostPort
// replies between pods), loading br_netfilter when its sysctls are missing.
func (n *Network) setupSysctls() error {
	if err := n.writeSysctl("net/ipv4/ip_forward", "1"); err != nil {
		return err
	}
	const brnf = "net/bridge/bridge-nf-call-iptables"
	err := n.writeSysctl(brnf, "1")
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if out, merr := exec.Command("modprobe", "br_netfilter").CombinedOutput(); merr != nil {
		return fmt.Errorf("load kernel module br_netfilter (needed for %s): %w: %s", brnf, merr, strings.TrimSpace(string(out)))
	}
	return n.writeSysctl(brnf, "1")
}

// writeSysctl writes /proc/sys/<key> in the node's network namespace.
func (n *Network) writeSysctl(key, value string) error {
	p := filepath.Join("/proc/sys", key)
	return inNetNS(n.cfg.NetNS, func() error {
		cur, err := os.ReadFile(p)
		if err == nil && strings.TrimSpace(string(cur)) == value {
			return nil
		}
		if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
			return fmt.Errorf("set sysctl %s=%s: %w", strings.ReplaceAll(key, "/", "."), value, err)
		}
		return nil
	})
}

// nodeHandle returns a netlink handle bound to the node's network namespace.
func (n *Network) nodeHandle() (*netlink.Handle, error) {
	if n.cfg.NetNS == "" {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, fmt.Errorf("open netlink: %w", err)
		}
		return h, nil
	}
	return handleAt(n.cfg.NetNS)
}

// handleAt returns a netlink handle bound to the network namespace at path.
func handleAt(path string) (*netlink.Handle, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("open netlink in network namespace %s: %w", path, err)
	}
	return h, nil
}

// bridgeMAC is a stable, locally administered MAC address for the bridge: an
// explicit address keeps the bridge from taking a port's address, which
// would change the gateway's MAC under the pods whenever ports come and go.
func bridgeMAC(bridge string) net.HardwareAddr {
	h := sha256.Sum256([]byte("shoal bridge " + bridge))
	mac := net.HardwareAddr(h[:6])
	mac[0] = (mac[0] | 0x02) &^ 0x01
	return mac
}

// ensureBridge creates the bridge when missing and gives it the MTU, the
// gateway address and the up state.
func (n *Network) ensureBridge() error {
	h, err := n.nodeHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	name := n.cfg.Bridge
	link, err := h.LinkByName(name)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: n.cfg.MTU, HardwareAddr: bridgeMAC(name)}}
		if err := h.LinkAdd(br); err != nil {
			return fmt.Errorf("create bridge %s: %w", name, err)
		}
		n.log.Info("created bridge")
		link, err = h.LinkByName(name)
	}
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", name, err)
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("interface %s exists and is a %s, not a bridge", name, link.Type())
	}
	if link.Attrs().MTU != n.cfg.MTU {
		if err := h.LinkSetMTU(link, n.cfg.MTU); err != nil {
			return fmt.Errorf("set MTU %d on bridge %s: %w", n.cfg.MTU, name, err)
		}
	}
	addr := &netlink.Addr{IPNet: ipNet(n.gateway, n.cfg.PodCIDR.Bits())}
	if err := h.AddrReplace(link, addr); err != nil {
		return fmt.Errorf("add address %s to bridge %s: %w", addr.IPNet, name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("bring bridge %s up: %w", name, err)
	}
	return nil
}

func ipNet(ip netip.Addr, bits int) *net.IPNet {
	return &net.IPNet{IP: net.IP(ip.AsSlice()), Mask: net.CIDRMask(bits, 32)}
}

// collectGarbage removes what no live sandbox or spare owns: sandboxes
// whose namespaces are gone (the node rebooted under a persistent StateDir),
// spares that cannot be used any more or are more than keep, and the
// leftovers of interrupted CreateSandbox calls and refills (namespace
// folders, bridge ports and IP allocations of a slot without a record). It
// sets the ready spares and returns the surviving records; the caller
// rewrites the iptables chains from them.
func (n *Network) collectGarbage(keep int) ([]*record, error) {
	recs, err := n.readRecords()
	if err != nil {
		return nil, err
	}
	var errs []error
	live := recs[:0]
	known := map[string]bool{} // slots held by a record
	for _, r := range recs {
		if lost := lostNamespaces(r); len(lost) > 0 {
			n.log.Warn("sandbox lost its namespaces, removing it", "sandbox", r.ID, "files", lost)
			if err := n.cleanupSandbox(r.ID, r); err != nil {
				errs = append(errs, err)
				known[r.slot()] = true // keep it for the next attempt
				live = append(live, r)
			}
			continue
		}
		known[r.slot()] = true
		live = append(live, r)
	}
	spareSlots, spareVeths, err := n.collectSpares(keep, known)
	if err != nil {
		errs = append(errs, err)
	}
	for s := range spareSlots {
		known[s] = true
	}
	// Namespace folders without a record.
	entries, err := os.ReadDir(filepath.Join(n.cfg.StateDir, nsDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("list namespace folders: %w", err))
	}
	for _, e := range entries {
		if known[e.Name()] {
			continue
		}
		n.log.Warn("removing namespaces of an unfinished sandbox", "sandbox", e.Name())
		if err := removeNamespaces(n.nsPath(e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	// Bridge ports named like ours that no record claims.
	if err := n.removeStrayVeths(live, spareVeths); err != nil {
		errs = append(errs, err)
	}
	// Addresses held by IDs without a record.
	allocs, err := n.ipam.allocations()
	if err != nil {
		errs = append(errs, err)
	}
	for ip, id := range allocs {
		if known[id] {
			continue
		}
		n.log.Warn("releasing address of an unfinished sandbox", "sandbox", id, "ip", ip)
		if err := n.ipam.release(id); err != nil {
			errs = append(errs, err)
		}
	}
	return live, errors.Join(errs...)
}

// lostNamespaces lists the namespace files of r that are no longer
// bind-mounted namespaces.
func lostNamespaces(r *record) []string {
	var lost []string
	for _, p := range r.nsFiles() {
		if !isNamespaceFile(p) {
			lost = append(lost, p)
		}
	}
	return lost
}

// removeStrayVeths deletes the ports of our bridge that carry our veth prefix
// but belong to no record in recs and are not in spares.
func (n *Network) removeStrayVeths(recs []*record, spares map[string]bool) error {
	h, err := n.nodeHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	br, err := h.LinkByName(n.cfg.Bridge)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", n.cfg.Bridge, err)
	}
	owned := map[string]bool{}
	for v := range spares {
		owned[v] = true
	}
	for _, r := range recs {
		owned[r.HostVeth] = true
	}
	links, err := h.LinkList()
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	var errs []error
	for _, l := range links {
		a := l.Attrs()
		if a.MasterIndex != br.Attrs().Index || !strings.HasPrefix(a.Name, vethPrefix) || owned[a.Name] {
			continue
		}
		n.log.Warn("removing veth of an unfinished sandbox", "interface", a.Name)
		// ENODEV: gone meanwhile, with the namespace of its peer (removed
		// above, destroyed by the kernel in the background).
		if err := h.LinkDel(l); err != nil && !errors.As(err, new(netlink.LinkNotFoundError)) && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("delete interface %s: %w", a.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Teardown stops the refill and removes every sandbox and spare, the
// iptables chains and jumps, the bridge, the namespace folder's private
// mount and the state files: what `shoal down` calls. It keeps going after
// an error and returns all errors joined; calling it again finishes what
// failed. Sysctls are left as they are (they are node-wide and may serve
// others).
func (n *Network) Teardown() error {
	n.stopRefill()
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	recs, err := n.readRecords()
	if err != nil {
		errs = append(errs, err)
	}
	for _, r := range recs {
		if err := n.cleanupSandbox(r.ID, r); err != nil {
			errs = append(errs, err)
		}
	}
	// The spares and the leftovers of unfinished sandboxes and refills
	// (after the above, no record is live).
	if rest, err := n.readRecords(); err == nil && len(rest) == 0 {
		if _, err := n.collectGarbage(0); err != nil {
			errs = append(errs, err)
		}
	}
	if err := n.removeRules(); err != nil {
		errs = append(errs, err)
	}
	if err := n.removeRoutes(); err != nil {
		errs = append(errs, err)
	}
	if err := n.deleteBridge(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	nsRoot := filepath.Join(n.cfg.StateDir, nsDir)
	mounts, err := mountsUnder(nsRoot)
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if err := unmountAll(m); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range []string{nsRoot, filepath.Join(n.cfg.StateDir, recordsDir), filepath.Join(n.cfg.StateDir, sparesDir), filepath.Join(n.cfg.StateDir, ipamFile)} {
		if len(errs) == 0 {
			if err := os.RemoveAll(p); err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
			}
		}
	}
	if len(errs) == 0 {
		n.log.Info("pod network torn down")
	}
	return errors.Join(errs...)
}

func (n *Network) deleteBridge() error {
	h, err := n.nodeHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(n.cfg.Bridge)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find bridge %s: %w", n.cfg.Bridge, err)
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("interface %s is a %s, not our bridge: left alone", n.cfg.Bridge, link.Type())
	}
	if err := h.LinkDel(link); err != nil {
		return fmt.Errorf("delete bridge %s: %w", n.cfg.Bridge, err)
	}
	return nil
}
