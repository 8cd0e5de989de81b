// Package nettest holds the servers and clients that the node agent's
// network tests run inside network namespaces: every server names itself
// and its client in its answer, so tests assert on bodies.
package nettest

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shoal-run/shoal/nodeagent/internal/netnsexec"
	"github.com/shoal-run/shoal/testenv"
)

// Listen makes a TCP listener on addr (host:port) inside the namespace at
// nsPath and serves each connection with handle, given the client's IP,
// from an ordinary goroutine; the connection is closed when handle
// returns. Stopped at cleanup.
func Listen(t testing.TB, nsPath, addr string, handle func(c net.Conn, client string)) {
	t.Helper()
	var ln net.Listener
	err := netnsexec.Do(nsPath, func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, nsPath, err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				handle(c, host)
			}()
		}
	}()
}

// Serve listens on addr:port in the namespace at nsPath and answers every
// connection with "<name> from <client IP>", then closes it. Stopped at
// cleanup.
func Serve(t testing.TB, nsPath, addr string, port int, name string) {
	t.Helper()
	Listen(t, nsPath, hostPort(addr, port), func(c net.Conn, client string) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, name+" from "+client)
	})
}

// Echo listens on addr:port in the namespace at nsPath, greets every
// connection with "<name> from <client IP>\n" and then sends back each
// line it receives, until the client closes. Stopped at cleanup.
func Echo(t testing.TB, nsPath, addr string, port int, name string) {
	t.Helper()
	Listen(t, nsPath, hostPort(addr, port), func(c net.Conn, client string) {
		if _, err := io.WriteString(c, name+" from "+client+"\n"); err != nil {
			return
		}
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			if _, err := io.WriteString(c, sc.Text()+"\n"); err != nil {
				return
			}
		}
	})
}

// Sink listens on addr:port in the namespace at nsPath and reads every
// connection to its end, answering nothing. Stopped at cleanup.
func Sink(t testing.TB, nsPath, addr string, port int) {
	t.Helper()
	Listen(t, nsPath, hostPort(addr, port), func(c net.Conn, _ string) { io.Copy(io.Discard, c) })
}

func hostPort(addr string, port int) string { return net.JoinHostPort(addr, fmt.Sprint(port)) }

// Dialer makes sockets in one network namespace from a single OS thread
// locked into it for the dialer's life (no thread per connection), so that
// it can dial quickly and often. Closed at cleanup; the thread then ends
// with its goroutine.
type Dialer struct {
	// Timeout bounds each connect (2 s when zero).
	Timeout time.Duration
	reqs    chan dialReq
}

type dialReq struct {
	addr    string
	timeout time.Duration
	reply   chan dialResult
}

type dialResult struct {
	c   net.Conn
	err error
}

// NewDialer starts a dialer in the namespace at nsPath.
func NewDialer(t testing.TB, nsPath string) *Dialer {
	t.Helper()
	d := &Dialer{reqs: make(chan dialReq)}
	ready := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		ready <- err
		if err != nil {
			return
		}
		for req := range d.reqs {
			c, err := net.DialTimeout("tcp4", req.addr, req.timeout)
			req.reply <- dialResult{c, err}
		}
	}()
	if err := <-ready; err != nil {
		t.Fatalf("enter network namespace %s: %v", nsPath, err)
	}
	t.Cleanup(func() { close(d.reqs) })
	return d
}

// Dial connects to addr (host:port) over TCP.
func (d *Dialer) Dial(addr string) (net.Conn, error) {
	timeout := d.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	reply := make(chan dialResult, 1)
	d.reqs <- dialReq{addr, timeout, reply}
	r := <-reply
	return r.c, r.err
}

// Fetch connects to addr and returns what the server sent until it
// closed.
func (d *Dialer) Fetch(addr string) (string, error) {
	c, err := d.Dial(addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// WaitFor polls cond every 20 ms until it returns nil, failing the test
// with cond's last error when timeout passes first.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, timeout, err)
		}
		<-tick.C
	}
}

// Logger returns a logger that writes to the test's log at level.
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// NetNS makes a network namespace (lo up) bind-mounted at dir/netns/name,
// removed at cleanup.
func NetNS(t testing.TB, dir, name string) string {
	t.Helper()
	path, err := testenv.NewNetNS(filepath.Join(dir, "netns"), name)
	if err != nil {
		t.Fatalf("create network namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := testenv.RemoveNetNS(path); err != nil {
			t.Errorf("remove network namespace %s: %v", path, err)
		}
	})
	return path
}
