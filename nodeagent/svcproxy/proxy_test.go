package svcproxy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/reconciler/services"
	corev1 "k8s.io/api/core/v1"
)

// names returns the sorted server names of a bodies count ("a from x" → "a").
func names(got map[string]int) []string {
	seen := map[string]bool{}
	for body := range got {
		seen[strings.SplitN(body, " ", 2)[0]] = true
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// sources returns the sorted client addresses the servers saw.
func sources(got map[string]int) []string {
	seen := map[string]bool{}
	for body := range got {
		_, src, _ := strings.Cut(body, " from ")
		seen[src] = true
	}
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func notReady(e services.Endpoint) services.Endpoint { e.Ready = false; return e }

func TestClusterIPSpreadsOverReadyPods(t *testing.T) {
	r := newRig(t)
	a, b, c, d := r.pod("a"), r.pod("b"), r.pod("c"), r.pod("d")
	client := r.pod("client")
	r.sync(svc("web", "10.96.0.10", a.endpoint(), b.endpoint(), c.endpoint(), notReady(d.endpoint())))

	got := newDialer(t, client.ns).bodies(t, "10.96.0.10:80", 90)
	t.Logf("90 connections: %v", got)
	for _, p := range []*pod{a, b, c} {
		if n := got[p.name+" from "+client.ip.String()]; n < 10 {
			t.Errorf("pod %s got %d of 90 connections, want about 30 (all: %v)", p.name, n, got)
		}
	}
	if n := names(got); strings.Join(n, ",") != "a,b,c" {
		t.Errorf("answers from %v, want a, b and c only (d is not ready): %v", n, got)
	}
	if s := sources(got); strings.Join(s, ",") != client.ip.String() {
		t.Errorf("pods saw sources %v, want the client pod's %s (pod traffic is not masqueraded)", s, client.ip)
	}

	// The node itself (nat OUTPUT), masqueraded: its source is not a pod's.
	got = newDialer(t, r.nodeNS).bodies(t, "10.96.0.10:80", 30)
	if n := names(got); len(n) < 2 || strings.Contains(strings.Join(n, ","), "d") {
		t.Errorf("from the node, answers from %v, want several of a, b, c: %v", n, got)
	}
	if s := sources(got); strings.Join(s, ",") != "10.244.1.1" {
		t.Errorf("from the node, pods saw sources %v, want the bridge address 10.244.1.1 (masqueraded)", s)
	}

	// A machine outside the cluster routed to the node: masqueraded.
	r.clientRoute(serviceCIDR)
	got = newDialer(t, r.clientNS).bodies(t, "10.96.0.10:80", 10)
	if s := sources(got); strings.Join(s, ",") != "10.244.1.1" {
		t.Errorf("from outside the cluster, pods saw sources %v, want 10.244.1.1 (masqueraded): %v", s, got)
	}
}

func TestRefusals(t *testing.T) {
	r := newRig(t)
	a, client := r.pod("a"), r.pod("client")
	np := svc("np", "10.96.0.23")
	np.Type, np.Ports[0].NodePort = corev1.ServiceTypeNodePort, 30090
	r.sync(
		svc("none", "10.96.0.20"),
		svc("unready", "10.96.0.21", notReady(a.endpoint())),
		svc("web", "10.96.0.22", a.endpoint()),
		np,
	)
	pd := newDialer(t, client.ns)
	if body, err := pd.fetch("10.96.0.22:80"); err != nil || body != "a from "+client.ip.String() {
		t.Fatalf("web: %q, %v; want a's answer", body, err)
	}
	for what, addr := range map[string]string{
		"no endpoint":            "10.96.0.20:80",
		"only a not-ready one":   "10.96.0.21:80",
		"no Service owns it":     "10.96.0.99:80",
		"a port web has not":     "10.96.0.22:81",
		"node port, no endpoint": nodeLANAddr + ":30090",
	} {
		t.Run("pod/"+what, func(t *testing.T) { pd.expectRefused(t, addr) })
	}
	nd := newDialer(t, r.nodeNS)
	for what, addr := range map[string]string{
		"no endpoint":        "10.96.0.20:80",
		"no Service owns it": "10.96.0.99:80",
	} {
		t.Run("node/"+what, func(t *testing.T) { nd.expectRefused(t, addr) })
	}
	t.Run("outside/node port, no endpoint", func(t *testing.T) {
		newDialer(t, r.clientNS).expectRefused(t, nodeLANAddr+":30090")
	})
}

func TestNodePort(t *testing.T) {
	r := newRig(t)
	a, b, client := r.pod("a"), r.pod("b"), r.pod("client")
	s := svc("np", "10.96.0.30", a.endpoint(), b.endpoint())
	s.Type, s.Ports[0].NodePort = corev1.ServiceTypeNodePort, 30080
	s.ExternalIPs = []netip.Addr{netip.MustParseAddr("203.0.113.7")}
	r.sync(s)

	got := newDialer(t, r.clientNS).bodies(t, nodeLANAddr+":30080", 40)
	if n := names(got); strings.Join(n, ",") != "a,b" {
		t.Errorf("node port from outside answered by %v, want a and b: %v", n, got)
	}
	if s := sources(got); strings.Join(s, ",") != "10.244.1.1" {
		t.Errorf("pods saw %v, want 10.244.1.1 (Cluster policy masquerades external traffic)", s)
	}
	// An external IP the network routes to the node.
	r.clientRoute("203.0.113.7/32")
	got = newDialer(t, r.clientNS).bodies(t, "203.0.113.7:80", 20)
	if n := names(got); len(n) == 0 || n[0] != "a" && n[0] != "b" {
		t.Errorf("external IP answered by %v, want a and b", got)
	}
	// Every local address: the bridge's too, from a pod.
	got = newDialer(t, client.ns).bodies(t, "10.244.1.1:30080", 20)
	if n := names(got); len(n) == 0 || strings.Join(n, ",") != "a,b" && strings.Join(n, ",") != "a" && strings.Join(n, ",") != "b" {
		t.Errorf("node port on the bridge address answered by %v", got)
	}
}

func TestAffinityAndHairpin(t *testing.T) {
	r := newRig(t)
	a, b, c, client := r.pod("a"), r.pod("b"), r.pod("c"), r.pod("client")
	sticky := svc("sticky", "10.96.0.50", a.endpoint(), b.endpoint(), c.endpoint())
	sticky.Affinity = time.Hour
	r.sync(sticky, svc("self", "10.96.0.51", a.endpoint()))

	got := newDialer(t, client.ns).bodies(t, "10.96.0.50:80", 30)
	if len(got) != 1 {
		t.Errorf("ClientIP affinity: 30 connections of one client answered by %v, want one pod", got)
	}
	// A pod reaching itself through its Service (hairpin + masquerade).
	body, err := newDialer(t, a.ns).fetch("10.96.0.51:80")
	if err != nil || body != "a from 10.244.1.1" {
		t.Errorf("pod a through its own Service: %q, %v; want \"a from 10.244.1.1\"", body, err)
	}
}

type healthBody struct {
	Service struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"service"`
	LocalEndpoints int `json:"localEndpoints"`
}

// expectHealth asserts the health-check answer seen from the client.
func expectHealth(t *testing.T, d *dialer, port int32, code, local int) {
	t.Helper()
	status, body, err := d.httpGet(fmt.Sprintf("http://%s:%d/", nodeLANAddr, port))
	if err != nil {
		t.Fatalf("health check port %d: %v", port, err)
	}
	var hb healthBody
	if err := json.Unmarshal([]byte(body), &hb); err != nil {
		t.Fatalf("health check body %q: %v", body, err)
	}
	if status != code || hb.LocalEndpoints != local || hb.Service.Namespace != "default" || hb.Service.Name != "local" {
		t.Errorf("health check port %d: %d %s, want %d with default/local and localEndpoints %d", port, status, body, code, local)
	}
}

func TestExternalTrafficPolicyLocal(t *testing.T) {
	r := newRig(t)
	a, b, client := r.pod("a"), r.pod("b"), r.pod("client")
	local := func(eps ...services.Endpoint) services.Service {
		s := svc("local", "10.96.0.60", eps...)
		s.Type, s.Ports[0].NodePort, s.ExternalLocal, s.HealthCheckNodePort = corev1.ServiceTypeLoadBalancer, 30060, true, 32060
		return s
	}
	r.sync(local(a.endpoint(), b.endpoint(), farEndpoint()))
	outside, inside := newDialer(t, r.clientNS), newDialer(t, client.ns)

	got := outside.bodies(t, nodeLANAddr+":30060", 40)
	if n := names(got); strings.Join(n, ",") != "a,b" {
		t.Errorf("external traffic answered by %v, want only the local pods a and b: %v", n, got)
	}
	if s := sources(got); strings.Join(s, ",") != clientAddr {
		t.Errorf("local pods saw %v, want the client's own address %s (not masqueraded)", s, clientAddr)
	}
	got = inside.bodies(t, nodeLANAddr+":30060", 40)
	if got["far from "+client.ip.String()] == 0 {
		t.Errorf("a pod of the node reaches only %v through the node port, want the remote endpoint too", got)
	}
	expectHealth(t, outside, 32060, 200, 2)

	// No local endpoint any more: external traffic refused, pods still
	// served by the remote one.
	r.sync(local(farEndpoint()))
	outside.expectRefused(t, nodeLANAddr+":30060")
	if body, err := inside.fetch(nodeLANAddr + ":30060"); err != nil || body != "far from "+client.ip.String() {
		t.Errorf("pod through the node port without local endpoints: %q, %v; want the remote endpoint", body, err)
	}
	expectHealth(t, outside, 32060, 503, 0)

	// The Service gone: its health-check server too.
	r.sync()
	if _, _, err := outside.httpGet(fmt.Sprintf("http://%s:%d/", nodeLANAddr, 32060)); err == nil {
		t.Error("health-check port still answers after its Service went")
	}
}

func TestInternalTrafficPolicyLocal(t *testing.T) {
	r := newRig(t)
	a, client := r.pod("a"), r.pod("client")
	internal := func(eps ...services.Endpoint) services.Service {
		s := svc("internal", "10.96.0.70", eps...)
		s.InternalLocal = true
		return s
	}
	r.sync(internal(a.endpoint(), farEndpoint()))
	d := newDialer(t, client.ns)
	if got := d.bodies(t, "10.96.0.70:80", 30); strings.Join(names(got), ",") != "a" {
		t.Errorf("internal Local cluster IP answered by %v, want only the local pod a", got)
	}
	r.sync(internal(farEndpoint()))
	d.expectRefused(t, "10.96.0.70:80")
}

func TestSyncReplacesTable(t *testing.T) {
	r := newRig(t)
	a, b, client := r.pod("a"), r.pod("b"), r.pod("client")
	d := newDialer(t, client.ns)
	r.sync(svc("web", "10.96.0.80", a.endpoint(), b.endpoint()))
	if got := d.bodies(t, "10.96.0.80:80", 30); strings.Join(names(got), ",") != "a,b" {
		t.Fatalf("answered by %v, want a and b", got)
	}
	r.sync(svc("web", "10.96.0.80", b.endpoint()))
	if got := d.bodies(t, "10.96.0.80:80", 30); strings.Join(names(got), ",") != "b" {
		t.Errorf("after a's removal answered by %v, want only b", got)
	}
	if r.proxy.lastWritten != 1 {
		t.Errorf("the Sync rewrote %d chains, want 1 (only web's SVC chain changed)", r.proxy.lastWritten)
	}
	nat := r.iptablesSave("nat")
	if n := strings.Count(nat, ":"+prefixSEP); n != 1 {
		t.Errorf("%d SEP chains after the sync, want 1 (the removed endpoint's chain deleted):\n%s", n, nat)
	}
	r.sync()
	d.expectRefused(t, "10.96.0.80:80")
	if nat := r.iptablesSave("nat"); strings.Contains(nat, prefixSVC) || strings.Contains(nat, prefixSEP) {
		t.Errorf("service chains left after syncing an empty table:\n%s", nat)
	}
}

func TestLoadBalancerAnnouncement(t *testing.T) {
	r := newRig(t)
	a := r.pod("a")
	lbIP := netip.MustParseAddr("192.168.77.100")
	lb := func(announcer string) services.Service {
		s := svc("lb", "10.96.0.90", a.endpoint())
		s.Type, s.Ports[0].NodePort = corev1.ServiceTypeLoadBalancer, 30091
		s.LoadBalancerIP, s.Announcer = lbIP, announcer
		return s
	}
	nodeMAC := func() net.HardwareAddr {
		l, err := r.handle(r.nodeNS).LinkByName(r.lab)
		if err != nil {
			t.Fatal(err)
		}
		return l.Attrs().HardwareAddr
	}()
	arp := openARP(t, r.clientNS, "lan0")
	client := netip.MustParseAddr(clientAddr)

	start := time.Now()
	r.sync(lb(nodeName))
	p, ok := arp.next(t, start.Add(5*time.Second), func(p arpPacket) bool { return p.spa == lbIP })
	if !ok {
		t.Fatal("no gratuitous ARP for 192.168.77.100 within 5s")
	}
	if p.sha.String() != nodeMAC.String() || p.tpa != lbIP {
		t.Errorf("gratuitous ARP %+v, want sender %s at %s and target %s", p, lbIP, nodeMAC, lbIP)
	}
	if got := strings.Join(r.lbAddrs(), ","); got != "192.168.77.100 "+r.lab+":lb" {
		t.Errorf("addresses /32 on %s: %q, want 192.168.77.100 labelled %s:lb", r.lab, got, r.lab)
	}
	if mac, ok := arp.ask(t, client, lbIP, time.Second); !ok || mac.String() != nodeMAC.String() {
		t.Errorf("ARP for the announced address: answered %v by %s, want the node's %s", ok, mac, nodeMAC)
	}
	body, err := newDialer(t, r.clientNS).fetch(lbIP.String() + ":80")
	if err != nil || body != "a from 10.244.1.1" {
		t.Errorf("load balancer from the client: %q, %v; want \"a from 10.244.1.1\"", body, err)
	}
	// The node answers ARP on that link only for its addresses there.
	if _, ok := arp.ask(t, client, netip.MustParseAddr(nodeLANAddr), time.Second); !ok {
		t.Error("no ARP answer for the node's own address (the probe does not work)")
	}
	if mac, ok := arp.ask(t, client, netip.MustParseAddr("10.244.1.1"), 300*time.Millisecond); ok {
		t.Errorf("the node answers ARP on the node network for its pod gateway 10.244.1.1 (%s)", mac)
	}

	// Another node announces it now: the address goes.
	r.sync(lb("n2"))
	if got := r.lbAddrs(); len(got) != 0 {
		t.Errorf("addresses /32 on %s after the announcer changed: %q, want none", r.lab, got)
	}
	if mac, ok := arp.ask(t, client, lbIP, 300*time.Millisecond); ok {
		t.Errorf("the node still answers ARP for 192.168.77.100 (%s) after it stopped announcing it", mac)
	}
}

// TestSetupSyncTeardown: Setup is idempotent, a new Proxy (an agent
// restart) keeps the rules until its first Sync and then deletes what it
// no longer needs, and Teardown leaves nothing behind.
func TestSetupSyncTeardown(t *testing.T) {
	r := newRig(t)
	a, b, client := r.pod("a"), r.pod("b"), r.pod("client")
	rich := svc("rich", "10.96.0.100", a.endpoint(), b.endpoint(), farEndpoint())
	rich.Type, rich.Ports[0].NodePort, rich.ExternalLocal, rich.HealthCheckNodePort = corev1.ServiceTypeLoadBalancer, 30100, true, 32100
	rich.LoadBalancerIP, rich.Announcer, rich.Affinity = netip.MustParseAddr("192.168.77.101"), nodeName, time.Minute
	other := svc("other", "10.96.0.101", b.endpoint())
	r.sync(rich, other)
	if err := r.proxy.Setup(); err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	for _, want := range []string{
		"nat: -A PREROUTING -m comment --comment \"shoal service portals\" -j SHOAL-SERVICES",
		"nat: -A OUTPUT -m comment --comment \"shoal service portals\" -j SHOAL-SERVICES",
		"nat: -A POSTROUTING -m comment --comment \"shoal service masquerade\" -j SHOAL-POSTROUTING",
		"filter: -A INPUT -m conntrack --ctstate NEW -m comment --comment \"shoal service refusals\" -j SHOAL-SERVICES",
		"filter: -A FORWARD -m conntrack --ctstate NEW -m comment --comment \"shoal service refusals\" -j SHOAL-SERVICES",
		"filter: -A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"shoal service refusals\" -j SHOAL-SERVICES",
	} {
		n := 0
		for _, l := range r.ours() {
			if l == want {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d copies of %q after two Setups, want 1", n, want)
		}
	}

	// An agent restart: a new Proxy's Setup keeps the rules working.
	d := newDialer(t, client.ns)
	p2, err := New(r.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := p2.Setup(); err != nil {
		t.Fatalf("Setup of a new Proxy: %v", err)
	}
	if body, err := d.fetch("10.96.0.101:80"); err != nil || body != "b from "+client.ip.String() {
		t.Errorf("after a new Proxy's Setup: %q, %v; want b's answer (rules kept until the first Sync)", body, err)
	}
	if err := p2.Sync(table(other)); err != nil {
		t.Fatalf("Sync of the new Proxy: %v", err)
	}
	if nat := r.iptablesSave("nat"); strings.Count(nat, ":"+prefixSEP) != 1 || strings.Contains(nat, prefixEXT) {
		t.Errorf("the new Proxy's first Sync left chains of the old table:\n%s", nat)
	}
	// The old agent is gone with its health-check server.
	r.proxy.stopHealth()
	if err := p2.Sync(table(rich, other)); err != nil {
		t.Fatal(err)
	}

	if err := p2.Teardown(); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if left := r.ours(); len(left) != 0 {
		t.Errorf("Teardown left iptables chains or rules:\n%s", strings.Join(left, "\n"))
	}
	if left := r.lbAddrs(); len(left) != 0 {
		t.Errorf("Teardown left addresses: %q", left)
	}
	if _, _, err := newDialer(t, r.clientNS).httpGet(fmt.Sprintf("http://%s:32100/", nodeLANAddr)); err == nil {
		t.Error("health-check port still answers after Teardown")
	}
	if err := p2.Teardown(); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
	// A Sync after Teardown sets up again.
	if err := p2.Sync(table(other)); err != nil {
		t.Fatalf("Sync after Teardown: %v", err)
	}
	if body, err := d.fetch("10.96.0.101:80"); err != nil || body != "b from "+client.ip.String() {
		t.Errorf("after Teardown and Sync: %q, %v; want b's answer", body, err)
	}
	if err := p2.Teardown(); err != nil {
		t.Fatal(err)
	}
}
