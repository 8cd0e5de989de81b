package gossip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// metricsText is the exposition Collect should give for a member.
func metricsText(alive, dead int, leader string, term Term, isLeader, changes, entries, tombstones, clock int) string {
	info := ""
	if term != "" {
		info = fmt.Sprintf(`# HELP shoal_gossip_leader_info 1 for the leader in this node's view, with its term; absent while no live member is eligible.
# TYPE shoal_gossip_leader_info gauge
shoal_gossip_leader_info{leader=%q,term=%q} 1
`, leader, term)
	}
	return fmt.Sprintf(`# HELP shoal_gossip_members Members this node has heard of, itself included, by state (alive, suspect, dead, left).
# TYPE shoal_gossip_members gauge
shoal_gossip_members{state="alive"} %d
shoal_gossip_members{state="dead"} %d
shoal_gossip_members{state="left"} 0
shoal_gossip_members{state="suspect"} 0
%s# HELP shoal_gossip_is_leader 1 while this node is the leader in its own view, else 0.
# TYPE shoal_gossip_is_leader gauge
shoal_gossip_is_leader %d
# HELP shoal_gossip_leader_changes_total Changes of the leader's term in this node's view, the first election included.
# TYPE shoal_gossip_leader_changes_total counter
shoal_gossip_leader_changes_total %d
# HELP shoal_ledger_entries Keys of the ledger this node holds, tombstones of deleted keys included.
# TYPE shoal_ledger_entries gauge
shoal_ledger_entries %d
# HELP shoal_ledger_tombstones Tombstones (deleted keys) among the ledger's entries.
# TYPE shoal_ledger_tombstones gauge
shoal_ledger_tombstones %d
# HELP shoal_ledger_clock The ledger clock: the highest Seq this node has seen in any entry.
# TYPE shoal_ledger_clock gauge
shoal_ledger_clock %d
`, alive, dead, info, isLeader, changes, entries, tombstones, clock)
}

func TestMetrics(t *testing.T) {
	base := time.Unix(1_700_000_000, 0)
	cs := startCluster(t, base, "n1", "n2")
	n1, n2 := cs[0], cs[1]
	waitFor(t, 5*time.Second, "all agree on n1", func() bool { return agreeOn(cs, "n1") })
	term := n1.Leader().Term
	if term != "n1@1700000000000000000" {
		t.Fatalf("term %q", term)
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := n1.Ledger().Put(term, k, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := n1.Ledger().Delete(term, "b"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "n2 holds the leader's ledger", func() bool { return snapshotsEqual(cs) })

	// A registry takes the collector as the agent will register it.
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(n1); err != nil {
		t.Fatalf("registering: %v", err)
	}
	tests := []struct {
		name string
		c    *Cluster
		want string
	}{
		// n1 elected itself once; n2 first itself (alone), then n1.
		{"leader", n1, metricsText(2, 0, "n1", term, 1, 1, 3, 1, 4)},
		{"follower", n2, metricsText(2, 0, "n1", term, 0, 2, 3, 1, 4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := testutil.CollectAndCompare(tt.c, strings.NewReader(tt.want)); err != nil {
				t.Error(err)
			}
		})
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(tests[0].want)); err != nil {
		t.Errorf("through a registry: %v", err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 10 {
		t.Errorf("%d metrics gathered (%v), want 10", n, err)
	}

	// The leader crashes: n2 counts it dead and leads, a third change.
	n1.Shutdown()
	waitFor(t, 10*time.Second, "n2 to lead", func() bool { return n2.Leader().Self })
	want := metricsText(1, 1, "n2", n2.LocalMember().Term(), 1, 3, 3, 1, 4)
	if err := testutil.CollectAndCompare(n2, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestMetricsWithoutLeader(t *testing.T) {
	cfg := testConfig("solo", time.Now())
	cfg.Eligible = false
	c := startNode(t, cfg)
	if err := testutil.CollectAndCompare(c, strings.NewReader(metricsText(1, 0, "", "", 0, 0, 0, 0, 0))); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}
