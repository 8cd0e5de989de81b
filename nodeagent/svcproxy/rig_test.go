package svcproxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/internal/nettest"
	"github.com/shoal-run/shoal/nodeagent/podnet"
	"github.com/shoal-run/shoal/reconciler/services"
	"github.com/vishvananda/netlink"
)

// The rig: node "n1" is a fresh network namespace with a real pod network
// (podnet: bridge, one veth and namespace per pod, hairpin, br_netfilter)
// and the Proxy under test. A "client" namespace on a lab link stands for
// a machine of the node network and, through host-gw routes, for node
// "n2": it owns n2's pod address 10.244.2.2 on lo.
//
//	client lan0 192.168.77.2/24 ── node <lab> 192.168.77.1/24
//	node routes: 10.244.2.0/24 via 192.168.77.2 (n2's pods, host-gw);
//	             10.96.0.0/12 via 192.168.77.2 (stands for the default
//	             route: without the refusals, service-range traffic would
//	             go there and be lost, the client not forwarding)
//	client route: 10.244.1.0/24 via 192.168.77.1
//
// No namespace has a default route: no test packet leaves the machine.
// Every server answers "<name> from <client address>" and the tests assert
// on those bodies.

const (
	nodeName    = "n1"
	podCIDR     = "10.244.1.0/24"
	clusterCIDR = "10.244.0.0/16"
	serviceCIDR = "10.96.0.0/12"
	nodeLANAddr = "192.168.77.1"
	clientAddr  = "192.168.77.2"
	farPodAddr  = "10.244.2.2" // a pod of node n2, in the client namespace
	podPort     = 8080
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: svcproxy integration tests need root (network namespaces, veths, iptables); run them as root")
	}
}

type rig struct {
	t        testing.TB
	base     string
	suffix   string
	nodeNS   string
	clientNS string
	lab      string // the node's interface on the lab link
	pods     *podnet.Network
	proxy    *Proxy
}

// pod is a pod of n1 running a server that names it.
type pod struct {
	name string
	ns   string
	ip   netip.Addr
}

func randHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newRig builds the node, its pod network, the client and a set-up Proxy.
// Everything is removed at cleanup, in reverse order, failure or not.
func newRig(t testing.TB) *rig {
	requireRoot(t)
	r := &rig{t: t, base: t.TempDir(), suffix: randHex(t, 4)}
	r.nodeNS = r.netns("node")
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	pcfg := podnet.DefaultConfig(filepath.Join(r.base, "podnet"), netip.MustParsePrefix(podCIDR))
	pcfg.Bridge = "svb" + r.suffix
	pcfg.ClusterCIDR = netip.MustParsePrefix(clusterCIDR)
	pcfg.NetNS = r.nodeNS
	pcfg.Logger = testLogger(t)
	pods, err := podnet.New(pcfg)
	must("podnet.New", err)
	t.Cleanup(func() {
		if err := pods.Teardown(); err != nil {
			t.Errorf("podnet Teardown: %v", err)
		}
	})
	must("podnet Setup", pods.Setup())
	r.pods = pods

	// The lab link.
	r.clientNS = r.netns("client")
	r.lab = "svl" + r.suffix
	node, cl := r.handle(r.nodeNS), r.handle(r.clientNS)
	clientFile, err := os.Open(r.clientNS)
	must("open client namespace", err)
	defer clientFile.Close()
	must("create lab veth", node.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: r.lab}, PeerName: "lan0", PeerNamespace: netlink.NsFd(int(clientFile.Fd()))}))
	t.Cleanup(func() {
		if l, err := node.LinkByName(r.lab); err == nil {
			node.LinkDel(l)
		}
	})
	nl, err := node.LinkByName(r.lab)
	must("find lab link", err)
	must("node lab address", node.AddrAdd(nl, mustAddr(nodeLANAddr+"/24")))
	must("node lab link up", node.LinkSetUp(nl))
	cll, err := cl.LinkByName("lan0")
	must("find client link", err)
	must("client address", cl.AddrAdd(cll, mustAddr(clientAddr+"/24")))
	must("client link up", cl.LinkSetUp(cll))
	lo, err := cl.LinkByName("lo")
	must("find client lo", err)
	must("far pod address", cl.AddrAdd(lo, mustAddr(farPodAddr+"/32")))
	gw := net.ParseIP(clientAddr)
	must("node route to n2's pods", node.RouteAdd(&netlink.Route{LinkIndex: nl.Attrs().Index, Dst: mustAddr("10.244.2.0/24").IPNet, Gw: gw}))
	must("node route for the service range", node.RouteAdd(&netlink.Route{LinkIndex: nl.Attrs().Index, Dst: mustAddr(serviceCIDR).IPNet, Gw: gw}))
	must("client route to n1's pods", cl.RouteAdd(&netlink.Route{LinkIndex: cll.Attrs().Index, Dst: mustAddr(podCIDR).IPNet, Gw: net.ParseIP(nodeLANAddr)}))
	serve(t, r.clientNS, farPodAddr, "far")

	p, err := New(r.config())
	must("New", err)
	t.Cleanup(func() {
		if err := p.Teardown(); err != nil {
			t.Errorf("Teardown: %v", err)
		}
	})
	must("Setup", p.Setup())
	r.proxy = p
	return r
}

