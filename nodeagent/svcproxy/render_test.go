package svcproxy

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/reconciler/services"
	corev1 "k8s.io/api/core/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files of Render")

// testCfg is the configuration of node "n1" in the pure tests.
var testCfg = Config{
	NodeName:    "n1",
	PodCIDR:     netip.MustParsePrefix("10.244.1.0/24"),
	ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"),
}

// ep is a pod endpoint on node serving the port named port on target.
func ep(ip, node string, ready bool, ports ...any) services.Endpoint {
	e := services.Endpoint{IP: netip.MustParseAddr(ip), Node: node, Pod: "pod-" + ip, Ready: ready, Ports: map[string]int32{}}
	for i := 0; i < len(ports); i += 2 {
		e.Ports[ports[i].(string)] = int32(ports[i+1].(int))
	}
	return e
}

// svc is a ClusterIP Service with one unnamed TCP port 80.
func svc(name, clusterIP string, eps ...services.Endpoint) services.Service {
	return services.Service{Namespace: "default", Name: name, Type: corev1.ServiceTypeClusterIP,
		ClusterIP: netip.MustParseAddr(clusterIP),
		Ports:     []services.Port{{Protocol: corev1.ProtocolTCP, Port: 80}}, Endpoints: eps}
}

func table(ss ...services.Service) *services.Table {
	return &services.Table{ServiceCIDR: netip.MustParsePrefix("10.96.0.0/12"), Services: ss}
}

// goldenCases are the tables whose rendering for n1 is kept under testdata.
var goldenCases = map[string]*services.Table{
	"empty":       nil,
	"clusterip-0": table(svc("none", "10.96.0.10")),
	"clusterip-1": table(svc("one", "10.96.0.11", ep("10.244.1.2", "n1", true, "", 8080))),
	"clusterip-3": table(svc("three", "10.96.0.13",
		ep("10.244.1.2", "n1", true, "", 8080), ep("10.244.1.3", "n1", false, "", 8080),
		ep("10.244.2.2", "n2", true, "", 8080), ep("10.244.3.2", "n3", true, "", 8080))),
	"named-ports": table(func() services.Service {
		s := svc("named", "10.96.0.20",
			ep("10.244.1.2", "n1", true, "http", 8080, "metrics", 9090),
			ep("10.244.2.2", "n2", true, "http", 8081)) // no metrics port: not an endpoint of it
		s.Ports = []services.Port{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}, {Name: "metrics", Protocol: corev1.ProtocolTCP, Port: 9090},
			{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53}}
		return s
	}()),
	"nodeport": table(func() services.Service {
		s := svc("np", "10.96.0.30", ep("10.244.1.2", "n1", true, "", 8080), ep("10.244.2.2", "n2", true, "", 8080))
		s.Type, s.Ports[0].NodePort = corev1.ServiceTypeNodePort, 30080
		return s
	}()),
	"loadbalancer": table(func() services.Service {
		s := svc("lb", "10.96.0.40", ep("10.244.1.2", "n1", true, "", 8080), ep("10.244.2.2", "n2", true, "", 8080))
		s.Type, s.Ports[0].NodePort = corev1.ServiceTypeLoadBalancer, 30040
		s.LoadBalancerIP, s.Announcer = netip.MustParseAddr("192.168.77.100"), "n1"
		s.ExternalIPs = []netip.Addr{netip.MustParseAddr("203.0.113.7")}
		return s
	}()),
	"affinity": table(func() services.Service {
		s := svc("sticky", "10.96.0.50", ep("10.244.1.2", "n1", true, "", 8080), ep("10.244.2.2", "n2", true, "", 8080))
		s.Affinity = 3 * time.Hour
		return s
	}()),
	"external-local": table(
		func() services.Service {
			s := svc("local", "10.96.0.60", ep("10.244.1.2", "n1", true, "", 8080), ep("10.244.2.2", "n2", true, "", 8080))
			s.Type, s.Ports[0].NodePort, s.ExternalLocal, s.HealthCheckNodePort = corev1.ServiceTypeLoadBalancer, 30060, true, 32000
			s.LoadBalancerIP, s.Announcer = netip.MustParseAddr("192.168.77.101"), "n1"
			return s
		}(),
		func() services.Service {
			s := svc("remote-only", "10.96.0.61", ep("10.244.2.2", "n2", true, "", 8080))
			s.Type, s.Ports[0].NodePort, s.ExternalLocal, s.HealthCheckNodePort = corev1.ServiceTypeLoadBalancer, 30061, true, 32001
			s.LoadBalancerIP, s.Announcer = netip.MustParseAddr("192.168.77.102"), "n2"
			return s
		}()),
	"internal-local": table(
		func() services.Service {
			s := svc("ilocal", "10.96.0.70", ep("10.244.1.2", "n1", true, "", 8080), ep("10.244.2.2", "n2", true, "", 8080))
			s.InternalLocal = true
			return s
		}(),
		func() services.Service {
			s := svc("iremote", "10.96.0.71", ep("10.244.2.2", "n2", true, "", 8080))
			s.InternalLocal = true
			return s
		}()),
	"ignored": table(
		services.Service{Namespace: "default", Name: "headless", Headless: true, Ports: []services.Port{{Port: 80}},
			Endpoints: []services.Endpoint{ep("10.244.1.2", "n1", true, "", 80)}},
		services.Service{Namespace: "default", Name: "ext", Type: corev1.ServiceTypeExternalName, ExternalName: "example.org"},
		services.Service{Namespace: "default", Name: "v6", ClusterIP: netip.MustParseAddr("fd00::10"), Ports: []services.Port{{Port: 80}}},
		func() services.Service {
			s := svc("mixed", "10.96.0.80", ep("fd00::2", "n1", true, "", 8080), ep("10.244.1.2", "n1", true, "", 8080))
			s.Ports = append(s.Ports, services.Port{Name: "odd", Protocol: "ICMP", Port: 7})
			return s
		}()),
}

