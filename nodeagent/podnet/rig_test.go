package podnet

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/shoal-run/shoal/nodeagent/internal/nettest"
)

// The rig: every root test builds its own "node", a fresh network namespace
// bind-mounted under the test's temporary folder, and runs the Network in it
// through Config.NetNS. Nothing touches the host's network; nothing has a
// default route out; every name carries a random suffix.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: podnet tests need root (they create network namespaces, bridges, veths, bind mounts and iptables rules); run them as root")
	}
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

type rig struct {
	t      *testing.T
	base   string
	suffix string // 8 hex digits, unique per test
	nodeNS string // the node's network namespace file
}

// newRig makes a node network namespace (lo up) for the test and registers
// the cleanups: whatever is still mounted below the test's folder is
// unmounted before the folder is removed.
func newRig(t *testing.T) *rig {
	requireRoot(t)
	base := t.TempDir()
	t.Cleanup(func() {
		mounts, err := mountsUnder(base)
		if err != nil {
			t.Error(err)
		}
		for _, m := range mounts {
			if err := unmountAll(m); err != nil {
				t.Error(err)
			}
		}
	})
	if err := ensurePrivateMount(filepath.Join(base, "rigns")); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, base: base, suffix: randHex(t, 4)}
	r.nodeNS = r.newNetNS("node")
	return r
}

// newNetNS creates a network namespace with lo up, removed at cleanup.
func (r *rig) newNetNS(name string) string {
	r.t.Helper()
	dir := filepath.Join(r.base, "rigns", name)
	r.t.Cleanup(func() {
		if err := removeNamespaces(dir); err != nil {
			r.t.Error(err)
		}
	})
	if err := createNamespaces(dir, []nsKind{nsNet}, ""); err != nil {
		r.t.Fatal(err)
	}
	path := filepath.Join(dir, string(nsNet))
	h := r.handle(path)
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		r.t.Fatalf("bring lo up in %s: %v", path, err)
	}
	return path
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

// config returns a Config for this node: a bridge named after the test,
// state under the test's folder.
func (r *rig) config(podCIDR, clusterCIDR string) Config {
	cfg := DefaultConfig(filepath.Join(r.base, "state"), netip.MustParsePrefix(podCIDR))
	cfg.Bridge = "sht" + r.suffix
	if clusterCIDR != "" {
		cfg.ClusterCIDR = netip.MustParsePrefix(clusterCIDR)
	}
	cfg.NetNS = r.nodeNS
	cfg.Spares = 0 // the tests of the pool ask for spares themselves
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{r.t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return cfg
}

// network returns a set-up Network for cfg whose Teardown runs at cleanup.
func (r *rig) network(cfg Config) *Network {
	r.t.Helper()
	n, err := New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		if err := n.Teardown(); err != nil {
			r.t.Errorf("Teardown: %v", err)
		}
	})
	if err := n.Setup(); err != nil {
		r.t.Fatalf("Setup: %v", err)
	}
	return n
}

// create creates a sandbox or fails the test.
func create(t *testing.T, n *Network, spec SandboxSpec) *Sandbox {
	t.Helper()
	sb, err := n.CreateSandbox(spec)
	if err != nil {
		t.Fatalf("CreateSandbox(%s): %v", spec.ID, err)
	}
	return sb
}

// client is another namespace attached to the node by a veth, standing for
// a machine on the node's LAN. The node's address on that link is nodeAddr.
// The client also owns farAddr (on lo), an address inside the cluster CIDR
// but outside the node's pod CIDR, reached host-gw style (standing for a pod
// on another node).
type client struct {
	ns       string
	addr     string // the client's LAN address
	nodeAddr string // the node's LAN address
	farAddr  string
}

