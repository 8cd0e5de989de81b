package netpolicy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/nodeagent/internal/nettest"
	"github.com/shoal-run/shoal/nodeagent/podnet"
	"github.com/shoal-run/shoal/policies/network"
)

// The rig: node "n1" is a fresh network namespace with a real pod network
// (podnet: bridge, one veth and network namespace per pod, br_netfilter)
// and the Enforcer under test, its listener bound to the node's queue.
// Every pod runs two servers: on greetPort one that answers "<pod> from
// <client address>" and closes, on echoPort one that greets likewise and
// then echoes lines. No namespace has a default route: no test packet
// leaves the machine. Tests assert on the bodies.

const (
	podCIDR   = "10.244.1.0/24"
	greetPort = 8080
	echoPort  = 8081
)

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: netpolicy integration tests need root (network namespaces, veths, iptables, NFQUEUE); run them as root")
	}
}

type rig struct {
	t      testing.TB
	base   string
	nodeNS string
	net    *podnet.Network
	enf    *Enforcer
	pods   []*pod
	// policies are the NetworkPolicies of the last apply.
	policies []*networkingv1.NetworkPolicy
}

// pod is a pod of n1 with its servers and a client in its namespace.
type pod struct {
	name, namespace string
	labels          map[string]string
	netns           string
	ip              netip.Addr
	client          *nettest.Dialer
}

// newRig builds the node, its pod network and a set-up Enforcer (listener
// not started). Everything is removed at cleanup, failure or not.
func newRig(t testing.TB, cfg Config) *rig {
	requireRoot(t)
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, base: t.TempDir()}
	r.nodeNS = r.netns("node")
	pcfg := podnet.DefaultConfig(filepath.Join(r.base, "podnet"), netip.MustParsePrefix(podCIDR))
	pcfg.Bridge = "npb" + hex.EncodeToString(suffix)
	pcfg.NetNS = r.nodeNS
	pcfg.Logger = testLogger(t)
	var err error
	if r.net, err = podnet.New(pcfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.net.Teardown(); err != nil {
			t.Errorf("podnet Teardown: %v", err)
		}
	})
	if err := r.net.Setup(); err != nil {
		t.Fatalf("podnet Setup: %v", err)
	}
	r.enf = r.enforcer(cfg)
	return r
}

// enforcer makes a set-up Enforcer of cfg on the node, torn down at
// cleanup.
func (r *rig) enforcer(cfg Config) *Enforcer {
	r.t.Helper()
	cfg.NetNS, cfg.PodCIDR, cfg.Logger = r.nodeNS, netip.MustParsePrefix(podCIDR), testLogger(r.t)
	e, err := New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		if err := e.Teardown(); err != nil {
			r.t.Errorf("Teardown: %v", err)
		}
	})
	if err := e.Setup(); err != nil {
		r.t.Fatalf("Setup: %v", err)
	}
	return e
}

// netns makes a network namespace (lo up) under the test's folder,
// removed at cleanup.
func (r *rig) netns(name string) string {
	r.t.Helper()
	return nettest.NetNS(r.t, r.base, name)
}

// pod creates a pod of n1 in namespace ns with labels "k=v,...", its
// servers running.
func (r *rig) pod(ns, name, labels string) *pod {
	r.t.Helper()
	sb, err := r.net.CreateSandbox(podnet.SandboxSpec{ID: ns + "." + name})
	if err != nil {
		r.t.Fatalf("CreateSandbox(%s/%s): %v", ns, name, err)
	}
	p := &pod{name: name, namespace: ns, labels: map[string]string{}, netns: sb.NetNS, ip: sb.IP}
	for _, kv := range strings.Split(labels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			p.labels[k] = v
		}
	}
	nettest.Serve(r.t, sb.NetNS, "0.0.0.0", greetPort, name)
	nettest.Echo(r.t, sb.NetNS, "0.0.0.0", echoPort, name)
	p.client = nettest.NewDialer(r.t, sb.NetNS)
	p.client.Timeout = time.Second
	r.pods = append(r.pods, p)
	return p
}

// listen runs the Enforcer's listener until the returned stop is called
// (or cleanup); stop returns once the queue is unbound.
func (r *rig) listen(e *Enforcer) (stop func()) {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			r.t.Errorf("Run: %v", err)
		}
	}
	r.t.Cleanup(stop)
	return stop
}

// apply makes the Enforcer enforce the NetworkPolicies of yaml (YAML
// documents, loaded as the reconciler loads them) over the rig's pods.
func (r *rig) apply(e *Enforcer, yaml string) {
	r.t.Helper()
	r.policies = nil
	if yaml != "" {
		set, err := manifests.Load(fstest.MapFS{"p.yaml": {Data: []byte(yaml)}})
		if err != nil {
			r.t.Fatal(err)
		}
		r.policies = manifests.Of[*networkingv1.NetworkPolicy](set)
	}
	if err := e.Update(r.input()); err != nil {
		r.t.Fatalf("Update: %v", err)
	}
}

// input is the verdict's input: the last policies and the rig's pods, on
// a node whose address is the bridge's.
func (r *rig) input() network.Input {
	in := network.Input{Policies: r.policies}
	for _, p := range r.pods {
		in.Pods = append(in.Pods, network.Pod{Namespace: p.namespace, Name: p.name, Labels: p.labels, IP: p.ip,
			HostIPs: []netip.Addr{r.net.Gateway()}})
	}
	return in
}

// addr is the pod's server on port.
func (p *pod) addr(port int) string { return netip.AddrPortFrom(p.ip, uint16(port)).String() }

// greeting is what p's greeting server answers to client.
func (p *pod) greeting(client *pod) string { return p.name + " from " + client.ip.String() }

// expectReach asserts that from reaches to's greeting server, polling a
// while (the listener may still be binding the queue).
func (r *rig) expectReach(from, to *pod) {
	r.t.Helper()
	want := to.greeting(from)
	nettest.WaitFor(r.t, 5*time.Second, from.name+" reaching "+to.name, func() error {
		body, err := from.client.Fetch(to.addr(greetPort))
		if err != nil {
			return err
		}
		if body != want {
			return fmt.Errorf("answer %q, want %q", body, want)
		}
		return nil
	})
}

// expectDropped asserts that from's connection to to's greeting server
// gets no answer at all: the SYN is dropped, the connect times out.
func (r *rig) expectDropped(from, to *pod) {
	r.t.Helper()
	c, err := from.client.Dial(to.addr(greetPort))
	if err == nil {
		b := make([]byte, 64)
		n, _ := c.Read(b)
		c.Close()
		r.t.Fatalf("%s reached %s (answer %q), want its connection dropped", from.name, to.name, b[:n])
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		r.t.Fatalf("%s to %s: %v, want a connect timeout (a dropped SYN)", from.name, to.name, err)
	}
}

// ours returns the lines of iptables-save -t filter in the node that name
// Chain, read with nsenter independently of the code under test.
func (r *rig) ours() []string {
	r.t.Helper()
	out, err := exec.Command("nsenter", "--net="+r.nodeNS, "iptables-save", "-t", "filter").CombinedOutput()
	if err != nil {
		r.t.Fatalf("iptables-save in node: %v: %s", err, out)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, Chain) {
			lines = append(lines, l)
		}
	}
	return lines
}

func testLogger(t testing.TB) *slog.Logger { return nettest.Logger(t, slog.LevelInfo) }