// clientRoute routes dst from the client to the node.
func (r *rig) clientRoute(dst string) {
	r.t.Helper()
	cl := r.handle(r.clientNS)
	lan, err := cl.LinkByName("lan0")
	if err == nil {
		err = cl.RouteAdd(&netlink.Route{LinkIndex: lan.Attrs().Index, Dst: mustAddr(dst).IPNet, Gw: net.ParseIP(nodeLANAddr)})
	}
	if err != nil {
		r.t.Fatalf("client route to %s via the node: %v", dst, err)
	}
}

// config is the Proxy's configuration on n1.
func (r *rig) config() Config {
	return Config{NodeName: nodeName, NetNS: r.nodeNS, Interface: r.lab,
		PodCIDR: netip.MustParsePrefix(podCIDR), ClusterCIDR: netip.MustParsePrefix(clusterCIDR), Logger: testLogger(r.t)}
}

// netns makes a network namespace (lo up) under the test's folder,
// removed at cleanup.
func (r *rig) netns(name string) string {
	r.t.Helper()
	return nettest.NetNS(r.t, r.base, name)
}

// handle returns a netlink handle in the namespace at path, closed at cleanup.
func (r *rig) handle(path string) *netlink.Handle {
	r.t.Helper()
	h, err := handleAt(path)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(h.Close)
	return h
}

// pod creates a pod of n1 whose server answers "<name> from <client>".
func (r *rig) pod(name string) *pod {
	r.t.Helper()
	sb, err := r.pods.CreateSandbox(podnet.SandboxSpec{ID: name})
	if err != nil {
		r.t.Fatalf("CreateSandbox(%s): %v", name, err)
	}
	serve(r.t, sb.NetNS, "0.0.0.0", name)
	return &pod{name: name, ns: sb.NetNS, ip: sb.IP}
}

// endpoint is p as a ready endpoint of n1 serving the unnamed port.
func (p *pod) endpoint() services.Endpoint {
	return services.Endpoint{IP: p.ip, Node: nodeName, Pod: p.name, Ready: true, Ports: map[string]int32{"": podPort}}
}

// farEndpoint is n2's pod (in the client namespace).
func farEndpoint() services.Endpoint {
	return services.Endpoint{IP: netip.MustParseAddr(farPodAddr), Node: "n2", Pod: "far", Ready: true, Ports: map[string]int32{"": podPort}}
}

