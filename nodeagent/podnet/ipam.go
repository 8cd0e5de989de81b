package podnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
)

// ipam hands out pod addresses from one pod CIDR and persists every change in
// one JSON file (rewritten atomically), so that a restarted agent reads back
// exactly which addresses are in use. Each call reads the file afresh: the
// file is the only state. Its methods are safe for concurrent use (the
// spare refill allocates without holding Network's lock).
//
// Usable addresses are the CIDR minus the network address, the gateway (the
// first address) and the broadcast address. Allocation goes round the range
// from the last address handed out, so a released address is reused last.
type ipam struct {
	path string
	cidr netip.Prefix
	mu   sync.Mutex // serializes the read-modify-write of the file
}

// ipamState is the on-disk form of the allocations.
type ipamState struct {
	PodCIDR     netip.Prefix          `json:"podCIDR"`
	Last        netip.Addr            `json:"last,omitzero"`
	Allocations map[netip.Addr]string `json:"allocations"` // pod IP → sandbox ID
}

func newIPAM(path string, cidr netip.Prefix) *ipam {
	return &ipam{path: path, cidr: cidr}
}

// load reads the allocation file; a missing file is an empty allocation. A
// file written for another pod CIDR is an error while it still holds
// allocations (those pods must go first) and is reset otherwise.
func (a *ipam) load() (*ipamState, error) {
	st := &ipamState{PodCIDR: a.cidr, Allocations: map[netip.Addr]string{}}
	data, err := os.ReadFile(a.path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read IP allocations: %w", err)
	}
	var disk ipamState
	if err := json.Unmarshal(data, &disk); err != nil {
		return nil, fmt.Errorf("read IP allocations %s: %w", a.path, err)
	}
	if disk.PodCIDR != a.cidr {
		if len(disk.Allocations) > 0 {
			return nil, fmt.Errorf("IP allocations in %s are for pod CIDR %s, not %s: remove its %d sandboxes first",
				a.path, disk.PodCIDR, a.cidr, len(disk.Allocations))
		}
		return st, nil
	}
	if disk.Allocations != nil {
		st.Allocations = disk.Allocations
	}
	st.Last = disk.Last
	return st, nil
}

func (a *ipam) save(st *ipamState) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode IP allocations: %w", err)
	}
	if err := writeFileAtomic(a.path, data, 0o644); err != nil {
		return fmt.Errorf("write IP allocations: %w", err)
	}
	return nil
}

// bounds returns the first and last usable pod address.
func (a *ipam) bounds() (first, last netip.Addr) {
	first = a.cidr.Addr().Next().Next() // skip the network address and the gateway
	last = lastAddr(a.cidr).Prev()      // skip the broadcast address
	return first, last
}

// allocate returns id's address, allocating and persisting a free one when
// id has none yet. When the range is full the error wraps ErrNoAddress and
// names the CIDR.
func (a *ipam) allocate(id string) (netip.Addr, error) {
	return a.allocateKeeping(id, 0)
}

// allocateKeeping is allocate that fails with ErrNoAddress unless keep
// addresses stay free after it.
func (a *ipam) allocateKeeping(id string, keep int) (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, err := a.load()
	if err != nil {
		return netip.Addr{}, err
	}
	for ip, owner := range st.Allocations {
		if owner == id {
			return ip, nil
		}
	}
	first, last := a.bounds()
	if keep > 0 {
		size := 1<<(32-a.cidr.Bits()) - 3 // less the network, gateway and broadcast addresses
		if size-len(st.Allocations) <= keep {
			return netip.Addr{}, fmt.Errorf("%w: pod CIDR %s has %d free addresses, %d must stay free", ErrNoAddress, a.cidr, size-len(st.Allocations), keep)
		}
	}
	start := first
	if st.Last.IsValid() && st.Last.Compare(first) >= 0 && st.Last.Compare(last) < 0 {
		start = st.Last.Next()
	}
	ip := start
	for {
		if _, used := st.Allocations[ip]; !used {
			break
		}
		ip = ip.Next()
		if ip.Compare(last) > 0 {
			ip = first
		}
		if ip == start {
			return netip.Addr{}, fmt.Errorf("%w: pod CIDR %s is full (%d of its addresses in use)", ErrNoAddress, a.cidr, len(st.Allocations))
		}
	}
	st.Allocations[ip] = id
	st.Last = ip
	if err := a.save(st); err != nil {
		return netip.Addr{}, err
	}
	return ip, nil
}

// release frees every address held by id; releasing nothing is not an error.
func (a *ipam) release(id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, err := a.load()
	if err != nil {
		return err
	}
	changed := false
	for ip, owner := range st.Allocations {
		if owner == id {
			delete(st.Allocations, ip)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return a.save(st)
}

// allocations returns a copy of the current allocations (pod IP → sandbox ID).
func (a *ipam) allocations() (map[netip.Addr]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, err := a.load()
	if err != nil {
		return nil, err
	}
	return st.Allocations, nil
}

// lastAddr is the highest address of an IPv4 prefix (its broadcast address).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	hostBits := 32 - p.Bits()
	for i := 3; i >= 0 && hostBits > 0; i-- {
		n := min(hostBits, 8)
		b[i] |= byte(1<<n - 1)
		hostBits -= n
	}
	return netip.AddrFrom4(b)
}
