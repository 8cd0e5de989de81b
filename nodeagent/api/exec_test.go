package api

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// execScripts are the commands of the fake service's containers.
func execScript(ctx context.Context, _, _ string, opts ExecOptions) (int, error) {
	switch opts.Command[0] {
	case "cat": // stdin to stdout
		if opts.Stdin == nil {
			return 1, nil
		}
		_, err := io.Copy(opts.Stdout, opts.Stdin)
		return 0, err
	case "fail": // output on both streams, exit 3
		fmt.Fprint(opts.Stdout, "to stdout")
		fmt.Fprint(opts.Stderr, "to stderr")
		return 3, nil
	case "args":
		fmt.Fprintf(opts.Stdout, "%s|%q|tty=%v|stdin=%v", opts.Container, opts.Command[1:], opts.TTY, opts.Stdin != nil)
		return 0, nil
	case "ignore-stdin":
		return 5, nil
	case "missing":
		return -1, fmt.Errorf("container %q: %w", opts.Container, ErrNotFound)
	case "broken":
		return -1, errors.New("cannot start: no such file")
	}
	return 127, nil
}

func TestExec(t *testing.T) {
	svc := &fakeService{pods: testPods(), exec: execScript}
	_, c := start(t, svc, "")
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB: many frames, backpressure
	tests := []struct {
		name       string
		opts       ExecOptions
		stdin      string // sent when not ""
		wantCode   int
		wantStdout string
		wantStderr string
		wantErr    error
		errText    string
	}{
		{name: "cat echoes stdin", opts: ExecOptions{Command: []string{"cat"}}, stdin: "hello\nworld\n",
			wantStdout: "hello\nworld\n"},
		{name: "cat echoes a lot", opts: ExecOptions{Command: []string{"cat"}}, stdin: big, wantStdout: big},
		{name: "exit code and streams", opts: ExecOptions{Command: []string{"fail"}},
			wantCode: 3, wantStdout: "to stdout", wantStderr: "to stderr"},
		{name: "arguments reach the service", opts: ExecOptions{Container: "main", Command: []string{"args", "-c", "echo 'a b'", ""}},
			wantStdout: `main|["-c" "echo 'a b'" ""]|tty=false|stdin=false`},
		{name: "exit before reading stdin", opts: ExecOptions{Command: []string{"ignore-stdin"}}, stdin: big, wantCode: 5},
		{name: "missing container", opts: ExecOptions{Container: "side", Command: []string{"missing"}},
			wantCode: -1, wantErr: ErrNotFound, errText: `container "side": not found`},
		{name: "command cannot start", opts: ExecOptions{Command: []string{"broken"}},
			wantCode: -1, errText: "cannot start: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			opts := tt.opts
			opts.Stdout, opts.Stderr = &stdout, &stderr
			if tt.stdin != "" {
				opts.Stdin = strings.NewReader(tt.stdin)
			}
			code, err := c.Exec(context.Background(), "default", "web", opts)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d (err %v)", code, tt.wantCode, err)
			}
			switch {
			case tt.errText == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.errText != "" && (err == nil || err.Error() != tt.errText):
				t.Errorf("error %v, want %q", err, tt.errText)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("stdout %d bytes %.40q, want %d bytes %.40q", stdout.Len(), stdout.String(), len(tt.wantStdout), tt.wantStdout)
			}
			if stderr.String() != tt.wantStderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.wantStderr)
			}
		})
	}

	_, err := c.Exec(context.Background(), "default", "nope", ExecOptions{Command: []string{"cat"}})
	var e *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &e) || e.Code != 404 {
		t.Errorf("exec in a missing pod: %v", err)
	}
}