// TestRenderGolden compares Render's output with testdata/<case>.golden;
// go test -run TestRenderGolden -update rewrites them (read the diff).
func TestRenderGolden(t *testing.T) {
	for name, tb := range goldenCases {
		t.Run(name, func(t *testing.T) {
			got := Render(tb, "n1", testCfg)
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Render differs from %s (run with -update and read the diff):\n%s", path, got)
			}
			if again := Render(tb, "n1", testCfg); again != got {
				t.Error("Render is not deterministic")
			}
		})
	}
}

// rulesOf returns the rules ("-A chain ...", without "-A ") of chain in
// the table section of text.
func rulesOf(text, tableName, chain string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(l, "*"):
			in = l == "*"+tableName
		case in && strings.HasPrefix(l, "-A "+chain+" "):
			out = append(out, strings.TrimPrefix(l, "-A "+chain+" "))
		}
	}
	return out
}

// chainTo returns the target of the single rule of chain in table whose
// text contains substr.
func chainTo(t *testing.T, text, tableName, chain, substr string) string {
	t.Helper()
	var hits []string
	for _, r := range rulesOf(text, tableName, chain) {
		if strings.Contains(r, substr) {
			hits = append(hits, r)
		}
	}
	if len(hits) != 1 {
		t.Fatalf("%s %s: %d rules contain %q, want 1: %q", tableName, chain, len(hits), substr, hits)
	}
	f := strings.Fields(hits[0])
	for i, w := range f {
		if w == "-j" && i+1 < len(f) {
			return f[i+1]
		}
	}
	t.Fatalf("rule %q has no target", hits[0])
	return ""
}

var dnatTo = regexp.MustCompile(`-j DNAT --to-destination (\S+)`)

// destinations follows chain (SVC/SVL) to the endpoints it DNATs to.
func destinations(text, chain string) []string {
	var out []string
	for _, r := range rulesOf(text, "nat", chain) {
		if !strings.Contains(r, "-m statistic") && strings.Contains(r, "--rcheck") {
			continue
		}
		f := strings.Fields(r)
		sep := f[len(f)-1]
		if !strings.HasPrefix(sep, prefixSEP) {
			continue
		}
		for _, sr := range rulesOf(text, "nat", sep) {
			if m := dnatTo.FindStringSubmatch(sr); m != nil {
				out = append(out, m[1])
			}
		}
	}
	return out
}

