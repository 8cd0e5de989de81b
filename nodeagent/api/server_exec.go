package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// execLinger is how long the server waits, after the exit frame, for the
// client to close the connection before closing it itself.
const execLinger = 5 * time.Second

// exec serves the exec protocol (see ExecProtocol). svc.Exec runs on the
// request's goroutine; a second goroutine reads the client's frames into
// the command's stdin (an io.Pipe: a frame is taken off the connection once
// the command has read the previous one) and resize channel, and cancels
// the command's context when the client goes away. A client that leaves
// while the command is not reading its stdin is therefore noticed when the
// command next reads, writes or ends.
func (s *server) exec(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	opts := ExecOptions{
		Container: r.URL.Query().Get("container"),
		Command:   r.URL.Query()["command"],
		TTY:       q.bool("tty"),
	}
	stdin := q.bool("stdin")
	switch {
	case q.err != nil:
		s.writeError(w, r, q.err)
		return
	case len(opts.Command) == 0:
		s.writeError(w, r, badRequest("exec needs a command: command=ARG in the query, once per argument"))
		return
	}
	if e := upgradeError(r, "exec", ExecProtocol); e != nil {
		s.writeError(w, r, e)
		return
	}
	ns, name := r.PathValue("ns"), r.PathValue("name")
	// A missing pod is an ordinary 404, before the upgrade.
	if _, err := s.svc.GetPod(r.Context(), ns, name); err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	conn, br, ok := s.switchProtocols(w, r, "exec", ExecProtocol)
	if !ok {
		return
	}
	defer conn.Close()
	s.runExec(r.Context(), conn, br, ns, name, opts, stdin)
}

// upgradeError is the error answer to a request for what (exec,
// portforward) that lacks the headers switching to protocol; nil when it
// has them.
func upgradeError(r *http.Request, what, protocol string) *Error {
	if !headerHas(r.Header, "Connection", "upgrade") || !strings.EqualFold(r.Header.Get("Upgrade"), protocol) {
		return badRequest(what + " needs the headers Connection: Upgrade and Upgrade: " + protocol)
	}
	return nil
}

// switchProtocols takes over the request's connection and answers "101
// Switching Protocols" to protocol. It returns the connection, which the
// caller closes, and its reader (which may hold bytes the client sent
// already); false when that failed (then it has answered an error, or the
// connection is gone).
func (s *server) switchProtocols(w http.ResponseWriter, r *http.Request, what, protocol string) (net.Conn, *bufio.Reader, bool) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		s.writeError(w, r, &Error{Message: what + ": cannot take over the connection: " + err.Error(), Reason: ReasonInternalError, Code: http.StatusInternalServerError})
		return nil, nil, false
	}
	conn.SetDeadline(time.Time{}) // the server's timeouts are for requests, not sessions
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + protocol + "\r\n\r\n")
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, nil, false
	}
	return conn, brw.Reader, true
}

// runExec runs the command over an upgraded connection, which the caller
// closes afterwards.
func (s *server) runExec(parent context.Context, conn net.Conn, br *bufio.Reader, ns, name string, opts ExecOptions, stdin bool) {
	log := s.log.With("namespace", ns, "pod", name, "container", opts.Container)
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	fw := &frameWriter{w: conn}
	var finished atomic.Bool // no more output once Exec has returned
	opts.Stdout = &channelWriter{fw: fw, channel: ChannelStdout, closed: &finished}
	opts.Stderr = &channelWriter{fw: fw, channel: ChannelStderr, closed: &finished}
	var stdinR *io.PipeReader
	var stdinW *io.PipeWriter
	if stdin {
		stdinR, stdinW = io.Pipe()
		opts.Stdin = stdinR
	}
	var resize chan TermSize
	if opts.TTY {
		resize = make(chan TermSize, 1)
		opts.Resize = resize
	}

	clientGone := make(chan struct{})
	go func() {
		defer close(clientGone)
		err := readClientFrames(br, stdinW, resize)
		if stdinW != nil {
			stdinW.CloseWithError(io.ErrUnexpectedEOF) // keeps an earlier clean close
		}
		cancel()
		log.Debug("exec connection read ended", "err", err)
	}()

	log.Debug("exec start", "command", opts.Command, "tty", opts.TTY, "stdin", stdin)
	code, err := s.svc.Exec(ctx, ns, name, opts)
	finished.Store(true)
	if stdinR != nil {
		stdinR.CloseWithError(io.ErrClosedPipe) // frees a reader blocked on stdin
	}
	select {
	case <-clientGone:
		log.Debug("exec abandoned by the client", "exitCode", code, "err", err)
		return
	default:
	}
	var msg exitMessage
	if err != nil {
		e := errorFor(err)
		msg.Error, msg.Reason = e.Message, e.Reason
		log.Debug("exec failed", "err", err)
	} else {
		msg.ExitCode = &code
		log.Debug("exec end", "exitCode", code)
	}
	if err := fw.writeJSON(ChannelExit, msg); err != nil {
		return
	}
	// Half-close, so that the client reads everything, then wait for it to
	// close its side (closing with unread data would reset the connection).
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(execLinger))
	<-clientGone
}

// readClientFrames feeds the client's frames to the command until the
// connection ends or breaks the protocol. Stdin the command no longer reads
// is dropped; of the resizes, the command sees the latest it has not taken.
func readClientFrames(r io.Reader, stdin *io.PipeWriter, resize chan TermSize) error {
	buf := make([]byte, frameChunk)
	for {
		ch, p, err := readFrame(r, buf)
		if err != nil {
			return err
		}
		switch ch {
		case ChannelStdin:
			if stdin != nil {
				stdin.Write(p)
			}
		case ChannelStdinClose:
			if stdin != nil {
				stdin.Close()
			}
		case ChannelResize:
			var m resizeMessage
			if err := json.Unmarshal(p, &m); err != nil {
				return fmt.Errorf("%w: resize frame %q: %v", errProtocol, p, err)
			}
			if resize != nil {
				sendLatest(resize, TermSize{Width: m.Width, Height: m.Height})
			}
		default:
			return fmt.Errorf("%w: channel %d is not one a client sends", errProtocol, ch)
		}
	}
}

// sendLatest puts s on ch (capacity 1, one sender), replacing a size the
// receiver has not taken yet. It never blocks.
func sendLatest(ch chan TermSize, s TermSize) {
	for {
		select {
		case ch <- s:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

// headerHas reports whether a comma-separated header lists token
// (case-insensitively).
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
