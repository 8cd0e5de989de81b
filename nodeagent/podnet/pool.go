package podnet

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Spare sandboxes: Config.Spares sandboxes are kept made ahead (namespaces,
// veth on the bridge, address, lo and eth0 up, default route), so that
// CreateSandbox only has to give one its hostname and its record. A
// background refill makes a new one after each is taken.
//
// A spare lives under its slot, "_spare-" and 12 hex digits: its namespace
// folder ns/<slot>, its veth hostVethName(slot), its address held by <slot>
// in ipam.json and its record spares/<slot>.json, written last (the commit
// point). A sandbox taken from the spares keeps the slot (record.Slot): only
// its record is new.

const sparePrefix = "_spare-"

// DefaultSpares is the number of spare sandboxes DefaultConfig keeps.
const DefaultSpares = 2

// maxSpares bounds Config.Spares.
const maxSpares = 64

func newSpareSlot() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic("podnet: no randomness: " + err.Error())
	}
	return sparePrefix + hex.EncodeToString(b)
}

// validateSpareSlot accepts the names newSpareSlot makes.
func validateSpareSlot(s string) error {
	rest, ok := strings.CutPrefix(s, sparePrefix)
	if !ok || len(rest) != 12 {
		return fmt.Errorf("%q is not a spare slot", s)
	}
	if _, err := hex.DecodeString(rest); err != nil {
		return fmt.Errorf("%q is not a spare slot", s)
	}
	return nil
}

// refiller is the running background refill.
type refiller struct {
	kick chan struct{} // a spare was taken or an address freed: look again
	stop chan struct{}
	done chan struct{}
}

