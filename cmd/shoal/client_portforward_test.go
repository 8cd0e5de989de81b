package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/api"
)

// syncBuffer is a buffer that a command's goroutines write while the test
// reads it.
type syncBuffer struct{ lockedWriter }

func newSyncBuffer() *syncBuffer { return &syncBuffer{lockedWriter{w: new(bytes.Buffer)}} }

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.(*bytes.Buffer).String()
}

// backgroundClient is a client command running in-process until stopped,
// as with Ctrl-C.
type backgroundClient struct {
	out, errOut *syncBuffer
	cancel      context.CancelFunc
	code        chan int
}

// startClient runs a client command line in the background; the test
// stops it when it ends.
func startClient(t *testing.T, args ...string) *backgroundClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &backgroundClient{out: newSyncBuffer(), errOut: newSyncBuffer(), cancel: cancel, code: make(chan int, 1)}
	root := clientRoot(b.out, b.errOut, nil, args)
	go func() { b.code <- exitCode(root.ExecuteContext(ctx), b.errOut) }()
	t.Cleanup(func() { b.stop(t) })
	return b
}

// stop interrupts the command and returns its exit code.
func (b *backgroundClient) stop(t *testing.T) int {
	t.Helper()
	b.cancel()
	select {
	case code := <-b.code:
		b.code <- code // for a second stop
		return code
	case <-time.After(5 * time.Second):
		t.Fatalf("the command did not end when interrupted; stdout:\n%s\nstderr:\n%s", b.out.String(), b.errOut.String())
		return -1
	}
}

