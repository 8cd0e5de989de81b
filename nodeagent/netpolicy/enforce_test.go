package netpolicy

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/shoal-run/shoal/nodeagent/internal/netnsexec"
	"github.com/shoal-run/shoal/nodeagent/internal/nettest"
)

const denyWeb = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
`

const allowA = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-a, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: a}}}]
    ports: [{port: 8080}, {port: 8081}]
`

// webEgressDenied isolates web for egress with no rule: it may start no
// connection, but answers those it accepts.
const webEgressDenied = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-no-egress, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
`

// connections reads shoal_netpolicy_connections_total{policy,verdict}.
func connections(e *Enforcer, policy, verdict string) float64 {
	return testutil.ToFloat64(e.metrics.connections.WithLabelValues(policy, verdict))
}

// TestDefaultDenyIngress: a policy selecting web with no ingress rule
// drops a client's connection (counted once, however often the client
// retries), while the same client reaches another pod; removing the policy
// opens web again and removes its queue rule.
func TestDefaultDenyIngress(t *testing.T) {
	r := newRig(t, Config{})
	web, a, other := r.pod("shop", "web", "app=web"), r.pod("shop", "a", "app=a"), r.pod("shop", "other", "app=other")
	r.listen(r.enf)
	r.apply(r.enf, denyWeb)
	r.expectReach(a, other) // the network works: other is not selected
	r.expectDropped(a, web)
	r.expectDropped(a, web)
	if got := connections(r.enf, "shop/deny", dropped); got != 2 {
		t.Errorf("dropped under shop/deny = %v, want 2 (two connections, retransmissions not counted)", got)
	}
	want := []string{"-A " + Chain + " -d " + web.ip.String() + "/32"}
	if got := r.ours(); !containsPrefixes(got, want...) {
		t.Fatalf("rules %q lack %q", got, want)
	}
	r.apply(r.enf, "")
	r.expectReach(a, web)
	for _, l := range r.ours() {
		if strings.Contains(l, "NFQUEUE") {
			t.Fatalf("no policy left, yet a queue rule: %q", l)
		}
	}
}

// TestPolicyAllowsByLabel: policies are additive: with a default deny and
// a policy allowing app=a, a gets in and b does not; each connection is
// counted under the policy that decided it.
func TestPolicyAllowsByLabel(t *testing.T) {
	r := newRig(t, Config{})
	web, a, b := r.pod("shop", "web", "app=web"), r.pod("shop", "a", "app=a"), r.pod("shop", "b", "app=b")
	r.listen(r.enf)
	r.apply(r.enf, denyWeb+"---"+allowA)
	r.expectReach(a, web)
	r.expectDropped(b, web)
	r.expectReach(b, a) // b's network works
	if got := connections(r.enf, "shop/allow-a", accepted); got < 1 {
		t.Errorf("accepted under shop/allow-a = %v, want at least 1", got)
	}
	for _, p := range []string{"shop/allow-a", "shop/deny"} {
		if got := connections(r.enf, p, dropped); got != 1 {
			t.Errorf("dropped under %s = %v, want 1 (b's connection)", p, got)
		}
	}
	if got := r.enf.Selection(); len(got) != 1 || got[0].Pod.String() != "shop/web" || !got[0].Ingress || got[0].Egress {
		t.Fatalf("selection %+v, want shop/web for ingress only", got)
	}
}

// TestRepliesFlow: web may open no connection (egress isolated, no rule),
// yet its answers to a connection it accepted flow: replies are never
// queued.
func TestRepliesFlow(t *testing.T) {
	r := newRig(t, Config{})
	web, a := r.pod("shop", "web", "app=web"), r.pod("shop", "a", "app=a")
	r.listen(r.enf)
	r.apply(r.enf, allowA+"---"+webEgressDenied)
	r.expectReach(a, web)
	r.expectDropped(web, a)
	// A longer exchange: every reply of the connection comes back.
	c, err := a.client.Dial(web.addr(echoPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	rd := bufio.NewReader(c)
	if line, err := rd.ReadString('\n'); err != nil || line != web.greeting(a)+"\n" {
		t.Fatalf("greeting %q, %v", line, err)
	}
	for i := range 50 {
		msg := strings.Repeat("x", i*100) + "\n"
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if line, err := rd.ReadString('\n'); err != nil || line != msg {
			t.Fatalf("echo %d: %d bytes, %v", i, len(line), err)
		}
	}
}

// TestEstablishedSurviveRewrite: a connection accepted before a policy
// change that would deny it goes on after the rules are rewritten; a new
// one is dropped.
func TestEstablishedSurviveRewrite(t *testing.T) {
	r := newRig(t, Config{})
	web, a := r.pod("shop", "web", "app=web"), r.pod("shop", "a", "app=a")
	r.pod("shop", "b", "app=b")
	r.listen(r.enf)
	r.apply(r.enf, allowA)
	r.expectReach(a, web)
	c, err := a.client.Dial(web.addr(echoPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(c)
	if line, err := rd.ReadString('\n'); err != nil || line != web.greeting(a)+"\n" {
		t.Fatalf("greeting %q, %v", line, err)
	}
	before := r.ours()
	// Deny every pod of shop: the chain is rewritten (b and a are
	// selected now) and a's new connections to web are dropped.
	r.apply(r.enf, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec:
  podSelector: {}
`)
	if after := r.ours(); slices.Equal(before, after) {
		t.Fatalf("the rules were not rewritten: %q", after)
	}
	for i := range 5 {
		msg := "still here " + string(rune('0'+i)) + "\n"
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if line, err := rd.ReadString('\n'); err != nil || line != msg {
			t.Fatalf("established connection after the rewrite: %q, %v", line, err)
		}
	}
	r.expectDropped(a, web)
}

