package logs

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
)

// maxLine bounds how much of a line without a newline is buffered: a longer
// one (only a file that is not a CRI log has them) is cut into lines of this
// size.
const maxLine = 1 << 20

// file reads complete lines from a log file that may still be growing.
type file struct {
	f    *os.File
	br   *bufio.Reader
	frag []byte // an incomplete last line, waiting for its newline
	off  int64  // bytes consumed from f, frag included
}

func openFile(path string) (*file, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &file{f: f, br: bufio.NewReaderSize(f, 64<<10)}, nil
}

func (lf *file) Close() error { return lf.f.Close() }

// next returns the next complete line without its newline, valid until the
// next call. At the end of the data written so far it returns io.EOF and
// keeps an incomplete last line for later.
func (lf *file) next() ([]byte, error) {
	for {
		chunk, err := lf.br.ReadSlice('\n')
		lf.off += int64(len(chunk))
		switch {
		case err == nil && len(lf.frag) == 0:
			return chunk[:len(chunk)-1], nil
		case err == nil:
			line := append(lf.frag, chunk[:len(chunk)-1]...)
			lf.frag = line[:0]
			return line, nil
		}
		lf.frag = append(lf.frag, chunk...)
		if len(lf.frag) >= maxLine {
			line := lf.frag
			lf.frag = line[:0:0]
			return line, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}

// rest returns the incomplete last line, if any, and forgets it: the file
// has ended for good, so it is a line after all.
func (lf *file) rest() []byte {
	line := lf.frag
	lf.frag = nil
	return line
}

// change says how the file at a path relates to the open one.
type change int

const (
	unchanged change = iota
	truncated        // same file, now shorter than what was read
	replaced         // the path names another file (rotation)
)

// check compares the file now at path with the open one. A path that does
// not exist (rotated away, the new file not created yet) is unchanged.
func (lf *file) check(path string) (change, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return unchanged, nil
	}
	if err != nil {
		return unchanged, err
	}
	cur, err := lf.f.Stat()
	if err != nil {
		return unchanged, err
	}
	switch {
	case !os.SameFile(st, cur):
		return replaced, nil
	case st.Size() < lf.off:
		return truncated, nil
	}
	return unchanged, nil
}

// rewind starts reading the (truncated) file from its start again.
func (lf *file) rewind() error {
	if _, err := lf.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	lf.br.Reset(lf.f)
	lf.frag, lf.off = lf.frag[:0], 0
	return nil
}
