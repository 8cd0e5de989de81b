package svcproxy

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/shoal-run/shoal/reconciler/services"
	"github.com/shoal-run/shoal/testenv"
	corev1 "k8s.io/api/core/v1"
)

// bigTable is n Services of e ready endpoints each (half of them on n1),
// one TCP port with a node port; shift moves every endpoint's port, so that
// two shifts differ in every SEP chain.
func bigTable(n, e, shift int) *services.Table {
	t := &services.Table{ServiceCIDR: netip.MustParsePrefix(serviceCIDR)}
	for i := range n {
		s := services.Service{Namespace: "bench", Name: fmt.Sprintf("svc-%04d", i), Type: corev1.ServiceTypeNodePort,
			ClusterIP: netip.AddrFrom4([4]byte{10, 96, byte(i >> 8), byte(i)}),
			Ports:     []services.Port{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: int32(30000 + i)}}}
		for j := range e {
			k := i*e + j
			node := "n1"
			if j%2 == 1 {
				node = "n2"
			}
			s.Endpoints = append(s.Endpoints, services.Endpoint{IP: netip.AddrFrom4([4]byte{10, 244, byte(k >> 8), byte(k)}), Node: node,
				Ready: true, Ports: map[string]int32{"http": int32(8080 + shift)}})
		}
		t.Services = append(t.Services, s)
	}
	return t
}

func BenchmarkRender1000x10(b *testing.B) {
	t := bigTable(1000, 10, 0)
	rs := render(t, "n1", testCfg.withDefaults())
	b.ReportMetric(float64(rs.nat.count+rs.filter.count), "rules")
	for b.Loop() {
		Render(t, "n1", testCfg)
	}
}

// BenchmarkSync1000x10 times Sync (Render plus the iptables-restore
// transaction) for 1,000 Services of 10 endpoints (12,005 chains, 47,016
// rules) in a fresh namespace:
//
//	first               every chain created (the first Sync on a node)
//	full-rewrite        every existing chain rewritten (after Setup, after an error, hourly)
//	one-service-changed one Service's endpoints moved (the usual Sync)
//	teardown            Teardown of it all
func BenchmarkSync1000x10(b *testing.B) {
	requireRoot(b)
	ns, err := testenv.NewNetNS(filepath.Join(b.TempDir(), "netns"), "node")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { testenv.RemoveNetNS(ns) })
	cfg := testCfg
	cfg.NetNS = ns
	p, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Teardown() })
	base := bigTable(1000, 10, 0)
	moved := bigTable(1000, 10, 0)
	for i := range moved.Services[500].Endpoints {
		moved.Services[500].Endpoints[i].Ports["http"] = 9090
	}
	sync := func(b *testing.B, t *services.Table) {
		if err := p.Sync(t); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("first", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			if err := p.Teardown(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			sync(b, base)
		}
	})
	b.Run("full-rewrite", func(b *testing.B) {
		for range b.N {
			p.written = nil
			sync(b, base)
		}
	})
	b.Run("one-service-changed", func(b *testing.B) {
		tables := []*services.Table{moved, base}
		for i := range b.N {
			sync(b, tables[i%2])
		}
	})
	b.Run("teardown", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			sync(b, base)
			b.StartTimer()
			if err := p.Teardown(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkConnect compares new connections (connect, read the answer,
// close) from a pod to another pod: straight to its IP, through a cluster
// IP, and through a cluster IP whose portal rule comes after those of
// 1,000 other Services (10 endpoints each; nat rules are walked in order).
func BenchmarkConnect(b *testing.B) {
	r := newRig(b)
	a, client := r.pod("a"), r.pod("client")
	web := svc("web", "10.100.0.10", a.endpoint())
	r.sync(web)
	d := newDialer(b, client.ns)
	want := "a from " + client.ip.String()
	fetch := func(b *testing.B, addr string) {
		for b.Loop() {
			body, err := d.fetch(addr)
			if err != nil || body != want {
				b.Fatalf("fetch %s: %q, %v", addr, body, err)
			}
		}
	}
	b.Run("pod-ip", func(b *testing.B) { fetch(b, fmt.Sprintf("%s:%d", a.ip, podPort)) })
	b.Run("cluster-ip", func(b *testing.B) { fetch(b, "10.100.0.10:80") })
	big := bigTable(1000, 10, 0)
	big.Services = append(big.Services, web) // "bench" sorts before "default": web's portal comes last
	if err := r.proxy.Sync(big); err != nil {
		b.Fatal(err)
	}
	b.Run("cluster-ip-after-1000-services", func(b *testing.B) { fetch(b, "10.100.0.10:80") })
}

// sinkPort is where BenchmarkThroughput's sink listens in pod a.
const sinkPort = 9000

// BenchmarkThroughput is the throughput of one established TCP connection
// from a pod to another pod on the node, straight to the pod IP and
// through a cluster IP, in the same run: the client writes 1 MiB per
// iteration, and the sink acknowledges the total at the end, so the time
// covers delivery.
func BenchmarkThroughput(b *testing.B) {
	r := newRig(b)
	a, client := r.pod("a"), r.pod("client")
	var ln net.Listener
	if err := inNetNS(a.ns, func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", sinkPort))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				n, _ := io.Copy(io.Discard, c)
				fmt.Fprintf(c, "%d", n)
			}()
		}
	}()
	ep := a.endpoint()
	ep.Ports = map[string]int32{"": sinkPort}
	r.sync(svc("sink", "10.100.0.20", ep))
	d := newDialer(b, client.ns)
	chunk := make([]byte, 1<<20)
	run := func(b *testing.B, addr string) {
		c, err := d.dial(addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.SetBytes(int64(len(chunk)))
		var sent int64
		for b.Loop() {
			n, err := c.Write(chunk)
			if err != nil {
				b.Fatal(err)
			}
			sent += int64(n)
		}
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		if err != nil || string(got) != fmt.Sprint(sent) {
			b.Fatalf("sink read %q of %d bytes (%v)", got, sent, err)
		}
	}
	b.Run("pod-ip", func(b *testing.B) { run(b, fmt.Sprintf("%s:%d", a.ip, sinkPort)) })
	b.Run("cluster-ip", func(b *testing.B) { run(b, "10.100.0.20:80") })
}
