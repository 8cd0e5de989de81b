package ingress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/shoal-run/shoal/reconciler/services"
)

func TestRoundRobin(t *testing.T) {
	be := newBackends(t, "a", "b", "c")
	prx := startProxy(t, Config{})
	c := newClient(t, prx)
	update(t, prx, ing("site", rule("", prefix("/", svc("app", be["a"], be["b"], be["c"])))))
	got := map[string]int{}
	for range 30 {
		r := c.get("x.example", "/")
		if r.code != http.StatusOK {
			t.Fatalf("GET: %d %q", r.code, r.body)
		}
		got[r.body]++
	}
	for _, n := range []string{"a", "b", "c"} {
		if got[n] != 10 {
			t.Errorf("30 requests over 3 endpoints: %v, want 10 each", got)
			break
		}
	}
}

// TestRetryRefused: a refused connection is tried again on the next
// endpoint, for any method, until MaxTries endpoints failed.
func TestRetryRefused(t *testing.T) {
	live := newBackend(t, "live")
	dead1, dead2 := refusedAddr(t), refusedAddr(t)
	prx := startProxy(t, Config{})
	c := newClient(t, prx)
	app := services.Backend{Service: "app", PortNumber: 80, Targets: []netip.AddrPort{dead1, live.addr, dead2}}
	update(t, prx, ing("site", rule("", prefix("/", app))))
	for i := range 12 {
		r := c.get("x.example", "/")
		if r.code != http.StatusOK || r.body != "live" {
			t.Fatalf("GET %d: %d %q, want live", i, r.code, r.body)
		}
		r = c.do(http.MethodPost, "x.example", "/", strings.NewReader("hello"))
		if r.code != http.StatusOK || r.body != "live" || r.header.Get("Echo-Body-Length") != "5" {
			t.Fatalf("POST %d: %d %q, body length %s, want live with 5 bytes", i, r.code, r.body, r.header.Get("Echo-Body-Length"))
		}
	}
	if n := testutil.ToFloat64(prx.metrics.retries.WithLabelValues("default/app")); n < 12 {
		t.Errorf("retries counted %v, want at least 12 (half the requests start on a dead endpoint)", n)
	}

	app.Targets = []netip.AddrPort{dead1, dead2}
	update(t, prx, ing("site", rule("", prefix("/", app))))
	if r := c.get("x.example", "/"); r.code != http.StatusBadGateway {
		t.Errorf("every endpoint refused: %d %q, want 502", r.code, r.body)
	}
}

// TestNoRetryOnceSent: an endpoint that takes the request and hangs up is
// not retried: the request may have had its effect.
func TestNoRetryOnceSent(t *testing.T) {
	var accepts atomic.Int32
	hangup := func() netip.AddrPort {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				accepts.Add(1)
				conn.Read(make([]byte, 4096))
				conn.Close()
			}
		}()
		return netip.MustParseAddrPort(ln.Addr().String())
	}
	prx := startProxy(t, Config{})
	c := newClient(t, prx)
	update(t, prx, ing("site", rule("", prefix("/", services.Backend{Service: "app", Targets: []netip.AddrPort{hangup(), hangup()}}))))
	if r := c.get("x.example", "/"); r.code != http.StatusBadGateway {
		t.Errorf("GET to an endpoint hanging up: %d %q, want 502", r.code, r.body)
	}
	if r := c.do(http.MethodPost, "x.example", "/", strings.NewReader("once")); r.code != http.StatusBadGateway {
		t.Errorf("POST to an endpoint hanging up: %d %q, want 502", r.code, r.body)
	}
	if n := accepts.Load(); n != 2 {
		t.Errorf("2 requests reached endpoints %d times, want 2 (no retry once sent)", n)
	}
}

