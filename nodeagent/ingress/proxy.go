// Package ingress is the ingress controller every node runs: an HTTP and
// HTTPS reverse proxy serving the Ingresses of the cluster routing table
// (reconciler/services.Table) straight to the ready pod endpoints. The node
// agent makes one Proxy with New, calls Start with its listen addresses and
// Update with every table the leader sends.
//
// # Rules
//
//   - Class: an Ingress is served when its spec.ingressClassName equals
//     Config.ClassName (default "shoal"), or when it has none and its
//     legacy kubernetes.io/ingress.class annotation is absent, empty or
//     equal to Config.ClassName: shoal acts as the cluster's default
//     IngressClass. Other Ingresses are left to other controllers.
//   - Host: the request's host (Host header, port and trailing dot
//     removed, lower case) picks one set of rules: an exact host first,
//     then a wildcard "*.example.com", which matches exactly one more label
//     (a.example.com, not example.com nor a.b.example.com), then the rules
//     without a host. Only that set is searched for a path, as in
//     ingress-nginx (one server per host).
//   - Path: the request path, cleaned ("..", "." and "//" resolved, a
//     trailing slash kept), is matched as the Kubernetes Ingress spec says:
//     Exact compares the whole path (case sensitive, "/foo" is not
//     "/foo/"); Prefix compares "/"-separated elements ("/foo" matches
//     "/foo", "/foo/" and "/foo/bar", not "/foobar"; a trailing slash of
//     the rule is ignored); ImplementationSpecific is Prefix. The longest
//     matching path wins, and Exact wins over Prefix at equal length.
//   - Merging: rules of every served Ingress for the same host are merged.
//     Ingresses are taken in namespace/name order (the table carries no
//     creation time), and on a conflict — the same host, path and path
//     type in two Ingresses — the first in that order wins; Update reports
//     the loser.
//   - Default backend: a request no path matches goes to the
//     spec.defaultBackend of the first Ingress (in that order) that has
//     rules for its host set and a default backend, else to the cluster's
//     default backend: the spec.defaultBackend of the first Ingress without
//     rules that has one, else of the first Ingress that has one. Nothing
//     matched and no default: 404 with a short body.
//   - Backends: requests go to Backend.Targets, the Service port's ready
//     endpoints, round robin; no target answers 503. A connection that
//     fails before any byte is sent (refused, unreachable, connect timeout)
//     is retried on the next endpoint, up to Config.MaxTries endpoints, for
//     every method — no byte of the request reached that endpoint, which is
//     also when nginx's proxy_next_upstream retries a POST. Nothing is
//     retried once the request was sent. All tries failing answers 502
//     (504 on a timeout).
//   - Session affinity: an Ingress annotated
//     nginx.ingress.kubernetes.io/affinity: cookie pins a client to one
//     endpoint with a cookie named by
//     nginx.ingress.kubernetes.io/session-cookie-name (default
//     INGRESSCOOKIE), optionally with
//     nginx.ingress.kubernetes.io/session-cookie-max-age (seconds). The
//     value is a hash of the endpoint's address; its Path is the matched
//     rule's path. A cookie naming no current endpoint (the pod left) picks
//     one round robin and sets a new cookie.
//   - TLS: the HTTPS listener picks the certificate by SNI from the served
//     Ingresses' spec.tls: each listed host (wildcards "*.example.com"
//     included; the first Ingress listing a host wins), or, for an entry
//     listing no hosts, every rule host of its Ingress the certificate is
//     valid for. Other names, and clients sending no SNI, get a self-signed
//     certificate generated at New ("Shoal Ingress Fake Certificate", as
//     ingress-nginx's fake certificate). Certificates are parsed at Update;
//     a bad or missing one is reported and its hosts get the fake one.
//   - Redirect: plain HTTP is served as is; HTTP→HTTPS redirection is NOT
//     the default (ingress-nginx redirects when an Ingress has TLS). An
//     Ingress annotated nginx.ingress.kubernetes.io/ssl-redirect or
//     nginx.ingress.kubernetes.io/force-ssl-redirect "true" has its plain
//     HTTP requests answered 308 to the same URL on the HTTPS listener.
//   - Upgrades (WebSocket and others) pass through on HTTP/1.1.
//   - Headers: the Host header is passed unchanged; X-Forwarded-For gets
//     the client's address appended; X-Forwarded-Proto (http, https),
//     X-Forwarded-Host (the request's Host), X-Forwarded-Port (the port the
//     request came in on) and X-Real-IP (the client's address) are set,
//     replacing what the client sent. Hop-by-hop headers are removed.
//   - Update swaps the whole routing at once: a request is routed by the
//     table before or after an Update, never by a mix.
//
// The Proxy is a prometheus.Collector (metrics.go): requests by Ingress,
// Service and status code, and retries.
package ingress

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoal-run/shoal/reconciler/services"
)

