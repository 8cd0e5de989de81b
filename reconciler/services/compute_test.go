package services

import (
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoal-run/shoal/manifests"
)

// input loads YAML documents into an Input (Services, Endpoints,
// Ingresses, Secrets) with three ready nodes.
func input(t *testing.T, yaml string) Input {
	t.Helper()
	set, err := manifests.Load(fstest.MapFS{"m.yaml": {Data: []byte(yaml)}})
	if err != nil {
		t.Fatal(err)
	}
	in := Input{
		Services:  manifests.Of[*corev1.Service](set),
		Endpoints: manifests.Of[*corev1.Endpoints](set),
		Ingresses: manifests.Of[*networkingv1.Ingress](set),
		Secret: func(ns, name string) *corev1.Secret {
			s, _ := set.Get("Secret", ns, name).(*corev1.Secret)
			return s
		},
		ServiceCIDR: netip.MustParsePrefix("10.96.0.0/24"),
	}
	for i, n := range []string{"a", "b", "c"} {
		in.Nodes = append(in.Nodes, Node{Name: n, Ready: true,
			Address: netip.AddrFrom4([4]byte{10, 77, 0, byte(10 + i)}),
			PodCIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 244, byte(i), 0}), 24)})
	}
	return in
}

// pod is a reported pod on node with IP and readiness.
func pod(name, node, ip string, ready bool, labels map[string]string, ports ...corev1.ContainerPort) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels}}
	p.Spec.NodeName = node
	p.Spec.Containers = []corev1.Container{{Name: "c", Ports: ports}}
	p.Status.Phase = corev1.PodRunning
	p.Status.PodIP = ip
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	return p
}

func find(t *testing.T, p Plan, name string) Service {
	t.Helper()
	for _, s := range p.Table.Services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no service %s in %+v (errors %v)", name, p.Table.Services, p.Errors)
	return Service{}
}

const web = `
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9090}
`

