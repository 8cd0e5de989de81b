package volumes

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

func newWriter(t *testing.T) (*AtomicWriter, string) {
	t.Helper()
	dir := t.TempDir()
	w, err := NewAtomicWriter(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	return w, dir
}

func mustWrite(t *testing.T, w *AtomicWriter, payload map[string]FileProjection) {
	t.Helper()
	if err := w.Write(payload, nil); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// dataTarget returns what ..data points to.
func dataTarget(t *testing.T, dir string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil {
		t.Fatal(err)
	}
	return target
}

// entries lists the names in dir, sorted.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// checkFiles asserts that each path reads (through the user-visible links)
// as the expected content with the expected mode.
func checkFiles(t *testing.T, dir string, want map[string]FileProjection) {
	t.Helper()
	for p, f := range want {
		got, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		if string(got) != string(f.Data) {
			t.Errorf("%s = %q, want %q", p, got, f.Data)
		}
		info, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != os.FileMode(f.Mode) {
			t.Errorf("%s mode = %#o, want %#o", p, info.Mode().Perm(), f.Mode)
		}
	}
}

func TestNewAtomicWriterNeedsDir(t *testing.T) {
	_, err := NewAtomicWriter(filepath.Join(t.TempDir(), "missing"), "test")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want not exist", err)
	}
}

func TestAtomicWriterInitialWrite(t *testing.T) {
	w, dir := newWriter(t)
	payload := map[string]FileProjection{
		"app.conf": fp("x=1", 0o644),
		"a/b/c":    fp("nested", 0o600),
		"a/d":      fp("sibling", 0o400),
	}
	mustWrite(t, w, payload)

	ts := dataTarget(t, dir)
	if !strings.HasPrefix(ts, "..") || strings.Contains(ts, "/") || len(ts) < len("..2006_01_02_15_04_05.") {
		t.Fatalf("..data -> %q, want a timestamped directory name", ts)
	}
	if got, want := entries(t, dir), []string{ts, "..data", "a", "app.conf"}; !slices.Equal(got, want) {
		t.Fatalf("entries = %v, want %v", got, want)
	}
	for name, want := range map[string]string{"app.conf": "..data/app.conf", "a": "..data/a"} {
		if got, err := os.Readlink(filepath.Join(dir, name)); err != nil || got != want {
			t.Fatalf("%s -> %q (%v), want %q", name, got, err, want)
		}
	}
	info, err := os.Stat(filepath.Join(dir, ts))
	if err != nil || info.Mode().Perm() != 0o755 {
		t.Fatalf("timestamped dir mode = %v (%v), want 0755", info.Mode(), err)
	}
	checkFiles(t, dir, payload)
}

func TestAtomicWriterUnchangedWriteDoesNothing(t *testing.T) {
	w, dir := newWriter(t)
	payload := map[string]FileProjection{"a": fp("1", 0o644), "d/b": fp("2", 0o644)}
	mustWrite(t, w, payload)
	ts := dataTarget(t, dir)

	mustWrite(t, w, map[string]FileProjection{"a": fp("1", 0o644), "d/b": fp("2", 0o644)})
	if got := dataTarget(t, dir); got != ts {
		t.Fatalf("..data -> %q after an identical write, want unchanged %q", got, ts)
	}
	if got, want := entries(t, dir), []string{ts, "..data", "a", "d"}; !slices.Equal(got, want) {
		t.Fatalf("entries = %v, want %v", got, want)
	}

	// A lost user-visible link is restored without a new version.
	if err := os.Remove(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, payload)
	if got := dataTarget(t, dir); got != ts {
		t.Fatalf("..data -> %q, want unchanged %q", got, ts)
	}
	checkFiles(t, dir, payload)
}

func TestAtomicWriterUpdate(t *testing.T) {
	w, dir := newWriter(t)
	mustWrite(t, w, map[string]FileProjection{
		"keep": fp("1", 0o644), "gone": fp("x", 0o644), "d/keep": fp("2", 0o644), "d/gone": fp("y", 0o644),
	})
	ts1 := dataTarget(t, dir)

	next := map[string]FileProjection{"keep": fp("1b", 0o644), "d/keep": fp("2", 0o644), "new/file": fp("3", 0o600)}
	mustWrite(t, w, next)
	ts2 := dataTarget(t, dir)
	if ts2 == ts1 {
		t.Fatalf("..data still -> %q after a change", ts1)
	}
	if _, err := os.Lstat(filepath.Join(dir, ts1)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("old version %s still there (%v)", ts1, err)
	}
	if got, want := entries(t, dir), []string{ts2, "..data", "d", "keep", "new"}; !slices.Equal(got, want) {
		t.Fatalf("entries = %v, want %v", got, want)
	}
	if got := entries(t, filepath.Join(dir, "d")); !slices.Equal(got, []string{"keep"}) {
		t.Fatalf("d/ = %v, want [keep]", got)
	}
	checkFiles(t, dir, next)

	// A changed mode alone is a change too.
	next["keep"] = fp("1b", 0o600)
	mustWrite(t, w, next)
	if dataTarget(t, dir) == ts2 {
		t.Fatal("mode change did not write a new version")
	}
	checkFiles(t, dir, next)

	// An empty payload removes everything user-visible.
	mustWrite(t, w, map[string]FileProjection{})
	if got := entries(t, dir); len(got) != 2 || got[1] != "..data" {
		t.Fatalf("entries = %v, want only the version and ..data", got)
	}
}

func TestAtomicWriterSetPerms(t *testing.T) {
	w, dir := newWriter(t)
	var got []string
	err := w.Write(map[string]FileProjection{"a": fp("1", 0o644)}, func(sub string) error {
		got = append(got, sub)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{dataTarget(t, dir)}; !slices.Equal(got, want) {
		t.Fatalf("setPerms called with %v, want %v", got, want)
	}

	ts := dataTarget(t, dir)
	err = w.Write(map[string]FileProjection{"a": fp("2", 0o644)}, func(string) error { return errors.New("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("error = %v, want boom", err)
	}
	if dataTarget(t, dir) != ts || len(entries(t, dir)) != 3 {
		t.Fatalf("failed write changed the volume: %v", entries(t, dir))
	}
	checkFiles(t, dir, map[string]FileProjection{"a": fp("1", 0o644)})
}

func TestAtomicWriterInvalidPaths(t *testing.T) {
	tests := []struct {
		path    string
		wantErr string
	}{
		{"", `invalid path: must not be empty: ""`},
		{"/etc/passwd", "invalid path: must be relative path: /etc/passwd"},
		{"../escape", "invalid path: must not contain '..': ../escape"},
		{"a/../../b", "invalid path: must not contain '..': a/../../b"},
		{"..data", "invalid path: must not start with '..': ..data"},
		{"..hidden/x", "invalid path: must not start with '..': ..hidden/x"},
		{strings.Repeat("x", 256), "invalid path: filenames must be less than or equal to 255 characters"},
		{strings.Repeat("x/", 2049), "invalid path: must be less than or equal to 4096 characters"},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.path[:min(len(tt.path), 20)]), func(t *testing.T) {
			w, dir := newWriter(t)
			err := w.Write(map[string]FileProjection{"ok": fp("1", 0o644), tt.path: fp("2", 0o644)}, nil)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("errors.Is(%v, ErrInvalidPath) = false", err)
			}
			if got := entries(t, dir); len(got) != 0 {
				t.Fatalf("invalid payload wrote %v", got)
			}
		})
	}
	// Names that merely contain dots are fine.
	w, dir := newWriter(t)
	mustWrite(t, w, map[string]FileProjection{"a..b": fp("1", 0o644), ".hidden": fp("2", 0o644), "x/..y": fp("3", 0o644)})
	checkFiles(t, dir, map[string]FileProjection{"a..b": fp("1", 0o644), ".hidden": fp("2", 0o644), "x/..y": fp("3", 0o644)})
}

// TestAtomicWriterReadersNeverSeeAMix updates two files together 200 times
// while a reader checks that they always agree. The reader pins one version
// by opening "..data" once (os.OpenRoot resolves the link at open), which
// is how a consumer gets a consistent view; a version removed under it reads
// as not-exist, and the reader tries again. It also reads a user-visible path
// directly, which must always give one complete version of that file.
func TestAtomicWriterReadersNeverSeeAMix(t *testing.T) {
	w, dir := newWriter(t)
	payload := func(i int) map[string]FileProjection {
		v := strconv.Itoa(i)
		return map[string]FileProjection{"a": fp(v, 0o644), "conf/b": fp(v, 0o644)}
	}
	mustWrite(t, w, payload(0))

	const updates = 200
	var done atomic.Bool
	var consistent, retries atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() || consistent.Load() == 0 {
			root, err := os.OpenRoot(filepath.Join(dir, dataDirName))
			if errors.Is(err, fs.ErrNotExist) {
				// ..data pointed at a version removed between reading the
				// link and opening its target: read again.
				retries.Add(1)
				continue
			}
			if err != nil {
				t.Errorf("open ..data: %v", err)
				return
			}
			a, errA := root.ReadFile("a")
			b, errB := root.ReadFile("conf/b")
			root.Close()
			switch {
			case errors.Is(errA, fs.ErrNotExist) || errors.Is(errB, fs.ErrNotExist):
				retries.Add(1) // the pinned version was removed: read again
				continue
			case errA != nil || errB != nil:
				t.Errorf("read: %v, %v", errA, errB)
				return
			case string(a) != string(b):
				t.Errorf("mixed versions: a=%q conf/b=%q", a, b)
				return
			}
			consistent.Add(1)

			if v, err := os.ReadFile(filepath.Join(dir, "a")); err == nil {
				if _, perr := strconv.Atoi(string(v)); perr != nil {
					t.Errorf("a through its link = %q, not a complete version", v)
					return
				}
			} else if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("read a: %v", err)
				return
			}
		}
	}()
	for i := 1; i <= updates; i++ {
		if err := w.Write(payload(i), nil); err != nil {
			t.Errorf("update %d: %v", i, err)
			break
		}
	}
	done.Store(true)
	wg.Wait()
	t.Logf("%d consistent reads, %d retries", consistent.Load(), retries.Load())
	checkFiles(t, dir, payload(updates))
	if n := len(entries(t, dir)); n != 4 { // one version, ..data, a, conf
		t.Fatalf("%d entries left after %d updates: %v", n, updates, entries(t, dir))
	}
}

func TestAtomicWriterFsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: chown to another uid needs root (run the tests as root)")
	}
	w, dir := newWriter(t)
	uid := int64(1234)
	mustWrite(t, w, map[string]FileProjection{"token": {Data: []byte("t"), Mode: 0o400, FsUser: &uid}})
	ts := dataTarget(t, dir)
	info, err := os.Stat(filepath.Join(dir, "token"))
	if err != nil {
		t.Fatal(err)
	}
	if st := info.Sys().(*syscall.Stat_t); st.Uid != 1234 {
		t.Fatalf("token owned by uid %d, want 1234", st.Uid)
	}

	// Same owner: nothing to do; another owner: a new version.
	mustWrite(t, w, map[string]FileProjection{"token": {Data: []byte("t"), Mode: 0o400, FsUser: &uid}})
	if dataTarget(t, dir) != ts {
		t.Fatal("identical write with FsUser wrote a new version")
	}
	other := int64(4321)
	mustWrite(t, w, map[string]FileProjection{"token": {Data: []byte("t"), Mode: 0o400, FsUser: &other}})
	if dataTarget(t, dir) == ts {
		t.Fatal("owner change did not write a new version")
	}
}
