package gossip

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/shoal-run/shoal/gossip/internal/atomicfile"
)

// ledgerFile keeps the ledger in a JSON file, replaced atomically (write a
// temporary file, fsync, rename, fsync the folder) so that a crash leaves
// either the old or the new ledger, never a torn one.
//
// Writes by the leader save synchronously (Put returns after the save);
// merges mark the file dirty and a background goroutine saves, coalescing
// bursts, so that memberlist's receive paths never wait for the disk.
type ledgerFile struct {
	path string
	log  *slog.Logger

	mu sync.Mutex // serialises saves

	kick     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	snapshot func() []Entry
	started  bool
}

type ledgerFileJSON struct {
	Version int         `json:"version"`
	Entries []entryJSON `json:"entries"`
}

type entryJSON struct {
	Key     string `json:"key"`
	Value   []byte `json:"value,omitempty"`
	Term    Term   `json:"term"`
	Seq     uint64 `json:"seq"`
	Deleted bool   `json:"deleted,omitempty"`
}

func newLedgerFile(path string, log *slog.Logger) *ledgerFile {
	return &ledgerFile{
		path: path,
		log:  log,
		kick: make(chan struct{}, 1),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
}

// load reads the saved entries; a missing file is an empty ledger.
func (f *ledgerFile) load() ([]Entry, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gossip: read ledger file: %w", err)
	}
	var doc ledgerFileJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("gossip: ledger file %s: %w", f.path, err)
	}
	if doc.Version != 1 {
		return nil, fmt.Errorf("gossip: ledger file %s: unknown version %d", f.path, doc.Version)
	}
	out := make([]Entry, 0, len(doc.Entries))
	for _, e := range doc.Entries {
		if !e.Deleted && e.Value == nil {
			e.Value = []byte{}
		}
		out = append(out, Entry{Key: e.Key, Value: e.Value, Term: e.Term, Seq: e.Seq, Deleted: e.Deleted})
	}
	return out, nil
}

func (f *ledgerFile) save(entries []Entry) error {
	doc := ledgerFileJSON{Version: 1, Entries: make([]entryJSON, 0, len(entries))}
	for _, e := range entries {
		doc.Entries = append(doc.Entries, entryJSON{Key: e.Key, Value: e.Value, Term: e.Term, Seq: e.Seq, Deleted: e.Deleted})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("gossip: encode ledger: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := atomicfile.Write(f.path, b); err != nil {
		return fmt.Errorf("gossip: save ledger: %w", err)
	}
	return nil
}

// start runs the background saver, which saves snapshot() after dirty.
func (f *ledgerFile) start(snapshot func() []Entry) {
	f.snapshot = snapshot
	f.started = true
	go func() {
		defer close(f.done)
		for {
			select {
			case <-f.kick:
				if err := f.save(snapshot()); err != nil {
					f.log.Error("saving ledger", "file", f.path, "err", err)
				}
			case <-f.quit:
				return
			}
		}
	}()
}

// dirty asks the saver for a save; it never blocks.
func (f *ledgerFile) dirty() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// stop ends the saver and makes a last save.
func (f *ledgerFile) stop() error {
	if !f.started {
		return nil
	}
	close(f.quit)
	<-f.done
	return f.save(f.snapshot())
}
