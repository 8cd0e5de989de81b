package gossip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// testLedger is a ledger outside any cluster: term is what it leads under
// ("" = not leading), and spread collects what it would send.
type testLedger struct {
	*Ledger
	term Term
	sent []Entry
}

func newTestLedger(t *testing.T, term Term, file string) *testLedger {
	t.Helper()
	tl := &testLedger{term: term}
	var store *ledgerFile
	if file != "" {
		store = newLedgerFile(file, testLogger())
	}
	l, err := newLedger(testLogger(), store, func() Term { return tl.term }, func(es []Entry) { tl.sent = append(tl.sent, es...) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.close() })
	tl.Ledger = l
	return tl
}

func TestEntryCompare(t *testing.T) {
	e := func(term Term, seq uint64, value string, deleted bool) Entry {
		var v []byte
		if !deleted {
			v = []byte(value)
		}
		return Entry{Key: "k", Value: v, Term: term, Seq: seq, Deleted: deleted}
	}
	tests := []struct {
		name     string
		newer    Entry
		older    Entry
		equalToo bool
	}{
		{"higher seq wins", e("a@1", 5, "x", false), e("a@1", 4, "y", false), false},
		{"higher seq wins over a newer term", e("a@1", 5, "x", false), e("b@9", 4, "y", false), false},
		{"same seq: later-started leader wins", e("b@9", 4, "x", false), e("a@1", 4, "y", false), false},
		{"same seq and start: name breaks the tie", e("b@1", 4, "x", false), e("a@1", 4, "y", false), false},
		{"same write: tombstone wins", e("a@1", 4, "", true), e("a@1", 4, "y", false), false},
		{"same write: greater value wins", e("a@1", 4, "y", false), e("a@1", 4, "x", false), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.newer.Compare(tt.older); got != 1 {
				t.Errorf("newer.Compare(older) = %d", got)
			}
			if got := tt.older.Compare(tt.newer); got != -1 {
				t.Errorf("older.Compare(newer) = %d", got)
			}
			if got := tt.newer.Compare(tt.newer); got != 0 {
				t.Errorf("Compare with itself = %d", got)
			}
		})
	}
}

func TestLedgerWriteNeedsCurrentTerm(t *testing.T) {
	l := newTestLedger(t, "", "")
	if err := l.Put("a@1", "k", []byte("v")); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Put while not leading: %v, want ErrNotLeader", err)
	}
	l.term = "a@1"
	if err := l.Put("a@0", "k", []byte("v")); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Put with a stale term: %v, want ErrNotLeader", err)
	}
	if err := l.Put("a@1", "", []byte("v")); !errors.Is(err, ErrEntry) {
		t.Fatalf("Put with an empty key: %v, want ErrEntry", err)
	}
	if err := l.Put("a@1", "k", make([]byte, MaxValueSize+1)); !errors.Is(err, ErrEntry) {
		t.Fatalf("Put of a too large value: %v, want ErrEntry", err)
	}
	if err := l.Put("a@1", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := l.Delete("a@1", "k"); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Get("k"); ok {
		t.Error("deleted key still readable")
	}
	want := []Entry{
		{Key: "k", Value: []byte("v"), Term: "a@1", Seq: 1},
		{Key: "k", Term: "a@1", Seq: 2, Deleted: true},
	}
	if !reflect.DeepEqual(l.sent, want) {
		t.Errorf("spread %+v, want %+v", l.sent, want)
	}
}

func TestLedgerReadsAreCopies(t *testing.T) {
	l := newTestLedger(t, "a@1", "")
	v := []byte("abc")
	l.Put("a@1", "p/1", v)
	l.Put("a@1", "p/2", nil)
	l.Put("a@1", "q/1", []byte("q"))
	v[0] = 'X'
	e, _ := l.Get("p/1")
	e.Value[1] = 'Y'
	if e, _ := l.Get("p/1"); string(e.Value) != "abc" {
		t.Errorf("stored value changed through a caller's slice: %q", e.Value)
	}
	var keys []string
	for _, e := range l.List("p/") {
		keys = append(keys, e.Key)
	}
	if !reflect.DeepEqual(keys, []string{"p/1", "p/2"}) {
		t.Errorf("List(p/) = %v", keys)
	}
}

// TestLedgerMergeConverges merges the same writes, made by two leaders of a
// partitioned cluster, into ledgers in random orders and duplicates: all
// must end with the same map, the one the order defines.
func TestLedgerMergeConverges(t *testing.T) {
	// Side A (the leader that started first) wrote k1 twice and k2; side B
	// (elected during the partition) wrote k2 and k3, and its Seq ran ahead.
	a := newTestLedger(t, "a@100", "")
	a.Put("a@100", "k1", []byte("a1"))
	a.Put("a@100", "k2", []byte("a2"))
	a.Put("a@100", "k1", []byte("a1'"))
	b := newTestLedger(t, "b@200", "")
	b.Put("b@200", "k3", []byte("b3"))
	b.Put("b@200", "k2", []byte("b2"))
	b.Put("b@200", "k3", []byte("b3'"))
	// Same Seq (2) on both sides for k2, and (4) for k4: the later-started
	// term wins.
	a.Put("a@100", "k4", []byte("a4"))
	b.Put("b@200", "k4", []byte("b4"))
	b.Delete("b@200", "k1") // Seq 5 beats A's Seq 3

	all := append(a.Snapshot(), b.Snapshot()...)
	want := map[string]string{"k1": "<deleted>", "k2": "b2", "k3": "b3'", "k4": "b4"}

	var first []Entry
	for i := range 20 {
		in := append([]Entry(nil), all...)
		in = append(in, all[rand.IntN(len(all))])
		rand.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
		l := newTestLedger(t, "", "")
		for _, e := range in {
			l.merge([]Entry{e})
		}
		got := l.Snapshot()
		if i == 0 {
			first = got
			for _, e := range got {
				v := string(e.Value)
				if e.Deleted {
					v = "<deleted>"
				}
				if want[e.Key] != v {
					t.Errorf("%s = %q, want %q", e.Key, v, want[e.Key])
				}
			}
		} else if !reflect.DeepEqual(got, first) {
			t.Fatalf("merge order %d gave %+v, first gave %+v", i, got, first)
		}
		if l.Clock() != 5 {
			t.Errorf("clock %d after merging, want the highest Seq 5", l.Clock())
		}
	}

	// After the heal the first-started member leads again, under its older
	// term; its next write still wins, because it follows the clock.
	a.merge(b.Snapshot())
	a.sent = nil
	if err := a.Put("a@100", "k2", []byte("healed")); err != nil {
		t.Fatal(err)
	}
	b.merge(a.sent)
	if e, _ := b.Get("k2"); string(e.Value) != "healed" {
		t.Errorf("after the heal, the leader's write lost: k2 = %q", e.Value)
	}
}

