package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-run/shoal/testenv"
)

// servicesYAML is the repository of TestServicesOnTheCluster: a web pod on
// every node behind several Services, a pod only on node3 behind a Local
// one, a backend on node2's host network behind a selector-less Service,
// an ExternalName and a LoadBalancer.
func servicesYAML(manualIP string) map[string]string {
	return map[string]string{
		"web.yaml": `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: testapp:test
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /ready, port: http}
          periodSeconds: 1
`,
		"local.yaml": strings.Replace(podYAML("local-c", "  nodeSelector: {zone: c}\n"), "labels: {app: local-c}", "labels: {app: local}", 1),
		"manual.yaml": `apiVersion: v1
kind: Pod
metadata: {name: manual-backend}
spec:
  nodeSelector: {zone: b}
  hostNetwork: true
  containers:
  - name: app
    image: testapp:test
    args: [-listen, ":18080"]
    env: [{name: BACKEND, value: manual-backend}]
---
apiVersion: v1
kind: Service
metadata: {name: manual}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: manual}
subsets:
- addresses: [{ip: ` + manualIP + `}]
  ports: [{name: http, port: 18080}]
`,
		"services.yaml": `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-aff}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: local}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: local}
  ports: [{port: 80, targetPort: 8080, nodePort: 30081}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: web.default.svc.cluster.local
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`,
		"ingress.yaml": `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  defaultBackend: {service: {name: web, port: {name: http}}}
  rules:
  - host: shop.example.test
    http:
      paths:
      - {path: /local, pathType: Prefix, backend: {service: {name: local, port: {number: 80}}}}
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
`,
		"client.yaml": netClient,
	}
}

