package logs

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sample is a log file of a program that wrote, one second apart:
// stdout "one", stderr "oops", stdout "two" (as two partial records),
// a line that is not a record, stdout "three", stderr "four".
const sample = `2026-11-27T10:00:01.000000000Z stdout F one
2026-11-27T10:00:02.000000000Z stderr F oops
2026-11-27T10:00:03.500000000Z stdout P t
2026-11-27T10:00:04.000000000Z stdout F wo
not a record
2026-11-27T10:00:05.000000000Z stdout F three
2026-11-27T10:00:06.000000000Z stderr F four
`

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func at(sec int) time.Time { return time.Date(2026, 11, 27, 10, 0, sec, 0, time.UTC) }

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		content string
		opts    Options
		want    string
	}{
		{"all", sample, Options{TailLines: -1},
			"one\noops\ntwo\nnot a record\nthree\nfour\n"},
		{"zero options print no existing line", sample, Options{}, ""},
		{"tail 2", sample, Options{TailLines: 2}, "three\nfour\n"},
		{"tail counts joined lines", sample, Options{TailLines: 4}, "two\nnot a record\nthree\nfour\n"},
		{"tail more than there is", sample, Options{TailLines: 100},
			"one\noops\ntwo\nnot a record\nthree\nfour\n"},
		{"stdout only", sample, Options{TailLines: -1, Stream: Stdout}, "one\ntwo\nnot a record\nthree\n"},
		{"stderr tail 1", sample, Options{TailLines: 1, Stream: Stderr}, "four\n"},
		{"since keeps the line of its first record", sample, Options{TailLines: -1, Since: at(3)},
			"two\nnot a record\nthree\nfour\n"},
		{"since is inclusive", sample, Options{TailLines: -1, Since: at(5)}, "not a record\nthree\nfour\n"},
		{"since drops all records", sample, Options{TailLines: -1, Since: at(60)}, "not a record\n"},
		{"since and tail", sample, Options{TailLines: 1, Since: at(1), Stream: Stdout}, "three\n"},
		{"timestamps", sample, Options{TailLines: 4, Timestamps: true},
			"2026-11-27T10:00:03.5Z two\nnot a record\n2026-11-27T10:00:05Z three\n2026-11-27T10:00:06Z four\n"},
		{"interleaved partial lines", "" +
			"2026-11-27T10:00:01Z stdout P a\n" +
			"2026-11-27T10:00:01Z stderr P x\n" +
			"2026-11-27T10:00:02Z stdout P b\n" +
			"2026-11-27T10:00:02Z stderr F y\n" +
			"2026-11-27T10:00:03Z stdout F c\n",
			Options{TailLines: -1}, "xy\nabc\n"},
		{"partial at end of file is a line", "2026-11-27T10:00:01Z stdout P a\n2026-11-27T10:00:01Z stdout P b\n",
			Options{TailLines: -1}, "ab\n"},
		{"no newline at end of file", "2026-11-27T10:00:01Z stdout F a\n2026-11-27T10:00:02Z stdout F b",
			Options{TailLines: -1}, "a\nb\n"},
		{"empty lines", "2026-11-27T10:00:01Z stdout F \n\n2026-11-27T10:00:02Z stdout F",
			Options{TailLines: -1}, "\n\n\n"},
		{"empty file", "", Options{TailLines: -1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			var buf bytes.Buffer
			if err := Read(context.Background(), path, tt.opts, &buf); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.want {
				t.Errorf("got:\n%q\nwant:\n%q", buf.String(), tt.want)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	err := Read(context.Background(), filepath.Join(t.TempDir(), "nope.log"), Options{TailLines: -1}, &bytes.Buffer{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	err = Read(context.Background(), writeFile(t, sample), Options{Stream: "stdin"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "stdin") {
		t.Errorf("bad stream: %v", err)
	}
}

func TestReadWriterRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("0123456789", 5000) // 50 000 bytes: four records
	out := NewWriter(f, Stdout, nil)
	errw := NewWriter(f, Stderr, nil)
	out.Write([]byte("first\n" + long[:20000]))
	errw.Write([]byte("an error\n"))
	out.Write([]byte(long[20000:] + "\nlast"))
	out.Close()
	f.Close()
	var buf bytes.Buffer
	if err := Read(context.Background(), path, Options{TailLines: -1}, &buf); err != nil {
		t.Fatal(err)
	}
	if want := "first\nan error\n" + long + "\nlast\n"; buf.String() != want {
		t.Errorf("got %d bytes, want %d", buf.Len(), len(want))
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one poller.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// follower runs a following Read in the background.
type follower struct {
	out    syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func follow(t *testing.T, path string, opts Options) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fl := &follower{cancel: cancel, done: make(chan error, 1)}
	opts.Follow = true
	opts.Poll = time.Millisecond
	go func() { fl.done <- Read(ctx, path, opts, &fl.out) }()
	t.Cleanup(func() {
		cancel()
		<-fl.done
	})
	return fl
}

func (fl *follower) waitOutput(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for fl.out.String() != want {
		if time.Now().After(deadline) {
			t.Fatalf("output:\n%q\nwant:\n%q", fl.out.String(), want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestFollow(t *testing.T) {
	path := writeFile(t, sample)
	fl := follow(t, path, Options{TailLines: 1, Stream: Stdout})
	fl.waitOutput(t, "three\n")

	// A writer appending from another goroutine, a line split across writes.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := NewWriter(f, Stdout, nil)
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for i := range 50 {
			w.Write([]byte{'a' + byte(i%26), '\n'})
		}
		w.Write([]byte("half"))
	}()
	<-wrote
	var want strings.Builder
	want.WriteString("three\n")
	for i := range 50 {
		want.WriteString(string(rune('a'+i%26)) + "\n")
	}
	fl.waitOutput(t, want.String())

	// An unfinished record (no newline yet) is not a line yet.
	appendTo(t, path, "2026-11-27T10:00:09Z stdout F unfin")
	appendTo(t, path, "ished\n")
	w.Write([]byte(" done\n"))
	want.WriteString("unfinished\nhalf done\n")
	fl.waitOutput(t, want.String())
}

func TestFollowDone(t *testing.T) {
	path := writeFile(t, "2026-11-27T10:00:01Z stdout F one\n")
	var finished atomic.Bool
	fl := follow(t, path, Options{TailLines: -1, Done: finished.Load})
	fl.waitOutput(t, "one\n")
	// The last words, then the writer says it is finished: Read must return
	// with the last words written, not before.
	appendTo(t, path, "2026-11-27T10:00:02Z stdout F two\n2026-11-27T10:00:03Z stdout P thr")
	appendTo(t, path, "ee")
	finished.Store(true)
	select {
	case err := <-fl.done:
		fl.done <- err // for the cleanup
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return after Done")
	}
	if got := fl.out.String(); got != "one\ntwo\nthree\n" {
		t.Errorf("output %q", got)
	}
}

func TestFollowCancel(t *testing.T) {
	path := writeFile(t, sample)
	fl := follow(t, path, Options{TailLines: 0})
	fl.cancel()
	select {
	case err := <-fl.done:
		fl.done <- err
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Read = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return after cancel")
	}
}

func TestFollowMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.log")
	fl := follow(t, path, Options{TailLines: -1})
	appendTo(t, path, "2026-11-27T10:00:01Z stdout F hello\n")
	fl.waitOutput(t, "hello\n")

	// Done while the file never appeared: nothing to wait for.
	var finished atomic.Bool
	finished.Store(true)
	err := Read(context.Background(), filepath.Join(t.TempDir(), "never.log"),
		Options{Follow: true, TailLines: -1, Done: finished.Load, Poll: time.Millisecond}, &bytes.Buffer{})
	if err != nil {
		t.Errorf("Read of a never created file with Done: %v", err)
	}
}

func TestFollowTruncation(t *testing.T) {
	path := writeFile(t, "2026-11-27T10:00:01Z stdout F before-1\n2026-11-27T10:00:02Z stdout F before-2\n")
	fl := follow(t, path, Options{TailLines: -1})
	fl.waitOutput(t, "before-1\nbefore-2\n")
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	// Wait until the truncation is noticed (the file is re-read from 0),
	// which needs the new content to be shorter than the old at the poll.
	appendTo(t, path, "2026-11-27T10:00:03Z stdout F after\n")
	fl.waitOutput(t, "before-1\nbefore-2\nafter\n")
}

func TestFollowRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	appendTo(t, path, "2026-11-27T10:00:01Z stdout F old\n")
	fl := follow(t, path, Options{TailLines: -1})
	fl.waitOutput(t, "old\n")

	// Rotate: the writer keeps its old file open a moment longer.
	old, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	old.WriteString("2026-11-27T10:00:02Z stdout F old-last\n")
	appendTo(t, path, "2026-11-27T10:00:03Z stdout F new-1\n")
	fl.waitOutput(t, "old\nold-last\nnew-1\n")
	appendTo(t, path, "2026-11-27T10:00:04Z stdout F new-2\n")
	fl.waitOutput(t, "old\nold-last\nnew-1\nnew-2\n")
}
