package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/nodeagent/api/apitest"
)

// forwardingPods is fakePods that forwards ports: a pod's port is that
// port of 127.0.0.1, dialed as a node dials a pod's IP. It records what
// was dialed.
type forwardingPods struct {
	*fakePods
	mu     sync.Mutex
	dialed []string
}

func (f *forwardingPods) DialPod(ctx context.Context, ns, name string, port int32) (io.ReadWriteCloser, error) {
	if _, err := f.GetPod(ctx, ns, name); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.dialed = append(f.dialed, ns+"/"+name+":"+strconv.Itoa(int(port)))
	f.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
}

func (f *forwardingPods) lastDialed() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.dialed) == 0 {
		return ""
	}
	return f.dialed[len(f.dialed)-1]
}

func service(name string, typ corev1.ServiceType, clusterIP string, created time.Duration, ports ...corev1.ServicePort) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
	if created > 0 {
		s.CreationTimestamp = ago(created)
	}
	s.Spec = corev1.ServiceSpec{Type: typ, Ports: ports, SessionAffinity: corev1.ServiceAffinityNone}
	if clusterIP != "" {
		s.Spec.ClusterIP, s.Spec.ClusterIPs = clusterIP, []string{clusterIP}
	}
	return s
}

func servicePort(name string, port int32, target intstr.IntOrString, nodePort int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: target, NodePort: nodePort, Protocol: corev1.ProtocolTCP}
}

func address(ip, pod string) corev1.EndpointAddress {
	a := corev1.EndpointAddress{IP: ip}
	if pod != "" {
		a.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: pod}
	}
	return a
}

func endpoints(name string, created time.Duration, subsets ...corev1.EndpointSubset) *corev1.Endpoints {
	e := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Subsets: subsets}
	if created > 0 {
		e.CreationTimestamp = ago(created)
	}
	return e
}

func endpointPorts(ports ...corev1.EndpointPort) []corev1.EndpointPort { return ports }

// testNetwork are the Services, Endpoints and Ingresses of the fake
// cluster: web (NodePort, ready on web-2 only), db (headless), lb (a
// LoadBalancer with an address), pending (one without), mail
// (ExternalName); the Ingresses front and catchall.
func testNetwork() []runtime.Object {
	single, cluster := corev1.IPFamilyPolicySingleStack, corev1.ServiceInternalTrafficPolicyCluster
	web := service("web", corev1.ServiceTypeNodePort, "10.96.12.34", 5*time.Minute,
		servicePort("http", 80, intstr.FromString("http"), 30080), servicePort("metrics", 9090, intstr.FromInt32(9090), 31090))
	web.Labels, web.Spec.Selector = map[string]string{"app": "web"}, map[string]string{"app": "web"}
	web.Spec.IPFamilyPolicy, web.Spec.IPFamilies = &single, []corev1.IPFamily{corev1.IPv4Protocol}
	web.Spec.ExternalTrafficPolicy, web.Spec.InternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster, &cluster

	db := service("db", corev1.ServiceTypeClusterIP, "None", 0, servicePort("", 5432, intstr.FromInt32(5432), 0))
	db.Spec.Selector = map[string]string{"app": "db"}

	lb := service("lb", corev1.ServiceTypeLoadBalancer, "10.96.0.20", 2*time.Hour, servicePort("https", 443, intstr.FromInt32(8443), 31443))
	lb.Spec.Selector, lb.Spec.ExternalTrafficPolicy, lb.Spec.HealthCheckNodePort = map[string]string{"app": "lb"}, corev1.ServiceExternalTrafficPolicyLocal, 32000
	vip := corev1.LoadBalancerIPModeVIP
	lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.168.100.3", IPMode: &vip}}

	pending := service("pending", corev1.ServiceTypeLoadBalancer, "10.96.0.21", 10*time.Minute, servicePort("http", 80, intstr.FromInt32(80), 30500))
	pending.Spec.Selector = map[string]string{"app": "none"}

	mail := service("mail", corev1.ServiceTypeExternalName, "", 0)
	mail.Spec.ExternalName = "mail.example.com"

	prefix := networkingv1.PathTypePrefix
	nginx := "nginx"
	backend := func(svc string, port networkingv1.ServiceBackendPort) networkingv1.IngressBackend {
		return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: svc, Port: port}}
	}
	rule := func(host string, paths ...networkingv1.HTTPIngressPath) networkingv1.IngressRule {
		return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}}
	}
	front := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "front"}}
	front.Spec = networkingv1.IngressSpec{IngressClassName: &nginx,
		TLS: []networkingv1.IngressTLS{{Hosts: []string{"web.example.com"}, SecretName: "web-tls"}},
		Rules: []networkingv1.IngressRule{
			rule("web.example.com",
				networkingv1.HTTPIngressPath{Path: "/", PathType: &prefix, Backend: backend("web", networkingv1.ServiceBackendPort{Name: "http"})},
				networkingv1.HTTPIngressPath{Path: "/metrics", PathType: &prefix, Backend: backend("web", networkingv1.ServiceBackendPort{Number: 9090})}),
			rule("api.example.com", networkingv1.HTTPIngressPath{Path: "/", PathType: &prefix, Backend: backend("nope", networkingv1.ServiceBackendPort{Number: 80})}),
		}}
	front.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.168.1.2"}, {IP: "192.168.1.1"}}
	def := backend("web", networkingv1.ServiceBackendPort{Number: 80})
	catchall := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "catchall", CreationTimestamp: ago(time.Hour)},
		Spec: networkingv1.IngressSpec{DefaultBackend: &def}}

	return []runtime.Object{db, lb, mail, pending, web,
		endpoints("db", 0, corev1.EndpointSubset{Addresses: []corev1.EndpointAddress{address("10.244.1.7", "db-0")}}),
		endpoints("lb", 2*time.Hour, corev1.EndpointSubset{Ports: endpointPorts(corev1.EndpointPort{Name: "https", Port: 8443, Protocol: corev1.ProtocolTCP}),
			Addresses: []corev1.EndpointAddress{address("10.244.0.9", ""), address("10.244.1.9", ""), address("10.244.2.9", ""), address("10.244.3.9", "")}}),
		endpoints("pending", 10*time.Minute),
		endpoints("web", 5*time.Minute, corev1.EndpointSubset{
			Ports:             endpointPorts(corev1.EndpointPort{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}, corev1.EndpointPort{Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP}),
			Addresses:         []corev1.EndpointAddress{address("10.244.1.6", "web-2")},
			NotReadyAddresses: []corev1.EndpointAddress{address("10.244.0.5", "web-1")},
		}),
		catchall, front,
		ptr(corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "lb.1"}, InvolvedObject: corev1.ObjectReference{Kind: "Service", Namespace: "default", Name: "lb"},
			Type: corev1.EventTypeWarning, Reason: "FailedRouting", Message: "the load-balancer pool has no free address", Source: corev1.EventSource{Component: "shoal-leader"},
			Count: 1, FirstTimestamp: ago(time.Minute), LastTimestamp: ago(time.Minute)}),
	}
}

