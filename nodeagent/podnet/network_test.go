package podnet

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func TestConfigValidation(t *testing.T) {
	base := func() Config {
		return DefaultConfig("/var/lib/shoal/podnet", netip.MustParsePrefix("10.244.1.0/24"))
	}
	tests := []struct {
		name   string
		change func(*Config)
		errHas string // empty: valid
	}{
		{name: "default", change: func(*Config) {}},
		{name: "zero bridge, MTU and logger get defaults", change: func(c *Config) { c.Bridge, c.MTU, c.Logger = "", 0, nil }},
		{name: "cluster CIDR", change: func(c *Config) { c.ClusterCIDR = netip.MustParsePrefix("10.244.0.0/16") }},
		{name: "relative state dir", change: func(c *Config) { c.StateDir = "podnet" }, errHas: "StateDir"},
		{name: "long bridge name", change: func(c *Config) { c.Bridge = "a-very-long-bridge" }, errHas: "1 to 15 bytes"},
		{name: "bridge name with slash", change: func(c *Config) { c.Bridge = "br/0" }, errHas: "forbidden"},
		{name: "no pod CIDR", change: func(c *Config) { c.PodCIDR = netip.Prefix{} }, errHas: "PodCIDR"},
		{name: "IPv6 pod CIDR", change: func(c *Config) { c.PodCIDR = netip.MustParsePrefix("fd00::/64") }, errHas: "IPv4"},
		{name: "host bits", change: func(c *Config) { c.PodCIDR = netip.MustParsePrefix("10.244.1.7/24") }, errHas: "10.244.1.0/24"},
		{name: "/31", change: func(c *Config) { c.PodCIDR = netip.MustParsePrefix("10.244.1.0/31") }, errHas: "too small"},
		{name: "cluster CIDR without the pod CIDR", change: func(c *Config) { c.ClusterCIDR = netip.MustParsePrefix("10.245.0.0/16") }, errHas: "does not contain"},
		{name: "cluster CIDR narrower", change: func(c *Config) { c.ClusterCIDR = netip.MustParsePrefix("10.244.1.0/25") }, errHas: "does not contain"},
		{name: "tiny MTU", change: func(c *Config) { c.MTU = 100 }, errHas: "MTU"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.change(&cfg)
			n, err := New(cfg)
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				got := n.Config()
				if got.Bridge == "" || got.MTU == 0 || got.Logger == nil || !got.ClusterCIDR.IsValid() {
					t.Errorf("defaults not filled: %+v", got)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("New: %v, want ErrInvalid mentioning %q", err, tt.errHas)
			}
		})
	}
}