func TestExecTTYResize(t *testing.T) {
	svc := &fakeService{pods: testPods(), exec: func(ctx context.Context, _, _ string, opts ExecOptions) (int, error) {
		if !opts.TTY || opts.Resize == nil {
			return 1, errors.New("no terminal")
		}
		for n := 0; n < 2; n++ {
			select {
			case s := <-opts.Resize:
				fmt.Fprintf(opts.Stdout, "%dx%d\n", s.Width, s.Height)
			case <-ctx.Done():
				return 1, ctx.Err()
			}
		}
		return 0, nil
	}}
	_, c := start(t, svc, "")
	resize := make(chan TermSize, 1)
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		code, err := c.Exec(context.Background(), "default", "web", ExecOptions{Command: []string{"sh"}, TTY: true, Stdout: &out, Resize: resize})
		if err == nil && code != 0 {
			err = fmt.Errorf("exit code %d", code)
		}
		done <- err
	}()
	resize <- TermSize{Width: 80, Height: 24}
	waitFor(t, "the first size", func() bool { return out.String() == "80x24\n" })
	resize <- TermSize{Width: 120, Height: 40}
	if err := receive(t, "exec to end", done); err != nil {
		t.Fatal(err)
	}
	if out.String() != "80x24\n120x40\n" {
		t.Errorf("output %q", out.String())
	}
}

func TestExecClientDisconnect(t *testing.T) {
	started := make(chan struct{})
	killed := make(chan error, 1)
	svc := &fakeService{pods: testPods(), exec: func(ctx context.Context, _, _ string, opts ExecOptions) (int, error) {
		close(started)
		<-ctx.Done()
		killed <- ctx.Err()
		return 137, nil
	}}
	_, c := start(t, svc, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Exec(ctx, "default", "web", ExecOptions{Command: []string{"sleep", "1000"}, Stdin: strings.NewReader("")})
		done <- err
	}()
	receive(t, "the command to start", started)
	cancel()
	if err := receive(t, "client Exec to return", done); !errors.Is(err, context.Canceled) {
		t.Errorf("client Exec = %v, want context.Canceled", err)
	}
	if err := receive(t, "the command's context to be cancelled", killed); err == nil {
		t.Error("command context not cancelled")
	}
}

// TestExecRawProtocol speaks the protocol by hand: the 101 answer, a frame
// on a channel a client must not send.
func TestExecRawProtocol(t *testing.T) {
	killed := make(chan struct{})
	svc := &fakeService{pods: testPods(), exec: func(ctx context.Context, _, _ string, opts ExecOptions) (int, error) {
		<-ctx.Done()
		close(killed)
		return 0, nil
	}}
	srv, _ := start(t, svc, "")
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/namespaces/default/pods/web/exec?command=sh HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: %s\r\nContent-Length: 0\r\n\r\n", ExecProtocol)
	br := bufio.NewReader(conn)
	status, _ := br.ReadString('\n')
	if !strings.HasPrefix(status, "HTTP/1.1 101 ") {
		t.Fatalf("status line %q", status)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}
	// A stdout frame from the client is a protocol error: the server gives
	// up the session and kills the command.
	fw := &frameWriter{w: conn}
	if err := fw.writeFrame(ChannelStdout, []byte("nonsense")); err != nil {
		t.Fatal(err)
	}
	receive(t, "the command to be killed", killed)
}

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	fw := &frameWriter{w: &buf}
	fw.writeFrame(ChannelStdin, []byte("abc"))
	fw.writeJSON(ChannelResize, resizeMessage{Width: 80, Height: 24})
	fw.writeFrame(ChannelStdinClose, nil)
	want := "\x00\x00\x00\x00\x03abc" + "\x03\x00\x00\x00\x18{\"width\":80,\"height\":24}" + "\x05\x00\x00\x00\x00"
	if buf.String() != want {
		t.Fatalf("frames %q, want %q", buf.String(), want)
	}
	for _, w := range []struct {
		ch   byte
		data string
	}{{0, "abc"}, {3, `{"width":80,"height":24}`}, {5, ""}} {
		ch, p, err := readFrame(&buf, nil)
		if err != nil || ch != w.ch || string(p) != w.data {
			t.Errorf("readFrame = %d %q %v, want %d %q", ch, p, err, w.ch, w.data)
		}
	}
	if _, _, err := readFrame(&buf, nil); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
	if _, _, err := readFrame(strings.NewReader("\x01\x00\x00\x00\x05ab"), nil); err != io.ErrUnexpectedEOF {
		t.Errorf("short payload: %v", err)
	}
	if _, _, err := readFrame(strings.NewReader("\x01\xff\x00\x00\x00"), nil); !errors.Is(err, errProtocol) {
		t.Errorf("huge frame: %v", err)
	}
}