// startNetworkAPI serves a fake cluster node with testNetwork and the web
// pods (web-1 not ready, web-2 ready, both with their container port http
// on httpPort) and a pending pod, forwarding ports; it points the client
// at it.
func startNetworkAPI(t *testing.T, httpPort int32) *forwardingPods {
	t.Helper()
	webPod := func(name string, ready bool) corev1.Pod {
		p := pod(name, corev1.PodRunning, running(ready))
		p.Labels = map[string]string{"app": "web"}
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: httpPort}}
		return p
	}
	f := &forwardingPods{fakePods: &fakePods{pods: []corev1.Pod{webPod("web-1", false), webPod("web-2", true), pod("waiting", corev1.PodPending)}}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.NewServer(f, api.ServerOptions{Logger: log, Token: testToken,
		Cluster: workloadCluster{&fakeCluster{nodes: testNodes(), status: testStatus()}, &apitest.Workloads{Objects: testNetwork()}}}))
	t.Cleanup(srv.Close)
	t.Setenv("SHOAL_SERVER", srv.URL)
	t.Setenv("SHOAL_TOKEN", testToken)
	return f
}

const describedServiceText = `Name:                     web
Namespace:                default
Labels:                   app=web
Annotations:              <none>
Selector:                 app=web
Type:                     NodePort
IP Family Policy:         SingleStack
IP Families:              IPv4
IP:                       10.96.12.34
IPs:                      10.96.12.34
Port:                     http  80/TCP
TargetPort:               http/TCP
NodePort:                 http  30080/TCP
Endpoints:                10.244.1.6:8080
Port:                     metrics  9090/TCP
TargetPort:               9090/TCP
NodePort:                 metrics  31090/TCP
Endpoints:                10.244.1.6:9090
Session Affinity:         None
External Traffic Policy:  Cluster
Internal Traffic Policy:  Cluster
Events:                   <none>
`

const describedIngressText = `Name:             front
Labels:           <none>
Namespace:        default
Address:          192.168.1.1,192.168.1.2
Ingress Class:    nginx
Default backend:  <default>
TLS:
  web-tls terminates web.example.com
Rules:
  Host             Path  Backends
  ----             ----  --------
  web.example.com  
                   /          web:http (10.244.1.6:8080)
                   /metrics   web:9090 (10.244.1.6:9090)
  api.example.com  
                   /   <error: endpoints "nope" not found>
Annotations:       <none>
Events:            <none>
`

