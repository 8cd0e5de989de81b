package desired

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoal-run/shoal/manifests"
)

// writeFile replaces a file atomically (temporary file and rename), so that
// the source never sees it half-written.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFolderSource(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: one\nspec:\n  containers:\n  - name: app\n    image: busybox\n")
	src, err := NewFolderSource(FolderConfig{Dir: dir, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sets := make(chan *manifests.Set, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- src.Run(ctx, func(s *manifests.Set) { sets <- s }) }()

	next := func() *manifests.Set {
		select {
		case s := <-sets:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("no desired state delivered")
			return nil
		}
	}
	if s := next(); s.Get("Pod", "default", "one") == nil {
		t.Fatal("first state lacks the pod")
	}
	// A broken edit is reported and delivers nothing.
	writeFile(t, dir, "b.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: two\nspec:\n  containerz: []\n")
	waitFor(t, 5*time.Second, "the load error", func() bool { return src.Status().Error != nil })
	select {
	case s := <-sets:
		t.Fatalf("a broken state was delivered: %d objects", s.Len())
	default:
	}
	// Fixing it delivers the new state.
	writeFile(t, dir, "b.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: two\nspec:\n  containers:\n  - name: app\n    image: busybox\n")
	if s := next(); s.Len() != 2 {
		t.Fatalf("state after the fix has %d objects", s.Len())
	}
	if src.Status().Error != nil {
		t.Errorf("error not cleared: %v", src.Status().Error)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run returned %v", err)
	}
}
