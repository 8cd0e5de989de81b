package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// forwarder is a node that forwards ports of fakeService's pods: the
// pods' ports are ports of 127.0.0.1, dialed as a node dials a pod's IP.
type forwarder struct{ *fakeService }

func (f forwarder) DialPod(ctx context.Context, ns, name string, port int32) (io.ReadWriteCloser, error) {
	if _, err := f.GetPod(ctx, ns, name); err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
}

// relay is a node that forwards through another node's API, as a node
// that is not the pod's asks the pod's node.
type relay struct {
	*fakeService
	next *Client
}

func (r relay) DialPod(ctx context.Context, ns, name string, port int32) (io.ReadWriteCloser, error) {
	return r.next.DialPod(ctx, ns, name, port)
}

// listen serves each connection of a new loopback port with serve and
// returns the port.
func listen(t *testing.T, serve func(*net.TCPConn)) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c.(*net.TCPConn))
			}()
		}
	}()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// echo sends back what it reads, then half-closes when its input ends.
func echo(c *net.TCPConn) {
	io.Copy(c, c)
	c.CloseWrite()
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int32 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return int32(port)
}

// exchange sends in on conn, half-closes it and returns all it reads.
func exchange(conn io.ReadWriteCloser, in string) (string, error) {
	defer conn.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := io.WriteString(conn, in)
		if err == nil {
			err = conn.(interface{ CloseWrite() error }).CloseWrite()
		}
		errc <- err
	}()
	out, err := io.ReadAll(conn)
	if werr := <-errc; err == nil {
		err = werr
	}
	return string(out), err
}

func TestPortForward(t *testing.T) {
	echoPort := listen(t, echo)
	bannerPort := listen(t, func(c *net.TCPConn) { io.WriteString(c, "SSH-2.0-test\r\n") })
	svc := &fakeService{pods: testPods()}
	_, direct := start(t, forwarder{svc}, "t0ken")
	// The relay's DialPod ends its context as soon as it has connected:
	// the connection must outlive it.
	_, relayed := start(t, relay{svc, direct}, "")
	big := strings.Repeat("0123456789abcdef", 1<<16)
	tests := []struct {
		name    string
		c       *Client
		pod     string
		port    int32
		send    string
		want    string
		wantErr error
		errText string
	}{
		{name: "echo", c: direct, pod: "web", port: echoPort, send: "hello\n", want: "hello\n"},
		{name: "echo a lot", c: direct, pod: "web", port: echoPort, send: big, want: big},
		{name: "the pod speaks first", c: direct, pod: "web", port: bannerPort, want: "SSH-2.0-test\r\n"},
		{name: "through another node", c: relayed, pod: "web", port: echoPort, send: big, want: big},
		{name: "missing pod", c: direct, pod: "nope", port: echoPort, wantErr: ErrNotFound, errText: "pod default/nope: not found"},
		{name: "missing pod through another node", c: relayed, pod: "nope", port: echoPort, wantErr: ErrNotFound},
		{name: "nothing listening", c: direct, pod: "web", port: closedPort(t), errText: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tt.c.DialPod(context.Background(), "default", tt.pod, tt.port)
			if tt.errText != "" || tt.wantErr != nil {
				if err == nil {
					conn.Close()
					t.Fatal("no error")
				}
				if (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("error %v, want %v with %q", err, tt.wantErr, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := exchange(conn, tt.send)
			if err != nil || got != tt.want {
				t.Errorf("got %d bytes (%.40q), err %v; want %d bytes (%.40q)", len(got), got, err, len(tt.want), tt.want)
			}
		})
	}
}

// TestPortForwardEarlyBytes: bytes the client sends along with the
// request, before the answer, reach the pod. (The request's errors are in
// TestServerHTTP.)
func TestPortForwardEarlyBytes(t *testing.T) {
	echoPort := listen(t, echo)
	srv, _ := start(t, forwarder{&fakeService{pods: testPods()}}, "")
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := "POST /api/v1/namespaces/default/pods/web/portforward?port=" + strconv.Itoa(int(echoPort)) + " HTTP/1.1\r\n" +
		"Host: node\r\nConnection: Upgrade\r\nUpgrade: " + PortForwardProtocol + "\r\n\r\nearly bytes"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Upgrade") != PortForwardProtocol {
		t.Fatalf("answer %v %v", resp, err)
	}
	conn.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(br)
	if err != nil || !bytes.Equal(got, []byte("early bytes")) {
		t.Errorf("echoed %q, %v", got, err)
	}
}

// TestSplice: each direction half-closes the other side when its data
// ends; an error ends both.
func TestSplice(t *testing.T) {
	echoPort := listen(t, echo)
	pod, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(echoPort))))
	if err != nil {
		t.Fatal(err)
	}
	client, local := net.Pipe()
	done := make(chan [2]int64, 1)
	go func() {
		a, b, _ := Splice(local, pod.(*net.TCPConn))
		done <- [2]int64{a, b}
	}()
	// net.Pipe cannot half-close: its end of data ends both directions.
	io.WriteString(client, "ping")
	buf := make([]byte, 4)
	if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q %v", buf, err)
	}
	client.Close()
	n := receive(t, "the splice's end", done)
	if n != [2]int64{4, 4} {
		t.Errorf("bytes each way %v", n)
	}
	if _, err := pod.Write([]byte("x")); err == nil {
		t.Error("the pod's connection is still open after the splice")
	}
}
