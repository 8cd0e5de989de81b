package gossip

import "github.com/prometheus/client_golang/prometheus"

// The metrics a Cluster reports, all computed at each scrape from its state
// under its own lock.
var (
	membersDesc = prometheus.NewDesc("shoal_gossip_members",
		"Members this node has heard of, itself included, by state (alive, suspect, dead, left).",
		[]string{"state"}, nil)
	leaderInfoDesc = prometheus.NewDesc("shoal_gossip_leader_info",
		"1 for the leader in this node's view, with its term; absent while no live member is eligible.",
		[]string{"leader", "term"}, nil)
	isLeaderDesc = prometheus.NewDesc("shoal_gossip_is_leader",
		"1 while this node is the leader in its own view, else 0.", nil, nil)
	leaderChangesDesc = prometheus.NewDesc("shoal_gossip_leader_changes_total",
		"Changes of the leader's term in this node's view, the first election included.", nil, nil)
	ledgerEntriesDesc = prometheus.NewDesc("shoal_ledger_entries",
		"Keys of the ledger this node holds, tombstones of deleted keys included.", nil, nil)
	ledgerTombstonesDesc = prometheus.NewDesc("shoal_ledger_tombstones",
		"Tombstones (deleted keys) among the ledger's entries.", nil, nil)
	ledgerClockDesc = prometheus.NewDesc("shoal_ledger_clock",
		"The ledger clock: the highest Seq this node has seen in any entry.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *Cluster) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		membersDesc, leaderInfoDesc, isLeaderDesc, leaderChangesDesc,
		ledgerEntriesDesc, ledgerTombstonesDesc, ledgerClockDesc,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the members by state, the
// leadership and the ledger's size and clock as this node sees them now.
// It takes the cluster's lock and then the ledger's, never both at once,
// and sends after releasing them.
func (c *Cluster) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	states := map[State]float64{StateAlive: 0, StateSuspect: 0, StateDead: 0, StateLeft: 0}
	for _, m := range c.members {
		states[m.State]++
	}
	lead, changes := c.lead, c.leaderChanges
	c.mu.Unlock()
	entries, tombstones, clock := c.ledger.stats()

	for s, n := range states {
		ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, n, s.String())
	}
	if lead.Term != "" {
		ch <- prometheus.MustNewConstMetric(leaderInfoDesc, prometheus.GaugeValue, 1, lead.Leader.Name, string(lead.Term))
	}
	isLeader := 0.0
	if lead.Self {
		isLeader = 1
	}
	ch <- prometheus.MustNewConstMetric(isLeaderDesc, prometheus.GaugeValue, isLeader)
	ch <- prometheus.MustNewConstMetric(leaderChangesDesc, prometheus.CounterValue, float64(changes))
	ch <- prometheus.MustNewConstMetric(ledgerEntriesDesc, prometheus.GaugeValue, float64(entries))
	ch <- prometheus.MustNewConstMetric(ledgerTombstonesDesc, prometheus.GaugeValue, float64(tombstones))
	ch <- prometheus.MustNewConstMetric(ledgerClockDesc, prometheus.GaugeValue, float64(clock))
}

// stats counts the ledger's entries and tombstones and returns its clock,
// without copying entries.
func (l *Ledger) stats() (entries, tombstones int, clock uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.entries {
		if e.Deleted {
			tombstones++
		}
	}
	return len(l.entries), tombstones, l.clock
}
