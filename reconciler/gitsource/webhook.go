package gitsource

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
)

// MaxWebhookBody is the largest webhook body accepted; a larger one is
// answered 413 without being read further.
const MaxWebhookBody = 1 << 20

// WebhookHandler returns the endpoint a Git host calls on push. It accepts
// POST requests signed with secret in one of the forms:
//
//   - GitHub: X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>
//   - Gitea:  X-Gitea-Signature: <hex HMAC-SHA256 of the body>
//   - Gogs:   X-Gogs-Signature: <hex HMAC-SHA256 of the body>
//
// Signatures are compared in constant time. Answers: 405 for a method other
// than POST; 413 for a body over MaxWebhookBody; 401 (logged as a forged
// or misconfigured webhook) for a missing or wrong signature; 200 for a
// "ping" event, without a trigger; 400 for a push whose body is not JSON;
// otherwise 202 after calling trigger with the body's "ref" (for example
// "refs/heads/main"; "" when the event has none).
//
// The payload is used only as a hint: trigger should start a level-based
// sync (Source.Trigger) that reads the branch head itself. trigger is
// called on the request's goroutine and must not block. An empty secret
// is refused: WebhookHandler panics, since an unauthenticated endpoint
// would let anyone make the reconciler poll.
func WebhookHandler(secret []byte, trigger func(ref string)) http.Handler {
	if len(secret) == 0 {
		panic("gitsource.WebhookHandler: empty secret")
	}
	log := slog.Default().With("component", "gitsource", "handler", "webhook")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if why := verifySignature(r.Header, secret, body); why != "" {
			log.Warn("webhook rejected: bad signature (forged, or the secrets differ)", "reason", why,
				"remote", r.RemoteAddr, "event", eventName(r.Header))
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		event := eventName(r.Header)
		if event == "ping" {
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "pong\n")
			return
		}
		var payload struct {
			Ref string `json:"ref"`
		}
		if err := json.Unmarshal(body, &payload); err != nil {
			http.Error(w, "body is not JSON", http.StatusBadRequest)
			return
		}
		log.Info("webhook accepted", "event", event, "ref", payload.Ref, "remote", r.RemoteAddr)
		if trigger != nil {
			trigger(payload.Ref)
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

// verifySignature returns "" when the body carries a valid signature, or
// why not.
func verifySignature(h http.Header, secret, body []byte) string {
	var given string
	switch {
	case h.Get("X-Hub-Signature-256") != "":
		v := h.Get("X-Hub-Signature-256")
		hexSig, ok := strings.CutPrefix(v, "sha256=")
		if !ok {
			return "X-Hub-Signature-256 lacks the sha256= prefix"
		}
		given = hexSig
	case h.Get("X-Gitea-Signature") != "":
		given = h.Get("X-Gitea-Signature")
	case h.Get("X-Gogs-Signature") != "":
		given = h.Get("X-Gogs-Signature")
	default:
		return "no signature header"
	}
	sig, err := hex.DecodeString(strings.TrimSpace(given))
	if err != nil {
		return "signature is not hexadecimal"
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return "signature mismatch"
	}
	return ""
}

// eventName returns the event type from GitHub's, Gitea's or Gogs' header.
func eventName(h http.Header) string {
	for _, k := range []string{"X-GitHub-Event", "X-Gitea-Event", "X-Gogs-Event"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}
