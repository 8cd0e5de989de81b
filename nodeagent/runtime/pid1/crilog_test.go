package pid1

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestLogWriterCopy(t *testing.T) {
	clock := time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
	long := strings.Repeat("a", MaxLogLine) + strings.Repeat("b", MaxLogLine) + "c"
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"lines", "one\ntwo\n", []string{"F one", "F two"}},
		{"empty-line", "\n", []string{"F "}},
		{"no-final-newline", "one\ntw", []string{"F one", "F tw"}},
		{"carriage-return-kept", "a\r\n", []string{"F a\r"}},
		{"long-line", long + "\nnext\n", []string{"P " + strings.Repeat("a", MaxLogLine), "P " + strings.Repeat("b", MaxLogLine), "F c", "F next"}},
		{"exactly-max", strings.Repeat("x", MaxLogLine) + "\n", []string{"P " + strings.Repeat("x", MaxLogLine), "F "}},
		{"nothing", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w := NewLogWriter(&out, func() time.Time { return clock })
			if err := w.Copy("stdout", strings.NewReader(tc.in)); err != nil {
				t.Fatal(err)
			}
			var want strings.Builder
			for _, l := range tc.want {
				want.WriteString("2026-11-27T09:00:00.123456789Z stdout " + l + "\n")
			}
			if out.String() != want.String() {
				t.Errorf("log:\n%q\nwant:\n%q", out.String(), want.String())
			}
		})
	}
}

func TestLogWriterFixedWidthTime(t *testing.T) {
	var out bytes.Buffer
	w := NewLogWriter(&out, func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
	if err := w.Record("stderr", false, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "2026-01-02T03:04:05.000000000Z stderr F x\n"; got != want {
		t.Errorf("record %q, want %q", got, want)
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestLogWriterCopyError(t *testing.T) {
	boom := errors.New("boom")
	w := NewLogWriter(io.Discard, nil)
	if err := w.Copy("stdout", failingReader{boom}); !errors.Is(err, boom) {
		t.Errorf("Copy = %v, want %v", err, boom)
	}
}
