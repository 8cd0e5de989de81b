package netpolicy

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/internal/nettest"
)

const sinkPort = 8082

// BenchmarkPolicy compares, in one run on one node, a pod that a policy
// selects (every new connection to it goes through the queue and the
// listener's verdict) with a pod that none selects (its connections never
// meet the queue). Each iteration uses both, one after the other and each
// first every other time, so that the machine's drift hits both alike; the metrics are each pod's rate and
// the selected pod's rate over the open one's (the goal: ≥ 0.8 for new
// connections, ≥ 0.98 for established ones).
//
//	connect      new connections from a pod: connect, read the greeting,
//	             close (pod to pod on the bridge)
//	established  1 MiB writes on one established connection to each pod
//	             (conntrack, no queue)
func BenchmarkPolicy(b *testing.B) {
	r := newRig(b, Config{})
	web, open, a := r.pod("shop", "web", "app=web"), r.pod("shop", "open", "app=open"), r.pod("shop", "a", "app=a")
	for _, p := range []*pod{web, open} {
		nettest.Sink(b, p.netns, "0.0.0.0", sinkPort)
	}
	r.listen(r.enf)
	r.apply(r.enf, strings.Replace(allowA, "{port: 8081}]", "{port: 8081}, {port: 8082}]", 1))
	r.expectReach(a, web)
	r.expectReach(a, open)
	if sel := r.enf.Selection(); len(sel) != 1 || sel[0].Pod.Name != "web" {
		b.Fatalf("selection %+v, want web alone", sel)
	}

	b.Run("connect", func(b *testing.B) {
		var took [2]time.Duration // selected, open
		targets := []*pod{web, open}
		for n := 0; b.Loop(); n++ {
			for k := range targets {
				i := (k + n) % 2 // each goes first every other time
				p := targets[i]
				start := time.Now()
				body, err := a.client.Fetch(p.addr(greetPort))
				took[i] += time.Since(start)
				if want := p.greeting(a); err != nil || body != want {
					b.Fatalf("fetch %s: %q, %v", p.name, body, err)
				}
			}
		}
		n := float64(b.N)
		b.ReportMetric(n/took[0].Seconds(), "selected-conn/s")
		b.ReportMetric(n/took[1].Seconds(), "open-conn/s")
		b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "ratio")
	})

	b.Run("established", func(b *testing.B) {
		var conns [2]net.Conn
		for i, p := range []*pod{web, open} {
			c, err := a.client.Dial(p.addr(sinkPort))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			conns[i] = c
		}
		buf := make([]byte, 1<<20)
		var took [2]time.Duration
		for n := 0; b.Loop(); n++ {
			for k := range conns {
				i := (k + n) % 2
				c := conns[i]
				start := time.Now()
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
				took[i] += time.Since(start)
			}
		}
		mb := float64(b.N) * float64(len(buf)) / 1e6
		b.ReportMetric(mb/took[0].Seconds(), "selected-MB/s")
		b.ReportMetric(mb/took[1].Seconds(), "open-MB/s")
		b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "ratio")
	})

	if n := connections(r.enf, "shop/allow-a", accepted); n == 0 {
		b.Fatal("the selected pod's connections never went through the listener")
	}
}
