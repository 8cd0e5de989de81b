package reconciler

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/reconciler/deployments"
	"github.com/shoal-run/shoal/reconciler/replicas"
)

const networkManifests = `
apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: web}}
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9090, targetPort: metrics}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web}
subsets: [{addresses: [{ip: 192.0.2.99}], ports: [{name: http, port: 1}]}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  ports: [{name: pg, port: 5432}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: ext}
subsets: [{addresses: [{ip: 192.0.2.10}], ports: [{name: pg, port: 5432}]}]
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: mail}
spec:
  type: ExternalName
  externalName: mail.example.com
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
`

// reportedPod is a pod a node reports running with an IP.
func reportedPod(name, node, ip string, ready bool, labels map[string]string, ports ...corev1.ContainerPort) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels}}
	p.Spec.NodeName = node
	p.Spec.Containers = []corev1.Container{{Name: "c", Image: "busybox", Ports: ports}}
	p.Status.Phase, p.Status.PodIP = corev1.PodRunning, ip
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	return p
}

// networkInput is a step's input over networkManifests: node a runs a
// ready web pod serving both ports, node b a web pod that is not ready
// and lacks the metrics port, and the db pod.
func networkInput(t *testing.T) Input {
	a, b := report("a"), report("b")
	a.Address, b.Address = netip.MustParseAddr("192.168.1.1"), netip.MustParseAddr("192.168.1.2")
	web := map[string]string{"app": "web"}
	a.Pods = []corev1.Pod{reportedPod("web-1", "a", "10.244.0.5", true, web,
		corev1.ContainerPort{Name: "http", ContainerPort: 8080}, corev1.ContainerPort{Name: "metrics", ContainerPort: 9090})}
	db := reportedPod("db-0", "b", "10.244.1.7", true, map[string]string{"app": "db"})
	db.Spec.Hostname, db.Spec.Subdomain = "db-0", "db"
	b.Pods = []corev1.Pod{reportedPod("web-2", "b", "10.244.1.6", false, web, corev1.ContainerPort{Name: "http", ContainerPort: 8080}), db}
	return Input{Desired: load(t, networkManifests), Nodes: []NodeReport{a, b}, Now: now,
		ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"), Placements: map[types.NamespacedName]string{},
		Owned: map[types.NamespacedName]replicas.Owned{}, Seq: map[string]uint64{},
		DeploymentSets: map[string]map[string]deployments.Set{},
		Networking:     Networking{LoadBalancerPool: []netip.Prefix{netip.MustParsePrefix("192.168.100.0/28")}}}
}

// endpointsText is an Endpoints object in one line: each subset's ports,
// then its addresses (with node and pod) and its not-ready ones after "!".
func endpointsText(e corev1.Endpoints) string {
	var subsets []string
	for _, s := range e.Subsets {
		var parts []string
		for _, p := range s.Ports {
			parts = append(parts, p.Name+":"+strconv.Itoa(int(p.Port))+"/"+string(p.Protocol))
		}
		addr := func(a corev1.EndpointAddress) string {
			out := a.IP
			if a.Hostname != "" {
				out += "(" + a.Hostname + ")"
			}
			if a.NodeName != nil {
				out += "@" + *a.NodeName
			}
			if a.TargetRef != nil {
				out += "=" + a.TargetRef.Kind + "/" + a.TargetRef.Namespace + "/" + a.TargetRef.Name
			}
			return out
		}
		for _, a := range s.Addresses {
			parts = append(parts, addr(a))
		}
		for _, a := range s.NotReadyAddresses {
			parts = append(parts, "!"+addr(a))
		}
		subsets = append(subsets, strings.Join(parts, " "))
	}
	return strings.Join(subsets, " | ")
}

