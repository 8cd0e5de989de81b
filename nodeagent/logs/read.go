package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// DefaultPoll is how often a followed file is checked for new data when
// Options.Poll is zero.
const DefaultPoll = 100 * time.Millisecond

// Options select what Read writes, with the meaning of kubectl logs' flags.
type Options struct {
	// Follow keeps reading what is appended to the file, until ctx is done
	// or Done says the writer has finished.
	Follow bool
	// Timestamps prefixes each line with its time (RFC 3339 with
	// nanoseconds, as kubectl logs --timestamps shows).
	Timestamps bool
	// TailLines writes only the last N full lines of what the file holds
	// when Read starts (0: none of them; negative: all). Lines appended
	// later are all written when following.
	TailLines int64
	// Since drops lines older than this (zero: none dropped). A line's time
	// is its first record's.
	Since time.Time
	// Stream keeps only the lines of one stream (Stdout or Stderr); "" keeps
	// both.
	Stream string
	// Done, when set, reports whether the writer of the file has finished
	// for good (the container has exited): a following Read returns once it
	// is true and everything written has been read. Done is called from
	// Read's goroutine, once per poll; it must not block.
	Done func() bool
	// Poll is how often a followed file is checked for new data (and Done
	// asked); 0 means DefaultPoll.
	Poll time.Duration
}

// Read writes the lines of the CRI log file at path to w as opts say: the
// text of each line (partial records joined) and a newline, after the
// line's timestamp with Timestamps. A file line that is not a CRI record is
// written as it is, never dropped (and never filtered or stamped).
//
// Without Follow, Read writes what the file holds and returns; a missing
// file is an error wrapping fs.ErrNotExist. With Follow it blocks: it waits
// for a missing file to appear, writes what is there, then polls for more.
// It notices truncation (the file shrank: read again from its start) and
// rotation (the path names a new file: finish the old one, then read the
// new one from its start). A following Read returns nil when Done reports
// the writer finished and the file has been read to its end, and ctx.Err()
// when ctx is done first.
//
// Read buffers its output and flushes it each time it has caught up with
// the file, so a follower sees new lines one poll after they are written.
// It returns the first error writing to w.
func Read(ctx context.Context, path string, opts Options, w io.Writer) error {
	switch opts.Stream {
	case "", Stdout, Stderr:
	default:
		return fmt.Errorf("log stream %q: use %s or %s", opts.Stream, Stdout, Stderr)
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	r := &reader{ctx: ctx, path: path, opts: opts, out: bufio.NewWriterSize(w, 32<<10)}
	r.p = newPrinter(opts, r.out)
	return r.run()
}

// reader is the state of one Read.
type reader struct {
	ctx    context.Context
	path   string
	opts   Options
	out    *bufio.Writer
	p      *printer
	f      *file
	ticker *time.Ticker
}

func (r *reader) run() error {
	defer func() {
		if r.ticker != nil {
			r.ticker.Stop()
		}
		if r.f != nil {
			r.f.Close()
		}
	}()
	if err := r.open(); err != nil || r.f == nil {
		return err
	}
	for {
		// Ask before reading: a writer that finished before this drain has
		// written everything this drain will see.
		done := r.opts.Done != nil && r.opts.Done()
		if err := r.drain(); err != nil {
			return err
		}
		if !r.opts.Follow || done {
			return r.finish()
		}
		if err := r.p.endTail(); err != nil {
			return err
		}
		if err := r.out.Flush(); err != nil {
			return err
		}
		switched, err := r.followChanges()
		if err != nil {
			return err
		}
		if switched {
			continue
		}
		if err := r.wait(); err != nil {
			return err
		}
	}
}

// open opens the file, waiting for it to appear when following. It leaves
// r.f nil (and returns nil) when Done says there is nothing to wait for.
func (r *reader) open() error {
	for {
		f, err := openFile(r.path)
		if err == nil {
			r.f = f
			return nil
		}
		if !r.opts.Follow || !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("container log: %w", err)
		}
		if r.opts.Done != nil && r.opts.Done() {
			// Done may have turned true just after the file appeared.
			if f, err := openFile(r.path); err == nil {
				r.f = f
				return nil
			}
			return nil
		}
		if err := r.wait(); err != nil {
			return err
		}
	}
}

// drain handles every complete line written so far.
func (r *reader) drain() error {
	for n := 0; ; n++ {
		if n%1024 == 1023 {
			if err := r.ctx.Err(); err != nil {
				return err
			}
		}
		line, err := r.f.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("container log: %w", err)
		}
		if err := r.p.line(line); err != nil {
			return err
		}
	}
}

// finish ends the read: the file will not grow any more.
func (r *reader) finish() error {
	if rest := r.f.rest(); len(rest) > 0 {
		if err := r.p.line(rest); err != nil {
			return err
		}
	}
	if err := r.p.finish(); err != nil {
		return err
	}
	return r.out.Flush()
}

// followChanges handles truncation and rotation; switched reports that
// there may be data to read at once.
func (r *reader) followChanges() (switched bool, err error) {
	ch, err := r.f.check(r.path)
	if err != nil {
		return false, fmt.Errorf("container log: %w", err)
	}
	switch ch {
	case truncated:
		return true, r.f.rewind()
	case replaced:
		// The old file may have grown between the last drain and the
		// rotation; take that too before moving on.
		if err := r.drain(); err != nil {
			return false, err
		}
		if rest := r.f.rest(); len(rest) > 0 {
			if err := r.p.line(rest); err != nil {
				return false, err
			}
		}
		nf, err := openFile(r.path)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // gone again; look at the next poll
		}
		if err != nil {
			return false, fmt.Errorf("container log: %w", err)
		}
		r.f.Close()
		r.f = nf
		return true, nil
	}
	return false, nil
}

// wait blocks for one poll interval or until ctx is done.
func (r *reader) wait() error {
	if r.ticker == nil {
		r.ticker = time.NewTicker(r.opts.Poll)
	}
	select {
	case <-r.ctx.Done():
		return r.ctx.Err()
	case <-r.ticker.C:
		return nil
	}
}