func TestRenderRules(t *testing.T) {
	t.Run("spread over ready endpoints with 1/n, 1/(n-1), ...", func(t *testing.T) {
		out := Render(goldenCases["clusterip-3"], "n1", testCfg)
		svcChain := chainTo(t, out, "nat", chainServices, "-d 10.96.0.13/32")
		if got, want := destinations(out, svcChain), []string{"10.244.1.2:8080", "10.244.2.2:8080", "10.244.3.2:8080"}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("destinations %v, want %v (the not-ready 10.244.1.3 left out)", got, want)
		}
		if strings.Contains(out, "10.244.1.3") {
			t.Error("the not-ready endpoint 10.244.1.3 appears in the rules")
		}
		var probs []string
		for _, r := range rulesOf(out, "nat", svcChain) {
			if _, p, ok := strings.Cut(r, "--probability "); ok {
				probs = append(probs, strings.Fields(p)[0])
			}
		}
		if got := strings.Join(probs, " "); got != "0.3333333333 0.5000000000" {
			t.Errorf("probabilities %q, want 0.3333333333 0.5000000000 (and the last rule unconditional)", got)
		}
	})
	t.Run("no endpoint: refused, no nat", func(t *testing.T) {
		out := Render(goldenCases["clusterip-0"], "n1", testCfg)
		if got := chainTo(t, out, "filter", chainServices, "-d 10.96.0.10/32"); got != "REJECT" {
			t.Errorf("cluster IP without endpoints goes to %s, want REJECT", got)
		}
		if r := rulesOf(out, "nat", chainServices); len(r) != 1 {
			t.Errorf("nat portals %q, want only the node-port jump", r)
		}
	})
	t.Run("named ports: each port its targets", func(t *testing.T) {
		out := Render(goldenCases["named-ports"], "n1", testCfg)
		http := chainTo(t, out, "nat", chainServices, "--dport 80 ")
		metrics := chainTo(t, out, "nat", chainServices, "--dport 9090 ")
		if got := destinations(out, http); strings.Join(got, " ") != "10.244.1.2:8080 10.244.2.2:8081" {
			t.Errorf("http goes to %v", got)
		}
		if got := destinations(out, metrics); strings.Join(got, " ") != "10.244.1.2:9090" {
			t.Errorf("metrics goes to %v", got)
		}
		if got := chainTo(t, out, "filter", chainServices, "default/named:dns"); got != "REJECT" {
			t.Errorf("dns (no endpoint serves it) goes to %s, want REJECT", got)
		}
		if !strings.Contains(out, "-p udp -m udp --dport 53 -m comment --comment \"default/named:dns has no endpoints\" -j REJECT --reject-with icmp-port-unreachable") {
			t.Error("UDP port without endpoints is not refused with icmp-port-unreachable")
		}
	})
	t.Run("external local", func(t *testing.T) {
		out := Render(goldenCases["external-local"], "n1", testCfg)
		ext := chainTo(t, out, "nat", chainNodePorts, "--dport 30060 ")
		rules := rulesOf(out, "nat", ext)
		if len(rules) != 4 || !strings.HasPrefix(rules[0], "-s 10.244.1.0/24 ") || !strings.HasPrefix(rules[3], "-j "+prefixSVL) {
			t.Fatalf("EXT chain %q: want pod traffic, masquerade LOCAL, route LOCAL, then SVL", rules)
		}
		svl := strings.TrimPrefix(rules[3], "-j ")
		if got := destinations(out, svl); strings.Join(got, " ") != "10.244.1.2:8080" {
			t.Errorf("external traffic goes to %v, want only the local endpoint", got)
		}
		for _, r := range rules {
			if strings.Contains(r, chainMarkMasq) && !strings.Contains(r, "--src-type LOCAL") {
				t.Errorf("external traffic masqueraded: %q", r)
			}
		}
		// A node without a local endpoint: external traffic refused, pods
		// and the node still served by the cluster's endpoints.
		ext = chainTo(t, out, "nat", chainNodePorts, "--dport 30061 ")
		if rules := rulesOf(out, "nat", ext); len(rules) != 3 {
			t.Errorf("EXT chain without local endpoints %q: want the pod and LOCAL rules only", rules)
		}
		for _, sub := range []string{"--dport 30061 ", "-d 192.168.77.102/32"} {
			if got := chainTo(t, out, "filter", chainServices, sub); got != "REJECT" {
				t.Errorf("%s without local endpoints goes to %s, want REJECT", sub, got)
			}
		}
	})
	t.Run("internal local", func(t *testing.T) {
		out := Render(goldenCases["internal-local"], "n1", testCfg)
		svl := chainTo(t, out, "nat", chainServices, "-d 10.96.0.70/32")
		if !strings.HasPrefix(svl, prefixSVL) {
			t.Fatalf("cluster IP goes to %s, want an SVL chain", svl)
		}
		if got := destinations(out, svl); strings.Join(got, " ") != "10.244.1.2:8080" {
			t.Errorf("cluster IP goes to %v, want only the local endpoint", got)
		}
		if got := chainTo(t, out, "filter", chainServices, "-d 10.96.0.71/32"); got != "REJECT" {
			t.Errorf("Local cluster IP without local endpoints goes to %s, want REJECT", got)
		}
	})
	t.Run("affinity", func(t *testing.T) {
		out := Render(goldenCases["affinity"], "n1", testCfg)
		svcChain := chainTo(t, out, "nat", chainServices, "-d 10.96.0.50/32")
		rules := rulesOf(out, "nat", svcChain)
		var checks []string
		for _, r := range rules {
			if strings.Contains(r, "--rcheck --seconds 10800 --reap") {
				checks = append(checks, r)
			}
		}
		if len(checks) != 2 || strings.Contains(rules[1], "statistic") || strings.Contains(rules[2], "statistic") {
			t.Errorf("SVC chain %q: want the cluster-IP masquerade, then 2 affinity checks before the random choice", rules)
		}
		for _, r := range checks {
			f := strings.Fields(r)
			name, target := f[slices.Index(f, "--name")+1], f[len(f)-1]
			if name != target {
				t.Errorf("affinity check %q: the list %s is not the chain it jumps to", r, name)
			}
			if got := rulesOf(out, "nat", target); len(got) != 2 || !strings.Contains(got[1], "--set --name "+target+" ") {
				t.Errorf("SEP chain %s %q: its DNAT does not record the client in list %s", target, got, target)
			}
		}
	})
	t.Run("service CIDR refused last", func(t *testing.T) {
		out := Render(goldenCases["clusterip-1"], "n1", testCfg)
		rules := rulesOf(out, "filter", chainServices)
		if len(rules) != 2 || !strings.HasPrefix(rules[0], "-d 10.96.0.0/12 -p tcp") || !strings.Contains(rules[0], "tcp-reset") ||
			!strings.Contains(rules[1], "icmp-port-unreachable") {
			t.Errorf("filter rules %q: want the service CIDR refused (TCP reset, then ICMP)", rules)
		}
		if got := Render(&services.Table{}, "n1", testCfg); strings.Contains(got, "REJECT") {
			t.Error("a table without ServiceCIDR refuses something")
		}
	})
	t.Run("chain names fit iptables", func(t *testing.T) {
		for name, tb := range goldenCases {
			for _, l := range strings.Split(Render(tb, "n1", testCfg), "\n") {
				if c, ok := strings.CutPrefix(l, ":"); ok {
					c = strings.Fields(c)[0]
					if len(c) > 28 || !ownedChain("nat", c) && !ownedChain("filter", c) {
						t.Errorf("%s: chain %q is too long or not recognised as ours", name, c)
					}
				}
			}
		}
	})
	t.Run("mark", func(t *testing.T) {
		cfg := testCfg
		cfg.MasqueradeMark = 0x8000
		if out := Render(nil, "n1", cfg); !strings.Contains(out, "--or-mark 0x8000") || strings.Contains(out, "0x4000") {
			t.Errorf("MasqueradeMark 0x8000 not used:\n%s", out)
		}
	})
}