// Config configures a Proxy. Zero fields take the defaults named.
type Config struct {
	// HTTPAddr and HTTPSAddr are the listen addresses of plain HTTP
	// (default ":80") and HTTPS (default ":443").
	HTTPAddr  string
	HTTPSAddr string
	// ClassName is the IngressClass served (default "shoal"), besides
	// Ingresses that name none.
	ClassName string
	// Logger receives problems and shutdown (default slog.Default()).
	Logger *slog.Logger
	// DialTimeout bounds connecting to an endpoint (default 5s, nginx's
	// proxy-connect-timeout); a timeout is retried like a refusal.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for an endpoint's response
	// headers once the request is sent (default 60s); exceeded, 504.
	ResponseHeaderTimeout time.Duration
	// ReadHeaderTimeout bounds reading a client's request headers
	// (default 10s).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle client keep-alive connections (default 75s).
	IdleTimeout time.Duration
	// ShutdownTimeout is how long Close waits for requests in flight
	// before cutting them, upgraded connections included (default 10s).
	ShutdownTimeout time.Duration
	// MaxTries is how many endpoints a request tries when connecting
	// fails (default 3, ingress-nginx's proxy-next-upstream-tries).
	MaxTries int
}

// Defaults of Config.
const (
	DefaultHTTPAddr              = ":80"
	DefaultHTTPSAddr             = ":443"
	DefaultClassName             = "shoal"
	DefaultDialTimeout           = 5 * time.Second
	DefaultResponseHeaderTimeout = 60 * time.Second
	DefaultReadHeaderTimeout     = 10 * time.Second
	DefaultIdleTimeout           = 75 * time.Second
	DefaultShutdownTimeout       = 10 * time.Second
	DefaultMaxTries              = 3
)

