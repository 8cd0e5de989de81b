package podnet

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// waitSpares polls until n has want ready spares and returns their records.
func waitSpares(t *testing.T, n *Network, want int) []*record {
	t.Helper()
	waitFor(t, 20*time.Second, func() error {
		if got := n.Spares(); got != want {
			return fmt.Errorf("%d spares ready", got)
		}
		return nil
	}, "%d spare sandboxes", want)
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.spares)
}

// nsFolders lists the folders under StateDir/ns, sorted.
func nsFolders(t *testing.T, cfg Config) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cfg.StateDir, nsDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// ourVeths lists the node's interfaces with our veth prefix, sorted.
func (r *rig) ourVeths() []string {
	var out []string
	for _, l := range r.nodeLinks() {
		if strings.HasPrefix(l, vethPrefix) {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// owners returns the ipam owners, sorted.
func owners(t *testing.T, n *Network) []string {
	t.Helper()
	allocs, err := n.ipam.allocations()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, id := range allocs {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func hostnameIn(t *testing.T, utsPath string) string {
	t.Helper()
	out, err := exec.Command("nsenter", "--uts="+utsPath, "/bin/busybox", "hostname").CombinedOutput()
	if err != nil {
		t.Fatalf("hostname in %s: %v: %s", utsPath, err, out)
	}
	return strings.TrimSpace(string(out))
}

// checkOnlySlots asserts that the namespace folders, our veths and the
// address owners are exactly those of slots.
func checkOnlySlots(t *testing.T, r *rig, n *Network, slots ...string) {
	t.Helper()
	cfg := n.Config()
	want := slices.Clone(slots)
	sort.Strings(want)
	if got := nsFolders(t, cfg); !slices.Equal(got, want) {
		t.Errorf("namespace folders %q, want %q", got, want)
	}
	if got := owners(t, n); !slices.Equal(got, want) {
		t.Errorf("address owners %q, want %q", got, want)
	}
	var veths []string
	for _, s := range slots {
		veths = append(veths, hostVethName(cfg.Bridge, s))
	}
	sort.Strings(veths)
	if got := r.ourVeths(); !slices.Equal(got, veths) {
		t.Errorf("veths %q, want %q (of %q)", got, veths, slots)
	}
}

// checkNoMountsOrLinks asserts that nothing is mounted under StateDir and
// that the bridge and our veths are gone.
func checkNoMountsOrLinks(t *testing.T, r *rig, cfg Config) {
	t.Helper()
	if m, _ := mountsUnder(cfg.StateDir); len(m) != 0 {
		t.Errorf("mounts under StateDir after Teardown: %q", m)
	}
	for _, l := range r.nodeLinks() {
		if l == cfg.Bridge || strings.HasPrefix(l, vethPrefix) {
			t.Errorf("interface %s left after Teardown (links %q)", l, r.nodeLinks())
		}
	}
}

// poolNetwork returns a rig and a set-up Network keeping spares spares.
func poolNetwork(t *testing.T, spares int) (*rig, Config, *Network) {
	r := newRig(t)
	cfg := r.config(podCIDR, clusterCIDR)
	cfg.Spares = spares
	return r, cfg, r.network(cfg)
}

func TestSpareTakenAndRefilled(t *testing.T) {
	r, _, n := poolNetwork(t, 2)
	spares := waitSpares(t, n, 2)
	for _, sp := range spares {
		if validateSpareSlot(sp.ID) != nil {
			t.Errorf("spare named %q", sp.ID)
		}
	}
	checkOnlySlots(t, r, n, spares[0].ID, spares[1].ID)
	// Spares are no sandboxes.
	if sbs, _ := n.Sandboxes(); len(sbs) != 0 {
		t.Errorf("Sandboxes with only spares: %+v", sbs)
	}

	a := create(t, n, SandboxSpec{ID: "pod-a", Hostname: "a.example"})
	if a.IP != spares[0].IP || a.NetNS != spares[0].NetNS || a.UTSNS != spares[0].UTSNS || a.IPCNS != spares[0].IPCNS {
		t.Errorf("pod-a %+v, want the oldest spare %+v", a, spares[0])
	}
	if rec, err := n.readRecord("pod-a"); err != nil || rec.Slot != spares[0].ID {
		t.Errorf("record of pod-a %+v (%v): want slot %s", rec, err, spares[0].ID)
	}
	if _, err := os.Stat(n.spareRecordPath(spares[0].ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("record of the taken spare left: %v", err)
	}
	if got := hostnameIn(t, a.UTSNS); got != "a.example" {
		t.Errorf("hostname of pod-a %q, want a.example", got)
	}
	checkPodInterfaces(t, r, a)
	if again := create(t, n, SandboxSpec{ID: "pod-a"}); again.IP != a.IP || again.NetNS != a.NetNS {
		t.Errorf("CreateSandbox(pod-a) again: %+v, want %+v", again, a)
	}

	// The pool is refilled with a new spare.
	refilled := waitSpares(t, n, 2)
	if refilled[0].ID != spares[1].ID || refilled[1].ID == spares[0].ID {
		t.Errorf("spares after a take %s, %s; before %s, %s", refilled[0].ID, refilled[1].ID, spares[0].ID, spares[1].ID)
	}

	// hostPorts work on a sandbox made out of a spare; the default hostname
	// is the ID.
	b := create(t, n, SandboxSpec{ID: "pod-b", HostPorts: []HostPort{{HostPort: 8080, ContainerPort: 80}}})
	if b.IP != refilled[0].IP {
		t.Errorf("pod-b got %s, want the spare's %s", b.IP, refilled[0].IP)
	}
	if got := hostnameIn(t, b.UTSNS); got != "pod-b" {
		t.Errorf("hostname of pod-b %q, want pod-b", got)
	}
	serve(t, b.NetNS, ":80", func(remote string) string { return "pod-b from " + remote })
	expectBody(t, a.NetNS, net.JoinHostPort(b.IP.String(), "80"), "pod-b from "+a.IP.String())
	expectBody(t, r.nodeNS, "127.0.0.1:8080", "pod-b from 10.244.1.1")
	if got := matching(r.natRules(), "shoal sandbox pod-b: hostPort"); len(got) != 1 {
		t.Errorf("hostPort rules of pod-b: %q", got)
	}

	// hostNetwork and hostIPC sandboxes are made as before, spares untouched.
	waitSpares(t, n, 2)
	hn := create(t, n, SandboxSpec{ID: "host-net", HostNetwork: true})
	hi := create(t, n, SandboxSpec{ID: "host-ipc", HostIPC: true})
	if hn.NetNS != "" || hi.IPCNS != "" || !hi.IP.IsValid() {
		t.Errorf("hostNetwork %+v, hostIPC %+v", hn, hi)
	}
	if rec, _ := n.readRecord("host-ipc"); rec == nil || rec.Slot != "" {
		t.Errorf("hostIPC sandbox came from a spare: %+v", rec)
	}
	if got := n.Spares(); got != 2 {
		t.Errorf("%d spares after hostNetwork and hostIPC sandboxes, want 2", got)
	}

	// Removing a sandbox made of a spare removes all of it.
	for _, id := range []string{"pod-a", "pod-b", "host-net"} {
		if err := n.RemoveSandbox(id); err != nil {
			t.Fatal(err)
		}
	}
	if got := matching(r.natRules(), "pod-b"); len(got) != 0 {
		t.Errorf("rules of pod-b left: %q", got)
	}
	now := waitSpares(t, n, 2)
	checkOnlySlots(t, r, n, now[0].ID, now[1].ID, "host-ipc")
}

func TestSparesSurviveRestart(t *testing.T) {
	r, cfg, n1 := poolNetwork(t, 3)
	spares := waitSpares(t, n1, 3)
	a := create(t, n1, SandboxSpec{ID: "pod-a"})
	spares = waitSpares(t, n1, 3)
	n1.Close() // the agent stops

	// One spare lost its network namespace (a reboot would do that to
	// all), another its veth.
	if err := unmountAll(spares[0].NetNS); err != nil {
		t.Fatal(err)
	}
	if err := n1.deleteLink(spares[1].HostVeth); err != nil {
		t.Fatal(err)
	}
	cfg.Spares = 2
	n2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n2.failAt = func(step string) error { // no refill yet: only Setup's work
		if strings.HasPrefix(step, "spare-") {
			return errors.New("refill held back by the test")
		}
		return nil
	}
	if err := n2.Setup(); err != nil {
		t.Fatal(err)
	}
	// The usable spare is kept as it is, the broken ones are gone.
	n2.Close()
	got := waitSpares(t, n2, 1)
	if got[0].ID != spares[2].ID {
		t.Errorf("spare after restart %s, want the usable %s", got[0].ID, spares[2].ID)
	}
	checkOnlySlots(t, r, n2, mustSlot(t, n2, "pod-a"), spares[2].ID)

	// The restarted agent takes the kept spare, and refills to 2.
	n2.failAt = nil
	if err := n2.Setup(); err != nil {
		t.Fatal(err)
	}
	b := create(t, n2, SandboxSpec{ID: "pod-b", Hostname: "b"})
	if b.IP != spares[2].IP {
		t.Errorf("pod-b got %s, want the kept spare's %s", b.IP, spares[2].IP)
	}
	checkPodInterfaces(t, r, b)
	serve(t, a.NetNS, ":80", func(string) string { return "pod-a survived" })
	expectBody(t, b.NetNS, net.JoinHostPort(a.IP.String(), "80"), "pod-a survived")
	waitSpares(t, n2, 2)

	// Fewer spares configured: the extra ones go at the next start.
	n2.Close()
	cfg.Spares = 1
	n3 := r.network(cfg)
	if got := n3.Spares(); got != 1 {
		t.Errorf("%d spares right after Setup with Spares=1", got)
	}
	left := waitSpares(t, n3, 1)
	checkOnlySlots(t, r, n3, mustSlot(t, n3, "pod-a"), mustSlot(t, n3, "pod-b"), left[0].ID)
}

// mustSlot returns the slot of sandbox id.
func mustSlot(t *testing.T, n *Network, id string) string {
	t.Helper()
	rec, err := n.readRecord(id)
	if err != nil {
		t.Fatal(err)
	}
	return rec.slot()
}

func TestTeardownRemovesSpares(t *testing.T) {
	r, cfg, n := poolNetwork(t, 2)
	waitSpares(t, n, 2)
	create(t, n, SandboxSpec{ID: "pod-a", HostPorts: []HostPort{{HostPort: 8080, ContainerPort: 80}}})
	// Teardown while the refill is making a spare, or right after.
	if err := n.Teardown(); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	checkNoMountsOrLinks(t, r, cfg)
	if rules := r.natRules(); len(rules) != 0 {
		t.Errorf("nat rules left after Teardown: %q", rules)
	}
	if entries, _ := os.ReadDir(cfg.StateDir); len(entries) != 0 {
		t.Errorf("files left in StateDir after Teardown: %v", entries)
	}
	if got := n.Spares(); got != 0 {
		t.Errorf("%d spares after Teardown", got)
	}

	// `shoal down` tears down with a Network that never ran Setup.
	n2 := r.network(cfg)
	waitSpares(t, n2, 2)
	n2.Close()
	n3, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n3.Teardown(); err != nil {
		t.Fatalf("Teardown without Setup: %v", err)
	}
	if entries, _ := os.ReadDir(cfg.StateDir); len(entries) != 0 {
		t.Errorf("files left in StateDir after Teardown without Setup: %v", entries)
	}
	if got := r.ourVeths(); len(got) != 0 {
		t.Errorf("veths left after Teardown without Setup: %q", got)
	}
}

// TestCrashMidRefillLeavesNothing leaves what an agent killed at each step
// of a refill and of a take leaves, and checks that the next Setup removes
// it all and keeps the rest.
func TestCrashMidRefillLeavesNothing(t *testing.T) {
	r := newRig(t)
	cfg := r.config(podCIDR, clusterCIDR)
	n := r.network(cfg) // no spares: the test makes the half ones itself
	kept := create(t, n, SandboxSpec{ID: "kept"})
	// A taken spare that survives.
	n.mu.Lock()
	n.cfg.Spares = 1
	n.mu.Unlock()
	if made, err := n.makeSpare(); !made || err != nil {
		t.Fatalf("makeSpare: %v, %v", made, err)
	}
	taken := create(t, n, SandboxSpec{ID: "taken"})
	if mustSlot(t, n, "taken") == "taken" {
		t.Fatal("taken did not come from a spare")
	}

	half := func(steps int) string {
		slot := newSpareSlot()
		rec := &record{ID: slot, HostVeth: hostVethName(cfg.Bridge, slot), Gateway: n.gateway}
		dir := n.nsPath(slot)
		rec.NetNS, rec.IPCNS, rec.UTSNS = filepath.Join(dir, "net"), filepath.Join(dir, "ipc"), filepath.Join(dir, "uts")
		var err error
		if rec.IP, err = n.ipam.allocate(slot); err != nil {
			t.Fatal(err)
		}
		if steps > 1 {
			if err := createNamespaces(dir, []nsKind{nsNet, nsUTS, nsIPC}, ""); err != nil {
				t.Fatal(err)
			}
		}
		if steps > 2 {
			if err := n.wirePod(rec); err != nil {
				t.Fatal(err)
			}
		}
		if steps > 3 { // a take that removed the spare's record, not yet writing its own
			if err := n.writeSpareRecord(rec); err != nil {
				t.Fatal(err)
			}
			if err := setHostname(rec.UTSNS, "half-taken"); err != nil {
				t.Fatal(err)
			}
			if err := n.removeSpareRecord(slot); err != nil {
				t.Fatal(err)
			}
		}
		return slot
	}
	var halves []string
	for steps := 1; steps <= 4; steps++ {
		halves = append(halves, half(steps))
	}
	// A namespace half made: the folder and an empty file.
	if err := os.MkdirAll(filepath.Join(n.nsPath(newSpareSlot())), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := len(nsFolders(t, cfg)); got != 2+3+1 {
		t.Fatalf("%d namespace folders before the restart, want 6", got)
	}

	// The agent restarts.
	for _, spares := range []int{0, 2} {
		cfg.Spares = spares
		n2 := r.network(cfg)
		n2.Close()
		var want []string
		n2.mu.Lock()
		for _, sp := range n2.spares {
			want = append(want, sp.ID)
		}
		n2.mu.Unlock()
		for _, h := range halves {
			if slices.Contains(want, h) {
				t.Errorf("Setup kept the unfinished spare %s", h)
			}
		}
		checkOnlySlots(t, r, n2, append(want, "kept", mustSlot(t, n2, "taken"))...)
		if sbs, _ := n2.Sandboxes(); len(sbs) != 2 {
			t.Errorf("sandboxes after restart: %+v", sbs)
		}
	}
	checkPodInterfaces(t, r, kept)
	checkPodInterfaces(t, r, taken)
}

func TestRefillUndoesAFailedSpare(t *testing.T) {
	r := newRig(t)
	cfg := r.config(podCIDR, clusterCIDR)
	cfg.Spares = 1
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Teardown(); err != nil {
			t.Error(err)
		}
	})
	failed := make(chan struct{})
	n.failAt = func(step string) error {
		if step == "spare-veth" && failed != nil {
			close(failed)
			failed = nil // only the first time; the refill goroutine alone calls this
			return errors.New("injected failure")
		}
		return nil
	}
	if err := n.Setup(); err != nil {
		t.Fatal(err)
	}
	// The refill tries again after a second and succeeds.
	sp := waitSpares(t, n, 1)
	checkOnlySlots(t, r, n, sp[0].ID)
}

func TestSparesGiveWayWhenCIDRIsFull(t *testing.T) {
	r := newRig(t)
	cfg := r.config("10.99.0.0/29", "") // 5 pod addresses
	cfg.Spares = 2
	n := r.network(cfg)
	waitSpares(t, n, 2)
	// hostIPC sandboxes do not take spares: the last ones take the spares'
	// addresses instead.
	for i := range 5 {
		create(t, n, SandboxSpec{ID: fmt.Sprintf("p%d", i), HostIPC: true})
	}
	if got := n.Spares(); got != 0 {
		t.Errorf("%d spares left in a full pod CIDR", got)
	}
	if _, err := n.CreateSandbox(SandboxSpec{ID: "one-too-many", HostIPC: true}); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("CreateSandbox in a full pod CIDR: %v, want ErrNoAddress", err)
	}
	slots := []string{"p0", "p1", "p2", "p3", "p4"}
	checkOnlySlots(t, r, n, slots...)
	// Freed addresses give spares again, but a spare never takes the last
	// free address: two free addresses make one spare.
	for _, id := range []string{"p0", "p1"} {
		if err := n.RemoveSandbox(id); err != nil {
			t.Fatal(err)
		}
	}
	sp := waitSpares(t, n, 1)
	checkOnlySlots(t, r, n, "p2", "p3", "p4", sp[0].ID)
	if _, err := n.ipam.allocateKeeping("probe", 1); !errors.Is(err, ErrNoAddress) {
		t.Errorf("a second spare could be made: %v", err)
	}
}