// TestFailClosedWithoutListener: with the listener stopped, the selected
// pod's new connections are dropped, even one the policies allow; an
// unselected pod is reached as before.
func TestFailClosedWithoutListener(t *testing.T) {
	r := newRig(t, Config{})
	web, a, other := r.pod("shop", "web", "app=web"), r.pod("shop", "a", "app=a"), r.pod("shop", "other", "app=other")
	stop := r.listen(r.enf)
	r.apply(r.enf, allowA)
	r.expectReach(a, web)
	stop()
	r.expectDropped(a, web)
	r.expectReach(a, other)
	r.listen(r.enf)
	r.expectReach(a, web)
}

// TestBypassWithoutListener: with Bypass, the queue rules carry
// --queue-bypass: with the listener stopped every new connection is
// accepted, even one the policies deny; once it runs again they are
// judged again.
func TestBypassWithoutListener(t *testing.T) {
	r := newRig(t, Config{Bypass: true})
	web, a, b := r.pod("shop", "web", "app=web"), r.pod("shop", "a", "app=a"), r.pod("shop", "b", "app=b")
	stop := r.listen(r.enf)
	r.apply(r.enf, allowA)
	r.expectReach(a, web)
	r.expectDropped(b, web)
	if got := r.ours(); !containsPrefixes(got, "-A "+Chain+" -d "+web.ip.String()+"/32") || !strings.Contains(strings.Join(got, "\n"), "--queue-bypass") {
		t.Fatalf("rules %q: want web's queue rule with --queue-bypass", got)
	}
	stop()
	r.expectReach(b, web)
	r.expectReach(a, web)
	r.listen(r.enf)
	nettest.WaitFor(t, 10*time.Second, "b dropped again once the listener is back", func() error {
		c, err := b.client.Dial(web.addr(greetPort))
		if err == nil {
			c.Close()
			return errors.New("b still reaches web")
		}
		return nil
	})
	r.expectReach(a, web)
}

// TestTeardownRemovesEverything: Setup is idempotent (one jump however
// often it runs), Teardown leaves no rule or chain and may run twice.
func TestTeardownRemovesEverything(t *testing.T) {
	r := newRig(t, Config{})
	web := r.pod("shop", "web", "app=web")
	r.apply(r.enf, denyWeb)
	for range 2 {
		if err := r.enf.Setup(); err != nil {
			t.Fatal(err)
		}
	}
	jumps := 0
	for _, l := range r.ours() {
		if strings.HasPrefix(l, "-A FORWARD") {
			jumps++
		}
	}
	if jumps != 1 {
		t.Fatalf("%d jumps after three Setups, want 1: %q", jumps, r.ours())
	}
	// After Setup the chain keeps its rules until the next Update
	// rewrites it (an agent restart keeps enforcing).
	if got := r.ours(); !containsPrefixes(got, "-A "+Chain+" -d "+web.ip.String()+"/32") {
		t.Fatalf("Setup dropped the queue rules: %q", got)
	}
	for range 2 {
		if err := r.enf.Teardown(); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.ours(); len(got) != 0 {
		t.Fatalf("after Teardown: %q", got)
	}
}

func containsPrefixes(lines []string, prefixes ...string) bool {
	for _, p := range prefixes {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, p) }) {
			return false
		}
	}
	return true
}

