package gossip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestMembersSeeEachOther(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	cs := startCluster(t, base, "n1", "n2", "n3", "n4")
	for _, c := range cs {
		ms := c.Members()
		if len(ms) != 4 {
			t.Fatalf("%s sees %d members", c.Name(), len(ms))
		}
		for i, m := range ms {
			want := cs[i].LocalMember()
			if m != want {
				t.Errorf("%s sees %+v, %s announces %+v", c.Name(), m, want.Name, want)
			}
			if m.State != StateAlive || !m.Eligible || m.APIAddr != "127.0.0.1:1"+m.Name ||
				!m.StartTime.Equal(base.Add(time.Duration(i)*time.Millisecond)) || !m.Addr.IsValid() {
				t.Errorf("%s sees %+v", c.Name(), m)
			}
		}
	}
}

func TestWrongKeyRefused(t *testing.T) {
	cs := startCluster(t, time.Now(), "n1", "n2")

	cfg := testConfig("intruder", time.Now())
	cfg.ClusterKey = bytes.Repeat([]byte{9}, 32)
	cfg.Join = []string{addr(cs[0])}
	c, err := New(cfg)
	if err == nil {
		c.Shutdown()
		t.Fatal("a member with the wrong key joined")
	}
	if !errors.Is(err, ErrJoin) || !strings.Contains(err.Error(), "key") {
		t.Errorf("error %q: want ErrJoin saying the key may be wrong", err)
	}

	// Joining later, through Join, fails the same way.
	cfg.Join = nil
	intruder := startNode(t, cfg)
	if _, err := intruder.Join(addr(cs[1])); !errors.Is(err, ErrJoin) {
		t.Errorf("Join with the wrong key: %v, want ErrJoin", err)
	}

	// A member with the right key that joins afterwards is seen; by then a
	// leaked intruder would have been seen too.
	good := testConfig("n3", time.Now())
	good.Join = []string{addr(cs[0])}
	startNode(t, good)
	waitFor(t, 10*time.Second, "n3 seen by all", func() bool {
		return cs[0].NumLive() == 3 && cs[1].NumLive() == 3
	})
	for _, c := range cs {
		for _, m := range c.Members() {
			if m.Name == "intruder" {
				t.Errorf("%s lists the intruder: %+v", c.Name(), m)
			}
		}
	}
	if n := intruder.NumLive(); n != 1 {
		t.Errorf("the intruder sees %d members", n)
	}
}

// leaderRun records one WhileLeader call.
type leaderRun struct {
	term      Term
	cancelled chan struct{}
}