// TestRenderPartial: what Sync writes when only some chains changed.
func TestRenderPartial(t *testing.T) {
	rs := render(goldenCases["clusterip-1"], "n1", testCfg.withDefaults())
	only := func(table, chain string) bool { return table == "nat" && chain == chainServices }
	out := rs.text(only, map[string][]string{"nat": {"SHOAL-SEP-OLD"}})
	want := "*nat\n" +
		":SHOAL-SERVICES - [0:0]\n" +
		":SHOAL-SEP-OLD - [0:0]\n" +
		strings.Join(prefixed("-A SHOAL-SERVICES ", rulesOf(Render(goldenCases["clusterip-1"], "n1", testCfg), "nat", chainServices)), "\n") + "\n" +
		"-X SHOAL-SEP-OLD\n" +
		"COMMIT\n" +
		"*filter\n" +
		"COMMIT\n"
	if out != want {
		t.Errorf("partial text:\n%s\nwant (only SHOAL-SERVICES rewritten, the stale chain flushed then deleted):\n%s", out, want)
	}
	// Every chain's rules come together, after all declarations.
	full := rs.text(nil, nil)
	full = full[:strings.Index(full, "*filter")]
	for _, c := range rs.nat.chains {
		first, last := strings.Index(full, "-A "+c+" "), strings.LastIndex(full, "-A "+c+" ")
		if first >= 0 && strings.Count(full[first:last], "\n") != strings.Count(rs.nat.rules[c].String(), "\n")-1 {
			t.Errorf("rules of %s are not together", c)
		}
	}
	h1, h2 := rs.nat.hashes(), render(goldenCases["clusterip-3"], "n1", testCfg.withDefaults()).nat.hashes()
	if h1[chainMarkMasq] != h2[chainMarkMasq] || h1[chainServices] == h2[chainServices] {
		t.Error("chain digests: equal rules must hash alike, different rules differently")
	}
}

