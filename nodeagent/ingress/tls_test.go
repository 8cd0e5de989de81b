package ingress

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/shoal-run/shoal/reconciler/services"
)

func TestTLS(t *testing.T) {
	be := newBackends(t, "app")
	aCert, aKey, aLeaf := genCert(t, "a.example.com")
	a2Cert, a2Key, _ := genCert(t, "a.example.com")
	wCert, wKey, _ := genCert(t, "*.wild.example")
	cCert, cKey, _ := genCert(t, "c.other.org")
	withTLS := func(name, host string, tl ...services.TLS) services.Ingress {
		i := ing(name, rule(host, prefix("/", svc("app", be["app"]))))
		i.TLS = tl
		return i
	}
	ings := []services.Ingress{
		withTLS("a", "a.example.com", services.TLS{Hosts: []string{"A.example.com"}, SecretName: "a-tls", Cert: aCert, Key: aKey}),
		withTLS("a2", "a.example.com", services.TLS{Hosts: []string{"a.example.com"}, SecretName: "a2-tls", Cert: a2Cert, Key: a2Key}), // a wins
		withTLS("w", "*.wild.example", services.TLS{Hosts: []string{"*.wild.example"}, SecretName: "w-tls", Cert: wCert, Key: wKey}),
		withTLS("c", "c.other.org", services.TLS{SecretName: "c-tls", Cert: cCert, Key: cKey}), // no hosts: the rule hosts it is valid for
		withTLS("broken", "broken.example", services.TLS{Hosts: []string{"broken.example"}, SecretName: "broken-tls", Cert: []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), Key: aKey}),
		withTLS("mismatch", "mismatch.example", services.TLS{Hosts: []string{"mismatch.example"}, SecretName: "mismatch-tls", Cert: aCert, Key: wKey}),
		withTLS("missing", "missing.example", services.TLS{Hosts: []string{"missing.example"}, SecretName: "gone"}),
	}
	prx := startProxy(t, Config{})
	err := prx.Update(table(ings...))
	if err == nil {
		t.Fatal("Update reported no certificate problem")
	}
	for _, want := range []string{
		`Ingress default/broken: TLS Secret "broken-tls": tls: failed to find any PEM data in certificate input`,
		`Ingress default/mismatch: TLS Secret "mismatch-tls": tls: private key does not match public key`,
		`Ingress default/missing: TLS Secret "gone" has no certificate and key`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Update error lacks %q:\n%v", want, err)
		}
	}

	addr := prx.HTTPSAddr().String()
	for _, tc := range []struct{ sni, wantCN string }{
		{"a.example.com", "a.example.com"},
		{"A.EXAMPLE.COM", "a.example.com"},
		{"x.wild.example", "*.wild.example"},
		{"c.other.org", "c.other.org"},
		{"y.x.wild.example", FakeCertificateName}, // one label only
		{"broken.example", FakeCertificateName},
		{"missing.example", FakeCertificateName},
		{"unknown.example", FakeCertificateName},
		{"", FakeCertificateName}, // no SNI
	} {
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: tc.sni, InsecureSkipVerify: true})
		if err != nil {
			t.Errorf("SNI %q: %v", tc.sni, err)
			continue
		}
		if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != tc.wantCN {
			t.Errorf("SNI %q: certificate of %q, want %q", tc.sni, cn, tc.wantCN)
		}
		conn.Close()
	}

	// A verified HTTPS request, over HTTP/2 and HTTP/1.1.
	roots := x509.NewCertPool()
	roots.AddCert(aLeaf)
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{Proxy: nil, ForceAttemptHTTP2: h2, TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "a.example.com"}}
		if !h2 {
			tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
		}
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/x", nil)
		req.Host = "a.example.com"
		res, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatalf("HTTPS GET (h2 %v): %v", h2, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		tr.CloseIdleConnections()
		if string(body) != "app" || res.Header.Get("Echo-X-Forwarded-Proto") != "https" || res.Header.Get("Echo-Host") != "a.example.com" {
			t.Errorf("HTTPS GET (%s): %q, X-Forwarded-Proto %q, Host %q; want app, https, a.example.com",
				res.Proto, body, res.Header.Get("Echo-X-Forwarded-Proto"), res.Header.Get("Echo-Host"))
		}
		if wantProto := map[bool]string{true: "HTTP/2.0", false: "HTTP/1.1"}[h2]; res.Proto != wantProto {
			t.Errorf("protocol %s, want %s", res.Proto, wantProto)
		}
	}

	// Hosts with a broken certificate are still served, and over HTTP.
	if r := newClient(t, prx).get("broken.example", "/"); r.body != "app" {
		t.Errorf("GET broken.example: %d %q", r.code, r.body)
	}
}