func TestNetworkCommands(t *testing.T) {
	startNetworkAPI(t, 8080)
	tests := []clientCase{
		{name: "get svc", args: []string{"get", "svc"}, wantOut: `
NAME      TYPE           CLUSTER-IP    EXTERNAL-IP        PORT(S)                       AGE
db        ClusterIP      None          <none>             5432/TCP                      <unknown>
lb        LoadBalancer   10.96.0.20    192.168.100.3      443:31443/TCP                 120m
mail      ExternalName   <none>        mail.example.com   <none>                        <unknown>
pending   LoadBalancer   10.96.0.21    <pending>          80:30500/TCP                  10m
web       NodePort       10.96.12.34   <none>             80:30080/TCP,9090:31090/TCP   5m
`},
		{name: "get services wide", args: []string{"get", "services", "-o", "wide", "-A"}, contains: []string{
			"NAMESPACE   NAME      TYPE           CLUSTER-IP    EXTERNAL-IP        PORT(S)                       AGE         SELECTOR\n",
			"default     mail      ExternalName   <none>        mail.example.com   <none>                        <unknown>   <none>\n",
			"default     web       NodePort       10.96.12.34   <none>             80:30080/TCP,9090:31090/TCP   5m          app=web\n",
		}},
		{name: "get service names", args: []string{"get", "service", "web", "db", "-o", "name"}, wantOut: "\nservice/web\nservice/db\n"},
		{name: "get svc yaml", args: []string{"get", "svc/lb", "-o", "yaml"}, contains: []string{
			"apiVersion: v1\n", "kind: Service\n", "  healthCheckNodePort: 32000\n", "    - ip: 192.168.100.3\n", "      ipMode: VIP\n",
		}},
		{name: "get ep", args: []string{"get", "ep"}, wantOut: `
NAME      ENDPOINTS                                                     AGE
db        10.244.1.7                                                    <unknown>
lb        10.244.0.9:8443,10.244.1.9:8443,10.244.2.9:8443 + 1 more...   120m
pending   <none>                                                        10m
web       10.244.1.6:8080,10.244.1.6:9090                               5m
`},
		{name: "get endpoints wide has no more columns", args: []string{"get", "endpoints", "web", "-o", "wide"}, wantOut: `
NAME   ENDPOINTS                         AGE
web    10.244.1.6:8080,10.244.1.6:9090   5m
`},
		{name: "get ep names", args: []string{"get", "ep", "-o", "name"}, contains: []string{"endpoints/db\n", "endpoints/web\n"}},
		{name: "get ing", args: []string{"get", "ing"}, wantOut: `
NAME       CLASS    HOSTS                             ADDRESS            PORTS     AGE
catchall   <none>   *                                                    80        60m
front      nginx    web.example.com,api.example.com   192.168.1.1,1...   80, 443   <unknown>
`},
		{name: "get ingress wide", args: []string{"get", "ingress", "front", "-o", "wide"}, contains: []string{"192.168.1.1,192.168.1.2   80, 443"}},
		{name: "get ingresses names", args: []string{"get", "ingresses", "-o", "name"}, wantOut: "\ningress.networking.k8s.io/catchall\ningress.networking.k8s.io/front\n"},
		{name: "get missing service", args: []string{"get", "svc", "nope"}, wantCode: 1, errHas: []string{`Error: service "nope" not found in namespace "default"`}},
		{name: "get svc empty namespace", args: []string{"get", "svc", "-n", "empty"}, wantOut: "\n", errHas: []string{"No resources found in empty namespace."}},

		{name: "describe svc", args: []string{"describe", "svc", "web"}, wantOut: "\n" + describedServiceText},
		{name: "describe load balancer", args: []string{"describe", "service/lb"}, contains: []string{
			"Type:                     LoadBalancer\n", "LoadBalancer Ingress:     192.168.100.3 (VIP)\n", "Port:                     https  443/TCP\n",
			"TargetPort:               8443/TCP\n", "Endpoints:                10.244.0.9:8443,10.244.1.9:8443,10.244.2.9:8443 + 1 more...\n",
			"External Traffic Policy:  Local\n", "HealthCheck NodePort:     32000\n",
			"  Warning                 FailedRouting  60s   shoal-leader  the load-balancer pool has no free address\n",
		}},
		{name: "describe headless and external", args: []string{"describe", "svc", "db", "mail"}, contains: []string{
			"IP:                 None\n", "Port:               <unset>  5432/TCP\n", "Endpoints:          10.244.1.7\n",
			"External Name:      mail.example.com\n", "IPs:                <none>\n",
		}},
		{name: "describe ep", args: []string{"describe", "ep", "web"}, contains: []string{
			"Subsets:\n", "  Addresses:          10.244.1.6\n", "  NotReadyAddresses:  10.244.0.5\n",
			"    Name     Port  Protocol\n", "    http     8080  TCP\n", "    metrics  9090  TCP\n",
		}},
		{name: "describe ing", args: []string{"describe", "ing", "front"}, wantOut: "\n" + describedIngressText},
		{name: "describe ingress default backend", args: []string{"describe", "ingress", "catchall"}, contains: []string{
			"Ingress Class:    <none>\n", "Default backend:  web:80 (10.244.1.6:8080)\n", "  * * web:80 (10.244.1.6:8080)\n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}
