package logs

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// NewWriter returns a writer that turns what a program writes to one stream
// (Stdout or Stderr) into CRI records on w, timestamped with now (time.Now
// when nil). Every complete line becomes an F record; a line longer than
// MaxRecordText is split into P records of MaxRecordText bytes and a final F
// record. Text without a newline waits for the rest of its line (or Close),
// except that every full MaxRecordText of it is written at once as a P
// record.
//
// Each Write makes at most one Write to w, holding all the records it
// completed, so that two writers (stdout and stderr) sharing one O_APPEND
// file never interleave inside a record. The writer is safe for concurrent
// use. Close writes an unfinished line as a final record and makes later
// Writes fail; it does not close w.
func NewWriter(w io.Writer, stream string, now func() time.Time) io.WriteCloser {
	if now == nil {
		now = time.Now
	}
	return &writer{w: w, stream: stream, now: now}
}

// writer is the io.WriteCloser NewWriter returns.
type writer struct {
	mu      sync.Mutex
	w       io.Writer
	stream  string
	now     func() time.Time
	pending []byte // the start of an unfinished line
	buf     []byte // records being assembled, reused
	closed  bool
}

// Write records p. It returns len(p) unless the underlying writer failed.
func (lw *writer) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.closed {
		return 0, fmt.Errorf("log writer for %s: %w", lw.stream, io.ErrClosedPipe)
	}
	n := len(p)
	t := lw.now()
	lw.buf = lw.buf[:0]
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			lw.pending = append(lw.pending, p...)
			break
		}
		lw.pending = append(lw.pending, p[:i]...)
		p = p[i+1:]
		lw.appendLine(t)
	}
	// An unfinished line that is already longer than a record goes out as
	// partial records now rather than growing without bound.
	for len(lw.pending) > MaxRecordText {
		lw.buf = AppendRecord(lw.buf, Record{Time: t, Stream: lw.stream, Partial: true, Text: lw.pending[:MaxRecordText]})
		lw.pending = append(lw.pending[:0], lw.pending[MaxRecordText:]...)
	}
	if len(lw.buf) > 0 {
		if _, err := lw.w.Write(lw.buf); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// appendLine appends the pending text as a complete line: partial records
// while it is longer than a record, then a final one.
func (lw *writer) appendLine(t time.Time) {
	text := lw.pending
	for len(text) > MaxRecordText {
		lw.buf = AppendRecord(lw.buf, Record{Time: t, Stream: lw.stream, Partial: true, Text: text[:MaxRecordText]})
		text = text[MaxRecordText:]
	}
	lw.buf = AppendRecord(lw.buf, Record{Time: t, Stream: lw.stream, Text: text})
	lw.pending = lw.pending[:0]
}

// Close writes an unfinished line as a final record. Later Writes fail.
// Close does not close the underlying writer; a second Close does nothing.
func (lw *writer) Close() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.closed {
		return nil
	}
	lw.closed = true
	if len(lw.pending) == 0 {
		return nil
	}
	lw.buf = lw.buf[:0]
	lw.appendLine(lw.now())
	_, err := lw.w.Write(lw.buf)
	return err
}
