package podnet

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Sandbox is a pod's namespaces, each persisted as a bind mount so that it
// survives every process, the agent's included. Containers of the pod join
// them by path.
type Sandbox struct {
	ID string
	// Hostname is the hostname set in UTSNS (empty for hostNetwork).
	Hostname string
	// NetNS is the bind-mounted network namespace (empty for hostNetwork).
	NetNS string
	// IPCNS is the bind-mounted IPC namespace (empty for hostIPC).
	IPCNS string
	// UTSNS is the bind-mounted UTS namespace (empty for hostNetwork, which
	// shares the node's UTS namespace as in Kubernetes).
	UTSNS string
	// IP is the pod IP on eth0 (invalid for hostNetwork).
	IP netip.Addr
	// Gateway is the pod's default gateway, the bridge (invalid for hostNetwork).
	Gateway netip.Addr
	// HostPorts are the ports DNAT'ed from the node to the pod.
	HostPorts []HostPort
}

// SandboxSpec asks for a sandbox.
type SandboxSpec struct {
	// ID names the sandbox: 1 to 128 characters out of [A-Za-z0-9_.-],
	// starting with a letter or digit (e.g. the pod UID).
	ID string
	// Hostname for the new UTS namespace; empty means the ID (cut to 63
	// characters). Ignored with HostNetwork.
	Hostname string
	// HostNetwork shares the node's network and UTS namespaces.
	HostNetwork bool
	// HostIPC shares the node's IPC namespace.
	HostIPC bool
	// HostPorts to DNAT from the node to the pod. Ignored with HostNetwork
	// (the pod listens on the node's ports itself).
	HostPorts []HostPort
}

// HostPort maps a port of the node to a port of the pod.
type HostPort struct {
	// Protocol is "TCP" or "UDP"; empty means TCP.
	Protocol string `json:"protocol"`
	// HostIP restricts the mapping to one of the node's IPv4 addresses;
	// empty means every local address (127.0.0.1 included).
	HostIP        string `json:"hostIP,omitempty"`
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
}

// vethPrefix starts the name of every host-side veth of a Network.
const vethPrefix = "shv"

// hostVethName derives the host end's name from the bridge and sandbox ID, so
// that it can be found again without a record: "shv" + 12 hex digits.
func hostVethName(bridge, id string) string {
	h := sha256.Sum256([]byte(bridge + "/" + id))
	return vethPrefix + hex.EncodeToString(h[:6])
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

func validateID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("%w sandbox ID %q: want 1-128 characters of [A-Za-z0-9_.-], starting with a letter or digit", ErrInvalid, id)
	}
	return nil
}

// normalize validates spec and fills its defaults.
func (spec SandboxSpec) normalize() (SandboxSpec, error) {
	if err := validateID(spec.ID); err != nil {
		return spec, err
	}
	if spec.HostNetwork {
		spec.Hostname = ""
		spec.HostPorts = nil
	} else if spec.Hostname == "" {
		spec.Hostname = spec.ID[:min(len(spec.ID), 63)]
	}
	if len(spec.Hostname) > 64 {
		return spec, fmt.Errorf("%w sandbox %q: hostname %q is longer than 64 bytes", ErrInvalid, spec.ID, spec.Hostname)
	}
	ports := make([]HostPort, len(spec.HostPorts))
	for i, hp := range spec.HostPorts {
		switch hp.Protocol {
		case "":
			hp.Protocol = "TCP"
		case "TCP", "UDP":
		default:
			return spec, fmt.Errorf("%w sandbox %q: hostPorts[%d]: protocol %q: want TCP or UDP", ErrInvalid, spec.ID, i, hp.Protocol)
		}
		if hp.HostPort < 1 || hp.HostPort > 65535 {
			return spec, fmt.Errorf("%w sandbox %q: hostPorts[%d]: hostPort %d out of range 1..65535", ErrInvalid, spec.ID, i, hp.HostPort)
		}
		if hp.ContainerPort < 1 || hp.ContainerPort > 65535 {
			return spec, fmt.Errorf("%w sandbox %q: hostPorts[%d]: containerPort %d out of range 1..65535", ErrInvalid, spec.ID, i, hp.ContainerPort)
		}
		if hp.HostIP != "" {
			ip, err := netip.ParseAddr(hp.HostIP)
			if err != nil || !ip.Is4() {
				return spec, fmt.Errorf("%w sandbox %q: hostPorts[%d]: hostIP %q is not an IPv4 address", ErrInvalid, spec.ID, i, hp.HostIP)
			}
			if ip.IsUnspecified() {
				hp.HostIP = ""
			} else {
				hp.HostIP = ip.String()
			}
		}
		for j, other := range ports[:i] {
			if conflicts(hp, other) {
				return spec, fmt.Errorf("%w sandbox %q: hostPorts[%d] and [%d] both take %s/%d", ErrInvalid, spec.ID, j, i, hp.Protocol, hp.HostPort)
			}
		}
		ports[i] = hp
	}
	spec.HostPorts = ports
	return spec, nil
}

