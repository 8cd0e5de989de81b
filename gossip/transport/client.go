package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Errors a Client's calls can be tested for with errors.Is. They come
// wrapped in a *StatusError carrying the peer's answer.
var (
	// ErrUnauthorized: the peer refused the signature (401), e.g. another
	// cluster key or a clock off by more than the peer's MaxSkew.
	ErrUnauthorized = errors.New("transport: unauthorized")
	// ErrNotLeader: the node does not follow the state's term (409).
	ErrNotLeader = errors.New("transport: term is not the leader in the node's view")
	// ErrRejected: any other 4xx answer; retrying the same request will
	// not help.
	ErrRejected = errors.New("transport: request rejected")
)

// StatusError is a non-2xx answer from a peer.
type StatusError struct {
	Op      string // "push state", "report status", "fetch state"
	Addr    string // the peer's address
	Code    int    // HTTP status code
	Message string // the peer's explanation
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("transport: %s to %s: %d %s: %s", e.Op, e.Addr, e.Code, http.StatusText(e.Code), e.Message)
}

// Is matches ErrUnauthorized (401), ErrNotLeader (409) and ErrRejected
// (other 4xx).
func (e *StatusError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Code == http.StatusUnauthorized
	case ErrNotLeader:
		return e.Code == http.StatusConflict
	case ErrRejected:
		return e.Code >= 400 && e.Code < 500 && e.Code != http.StatusUnauthorized &&
			e.Code != http.StatusConflict && !retryableCode(e.Code)
	}
	return false
}

// retryableCode reports whether an answer is transient.
func retryableCode(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// ClusterKey is the cluster key (required).
	ClusterKey []byte
	// TLSConfig, if set, makes the client speak HTTPS to bare host:port
	// addresses, verifying peers with it. Without it requests are signed
	// but travel in clear text, Secrets included.
	TLSConfig *tls.Config
	// HTTPClient, if set, is used instead of one built from TLSConfig.
	HTTPClient *http.Client
	// AttemptTimeout bounds each attempt (default 30 s).
	AttemptTimeout time.Duration
	// MaxAttempts is how many times a call is tried in all before giving
	// up on transient errors (default 5; ctx may end it sooner).
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait between attempts, which
	// doubles from MinBackoff (default 100 ms) up to MaxBackoff (default
	// 5 s), with up to 50% jitter.
	MinBackoff, MaxBackoff time.Duration
	// Now is the clock for signatures (default time.Now).
	Now func() time.Time
	// Logger receives the logs, with component=transport (default: none).
	Logger *slog.Logger
}

// Client sends signed requests: desired state from the leader to nodes and
// status from nodes to the leader. It is safe for concurrent use.
type Client struct {
	cfg    ClientConfig
	signer *Signer
	http   *http.Client
	scheme string
	log    *slog.Logger
}

// NewClient validates cfg and returns a Client.
func NewClient(cfg ClientConfig) (*Client, error) {
	s, err := NewSigner(cfg.ClusterKey)
	if err != nil {
		return nil, err
	}
	if cfg.Now != nil {
		s.Now = cfg.Now
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 30 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Second, cfg.MinBackoff)
	}
	c := &Client{cfg: cfg, signer: s, http: cfg.HTTPClient, scheme: "http", log: componentLogger(cfg.Logger)}
	if cfg.TLSConfig != nil {
		c.scheme = "https"
	}
	if c.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg.TLSConfig
		c.http = &http.Client{Transport: tr}
	}
	return c, nil
}