// sync runs Sync or fails the test.
func (r *rig) sync(ss ...services.Service) {
	r.t.Helper()
	if err := r.proxy.Sync(table(ss...)); err != nil {
		r.t.Fatalf("Sync: %v", err)
	}
}

func mustAddr(s string) *netlink.Addr {
	a, err := netlink.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

// serve listens on addr:8080 inside the namespace at nsPath and answers
// every connection with "<name> from <remote IP>" (nettest.Serve).
func serve(t testing.TB, nsPath, addr, name string) { nettest.Serve(t, nsPath, addr, podPort, name) }

// dialer makes sockets in one network namespace (nettest.Dialer).
type dialer struct{ d *nettest.Dialer }

func newDialer(t testing.TB, nsPath string) *dialer { return &dialer{nettest.NewDialer(t, nsPath)} }

func (d *dialer) dial(addr string) (net.Conn, error) { return d.d.Dial(addr) }

// fetch connects to addr and returns what the server sent.
func (d *dialer) fetch(addr string) (string, error) { return d.d.Fetch(addr) }

// bodies fetches addr n times and counts the answers.
func (d *dialer) bodies(t testing.TB, addr string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		body, err := d.fetch(addr)
		if err != nil {
			t.Fatalf("fetch %s: %v", addr, err)
		}
		got[body]++
	}
	return got
}

// expectRefused asserts that connecting to addr fails at once with
// "connection refused" (a reset or ICMP port unreachable), not a timeout.
func (d *dialer) expectRefused(t testing.TB, addr string) {
	t.Helper()
	start := time.Now()
	c, err := d.dial(addr)
	took := time.Since(start)
	if err == nil {
		b, _ := io.ReadAll(c)
		c.Close()
		t.Fatalf("connect to %s succeeded (answer %q), want refused", addr, b)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) || took > time.Second {
		t.Fatalf("connect to %s: %v after %v, want connection refused at once", addr, err, took.Round(time.Millisecond))
	}
}

// httpGet fetches url from the namespace of d.
func (d *dialer) httpGet(url string) (int, string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext:       func(_ context.Context, _, addr string) (net.Conn, error) { return d.dial(addr) },
	}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// iptablesSave returns iptables-save of table in the node, read with
// nsenter independently of the code under test.
func (r *rig) iptablesSave(table string) string {
	r.t.Helper()
	out, err := exec.Command("nsenter", "--net="+r.nodeNS, "iptables-save", "-t", table).CombinedOutput()
	if err != nil {
		r.t.Fatalf("iptables-save -t %s in node: %v: %s", table, err, out)
	}
	return string(out)
}

// ours returns the lines of iptables-save (both tables) that name one of
// this package's chains or jumps (podnet's SHOAL-POD chains are not ours).
func (r *rig) ours() []string {
	r.t.Helper()
	var out []string
	for _, table := range []string{"nat", "filter"} {
		for _, l := range strings.Split(r.iptablesSave(table), "\n") {
			l = strings.ReplaceAll(l, "SHOAL-POD-", "")
			if strings.Contains(l, "SHOAL-") || strings.Contains(l, "shoal service") {
				out = append(out, table+": "+l)
			}
		}
	}
	return out
}

// lbAddrs returns the /32 addresses on the node's lab link.
func (r *rig) lbAddrs() []string {
	r.t.Helper()
	h := r.handle(r.nodeNS)
	l, err := h.LinkByName(r.lab)
	if err != nil {
		r.t.Fatal(err)
	}
	addrs, err := h.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		if ones, _ := a.Mask.Size(); ones == 32 {
			out = append(out, a.IP.String()+" "+a.Label)
		}
	}
	return out
}

// waitFor polls cond until it returns nil or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, cond func() error, what string) {
	t.Helper()
	nettest.WaitFor(t, timeout, what, cond)
}

func testLogger(t testing.TB) *slog.Logger { return nettest.Logger(t, slog.LevelDebug) }
