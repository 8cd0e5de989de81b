package gossip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
)

// Entry is one key of the ledger with the write that set it.
type Entry struct {
	Key     string
	Value   []byte // nil for a deleted key
	Term    Term   // term of the leader that wrote it
	Seq     uint64 // the ledger clock at the write; see Compare
	Deleted bool   // a tombstone: the key was deleted
}

// Compare orders two writes of the same key; a merge keeps the greater.
// The order is, field by field:
//
//  1. Seq, higher wins. Seq is a Lamport clock over the whole ledger: every
//     node keeps the highest Seq it has seen in any entry (written, received
//     or loaded from its file), and a leader writes with that plus one. So a
//     leader's write always wins over every write it has already seen,
//     whichever term made it.
//  2. Term, by Term.Compare (leader start time, then name): breaks ties
//     between writes made concurrently by two leaders (a partition) that
//     happened to reach the same Seq.
//  3. Deleted wins over a value, then the greater Value bytes: only reached
//     by two different writes with the same term and Seq, which a correct
//     leader never makes; it keeps the order total, so merging converges
//     whatever the order of arrival.
//
// Terms are not compared first on purpose: after a partition heals, the
// member that started first leads again, and its term is older than the term
// the other side used meanwhile; ordering by term would make every key that
// side wrote unwritable by the leader.
func (e Entry) Compare(o Entry) int {
	switch {
	case e.Seq != o.Seq:
		if e.Seq < o.Seq {
			return -1
		}
		return 1
	case e.Term != o.Term:
		return e.Term.Compare(o.Term)
	case e.Deleted != o.Deleted:
		if e.Deleted {
			return 1
		}
		return -1
	}
	return bytes.Compare(e.Value, o.Value)
}

func (e Entry) clone() Entry {
	if e.Value != nil {
		e.Value = bytes.Clone(e.Value)
	}
	return e
}

// Limits on ledger entries. The ledger is for small records (allocations,
// bindings, timestamps), held in full by every node.
const (
	MaxKeySize   = 1 << 10
	MaxValueSize = 64 << 10
)

var (
	// ErrNotLeader is returned by Put and Delete when the term given is not
	// this node's current term as leader.
	ErrNotLeader = errors.New("gossip: not the leader for this term")
	// ErrEntry is returned for a key or value the ledger does not accept.
	ErrEntry = errors.New("gossip: bad ledger entry")
	// ErrClosed is returned after the cluster has been shut down.
	ErrClosed = errors.New("gossip: cluster is shut down")
)

// Ledger is a small replicated key-value map that every node holds in full.
// Only the leader writes, and only under its current term; every node merges
// what it receives (broadcasts, push/pull state exchanges) by Entry.Compare,
// so all nodes that have seen the same writes hold the same map, whatever
// the order they saw them in. Deletions are kept as tombstones.
//
// The ledger accepts entries of any term when merging: an entry is history,
// and refusing old terms would stop a healed cluster or a late joiner from
// converging. The term check of the design ("ignore a term that is not the
// leader in your view") guards writes here, and commands elsewhere.
//
// All methods are safe for concurrent use. Reads return copies.
type Ledger struct {
	log *slog.Logger
	// currentTerm returns this node's term if it leads in its own view,
	// else "".
	currentTerm func() Term
	// spread sends entries this node wrote or newly learned to the others.
	spread func([]Entry)
	store  *ledgerFile // nil: not persisted

	mu       sync.Mutex
	entries  map[string]Entry
	clock    uint64
	watchers map[*ledgerWatch]struct{}
	closed   bool
}

type ledgerWatch struct {
	prefix string
	ch     chan struct{}
}

func newLedger(log *slog.Logger, store *ledgerFile, currentTerm func() Term, spread func([]Entry)) (*Ledger, error) {
	l := &Ledger{
		log:         log,
		currentTerm: currentTerm,
		spread:      spread,
		entries:     map[string]Entry{},
		watchers:    map[*ledgerWatch]struct{}{},
	}
	if store != nil {
		entries, err := store.load()
		if err != nil {
			return nil, err
		}
		l.merge(entries) // before l.store is set: nothing to save
		l.store = store
		store.start(l.Snapshot)
	}
	return l, nil
}

// Put sets key to value under term. It fails with ErrNotLeader unless term
// is this node's current term as leader. The write is applied locally,
// saved to the ledger file (the error says if that failed; the write stays
// applied), and spread to the other members in the background; it does not
// wait for them.
//
// Leadership can be lost between the check and the write: that is the
// available-not-consistent design; the merge order settles any conflict.
func (l *Ledger) Put(term Term, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return l.write(term, Entry{Key: key, Value: bytes.Clone(value)})
}

// Delete removes key under term, leaving a tombstone that spreads like a
// value. Deleting a key that does not exist is not an error. It has the
// same contract as Put.
func (l *Ledger) Delete(term Term, key string) error {
	return l.write(term, Entry{Key: key, Deleted: true})
}

// Batch is a set of writes applied together by Ledger.Apply.
type Batch struct {
	// Put sets keys to values; Delete removes keys (a key in both is
	// deleted).
	Put    map[string][]byte
	Delete []string
}