// wait polls the command's stdout until re matches it, failing the test
// after 5 seconds or when the command ends first; it returns the
// submatches.
func (b *backgroundClient) wait(t *testing.T, re string) []string {
	t.Helper()
	r := regexp.MustCompile(re)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := r.FindStringSubmatch(b.out.String()); m != nil {
			return m
		}
		select {
		case code := <-b.code:
			b.code <- code
			t.Fatalf("the command ended (code %d) before printing %s; stdout:\n%s\nstderr:\n%s", code, re, b.out.String(), b.errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 5s; stdout:\n%s\nstderr:\n%s", re, b.out.String(), b.errOut.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitErr polls the command's stderr until it holds want.
func (b *backgroundClient) waitErr(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.errOut.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr lacks %q after 5s:\n%s", want, b.errOut.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// helloPod is the pods' HTTP server on a loopback port.
func helloPod(t *testing.T) int32 {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from the pod, %s", r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return int32(srv.Listener.Addr().(*net.TCPAddr).Port)
}

// fetch sends req with a client of its own (no connection reuse) and
// returns the answer's status code and body.
func fetch(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// get fetches a URL and returns the body.
func get(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, body := fetch(t, req)
	return body
}

func TestPortForward(t *testing.T) {
	hello := helloPod(t)
	f := startNetworkAPI(t, hello)
	forwarding := func(port int32) string {
		return `Forwarding from 127\.0\.0\.1:(\d+) -> ` + strconv.Itoa(int(port)) + `\n`
	}

	t.Run("a service's ready pod, its port by name", func(t *testing.T) {
		b := startClient(t, "port-forward", "svc/web", ":http", "--address", "127.0.0.1")
		local := b.wait(t, forwarding(hello))[1]
		if body := get(t, "http://127.0.0.1:"+local+"/x"); body != "hello from the pod, /x" {
			t.Errorf("body %q", body)
		}
		b.wait(t, "Handling connection for "+local+"\n")
		if d := f.lastDialed(); d != fmt.Sprintf("default/web-2:%d", hello) {
			t.Errorf("dialed %s: want the ready endpoint web-2", d)
		}
		if code := b.stop(t); code != 0 {
			t.Errorf("exit code %d after Ctrl-C", code)
		}
		if c, err := net.Dial("tcp", "127.0.0.1:"+local); err == nil {
			c.Close()
			t.Error("still listening after Ctrl-C")
		}
		if strings.Contains(b.out.String(), "[::1]") {
			t.Errorf("listened on ::1 too with --address 127.0.0.1:\n%s", b.out.String())
		}
	})

	t.Run("the service port, to its target port", func(t *testing.T) {
		free := freePort(t)
		b := startClient(t, "port-forward", "service/web", strconv.Itoa(free)+":80", "--address", "127.0.0.1")
		b.wait(t, fmt.Sprintf(`Forwarding from 127\.0\.0\.1:%d -> %d\n`, free, hello))
		if body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", free)); body != "hello from the pod, /" {
			t.Errorf("body %q", body)
		}
	})

	t.Run("a failing connection does not stop the others", func(t *testing.T) {
		closed := freePort(t)
		b := startClient(t, "port-forward", "pod/web-1", ":"+strconv.Itoa(closed), ":http", "--address", "127.0.0.1")
		refused := b.wait(t, forwarding(int32(closed)))[1]
		working := b.wait(t, forwarding(hello))[1]
		c, err := net.Dial("tcp", "127.0.0.1:"+refused)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("the refused connection read %d, %v: want it closed", n, err)
		}
		c.Close()
		b.waitErr(t, fmt.Sprintf("Error: forwarding %s -> %d of pod default/web-1: ", refused, closed))
		for i := range 2 {
			if body := get(t, "http://127.0.0.1:"+working+"/"+strconv.Itoa(i)); body != "hello from the pod, /"+strconv.Itoa(i) {
				t.Errorf("body %q", body)
			}
		}
		if d := f.lastDialed(); d != fmt.Sprintf("default/web-1:%d", hello) {
			t.Errorf("dialed %s", d)
		}
	})

	t.Run("localhost", func(t *testing.T) {
		b := startClient(t, "port-forward", "web-2", ":"+strconv.Itoa(int(hello)))
		local := b.wait(t, forwarding(hello))[1]
		// ::1, when this machine has it, on the same port.
		if m := regexp.MustCompile(`Forwarding from \[::1\]:(\d+)`).FindStringSubmatch(b.out.String()); m != nil && m[1] != local {
			t.Errorf("::1 on port %s, 127.0.0.1 on %s", m[1], local)
		}
		if body := get(t, "http://localhost:"+local+"/"); body != "hello from the pod, /" {
			t.Errorf("body %q", body)
		}
	})

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	tests := []clientCase{
		{name: "a pod that does not run", args: []string{"port-forward", "waiting", "80"}, wantCode: 2,
			errHas: []string{"unable to forward port because pod is not running. Current status=Pending"}},
		{name: "a service without ready pods", args: []string{"port-forward", "svc/pending", "80"}, wantCode: 2,
			errHas: []string{"service default/pending has no ready endpoint pod to forward to (shoal get ep pending -n default"}},
		{name: "a service port name it lacks", args: []string{"port-forward", "svc/web", "8080:nope"}, wantCode: 2,
			errHas: []string{"service 'web' does not have a named port 'nope'"}},
		{name: "a service port it lacks", args: []string{"port-forward", "svc/web", "81"}, wantCode: 2,
			errHas: []string{"service web does not have a service port 81"}},
		{name: "a container port name it lacks", args: []string{"port-forward", "web-1", "nope"}, wantCode: 2,
			errHas: []string{"pod 'web-1' does not have a named port 'nope'"}},
		{name: "a missing service", args: []string{"port-forward", "svc/nope", "80"}, wantCode: 2, errHas: []string{`service "nope" not found`}},
		{name: "a missing pod", args: []string{"port-forward", "nope", "80"}, wantCode: 2, errHas: []string{"pod default/nope: not found"}},
		{name: "another kind", args: []string{"port-forward", "deploy/web", "80"}, wantCode: 2,
			errHas: []string{`"deploy/web": forward to a pod (POD or pod/NAME) or a service (svc/NAME)`}},
		{name: "bad port format", args: []string{"port-forward", "web-1", "1:2:3"}, wantCode: 2, errHas: []string{"invalid port format '1:2:3'"}},
		{name: "bad local port", args: []string{"port-forward", "web-1", "x:80"}, wantCode: 2, errHas: []string{"error parsing local port 'x' of 'x:80'"}},
		{name: "remote port 0", args: []string{"port-forward", "web-1", "0"}, wantCode: 2, errHas: []string{"error parsing remote port '0'"}},
		{name: "no port", args: []string{"port-forward", "web-1"}, wantCode: 2, errHas: []string{"port-forward needs at least one port"}},
		{name: "a busy local port", args: []string{"port-forward", "web-1", busyPort + ":80", "--address", "127.0.0.1"}, wantCode: 2,
			errHas: []string{"unable to listen on port " + busyPort + " of 127.0.0.1", "address already in use"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// freePort is a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestProxy(t *testing.T) {
	hello := helloPod(t)
	startNetworkAPI(t, hello)
	b := startClient(t, "proxy", "--port", "0")
	addr := b.wait(t, `Starting to serve on (127\.0\.0\.1:\d+)\n`)[1]

	tests := []struct {
		name, path, host, auth string
		code                   int
		body                   string
	}{
		{name: "the token is added", path: "/api/v1/namespaces/default/services/web", code: http.StatusOK, body: `"clusterIP":"10.96.12.34"`},
		{name: "the caller's token is replaced", path: "/api/v1/pods", auth: "Bearer wrong", code: http.StatusOK, body: `"kind":"PodList"`},
		{name: "errors pass through", path: "/api/v1/namespaces/default/pods/nope", code: http.StatusNotFound, body: "not found"},
		{name: "exec is refused", path: "/api/v1/namespaces/default/pods/web-1/exec", code: http.StatusForbidden, body: "Forbidden"},
		{name: "another host is refused", path: "/api/v1/pods", host: "evil.example", code: http.StatusForbidden, body: "Forbidden"},
		{name: "localhost is accepted", path: "/api/v1/pods", host: "localhost:8001", code: http.StatusOK, body: `"kind":"PodList"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+tt.path, nil)
			if tt.host != "" {
				req.Host = tt.host
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if code, body := fetch(t, req); code != tt.code || !strings.Contains(body, tt.body) {
				t.Errorf("%d %s, want %d with %s", code, body, tt.code, tt.body)
			}
		})
	}

	t.Run("port-forward through the proxy", func(t *testing.T) {
		c, err := api.NewClient(addr, api.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := c.DialPod(context.Background(), "default", "web-2", hello)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "GET /through HTTP/1.0\r\n\r\n")
		out, _ := io.ReadAll(conn)
		if !strings.Contains(string(out), "hello from the pod, /through") {
			t.Errorf("answer %q", out)
		}
	})

	if code := b.stop(t); code != 0 {
		t.Errorf("exit code %d after Ctrl-C", code)
	}

	t.Run("an unreachable node", func(t *testing.T) {
		b := startClient(t, "proxy", "--port", "0", "--server", "127.0.0.1:"+strconv.Itoa(freePort(t)))
		addr := b.wait(t, `Starting to serve on (127\.0\.0\.1:\d+)\n`)[1]
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/pods", nil)
		if code, body := fetch(t, req); code != http.StatusBadGateway || !strings.Contains(body, "cannot reach the node API") {
			t.Errorf("%d %s", code, body)
		}
		b.waitErr(t, "Error: proxying GET /api/v1/pods to http://127.0.0.1:")
	})

	_, errOut, code := runClient(t, nil, "proxy", "--reject-paths", "(")
	if code != 2 || !strings.Contains(errOut, `--reject-paths: "(" is not a regular expression`) {
		t.Errorf("bad --reject-paths: %d %s", code, errOut)
	}
}