func (c Config) withDefaults() (Config, error) {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"DialTimeout", c.DialTimeout}, {"ResponseHeaderTimeout", c.ResponseHeaderTimeout},
		{"ReadHeaderTimeout", c.ReadHeaderTimeout}, {"IdleTimeout", c.IdleTimeout},
		{"ShutdownTimeout", c.ShutdownTimeout},
	} {
		if d.v < 0 {
			return c, fmt.Errorf("ingress: Config.%s is negative (%v)", d.name, d.v)
		}
	}
	if c.MaxTries < 0 {
		return c, fmt.Errorf("ingress: Config.MaxTries is negative (%d)", c.MaxTries)
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.HTTPAddr, DefaultHTTPAddr)
	def(&c.HTTPSAddr, DefaultHTTPSAddr)
	def(&c.ClassName, DefaultClassName)
	defD := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defD(&c.DialTimeout, DefaultDialTimeout)
	defD(&c.ResponseHeaderTimeout, DefaultResponseHeaderTimeout)
	defD(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	defD(&c.IdleTimeout, DefaultIdleTimeout)
	defD(&c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.MaxTries == 0 {
		c.MaxTries = DefaultMaxTries
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Proxy is the ingress proxy. Its methods are safe for concurrent use.
// It is also an http.Handler routing by the latest table (ServeHTTP), for
// use behind another server.
type Proxy struct {
	cfg       Config
	log       *slog.Logger
	routes    atomic.Pointer[routes]
	fake      *tls.Certificate
	transport *http.Transport
	rp        *httputil.ReverseProxy
	metrics   *metrics

	updateMu sync.Mutex      // serialises Update
	reported map[string]bool // problems already logged, under updateMu

	// baseCtx is every served request's parent: cancelled at shutdown,
	// it ends proxied requests and upgraded connections.
	baseCtx context.Context
	cancel  context.CancelFunc

	mu        sync.Mutex // guards the fields below
	started   bool
	closed    bool
	httpLn    net.Listener
	httpsLn   net.Listener
	httpsPort string
	closing   chan struct{} // closed by Close
	done      chan struct{} // closed when shutdown is complete

	// active counts running ServeHTTP calls; once draining, none starts
	// and drained is closed when the last returns.
	reqMu    sync.Mutex
	active   int
	draining bool
	drained  chan struct{}
}

// New returns a Proxy routing nothing (every request 404) until Update.
func New(cfg Config) (*Proxy, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	fake, err := newFakeCert()
	if err != nil {
		return nil, fmt.Errorf("ingress: default certificate: %w", err)
	}
	p := &Proxy{
		cfg:      cfg,
		log:      cfg.Logger.With("component", "ingress"),
		fake:     fake,
		metrics:  newMetrics(),
		reported: map[string]bool{},
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		drained:  make(chan struct{}),
	}
	p.baseCtx, p.cancel = context.WithCancel(context.Background())
	p.transport = &http.Transport{
		Proxy:                  nil, // never an environment's HTTP_PROXY
		DialContext:            (&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		ResponseHeaderTimeout:  cfg.ResponseHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true, // pass Accept-Encoding and bodies as they are
		MaxResponseHeaderBytes: 1 << 20,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      upstream{p},
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.proxyError,
		ErrorLog:       slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		BufferPool:     bufferPool{},
	}
	p.routes.Store(&routes{})
	return p, nil
}

// Start binds the HTTP and HTTPS listeners — a bind error is returned and
// nothing keeps running — then serves in the background until ctx is done
// or Close is called. A Proxy starts once.
func (p *Proxy) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return errors.New("ingress: Start after Close")
	case p.started:
		return errors.New("ingress: already started")
	}
	httpLn, err := net.Listen("tcp", p.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("ingress: listen HTTP: %w", err)
	}
	httpsLn, err := net.Listen("tcp", p.cfg.HTTPSAddr)
	if err != nil {
		httpLn.Close()
		return fmt.Errorf("ingress: listen HTTPS: %w", err)
	}
	_, port, _ := net.SplitHostPort(httpsLn.Addr().String())
	p.started, p.httpLn, p.httpsLn, p.httpsPort = true, httpLn, httpsLn, port

	errLog := slog.NewLogLogger(p.log.Handler(), slog.LevelDebug) // TLS handshake errors and the like
	newServer := func() *http.Server {
		return &http.Server{
			Handler:           p,
			ReadHeaderTimeout: p.cfg.ReadHeaderTimeout,
			IdleTimeout:       p.cfg.IdleTimeout,
			ErrorLog:          errLog,
			BaseContext:       func(net.Listener) context.Context { return p.baseCtx },
		}
	}
	plain, secure := newServer(), newServer()
	secure.TLSConfig = p.tlsConfig()

	var serving sync.WaitGroup
	serving.Go(func() { p.served("HTTP", plain.Serve(httpLn)) })
	serving.Go(func() { p.served("HTTPS", secure.ServeTLS(httpsLn, "", "")) })
	go func() {
		select {
		case <-ctx.Done():
		case <-p.closing:
		}
		p.shutdown(plain, secure)
		serving.Wait()
		close(p.done)
	}()
	p.log.Info("ingress proxy listening", "http", httpLn.Addr().String(), "https", httpsLn.Addr().String(), "class", p.cfg.ClassName)
	return nil
}

func (p *Proxy) served(name string, err error) {
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		p.log.Error("ingress listener failed", "listener", name, "err", err)
	}
}

// shutdown stops accepting, lets requests in flight finish for
// ShutdownTimeout, then cuts the rest and waits for every handler.
func (p *Proxy) shutdown(servers ...*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ShutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Go(func() { s.Shutdown(ctx) })
	}
	wg.Wait()
	p.cancel() // ends upgraded connections and what Shutdown left
	for _, s := range servers {
		s.Close()
	}
	p.reqMu.Lock()
	p.draining = true
	if p.active == 0 {
		close(p.drained)
	}
	p.reqMu.Unlock()
	<-p.drained
	p.transport.CloseIdleConnections()
	p.log.Info("ingress proxy stopped")
}

