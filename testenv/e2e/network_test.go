package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/testenv"
)

// inPod runs a command in a pod through node's API and returns its output
// and exit code.
func inPod(t testing.TB, c *testenv.Cluster, node, pod string, argv ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	code, err := client(t, c, node).Exec(ctx, "default", pod, api.ExecOptions{Command: argv, Stdout: &out, Stderr: &out})
	if err != nil {
		return err.Error(), -1
	}
	return out.String(), code
}

// fetch is wget from inside a pod: the body, or "" when it failed
// (without -T: busybox 1.35's static wget crashes with it here).
func fetch(t testing.TB, c *testenv.Cluster, pod, url string) string {
	out, code := inPod(t, c, "node1", pod, "wget", "-q", "-O-", url)
	if code != 0 {
		return ""
	}
	return out
}

const netClient = `apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: node1
  containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
`

// TestPodNetworkAcrossNodes: pods on different nodes reach each other by
// pod IP (host-gw routes kept from the routing table); every node's ingress
// proxy serves an Ingress by host, over HTTP and TLS with the repository's
// certificate; a pod gets the service environment variables of its
// namespace and finds services through the node's DNS.
func TestPodNetworkAcrossNodes(t *testing.T) {
	c := startRig(t, 3, func(cfg *testenv.Config) {
		cfg.Labels = map[string]map[string]string{"node2": {"zone": "b"}, "node3": {"zone": "c"}}
	})
	push(t, c, map[string]string{
		"web-b.yaml": strings.Replace(podYAML("web-b", "  nodeSelector: {zone: b}\n"), "labels: {app: web-b}", "labels: {app: web}", 1),
		"web-c.yaml": strings.Replace(podYAML("web-c", "  nodeSelector: {zone: c}\n"), "labels: {app: web-c}", "labels: {app: web}", 1),
		"svc.yaml": `apiVersion: v1
kind: Service
metadata: {name: web-front}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-headless}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{name: http, port: 8080}]
`,
		"client.yaml":  netClient,
		"ingress.yaml": ingressYAML(t, "web.example.test"),
	}, "two web pods on two nodes, a service, a client on a third")
	waitFor(t, 90*time.Second, "web-b, web-c and client running", func() bool {
		ps := pods(c, t, "node1")
		return runningOn(ps, "web-b", "node2") && runningOn(ps, "web-c", "node3") && runningOn(ps, "client", "node1")
	})
	ps := mustPods(c, t, "node1")
	for _, name := range []string{"web-b", "web-c"} {
		ip := find(ps, name)[0].Status.PodIP
		url := fmt.Sprintf("http://%s:8080/", ip)
		var body string
		waitFor(t, 20*time.Second, "client on node1 reaching "+name+" at "+ip, func() bool {
			body = fetch(t, c, "client", url)
			return strings.Contains(body, "hello from "+name)
		})
	}
	// The cluster DNS on node1 answers the client: the service's cluster
	// IP by its short name, the ready pods' addresses for the headless one.
	// The ingress proxy of any node sends a request for the host to a
	// ready pod, over HTTP and over TLS with the repository's certificate.
	for _, n := range c.Nodes() {
		waitFor(t, 20*time.Second, "the ingress of "+n.Name, func() bool {
			body := ingressGet(t, "http://"+n.Addr+"/", "web.example.test", n.Addr)
			return strings.Contains(body, "hello from web-")
		})
		body := ingressGet(t, "https://web.example.test/", "web.example.test", n.Addr)
		if !strings.Contains(body, "hello from web-") {
			t.Fatalf("https through %s: %q", n.Name, body)
		}
	}
	env, code := inPod(t, c, "node1", "client", "env")
	clusterIP := ""
	for _, l := range strings.Split(env, "\n") {
		if v, ok := strings.CutPrefix(l, "WEB_FRONT_SERVICE_HOST="); ok {
			clusterIP = v
		}
	}
	// (busybox nslookup tries every search domain and exits 1 when any
	// fails: the answer is what counts.)
	out, code2 := inPod(t, c, "node1", "client", "busybox", "nslookup", "web-front")
	if clusterIP == "" || !strings.Contains(out, "web-front.default.svc.cluster.local") || !strings.Contains(out, clusterIP) {
		t.Fatalf("nslookup web-front (exit %d), want %q:\n%s", code2, clusterIP, out)
	}
	// The service by name: its cluster IP, answered by both pods in turn.
	seen := map[string]bool{}
	waitFor(t, 30*time.Second, "web-front answering from web-b and web-c", func() bool {
		body := fetch(t, c, "client", "http://web-front/")
		for _, n := range []string{"web-b", "web-c"} {
			if strings.Contains(body, "hello from "+n) {
				seen[n] = true
			}
		}
		return seen["web-b"] && seen["web-c"]
	})
	waitFor(t, 20*time.Second, "the headless service answering both ready pods", func() bool {
		out, _ := inPod(t, c, "node1", "client", "busybox", "nslookup", "web-headless.default.svc.cluster.local")
		return strings.Contains(out, find(ps, "web-b")[0].Status.PodIP) && strings.Contains(out, find(ps, "web-c")[0].Status.PodIP)
	})
	if code != 0 || !strings.Contains(env, "WEB_FRONT_SERVICE_HOST=10.") || !strings.Contains(env, "WEB_FRONT_SERVICE_PORT_HTTP=80") ||
		!strings.Contains(env, "WEB_FRONT_PORT_80_TCP_PROTO=tcp") {
		t.Fatalf("client's environment (exit %d):\n%s", code, env)
	}
}

// ingressCerts are the certificate of the e2e Ingress, made once per run.
var ingressCerts struct {
	pool      *x509.CertPool
	cert, key []byte
}

// ingressYAML is an Ingress for host to Service web-front with a TLS
// Secret holding a self-signed certificate for it.
func ingressYAML(t testing.TB, host string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	ingressCerts.cert = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	ingressCerts.key = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	ingressCerts.pool = x509.NewCertPool()
	ingressCerts.pool.AppendCertsFromPEM(ingressCerts.cert)
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: web-tls}
type: kubernetes.io/tls
data:
  tls.crt: %s
  tls.key: %s
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  tls: [{hosts: [%[3]s], secretName: web-tls}]
  rules:
  - host: %[3]s
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web-front, port: {name: http}}}}]
`, base64.StdEncoding.EncodeToString(ingressCerts.cert), base64.StdEncoding.EncodeToString(ingressCerts.key), host)
}

// ingressGet fetches url with Host host from the test process, connecting
// to addr (a node's address on the lab network, port 80 or 443 by the
// scheme); TLS is verified against the e2e certificate. The body, or ""
// on any error.
func ingressGet(t testing.TB, url, host, addr string) string {
	dial := func(ctx context.Context, network, a string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(a)
		return (&net.Dialer{Timeout: 3 * time.Second}).DialContext(ctx, network, net.JoinHostPort(addr, port))
	}
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext:     dial,
		TLSClientConfig: &tls.Config{RootCAs: ingressCerts.pool, ServerName: host},
	}}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := cl.Do(req)
	if err != nil {
		t.Logf("GET %s via %s: %v", url, addr, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