func prefixed(prefix string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = prefix + l
	}
	return out
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig("n1", netip.MustParsePrefix("10.244.1.0/24"))
	for _, tc := range []struct {
		name   string
		change func(*Config)
		bad    bool
	}{
		{"defaults", func(*Config) {}, false},
		{"cluster CIDR", func(c *Config) { c.ClusterCIDR = netip.MustParsePrefix("10.244.0.0/16") }, false},
		{"interface", func(c *Config) { c.Interface = "enp0s31f6" }, false},
		{"no node", func(c *Config) { c.NodeName = "" }, true},
		{"no pod CIDR", func(c *Config) { c.PodCIDR = netip.Prefix{} }, true},
		{"pod CIDR host bits", func(c *Config) { c.PodCIDR = netip.MustParsePrefix("10.244.1.1/24") }, true},
		{"IPv6 pod CIDR", func(c *Config) { c.PodCIDR = netip.MustParsePrefix("fd00::/64") }, true},
		{"cluster CIDR not containing pod CIDR", func(c *Config) { c.ClusterCIDR = netip.MustParsePrefix("10.245.0.0/16") }, true},
		{"two mark bits", func(c *Config) { c.MasqueradeMark = 0x4001 }, true},
		{"interface too long", func(c *Config) { c.Interface = "averylongname" }, true},
		{"interface with colon", func(c *Config) { c.Interface = "eth0:1" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.change(&cfg)
			p, err := New(cfg)
			if tc.bad {
				if err == nil {
					t.Fatalf("New accepted %+v", cfg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := p.Config(); c.MasqueradeMark != DefaultMasqueradeMark || !c.ClusterCIDR.IsValid() || c.Logger == nil {
				t.Errorf("defaults not filled: %+v", c)
			}
		})
	}
}
