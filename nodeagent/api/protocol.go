package api

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// ExecProtocol names the exec wire protocol in the Upgrade header.
//
// # The exec protocol, version 1
//
// The client sends
//
//	POST /api/v1/namespaces/{ns}/pods/{name}/exec?container=C&command=ARG0&command=ARG1&stdin=true&tty=true
//	Connection: Upgrade
//	Upgrade: shoal-exec/1
//
// (command repeats once per argument; stdin and tty default to false). An
// error (no such pod, a bad query, no token) is an ordinary JSON Error
// answer. Otherwise the server answers "101 Switching Protocols" with the
// same Upgrade header and from then on both sides exchange frames on the
// connection:
//
//	+---------+---------------------------+-----------------+
//	| channel | length (uint32 big-endian)| payload (length)|
//	| 1 byte  | 4 bytes                   | bytes           |
//	+---------+---------------------------+-----------------+
//
// Channels:
//
//	0 stdin        client → server  bytes for the command's stdin (only with stdin=true)
//	1 stdout       server → client  bytes the command wrote to stdout (with tty: the terminal's output)
//	2 stderr       server → client  bytes the command wrote to stderr (never with tty)
//	3 resize       client → server  JSON {"width":W,"height":H}: the terminal's size in characters (tty only)
//	4 exit         server → client  JSON {"exitCode":N}, or {"error":"...","reason":"NotFound"|"BadRequest"|"InternalError"}
//	5 stdin-close  client → server  empty: the command's stdin ends (EOF)
//
// A payload is at most MaxFramePayload bytes; a larger length, or an
// unknown channel, is a protocol error that ends the connection. The exit
// frame is the server's last frame: the server then half-closes the
// connection and waits (briefly) for the client to close it. The client
// closes the connection after the exit frame, or at any time to abandon the
// command: the server then cancels it (killing the command) and sends
// nothing more. The client should send its first resize frame right after
// the 101, before any stdin.
const ExecProtocol = "shoal-exec/1"

// The channels of the exec protocol.
const (
	ChannelStdin      byte = 0
	ChannelStdout     byte = 1
	ChannelStderr     byte = 2
	ChannelResize     byte = 3
	ChannelExit       byte = 4
	ChannelStdinClose byte = 5
)

// MaxFramePayload bounds a frame's payload. Writers split data into frames
// of at most frameChunk bytes.
const MaxFramePayload = 1 << 20

const frameChunk = 32 << 10

// resizeMessage is the payload of a resize frame.
type resizeMessage struct {
	Width  uint16 `json:"width"`
	Height uint16 `json:"height"`
}

// exitMessage is the payload of an exit frame: ExitCode, or Error and
// Reason when the command could not run.
type exitMessage struct {
	ExitCode *int   `json:"exitCode,omitempty"`
	Error    string `json:"error,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// errProtocol is wrapped by errors about malformed frames.
var errProtocol = errors.New("exec protocol error")

// readFrame reads one frame, reusing buf for the payload when it is large
// enough. The payload is valid until the next call with the same buf.
func readFrame(r io.Reader, buf []byte) (channel byte, payload []byte, err error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > MaxFramePayload {
		return 0, nil, fmt.Errorf("%w: frame of %d bytes on channel %d (at most %d)", errProtocol, n, hdr[0], MaxFramePayload)
	}
	if int(n) > cap(buf) {
		buf = make([]byte, n)
	}
	payload = buf[:n]
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return hdr[0], payload, nil
}

// frameWriter writes whole frames to a connection, one at a time, for any
// number of goroutines.
type frameWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

// writeFrame writes one frame; payload must not exceed MaxFramePayload.
func (f *frameWriter) writeFrame(channel byte, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf = append(f.buf[:0], channel, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(f.buf[1:], uint32(len(payload)))
	f.buf = append(f.buf, payload...)
	_, err := f.w.Write(f.buf)
	if cap(f.buf) > 2*frameChunk {
		f.buf = nil // do not keep a large JSON payload's buffer
	}
	return err
}

// writeJSON writes v as the payload of one frame.
func (f *frameWriter) writeJSON(channel byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return f.writeFrame(channel, b)
}

// channelWriter is an io.Writer of frames on one channel. Once closed is
// set, writes fail with io.ErrClosedPipe.
type channelWriter struct {
	fw      *frameWriter
	channel byte
	closed  *atomic.Bool
}

func (c *channelWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if c.closed != nil && c.closed.Load() {
			return n, io.ErrClosedPipe
		}
		chunk := p[:min(len(p), frameChunk)]
		if err := c.fw.writeFrame(c.channel, chunk); err != nil {
			return n, err
		}
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}
