package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Exec runs a command in a container of a pod over the exec protocol (see
// ExecProtocol) and returns its exit code; -1 with any error.
//
// opts.Stdin, when not nil, is read by a goroutine of its own and sent to
// the command, then closed for it at EOF (or a read error). Exec does not
// wait for that goroutine: a read that blocks (a terminal) keeps it until
// the read returns, and what it then read is dropped. opts.Stdout and
// opts.Stderr (nil: discarded) are written on Exec's goroutine. With TTY,
// the sizes sent on opts.Resize reach the command's terminal; send the
// first one right away.
//
// Cancelling ctx closes the connection, which kills the command; Exec then
// returns ctx.Err(). An error the server reports (no such container, the
// command could not start) is an *Error; one about a missing pod or
// container wraps ErrNotFound.
func (c *Client) Exec(ctx context.Context, namespace, name string, opts ExecOptions) (int, error) {
	if len(opts.Command) == 0 {
		return -1, errors.New("exec: no command")
	}
	q := url.Values{}
	if opts.Container != "" {
		q.Set("container", opts.Container)
	}
	q["command"] = opts.Command
	setBool(q, "stdin", opts.Stdin != nil)
	setBool(q, "tty", opts.TTY)
	conn, err := c.upgrade(ctx, podPath(namespace, name)+"/exec", q, "exec", ExecProtocol)
	if err != nil {
		return -1, err
	}
	return execSession(ctx, conn, opts)
}

// upgrade sends a POST to path with query q that switches the connection
// to protocol, and returns the connection once the server switched; what
// (exec, portforward) names the request in errors. An error the server
// answers is an *Error.
func (c *Client) upgrade(ctx context.Context, path string, q url.Values, what, protocol string) (io.ReadWriteCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+c.podURL(path, q), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", protocol)
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if resp.StatusCode != http.StatusSwitchingProtocols || !ok {
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %s answered %s instead of switching to %s", what, c.base, resp.Status, protocol)
	}
	return conn, nil
}

// execSession speaks the client side of the exec protocol on conn, which
// it closes.
func execSession(ctx context.Context, conn io.ReadWriteCloser, opts ExecOptions) (int, error) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	done := make(chan struct{})
	defer close(done)

	fw := &frameWriter{w: conn}
	if opts.TTY && opts.Resize != nil {
		go func() {
			for {
				select {
				case s, ok := <-opts.Resize:
					if !ok {
						return
					}
					if fw.writeJSON(ChannelResize, resizeMessage{Width: s.Width, Height: s.Height}) != nil {
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	if opts.Stdin != nil {
		go sendStdin(fw, opts.Stdin)
	}

	stdout, stderr := opts.Stdout, opts.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	buf := make([]byte, frameChunk)
	for {
		ch, p, err := readFrame(conn, buf)
		if err != nil {
			if ctx.Err() != nil {
				return -1, ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return -1, errors.New("exec: the connection closed before the command's exit status came")
			}
			return -1, fmt.Errorf("exec: %w", err)
		}
		switch ch {
		case ChannelStdout:
			_, err = stdout.Write(p)
		case ChannelStderr:
			_, err = stderr.Write(p)
		case ChannelExit:
			var m exitMessage
			if err := json.Unmarshal(p, &m); err != nil {
				return -1, fmt.Errorf("exec: %w: exit frame %q: %v", errProtocol, p, err)
			}
			if m.Error != "" || m.ExitCode == nil {
				if m.Error == "" {
					m.Error = "exec: the exit frame has neither exitCode nor error"
				}
				if m.Reason == "" {
					m.Reason = ReasonInternalError
				}
				return -1, &Error{Message: m.Error, Reason: m.Reason, Code: codeFor(m.Reason)}
			}
			return *m.ExitCode, nil
		default:
			return -1, fmt.Errorf("exec: %w: channel %d is not one a server sends", errProtocol, ch)
		}
		if err != nil {
			return -1, fmt.Errorf("exec: writing the command's output: %w", err)
		}
	}
}

// sendStdin sends r as stdin frames, then a stdin-close frame.
func sendStdin(fw *frameWriter, r io.Reader) {
	buf := make([]byte, frameChunk)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if fw.writeFrame(ChannelStdin, buf[:n]) != nil {
				return
			}
		}
		if err != nil {
			fw.writeFrame(ChannelStdinClose, nil)
			return
		}
	}
}