func TestCookieAffinity(t *testing.T) {
	be := newBackends(t, "a", "b", "c")
	sticky := ing("sticky",
		rule("s.example", prefix("/", svc("app", be["a"], be["b"], be["c"]))),
		rule("api.example", prefix("/api/", svc("app", be["a"], be["b"], be["c"]))))
	sticky.Annotations = map[string]string{AnnotationAffinity: "cookie", AnnotationCookieName: "route", AnnotationCookieMaxAge: "3600"}
	plainName := ing("default-name", rule("d.example", prefix("/", svc("app2", be["a"], be["b"]))))
	plainName.Annotations = map[string]string{AnnotationAffinity: "cookie"}
	none := ing("none", rule("n.example", prefix("/", svc("app3", be["a"], be["b"]))))
	prx := startProxy(t, Config{})
	c := newClient(t, prx)
	update(t, prx, sticky, plainName, none)

	cookieOf := func(r response, name string) *http.Cookie {
		t.Helper()
		for _, ck := range (&http.Response{Header: r.header}).Cookies() {
			if ck.Name == name {
				return ck
			}
		}
		return nil
	}
	withCookie := func(ck *http.Cookie) func(*http.Request) {
		return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value}) }
	}

	first := c.get("s.example", "/")
	ck := cookieOf(first, "route")
	if ck == nil {
		t.Fatalf("first answer sets no affinity cookie: %v", first.header)
	}
	if ck.Path != "/" || !ck.HttpOnly || ck.MaxAge != 3600 || strings.Contains(ck.Value, "127.0.0.1") {
		t.Errorf("cookie %s: want Path=/, HttpOnly, Max-Age=3600 and no address in the value", ck)
	}
	for range 9 {
		r := c.get("s.example", "/", withCookie(ck))
		if r.body != first.body {
			t.Fatalf("with the cookie, %q answered, want %q every time", r.body, first.body)
		}
		if cookieOf(r, "route") != nil {
			t.Fatalf("a valid cookie is set again: %v", r.header["Set-Cookie"])
		}
	}

	// The pinned endpoint leaves: another is picked and the cookie reset.
	var rest []*backend
	for _, n := range []string{"a", "b", "c"} {
		if n != first.body {
			rest = append(rest, be[n])
		}
	}
	sticky.Rules[0].Paths[0].Backend = svc("app", rest...) // one Service port, the same endpoints everywhere
	sticky.Rules[1].Paths[0].Backend = svc("app", rest...)
	update(t, prx, sticky, plainName, none)
	moved := c.get("s.example", "/", withCookie(ck))
	ck2 := cookieOf(moved, "route")
	if moved.code != http.StatusOK || moved.body == first.body || ck2 == nil || ck2.Value == ck.Value {
		t.Fatalf("after %s left: %d %q with cookie %v, want another endpoint and a new cookie", first.body, moved.code, moved.body, ck2)
	}
	for range 5 {
		if r := c.get("s.example", "/", withCookie(ck2)); r.body != moved.body {
			t.Fatalf("with the new cookie, %q answered, want %q", r.body, moved.body)
		}
	}
	if r := c.get("s.example", "/", withCookie(&http.Cookie{Name: "route", Value: "bogus"})); cookieOf(r, "route") == nil {
		t.Error("an unknown cookie value is not replaced")
	}

	if r := c.get("api.example", "/api/x"); cookieOf(r, "route") == nil || cookieOf(r, "route").Path != "/api" {
		t.Errorf("cookie of a /api/ rule: %v, want Path=/api", r.header["Set-Cookie"])
	}
	if r := c.get("d.example", "/"); cookieOf(r, DefaultCookieName) == nil {
		t.Errorf("no %s cookie without a cookie name annotation: %v", DefaultCookieName, r.header["Set-Cookie"])
	}
	if r := c.get("n.example", "/"); len(r.header["Set-Cookie"]) != 0 {
		t.Errorf("cookie set without the affinity annotation: %v", r.header["Set-Cookie"])
	}
}

func TestWebSocket(t *testing.T) {
	be := newBackends(t, "ws")
	prx := startProxy(t, Config{})
	update(t, prx, ing("chat", rule("chat.example", prefix("/", svc("chat", be["ws"])))))
	conn, br := wsDial(t, prx.HTTPAddr().String(), "chat.example")
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if line, err := br.ReadString('\n'); err != nil || line != "hello from ws\n" {
		t.Fatalf("server to client: %q, %v", line, err)
	}
	for _, msg := range []string{"ping", "pong"} {
		fmt.Fprintf(conn, "%s\n", msg)
		if line, err := br.ReadString('\n'); err != nil || line != "ws got "+msg+"\n" {
			t.Fatalf("client to server and back: %q, %v", line, err)
		}
	}
}

