package network

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoal-run/shoal/manifests"
)

// objects loads YAML the way the agent gets its desired state, through
// manifests (decoded strictly, defaulted and validated), and returns the
// NetworkPolicies and Namespaces it holds.
func objects(t *testing.T, files map[string]string) ([]*networkingv1.NetworkPolicy, []*corev1.Namespace) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, text := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	set, err := manifests.Load(fsys)
	if err != nil {
		t.Fatalf("loading the manifests: %v", err)
	}
	return manifests.Of[*networkingv1.NetworkPolicy](set), manifests.Of[*corev1.Namespace](set)
}

// testPod makes a pod at ip; labels are "k=v" pairs. It runs on the node
// 192.168.0.1 (whose bridge address is 10.1.0.1).
func testPod(ns, name, ip string, labels ...string) Pod {
	p := Pod{Namespace: ns, Name: name, IP: netip.MustParseAddr(ip), Labels: map[string]string{},
		HostIPs: []netip.Addr{netip.MustParseAddr("192.168.0.1"), netip.MustParseAddr("10.1.0.1")}}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		p.Labels[k] = v
	}
	return p
}

// withPorts gives a pod named container ports, written "name/PROTO/port".
func withPorts(p Pod, ports ...string) Pod {
	for _, s := range ports {
		var name, proto string
		var port int32
		f := strings.Split(s, "/")
		name, proto = f[0], f[1]
		fmt.Sscan(f[2], &port)
		p.Ports = append(p.Ports, corev1.ContainerPort{Name: name, Protocol: corev1.Protocol(proto), ContainerPort: port})
	}
	return p
}

func namespace(name string, labels ...string) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		ns.Labels[k] = v
	}
	return ns
}

// connCase is one connection and the verdict it must get.
type connCase struct {
	// src and dst are pods ("namespace/name") or addresses.
	src, dst string
	// conn is "TCP 6379", "UDP 53", ...
	conn string
	// want is the summary of the verdict (see summary) and why: the
	// Kubernetes rule that decides it.
	want, why string
}

// checkConns judges every case against set, with the pods of the world to
// resolve the names of the cases.
func checkConns(t *testing.T, set *Set, pods []Pod, cases []connCase) {
	t.Helper()
	for _, tc := range cases {
		c := Conn{Src: endpoint(t, pods, tc.src), Dst: endpoint(t, pods, tc.dst)}
		var port int
		var proto string
		if _, err := fmt.Sscan(tc.conn, &proto, &port); err != nil {
			t.Fatalf("bad conn %q", tc.conn)
		}
		c.Protocol, c.DstPort = corev1.Protocol(proto), uint16(port)
		v := set.Verdict(c)
		if got := summary(v); got != tc.want {
			t.Errorf("%s -> %s %s: got %q, want %q (%s)\n\treason: %s", tc.src, tc.dst, tc.conn, got, tc.want, tc.why, v.Reason())
		}
	}
}

func endpoint(t *testing.T, pods []Pod, s string) netip.Addr {
	t.Helper()
	if a, err := netip.ParseAddr(s); err == nil {
		return a
	}
	for _, p := range pods {
		if p.Namespace+"/"+p.Name == s {
			return p.IP
		}
	}
	t.Fatalf("no pod %s in the world", s)
	return netip.Addr{}
}

// summary condenses a verdict: "allowed" or "denied", then each direction
// that is not open — "egress:" or "ingress:" followed by the allowing
// policy and rule (ns/name#rule), "self", "node", or "denied(" and the
// isolating policies ")".
func summary(v Verdict) string {
	out := "denied"
	if v.Allowed {
		out = "allowed"
	}
	for _, d := range []struct {
		name string
		d    Decision
	}{{"egress", v.Egress}, {"ingress", v.Ingress}} {
		switch d.d.Outcome {
		case Open:
			continue
		case ByRule:
			out += fmt.Sprintf(" %s:%s#%d", d.name, d.d.Policy, d.d.Rule)
		case Denied:
			var names []string
			for _, p := range d.d.Policies {
				names = append(names, p.String())
			}
			out += fmt.Sprintf(" %s:denied(%s)", d.name, strings.Join(names, ","))
		default:
			out += " " + d.name + ":" + d.d.Outcome.String()
		}
	}
	return out
}

// filesCase is a set of manifests and the connections they must judge.
type filesCase struct {
	name  string
	files map[string]string
	cases []connCase
}

// runFiles judges each case's connections under its manifests' policies, in
// the world of pods and namespaces.
func runFiles(t *testing.T, pods []Pod, namespaces []*corev1.Namespace, tests []filesCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			policies, _ := objects(t, tt.files)
			checkConns(t, New(Input{Policies: policies, Pods: pods, Namespaces: namespaces}), pods, tt.cases)
		})
	}
}