func TestLedgerCodec(t *testing.T) {
	in := []Entry{
		{Key: "a", Value: []byte("1"), Term: "n@1", Seq: 1},
		{Key: "b", Value: []byte{}, Term: "n@1", Seq: 2},
		{Key: "c", Term: "m@2", Seq: 1 << 60, Deleted: true},
	}
	b := encodeEntries(in)
	out, err := decodeEntries(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Fatalf("round trip %+v, want %+v", out, in)
	}
	if out, err := decodeEntries(encodeEntries(nil)); err != nil || len(out) != 0 {
		t.Fatalf("empty: %v, %v", out, err)
	}
	for i := range len(b) {
		if _, err := decodeEntries(b[:i]); err == nil {
			t.Errorf("decoding the first %d bytes succeeded", i)
		}
	}
	if _, err := decodeEntries(append(bytes.Clone(b), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	if _, err := decodeEntries([]byte{9, 0}); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestLedgerFileRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.json")
	l := newTestLedger(t, "a@1", path)
	l.Put("a@1", "k1", []byte("v1"))
	l.Put("a@1", "k2", []byte{})
	l.Delete("a@1", "k1")
	l.merge([]Entry{{Key: "k3", Value: []byte("from b"), Term: "b@2", Seq: 7}}) // saved in the background
	want := l.Snapshot()
	if err := l.close(); err != nil {
		t.Fatal(err)
	}

	again := newTestLedger(t, "a@3", path)
	if got := again.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Fatalf("reloaded %+v, want %+v", got, want)
	}
	if again.Clock() != 7 {
		t.Errorf("clock %d after reload, want 7", again.Clock())
	}
	again.Put("a@3", "k1", []byte("new"))
	if e, _ := again.Get("k1"); e.Seq != 8 {
		t.Errorf("first write after restart has Seq %d, want 8", e.Seq)
	}
	again.close()
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".ledger*")); len(matches) != 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

func TestLedgerWatch(t *testing.T) {
	l := newTestLedger(t, "a@1", "")
	ctx, cancel := context.WithCancel(context.Background())
	ch := l.Watch(ctx, "ip/")
	l.Put("a@1", "other", []byte("x"))
	select {
	case <-ch:
		t.Fatal("signal for a key outside the prefix")
	default:
	}
	for i := range 3 { // coalesced into one signal
		l.Put("a@1", fmt.Sprintf("ip/%d", i), []byte("x"))
	}
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("no signal after a write")
	}
	l.merge([]Entry{{Key: "ip/9", Value: []byte("y"), Term: "b@2", Seq: 99}})
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("no signal after a merge")
	}
	cancel()
	waitFor(t, time.Second, "channel closed", func() bool {
		select {
		case _, ok := <-ch:
			return !ok
		default:
			return false
		}
	})
}

func TestLedgerApplyBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.json")
	l := newTestLedger(t, "a@1", path)
	l.Put("a@1", "old", []byte("x"))
	if err := l.Apply("a@0", Batch{Put: map[string][]byte{"k": nil}}); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Apply with a stale term: %v", err)
	}
	if err := l.Apply("a@1", Batch{Put: map[string][]byte{"ok": {1}, "": {2}}}); !errors.Is(err, ErrEntry) {
		t.Fatalf("Apply with a bad entry: %v", err)
	}
	if _, ok := l.Get("ok"); ok {
		t.Fatal("a batch with a bad entry was partly written")
	}
	sentBefore := len(l.sent)
	err := l.Apply("a@1", Batch{
		Put:    map[string][]byte{"b": []byte("2"), "a": []byte("1"), "both": []byte("x")},
		Delete: []string{"old", "both"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := l.Snapshot()
	want := []Entry{
		{Key: "a", Value: []byte("1"), Term: "a@1", Seq: 2},
		{Key: "b", Value: []byte("2"), Term: "a@1", Seq: 3},
		{Key: "both", Term: "a@1", Seq: 4, Deleted: true},
		{Key: "old", Term: "a@1", Seq: 5, Deleted: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after the batch %+v, want %+v", got, want)
	}
	if len(l.sent)-sentBefore != 4 {
		t.Errorf("spread %d entries, want 4", len(l.sent)-sentBefore)
	}
	if err := l.Apply("a@1", Batch{}); err != nil {
		t.Fatal(err)
	}
	l.close()
	again := newTestLedger(t, "a@2", path)
	if !reflect.DeepEqual(again.Snapshot(), want) {
		t.Fatalf("reloaded %+v", again.Snapshot())
	}
}