// hostGet is a GET from the test process (the rig's root namespace, on
// the lab network): the body, or the error.
func hostGet(url string) (string, error) {
	cl := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := cl.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// answerers fetches url from the client pod n times and counts the pods
// that answered ("hello from NAME").
func answerers(t testing.TB, c *testenv.Cluster, url string, n int) map[string]int {
	out := map[string]int{}
	for i := 0; i < n; i++ {
		body := strings.TrimSpace(fetch(t, c, "client", url))
		if name, ok := strings.CutPrefix(body, "hello from "); ok {
			out[name]++
		}
	}
	return out
}

// TestServicesOnTheCluster checks Service networking on three nodes, every
// check reading a body that names the pod that answered.
func TestServicesOnTheCluster(t *testing.T) {
	c := startRig(t, 3, func(cfg *testenv.Config) {
		cfg.Labels = map[string]map[string]string{"node2": {"zone": "b"}, "node3": {"zone": "c"}}
	})
	node := map[string]string{}
	for _, n := range c.Nodes() {
		node[n.Name] = n.Addr
	}
	push(t, c, servicesYAML(node["node2"]), "services")
	waitFor(t, 90*time.Second, "the web pods, local-c, manual-backend and client running", func() bool {
		ps := pods(c, t, "node1")
		n := 0
		for _, p := range ps {
			if strings.HasPrefix(p.Name, "web-") && p.Status.PodIP != "" && p.Status.Phase == "Running" {
				n++
			}
		}
		return n == 3 && runningOn(ps, "local-c", "node3") && runningOn(ps, "manual-backend", "node2") && runningOn(ps, "client", "node1")
	})
	ps := mustPods(c, t, "node1")
	webOn := map[string]string{} // node -> web pod
	webIP := map[string]string{} // pod -> IP
	for _, p := range ps {
		if strings.HasPrefix(p.Name, "web-") {
			webOn[p.Spec.NodeName], webIP[p.Name] = p.Name, p.Status.PodIP
		}
	}

	t.Run("cluster IP spreads over every ready pod", func(t *testing.T) {
		seen := map[string]int{}
		waitFor(t, 60*time.Second, "web answered by its three pods", func() bool {
			for k, v := range answerers(t, c, "http://web/", 6) {
				seen[k] += v
			}
			return len(seen) == 3
		})
		for name := range seen {
			if webIP[name] == "" {
				t.Fatalf("answered by %q, not a web pod (%v)", name, webIP)
			}
		}
	})

	t.Run("a pod that is not ready leaves the endpoints and comes back", func(t *testing.T) {
		sick := webOn["node2"]
		if body := fetch(t, c, "client", "http://"+webIP[sick]+":8080/ready/fail"); body == "" {
			t.Fatalf("could not fail %s's readiness", sick)
		}
		waitFor(t, 30*time.Second, sick+" out of web's answers", func() bool {
			return answerers(t, c, "http://web/", 12)[sick] == 0
		})
		fetch(t, c, "client", "http://"+webIP[sick]+":8080/ready/ok")
		waitFor(t, 30*time.Second, sick+" back in web's answers", func() bool {
			return answerers(t, c, "http://web/", 6)[sick] > 0
		})
	})

	t.Run("node port on every node", func(t *testing.T) {
		for name, addr := range node {
			var body string
			waitFor(t, 20*time.Second, "node port 30080 on "+name, func() bool {
				body, _ = hostGet("http://" + addr + ":30080/")
				return strings.HasPrefix(body, "hello from web-")
			})
		}
	})

	t.Run("external traffic policy Local", func(t *testing.T) {
		waitFor(t, 20*time.Second, "local-c through node3's node port", func() bool {
			body, _ := hostGet("http://" + node["node3"] + ":30081/")
			return strings.TrimSpace(body) == "hello from local-c"
		})
		// node1 runs no local pod: refused at once, not left to hang.
		began := time.Now()
		_, err := hostGet("http://" + node["node1"] + ":30081/")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("node1:30081 answered %v (after %v), want connection refused", err, time.Since(began))
		}
	})

	t.Run("ingress by host and path", func(t *testing.T) {
		for _, tc := range []struct{ host, path, want string }{
			{"shop.example.test", "/local/x", "hello from local-c"},
			{"shop.example.test", "/", "hello from web-"},
			{"other.example.test", "/local", "hello from web-"}, // no rule for the host: the default backend
		} {
			waitFor(t, 20*time.Second, tc.host+tc.path+" through node1's ingress", func() bool {
				body := ingressGet(t, "http://"+node["node1"]+tc.path, tc.host, node["node1"])
				return strings.HasPrefix(strings.TrimSpace(body), tc.want)
			})
		}
	})

	t.Run("ClientIP affinity holds a client to one pod", func(t *testing.T) {
		got := answerers(t, c, "http://web-aff/", 10)
		if len(got) != 1 {
			t.Fatalf("web-aff answered by %v, want one pod", got)
		}
	})

	t.Run("ExternalName is a CNAME", func(t *testing.T) {
		out, _ := inPod(t, c, "node1", "client", "busybox", "nslookup", "ext.default.svc.cluster.local")
		if !strings.Contains(out, "canonical name = web.default.svc.cluster.local") {
			t.Fatalf("nslookup ext:\n%s", out)
		}
		if body := fetch(t, c, "client", "http://ext/"); !strings.HasPrefix(body, "hello from web-") {
			t.Fatalf("http://ext/ answered %q", body)
		}
	})

	t.Run("selector-less service with manual Endpoints", func(t *testing.T) {
		waitFor(t, 20*time.Second, "manual reaching the backend on node2's host network", func() bool {
			return strings.TrimSpace(fetch(t, c, "client", "http://manual/env/BACKEND")) == "manual-backend"
		})
	})

	t.Run("an address of the service range no service owns is refused", func(t *testing.T) {
		out, code := inPod(t, c, "node1", "client", "wget", "-q", "-O-", "http://10.96.0.2/")
		if code == 0 || !strings.Contains(out, "refused") {
			t.Fatalf("10.96.0.2: exit %d, %q; want connection refused", code, out)
		}
	})

	t.Run("the load balancer address moves when its node dies", func(t *testing.T) {
		pool, _ := testenv.LBPool(c.HostAddr())
		var lbIP, announcer string
		waitFor(t, 30*time.Second, "the LoadBalancer's address and announcer", func() bool {
			lbIP, announcer = loadBalancer(t, c, "node1", "lb")
			return lbIP != "" && announcer != ""
		})
		if !pool.Contains(mustAddr(t, lbIP)) {
			t.Fatalf("lb got %s, outside the pool %s", lbIP, pool)
		}
		waitFor(t, 20*time.Second, "the load balancer answering", func() bool {
			body, _ := hostGet("http://" + lbIP + "/")
			return strings.HasPrefix(body, "hello from web-")
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Kill(ctx, announcer); err != nil {
			t.Fatal(err)
		}
		other := "node1"
		if announcer == "node1" {
			other = "node2"
		}
		waitFor(t, 60*time.Second, "another node announcing "+lbIP, func() bool {
			_, a := loadBalancer(t, c, other, "lb")
			return a != "" && a != announcer
		})
		waitFor(t, 30*time.Second, "the load balancer answering again", func() bool {
			body, _ := hostGet("http://" + lbIP + "/")
			return strings.HasPrefix(body, "hello from web-") && !strings.Contains(body, webOn[announcer])
		})
	})
}

// loadBalancer reads Service name's address and announcing node from the
// routing table node last applied.
func loadBalancer(t testing.TB, c *testenv.Cluster, node, name string) (ip, announcer string) {
	var st struct {
		Services []struct {
			Name, LoadBalancerIP, Announcer string
		}
	}
	if !getInside(t, c, node, "/v1/routes", &st) {
		return "", ""
	}
	for _, s := range st.Services {
		if s.Name == name {
			return s.LoadBalancerIP, s.Announcer
		}
	}
	return "", ""
}

func mustAddr(t testing.TB, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
