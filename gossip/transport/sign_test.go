package transport

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDeriveKey(t *testing.T) {
	k := DeriveKey(testKey)
	if len(k) != 32 || bytes.Equal(k, testKey) || bytes.Equal(k, DeriveKey(otherKey)) {
		t.Fatalf("DeriveKey = %x: want 32 bytes, unlike the cluster key and another key's", k)
	}
	if _, err := NewSigner(nil); err == nil {
		t.Fatal("NewSigner(nil): want an error")
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	s, _ := NewSigner(testKey)
	body := []byte(`{"node":"n1"}`)
	req := httptest.NewRequest(http.MethodPost, "/v1/status?x=1", bytes.NewReader(body))
	s.Sign(req, body)
	if err := s.Verify(req, body); err != nil {
		t.Fatalf("Verify after Sign: %v", err)
	}
	// A GET without a body.
	get := httptest.NewRequest(http.MethodGet, "/v1/desired", nil)
	s.Sign(get, nil)
	if err := s.Verify(get, nil); err != nil {
		t.Fatalf("Verify GET: %v", err)
	}
}

// TestVerifyRefuses sends signed-then-tampered requests to a real node and
// expects 401 for every one, and no state applied.
func TestVerifyRefuses(t *testing.T) {
	n := startNode(t, "", termA)
	good, _ := NewSigner(testKey)
	wrong, _ := NewSigner(otherKey)
	body := []byte(`{"term":"` + string(termA) + `","generation":1,"node":"n1"}`)
	tests := []struct {
		name   string
		signer *Signer
		tamper func(req *http.Request) (newBody []byte)
	}{
		{"wrong key", wrong, nil},
		{"tampered body", good, func(*http.Request) []byte { return bytes.Replace(body, []byte(`:1,`), []byte(`:2,`), 1) }},
		{"tampered path", good, func(r *http.Request) []byte { r.URL.Path = "/v1/desired/"; r.URL.RawQuery = "x"; return nil }},
		{"tampered query", good, func(r *http.Request) []byte { r.URL.RawQuery = "x=1"; return nil }},
		{"tampered method", good, func(r *http.Request) []byte { r.Method = http.MethodGet; return nil }},
		{"tampered timestamp", good, func(r *http.Request) []byte {
			ts, _ := strconv.ParseInt(r.Header.Get(TimestampHeader), 10, 64)
			r.Header.Set(TimestampHeader, strconv.FormatInt(ts+1, 10))
			return nil
		}},
		{"bad signature", good, func(r *http.Request) []byte { r.Header.Set(SignatureHeader, strings.Repeat("00", 32)); return nil }},
		{"malformed signature", good, func(r *http.Request) []byte { r.Header.Set(SignatureHeader, "zz"); return nil }},
		{"missing signature", good, func(r *http.Request) []byte { r.Header.Del(SignatureHeader); return nil }},
		{"missing timestamp", good, func(r *http.Request) []byte { r.Header.Del(TimestampHeader); return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, n.srv.URL+DesiredPath, nil)
			tt.signer.Sign(req, body)
			send := body
			if tt.tamper != nil {
				if b := tt.tamper(req); b != nil {
					send = b
				}
			}
			req.Body = httpBody(send)
			req.ContentLength = int64(len(send))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			// Tampered paths may not reach the handler at all (404 or 405
			// from the mux), which is a refusal too; everything that
			// reaches it must be 401.
			if resp.StatusCode != http.StatusUnauthorized && !(resp.StatusCode == http.StatusNotFound && req.URL.Path != DesiredPath) {
				t.Fatalf("status %d, want 401", resp.StatusCode)
			}
		})
	}
	if got := n.applied(); len(got) != 0 {
		t.Fatalf("applied %v after refused requests", got)
	}
}

// TestVerifyPathUnderPrefix: a path that reaches the same handler but was
// not the one signed is refused (the mux is bypassed by StripPrefix).
func TestVerifyPathUnderPrefix(t *testing.T) {
	n := startNode(t, "", termA)
	srv := httptest.NewServer(http.StripPrefix("/node", n.recv))
	t.Cleanup(srv.Close)
	s, _ := NewSigner(testKey)
	body := []byte(`{"term":"` + string(termA) + `","generation":1,"node":"n1"}`)

	// Signed for the path it is sent to: accepted (the signature covers
	// the request target as received).
	c := newClient(t, nil)
	if err := c.PushState(t.Context(), srv.URL+"/node", testState(termA, 1, 1)); err != nil {
		t.Fatalf("push under prefix: %v", err)
	}
	// Signed for /v1/desired but sent to /node/v1/desired: refused.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+DesiredPath, nil)
	s.Sign(req, body)
	req.URL.Path = "/node" + DesiredPath
	req.Body, req.ContentLength = httpBody(body), int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
}

func TestSkew(t *testing.T) {
	n := startNode(t, "", termA)
	tests := []struct {
		name   string
		offset time.Duration
		ok     bool
	}{
		{"in sync", 0, true},
		{"90s behind", -90 * time.Second, true},
		{"90s ahead", 90 * time.Second, true},
		{"3m behind", -3 * time.Minute, false},
		{"3m ahead", 3 * time.Minute, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, func(cfg *ClientConfig) {
				cfg.Now = func() time.Time { return time.Now().Add(tt.offset) }
			})
			err := c.PushState(t.Context(), n.addr(), testState(termA, uint64(i+1), 1))
			if tt.ok && err != nil {
				t.Fatalf("push: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("push = %v, want ErrUnauthorized", err)
			}
		})
	}

	// A configured skew is honoured.
	s, _ := NewSigner(testKey)
	s.MaxSkew = 10 * time.Second
	req := httptest.NewRequest(http.MethodGet, DesiredPath, nil)
	s.Now = func() time.Time { return time.Now().Add(-30 * time.Second) }
	s.Sign(req, nil)
	s.Now = time.Now
	if err := s.Verify(req, nil); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "off by") {
		t.Fatalf("Verify 30s old with MaxSkew 10s = %v, want a skew error", err)
	}
}