// Close stops the proxy as Start's context ending does, and returns once
// its listeners are closed and every request handler has returned. It is
// idempotent; a Proxy never started needs no Close.
func (p *Proxy) Close() error {
	p.mu.Lock()
	started := p.started
	if !p.closed {
		p.closed = true
		close(p.closing)
	}
	p.mu.Unlock()
	if started {
		<-p.done
	}
	return nil
}

// HTTPAddr returns the bound HTTP listen address, nil before Start
// (useful with port 0).
func (p *Proxy) HTTPAddr() net.Addr { return p.addr(func() net.Listener { return p.httpLn }) }

// HTTPSAddr returns the bound HTTPS listen address, nil before Start.
func (p *Proxy) HTTPSAddr() net.Addr { return p.addr(func() net.Listener { return p.httpsLn }) }

func (p *Proxy) addr(ln func() net.Listener) net.Addr {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := ln(); l != nil {
		return l.Addr()
	}
	return nil
}

// ServeHTTP routes one request by the latest table.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.enter() {
		http.Error(w, "503 Service Unavailable: shutting down", http.StatusServiceUnavailable)
		return
	}
	defer p.leave()

	rt := p.routes.Load()
	host := requestHost(r.Host)
	route := rt.match(host, cleanPath(r.URL.Path))
	if route == nil {
		p.metrics.request("", "", "", http.StatusNotFound)
		http.Error(w, "404 Not Found: no Ingress rule matches this host and path", http.StatusNotFound)
		return
	}
	ing := route.ingress
	if r.TLS == nil && ing.sslRedirect {
		p.redirect(w, r, host, route)
		return
	}
	pool := route.pool
	if len(pool.targets) == 0 {
		p.metrics.request(ing.namespace, ing.name, pool.service, http.StatusServiceUnavailable)
		p.log.Debug("ingress backend has no ready endpoint", "ingress", ing.key(), "service", pool.service)
		http.Error(w, "503 Service Unavailable: no ready endpoint", http.StatusServiceUnavailable)
		return
	}
	st := &request{route: route, first: -1, used: -1}
	if ing.affinity {
		if c, err := r.Cookie(ing.cookieName); err == nil {
			if i, ok := pool.byCookie[c.Value]; ok {
				st.first, st.pinned = i, true
			}
		}
	}
	if st.first < 0 {
		st.first = pool.next()
	}
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, st)))
}

// enter counts a request in, unless the proxy is draining.
func (p *Proxy) enter() bool {
	p.reqMu.Lock()
	defer p.reqMu.Unlock()
	if p.draining {
		return false
	}
	p.active++
	return true
}

// leave counts a request out.
func (p *Proxy) leave() {
	p.reqMu.Lock()
	defer p.reqMu.Unlock()
	if p.active--; p.draining && p.active == 0 {
		close(p.drained)
	}
}

// redirect answers 308 to the same URL on the HTTPS listener.
func (p *Proxy) redirect(w http.ResponseWriter, r *http.Request, host string, route *route) {
	p.mu.Lock()
	port := p.httpsPort
	p.mu.Unlock()
	if port == "" {
		_, port, _ = net.SplitHostPort(p.cfg.HTTPSAddr)
	}
	hostport := host
	if port != "443" && port != "" {
		hostport = net.JoinHostPort(host, port)
	} else if net.ParseIP(host) != nil && net.ParseIP(host).To4() == nil {
		hostport = "[" + host + "]"
	}
	p.metrics.request(route.ingress.namespace, route.ingress.name, route.pool.service, http.StatusPermanentRedirect)
	http.Redirect(w, r, "https://"+hostport+r.URL.RequestURI(), http.StatusPermanentRedirect)
}

// requestKey is the context key of a proxied request's *request.
type requestKey struct{}

