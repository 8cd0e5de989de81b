package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"

	"github.com/shoal-run/shoal/reconciler/services"
)

const (
	// maxChase bounds a chain of CNAMEs followed within the cluster domain.
	maxChase = 8
	// ednsSize is the UDP payload size the server advertises and asks
	// with (DNS flag day 2020's value: no IP fragmentation).
	ednsSize = 1232
	// shutdownTimeout bounds the wait for queries in flight at shutdown.
	shutdownTimeout = 5 * time.Second
	// upstreamWarnEvery spaces the warnings about failing upstreams.
	upstreamWarnEvery = time.Minute
)

// Server is a node's DNS server. Make one with New, give it tables with
// Update (before Start, so that pods never see a cluster name missing),
// serve with Start, stop with Close or by cancelling Start's context. Its
// methods are safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	fwd     *forwarder
	metrics *metrics
	zone    atomic.Pointer[zone]

	updateMu sync.Mutex // serialises Update
	serial   uint32
	problems string // the last table's problems, logged when they change

	lastWarn atomic.Int64 // unix nanoseconds of the last upstream warning

	mu      sync.Mutex
	started bool
	closed  bool
	addr    netip.AddrPort
	cancel  context.CancelFunc
	done    chan struct{} // closed when the servers and their queries ended
	err     error         // why serving stopped on its own, read after done
}

// New validates cfg and returns a server with no table yet: until the
// first Update, names in the cluster domain get SERVFAIL.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "dns"), metrics: newMetrics()}
	s.fwd = &forwarder{upstreams: cfg.Upstream, timeout: cfg.UpstreamTimeout, failed: s.metrics.upstreamFailed}
	z, _ := buildZone(nil, s.zoneConfig(0))
	s.zone.Store(z)
	return s, nil
}

func (s *Server) zoneConfig(serial uint32) zoneConfig {
	return zoneConfig{domain: s.cfg.ClusterDomain, ttl: uint32(s.cfg.TTL / time.Second), reverse: s.cfg.ReverseCIDRs, serial: serial}
}

// Update makes t (nil for an empty table) the table the server answers
// from. The index is built here and swapped in at once: a query sees the
// previous table or t, never part of each. t is not kept: the caller may
// change it afterwards.
func (s *Server) Update(t *services.Table) {
	if t == nil {
		t = &services.Table{}
	}
	s.updateMu.Lock()
	defer s.updateMu.Unlock()
	s.serial = max(uint32(time.Now().Unix()), s.serial+1)
	z, problems := buildZone(t, s.zoneConfig(s.serial))
	s.zone.Store(z)
	if d := strings.ToLower(strings.TrimSuffix(t.ClusterDomain, ".")); d != "" && d != s.cfg.ClusterDomain {
		problems = append(problems, fmt.Errorf("the table's cluster domain %q is not the server's %q: names are served under %q",
			t.ClusterDomain, s.cfg.ClusterDomain, s.cfg.ClusterDomain))
	}
	if msg := fmt.Sprint(problems); msg != s.problems {
		s.problems = msg
		for _, p := range problems {
			s.log.Warn("table entry left out", "error", p)
		}
	}
	s.log.Debug("table updated", "services", z.services, "names", len(z.names), "serial", s.serial)
}

// Start binds Config.Addr over UDP and TCP and serves in the background
// until ctx is cancelled or Close is called. It returns once both
// listeners are bound and serving, or the error that prevented it
// (the address in use, say); a server starts once.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return errors.New("dns: server closed")
	case s.started:
		return errors.New("dns: server already started")
	}
	pc, ln, err := listen(s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("dns: listen on %s: %w", s.cfg.Addr, err)
	}
	s.started = true
	s.addr = ln.Addr().(*net.TCPAddr).AddrPort()
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.done = make(chan struct{})

	h := handler{s: s, ctx: ctx}
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	servers := []*dns.Server{
		{PacketConn: pc, Handler: h, UDPSize: dns.DefaultMsgSize, NotifyStartedFunc: notify},
		{Listener: ln, Handler: h, NotifyStartedFunc: notify},
	}
	errs := make(chan error, len(servers))
	for _, srv := range servers {
		go func() { errs <- srv.ActivateAndServe() }()
	}
	for range servers {
		select {
		case <-started:
		case err := <-errs:
			// One could not start: stop the other by closing its socket.
			cancel()
			pc.Close()
			ln.Close()
			<-errs
			close(s.done)
			return fmt.Errorf("dns: serve on %s: %w", s.addr, err)
		}
	}
	s.log.Info("serving DNS", "addr", s.addr, "domain", s.cfg.ClusterDomain, "upstreams", s.cfg.Upstream)
	go s.run(ctx, servers, errs)
	return nil
}

// run waits for the end (ctx cancelled or a server failing), then shuts
// both servers down and waits for the queries in flight.
func (s *Server) run(ctx context.Context, servers []*dns.Server, errs chan error) {
	pending := len(servers)
	var failure error
	select {
	case <-ctx.Done():
	case failure = <-errs:
		pending--
		s.log.Error("DNS server stopped", "error", failure)
	}
	s.cancel() // ends the forwarding of the queries in flight
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		srv.ShutdownContext(sctx)
	}
	for ; pending > 0; pending-- {
		if err := <-errs; err != nil && failure == nil {
			failure = err
		}
	}
	s.log.Info("DNS stopped", "addr", s.addr)
	s.mu.Lock()
	s.err = failure
	s.mu.Unlock()
	close(s.done)
}

// Close stops the server and waits until its goroutines have ended. It
// returns why serving had stopped on its own, if it had; nil otherwise,
// and on later calls.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true // a server closed before Start never starts
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.err
	s.err = nil
	return err
}

