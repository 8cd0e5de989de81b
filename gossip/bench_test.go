package gossip

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkMembershipConvergence50 starts 50 members in this process, each
// joining through the first, and measures the time from the first start
// until every member sees all 50 alive. It reports it as s/converge (no
// assertion on the time: it depends on the machine), for the LocalConfig
// preset as is and with the tests' timings (testConfig: more retransmits,
// push/pull every 2 s). Run with:
//
//	go test -run XXX -bench Convergence -benchtime 1x ./gossip
func BenchmarkMembershipConvergence50(b *testing.B) {
	b.Run("LocalConfig", func(b *testing.B) {
		benchConvergence(b, func(name string) *Config {
			cfg := LocalConfig(name)
			cfg.ClusterKey = testKey
			cfg.Logger = testLogger()
			return cfg
		})
	})
	b.Run("testConfig", func(b *testing.B) {
		benchConvergence(b, func(name string) *Config { return testConfig(name, time.Now()) })
	})
}

func benchConvergence(b *testing.B, config func(name string) *Config) {
	const n = 50
	var converge, joins time.Duration
	for range b.N {
		start := time.Now()
		cs := make([]*Cluster, 0, n)
		for i := range n {
			cfg := config(fmt.Sprintf("m%02d", i))
			if i > 0 {
				cfg.Join = []string{addr(cs[0])}
			}
			c, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			cs = append(cs, c)
		}
		joined := time.Since(start)
		deadline := time.Now().Add(60 * time.Second)
		for {
			all := true
			for _, c := range cs {
				if c.NumLive() != n {
					all = false
					break
				}
			}
			if all {
				break
			}
			if time.Now().After(deadline) {
				b.Fatal("50 members did not converge within 60 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		converge += time.Since(start)
		joins += joined
		b.Logf("%d members: all joined after %v, all see all after %v", n, joined, time.Since(start))
		for _, c := range cs {
			c.Shutdown()
		}
	}
	b.ReportMetric(converge.Seconds()/float64(b.N), "s/converge")
	b.ReportMetric(joins.Seconds()/float64(b.N), "s/joins")
}