func TestForwardedHeaders(t *testing.T) {
	be := newBackends(t, "app")
	prx := startProxy(t, Config{})
	c := newClient(t, prx)
	update(t, prx, ing("site", rule("", prefix("/", svc("app", be["app"])))))
	_, port, _ := net.SplitHostPort(prx.HTTPAddr().String())
	r := c.get("Site.Example:8080", "/", func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", "10.1.2.3")
		r.Header.Set("X-Forwarded-Proto", "https") // spoofed: replaced
		r.Header.Set("X-Forwarded-Host", "evil.example")
		r.Header.Set("X-Real-Ip", "1.1.1.1")
		r.Header.Set("Connection", "X-Hop")
		r.Header.Set("X-Hop", "dropped")
	})
	for h, want := range map[string]string{
		"Echo-Host":              "Site.Example:8080",
		"Echo-X-Forwarded-For":   "10.1.2.3, 127.0.0.1",
		"Echo-X-Forwarded-Proto": "http",
		"Echo-X-Forwarded-Host":  "Site.Example:8080",
		"Echo-X-Forwarded-Port":  port,
		"Echo-X-Real-Ip":         "127.0.0.1",
		"Echo-X-Hop":             "",
	} {
		if got := strings.Join(r.header.Values(h), ","); got != want {
			t.Errorf("%s: %q, want %q", strings.TrimPrefix(h, "Echo-"), got, want)
		}
	}
}

func TestSSLRedirect(t *testing.T) {
	be := newBackends(t, "app")
	secure := ing("secure", rule("secure.example", prefix("/", svc("app", be["app"]))))
	secure.Annotations = map[string]string{AnnotationSSLRedirect: "true"}
	forced := ing("forced", rule("forced.example", prefix("/", svc("app", be["app"]))))
	forced.Annotations = map[string]string{AnnotationForceSSLRedirect: "true"}
	prx := startProxy(t, Config{})
	c := newClient(t, prx)
	update(t, prx, secure, forced, ing("plain", rule("plain.example", prefix("/", svc("app", be["app"])))))
	_, port, _ := net.SplitHostPort(prx.HTTPSAddr().String())
	for _, host := range []string{"secure.example", "forced.example"} {
		r := c.get(host+":80", "/a/b?c=d")
		if want := "https://" + host + ":" + port + "/a/b?c=d"; r.code != http.StatusPermanentRedirect || r.header.Get("Location") != want {
			t.Errorf("%s: %d to %q, want 308 to %q", host, r.code, r.header.Get("Location"), want)
		}
	}
	if r := c.get("plain.example", "/"); r.code != http.StatusOK {
		t.Errorf("no redirect by default: %d %q", r.code, r.body)
	}
}