// TestNetwork: the Services, Endpoints and Ingresses the leader serves
// carry what the routing table allocated and resolved.
func TestNetwork(t *testing.T) {
	in := networkInput(t)
	plan := Compute(in)
	n := network(in, plan)
	table := plan.Routes.Table

	svcs := map[string]corev1.Service{}
	var names []string
	for _, s := range n.Services {
		svcs[s.Name] = s
		names = append(names, s.Name)
		if s.UID == "" {
			t.Errorf("service %s has no UID", s.Name)
		}
	}
	if got := strings.Join(names, " "); got != "db ext lb mail web" {
		t.Fatalf("services %s", got)
	}
	for _, r := range table.Services {
		s := svcs[r.Name]
		if r.ClusterIP.IsValid() && (s.Spec.ClusterIP != r.ClusterIP.String() || len(s.Spec.ClusterIPs) != 1 || s.Spec.ClusterIPs[0] != s.Spec.ClusterIP ||
			len(s.Spec.IPFamilies) != 1 || s.Spec.IPFamilies[0] != corev1.IPv4Protocol || *s.Spec.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack) {
			t.Errorf("service %s: spec %+v, table's cluster IP %s", r.Name, s.Spec, r.ClusterIP)
		}
	}
	web, lb, db, mail := svcs["web"], svcs["lb"], svcs["db"], svcs["mail"]
	for _, p := range web.Spec.Ports {
		if !table.NodePortRange.Contains(p.NodePort) {
			t.Errorf("web port %s: node port %d", p.Name, p.NodePort)
		}
	}
	if web.Spec.Ports[0].NodePort == web.Spec.Ports[1].NodePort {
		t.Errorf("web's ports share node port %d", web.Spec.Ports[0].NodePort)
	}
	if ing := lb.Status.LoadBalancer.Ingress; len(ing) != 1 || !strings.HasPrefix(ing[0].IP, "192.168.100.") || lb.Spec.HealthCheckNodePort == 0 {
		t.Errorf("lb: status %+v, health check node port %d", lb.Status, lb.Spec.HealthCheckNodePort)
	}
	if db.Spec.ClusterIP != "None" || len(db.Spec.ClusterIPs) != 1 || db.Spec.ClusterIPs[0] != "None" || db.Spec.IPFamilies != nil {
		t.Errorf("headless db: %+v", db.Spec)
	}
	if mail.Spec.ClusterIP != "" || mail.Spec.ClusterIPs != nil || mail.Spec.ExternalName != "mail.example.com" {
		t.Errorf("ExternalName mail: %+v", mail.Spec)
	}
	// Created when the cluster IP was allocated: this step.
	for name, want := range map[string]time.Time{"web": now, "lb": now, "ext": now, "db": {}, "mail": {}} {
		if got := svcs[name].CreationTimestamp.Time; !got.Equal(want) {
			t.Errorf("service %s created %v, want %v", name, got, want)
		}
	}

	wantEndpoints := []struct{ name, text string }{
		{"db", ":5432/TCP 10.244.1.7(db-0)@b=Pod/default/db-0"}, // its port has no name
		{"ext", "pg:5432/TCP 192.0.2.10"},
		{"lb", "http:8080/TCP 10.244.0.5@a=Pod/default/web-1 !10.244.1.6@b=Pod/default/web-2"},
		{"web", "http:8080/TCP metrics:9090/TCP 10.244.0.5@a=Pod/default/web-1 | http:8080/TCP !10.244.1.6@b=Pod/default/web-2"},
	}
	if len(n.Endpoints) != len(wantEndpoints) {
		t.Fatalf("%d endpoints: %+v", len(n.Endpoints), n.Endpoints)
	}
	for i, want := range wantEndpoints {
		e := n.Endpoints[i]
		if got := endpointsText(e); e.Name != want.name || got != want.text {
			t.Errorf("endpoints %s: %s\nwant %s: %s", e.Name, got, want.name, want.text)
		}
	}
	if l := n.Endpoints[0].Labels; len(l) != 1 || l["service.kubernetes.io/headless"] != "" {
		t.Errorf("db endpoints labels %v", l)
	}
	if l := n.Endpoints[3].Labels; l["app"] != "web" || !n.Endpoints[3].CreationTimestamp.Time.Equal(now) {
		t.Errorf("web endpoints: labels %v, created %v", l, n.Endpoints[3].CreationTimestamp)
	}

	if len(n.Ingresses) != 1 {
		t.Fatalf("ingresses %+v", n.Ingresses)
	}
	if lbi := n.Ingresses[0].Status.LoadBalancer.Ingress; len(lbi) != 2 || lbi[0].IP != "192.168.1.1" || lbi[1].IP != "192.168.1.2" || !n.Ingresses[0].CreationTimestamp.IsZero() {
		t.Errorf("ingress status %+v, created %v", lbi, n.Ingresses[0].CreationTimestamp)
	}

	// An hour on, the allocations recorded: the creation times stay; a
	// record without a time (written before times were kept) is unknown;
	// a node no longer ready is not an ingress address.
	in.Now = now.Add(time.Hour)
	in.Allocations = Allocations{ClusterIPs: plan.Routes.ClusterIPs, NodePorts: plan.Routes.NodePorts,
		LoadBalancerIPs: plan.Routes.LoadBalancerIPs, ClusterIPTimes: map[string]time.Time{"default/web": now, "default/lb": now}}
	in.Nodes[1].Info.Status.Conditions[0].Status = corev1.ConditionFalse
	n = network(in, Compute(in))
	for name, want := range map[string]time.Time{"lb": now, "web": now, "ext": {}} {
		for _, s := range n.Services {
			if s.Name == name && !s.CreationTimestamp.Time.Equal(want) {
				t.Errorf("second step: service %s created %v, want %v", name, s.CreationTimestamp, want)
			}
		}
	}
	if lbi := n.Ingresses[0].Status.LoadBalancer.Ingress; len(lbi) != 1 || lbi[0].IP != "192.168.1.1" {
		t.Errorf("second step: ingress status %+v", lbi)
	}
}

// TestClusterIPRecord: the ledger value of a cluster IP carries when it
// was allocated; older records hold the address alone.
func TestClusterIPRecord(t *testing.T) {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		value  string
		ip     string
		at     time.Time
		parsed bool
	}{
		{clusterIPRecord(netip.MustParseAddr("10.96.0.10"), at), "10.96.0.10", at, true},
		{"10.96.0.10 2026-11-27T11:00:00Z", "10.96.0.10", at, true},
		{"10.96.0.11", "10.96.0.11", time.Time{}, true},
		{"10.96.0.12 yesterday", "10.96.0.12", time.Time{}, true},
		{"fd00::1 2026-11-27T11:00:00Z", "fd00::1", at, true},
		{"not-an-ip 2026-11-27T11:00:00Z", "", time.Time{}, false},
	}
	for _, tt := range tests {
		ip, got, ok := parseClusterIPRecord(tt.value)
		if ok != tt.parsed || (ok && (ip.String() != tt.ip || !got.Equal(tt.at))) {
			t.Errorf("%q: %v %v %v, want %s %v %v", tt.value, ip, got, ok, tt.ip, tt.at, tt.parsed)
		}
	}
	if v := clusterIPRecord(netip.MustParseAddr("10.96.0.10"), at); v != "10.96.0.10 2026-11-27T11:00:00Z" {
		t.Errorf("record %q", v)
	}
}