// Addr returns the address the server listens on (UDP and TCP), valid
// once Start returned nil.
func (s *Server) Addr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// listen binds addr over TCP and UDP; with port 0, a port free for both.
func listen(addr netip.AddrPort) (net.PacketConn, net.Listener, error) {
	for range 20 {
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
		if err != nil {
			return nil, nil, err
		}
		port := ln.Addr().(*net.TCPAddr).AddrPort().Port()
		pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr.Addr(), port)))
		if err == nil {
			return pc, ln, nil
		}
		ln.Close()
		if addr.Port() != 0 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, err
		}
		// The port TCP got is taken for UDP: draw another.
	}
	return nil, nil, errors.New("no port free for both UDP and TCP")
}

// handler serves the queries of one Start, with its context.
type handler struct {
	s   *Server
	ctx context.Context
}

func (h handler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	_, tcp := w.RemoteAddr().(*net.TCPAddr)
	m, source := h.s.resolve(h.ctx, req, tcp)
	h.s.metrics.query(source, m.Rcode)
	if err := w.WriteMsg(fit(req, m, tcp)); err != nil {
		h.s.log.Debug("write answer", "client", w.RemoteAddr(), "error", err)
	}
}

// Sources of answers, for the metrics.
const (
	sourceCluster  = "cluster"
	sourceUpstream = "upstream"
)

// resolve answers req, from the table when its name is the server's,
// else from upstream; it never returns nil.
func (s *Server) resolve(ctx context.Context, req *dns.Msg, tcp bool) (*dns.Msg, string) {
	if len(req.Question) != 1 {
		return new(dns.Msg).SetRcodeFormatError(req), sourceCluster
	}
	if m := s.answer(ctx, s.zone.Load(), req, tcp); m != nil {
		return m, sourceCluster
	}
	resp, err := s.fwd.exchange(ctx, req, tcp)
	if err != nil {
		s.warnUpstream(ctx, req.Question[0], err)
		m := new(dns.Msg).SetRcode(req, dns.RcodeServerFailure)
		m.RecursionAvailable = true
		return m, sourceUpstream
	}
	return resp, sourceUpstream
}

// answer resolves req from zone z, or returns nil when its name is not
// the server's to answer (in neither the cluster domain nor a reverse
// range).
func (s *Server) answer(ctx context.Context, z *zone, req *dns.Msg, tcp bool) *dns.Msg {
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	soa := z.authority(name)
	if soa == nil {
		return nil
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if !z.ready {
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
		m.Rcode = dns.RcodeRefused
		return m
	}
	m.Authoritative = true
	for range maxChase {
		n := z.lookup(name)
		if n == nil {
			m.Rcode = dns.RcodeNameError
			m.Ns = []dns.RR{soa}
			return m
		}
		if n.cname != nil && q.Qtype != dns.TypeCNAME && q.Qtype != dns.TypeANY {
			m.Answer = append(m.Answer, n.cname)
			name = n.cname.Target
			if soa = z.authority(name); soa == nil {
				s.chase(ctx, m, name, q.Qtype, tcp)
				return m
			}
			continue
		}
		rrs := n.records(q.Qtype)
		if len(rrs) == 0 {
			m.Ns = []dns.RR{soa}
			return m
		}
		m.Answer = append(m.Answer, rrs...)
		if q.Qtype == dns.TypeSRV {
			m.Extra = append(m.Extra, n.extra...)
		}
		return m
	}
	return m // a longer chain: the CNAMEs followed so far
}

// chase adds to m the records of type qtype of a CNAME target outside the
// server's zones, asked upstream. When that fails, m keeps the CNAME alone
// and the client may ask for the target itself.
func (s *Server) chase(ctx context.Context, m *dns.Msg, target string, qtype uint16, tcp bool) {
	q := new(dns.Msg).SetQuestion(target, qtype)
	q.SetEdns0(ednsSize, false)
	resp, err := s.fwd.exchange(ctx, q, tcp)
	if err != nil {
		s.warnUpstream(ctx, q.Question[0], err)
		return
	}
	m.Answer = append(m.Answer, resp.Answer...)
	if resp.Rcode == dns.RcodeNameError {
		m.Rcode = dns.RcodeNameError
		m.Ns = resp.Ns
	}
}

// warnUpstream logs a query no upstream answered: a warning at most once
// a minute, the others, and those cut short by the server's shutdown, at
// debug level.
func (s *Server) warnUpstream(ctx context.Context, q dns.Question, err error) {
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if ctx.Err() == nil && now-last >= int64(upstreamWarnEvery) && s.lastWarn.CompareAndSwap(last, now) {
		s.log.Warn("no upstream answered (further failures logged at debug level for a minute)",
			"name", q.Name, "type", dns.TypeToString[q.Qtype], "error", err)
		return
	}
	s.log.Debug("no upstream answered", "name", q.Name, "type", dns.TypeToString[q.Qtype], "error", err)
}

// fit prepares answer m to req for the wire: an OPT record when req had
// one, and truncated (TC set) to what the client can take over UDP, 512
// bytes or its EDNS0 size.
func fit(req, m *dns.Msg, tcp bool) *dns.Msg {
	size := dns.MaxMsgSize
	opt := req.IsEdns0()
	if !tcp {
		size = dns.MinMsgSize
		if opt != nil {
			size = max(int(opt.UDPSize()), dns.MinMsgSize)
		}
	}
	if opt != nil && m.IsEdns0() == nil {
		m.SetEdns0(ednsSize, false)
	}
	m.Truncate(size)
	return m
}