// Apply writes a batch under term with the contract of Put, but saves the
// ledger file once for all of it: a leader that records hundreds of
// placements for one commit pays one save, not hundreds. Entries get
// sequence numbers in key order. Nothing is written if any entry is
// invalid.
func (l *Ledger) Apply(term Term, b Batch) error {
	var es []Entry
	for k, v := range b.Put {
		if v == nil {
			v = []byte{}
		}
		es = append(es, Entry{Key: k, Value: bytes.Clone(v)})
	}
	deleted := map[string]bool{}
	for _, k := range b.Delete {
		deleted[k] = true
	}
	out := es[:0]
	for _, e := range es {
		if !deleted[e.Key] {
			out = append(out, e)
		}
	}
	es = out
	for k := range deleted {
		es = append(es, Entry{Key: k, Deleted: true})
	}
	if len(es) == 0 {
		return nil
	}
	sortEntries(es)
	return l.write(term, es...)
}

func (l *Ledger) write(term Term, es ...Entry) error {
	for _, e := range es {
		if err := checkEntry(e); err != nil {
			return err
		}
	}
	current := l.currentTerm()
	if term == "" || term != current {
		if current == "" {
			return fmt.Errorf("%w: %q: this node does not lead", ErrNotLeader, term)
		}
		return fmt.Errorf("%w: %q: the current term is %q", ErrNotLeader, term, current)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	spread := make([]Entry, len(es))
	for i := range es {
		l.clock++
		es[i].Term, es[i].Seq = term, l.clock
		l.entries[es[i].Key] = es[i]
		spread[i] = es[i].clone()
	}
	l.notifyLocked(es)
	l.mu.Unlock()

	l.spread(spread)
	if l.store != nil {
		if err := l.store.save(l.Snapshot()); err != nil {
			return err
		}
	}
	return nil
}

func checkEntry(e Entry) error {
	switch {
	case e.Key == "":
		return fmt.Errorf("%w: empty key", ErrEntry)
	case len(e.Key) > MaxKeySize:
		return fmt.Errorf("%w: key %.40q... longer than %d bytes", ErrEntry, e.Key, MaxKeySize)
	case len(e.Value) > MaxValueSize:
		return fmt.Errorf("%w: %q: value of %d bytes, the limit is %d", ErrEntry, e.Key, len(e.Value), MaxValueSize)
	case e.Deleted && len(e.Value) > 0:
		return fmt.Errorf("%w: %q: deleted entry with a value", ErrEntry, e.Key)
	}
	return nil
}

// merge applies the entries that are newer than what the ledger holds and
// returns those (owned by the ledger: do not modify). Invalid entries are
// dropped with a log line.
func (l *Ledger) merge(in []Entry) []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	var applied []Entry
	for _, e := range in {
		if err := checkEntry(e); err != nil {
			l.log.Warn("dropping ledger entry", "key", e.Key, "term", e.Term, "err", err)
			continue
		}
		l.clock = max(l.clock, e.Seq)
		if old, ok := l.entries[e.Key]; ok && e.Compare(old) <= 0 {
			continue
		}
		l.entries[e.Key] = e
		applied = append(applied, e)
	}
	if len(applied) > 0 {
		l.notifyLocked(applied)
		if l.store != nil {
			l.store.dirty()
		}
	}
	return applied
}

// receive merges entries from another member and spreads on those that were
// news here.
func (l *Ledger) receive(in []Entry) {
	if applied := l.merge(in); len(applied) > 0 {
		l.spread(applied)
	}
}

// Get returns the entry of key, and false if the key is not set or deleted.
func (l *Ledger) Get(key string) (Entry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[key]
	if !ok || e.Deleted {
		return Entry{}, false
	}
	return e.clone(), true
}

// List returns the entries (not tombstones) whose key starts with prefix,
// sorted by key.
func (l *Ledger) List(prefix string) []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Entry
	for k, e := range l.entries {
		if !e.Deleted && strings.HasPrefix(k, prefix) {
			out = append(out, e.clone())
		}
	}
	sortEntries(out)
	return out
}

// Snapshot returns every entry, tombstones included, sorted by key: the
// whole state that nodes compare and exchange.
func (l *Ledger) Snapshot() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Entry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e.clone())
	}
	sortEntries(out)
	return out
}

// Clock returns the highest Seq this ledger has seen.
func (l *Ledger) Clock() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.clock
}

func sortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].Key < es[j].Key })
}

// Watch returns a channel that receives a signal after entries whose key
// starts with prefix change (written, merged, deleted). Signals coalesce:
// a slow reader gets one signal for many changes and should read the
// current state with List or Get (level-based). The channel is closed when
// ctx is done or the cluster shuts down. Watch never blocks the ledger.
func (l *Ledger) Watch(ctx context.Context, prefix string) <-chan struct{} {
	w := &ledgerWatch{prefix: prefix, ch: make(chan struct{}, 1)}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		close(w.ch)
		return w.ch
	}
	l.watchers[w] = struct{}{}
	l.mu.Unlock()
	context.AfterFunc(ctx, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.watchers[w]; ok {
			delete(l.watchers, w)
			close(w.ch)
		}
	})
	return w.ch
}

func (l *Ledger) notifyLocked(changed []Entry) {
	for w := range l.watchers {
		for _, e := range changed {
			if strings.HasPrefix(e.Key, w.prefix) {
				select {
				case w.ch <- struct{}{}:
				default:
				}
				break
			}
		}
	}
}

// close stops the ledger: watchers are closed, the file gets its last save,
// and later writes fail with ErrClosed.
func (l *Ledger) close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	for w := range l.watchers {
		close(w.ch)
	}
	clear(l.watchers)
	l.mu.Unlock()
	if l.store != nil {
		return l.store.stop()
	}
	return nil
}