// runWhileLeader runs WhileLeader on c and reports each fn call on runs.
func runWhileLeader(t *testing.T, c *Cluster) <-chan leaderRun {
	runs := make(chan leaderRun, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.WhileLeader(ctx, func(ctx context.Context, term Term) {
			r := leaderRun{term: term, cancelled: make(chan struct{})}
			runs <- r
			<-ctx.Done()
			close(r.cancelled)
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return runs
}

func nextRun(t *testing.T, runs <-chan leaderRun, what string) leaderRun {
	t.Helper()
	select {
	case r := <-runs:
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return leaderRun{}
	}
}

func waitCancelled(t *testing.T, r leaderRun, timeout time.Duration) {
	t.Helper()
	select {
	case <-r.cancelled:
	case <-time.After(timeout):
		t.Fatalf("the context of term %s was not cancelled", r.term)
	}
}

func testFailover(t *testing.T, wantState State, stop func(*Cluster)) {
	base := time.Unix(1_700_000_000, 0)
	cs := startCluster(t, base, "n1", "n2", "n3")
	waitFor(t, 5*time.Second, "all agree on n1", func() bool { return agreeOn(cs, "n1") })
	runs1, runs2 := runWhileLeader(t, cs[0]), runWhileLeader(t, cs[1])
	first := nextRun(t, runs1, "n1 to lead")
	if first.term != NewTerm("n1", base) {
		t.Fatalf("n1 leads under %q", first.term)
	}

	start := time.Now()
	stop(cs[0])
	waitCancelled(t, first, time.Second)
	waitFor(t, 10*time.Second, "n2 and n3 agree on n2", func() bool { return agreeOn(cs[1:], "n2") })
	t.Logf("failover took %v", time.Since(start))
	second := nextRun(t, runs2, "n2 to lead")
	if second.term != NewTerm("n2", base.Add(time.Millisecond)) {
		t.Errorf("n2 leads under %q", second.term)
	}
	select {
	case r := <-runs1:
		t.Errorf("the old leader ran again under %s", r.term)
	default:
	}
	for _, c := range cs[1:] {
		if m := c.Members()[0]; m.Name != "n1" || m.State != wantState {
			t.Errorf("%s lists %s as %v, want %v", c.Name(), m.Name, m.State, wantState)
		}
	}
}

func TestFailoverOnLeave(t *testing.T) {
	testFailover(t, StateLeft, func(c *Cluster) {
		if err := c.Leave(time.Second); err != nil {
			t.Fatal(err)
		}
		// The old leader knows at once that it no longer leads.
		if l := c.Leader(); l.Self {
			t.Errorf("after Leave, the old leader still leads in its own view: %+v", l)
		}
	})
}

func TestFailoverOnCrash(t *testing.T) {
	testFailover(t, StateDead, func(c *Cluster) { c.Shutdown() })
}

// TestWhileLeaderRegains checks that losing and regaining the same term runs
// fn again: a member that started earlier joins (n1 loses) and leaves.
func TestWhileLeaderRegains(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	cs := startCluster(t, base, "n1", "n2")
	runs := runWhileLeader(t, cs[0])
	first := nextRun(t, runs, "n1 to lead")

	cfg := testConfig("n0", base.Add(-time.Hour))
	cfg.Join = []string{addr(cs[0])}
	n0 := startNode(t, cfg)
	waitCancelled(t, first, 10*time.Second)
	waitFor(t, 5*time.Second, "all agree on n0", func() bool { return agreeOn(append(cs, n0), "n0") })

	n0.Leave(time.Second)
	again := nextRun(t, runs, "n1 to lead again")
	if again.term != first.term {
		t.Errorf("term %q, want %q again", again.term, first.term)
	}
}

func TestIneligibleNeverLeads(t *testing.T) {
	cfg := testConfig("solo", time.Now())
	cfg.Eligible = false
	c := startNode(t, cfg)
	if l := c.Leader(); l.Term != "" {
		t.Fatalf("an ineligible lone node leads: %+v", l)
	}
	if err := c.Ledger().Put(c.LocalMember().Term(), "k", nil); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("write by an ineligible node: %v", err)
	}
}

func snapshotsEqual(cs []*Cluster) bool {
	want := cs[0].Ledger().Snapshot()
	for _, c := range cs[1:] {
		if !reflect.DeepEqual(c.Ledger().Snapshot(), want) {
			return false
		}
	}
	return true
}

func TestLedgerReplication(t *testing.T) {
	cs := startCluster(t, time.Now(), "n1", "n2", "n3")
	waitFor(t, 5*time.Second, "all agree on n1", func() bool { return agreeOn(cs, "n1") })
	leader, term := cs[0], cs[0].Leader().Term

	watch := cs[2].Ledger().Watch(t.Context(), "")
	for i := range 20 {
		if err := leader.Ledger().Put(term, fmt.Sprintf("ip/%02d", i), []byte(fmt.Sprint("10.0.0.", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := leader.Ledger().Delete(term, "ip/05"); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("pv"), 4000) // too large for a gossip packet: sent over TCP
	if err := leader.Ledger().Put(term, "big", big); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "every member holds the leader's ledger", func() bool { return snapshotsEqual(cs) })
	if got := len(cs[2].Ledger().List("ip/")); got != 19 {
		t.Errorf("List(ip/) has %d entries, want 19", got)
	}
	if e, ok := cs[1].Ledger().Get("big"); !ok || !bytes.Equal(e.Value, big) {
		t.Error("the large entry did not arrive")
	}
	select {
	case <-watch:
	default:
		t.Error("no watch signal on a follower")
	}

	// Followers cannot write, under their own term or the leader's.
	for _, term := range []Term{cs[1].LocalMember().Term(), term} {
		if err := cs[1].Ledger().Put(term, "x", []byte("y")); !errors.Is(err, ErrNotLeader) {
			t.Errorf("follower write under %s: %v, want ErrNotLeader", term, err)
		}
	}
}

func TestLedgerLateJoiner(t *testing.T) {
	cs := startCluster(t, time.Now(), "n1", "n2")
	waitFor(t, 5*time.Second, "all agree on n1", func() bool { return agreeOn(cs, "n1") })
	term := cs[0].Leader().Term
	for i := range 50 {
		cs[0].Ledger().Put(term, fmt.Sprint("k", i), []byte("v"))
	}
	waitFor(t, 10*time.Second, "both members hold the ledger", func() bool { return snapshotsEqual(cs) })
	want := cs[0].Ledger().Snapshot()

	cfg := testConfig("late", time.Now())
	cfg.Join = []string{addr(cs[1])}
	late := startNode(t, cfg)
	// The join's push/pull exchange carries the whole ledger.
	if got := late.Ledger().Snapshot(); !reflect.DeepEqual(got, want) {
		t.Fatalf("the late joiner has %d entries after joining, want %d", len(got), len(want))
	}
}

// TestLedgerHealedPartition runs two clusters with the same key, each with
// its own leader writing conflicting entries (the two sides of a partition),
// then joins them: every member must end with the same ledger.
func TestLedgerHealedPartition(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	a := startCluster(t, base, "a1", "a2")
	b := startCluster(t, base.Add(time.Hour), "b1", "b2")
	waitFor(t, 5*time.Second, "leaders", func() bool { return agreeOn(a, "a1") && agreeOn(b, "b1") })
	ta, tb := a[0].Leader().Term, b[0].Leader().Term

	a[0].Ledger().Put(ta, "only-a", []byte("a"))
	a[0].Ledger().Put(ta, "both", []byte("a")) // Seq 2
	b[0].Ledger().Put(tb, "only-b", []byte("b"))
	b[0].Ledger().Put(tb, "both", []byte("b")) // Seq 2 too: b's later term wins
	b[0].Ledger().Put(tb, "gone", []byte("b"))
	a[0].Ledger().Delete(ta, "gone") // Seq 3 on both sides: b's later term wins
	b[0].Ledger().Put(tb, "b-ahead", []byte("b"))
	a[0].Ledger().Put(ta, "b-ahead", []byte("a")) // Seq 3 < b's 4
	waitFor(t, 10*time.Second, "each side agrees", func() bool { return snapshotsEqual(a) && snapshotsEqual(b) })

	if _, err := b[1].Join(addr(a[1])); err != nil {
		t.Fatal(err)
	}
	all := append(a, b...)
	waitFor(t, 10*time.Second, "one cluster", func() bool {
		for _, c := range all {
			if c.NumLive() != 4 {
				return false
			}
		}
		return agreeOn(all, "a1")
	})
	waitFor(t, 10*time.Second, "the same ledger everywhere", func() bool { return snapshotsEqual(all) })
	want := map[string]string{"only-a": "a", "only-b": "b", "both": "b", "gone": "b", "b-ahead": "b"}
	for _, e := range a[0].Ledger().List("") {
		if want[e.Key] != string(e.Value) {
			t.Errorf("%s = %q, want %q", e.Key, e.Value, want[e.Key])
		}
		delete(want, e.Key)
	}
	if len(want) != 0 {
		t.Errorf("missing keys: %v", want)
	}

	// a1 leads the healed cluster under its older term, and its writes win.
	if err := a[0].Ledger().Put(ta, "both", []byte("healed")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the healed leader's write everywhere", func() bool {
		for _, c := range all {
			if e, _ := c.Ledger().Get("both"); string(e.Value) != "healed" {
				return false
			}
		}
		return true
	})
}

func TestLedgerSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.json")
	cfg := testConfig("n1", time.Now())
	cfg.LedgerFile = path
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	term := c.Leader().Term
	c.Ledger().Put(term, "cidr/n1", []byte("10.244.1.0/24"))
	c.Ledger().Put(term, "cidr/n2", []byte("10.244.2.0/24"))
	want := c.Ledger().Snapshot()
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}

	cfg = testConfig("n1", time.Now())
	cfg.LedgerFile = path
	c = startNode(t, cfg)
	if got := c.Ledger().Snapshot(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after restart the ledger is %+v, want %+v", got, want)
	}
	newTerm := c.Leader().Term
	if newTerm == term {
		t.Fatal("a restart kept the term")
	}
	if err := c.Ledger().Put(newTerm, "cidr/n1", []byte("10.244.9.0/24")); err != nil {
		t.Fatal(err)
	}
	if e, _ := c.Ledger().Get("cidr/n1"); e.Seq != 3 {
		t.Errorf("first write after restart has Seq %d, want 3", e.Seq)
	}
}

func TestShutdownClosesWatchers(t *testing.T) {
	c := startNode(t, testConfig("n1", time.Now()))
	leaders := c.WatchLeader(context.Background())
	if l := <-leaders; !l.Self {
		t.Fatalf("a lone eligible node does not lead: %+v", l)
	}
	ledger := c.Ledger().Watch(context.Background(), "")
	errc := make(chan error, 1)
	go func() {
		errc <- c.WhileLeader(context.Background(), func(ctx context.Context, _ Term) { <-ctx.Done() })
	}()
	c.Shutdown()
	for range leaders {
	}
	for range ledger {
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("WhileLeader returned %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WhileLeader did not return after Shutdown")
	}
	if err := c.Ledger().Put("n1@1", "k", nil); err == nil {
		t.Error("write after Shutdown succeeded")
	}
	if err := c.Leave(time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("Leave after Shutdown: %v", err)
	}
}