// conflicts reports whether two hostPorts want the same node port.
func conflicts(a, b HostPort) bool {
	return a.Protocol == b.Protocol && a.HostPort == b.HostPort &&
		(a.HostIP == "" || b.HostIP == "" || a.HostIP == b.HostIP)
}

// CreateSandbox makes the pod's namespaces and wires its network: a new
// network namespace (lo up; eth0, the pod end of a veth pair whose host end
// is a hairpin port of the bridge, with an address from PodCIDR and a default
// route via the gateway), a new IPC namespace, a new UTS namespace with the
// hostname, each bind-mounted under StateDir, and DNAT rules for the
// hostPorts. HostNetwork and HostIPC skip the corresponding namespaces.
//
// With Config.Spares, a sandbox with its own network and IPC namespaces is
// made out of a ready spare when there is one: only its hostname, its
// hostPort rules and its record are new, and the background refill makes
// another spare. A CreateSandbox that finds no free address removes ready
// spares to free one.
//
// It is idempotent per ID: an existing sandbox is returned unchanged, even if
// spec differs. On any failure, everything created so far is removed.
// Setup must have run (the bridge must exist).
func (n *Network) CreateSandbox(spec SandboxSpec) (*Sandbox, error) {
	spec, err := spec.normalize()
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if r, err := n.readRecord(spec.ID); err == nil {
		return r.sandbox(), nil
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	// The other sandboxes matter only to hostPorts: their conflicts and the
	// rules rewritten from all records.
	var recs []*record
	if len(spec.HostPorts) > 0 {
		if recs, err = n.readRecords(); err != nil {
			return nil, err
		}
	}
	for _, hp := range spec.HostPorts {
		for _, r := range recs {
			for _, other := range r.HostPorts {
				if conflicts(hp, other) {
					return nil, fmt.Errorf("create sandbox %q: %w: %s/%d is held by sandbox %q", spec.ID, ErrHostPortInUse, hp.Protocol, hp.HostPort, r.ID)
				}
			}
		}
	}
	if rec := n.takeSpare(spec, recs); rec != nil {
		n.log.Info("created sandbox", "sandbox", rec.ID, "ip", rec.IP, "spare", rec.Slot, "hostPorts", len(rec.HostPorts))
		return rec.sandbox(), nil
	}
	rec := &record{
		ID:          spec.ID,
		Hostname:    spec.Hostname,
		HostNetwork: spec.HostNetwork,
		HostIPC:     spec.HostIPC,
		HostPorts:   spec.HostPorts,
	}
	if !spec.HostNetwork {
		rec.HostVeth = hostVethName(n.cfg.Bridge, spec.ID)
	}
	// Leftovers of an interrupted earlier attempt would make the steps below
	// fail (a veth name in use, a mounted namespace file).
	if err := n.cleanupSandbox(spec.ID, nil); err != nil {
		return nil, fmt.Errorf("create sandbox %q: clear leftovers: %w", spec.ID, err)
	}
	if err := n.createSandbox(rec, recs); err != nil {
		if cerr := n.cleanupSandbox(spec.ID, nil); cerr != nil {
			err = errors.Join(err, fmt.Errorf("undo: %w", cerr))
		}
		if len(spec.HostPorts) > 0 {
			if rerr := n.syncRules(recs); rerr != nil {
				err = errors.Join(err, fmt.Errorf("undo: %w", rerr))
			}
		}
		return nil, fmt.Errorf("create sandbox %q: %w", spec.ID, err)
	}
	n.log.Info("created sandbox", "sandbox", rec.ID, "ip", rec.IP, "hostNetwork", rec.HostNetwork, "hostIPC", rec.HostIPC, "hostPorts", len(rec.HostPorts))
	return rec.sandbox(), nil
}

// createSandbox runs the creation steps in order and fills rec; the record
// is written last, as the commit point. The caller undoes on error.
func (n *Network) createSandbox(rec *record, others []*record) error {
	if !rec.HostNetwork {
		ip, err := n.ipam.allocate(rec.ID)
		for errors.Is(err, ErrNoAddress) && len(n.spares) > 0 {
			// A waiting spare must not cost a pod its address.
			sp := n.spares[len(n.spares)-1]
			n.spares = n.spares[:len(n.spares)-1]
			n.log.Info("removing a spare sandbox to free its address", "sandbox", rec.ID, "spare", sp.ID, "ip", sp.IP)
			if rerr := n.removeSpare(sp); rerr != nil {
				return errors.Join(fmt.Errorf("allocate address: %w", err), rerr)
			}
			ip, err = n.ipam.allocate(rec.ID)
		}
		if err != nil {
			return fmt.Errorf("allocate address: %w", err)
		}
		rec.IP, rec.Gateway = ip, n.gateway
	}
	var kinds []nsKind
	dir := n.nsPath(rec.ID)
	if !rec.HostNetwork {
		kinds = append(kinds, nsNet, nsUTS)
		rec.NetNS = filepath.Join(dir, string(nsNet))
		rec.UTSNS = filepath.Join(dir, string(nsUTS))
	}
	if !rec.HostIPC {
		kinds = append(kinds, nsIPC)
		rec.IPCNS = filepath.Join(dir, string(nsIPC))
	}
	if err := n.fail("namespaces"); err != nil {
		return err
	}
	if err := createNamespaces(dir, kinds, rec.Hostname); err != nil {
		return err
	}
	if !rec.HostNetwork {
		if err := n.fail("veth"); err != nil {
			return err
		}
		if err := n.wirePod(rec); err != nil {
			return err
		}
		if err := n.fail("rules"); err != nil {
			return err
		}
		// Only hostPorts have rules of their own: a sandbox without them
		// leaves the chains as they are.
		if len(rec.HostPorts) > 0 {
			if err := n.syncRules(append(append([]*record(nil), others...), rec)); err != nil {
				return err
			}
		}
	}
	if err := n.fail("record"); err != nil {
		return err
	}
	return n.writeRecord(rec)
}

func (n *Network) fail(step string) error {
	if n.failAt == nil {
		return nil
	}
	return n.failAt(step)
}

// wirePod creates the veth pair (host end on the bridge with hairpin on, pod
// end eth0 in the pod's network namespace) and configures the pod side: lo
// up, the address, eth0 up, the default route via the gateway.
func (n *Network) wirePod(rec *record) error {
	node, err := n.nodeHandle()
	if err != nil {
		return err
	}
	defer node.Close()
	br, err := node.LinkByName(n.cfg.Bridge)
	if err != nil {
		return fmt.Errorf("find bridge %s (has Setup run?): %w", n.cfg.Bridge, err)
	}
	podNS, err := netns.GetFromPath(rec.NetNS)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", rec.NetNS, err)
	}
	defer podNS.Close()

	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: rec.HostVeth, MTU: n.cfg.MTU},
		PeerName:      "eth0",
		PeerMTU:       uint32(n.cfg.MTU),
		PeerNamespace: netlink.NsFd(podNS),
	}
	if err := node.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s with eth0 in %s: %w", rec.HostVeth, rec.NetNS, err)
	}
	host, err := node.LinkByName(rec.HostVeth)
	if err != nil {
		return fmt.Errorf("find veth %s: %w", rec.HostVeth, err)
	}
	if err := node.LinkSetMaster(host, br); err != nil {
		return fmt.Errorf("attach veth %s to bridge %s: %w", rec.HostVeth, n.cfg.Bridge, err)
	}
	if err := node.LinkSetHairpin(host, true); err != nil {
		return fmt.Errorf("set hairpin mode on veth %s: %w", rec.HostVeth, err)
	}
	if err := node.LinkSetUp(host); err != nil {
		return fmt.Errorf("bring veth %s up: %w", rec.HostVeth, err)
	}

	pod, err := netlink.NewHandleAt(podNS)
	if err != nil {
		return fmt.Errorf("open netlink in network namespace %s: %w", rec.NetNS, err)
	}
	defer pod.Close()
	lo, err := pod.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo in %s: %w", rec.NetNS, err)
	}
	if err := pod.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring lo up in %s: %w", rec.NetNS, err)
	}
	eth0, err := pod.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("find eth0 in %s: %w", rec.NetNS, err)
	}
	addr := &netlink.Addr{IPNet: ipNet(rec.IP, n.cfg.PodCIDR.Bits())}
	if err := pod.AddrAdd(eth0, addr); err != nil {
		return fmt.Errorf("add address %s to eth0 in %s: %w", addr.IPNet, rec.NetNS, err)
	}
	if err := pod.LinkSetUp(eth0); err != nil {
		return fmt.Errorf("bring eth0 up in %s: %w", rec.NetNS, err)
	}
	route := &netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: rec.Gateway.AsSlice(), Scope: netlink.SCOPE_UNIVERSE}
	if err := pod.RouteAdd(route); err != nil {
		return fmt.Errorf("add default route via %s in %s: %w", rec.Gateway, rec.NetNS, err)
	}
	return nil
}

