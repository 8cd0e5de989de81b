package gitsource

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func TestWebhookHandler(t *testing.T) {
	const secret = "hook-secret"
	push := `{"ref":"refs/heads/main","after":"abc"}`
	big := `{"ref":"refs/heads/main","pad":"` + strings.Repeat("x", MaxWebhookBody) + `"}`
	tests := []struct {
		name     string
		method   string
		headers  map[string]string
		body     string
		wantCode int
		wantRef  string // "" means no trigger
	}{
		{name: "github push", headers: map[string]string{"X-GitHub-Event": "push",
			"X-Hub-Signature-256": "sha256=" + sign(secret, push)}, body: push, wantCode: 202, wantRef: "refs/heads/main"},
		{name: "gitea push", headers: map[string]string{"X-Gitea-Event": "push",
			"X-Gitea-Signature": sign(secret, push)}, body: push, wantCode: 202, wantRef: "refs/heads/main"},
		{name: "gogs push", headers: map[string]string{"X-Gogs-Event": "push",
			"X-Gogs-Signature": sign(secret, push)}, body: push, wantCode: 202, wantRef: "refs/heads/main"},
		{name: "github ping", headers: map[string]string{"X-GitHub-Event": "ping",
			"X-Hub-Signature-256": "sha256=" + sign(secret, `{"zen":"x"}`)}, body: `{"zen":"x"}`, wantCode: 200},
		{name: "wrong signature", headers: map[string]string{"X-GitHub-Event": "push",
			"X-Hub-Signature-256": "sha256=" + sign(secret, push+" ")}, body: push, wantCode: 401},
		{name: "wrong secret", headers: map[string]string{"X-Gitea-Event": "push",
			"X-Gitea-Signature": sign("other", push)}, body: push, wantCode: 401},
		{name: "missing signature", headers: map[string]string{"X-GitHub-Event": "push"}, body: push, wantCode: 401},
		{name: "github signature without prefix", headers: map[string]string{"X-GitHub-Event": "push",
			"X-Hub-Signature-256": sign(secret, push)}, body: push, wantCode: 401},
		{name: "not hex", headers: map[string]string{"X-Gitea-Signature": "zz"}, body: push, wantCode: 401},
		{name: "unsigned ping", headers: map[string]string{"X-GitHub-Event": "ping"}, body: `{}`, wantCode: 401},
		{name: "oversized body", headers: map[string]string{"X-GitHub-Event": "push",
			"X-Hub-Signature-256": "sha256=" + sign(secret, big)}, body: big, wantCode: 413},
		{name: "signed but not json", headers: map[string]string{"X-GitHub-Event": "push",
			"X-Hub-Signature-256": "sha256=" + sign(secret, "nope")}, body: "nope", wantCode: 400},
		{name: "GET", method: http.MethodGet, wantCode: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var refs []string
			h := WebhookHandler([]byte(secret), func(ref string) { refs = append(refs, ref) })
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/hooks/git", strings.NewReader(tt.body))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Errorf("code = %d, want %d (%s)", rec.Code, tt.wantCode, rec.Body)
			}
			switch {
			case tt.wantRef == "" && len(refs) != 0:
				t.Errorf("triggered with %v, want no trigger", refs)
			case tt.wantRef != "" && (len(refs) != 1 || refs[0] != tt.wantRef):
				t.Errorf("triggered with %v, want [%s]", refs, tt.wantRef)
			}
		})
	}
}

// TestWebhookTriggersSource wires the handler to a Source over a real
// HTTP server, as the reconciler does.
func TestWebhookTriggersSource(t *testing.T) {
	r := newRig(t, "", "")
	first, _ := r.push(change{files: map[string]string{"pod.yaml": podWeb}, message: "first"})
	cfg := r.config(t)
	cfg.PollInterval = time.Hour
	s := mustNew(t, cfg)
	rr := &runRecorder{}
	startRun(t, s, rr)
	waitFor(t, 20*time.Second, "first commit applied", func() bool { return rr.hasApplied(first) })

	srv := httptest.NewServer(WebhookHandler([]byte("k"), func(string) { s.Trigger() }))
	defer srv.Close()
	second, _ := r.push(change{files: map[string]string{"api.yaml": podAPI}, message: "second"})
	body := `{"ref":"refs/heads/main"}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
	req.Header.Set("X-Gitea-Event", "push")
	req.Header.Set("X-Gitea-Signature", sign("k", body))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	waitFor(t, 20*time.Second, "webhook-triggered sync applied the push", func() bool { return rr.hasApplied(second) })
}
