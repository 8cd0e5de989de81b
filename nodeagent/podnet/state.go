package podnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// On-disk layout under Config.StateDir:
//
//	ipam.json                pod IP allocations (ipam), by slot
//	sandboxes/<id>.json      one record per sandbox, written last by CreateSandbox
//	spares/<slot>.json       one record per spare sandbox, written last by the refill
//	ns/                      private bind mount holding the namespace files
//	ns/<slot>/{net,ipc,uts}  the sandbox's bind-mounted namespaces
//
// A slot names what a sandbox holds on the node: its namespace folder, its
// host veth (hostVethName of the slot) and its address in ipam.json. A
// sandbox made by CreateSandbox's own steps has its ID as slot; one taken
// from the spares keeps the spare's slot, "_spare-<hex>", which can never be
// a sandbox ID (IDs start with a letter or digit). A record is the commit
// point of a sandbox or a spare: whatever exists for a slot that no record
// names is the leftover of an interrupted CreateSandbox or refill and is
// removed by the next Setup.
const (
	ipamFile   = "ipam.json"
	recordsDir = "sandboxes"
	sparesDir  = "spares"
	nsDir      = "ns"
)

// record is what a sandbox persists; Sandbox is built from it.
type record struct {
	ID          string     `json:"id"`
	Hostname    string     `json:"hostname,omitempty"`
	HostNetwork bool       `json:"hostNetwork,omitempty"`
	HostIPC     bool       `json:"hostIPC,omitempty"`
	NetNS       string     `json:"netns,omitempty"`
	IPCNS       string     `json:"ipcns,omitempty"`
	UTSNS       string     `json:"utsns,omitempty"`
	IP          netip.Addr `json:"ip,omitzero"`
	Gateway     netip.Addr `json:"gateway,omitzero"`
	HostVeth    string     `json:"hostVeth,omitempty"`
	HostPorts   []HostPort `json:"hostPorts,omitempty"`
	// Slot is set when the sandbox was a spare: the spare's name, which its
	// namespace folder, veth and address are held under. Empty means ID.
	Slot string `json:"slot,omitempty"`
}

// slot is the name the record's namespace folder and address are held under.
func (r *record) slot() string {
	if r.Slot != "" {
		return r.Slot
	}
	return r.ID
}

func (r *record) sandbox() *Sandbox {
	return &Sandbox{
		ID:        r.ID,
		Hostname:  r.Hostname,
		NetNS:     r.NetNS,
		IPCNS:     r.IPCNS,
		UTSNS:     r.UTSNS,
		IP:        r.IP,
		Gateway:   r.Gateway,
		HostPorts: append([]HostPort(nil), r.HostPorts...),
	}
}

// nsFiles lists the namespace files the record owns.
func (r *record) nsFiles() []string {
	var out []string
	for _, p := range []string{r.NetNS, r.IPCNS, r.UTSNS} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (n *Network) recordPath(id string) string {
	return filepath.Join(n.cfg.StateDir, recordsDir, id+".json")
}

func (n *Network) spareRecordPath(slot string) string {
	return filepath.Join(n.cfg.StateDir, sparesDir, slot+".json")
}

func (n *Network) nsPath(id string) string {
	return filepath.Join(n.cfg.StateDir, nsDir, id)
}

// readRecord returns the record of id, or an error wrapping ErrNotFound.
func (n *Network) readRecord(id string) (*record, error) {
	return readRecordFile(n.recordPath(id), id)
}

// readRecordFile reads the record at p, which must name id.
func readRecordFile(p, id string) (*record, error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("sandbox %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read sandbox record: %w", err)
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("read sandbox record %s: %w", p, err)
	}
	if r.ID != id {
		return nil, fmt.Errorf("sandbox record %s names sandbox %q", p, r.ID)
	}
	return &r, nil
}

// readRecords returns every record, sorted by ID.
func (n *Network) readRecords() ([]*record, error) {
	return readRecordDir(filepath.Join(n.cfg.StateDir, recordsDir), validateID)
}

// readSpares returns every spare's record, sorted by slot.
func (n *Network) readSpares() ([]*record, error) {
	return readRecordDir(filepath.Join(n.cfg.StateDir, sparesDir), validateSpareSlot)
}

// readRecordDir reads the records in dir whose names pass valid.
func readRecordDir(dir string, valid func(string) error) ([]*record, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list sandbox records: %w", err)
	}
	var out []*record
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || valid(id) != nil {
			continue // temporary files of writeFileAtomic, strangers
		}
		r, err := readRecordFile(filepath.Join(dir, e.Name()), id)
		if errors.Is(err, ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (n *Network) writeRecord(r *record) error {
	return writeRecordFile(n.recordPath(r.ID), r)
}

func (n *Network) writeSpareRecord(r *record) error {
	return writeRecordFile(n.spareRecordPath(r.ID), r)
}

func writeRecordFile(p string, r *record) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode sandbox record %q: %w", r.ID, err)
	}
	if err := writeFileAtomic(p, data, 0o644); err != nil {
		return fmt.Errorf("write sandbox record: %w", err)
	}
	return nil
}

func (n *Network) removeRecord(id string) error {
	return removeFile(n.recordPath(id))
}

func (n *Network) removeSpareRecord(slot string) error {
	return removeFile(n.spareRecordPath(slot))
}

func removeFile(p string) error {
	err := os.Remove(p)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove sandbox record: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a reader (or a crash) sees
// either the old or the new content, never a mix: write a temporary file in
// the same folder, fsync it, rename it over path, fsync the folder.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
