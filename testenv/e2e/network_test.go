package e2e

import (
	"bufio"
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
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

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

// startWebRig starts three nodes, node2 in zone b and node3 in zone c,
// and pushes two web pods (app: web) there, web-b and web-c, with the
// Services web-front (port http 80 to the pods' named port http, 8080)
// and web-headless, and the files of more; it waits until the web pods
// and those of more run on node1's view, and returns the pods.
func startWebRig(t *testing.T, more map[string]string, running func([]corev1.Pod) bool) (*testenv.Cluster, []corev1.Pod) {
	t.Helper()
	c := startRig(t, 3, func(cfg *testenv.Config) {
		cfg.Labels = map[string]map[string]string{"node2": {"zone": "b"}, "node3": {"zone": "c"}}
	})
	files := map[string]string{
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
	}
	for f, content := range more {
		files[f] = content
	}
	push(t, c, files, "two web pods on two nodes, their services")
	waitFor(t, 90*time.Second, "web-b and web-c running", func() bool {
		ps := pods(c, t, "node1")
		return runningOn(ps, "web-b", "node2") && runningOn(ps, "web-c", "node3") && (running == nil || running(ps))
	})
	return c, mustPods(c, t, "node1")
}

// TestPodNetworkAcrossNodes: pods on different nodes reach each other by
// pod IP (host-gw routes kept from the routing table); every node's ingress
// proxy serves an Ingress by host, over HTTP and TLS with the repository's
// certificate; a pod gets the service environment variables of its
// namespace and finds services through the node's DNS.
func TestPodNetworkAcrossNodes(t *testing.T) {
	c, ps := startWebRig(t, map[string]string{"client.yaml": netClient, "ingress.yaml": ingressYAML(t, "web.example.test")},
		func(ps []corev1.Pod) bool { return runningOn(ps, "client", "node1") })
	for _, name := range []string{"web-b", "web-c"} {
		ip := find(ps, name)[0].Status.PodIP
		url := fmt.Sprintf("http://%s:8080/", ip)
		var body string
		waitFor(t, 20*time.Second, "client on node1 reaching "+name+" at "+ip, func() bool {
			body = fetch(t, c, "client", url)
			return strings.Contains(body, "hello from "+name)
		})
	}
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
	// The cluster DNS on node1 answers the client: the service's cluster
	// IP by its short name, the ready pods' addresses for the headless one.
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

// TestServiceClient: the real client lists the Service with its cluster
// IP and its Endpoints with both pods' addresses, through any node, and
// port-forward to svc/NAME reaches a pod on another node than the one
// asked.
func TestServiceClient(t *testing.T) {
	c, ps := startWebRig(t, nil, nil)
	ipB, ipC := find(ps, "web-b")[0].Status.PodIP, find(ps, "web-c")[0].Status.PodIP
	out := waitCLI(t, c, "node1", 30*time.Second, []string{"get", "svc"}, "web-front ClusterIP 10.", "web-headless ClusterIP None")
	if !regexp.MustCompile(`web-front +ClusterIP +10\.\d+\.\d+\.\d+ +<none> +80/TCP +\S+\n`).MatchString(out) {
		t.Errorf("get svc:\n%s", out)
	}
	// Both pods once their readiness probes pass, asked of another node.
	waitCLI(t, c, "node2", 60*time.Second, []string{"get", "ep", "web-front"}, ipB+":8080", ipC+":8080")
	waitCLI(t, c, "node3", 30*time.Second, []string{"describe", "svc", "web-front"},
		"TargetPort: http/TCP\n", "Endpoints: ", ipB+":8080", ipC+":8080")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "shoal"), "port-forward", "svc/web-front", ":80", "--address", "127.0.0.1", "--server", c.APIAddr("node1"))
	cmd.Env = append(os.Environ(), "SHOAL_TOKEN="+c.Token())
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	forwarding := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`^Forwarding from 127\.0\.0\.1:(\d+) -> 8080$`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				forwarding <- m[1]
			}
		}
	}()
	var port string
	select {
	case port = <-forwarding:
	case <-time.After(30 * time.Second):
		t.Fatalf("port-forward printed no Forwarding line; stderr:\n%s", stderr.String())
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var body string
	waitFor(t, 20*time.Second, "a pod's answer through port-forward on 127.0.0.1:"+port, func() bool {
		resp, err := hc.Get("http://127.0.0.1:" + port + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return strings.Contains(body, "hello from web-")
	})
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Errorf("port-forward after Ctrl-C: %v; stderr:\n%s", err, stderr.String())
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