// Sandbox returns the sandbox with that ID from its persisted record; this is
// how a restarted agent re-attaches. The error wraps ErrNotFound when there
// is none.
func (n *Network) Sandbox(id string) (*Sandbox, error) {
	if err := validateID(id); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	r, err := n.readRecord(id)
	if err != nil {
		return nil, err
	}
	return r.sandbox(), nil
}

// Sandboxes returns every sandbox, sorted by ID. Spares are not sandboxes
// until CreateSandbox takes one: Spares counts them.
func (n *Network) Sandboxes() ([]*Sandbox, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	recs, err := n.readRecords()
	if err != nil {
		return nil, err
	}
	out := make([]*Sandbox, len(recs))
	for i, r := range recs {
		out[i] = r.sandbox()
	}
	return out, nil
}

// RemoveSandbox removes the sandbox's hostPort rules and veth, unmounts and
// deletes its namespace files, forgets it and releases its IP. It is
// idempotent (removing a missing sandbox is not an error) and also clears the
// leftovers of an interrupted CreateSandbox for that ID. Processes still in
// the namespaces keep them alive, but the sandbox is gone for podnet.
func (n *Network) RemoveSandbox(id string) error {
	if err := validateID(id); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	r, err := n.readRecord(id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	recs, err := n.readRecords()
	if err != nil {
		return err
	}
	rest := recs[:0:0]
	for _, r := range recs {
		if r.ID != id {
			rest = append(rest, r)
		}
	}
	var errs []error
	if hadHostPorts(recs, id) { // only a recorded sandbox with hostPorts has rules
		if err := n.syncRules(rest); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		if err := n.cleanupSandbox(id, r); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove sandbox %q: %w", id, err)
	}
	if len(rest) != len(recs) {
		n.log.Info("removed sandbox", "sandbox", id)
		n.kickRefill() // an address is free again
	}
	return nil
}

// cleanupSandbox removes what sandbox id may own, except its iptables rules
// (the callers rewrite the chains): the host veth (which takes eth0 with it),
// the namespace files, then the record, then the IP — the IP last, so that a
// crash in between never leaves a record whose address is free. r is id's
// record, or nil when it has none: what is named after id (the leftovers of
// an interrupted CreateSandbox) goes in any case, and so does what r holds
// under its slot when it was a spare. Each step is idempotent; the record
// stays if an earlier step failed.
func (n *Network) cleanupSandbox(id string, r *record) error {
	slots := []string{id}
	veths := []string{hostVethName(n.cfg.Bridge, id)}
	if r != nil {
		if s := r.slot(); s != id {
			slots = append(slots, s)
		}
		if r.HostVeth != "" && r.HostVeth != veths[0] {
			veths = append(veths, r.HostVeth)
		}
	}
	var errs []error
	for _, v := range veths {
		if err := n.deleteLink(v); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range slots {
		if err := removeNamespaces(n.nsPath(s)); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := n.removeRecord(id); err != nil {
		return err
	}
	for _, s := range slots {
		if err := n.ipam.release(s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteLink deletes the node interface name; a missing one is not an error.
func (n *Network) deleteLink(name string) error {
	h, err := n.nodeHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find interface %s: %w", name, err)
	}
	if err := h.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete interface %s: %w", name, err)
	}
	return nil
}

// hadHostPorts reports whether the recorded sandbox id has hostPorts, and so
// rules in the chains.
func hadHostPorts(recs []*record, id string) bool {
	for _, r := range recs {
		if r.ID == id {
			return len(r.HostPorts) > 0
		}
	}
	return false
}
