package logs

import (
	"bufio"
	"time"
)

// printer turns the lines of a log file into the lines a program wrote:
// it joins partial records, filters by stream and time, formats, and keeps
// only the last lines while a tail is asked for.
type printer struct {
	stream     string // "" for both
	since      time.Time
	timestamps bool
	out        *bufio.Writer
	// pending holds each stream's unfinished line (index streamIndex).
	pending [2]pendingLine
	// tail holds the last formatted lines while the existing content is
	// read with a tail asked for; nil once it has been written out (or when
	// every line is wanted).
	tail *ring
}

// pendingLine is the joined text of a stream's partial records so far.
type pendingLine struct {
	open bool
	time time.Time // the first record's
	text []byte
}

func newPrinter(opts Options, out *bufio.Writer) *printer {
	p := &printer{stream: opts.Stream, since: opts.Since, timestamps: opts.Timestamps, out: out}
	if opts.TailLines >= 0 {
		p.tail = &ring{max: int(opts.TailLines)}
	}
	return p
}

func streamIndex(s string) int {
	if s == Stderr {
		return 1
	}
	return 0
}

// line handles one line of the file, without its newline. A line that is
// not a CRI record is passed through as a full line of text, whatever the
// stream and time filters say (there is nothing to filter it by).
func (p *printer) line(raw []byte) error {
	r, ok := ParseRecord(raw)
	if !ok {
		return p.emit(time.Time{}, raw)
	}
	if p.stream != "" && r.Stream != p.stream {
		return nil
	}
	pl := &p.pending[streamIndex(r.Stream)]
	if !pl.open && !r.Partial {
		return p.emit(r.Time, r.Text)
	}
	if !pl.open {
		pl.open, pl.time, pl.text = true, r.Time, pl.text[:0]
	}
	pl.text = append(pl.text, r.Text...)
	if r.Partial {
		return nil
	}
	pl.open = false
	return p.emit(pl.time, pl.text)
}

// emit writes one full line stamped t (zero: not a record), unless the
// since filter drops it.
func (p *printer) emit(t time.Time, text []byte) error {
	if !t.IsZero() && !p.since.IsZero() && t.Before(p.since) {
		return nil
	}
	if p.tail != nil {
		p.tail.add(p.format(p.tail.next(), t, text))
		return nil
	}
	_, err := p.out.Write(p.format(nil, t, text))
	return err
}

func (p *printer) format(dst []byte, t time.Time, text []byte) []byte {
	dst = dst[:0]
	if p.timestamps && !t.IsZero() {
		dst = t.AppendFormat(dst, time.RFC3339Nano)
		dst = append(dst, ' ')
	}
	dst = append(dst, text...)
	return append(dst, '\n')
}

// endTail writes out the lines kept for the tail; from now on lines are
// written as they come.
func (p *printer) endTail() error {
	if p.tail == nil {
		return nil
	}
	t := p.tail
	p.tail = nil
	for _, l := range t.lines() {
		if _, err := p.out.Write(l); err != nil {
			return err
		}
	}
	return nil
}

// finish ends the lines that are still waiting for a final record (the
// file ended without one) and writes out the tail.
func (p *printer) finish() error {
	for i := range p.pending {
		if pl := &p.pending[i]; pl.open {
			pl.open = false
			if err := p.emit(pl.time, pl.text); err != nil {
				return err
			}
		}
	}
	return p.endTail()
}

// ring keeps the last max lines, reusing their buffers.
type ring struct {
	max   int
	buf   [][]byte
	start int // index of the oldest line once buf is full
}

// next returns a buffer to format the next line into (the oldest line's,
// when full).
func (r *ring) next() []byte {
	if r.max == 0 || len(r.buf) < r.max {
		return nil
	}
	return r.buf[r.start]
}

func (r *ring) add(l []byte) {
	switch {
	case r.max == 0:
	case len(r.buf) < r.max:
		r.buf = append(r.buf, l)
	default:
		r.buf[r.start] = l
		r.start = (r.start + 1) % r.max
	}
}

func (r *ring) lines() [][]byte {
	return append(r.buf[r.start:len(r.buf):len(r.buf)], r.buf[:r.start]...)
}
