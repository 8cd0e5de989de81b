package podnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const (
	podCIDR     = "10.244.1.0/24"
	clusterCIDR = "10.244.0.0/16"
)

// checkPodInterfaces asserts lo and eth0 are up in the sandbox, eth0 has the
// sandbox's address and the default route goes via the gateway.
func checkPodInterfaces(t *testing.T, r *rig, sb *Sandbox) {
	t.Helper()
	h := r.handle(sb.NetNS)
	for _, name := range []string{"lo", "eth0"} {
		l, err := h.LinkByName(name)
		if err != nil {
			t.Fatalf("%s: find %s: %v", sb.ID, name, err)
		}
		if l.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("%s: %s is down", sb.ID, name)
		}
	}
	eth0, _ := h.LinkByName("eth0")
	addrs, err := h.AddrList(eth0, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%s/24", sb.IP)
	if len(addrs) != 1 || addrs[0].IPNet.String() != want {
		t.Errorf("%s: eth0 addresses %v, want [%s]", sb.ID, addrs, want)
	}
	routes, err := h.RouteList(eth0, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var def []netlink.Route
	for _, rt := range routes {
		if rt.Dst == nil || (rt.Dst.IP.IsUnspecified() && rt.Dst.Mask != nil && net.IP(rt.Dst.Mask).IsUnspecified()) {
			def = append(def, rt)
		}
	}
	if len(def) != 1 || !def[0].Gw.Equal(sb.Gateway.AsSlice()) {
		t.Errorf("%s: default routes %v, want one via %s", sb.ID, def, sb.Gateway)
	}
}

func TestTwoSandboxesOnOneNode(t *testing.T) {
	r := newRig(t)
	n := r.network(r.config(podCIDR, clusterCIDR))
	a := create(t, n, SandboxSpec{ID: "pod-a", Hostname: "a"})
	b := create(t, n, SandboxSpec{ID: "pod-b", Hostname: "b"})

	if a.IP != netip.MustParseAddr("10.244.1.2") || b.IP != netip.MustParseAddr("10.244.1.3") {
		t.Errorf("pod IPs %s and %s, want 10.244.1.2 and 10.244.1.3", a.IP, b.IP)
	}
	for _, sb := range []*Sandbox{a, b} {
		if sb.Gateway != netip.MustParseAddr("10.244.1.1") {
			t.Errorf("%s: gateway %s, want 10.244.1.1", sb.ID, sb.Gateway)
		}
		if !isNamespaceFile(sb.NetNS) || !isNamespaceFile(sb.IPCNS) || !isNamespaceFile(sb.UTSNS) {
			t.Errorf("%s: namespace files are not bind-mounted namespaces: %+v", sb.ID, sb)
		}
		checkPodInterfaces(t, r, sb)
	}

	// The host end is a hairpin port of the bridge.
	node := r.handle(r.nodeNS)
	br, err := node.LinkByName(n.Config().Bridge)
	if err != nil {
		t.Fatal(err)
	}
	hv, err := node.LinkByName(hostVethName(n.Config().Bridge, "pod-a"))
	if err != nil {
		t.Fatal(err)
	}
	if hv.Attrs().MasterIndex != br.Attrs().Index {
		t.Errorf("veth %s is not a port of bridge %s", hv.Attrs().Name, br.Attrs().Name)
	}
	if p, err := node.LinkGetProtinfo(hv); err != nil || !p.Hairpin {
		t.Errorf("veth %s: hairpin mode off (protinfo %+v, %v)", hv.Attrs().Name, p, err)
	}

	serve(t, a.NetNS, ":8080", func(remote string) string { return "hello from pod-a to " + remote })
	aAddr := net.JoinHostPort(a.IP.String(), "8080")
	expectBody(t, b.NetNS, aAddr, "hello from pod-a to "+b.IP.String())
	// The node reaches pods by pod IP, and a pod reaches itself.
	expectBody(t, r.nodeNS, aAddr, "hello from pod-a to 10.244.1.1")
	expectBody(t, a.NetNS, aAddr, "hello from pod-a to "+a.IP.String())
}

func TestSandboxNamespaces(t *testing.T) {
	r := newRig(t)
	n := r.network(r.config(podCIDR, clusterCIDR))
	hostname, _ := os.Hostname()
	sb := create(t, n, SandboxSpec{ID: "web-0", Hostname: "web-0.example"})

	out, err := exec.Command("nsenter", "--uts="+sb.UTSNS, "/bin/busybox", "hostname").CombinedOutput()
	if err != nil {
		t.Fatalf("hostname in UTS namespace: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "web-0.example" {
		t.Errorf("hostname in sandbox %q, want web-0.example", got)
	}
	if h, _ := os.Hostname(); h != hostname {
		t.Errorf("the node's hostname changed from %q to %q", hostname, h)
	}

	// The IPC namespace is not the host's, and two processes joining it
	// share it.
	var st unix.Stat_t
	if err := unix.Stat(sb.IPCNS, &st); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("ipc:[%d]", st.Ino)
	host, err := os.Readlink("/proc/self/ns/ipc")
	if err != nil {
		t.Fatal(err)
	}
	if host == want {
		t.Fatalf("sandbox IPC namespace %s is the host's", want)
	}
	var pids []int
	for range 2 {
		cmd := exec.Command("nsenter", "--ipc="+sb.IPCNS, "/bin/busybox", "sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		pids = append(pids, cmd.Process.Pid)
	}
	for _, pid := range pids {
		waitFor(t, 5*time.Second, func() error {
			got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/ipc", pid))
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("process %d is in %s, want %s", pid, got, want)
			}
			return nil
		}, "process %d joins the sandbox IPC namespace", pid)
	}

	// hostNetwork shares the node's network and UTS; hostIPC the node's IPC.
	hn := create(t, n, SandboxSpec{ID: "host-net", HostNetwork: true, HostPorts: []HostPort{{HostPort: 9999, ContainerPort: 9999}}})
	if hn.NetNS != "" || hn.UTSNS != "" || hn.IP.IsValid() || hn.Gateway.IsValid() || hn.IPCNS == "" || len(hn.HostPorts) != 0 {
		t.Errorf("hostNetwork sandbox %+v: want only an IPC namespace", hn)
	}
	hi := create(t, n, SandboxSpec{ID: "host-ipc", HostIPC: true})
	if hi.IPCNS != "" || hi.NetNS == "" || hi.UTSNS == "" || !hi.IP.IsValid() {
		t.Errorf("hostIPC sandbox %+v: want network and UTS namespaces only", hi)
	}
	both := create(t, n, SandboxSpec{ID: "host-all", HostNetwork: true, HostIPC: true})
	if both.IPCNS != "" || both.NetNS != "" || both.UTSNS != "" {
		t.Errorf("hostNetwork+hostIPC sandbox %+v: want no namespaces", both)
	}
	if _, err := os.Stat(n.nsPath("host-all")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("hostNetwork+hostIPC sandbox has a namespace folder: %v", err)
	}
}

func TestHostPort(t *testing.T) {
	r := newRig(t)
	n := r.network(r.config(podCIDR, clusterCIDR))
	c := r.attachClient(podCIDR)
	a := create(t, n, SandboxSpec{ID: "pod-a", HostPorts: []HostPort{
		{Protocol: "TCP", HostPort: 8080, ContainerPort: 80},
		{Protocol: "TCP", HostIP: c.nodeAddr, HostPort: 8081, ContainerPort: 81},
	}})
	b := create(t, n, SandboxSpec{ID: "pod-b"})
	serve(t, a.NetNS, ":80", func(remote string) string { return "pod-a:80 from " + remote })
	serve(t, a.NetNS, ":81", func(remote string) string { return "pod-a:81 from " + remote })

	hp := func(host string, port int) string { return net.JoinHostPort(host, fmt.Sprint(port)) }
	// From another machine on the node's LAN: the source is kept.
	expectBody(t, c.ns, hp(c.nodeAddr, 8080), "pod-a:80 from "+c.addr)
	expectBody(t, c.ns, hp(c.nodeAddr, 8081), "pod-a:81 from "+c.addr)
	// From the node itself, on its LAN address and on localhost.
	expectBody(t, r.nodeNS, hp(c.nodeAddr, 8080), "pod-a:80 from "+c.nodeAddr)
	expectBody(t, r.nodeNS, hp("127.0.0.1", 8080), "pod-a:80 from 10.244.1.1")
	// From another pod through the gateway (the reply is bridged back and
	// un-DNAT'ed thanks to bridge-nf-call-iptables).
	expectBody(t, b.NetNS, hp(a.Gateway.String(), 8080), "pod-a:80 from "+b.IP.String())
	// The pod reaches itself through the bridge (hairpin + masquerade).
	expectBody(t, a.NetNS, hp(a.Gateway.String(), 8080), "pod-a:80 from 10.244.1.1")
	expectBody(t, a.NetNS, hp(c.nodeAddr, 8080), "pod-a:80 from 10.244.1.1")
	// The hostIP-bound port answers on its address only.
	if body, err := fetch(r.nodeNS, hp("127.0.0.1", 8081)); err == nil {
		t.Errorf("hostPort bound to %s answered on 127.0.0.1: %q", c.nodeAddr, body)
	}

	// Rules name their sandbox.
	if got := matching(r.natRules(), "shoal sandbox pod-a: hostPort"); len(got) != 2 {
		t.Errorf("hostPort rules of pod-a: %q, want 2", got)
	}

	// A second sandbox cannot take the same port.
	_, err := n.CreateSandbox(SandboxSpec{ID: "pod-c", HostPorts: []HostPort{{HostPort: 8080, ContainerPort: 80}}})
	if !errors.Is(err, ErrHostPortInUse) || !strings.Contains(err.Error(), "pod-a") {
		t.Errorf("CreateSandbox with a taken hostPort: %v, want ErrHostPortInUse naming pod-a", err)
	}
	if _, err := n.Sandbox("pod-c"); !errors.Is(err, ErrNotFound) {
		t.Errorf("refused sandbox exists: %v", err)
	}
	// UDP on the same number is another port.
	create(t, n, SandboxSpec{ID: "pod-d", HostPorts: []HostPort{{Protocol: "UDP", HostPort: 8080, ContainerPort: 53}}})

	if err := n.RemoveSandbox("pod-a"); err != nil {
		t.Fatal(err)
	}
	if got := matching(r.natRules(), "pod-a"); len(got) != 0 {
		t.Errorf("rules of pod-a after RemoveSandbox: %q", got)
	}
	if body, err := fetch(c.ns, hp(c.nodeAddr, 8080)); err == nil {
		t.Errorf("hostPort still answers after RemoveSandbox: %q", body)
	}
}

func TestEgressMasquerade(t *testing.T) {
	r := newRig(t)
	n := r.network(r.config(podCIDR, clusterCIDR))
	c := r.attachClient(podCIDR)
	a := create(t, n, SandboxSpec{ID: "pod-a"})
	serve(t, c.ns, ":9000", func(remote string) string { return "client sees " + remote })

	// Leaving the cluster: masqueraded to the node's address.
	expectBody(t, a.NetNS, net.JoinHostPort(c.addr, "9000"), "client sees "+c.nodeAddr)
	// Inside the cluster CIDR (a pod on another node): the pod IP is kept.
	expectBody(t, a.NetNS, net.JoinHostPort(c.farAddr, "9000"), "client sees "+a.IP.String())
}

func TestRestartKeepsSandboxes(t *testing.T) {
	r := newRig(t)
	cfg := r.config(podCIDR, clusterCIDR)
	n1 := r.network(cfg)
	a := create(t, n1, SandboxSpec{ID: "pod-a", HostPorts: []HostPort{{HostPort: 8080, ContainerPort: 80}}})
	b := create(t, n1, SandboxSpec{ID: "pod-b"})
	rulesBefore := r.natRules()
	chainsBefore := r.natChains()

	// The agent restarts: a new Network on the same StateDir.
	n2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := n2.Sandboxes()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "pod-a" || got[0].IP != a.IP || got[1].ID != "pod-b" || got[1].IP != b.IP {
		t.Fatalf("Sandboxes after restart: %+v, want pod-a@%s and pod-b@%s", got, a.IP, b.IP)
	}
	sa, err := n2.Sandbox("pod-a")
	if err != nil {
		t.Fatal(err)
	}
	if sa.NetNS != a.NetNS || sa.IPCNS != a.IPCNS || sa.UTSNS != a.UTSNS || sa.Gateway != a.Gateway || len(sa.HostPorts) != 1 {
		t.Errorf("Sandbox(pod-a) after restart %+v, want %+v", sa, a)
	}
	for range 2 {
		if err := n2.Setup(); err != nil {
			t.Fatalf("Setup after restart: %v", err)
		}
		if after := r.natRules(); !slices.Equal(after, rulesBefore) {
			t.Errorf("nat rules changed by Setup:\nbefore %q\nafter  %q", rulesBefore, after)
		}
		if after := r.natChains(); !slices.Equal(after, chainsBefore) {
			t.Errorf("nat chains changed by Setup: before %q after %q", chainsBefore, after)
		}
	}
	br, err := r.handle(r.nodeNS).LinkByName(cfg.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	if addrs, _ := r.handle(r.nodeNS).AddrList(br, netlink.FAMILY_V4); len(addrs) != 1 {
		t.Errorf("bridge addresses after two Setups: %v", addrs)
	}
	if m, _ := mountsUnder(filepath.Join(cfg.StateDir, nsDir)); len(m) != 1+3+3 {
		t.Errorf("mounts under the namespace folder after two Setups: %q, want the folder and 6 namespace files", m)
	}

	// A new sandbox gets a new address; asking again for an existing one
	// returns it unchanged.
	c := create(t, n2, SandboxSpec{ID: "pod-c"})
	if c.IP == a.IP || c.IP == b.IP || !cfg.PodCIDR.Contains(c.IP) {
		t.Errorf("new sandbox got %s; in use: %s, %s", c.IP, a.IP, b.IP)
	}
	again := create(t, n2, SandboxSpec{ID: "pod-a"})
	if again.IP != a.IP || again.NetNS != a.NetNS {
		t.Errorf("CreateSandbox(pod-a) again: %+v, want the existing %+v", again, a)
	}
	// The re-attached sandboxes still work.
	serve(t, a.NetNS, ":80", func(string) string { return "pod-a survived" })
	expectBody(t, c.NetNS, net.JoinHostPort(a.IP.String(), "80"), "pod-a survived")
	expectBody(t, c.NetNS, net.JoinHostPort(c.Gateway.String(), "8080"), "pod-a survived")
}

func TestRemoveSandboxAndTeardownLeaveNothing(t *testing.T) {
	r := newRig(t)
	cfg := r.config(podCIDR, clusterCIDR)
	n := r.network(cfg)
	a := create(t, n, SandboxSpec{ID: "pod-a", HostPorts: []HostPort{{HostPort: 8080, ContainerPort: 80}}})
	create(t, n, SandboxSpec{ID: "pod-b"})
	create(t, n, SandboxSpec{ID: "pod-h", HostNetwork: true})
	veth := hostVethName(cfg.Bridge, "pod-a")

	for range 2 { // idempotent
		if err := n.RemoveSandbox("pod-a"); err != nil {
			t.Fatalf("RemoveSandbox: %v", err)
		}
	}
	if m, _ := mountsUnder(n.nsPath("pod-a")); len(m) != 0 {
		t.Errorf("mounts of pod-a left: %q", m)
	}
	if _, err := os.Stat(n.nsPath("pod-a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace folder of pod-a left: %v", err)
	}
	if slices.Contains(r.nodeLinks(), veth) {
		t.Errorf("veth %s left", veth)
	}
	if got := matching(r.natRules(), "pod-a"); len(got) != 0 {
		t.Errorf("rules of pod-a left: %q", got)
	}
	allocs, err := n.ipam.allocations()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := allocs[a.IP]; ok {
		t.Errorf("IP %s of pod-a still allocated: %v", a.IP, allocs)
	}
	if _, err := n.Sandbox("pod-a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Sandbox(pod-a) after removal: %v, want ErrNotFound", err)
	}

	for range 2 { // idempotent
		if err := n.Teardown(); err != nil {
			t.Fatalf("Teardown: %v", err)
		}
	}
	checkNoMountsOrLinks(t, r, cfg)
	for _, ch := range r.natChains() {
		if strings.HasPrefix(ch, "SHOAL-") {
			t.Errorf("chain %s left after Teardown", ch)
		}
	}
	if rules := r.natRules(); len(rules) != 0 {
		t.Errorf("nat rules left after Teardown: %q", rules)
	}
	entries, _ := os.ReadDir(cfg.StateDir)
	if len(entries) != 0 {
		t.Errorf("files left in StateDir after Teardown: %v", entries)
	}
	if got, err := n.Sandboxes(); err != nil || len(got) != 0 {
		t.Errorf("Sandboxes after Teardown: %v, %v", got, err)
	}
}

func TestPodCIDRExhaustion(t *testing.T) {
	r := newRig(t)
	n := r.network(r.config("10.99.0.0/30", ""))
	first := create(t, n, SandboxSpec{ID: "only"})
	if first.IP != netip.MustParseAddr("10.99.0.2") {
		t.Errorf("only pod IP of 10.99.0.0/30 is %s, want 10.99.0.2", first.IP)
	}
	_, err := n.CreateSandbox(SandboxSpec{ID: "one-too-many"})
	if !errors.Is(err, ErrNoAddress) || !strings.Contains(err.Error(), "10.99.0.0/30") {
		t.Fatalf("CreateSandbox in a full /30: %v, want ErrNoAddress naming 10.99.0.0/30", err)
	}
	t.Logf("error: %v", err)
	if _, err := os.Stat(n.nsPath("one-too-many")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused sandbox left its namespace folder: %v", err)
	}
	if err := n.RemoveSandbox("only"); err != nil {
		t.Fatal(err)
	}
	if again := create(t, n, SandboxSpec{ID: "one-too-many"}); again.IP != first.IP {
		t.Errorf("after release got %s, want %s", again.IP, first.IP)
	}
}

func TestCreateSandboxRollsBack(t *testing.T) {
	requireRoot(t)
	for _, step := range []string{"namespaces", "veth", "rules", "record"} {
		t.Run("fail before "+step, func(t *testing.T) {
			r := newRig(t)
			cfg := r.config(podCIDR, clusterCIDR)
			n := r.network(cfg)
			keep := create(t, n, SandboxSpec{ID: "keep", HostPorts: []HostPort{{HostPort: 7000, ContainerPort: 70}}})
			rulesBefore := r.natRules()
			injected := errors.New("injected failure")
			n.failAt = func(s string) error {
				if s == step {
					return injected
				}
				return nil
			}
			_, err := n.CreateSandbox(SandboxSpec{ID: "doomed", HostPorts: []HostPort{{HostPort: 8080, ContainerPort: 80}}})
			if !errors.Is(err, injected) {
				t.Fatalf("CreateSandbox: %v, want the injected failure", err)
			}
			n.failAt = nil
			if m, _ := mountsUnder(n.nsPath("doomed")); len(m) != 0 {
				t.Errorf("mounts left: %q", m)
			}
			if _, err := os.Stat(n.nsPath("doomed")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("namespace folder left: %v", err)
			}
			if slices.Contains(r.nodeLinks(), hostVethName(cfg.Bridge, "doomed")) {
				t.Error("veth left")
			}
			if after := r.natRules(); !slices.Equal(after, rulesBefore) {
				t.Errorf("rules changed:\nbefore %q\nafter  %q", rulesBefore, after)
			}
			allocs, _ := n.ipam.allocations()
			if len(allocs) != 1 || allocs[keep.IP] != "keep" {
				t.Errorf("allocations %v, want only keep's", allocs)
			}
			if _, err := n.Sandbox("doomed"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Sandbox(doomed): %v, want ErrNotFound", err)
			}
			// The same ID works afterwards.
			create(t, n, SandboxSpec{ID: "doomed"})
		})
	}
}

func TestSetupCollectsLeftovers(t *testing.T) {
	r := newRig(t)
	cfg := r.config(podCIDR, clusterCIDR)
	n := r.network(cfg)
	create(t, n, SandboxSpec{ID: "kept"})
	lost := create(t, n, SandboxSpec{ID: "lost"})
	half := create(t, n, SandboxSpec{ID: "half", HostPorts: []HostPort{{HostPort: 8080, ContainerPort: 80}}})
	// An agent that crashed before writing the record leaves everything but it.
	if err := os.Remove(n.recordPath("half")); err != nil {
		t.Fatal(err)
	}
	// A reboot under a persistent StateDir leaves records whose namespace
	// files are plain files again.
	if err := unmountAll(lost.NetNS); err != nil {
		t.Fatal(err)
	}
	n2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n2.Setup(); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if m, _ := mountsUnder(n.nsPath("half")); len(m) != 0 {
		t.Errorf("mounts of the unfinished sandbox left: %q", m)
	}
	if slices.Contains(r.nodeLinks(), hostVethName(cfg.Bridge, "half")) {
		t.Error("veth of the unfinished sandbox left")
	}
	if got := matching(r.natRules(), "half"); len(got) != 0 {
		t.Errorf("rules of the unfinished sandbox left: %q", got)
	}
	if m, _ := mountsUnder(n.nsPath("lost")); len(m) != 0 {
		t.Errorf("mounts of the lost sandbox left: %q", m)
	}
	if slices.Contains(r.nodeLinks(), hostVethName(cfg.Bridge, "lost")) {
		t.Error("veth of the lost sandbox left")
	}
	allocs, _ := n2.ipam.allocations()
	if len(allocs) != 1 {
		t.Errorf("allocations %v: want only kept's (half had %s, lost had %s)", allocs, half.IP, lost.IP)
	}
	if sbs, _ := n2.Sandboxes(); len(sbs) != 1 || sbs[0].ID != "kept" {
		t.Errorf("Sandboxes %+v, want only kept", sbs)
	}
}