// PushState sends st to the node API at nodeAPIAddr ("host:port", or a
// base URL such as "https://host:port"). It blocks until the node answered
// 2xx (st applied, or ignored as stale or unchanged: pushing is
// idempotent), a non-retryable answer (ErrUnauthorized, ErrNotLeader,
// ErrRejected, as a *StatusError), MaxAttempts transient failures
// (connection errors, 5xx, 429), or ctx is done.
func (c *Client) PushState(ctx context.Context, nodeAPIAddr string, st NodeState) error {
	body, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("transport: encoding NodeState: %w", err)
	}
	resp, err := c.do(ctx, "push state", http.MethodPut, nodeAPIAddr, DesiredPath, body)
	if err != nil {
		return err
	}
	var reply pushReply
	if err := json.Unmarshal(resp, &reply); err == nil && reply.Result != resultApplied {
		c.log.Debug("node ignored state", "addr", nodeAPIAddr, "node", st.Node, "result", reply.Result,
			"generation", st.Generation, "nodeGeneration", reply.Generation)
	}
	return nil
}

// ReportStatus sends st to the leader's API at leaderAPIAddr, with the same
// blocking and retry contract as PushState. The leader accepts a status
// whatever its term.
func (c *Client) ReportStatus(ctx context.Context, leaderAPIAddr string, st NodeStatus) error {
	body, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("transport: encoding NodeStatus: %w", err)
	}
	_, err = c.do(ctx, "report status", http.MethodPost, leaderAPIAddr, StatusPath, body)
	return err
}

// FetchState returns the last state the node at nodeAPIAddr accepted, and
// false if it has none, with the same retry contract as PushState.
func (c *Client) FetchState(ctx context.Context, nodeAPIAddr string) (NodeState, bool, error) {
	resp, err := c.do(ctx, "fetch state", http.MethodGet, nodeAPIAddr, DesiredPath, nil)
	var se *StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return NodeState{}, false, nil
	}
	if err != nil {
		return NodeState{}, false, err
	}
	var st NodeState
	if err := json.Unmarshal(resp, &st); err != nil {
		return NodeState{}, false, fmt.Errorf("transport: fetch state from %s: %w", nodeAPIAddr, err)
	}
	return st, true, nil
}

// FetchStatus asks the node at nodeAPIAddr for its current status (GET
// /v1/status, served when StatusServerConfig.Local is set), with the same
// retry contract as PushState; a node still starting answers 503, which is
// retried.
func (c *Client) FetchStatus(ctx context.Context, nodeAPIAddr string) (NodeStatus, error) {
	resp, err := c.do(ctx, "fetch status", http.MethodGet, nodeAPIAddr, StatusPath, nil)
	if err != nil {
		return NodeStatus{}, err
	}
	var st NodeStatus
	if err := json.Unmarshal(resp, &st); err != nil {
		return NodeStatus{}, fmt.Errorf("transport: fetch status from %s: %w", nodeAPIAddr, err)
	}
	return st, nil
}

func (c *Client) url(addr, path string) string {
	if strings.Contains(addr, "://") {
		return strings.TrimSuffix(addr, "/") + path
	}
	return c.scheme + "://" + addr + path
}

// do runs one signed request with retries and returns the 2xx body.
func (c *Client) do(ctx context.Context, op, method, addr, path string, body []byte) ([]byte, error) {
	url := c.url(addr, path)
	backoff := c.cfg.MinBackoff
	var last error
	for attempt := 1; ; attempt++ {
		resp, err := c.once(ctx, method, url, body)
		if err == nil {
			return resp, nil
		}
		var se *StatusError
		if errors.As(err, &se) {
			se.Op, se.Addr = op, addr
			if !retryableCode(se.Code) {
				return nil, se
			}
		} else {
			err = fmt.Errorf("transport: %s to %s: %w", op, addr, err)
		}
		last = err
		if ctx.Err() != nil {
			return nil, last
		}
		if attempt >= c.cfg.MaxAttempts {
			return nil, fmt.Errorf("transport: %s to %s: giving up after %d attempts: %w", op, addr, attempt, last)
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		c.log.Debug("retrying", "op", op, "addr", addr, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (%w)", last, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, c.cfg.MaxBackoff)
	}
}

// once makes one attempt; a non-2xx answer is a *StatusError.
func (c *Client) once(ctx context.Context, method, url string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.signer.Sign(req, body)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, defaultMaxBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &StatusError{Code: resp.StatusCode, Message: strings.TrimSpace(string(b))}
	}
	return b, nil
}
