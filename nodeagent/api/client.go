package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
)

// DefaultPort is the port of a node's API, used when a server address has
// none.
const DefaultPort = 7947

// ClientOptions configure NewClient.
type ClientOptions struct {
	// Token is sent as "Authorization: Bearer TOKEN" when not empty.
	Token string
	// Transport carries the requests; nil means a transport like
	// http.DefaultTransport that never uses a proxy (a node's API is
	// reached directly).
	Transport http.RoundTripper
	// NodeScope adds scope=node to every pods, log and exec request: the
	// server answers from its own pods only (see ScopeNode). A node that
	// forwards a request to another sets it.
	NodeScope bool
}

// Client talks to one node's API. It is safe for concurrent use.
type Client struct {
	base      string // scheme://host:port, no trailing slash
	token     string
	nodeScope bool
	hc        *http.Client
}

// NewClient returns a client of the node API at server: "host:port",
// "host" (port DefaultPort), or an http:// or https:// URL of a host.
func NewClient(server string, opts ClientOptions) (*Client, error) {
	s := strings.TrimSpace(server)
	if s == "" {
		return nil, errors.New("no server address: give host:port")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("server address %q: %w", server, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("server address %q: use host:port, http:// or https://", server)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("server address %q has no host", server)
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil:
		return nil, fmt.Errorf("server address %q: give only the host and port", server)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), strconv.Itoa(DefaultPort))
	}
	rt := opts.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil
		rt = t
	}
	return &Client{base: u.Scheme + "://" + host, token: opts.Token, nodeScope: opts.NodeScope, hc: &http.Client{Transport: rt}}, nil
}

// Server returns the base URL the client talks to.
func (c *Client) Server() string { return c.base }

// ListPods returns the pods of a namespace ("" for all namespaces).
func (c *Client) ListPods(ctx context.Context, namespace string) ([]corev1.Pod, error) {
	path := "/api/v1/pods"
	if namespace != "" {
		path = "/api/v1/namespaces/" + url.PathEscape(namespace) + "/pods"
	}
	var list corev1.PodList
	if err := c.getJSON(ctx, c.podURL(path, nil), &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// GetPod returns one pod; an error wraps ErrNotFound when there is none.
func (c *Client) GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	var pod corev1.Pod
	if err := c.getJSON(ctx, c.podURL(podPath(namespace, name), nil), &pod); err != nil {
		return nil, err
	}
	return &pod, nil
}

// Logs copies a container's log to w as opts say. With Follow it blocks
// until the server ends the log or ctx is done (then it returns ctx.Err()).
// An error the server met after the log had started is returned after the
// lines before it have been written.
func (c *Client) Logs(ctx context.Context, namespace, name string, opts LogOptions, w io.Writer) error {
	q := url.Values{}
	if opts.Container != "" {
		q.Set("container", opts.Container)
	}
	setBool(q, "follow", opts.Follow)
	setBool(q, "previous", opts.Previous)
	setBool(q, "timestamps", opts.Timestamps)
	if opts.TailLines >= 0 {
		q.Set("tailLines", strconv.FormatInt(opts.TailLines, 10))
	}
	if opts.Since > 0 {
		// Whole seconds, rounded up: never fewer lines than asked for.
		q.Set("sinceSeconds", strconv.FormatInt(int64((opts.Since+999_999_999)/1_000_000_000), 10))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+c.podURL(podPath(namespace, name)+"/log", q), nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("reading the log of pod %s/%s: %w", namespace, name, err)
	}
	if msg := resp.Trailer.Get(TrailerError); msg != "" {
		return &Error{Message: msg, Reason: ReasonInternalError, Code: http.StatusInternalServerError}
	}
	return nil
}

func setBool(q url.Values, name string, v bool) {
	if v {
		q.Set(name, "true")
	}
}

func podPath(namespace, name string) string {
	return "/api/v1/namespaces/" + url.PathEscape(namespace) + "/pods/" + url.PathEscape(name)
}

// podURL is path with the query q (nil: none), plus scope=node when the
// client is node-scoped.
func (c *Client) podURL(path string, q url.Values) string {
	if c.nodeScope {
		if q == nil {
			q = url.Values{}
		}
		q.Set(ScopeParam, ScopeNode)
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("reading %s from %s: %w", path, c.base, err)
	}
	return nil
}

// do sends req with the client's token. It returns the response of a 2xx or
// 101 answer; any other answer becomes an *Error (the body closed).
func (c *Client) do(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("User-Agent", "shoal")
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &UnreachableError{Server: c.base, Err: err}
	}
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readError(resp)
}

// readError turns an error answer into an *Error, with the server's message
// when the body is one.
func readError(resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e Error
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		if e.Code == 0 {
			e.Code = resp.StatusCode
		}
		if e.Reason == "" {
			e.Reason = reasonFor(resp.StatusCode)
		}
		return &e
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		msg = resp.Status
	}
	return &Error{Message: msg, Reason: reasonFor(resp.StatusCode), Code: resp.StatusCode}
}

func reasonFor(code int) string {
	switch code {
	case http.StatusNotFound:
		return ReasonNotFound
	case http.StatusBadRequest:
		return ReasonBadRequest
	case http.StatusUnauthorized:
		return ReasonUnauthorized
	}
	return ReasonInternalError
}

func codeFor(reason string) int {
	switch reason {
	case ReasonNotFound:
		return http.StatusNotFound
	case ReasonBadRequest:
		return http.StatusBadRequest
	case ReasonUnauthorized:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// UnreachableError is the Client's error when no answer came from the
// server: refused, unknown host, network down. Its message names the
// server and how to point the command line elsewhere.
type UnreachableError struct {
	Server string
	Err    error
}

func (e *UnreachableError) Error() string {
	cause := e.Err
	var ue *url.Error
	if errors.As(cause, &ue) {
		cause = ue.Err
	}
	what := cause.Error()
	if errors.Is(cause, syscall.ECONNREFUSED) {
		what = "connection refused; is a shoal node running there?"
	}
	return fmt.Sprintf("cannot reach the shoal node API at %s: %s (point elsewhere with --server or SHOAL_SERVER)", e.Server, what)
}

func (e *UnreachableError) Unwrap() error { return e.Err }