func TestSpecValidation(t *testing.T) {
	tests := []struct {
		name   string
		spec   SandboxSpec
		errHas string
	}{
		{name: "minimal", spec: SandboxSpec{ID: "a"}},
		{name: "pod UID", spec: SandboxSpec{ID: "7f9c2a4e-1b2c-4d5e-8f90-123456789abc"}},
		{name: "empty ID", spec: SandboxSpec{}, errHas: "sandbox ID"},
		{name: "ID with slash", spec: SandboxSpec{ID: "a/b"}, errHas: "sandbox ID"},
		{name: "ID starting with dot", spec: SandboxSpec{ID: ".a"}, errHas: "sandbox ID"},
		{name: "ID too long", spec: SandboxSpec{ID: strings.Repeat("a", 129)}, errHas: "sandbox ID"},
		{name: "long hostname", spec: SandboxSpec{ID: "a", Hostname: strings.Repeat("h", 65)}, errHas: "hostname"},
		{name: "bad protocol", spec: SandboxSpec{ID: "a", HostPorts: []HostPort{{Protocol: "SCTP", HostPort: 1, ContainerPort: 1}}}, errHas: "SCTP"},
		{name: "lowercase protocol", spec: SandboxSpec{ID: "a", HostPorts: []HostPort{{Protocol: "tcp", HostPort: 1, ContainerPort: 1}}}, errHas: "protocol"},
		{name: "host port 0", spec: SandboxSpec{ID: "a", HostPorts: []HostPort{{HostPort: 0, ContainerPort: 1}}}, errHas: "hostPort 0"},
		{name: "container port too big", spec: SandboxSpec{ID: "a", HostPorts: []HostPort{{HostPort: 1, ContainerPort: 70000}}}, errHas: "containerPort 70000"},
		{name: "bad host IP", spec: SandboxSpec{ID: "a", HostPorts: []HostPort{{HostIP: "::1", HostPort: 1, ContainerPort: 1}}}, errHas: "hostIP"},
		{name: "same port twice", spec: SandboxSpec{ID: "a", HostPorts: []HostPort{{HostPort: 1, ContainerPort: 1}, {HostIP: "10.0.0.1", HostPort: 1, ContainerPort: 2}}}, errHas: "both take"},
		{name: "same port, TCP and UDP", spec: SandboxSpec{ID: "a", HostPorts: []HostPort{{HostPort: 1, ContainerPort: 1}, {Protocol: "UDP", HostPort: 1, ContainerPort: 1}}}},
		{name: "same port, two host IPs", spec: SandboxSpec{ID: "a", HostPorts: []HostPort{{HostIP: "10.0.0.1", HostPort: 1, ContainerPort: 1}, {HostIP: "10.0.0.2", HostPort: 1, ContainerPort: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.spec.normalize()
			if tt.errHas == "" {
				if err != nil {
					t.Fatalf("normalize: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("normalize: %v, want ErrInvalid mentioning %q", err, tt.errHas)
			}
		})
	}

	got, err := SandboxSpec{ID: strings.Repeat("x", 100), HostPorts: []HostPort{{HostIP: "0.0.0.0", HostPort: 80, ContainerPort: 8080}}}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hostname) != 63 || got.HostPorts[0].Protocol != "TCP" || got.HostPorts[0].HostIP != "" {
		t.Errorf("defaults not filled: hostname %q, hostPort %+v", got.Hostname, got.HostPorts[0])
	}
	hn, _ := SandboxSpec{ID: "h", Hostname: "h", HostNetwork: true, HostPorts: []HostPort{{HostPort: 80, ContainerPort: 80}}}.normalize()
	if hn.Hostname != "" || len(hn.HostPorts) != 0 {
		t.Errorf("hostNetwork keeps hostname %q and hostPorts %v", hn.Hostname, hn.HostPorts)
	}
}

func TestNames(t *testing.T) {
	for _, bridge := range []string{"shoal0", "a-15-byte-name0"} {
		ch := newChains(bridge)
		for _, c := range []string{ch.hostPorts, ch.masq} {
			if len(c) > 28 || !strings.HasPrefix(c, "SHOAL-POD-") {
				t.Errorf("chain name %q: want SHOAL-POD-… of at most 28 bytes", c)
			}
		}
		v := hostVethName(bridge, strings.Repeat("z", 128))
		if err := validateIfName(v); err != nil || !strings.HasPrefix(v, vethPrefix) {
			t.Errorf("veth name %q: %v", v, err)
		}
	}
	if newChains("a") == newChains("b") || hostVethName("a", "x") == hostVethName("b", "x") || hostVethName("a", "x") == hostVethName("a", "y") {
		t.Error("names collide")
	}
	if m := bridgeMAC("shoal0"); m[0]&0x01 != 0 || m[0]&0x02 == 0 {
		t.Errorf("bridge MAC %s is not a locally administered unicast address", m)
	}
}

func TestRenderRules(t *testing.T) {
	cfg := DefaultConfig("/s", netip.MustParsePrefix("10.244.1.0/24"))
	cfg.ClusterCIDR = netip.MustParsePrefix("10.244.0.0/16")
	ch := chains{hostPorts: "HP", masq: "MQ"}
	recs := []*record{
		{ID: "web", IP: netip.MustParseAddr("10.244.1.2"), HostPorts: []HostPort{
			{Protocol: "TCP", HostPort: 8080, ContainerPort: 80},
			{Protocol: "UDP", HostIP: "192.168.1.5", HostPort: 53, ContainerPort: 5353},
		}},
		{ID: "host", HostNetwork: true},
	}
	want := `*nat
:HP - [0:0]
:MQ - [0:0]
-A HP -p tcp -m tcp --dport 8080 -m comment --comment "shoal sandbox web: hostPort tcp/8080" -j DNAT --to-destination 10.244.1.2:80
-A HP -d 192.168.1.5/32 -p udp -m udp --dport 53 -m comment --comment "shoal sandbox web: hostPort udp/53" -j DNAT --to-destination 10.244.1.2:5353
-A MQ -s 10.244.1.2/32 -d 10.244.1.2/32 -m comment --comment "shoal sandbox web: hairpin" -j MASQUERADE
-A MQ -s 127.0.0.0/8 -o shoal0 -m comment --comment "shoal: hostPort from localhost" -j MASQUERADE
-A MQ -s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "shoal: cluster traffic keeps its pod source" -j RETURN
-A MQ -s 10.244.1.0/24 -m comment --comment "shoal: pod traffic leaving the cluster" -j MASQUERADE
COMMIT
`
	if got := renderRules(cfg, ch, recs); got != want {
		t.Errorf("renderRules:\n%s\nwant:\n%s", got, want)
	}
}

func TestUnescapeMountPath(t *testing.T) {
	for in, want := range map[string]string{
		`/a/b`:           "/a/b",
		`/a\040b`:        "/a b",
		`/tab\011x\134y`: "/tab\tx\\y",
		`/end\04`:        `/end\04`,
	} {
		if got := unescapeMountPath(in); got != want {
			t.Errorf("unescapeMountPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConcurrentSandboxes(t *testing.T) {
	r := newRig(t)
	n := r.network(r.config(podCIDR, clusterCIDR))
	const count = 8
	var wg sync.WaitGroup
	sbs := make([]*Sandbox, count)
	errs := make([]error, count)
	for i := range count {
		wg.Go(func() {
			sbs[i], errs[i] = n.CreateSandbox(SandboxSpec{ID: fmt.Sprintf("pod-%d", i), HostPorts: []HostPort{{HostPort: 9000 + i, ContainerPort: 80}}})
		})
	}
	wg.Wait()
	seen := map[netip.Addr]string{}
	for i, sb := range sbs {
		if errs[i] != nil {
			t.Fatalf("CreateSandbox pod-%d: %v", i, errs[i])
		}
		if other, dup := seen[sb.IP]; dup {
			t.Errorf("%s and %s share %s", sb.ID, other, sb.IP)
		}
		seen[sb.IP] = sb.ID
	}
	if got := matching(r.natRules(), ": hostPort tcp/"); len(got) != count {
		t.Errorf("%d hostPort rules, want %d: %q", len(got), count, got)
	}
	for i := range count {
		wg.Go(func() { errs[i] = n.RemoveSandbox(fmt.Sprintf("pod-%d", i)) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := matching(r.natRules(), "shoal sandbox"); len(got) != 0 {
		t.Errorf("rules left: %q", got)
	}
}
