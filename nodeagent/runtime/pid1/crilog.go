package pid1

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"time"
)

// MaxLogLine is the longest content of one CRI log record; a longer line is
// split into partial (P) records of this size followed by a full (F) one.
const MaxLogLine = 16 * 1024

// TimeFormat is the timestamp layout of CRI log records: RFC 3339 in UTC
// with nanoseconds, fixed width so that records sort as text.
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// LogWriter appends CRI log records to one writer. Records from several
// streams are written whole, one Write call each, never interleaved.
type LogWriter struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
	buf []byte
}

// NewLogWriter returns a LogWriter on w (typically a file opened O_APPEND).
// now is the clock; nil means time.Now.
func NewLogWriter(w io.Writer, now func() time.Time) *LogWriter {
	if now == nil {
		now = time.Now
	}
	return &LogWriter{w: w, now: now}
}

// Record writes one record: "<time> <stream> <P|F> <content>\n". content
// must not contain a newline.
func (l *LogWriter) Record(stream string, partial bool, content []byte) error {
	tag := byte('F')
	if partial {
		tag = 'P'
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf[:0]
	b = l.now().UTC().AppendFormat(b, TimeFormat)
	b = append(b, ' ')
	b = append(b, stream...)
	b = append(b, ' ', tag, ' ')
	b = append(b, content...)
	b = append(b, '\n')
	_, err := l.w.Write(b)
	if cap(b) <= 64*1024 {
		l.buf = b
	}
	return err
}

// Copy reads r line by line and writes each line as records of stream
// until r ends. A line without its newline at the end of r is written as a
// full record. It returns nil at io.EOF, else the read or write error (a
// deadline error when the caller stopped the draining).
func (l *LogWriter) Copy(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if werr := l.Record(stream, false, line[:len(line)-1]); werr != nil {
				return werr
			}
		case errors.Is(err, bufio.ErrBufferFull):
			if werr := l.Record(stream, true, line); werr != nil {
				return werr
			}
		default:
			if len(line) > 0 {
				if werr := l.Record(stream, false, line); werr != nil {
					return werr
				}
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