func (r *rig) attachClient(podCIDR string) *client {
	r.t.Helper()
	c := &client{ns: r.newNetNS("client"), addr: "192.168.77.2", nodeAddr: "192.168.77.1", farAddr: "10.244.200.2"}
	node, cl := r.handle(r.nodeNS), r.handle(c.ns)
	name := "shc" + r.suffix
	clientNS, err := os.Open(c.ns)
	if err != nil {
		r.t.Fatal(err)
	}
	defer clientNS.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: "lan0", PeerNamespace: netlink.NsFd(int(clientNS.Fd()))}
	if err := node.LinkAdd(veth); err != nil {
		r.t.Fatalf("create veth %s: %v", name, err)
	}
	r.t.Cleanup(func() {
		if l, err := node.LinkByName(name); err == nil {
			node.LinkDel(l)
		}
	})
	must := func(what string, err error) {
		if err != nil {
			r.t.Fatalf("%s: %v", what, err)
		}
	}
	nl, err := node.LinkByName(name)
	must("find node end", err)
	must("node address", node.AddrAdd(nl, mustAddr(c.nodeAddr+"/24")))
	must("node end up", node.LinkSetUp(nl))
	cll, err := cl.LinkByName("lan0")
	must("find client end", err)
	must("client address", cl.AddrAdd(cll, mustAddr(c.addr+"/24")))
	must("client end up", cl.LinkSetUp(cll))
	lo, err := cl.LinkByName("lo")
	must("find client lo", err)
	must("far address", cl.AddrAdd(lo, mustAddr(c.farAddr+"/32")))
	// host-gw routes both ways; no default route anywhere.
	must("node route to far", node.RouteAdd(&netlink.Route{LinkIndex: nl.Attrs().Index, Dst: mustAddr("10.244.200.0/24").IPNet, Gw: net.ParseIP(c.addr)}))
	must("client route to pods", cl.RouteAdd(&netlink.Route{LinkIndex: cll.Attrs().Index, Dst: mustAddr(podCIDR).IPNet, Gw: net.ParseIP(c.nodeAddr)}))
	return c
}

func mustAddr(s string) *netlink.Addr {
	a, err := netlink.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

// serve listens on addr inside the network namespace at nsPath and answers
// every connection with reply(remote IP), then closes it. Stopped at cleanup.
func serve(t *testing.T, nsPath, addr string, reply func(remoteIP string) string) {
	t.Helper()
	nettest.Listen(t, nsPath, addr, func(c net.Conn, client string) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, reply(client))
	})
}

// fetch connects to addr from the network namespace at nsPath and returns
// everything the server sent.
func fetch(nsPath, addr string) (string, error) {
	var body []byte
	err := inNetNS(nsPath, func() error {
		c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		body, err = io.ReadAll(c)
		return err
	})
	return string(body), err
}

// expectBody polls addr from nsPath until the body is want.
func expectBody(t *testing.T, nsPath, addr, want string) {
	t.Helper()
	waitFor(t, 10*time.Second, func() error {
		got, err := fetch(nsPath, addr)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("body %q, want %q", got, want)
		}
		return nil
	}, "fetch %s from %s", addr, filepath.Base(filepath.Dir(nsPath)))
}

// waitFor polls cond until it returns nil or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() error, format string, args ...any) {
	t.Helper()
	nettest.WaitFor(t, timeout, fmt.Sprintf(format, args...), cond)
}

// natRules returns the nat table's rules (-A lines) in the node namespace,
// read with nsenter + iptables-save, independently of the code under test.
func (r *rig) natRules() []string {
	r.t.Helper()
	out, err := exec.Command("nsenter", "--net="+r.nodeNS, "iptables-save", "-t", "nat").CombinedOutput()
	if err != nil {
		r.t.Fatalf("iptables-save in node: %v: %s", err, out)
	}
	var rules []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "-A ") {
			rules = append(rules, l)
		}
	}
	return rules
}

// natChains returns the nat chain names declared in the node namespace.
func (r *rig) natChains() []string {
	r.t.Helper()
	out, err := exec.Command("nsenter", "--net="+r.nodeNS, "iptables-save", "-t", "nat").CombinedOutput()
	if err != nil {
		r.t.Fatalf("iptables-save in node: %v: %s", err, out)
	}
	var chains []string
	for _, l := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(l, ":"); ok {
			chains = append(chains, strings.Fields(name)[0])
		}
	}
	return chains
}

// nodeLinks returns the names of the node namespace's interfaces.
func (r *rig) nodeLinks() []string {
	r.t.Helper()
	links, err := r.handle(r.nodeNS).LinkList()
	if err != nil {
		r.t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	return names
}

func matching(lines []string, substr string) []string {
	var out []string
	for _, l := range lines {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