// TestUpdateUnderLoad swaps tables while requests run: each request is
// answered by one table or the other, never fails.
func TestUpdateUnderLoad(t *testing.T) {
	be := newBackends(t, "one", "two", "other")
	prx := startProxy(t, Config{})
	c := newClient(t, prx)
	tables := []*services.Table{
		table(ing("site", rule("x.example", prefix("/", svc("one", be["one"]))))),
		table(ing("site", rule("x.example", prefix("/", svc("two", be["two"])), prefix("/other", svc("other", be["other"]))))),
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var answered sync.Map
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				r := c.get("x.example", "/")
				if r.code != http.StatusOK || (r.body != "one" && r.body != "two") {
					t.Errorf("during updates: %d %q, want one or two", r.code, r.body)
					return
				}
				answered.Store(r.body, true)
			}
		})
	}
	for i := range 400 {
		if err := prx.Update(tables[i%2]); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			runtime.Gosched()
		}
	}
	waitFor(t, 10*time.Second, "both tables to answer", func() bool {
		_, one := answered.Load("one")
		_, two := answered.Load("two")
		if !one || !two {
			prx.Update(tables[len(tables)-1-btoi(two)])
		}
		return one && two
	})
	stop.Store(true)
	wg.Wait()
	prx.Update(tables[1])
	if r := c.get("x.example", "/other"); r.body != "other" {
		t.Errorf("after the last Update: %q, want other", r.body)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestMetrics(t *testing.T) {
	be := newBackends(t, "app")
	prx := startProxy(t, Config{})
	c := newClient(t, prx)
	update(t, prx, ing("site", rule("x.example", prefix("/", svc("app", be["app"])), prefix("/down", svc("down")))))
	for range 3 {
		c.get("x.example", "/")
	}
	c.get("x.example", "/down")
	c.get("y.example", "/")
	for _, tc := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"default", "site", "default/app", "200"}, 3},
		{[]string{"default", "site", "default/down", "503"}, 1},
		{[]string{"", "", "", "404"}, 1},
	} {
		if got := testutil.ToFloat64(prx.metrics.requests.WithLabelValues(tc.labels...)); got != tc.want {
			t.Errorf("requests%v = %v, want %v", tc.labels, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(prx, "shoal_ingress_requests_total"); n != 3 {
		t.Errorf("Collect gives %d request series, want 3", n)
	}
}

func TestStartErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free := refusedAddr(t).String()
	quiet := slog.New(slog.DiscardHandler)

	prx, err := New(Config{HTTPAddr: free, HTTPSAddr: taken.Addr().String(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := prx.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "listen HTTPS") {
		t.Fatalf("Start with the HTTPS port taken: %v, want a listen HTTPS error", err)
	}
	ln, err := net.Listen("tcp", free) // the HTTP listener was let go
	if err != nil {
		t.Fatalf("HTTP port still bound after a failed Start: %v", err)
	}
	ln.Close()
	prx.Close()

	prx, _ = New(Config{HTTPAddr: taken.Addr().String(), Logger: quiet})
	if err := prx.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "listen HTTP") {
		t.Fatalf("Start with the HTTP port taken: %v", err)
	}

	prx = startProxy(t, Config{Logger: quiet})
	if err := prx.Start(context.Background()); err == nil {
		t.Error("a second Start succeeded")
	}
	prx.Close()
	if err := prx.Start(context.Background()); err == nil {
		t.Error("Start after Close succeeded")
	}

	for _, cfg := range []Config{{MaxTries: -1}, {DialTimeout: -time.Second}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// TestStop: Close, or the end of Start's context, stops the listeners, cuts
// upgraded connections and requests that outlive ShutdownTimeout, and
// leaves no goroutine behind.
func TestStop(t *testing.T) {
	for _, how := range []string{"Close", "context"} {
		t.Run(how, func(t *testing.T) {
			be := newBackends(t, "app")
			base := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			prx, err := New(Config{HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", ShutdownTimeout: 50 * time.Millisecond,
				Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
			if err != nil {
				t.Fatal(err)
			}
			if err := prx.Start(ctx); err != nil {
				t.Fatal(err)
			}
			update(t, prx, ing("site", rule("", prefix("/", svc("app", be["app"])))))
			addr := prx.HTTPAddr().String()
			c := newClient(t, prx)
			if r := c.get("x.example", "/"); r.body != "app" {
				t.Fatalf("GET: %d %q", r.code, r.body)
			}
			ws, br := wsDial(t, addr, "x.example")
			br.ReadString('\n')
			slow := make(chan error, 1)
			go func() {
				res, err := c.c.Get("http://" + addr + "/slow")
				if err == nil {
					_, err = io.ReadAll(res.Body)
					res.Body.Close()
				}
				slow <- err
			}()
			waitFor(t, 5*time.Second, "the slow request to be in flight", func() bool {
				return inflight(prx) >= 2 // the WebSocket and the slow request
			})

			if how == "Close" {
				prx.Close()
			} else {
				cancel()
			}
			waitFor(t, 5*time.Second, "the listener to close", func() bool {
				conn, err := net.Dial("tcp", addr)
				if err == nil {
					conn.Close()
				}
				return err != nil
			})
			prx.Close() // returns once all is done, whichever way it stopped
			ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := br.ReadString('\n'); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("the WebSocket is still open after Close: %v", err)
			}
			<-slow
			c.c.CloseIdleConnections()
			waitFor(t, 5*time.Second, "goroutines to end", func() bool { return runtime.NumGoroutine() <= base })
		})
	}
}

// inflight is how many requests the proxy is serving.
func inflight(p *Proxy) int {
	p.reqMu.Lock()
	defer p.reqMu.Unlock()
	return p.active
}