func TestEndpoints(t *testing.T) {
	in := input(t, web)
	http := corev1.ContainerPort{Name: "http", ContainerPort: 8080}
	in.Pods = []*corev1.Pod{
		pod("web-2", "b", "10.244.1.5", true, map[string]string{"app": "web"}, http),
		pod("web-1", "a", "10.244.0.5", false, map[string]string{"app": "web"}, http),
		pod("web-q", "a", "10.244.0.6", true, map[string]string{"app": "web", QuarantineLabel: "true"}, http),
		pod("other", "a", "10.244.0.7", true, map[string]string{"app": "other"}, http),
		pod("noip", "a", "", true, map[string]string{"app": "web"}, http),
		pod("noname", "c", "10.244.2.5", true, map[string]string{"app": "web"}),
	}
	done := pod("done", "c", "10.244.2.6", false, map[string]string{"app": "web"}, http)
	done.Status.Phase = corev1.PodSucceeded
	in.Pods = append(in.Pods, done)
	s := find(t, Compute(in), "web")
	var got []string
	for _, e := range s.Endpoints {
		var ports []string
		for _, p := range s.Ports {
			if a, ok := e.Target(p); ok {
				ports = append(ports, p.Name+"="+a.String())
			}
		}
		got = append(got, e.Pod+"@"+e.Node+" ready="+map[bool]string{true: "yes", false: "no"}[e.Ready]+" "+strings.Join(ports, ","))
	}
	want := []string{
		"web-1@a ready=no http=10.244.0.5:8080,metrics=10.244.0.5:9090",
		"web-2@b ready=yes http=10.244.1.5:8080,metrics=10.244.1.5:9090",
		"noname@c ready=yes metrics=10.244.2.5:9090",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("endpoints:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestClusterIPs(t *testing.T) {
	const yaml = `
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {selector: {app: a}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: fixed}
spec: {clusterIP: 10.96.0.50, selector: {app: a}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: outside}
spec: {clusterIP: 10.1.0.1, selector: {app: a}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: headless}
spec: {clusterIP: None, selector: {app: a}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: db.example.test}
`
	in := input(t, yaml)
	p := Compute(in)
	a := find(t, p, "a")
	if !in.ServiceCIDR.Contains(a.ClusterIP) || a.ClusterIP == netip.MustParseAddr("10.96.0.0") {
		t.Fatalf("a: %v", a.ClusterIP)
	}
	if got := find(t, p, "fixed").ClusterIP; got != netip.MustParseAddr("10.96.0.50") {
		t.Fatalf("fixed: %v", got)
	}
	if h := find(t, p, "headless"); !h.Headless || h.ClusterIP.IsValid() {
		t.Fatalf("headless: %+v", h)
	}
	if e := find(t, p, "ext"); e.ExternalName != "db.example.test" || e.ClusterIP.IsValid() {
		t.Fatalf("ext: %+v", e)
	}
	if msg := p.Errors["Service/default/outside"]; !strings.Contains(msg, "not in the service range") {
		t.Fatalf("outside: %q", msg)
	}
	if len(p.ClusterIPs) != 2 {
		t.Fatalf("allocations %v", p.ClusterIPs)
	}

	// Recorded, the allocations stand: nothing new; a Service that asks
	// for an address another holds is refused; a gone one is released.
	in.ClusterIPs = p.ClusterIPs
	in.ClusterIPs["default/gone"] = netip.MustParseAddr("10.96.0.99")
	clash := input(t, yaml+"---\napiVersion: v1\nkind: Service\nmetadata: {name: clash}\nspec: {clusterIP: "+a.ClusterIP.String()+", ports: [{port: 1}]}\n")
	in.Services = clash.Services
	q := Compute(in)
	if len(q.ClusterIPs) != 0 || strings.Join(q.ReleaseClusterIPs, ",") != "default/gone" {
		t.Fatalf("second step: new %v, released %v", q.ClusterIPs, q.ReleaseClusterIPs)
	}
	if find(t, q, "a").ClusterIP != a.ClusterIP || !strings.Contains(q.Errors["Service/default/clash"], "already allocated to Service default/a") {
		t.Fatalf("clash: %v", q.Errors)
	}
}

func TestNodePortsAndLoadBalancers(t *testing.T) {
	const yaml = `
apiVersion: v1
kind: Service
metadata: {name: np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: a, port: 80}, {name: b, port: 81, nodePort: 30081}]
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: zbad}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, nodePort: 30081}]
`
	in := input(t, yaml)
	in.LoadBalancerPool = []netip.Prefix{netip.MustParsePrefix("10.77.0.200/29")}
	in.Pods = []*corev1.Pod{pod("web-1", "c", "10.244.2.5", true, map[string]string{"app": "web"})}
	p := Compute(in)
	np := find(t, p, "np")
	if !in.NodePortRange.Contains(np.Ports[0].NodePort) && !DefaultNodePortRange.Contains(np.Ports[0].NodePort) || np.Ports[1].NodePort != 30081 {
		t.Fatalf("node ports %+v", np.Ports)
	}
	if !strings.Contains(p.Errors["Service/default/zbad"], "already allocated to Service default/np") {
		t.Fatalf("errors %v", p.Errors)
	}
	lb := find(t, p, "lb")
	if !in.LoadBalancerPool[0].Contains(lb.LoadBalancerIP) || lb.HealthCheckNodePort == 0 || lb.Ports[0].NodePort == 0 {
		t.Fatalf("lb %+v", lb)
	}
	// Local: announced by the node with the ready endpoint, and by another
	// ready node once that one is gone.
	if lb.Announcer != "c" {
		t.Fatalf("announcer %q, want c (the only node with an endpoint)", lb.Announcer)
	}
	if st := lb.Status(); len(st.LoadBalancer.Ingress) != 1 || st.LoadBalancer.Ingress[0].IP != lb.LoadBalancerIP.String() {
		t.Fatalf("status %+v", st)
	}
	in.Nodes = in.Nodes[:2]
	in.Pods = nil
	in.LoadBalancerIPs = p.LoadBalancerIPs
	q := Compute(in)
	if got := find(t, q, "lb"); got.Announcer == "" || got.Announcer == "c" || got.LoadBalancerIP != lb.LoadBalancerIP {
		t.Fatalf("after c left: %+v", got)
	}
}

func TestRendezvousMovesOnlyForItsNode(t *testing.T) {
	nodes := []string{"a", "b", "c", "d", "e"}
	moved := 0
	for i := 0; i < 200; i++ {
		k := "default/svc" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		before := rendezvous(k, nodes)
		var rest []string
		for _, n := range nodes {
			if n != "c" {
				rest = append(rest, n)
			}
		}
		after := rendezvous(k, rest)
		if before != "c" && after != before {
			t.Fatalf("%s moved from %s to %s though c left", k, before, after)
		}
		if before == "c" {
			moved++
		}
	}
	if moved == 0 || moved == 200 {
		t.Fatalf("%d of 200 on c: not spread", moved)
	}
}

func TestManualEndpointsAndIngress(t *testing.T) {
	in := input(t, web+`
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {ports: [{name: pg, port: 5432}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: db}
subsets:
- addresses: [{ip: 192.0.2.10}]
  notReadyAddresses: [{ip: 192.0.2.11}]
  ports: [{name: pg, port: 15432}]
---
apiVersion: v1
kind: Secret
metadata: {name: tls}
type: kubernetes.io/tls
data: {tls.crt: Y2VydA==, tls.key: a2V5}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  tls: [{hosts: [shop.example.test], secretName: tls}, {secretName: missing}]
  defaultBackend: {service: {name: web, port: {name: http}}}
  rules:
  - host: shop.example.test
    http:
      paths:
      - {path: /api, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /x, pathType: Exact, backend: {service: {name: nope, port: {number: 80}}}}
`)
	http := corev1.ContainerPort{Name: "http", ContainerPort: 8080}
	in.Pods = []*corev1.Pod{
		pod("web-1", "a", "10.244.0.5", true, map[string]string{"app": "web"}, http),
		pod("web-2", "b", "10.244.1.5", false, map[string]string{"app": "web"}, http),
	}
	p := Compute(in)
	db := find(t, p, "db")
	if len(db.Endpoints) != 2 || !db.Endpoints[0].Ready || db.Endpoints[1].Ready || db.Endpoints[0].Ports["pg"] != 15432 {
		t.Fatalf("db endpoints %+v", db.Endpoints)
	}
	if len(p.Table.Ingresses) != 1 {
		t.Fatalf("ingresses %+v", p.Table.Ingresses)
	}
	ing := p.Table.Ingresses[0]
	want := []netip.AddrPort{netip.MustParseAddrPort("10.244.0.5:8080")}
	if ing.DefaultBackend == nil || len(ing.DefaultBackend.Targets) != 1 || ing.DefaultBackend.Targets[0] != want[0] {
		t.Fatalf("default backend %+v", ing.DefaultBackend)
	}
	if b := ing.Rules[0].Paths[0].Backend; len(b.Targets) != 1 || b.Targets[0] != want[0] {
		t.Fatalf("rule backend %+v", b)
	}
	if string(ing.TLS[0].Cert) != "cert" || string(ing.TLS[0].Key) != "key" || len(ing.TLS[1].Cert) != 0 {
		t.Fatalf("tls %+v", ing.TLS)
	}
	if msg := p.Errors["Ingress/default/shop"]; msg == "" {
		t.Fatal("no error for the missing backend and secret")
	}
}

func TestEnvVars(t *testing.T) {
	tbl := &Table{Services: []Service{
		{Namespace: "default", Name: "redis-primary", ClusterIP: netip.MustParseAddr("10.96.0.11"),
			Ports: []Port{{Name: "redis", Protocol: corev1.ProtocolTCP, Port: 6379}, {Protocol: corev1.ProtocolUDP, Port: 53}}},
		{Namespace: "default", Name: "headless", Headless: true, Ports: []Port{{Protocol: corev1.ProtocolTCP, Port: 80}}},
		{Namespace: "other", Name: "x", ClusterIP: netip.MustParseAddr("10.96.0.12"), Ports: []Port{{Protocol: corev1.ProtocolTCP, Port: 80}}},
	}}
	var got []string
	for _, e := range EnvVars(tbl, "default", true) {
		got = append(got, e.Name+"="+e.Value)
	}
	want := []string{
		"REDIS_PRIMARY_SERVICE_HOST=10.96.0.11",
		"REDIS_PRIMARY_SERVICE_PORT=6379",
		"REDIS_PRIMARY_SERVICE_PORT_REDIS=6379",
		"REDIS_PRIMARY_PORT=tcp://10.96.0.11:6379",
		"REDIS_PRIMARY_PORT_6379_TCP=tcp://10.96.0.11:6379",
		"REDIS_PRIMARY_PORT_6379_TCP_PROTO=tcp",
		"REDIS_PRIMARY_PORT_6379_TCP_PORT=6379",
		"REDIS_PRIMARY_PORT_6379_TCP_ADDR=10.96.0.11",
		"REDIS_PRIMARY_PORT_53_UDP=udp://10.96.0.11:53",
		"REDIS_PRIMARY_PORT_53_UDP_PROTO=udp",
		"REDIS_PRIMARY_PORT_53_UDP_PORT=53",
		"REDIS_PRIMARY_PORT_53_UDP_ADDR=10.96.0.11",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(EnvVars(tbl, "default", false)); n != 3 {
		t.Fatalf("without links: %d variables, want 3", n)
	}
}
