package netpolicy

import (
	"strings"
	"testing"

	"github.com/shoal-run/shoal/nodeagent/internal/nettest"
)

const sinkPort = 8082

// BenchmarkPolicy compares, in one run on one node, a pod that no policy
// selects (open) with the same pod selected by a policy that allows the
// client (selected: every new connection goes through the queue and the
// listener's verdict):
//
//	connect/{open,selected}      new connections: connect, read the
//	                             greeting, close (pod to pod on the bridge)
//	established/{open,selected}  64 KiB writes on one established
//	                             connection (conntrack, no queue)
func BenchmarkPolicy(b *testing.B) {
	r := newRig(b, Config{})
	web, a := r.pod("shop", "web", "app=web"), r.pod("shop", "a", "app=a")
	nettest.Sink(b, web.netns, "0.0.0.0", sinkPort)
	r.listen(r.enf)
	want := web.greeting(a)
	modes := []struct {
		name, policies string
	}{
		{"open", ""},
		{"selected", strings.Replace(allowA, "{port: 8081}]", "{port: 8081}, {port: 8082}]", 1)},
	}
	for _, m := range modes {
		b.Run("connect/"+m.name, func(b *testing.B) {
			r.apply(r.enf, m.policies)
			r.expectReach(a, web)
			for b.Loop() {
				body, err := a.client.Fetch(web.addr(greetPort))
				if err != nil || body != want {
					b.Fatalf("fetch: %q, %v", body, err)
				}
			}
		})
	}
	buf := make([]byte, 64<<10)
	for _, m := range modes {
		b.Run("established/"+m.name, func(b *testing.B) {
			r.apply(r.enf, m.policies)
			c, err := a.client.Dial(web.addr(sinkPort))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if n := connections(r.enf, "shop/allow-a", accepted); n == 0 {
		b.Fatal("the selected runs never went through the listener")
	}
}
