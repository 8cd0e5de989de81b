package logs

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 123456789, time.UTC)

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name string
		line string
		ok   bool
		want Record
	}{
		{"full", "2026-11-27T10:00:00.123456789Z stdout F hello world", true,
			Record{Time: t0, Stream: Stdout, Text: []byte("hello world")}},
		{"partial stderr", "2026-11-27T10:00:00.123456789Z stderr P part", true,
			Record{Time: t0, Stream: Stderr, Partial: true, Text: []byte("part")}},
		{"empty text with space", "2026-11-27T10:00:00.123456789Z stdout F ", true,
			Record{Time: t0, Stream: Stdout, Text: []byte("")}},
		{"empty text without space", "2026-11-27T10:00:00.123456789Z stdout F", true,
			Record{Time: t0, Stream: Stdout}},
		{"extra tags", "2026-11-27T10:00:00.123456789Z stdout F:x:y a  b ", true,
			Record{Time: t0, Stream: Stdout, Text: []byte("a  b ")}},
		{"offset time", "2026-11-27T11:00:00.123456789+01:00 stdout F x", true,
			Record{Time: t0, Stream: Stdout, Text: []byte("x")}},
		{"bad time", "yesterday stdout F x", false, Record{}},
		{"bad stream", "2026-11-27T10:00:00Z stdin F x", false, Record{}},
		{"bad tag", "2026-11-27T10:00:00Z stdout Q x", false, Record{}},
		{"plain text", "just some text", false, Record{}},
		{"empty", "", false, Record{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRecord([]byte(tt.line))
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if !got.Time.Equal(tt.want.Time) || got.Stream != tt.want.Stream || got.Partial != tt.want.Partial || !bytes.Equal(got.Text, tt.want.Text) {
				t.Errorf("got %+v (text %q), want %+v (text %q)", got, got.Text, tt.want, tt.want.Text)
			}
		})
	}
}

func TestAppendRecordRoundTrip(t *testing.T) {
	r := Record{Time: t0.Add(-123456789), Stream: Stderr, Partial: true, Text: []byte("x y")}
	line := AppendRecord(nil, r)
	if want := "2026-11-27T10:00:00.000000000Z stderr P x y\n"; string(line) != want {
		t.Fatalf("line %q, want %q", line, want)
	}
	got, ok := ParseRecord(bytes.TrimSuffix(line, []byte("\n")))
	if !ok || !got.Time.Equal(r.Time) || got.Stream != r.Stream || !got.Partial || string(got.Text) != "x y" {
		t.Errorf("round trip: %+v %v", got, ok)
	}
}

func TestWriter(t *testing.T) {
	long := strings.Repeat("a", MaxRecordText) + strings.Repeat("b", MaxRecordText) + "c"
	tests := []struct {
		name   string
		stream string
		writes []string
		close  bool
		want   []string // records, timestamps left out
	}{
		{"lines", Stdout, []string{"one\ntwo\n"}, false,
			[]string{"stdout F one", "stdout F two"}},
		{"line over writes", Stderr, []string{"he", "llo", "\n"}, false,
			[]string{"stderr F hello"}},
		{"empty line", Stdout, []string{"\n"}, false, []string{"stdout F "}},
		{"unfinished line waits", Stdout, []string{"a\nb"}, false, []string{"stdout F a"}},
		{"close ends the line", Stdout, []string{"a\nb"}, true, []string{"stdout F a", "stdout F b"}},
		{"long line split", Stdout, []string{long + "\n"}, false, []string{
			"stdout P " + strings.Repeat("a", MaxRecordText),
			"stdout P " + strings.Repeat("b", MaxRecordText),
			"stdout F c",
		}},
		{"exactly one record", Stdout, []string{strings.Repeat("x", MaxRecordText) + "\n"}, false,
			[]string{"stdout F " + strings.Repeat("x", MaxRecordText)}},
		{"long unfinished line goes out early", Stdout, []string{strings.Repeat("a", MaxRecordText+3)}, false,
			[]string{"stdout P " + strings.Repeat("a", MaxRecordText)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf, tt.stream, func() time.Time { return t0 })
			for _, s := range tt.writes {
				n, err := w.Write([]byte(s))
				if err != nil || n != len(s) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if tt.close {
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write([]byte("x")); err == nil {
					t.Error("Write after Close succeeded")
				}
			}
			var got []string
			for _, l := range strings.SplitAfter(buf.String(), "\n") {
				if l == "" {
					continue
				}
				ts, rest, _ := strings.Cut(strings.TrimSuffix(l, "\n"), " ")
				if ts != "2026-11-27T10:00:00.123456789Z" {
					t.Errorf("timestamp %q", ts)
				}
				got = append(got, rest)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
