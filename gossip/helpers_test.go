package gossip

import (
	"bytes"
	"log/slog"
	"os"
	"testing"
	"time"
)

var testKey = bytes.Repeat([]byte{7}, 32)

// testLogger discards logs unless GOSSIP_TEST_LOG is set (memberlist keeps
// logging from its goroutines after a test ends, so t.Log cannot be used).
func testLogger() *slog.Logger {
	if os.Getenv("GOSSIP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testConfig is LocalConfig with quicker failure detection (a crashed
// member is declared dead in about a second) and a push/pull exchange every
// 2 s, so that what gossip misses is repaired within the tests' deadlines.
func testConfig(name string, start time.Time) *Config {
	cfg := LocalConfig(name)
	cfg.ClusterKey = testKey
	cfg.StartTime = start
	cfg.APIAddr = "127.0.0.1:1" + name // any string; checked as metadata
	cfg.Logger = testLogger()
	ml := *cfg.Memberlist
	ml.ProbeInterval = 200 * time.Millisecond
	ml.ProbeTimeout = 100 * time.Millisecond
	ml.GossipInterval = 50 * time.Millisecond
	ml.PushPullInterval = 2 * time.Second
	cfg.Memberlist = &ml
	return cfg
}

// startNode starts a member from cfg and shuts it down when the test ends.
func startNode(t testing.TB, cfg *Config) *Cluster {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.Name, err)
	}
	t.Cleanup(func() { c.Shutdown() })
	return c
}

// addr is the host:port to join c at.
func addr(c *Cluster) string { return c.LocalMember().Addr.String() }

// startCluster starts len(names) members, the first at base and each next
// one a millisecond later, all joined through the first, and waits until
// every one sees every other alive.
func startCluster(t *testing.T, base time.Time, names ...string) []*Cluster {
	t.Helper()
	var cs []*Cluster
	for i, name := range names {
		cfg := testConfig(name, base.Add(time.Duration(i)*time.Millisecond))
		if i > 0 {
			cfg.Join = []string{addr(cs[0])}
		}
		cs = append(cs, startNode(t, cfg))
	}
	waitFor(t, 10*time.Second, "all members see each other", func() bool {
		for _, c := range cs {
			if c.NumLive() != len(cs) {
				return false
			}
		}
		return true
	})
	return cs
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// agreeOn reports whether every cluster sees leader as leader.
func agreeOn(cs []*Cluster, leader string) bool {
	for _, c := range cs {
		if c.Leader().Leader.Name != leader || c.Leader().Term == "" {
			return false
		}
	}
	return true
}