// startRefill starts the background refill when Spares asks for spares and
// none runs. The caller must not hold n.mu.
func (n *Network) startRefill() {
	if n.cfg.Spares == 0 {
		return
	}
	n.fillMu.Lock()
	defer n.fillMu.Unlock()
	if n.fill != nil {
		return
	}
	f := &refiller{kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	n.fill = f
	go n.refillLoop(f)
}

// stopRefill stops the background refill and waits until it has: a spare
// it was making is finished (recorded) or removed. The caller must not hold
// n.mu.
func (n *Network) stopRefill() {
	n.fillMu.Lock()
	f := n.fill
	n.fill = nil
	n.fillMu.Unlock()
	if f != nil {
		close(f.stop)
		<-f.done
	}
}

// kickRefill asks the background refill, if one runs, to look again.
func (n *Network) kickRefill() {
	n.fillMu.Lock()
	defer n.fillMu.Unlock()
	if n.fill == nil {
		return
	}
	select {
	case n.fill.kick <- struct{}{}:
	default:
	}
}

// Close stops the background refill of spare sandboxes, waiting for a spare
// being made to be finished. Nothing else changes: the sandboxes and spares
// stay for the next agent, and CreateSandbox still works (it takes the
// spares left, then makes sandboxes itself). Setup starts the refill again.
// Close is idempotent.
func (n *Network) Close() {
	n.stopRefill()
}

// refillLoop makes spares until there are Config.Spares of them, then waits
// for a kick. After an error it waits (1 s, doubling up to 30 s) or, when
// the pod CIDR is full, for a kick.
func (n *Network) refillLoop(f *refiller) {
	defer close(f.done)
	var delay time.Duration
	for {
		var retry <-chan time.Time
		for {
			select {
			case <-f.stop:
				return
			default:
			}
			made, err := n.makeSpare()
			if err == nil && made {
				delay = 0
				continue
			}
			if err != nil && !errors.Is(err, ErrNoAddress) {
				delay = min(max(2*delay, time.Second), 30*time.Second)
				n.log.Warn("could not make a spare sandbox; trying again later", "in", delay, "error", err)
				retry = time.After(delay)
			}
			break
		}
		select {
		case <-f.stop:
			return
		case <-f.kick:
		case <-retry:
		}
	}
}

// makeSpare makes one spare when fewer than Config.Spares are ready, and
// reports whether it did. n.mu is held only to count the spares and to add
// the new one: the address (ipam has a lock of its own), the namespaces, the
// veth and the record are made without it, so that CreateSandbox and
// RemoveSandbox never wait for a refill's netlink calls or fsyncs. No one
// else touches the slot meanwhile: Setup and Teardown stop the refill
// before they collect garbage. On error what was made is removed.
func (n *Network) makeSpare() (bool, error) {
	slot := newSpareSlot()
	rec := &record{ID: slot, HostVeth: hostVethName(n.cfg.Bridge, slot), Gateway: n.gateway}
	n.mu.Lock()
	enough := len(n.spares) >= n.cfg.Spares
	n.mu.Unlock()
	if enough {
		return false, nil
	}
	// Never the last free address: a CreateSandbox racing with this refill
	// (which it cannot reclaim from, unlike a ready spare) still finds one.
	ip, err := n.ipam.allocateKeeping(slot, 1)
	if err != nil {
		return false, err
	}
	rec.IP = ip
	dir := n.nsPath(slot)
	rec.NetNS = filepath.Join(dir, string(nsNet))
	rec.IPCNS = filepath.Join(dir, string(nsIPC))
	rec.UTSNS = filepath.Join(dir, string(nsUTS))
	err = n.fail("spare-namespaces")
	if err == nil {
		err = createNamespaces(dir, []nsKind{nsNet, nsUTS, nsIPC}, "")
	}
	if err == nil {
		err = n.fail("spare-veth")
	}
	if err == nil {
		err = n.wirePod(rec)
	}
	if err == nil {
		err = n.fail("spare-record")
	}
	if err == nil {
		err = n.writeSpareRecord(rec)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		if cerr := n.removeSpare(rec); cerr != nil {
			err = errors.Join(err, fmt.Errorf("undo: %w", cerr))
		}
		return false, fmt.Errorf("make spare sandbox %s: %w", slot, err)
	}
	n.spares = append(n.spares, rec)
	n.log.Debug("made a spare sandbox", "spare", slot, "ip", ip, "spares", len(n.spares))
	return true, nil
}

// removeSpare removes a spare: its veth, its namespaces, its record, then
// its address. n.mu must be held, or the refill be the spare's only user.
func (n *Network) removeSpare(sp *record) error {
	var errs []error
	if err := n.deleteLink(sp.HostVeth); err != nil {
		errs = append(errs, err)
	}
	if err := removeNamespaces(n.nsPath(sp.ID)); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := n.removeSpareRecord(sp.ID); err != nil {
		return err
	}
	return n.ipam.release(sp.ID)
}

// takeSpare makes sandbox spec out of a ready spare, if there is one and
// spec can use it (its own network and IPC namespaces), and returns its
// record; nil means CreateSandbox makes the sandbox itself. A spare that
// fails to become the sandbox is removed. n.mu must be held; others are the
// other sandboxes' records.
func (n *Network) takeSpare(spec SandboxSpec, others []*record) *record {
	if spec.HostNetwork || spec.HostIPC || len(n.spares) == 0 {
		return nil
	}
	sp := n.spares[0]
	n.spares = n.spares[1:]
	n.kickRefill()
	rec := &record{
		ID:        spec.ID,
		Hostname:  spec.Hostname,
		HostPorts: spec.HostPorts,
		NetNS:     sp.NetNS,
		IPCNS:     sp.IPCNS,
		UTSNS:     sp.UTSNS,
		IP:        sp.IP,
		Gateway:   sp.Gateway,
		HostVeth:  sp.HostVeth,
		Slot:      sp.ID,
	}
	err := n.claimSpare(rec, others)
	if err == nil {
		return rec
	}
	if len(rec.HostPorts) > 0 {
		if rerr := n.syncRules(others); rerr != nil {
			err = errors.Join(err, fmt.Errorf("undo: %w", rerr))
		}
	}
	if cerr := n.removeSpare(sp); cerr != nil {
		err = errors.Join(err, fmt.Errorf("undo: %w", cerr))
	}
	n.log.Warn("could not use a spare sandbox; making one", "sandbox", spec.ID, "spare", sp.ID, "error", err)
	return nil
}

// claimSpare turns the spare named by rec.Slot into sandbox rec: the
// hostname, the hostPort rules, then the spare's record goes and the
// sandbox's is written (the commit point). A crash in between leaves a slot
// that no record names, which Setup removes.
func (n *Network) claimSpare(rec *record, others []*record) error {
	if err := n.fail("take-hostname"); err != nil {
		return err
	}
	if err := setHostname(rec.UTSNS, rec.Hostname); err != nil {
		return err
	}
	if len(rec.HostPorts) > 0 {
		if err := n.syncRules(append(append([]*record(nil), others...), rec)); err != nil {
			return err
		}
	}
	if err := n.removeSpareRecord(rec.Slot); err != nil {
		return err
	}
	if err := n.fail("take-record"); err != nil {
		return err
	}
	return n.writeRecord(rec)
}

// setHostname sets the hostname of the UTS namespace bind-mounted at path,
// from an OS thread that joins it and is discarded afterwards.
func setHostname(path, hostname string) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread's UTS namespace is not the process's
		// any more, so it must die with this goroutine.
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open UTS namespace %s: %w", path, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWUTS); err != nil {
			errc <- fmt.Errorf("join UTS namespace %s: %w", path, err)
			return
		}
		if err := unix.Sethostname([]byte(hostname)); err != nil {
			errc <- fmt.Errorf("set hostname %q in UTS namespace %s: %w", hostname, path, err)
			return
		}
		errc <- nil
	}()
	return <-errc
}

