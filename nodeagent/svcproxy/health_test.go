package svcproxy

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/shoal-run/shoal/reconciler/services"
)

func TestHealthAnswer(t *testing.T) {
	s := svc("web", "10.96.0.10",
		ep("10.244.1.2", "n1", true, "", 80), ep("10.244.1.3", "n1", false, "", 80), ep("10.244.2.2", "n2", true, "", 80),
		services.Endpoint{IP: netip.MustParseAddr("10.0.0.9"), Ready: true}) // not a pod: on no node
	for _, tc := range []struct {
		node string
		code int
		body string
	}{
		{"n1", 200, `{"service":{"namespace":"default","name":"web"},"localEndpoints":1}`},
		{"n3", 503, `{"service":{"namespace":"default","name":"web"},"localEndpoints":0}`},
	} {
		h := &healthServer{}
		r := &healthReply{LocalEndpoints: localEndpoints(&s, tc.node)}
		r.Service.Namespace, r.Service.Name = s.Namespace, s.Name
		h.state.Store(r)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != tc.code || rec.Body.String() != tc.body || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("node %s: %d %s (%v), want %d %s", tc.node, rec.Code, rec.Body, rec.Header(), tc.code, tc.body)
		}
	}
}
