package gossip

import (
	"fmt"
	"testing"
	"time"
)

// TestRestartedMembersAreSeenWithTheirNewStartTimes: members that crash
// and start again under the same name and address, one after the other,
// must be seen by everyone with their new start times, or the members
// would elect different leaders.
func TestRestartedMembersAreSeenWithTheirNewStartTimes(t *testing.T) {
	base := time.Now()
	cs := startCluster(t, base, "a", "b", "c")
	for round := 0; round < 6; round++ {
		i := round % 3
		old := cs[i]
		name := old.Name()
		port := old.LocalMember().Addr.Port()
		old.Shutdown()
		var others []*Cluster
		for j, c := range cs {
			if j != i {
				others = append(others, c)
			}
		}
		waitFor(t, 10*time.Second, name+" dead for the others", func() bool {
			return stateOf(others[0], name) == StateDead && stateOf(others[1], name) == StateDead
		})
		start := base.Add(time.Duration(round+1) * time.Hour)
		cfg := testConfig(name, start)
		cfg.BindPort = int(port)
		cfg.Join = []string{addr(others[0]), addr(others[1])}
		cs[i] = startNode(t, cfg)
		waitFor(t, 10*time.Second, fmt.Sprintf("round %d: everyone sees %s's new start time and agrees on the leader", round, name), func() bool {
			for _, o := range cs {
				m, ok := memberNamed(o, name)
				if !ok || m.State != StateAlive || !m.StartTime.Equal(start) {
					return false
				}
			}
			l := cs[0].Leader().Leader.Name
			return agreeOn(cs, l)
		})
	}
}

func stateOf(c *Cluster, name string) State {
	m, _ := memberNamed(c, name)
	return m.State
}

func memberNamed(c *Cluster, name string) (Member, bool) {
	for _, m := range c.Members() {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}
