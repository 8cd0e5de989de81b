package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// HookTimeout bounds one webhook delivery attempt to one node (a cut node
// does not answer at all).
const HookTimeout = 3 * time.Second

// PushEvent is the body of the GitHub-style push event the rig's
// post-receive hook sends.
type PushEvent struct {
	Ref    string `json:"ref"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// SignWebhook returns the X-Hub-Signature-256 value of body: "sha256="
// and the hex HMAC-SHA256 of body keyed with secret.
func SignWebhook(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// NewWebhookRequest returns the signed POST of ev to url, as GitHub sends
// a push event.
func NewWebhookRequest(ctx context.Context, url string, secret []byte, ev PushEvent) (*http.Request, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", SignWebhook(secret, body))
	return req, nil
}

// ParsePostReceive parses the lines git gives a post-receive hook on
// stdin ("<old> <new> <ref>").
func ParsePostReceive(r io.Reader) ([]PushEvent, error) {
	var evs []PushEvent
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return evs, fmt.Errorf("post-receive line %q: want \"<old> <new> <ref>\"", sc.Text())
		}
		evs = append(evs, PushEvent{Before: f[0], After: f[1], Ref: f[2]})
	}
	return evs, sc.Err()
}

// HookScript is the post-receive hook installed in the rig's bare
// repository: it runs `shoal testenv hook` for the rig in dir.
func HookScript(binary, dir string) string {
	return "#!/bin/sh\n# shoal test rig: tell the cluster about the push (never fails the push)\nexec " +
		shellQuote(binary) + " testenv hook --dir " + shellQuote(dir) + "\n"
}

// installHook writes the post-receive hook into the bare repository.
func installHook(repo, binary, dir string) error {
	path := filepath.Join(repo, "hooks", "post-receive")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(HookScript(binary, dir)), 0o755)
}

// RunHook is `shoal testenv hook`: it reads post-receive lines from stdin
// and, for each pushed ref, POSTs a signed push event to /webhook of the
// rig's nodes in order until one answers 2xx (any node forwards it to the
// leader). It reports on out (which git shows the pusher as "remote:"
// lines). The error says which refs no node took; the hook command prints
// it and exits 0 anyway, so that a push never fails because of the hook.
func RunHook(ctx context.Context, dir string, stdin io.Reader, out io.Writer) error {
	st, err := LoadState(dir)
	if err != nil {
		return err
	}
	secret, err := readSecret(filepath.Join(dir, WebhookSecretFile))
	if err != nil {
		return err
	}
	evs, err := ParsePostReceive(stdin)
	if err != nil {
		return err
	}
	var urls []string
	for _, n := range st.Nodes {
		urls = append(urls, "http://"+n.API+"/webhook")
	}
	var errs []error
	for _, ev := range evs {
		node, err := DeliverWebhook(ctx, urls, []byte(secret), ev)
		if err != nil {
			errs = append(errs, fmt.Errorf("push of %s not announced: %w", ev.Ref, err))
			continue
		}
		fmt.Fprintf(out, "shoal testenv: announced %s %s to %s\n", ev.Ref, short(ev.After), node)
	}
	return errors.Join(errs...)
}

// DeliverWebhook POSTs ev to each url in turn until one answers 2xx, and
// returns that url. Each attempt is bounded by HookTimeout.
func DeliverWebhook(ctx context.Context, urls []string, secret []byte, ev PushEvent) (string, error) {
	client := &http.Client{Timeout: HookTimeout}
	var errs []error
	for _, u := range urls {
		req, err := NewWebhookRequest(ctx, u, secret, ev)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return u, nil
		}
		errs = append(errs, fmt.Errorf("%s: %s: %s", u, resp.Status, strings.TrimSpace(string(body))))
	}
	if len(urls) == 0 {
		return "", errors.New("the rig has no nodes")
	}
	return "", fmt.Errorf("no node took the webhook: %w", errors.Join(errs...))
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
