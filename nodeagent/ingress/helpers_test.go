package ingress

import (
	"bufio"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/reconciler/services"
	networkingv1 "k8s.io/api/networking/v1"
)

// backend is a test endpoint answering with its own name in the body,
// echoing the request's headers as Echo-<name> response headers (Echo-Host
// for the Host), its body's length as Echo-Body-Length, and, on /ws with
// an Upgrade: websocket request, switching protocols and echoing lines.
type backend struct {
	name string
	srv  *httptest.Server
	addr netip.AddrPort
}

func newBackend(t testing.TB, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	b.addr = netip.MustParseAddrPort(b.srv.Listener.Addr().String())
	return b
}

// newBackends makes one backend per name.
func newBackends(t testing.TB, names ...string) map[string]*backend {
	m := map[string]*backend{}
	for _, n := range names {
		m[n] = newBackend(t, n)
	}
	return m
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ws" && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		b.websocket(w, r)
		return
	}
	if r.URL.Path == "/slow" { // answers when the request is cancelled
		<-r.Context().Done()
		return
	}
	n, _ := io.Copy(io.Discard, r.Body)
	for k, vs := range r.Header {
		w.Header()["Echo-"+k] = vs
	}
	w.Header().Set("Echo-Host", r.Host)
	w.Header().Set("Echo-Body-Length", fmt.Sprint(n))
	io.WriteString(w, b.name)
}

// websocket completes an RFC 6455 handshake, greets with "hello from
// <name>" and answers each line with "<name> got <line>".
func (b *backend) websocket(w http.ResponseWriter, r *http.Request) {
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	fmt.Fprintf(rw, "hello from %s\n", b.name)
	rw.Flush()
	for {
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		fmt.Fprintf(rw, "%s got %s", b.name, line)
		rw.Flush()
	}
}

// refusedAddr returns a local address nothing listens on.
func refusedAddr(t testing.TB) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	return a
}

// startProxy starts a Proxy on 127.0.0.1 ports, closed at cleanup.
func startProxy(t testing.TB, cfg Config) *Proxy {
	t.Helper()
	cfg.HTTPAddr = cmp.Or(cfg.HTTPAddr, "127.0.0.1:0")
	cfg.HTTPSAddr = cmp.Or(cfg.HTTPSAddr, "127.0.0.1:0")
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// update applies a table and fails the test on a reported problem.
func update(t testing.TB, p *Proxy, ings ...services.Ingress) {
	t.Helper()
	if err := p.Update(table(ings...)); err != nil {
		t.Fatal(err)
	}
}

func table(ings ...services.Ingress) *services.Table { return &services.Table{Ingresses: ings} }

// ing is an Ingress of namespace "default".
func ing(name string, rules ...services.Rule) services.Ingress {
	return services.Ingress{Namespace: "default", Name: name, Rules: rules}
}

func rule(host string, paths ...services.Path) services.Rule {
	return services.Rule{Host: host, Paths: paths}
}

func pathRule(typ networkingv1.PathType, p string, b services.Backend) services.Path {
	return services.Path{Path: p, PathType: typ, Backend: b}
}

func prefix(p string, b services.Backend) services.Path {
	return pathRule(networkingv1.PathTypePrefix, p, b)
}

func exact(p string, b services.Backend) services.Path {
	return pathRule(networkingv1.PathTypeExact, p, b)
}

// svc is a backend Service with the given endpoints.
func svc(name string, eps ...*backend) services.Backend {
	b := services.Backend{Service: name, PortNumber: 80}
	for _, e := range eps {
		b.Targets = append(b.Targets, e.addr)
	}
	return b
}

// client is an HTTP client of the proxy: every request goes to the
// proxy's address whatever the URL's host, which is sent as the Host.
type client struct {
	t     testing.TB
	c     *http.Client
	plain string // the proxy's HTTP address
}

func newClient(t testing.TB, p *Proxy) *client {
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{t: t, plain: p.HTTPAddr().String(), c: &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is what a test checks of an answer.
type response struct {
	code   int
	body   string
	header http.Header
}

// do sends a request for host and path (with query) through the proxy's
// HTTP listener.
func (c *client) do(method, host, pathQuery string, body io.Reader, mod ...func(*http.Request)) response {
	c.t.Helper()
	req, err := http.NewRequest(method, "http://"+c.plain+pathQuery, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Host = host
	for _, m := range mod {
		m(req)
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s%s: %v", method, host, pathQuery, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s%s: reading body: %v", method, host, pathQuery, err)
	}
	return response{code: res.StatusCode, body: string(b), header: res.Header}
}

func (c *client) get(host, pathQuery string, mod ...func(*http.Request)) response {
	c.t.Helper()
	return c.do(http.MethodGet, host, pathQuery, nil, mod...)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wsDial opens a WebSocket through the proxy's HTTP listener, checks the
// handshake, and returns the connection and its reader.
func wsDial(t testing.TB, addr, host string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %s", res.Status)
	}
	if got, want := res.Header.Get("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want { // RFC 6455's example
		t.Fatalf("Sec-WebSocket-Accept = %q, want %q", got, want)
	}
	return conn, br
}

// genCert makes a self-signed certificate for names, PEM encoded.
func genCert(t testing.TB, names ...string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: names[0]},
		DNSNames:              names,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), cert
}