// request is one proxied request's routing state, shared by ServeHTTP,
// the rewrite, the upstream round trip and the response hooks, which run
// in turn on one goroutine.
type request struct {
	route *route
	// first is the index in route.pool.targets tried first; pinned says
	// it came from the affinity cookie.
	first  int
	pinned bool
	// used is the index of the endpoint that answered, -1 before.
	used int
}

func requestOf(r *http.Request) *request {
	st, _ := r.Context().Value(requestKey{}).(*request)
	return st
}

// rewrite makes the outgoing request: headers here, the endpoint's address
// per try in upstream.RoundTrip.
func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	st := requestOf(pr.In)
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = st.route.pool.targets[st.first].host
	pr.Out.Host = pr.In.Host
	if prior, ok := pr.In.Header["X-Forwarded-For"]; ok {
		pr.Out.Header["X-Forwarded-For"] = prior
	}
	pr.SetXForwarded() // appends to X-Forwarded-For; sets -Host and -Proto
	if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
		pr.Out.Header.Set("X-Real-Ip", ip)
	}
	if la, ok := pr.In.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(la.String()); err == nil {
			pr.Out.Header.Set("X-Forwarded-Port", port)
		}
	}
}

// modifyResponse sets the affinity cookie when the endpoint that answered
// is not the one the client's cookie named, and counts the response.
func (p *Proxy) modifyResponse(res *http.Response) error {
	st := requestOf(res.Request)
	ing, pool := st.route.ingress, st.route.pool
	if ing.affinity && st.used >= 0 && (!st.pinned || st.used != st.first) {
		c := &http.Cookie{
			Name:     ing.cookieName,
			Value:    pool.targets[st.used].cookie,
			Path:     st.route.cookiePath,
			MaxAge:   ing.cookieMaxAge,
			HttpOnly: true,
			Secure:   res.Request.Header.Get("X-Forwarded-Proto") == "https",
			SameSite: http.SameSiteLaxMode,
		}
		res.Header.Add("Set-Cookie", c.String())
	}
	p.metrics.request(ing.namespace, ing.name, pool.service, res.StatusCode)
	return nil
}

// proxyError answers a request no endpoint took: 504 on a timeout, else
// 502.
func (p *Proxy) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	st := requestOf(r)
	code := http.StatusBadGateway
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		code = http.StatusGatewayTimeout
	}
	ing, pool := st.route.ingress, st.route.pool
	p.metrics.request(ing.namespace, ing.name, pool.service, code)
	if r.Context().Err() == nil { // not the client going away
		p.log.Warn("ingress backend failed", "ingress", ing.key(), "service", pool.service, "host", r.Host, "path", r.URL.Path, "err", err)
	}
	http.Error(w, strconv.Itoa(code)+" "+http.StatusText(code), code)
}

// Update routes by table t from now on (nil routes nothing). The routing
// is built whole, certificates parsed, before it replaces the previous
// one at once. The returned error lists the problems found — certificates
// missing or unusable (their hosts get the default certificate), paths
// routed by two Ingresses (the first wins) — each naming its Ingress; the
// rest of the table is in force all the same. Each problem is also logged
// once, when it first appears.
func (p *Proxy) Update(t *services.Table) error {
	p.updateMu.Lock()
	defer p.updateMu.Unlock()
	rt, problems := build(t, p.cfg.ClassName, p.routes.Load())
	p.routes.Store(rt)
	now := make(map[string]bool, len(problems))
	var errs []error
	for _, pr := range problems {
		if !p.reported[pr] {
			p.log.Warn("ingress: " + pr)
		}
		now[pr] = true
		errs = append(errs, errors.New(pr))
	}
	p.reported = now
	if len(errs) > 0 {
		return fmt.Errorf("ingress: %w", errors.Join(errs...))
	}
	return nil
}

// bufferPool recycles the ReverseProxy's copy buffers (32 KiB each).
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func (bufferPool) Get() []byte { return buffers.Get().(*[32 << 10]byte)[:] }
func (bufferPool) Put(b []byte) {
	if len(b) == 32<<10 {
		buffers.Put((*[32 << 10]byte)(b))
	}
}
