package dns

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/reconciler/services"
)

// benchTable has n Services in 50 namespaces: nine in ten with a cluster
// IP and two named ports, one in ten headless with three ready endpoints.
func benchTable(n int) *services.Table {
	t := &services.Table{ServiceCIDR: netip.MustParsePrefix("10.96.0.0/12"), ClusterDomain: "cluster.local"}
	for i := range n {
		svc := services.Service{
			Namespace: fmt.Sprintf("ns-%d", i%50), Name: fmt.Sprintf("svc-%d", i), Type: corev1.ServiceTypeClusterIP,
			Ports: []services.Port{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}, {Name: "metrics", Protocol: corev1.ProtocolTCP, Port: 9090}},
		}
		if i%10 == 9 {
			svc.Headless = true
			for j := range 3 {
				svc.Endpoints = append(svc.Endpoints, services.Endpoint{IP: netip.AddrFrom4([4]byte{10, 244, byte(i / 200), byte(j + i%200)}),
					Ready: true, Ports: map[string]int32{"http": 8080, "metrics": 9090}})
			}
		} else {
			svc.ClusterIP = netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)})
		}
		t.Services = append(t.Services, svc)
	}
	return t
}

// benchNames are the A names of the first Services of benchTable (mostly
// cluster IPs, every tenth headless).
func benchNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("svc-%d.ns-%d.svc.cluster.local.", i, i%50)
	}
	return names
}

// BenchmarkQuery is queries per second over UDP on 127.0.0.1 for cluster
// names, with 1,000 Services in the table: clients on every core, each on
// its own socket, one query in flight each.
func BenchmarkQuery(b *testing.B) {
	s, err := New(Config{Addr: local, Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	s.Update(benchTable(1000))
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	names := benchNames(1000)
	var next atomic.Int64
	b.SetParallelism(4)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		c := dns.Client{Net: "udp", Timeout: 5 * time.Second}
		co, err := c.Dial(s.Addr().String())
		if err != nil {
			b.Error(err)
			return
		}
		defer co.Close()
		for pb.Next() {
			m := new(dns.Msg).SetQuestion(names[next.Add(1)%int64(len(names))], dns.TypeA)
			r, _, err := c.ExchangeWithConn(m, co)
			if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
				b.Errorf("%s: %v %v", m.Question[0].Name, err, r)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
}

// BenchmarkResolve is the server's own work for one cluster name, without
// the network: the look-up in the index of 1,000 Services and the answer.
func BenchmarkResolve(b *testing.B) {
	s, err := New(Config{Addr: local, Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	s.Update(benchTable(1000))
	names := benchNames(1000)
	reqs := make([]*dns.Msg, len(names))
	for i, n := range names {
		reqs[i] = new(dns.Msg).SetQuestion(n, dns.TypeA)
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := reqs[i%len(reqs)]
		i++
		m, _ := s.resolve(ctx, req, false)
		if _, err := fit(req, m, false).Pack(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate is building the index of a table of 1,000 Services.
func BenchmarkUpdate(b *testing.B) {
	s, err := New(Config{Addr: local, Logger: testLogger(b)})
	if err != nil {
		b.Fatal(err)
	}
	t := benchTable(1000)
	b.ReportAllocs()
	for b.Loop() {
		s.Update(t)
	}
}
