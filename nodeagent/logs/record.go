// Package logs reads and writes container log files in the CRI log format,
// the format kubelet reads: one record per line,
//
//	2026-11-27T10:00:00.123456789Z stdout F text
//
// that is a timestamp (RFC 3339 with nanoseconds), the stream (stdout or
// stderr), a tag (F: the record ends a line; P: a partial line, continued by
// the stream's next record; further tags may follow after ':'), and the text
// without its newline. Read turns a file back into the lines a program
// wrote, kubectl-logs style; NewWriter produces the records.
package logs

import (
	"bytes"
	"time"
)

// The streams a record can belong to.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// MaxRecordText is the most text one record carries: Writer splits longer
// lines into partial records of this size.
const MaxRecordText = 16 << 10

// timeLayout is the fixed-width timestamp Writer writes (RFC 3339 with
// nanoseconds, always nine digits, so that records sort as text).
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// Record is one line of a CRI log file.
type Record struct {
	Time   time.Time
	Stream string // Stdout or Stderr
	// Partial is true for a P record: the line continues in the stream's
	// next record.
	Partial bool
	// Text is the record's text without the newline. ParseRecord returns a
	// slice of its input.
	Text []byte
}

// ParseRecord parses one line of a log file (without its newline). ok is
// false when the line is not a CRI record: a bad timestamp, a stream other
// than stdout or stderr, or a tag other than F or P.
func ParseRecord(line []byte) (r Record, ok bool) {
	ts, rest, found := bytes.Cut(line, []byte{' '})
	if !found {
		return Record{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return Record{}, false
	}
	stream, rest, found := bytes.Cut(rest, []byte{' '})
	if !found {
		return Record{}, false
	}
	switch string(stream) {
	case Stdout, Stderr:
	default:
		return Record{}, false
	}
	// The text may be missing altogether ("... stdout F") for an empty line.
	tag, text, _ := bytes.Cut(rest, []byte{' '})
	tag, _, _ = bytes.Cut(tag, []byte{':'})
	switch string(tag) {
	case "F":
	case "P":
		r.Partial = true
	default:
		return Record{}, false
	}
	r.Time, r.Stream, r.Text = t, string(stream), text
	return r, true
}

// AppendRecord appends r to dst as one line of a log file, newline included.
// r.Text must not contain a newline.
func AppendRecord(dst []byte, r Record) []byte {
	dst = r.Time.UTC().AppendFormat(dst, timeLayout)
	dst = append(dst, ' ')
	dst = append(dst, r.Stream...)
	if r.Partial {
		dst = append(dst, " P "...)
	} else {
		dst = append(dst, " F "...)
	}
	dst = append(dst, r.Text...)
	return append(dst, '\n')
}