// checkSpare tells why a spare found on disk cannot be used any more (nil:
// it can): its namespaces are gone, its veth is not a port of the bridge
// with the configured MTU, or its address is not its own in the pod CIDR.
func (n *Network) checkSpare(h *netlink.Handle, bridgeIndex int, allocs map[netip.Addr]string, sp *record) error {
	if lost := lostNamespaces(sp); len(lost) > 0 || sp.NetNS == "" || sp.IPCNS == "" || sp.UTSNS == "" {
		return fmt.Errorf("namespaces gone: %v", lost)
	}
	if !sp.IP.IsValid() || !n.cfg.PodCIDR.Contains(sp.IP) || allocs[sp.IP] != sp.ID || sp.Gateway != n.gateway {
		return fmt.Errorf("address %s (gateway %s) is not its own in pod CIDR %s", sp.IP, sp.Gateway, n.cfg.PodCIDR)
	}
	l, err := h.LinkByName(sp.HostVeth)
	if err != nil {
		return fmt.Errorf("veth %s: %w", sp.HostVeth, err)
	}
	if a := l.Attrs(); a.MasterIndex != bridgeIndex || a.MTU != n.cfg.MTU {
		return fmt.Errorf("veth %s is not a port of bridge %s with MTU %d", sp.HostVeth, n.cfg.Bridge, n.cfg.MTU)
	}
	return nil
}

// collectSpares keeps the recorded spares that are still usable, up to
// keep of them, as the ready spares, and removes the others. It returns the
// slots and veths of the spares it kept or failed to remove, which the rest
// of the garbage collection must leave alone. claimed are the slots that
// sandbox records hold. n.mu must be held.
func (n *Network) collectSpares(keep int, claimed map[string]bool) (slots, veths map[string]bool, err error) {
	slots, veths = map[string]bool{}, map[string]bool{}
	n.spares = nil
	spares, err := n.readSpares()
	if err != nil || len(spares) == 0 {
		return slots, veths, err
	}
	allocs, err := n.ipam.allocations()
	if err != nil {
		return slots, veths, err
	}
	h, err := n.nodeHandle()
	if err != nil {
		return slots, veths, err
	}
	defer h.Close()
	brIndex := -1
	if br, err := h.LinkByName(n.cfg.Bridge); err == nil {
		brIndex = br.Attrs().Index
	}
	var errs []error
	for _, sp := range spares {
		if claimed[sp.ID] {
			// Its sandbox's record holds the slot: only the spare's record
			// is left over.
			if err := n.removeSpareRecord(sp.ID); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		why := n.checkSpare(h, brIndex, allocs, sp)
		if why == nil && len(n.spares) < keep {
			n.spares = append(n.spares, sp)
			slots[sp.ID], veths[sp.HostVeth] = true, true
			continue
		}
		if why == nil {
			why = errors.New("more spares than wanted")
		}
		n.log.Info("removing a spare sandbox", "spare", sp.ID, "reason", why)
		if err := n.removeSpare(sp); err != nil {
			errs = append(errs, err)
			slots[sp.ID], veths[sp.HostVeth] = true, true // for the next attempt
		}
	}
	return slots, veths, errors.Join(errs...)
}

// Spares returns the number of spare sandboxes ready to be taken.
func (n *Network) Spares() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.spares)
}
