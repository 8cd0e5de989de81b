package ingress

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
)

// upstream is the ReverseProxy's transport: it sends a request to the
// endpoint ServeHTTP chose and, when connecting fails before any byte is
// sent, to the next ones, up to Config.MaxTries endpoints.
type upstream struct{ p *Proxy }

// RoundTrip implements http.RoundTripper.
func (u upstream) RoundTrip(req *http.Request) (*http.Response, error) {
	st := requestOf(req)
	pool := st.route.pool
	var body *trackedBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &trackedBody{r: req.Body}
	}
	tries := min(len(pool.targets), u.p.cfg.MaxTries)
	var err error
	for i := range tries {
		idx := (st.first + i) % len(pool.targets)
		out := *req
		url := *req.URL
		url.Host = pool.targets[idx].host
		out.URL = &url
		if body != nil {
			out.Body = body
		}
		var res *http.Response
		if res, err = u.p.transport.RoundTrip(&out); err == nil {
			st.used = idx
			return res, nil
		}
		if !dialFailed(err) || (body != nil && body.read.Load()) || req.Context().Err() != nil || i == tries-1 {
			break
		}
		u.p.metrics.retries.WithLabelValues(pool.service).Inc()
		u.p.log.Debug("ingress endpoint refused, trying the next", "service", pool.service, "endpoint", pool.targets[idx].host, "err", err)
	}
	return nil, err
}

// dialFailed reports whether err is a failure to connect: nothing of the
// request was sent.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// trackedBody is a request body the transport may read but not close
// (the ReverseProxy closes the real one), so that it can be offered to the
// next endpoint if the first never read a byte of it.
type trackedBody struct {
	r    io.Reader
	read atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.read.Store(true)
	}
	return n, err
}

func (b *trackedBody) Close() error { return nil }