// TestAcceptedPacketsMeetTheOtherRules: an accepted packet goes on through
// the rest of filter FORWARD (NF_REPEAT, not NF_ACCEPT), so that the
// node's other rules still apply: a REJECT after the jump refuses a
// connection the policies allow.
func TestAcceptedPacketsMeetTheOtherRules(t *testing.T) {
	r := newRig(t, Config{})
	web, a := r.pod("shop", "web", "app=web"), r.pod("shop", "a", "app=a")
	r.listen(r.enf)
	r.apply(r.enf, allowA)
	r.expectReach(a, web)
	rule := []string{"-t", "filter", "-A", "FORWARD", "-d", web.ip.String() + "/32", "-p", "tcp", "--dport", "8081",
		"-m", "comment", "--comment", "netpolicy test", "-j", "REJECT", "--reject-with", "tcp-reset"}
	if out, err := exec.Command("nsenter", append([]string{"--net=" + r.nodeNS, "iptables"}, rule...)...).CombinedOutput(); err != nil {
		t.Fatalf("add the REJECT rule: %v: %s", err, out)
	}
	_, err := a.client.Dial(web.addr(echoPort))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("a to web:%d with a REJECT rule after the jump: %v, want connection refused", echoPort, err)
	}
	r.expectReach(a, web) // port 8080 still allowed, and accepted
}

// TestAcceptedConnectionIsMarked: an accepted connection's later packets
// that conntrack still sees as new (UDP without an answer) are not queued
// again: the connection carries the mark, and the listener judged only the
// first datagram.
func TestAcceptedConnectionIsMarked(t *testing.T) {
	r := newRig(t, Config{})
	web, a := r.pod("shop", "web", "app=web"), r.pod("shop", "a", "app=a")
	got := udpSink(t, web.netns, udpPort)
	r.listen(r.enf)
	r.apply(r.enf, `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-udp, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: a}}}]
    ports: [{protocol: UDP, port: 5353}]
`)
	send := udpSender(t, a.netns, netip.AddrPortFrom(web.ip, udpPort))
	// The listener may still be binding: send until the first datagram
	// arrives, then three more.
	nettest.WaitFor(t, 5*time.Second, "a's first datagram reaching web", func() error {
		send("first")
		select {
		case m := <-got:
			if m != "first from "+a.ip.String() {
				return fmt.Errorf("web got %q", m)
			}
			return nil
		case <-time.After(200 * time.Millisecond):
			return errors.New("nothing arrived")
		}
	})
	for _, msg := range []string{"two", "three", "four"} {
		send(msg)
		select {
		case m := <-got:
			if m != msg+" from "+a.ip.String() {
				t.Fatalf("web got %q, want %q", m, msg)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("datagram %q lost", msg)
		}
	}
	if n := connections(r.enf, "shop/allow-udp", accepted); n != 1 {
		t.Fatalf("accepted under shop/allow-udp = %v, want 1: the later datagrams were queued again", n)
	}
}

const udpPort = 5353

// udpSink listens for UDP datagrams on port in the namespace at nsPath and
// hands on "<payload> from <sender IP>" for each, until cleanup.
func udpSink(t *testing.T, nsPath string, port int) <-chan string {
	t.Helper()
	var pc net.PacketConn
	if err := netnsexec.Do(nsPath, func() (err error) {
		pc, err = net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 16)
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(from.String())
			select {
			case out <- string(buf[:n]) + " from " + host:
			default:
			}
		}
	}()
	return out
}

// udpSender returns a function that sends a datagram to dst from one
// socket of the namespace at nsPath (one flow for conntrack).
func udpSender(t *testing.T, nsPath string, dst netip.AddrPort) func(string) {
	t.Helper()
	var c net.Conn
	if err := netnsexec.Do(nsPath, func() (err error) {
		c, err = net.Dial("udp4", dst.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return func(msg string) {
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatalf("send %q: %v", msg, err)
		}
	}
}
