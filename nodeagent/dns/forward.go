package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// errNoUpstream is the forwarding error of a server without upstreams.
var errNoUpstream = errors.New("no upstream resolver configured")

// forwarder asks the upstream resolvers what the server does not answer
// itself.
type forwarder struct {
	upstreams []netip.AddrPort
	timeout   time.Duration
	// failed counts the failed attempts of one upstream (may be nil).
	failed func(upstream netip.AddrPort)
}

// exchange asks the upstreams in order and returns the first answer that
// is neither SERVFAIL nor REFUSED, with req's ID. It sends UDP first
// (TCP when tcp is set, the client having asked over TCP) and again over
// TCP when the UDP answer is truncated. Each attempt at one upstream is
// bounded by the timeout; cancelling ctx ends them all.
func (f *forwarder) exchange(ctx context.Context, req *dns.Msg, tcp bool) (*dns.Msg, error) {
	if len(f.upstreams) == 0 {
		return nil, errNoUpstream
	}
	var errs []error
	for _, u := range f.upstreams {
		resp, err := f.try(ctx, req, u, tcp)
		if err == nil {
			resp.Id = req.Id
			return resp, nil
		}
		if f.failed != nil {
			f.failed(u)
		}
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// try asks one upstream.
func (f *forwarder) try(ctx context.Context, req *dns.Msg, u netip.AddrPort, tcp bool) (*dns.Msg, error) {
	resp, err := f.roundTrip(ctx, req, u, tcp)
	if err == nil && resp.Truncated && !tcp {
		resp, err = f.roundTrip(ctx, req, u, true)
	}
	if err != nil {
		return nil, err
	}
	if resp.Rcode == dns.RcodeServerFailure || resp.Rcode == dns.RcodeRefused {
		return nil, fmt.Errorf("answered %s", dns.RcodeToString[resp.Rcode])
	}
	return resp, nil
}

// roundTrip sends a copy of req, with a fresh ID, to u on its own
// connection and reads the answer.
func (f *forwarder) roundTrip(ctx context.Context, req *dns.Msg, u netip.AddrPort, tcp bool) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	network := "udp"
	if tcp {
		network = "tcp"
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, u.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// The client obeys the context's deadline, not its cancellation.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	q := req.Copy()
	q.Id = dns.Id()
	c := dns.Client{Net: network, UDPSize: dns.MaxMsgSize} // read buffer for answers without EDNS0
	resp, _, err := c.ExchangeWithConnContext(ctx, q, &dns.Conn{Conn: conn})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", network, ctx.Err())
		}
		return nil, fmt.Errorf("%s: %w", network, err)
	}
	return resp, nil
}
