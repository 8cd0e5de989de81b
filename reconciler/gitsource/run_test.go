package gitsource

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"
)

// runRecorder collects what Run hands to apply and report.
type runRecorder struct {
	mu      sync.Mutex
	applied []string // commits
	reports []report
}

type report struct {
	commit string
	err    error
}

func (rr *runRecorder) apply(res Result) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if res.Set == nil || res.Admission == nil {
		panic("apply called with a nil Set or admission Config")
	}
	rr.applied = append(rr.applied, res.Revision.Commit)
}

func (rr *runRecorder) report(rev Revision, err error) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.reports = append(rr.reports, report{rev.Commit, err})
}

func (rr *runRecorder) appliedCommits() []string {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return append([]string(nil), rr.applied...)
}

func (rr *runRecorder) hasApplied(commit string) bool {
	for _, c := range rr.appliedCommits() {
		if c == commit {
			return true
		}
	}
	return false
}

func (rr *runRecorder) reportedLoadError(commit string) bool {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for _, r := range rr.reports {
		var le *LoadError
		if r.commit == commit && errors.As(r.err, &le) {
			return true
		}
	}
	return false
}

// startRun runs s.Run until the test ends.
func startRun(t *testing.T, s *Source, rr *runRecorder) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, rr.apply, rr.report) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})
}

// TestRunPollsAndNeverAppliesBroken: Run picks up pushes by polling,
// reports a broken commit without applying it, and applies the fix.
func TestRunPollsAndNeverAppliesBroken(t *testing.T) {
	r := newRig(t, "", "")
	good1, _ := r.push(change{files: map[string]string{"pod.yaml": podWeb}, message: "good 1"})
	s := mustNew(t, r.config(t)) // PollInterval 50ms
	rr := &runRecorder{}
	startRun(t, s, rr)
	waitFor(t, 20*time.Second, "first commit applied", func() bool { return rr.hasApplied(good1) })

	broken, _ := r.push(change{files: map[string]string{"pod.yaml": podBroken}, message: "broken"})
	waitFor(t, 20*time.Second, "broken commit reported", func() bool { return rr.reportedLoadError(broken) })

	good2, _ := r.push(change{files: map[string]string{"pod.yaml": podWeb, "api.yaml": podAPI}, message: "good 2"})
	waitFor(t, 20*time.Second, "fixed commit applied", func() bool { return rr.hasApplied(good2) })

	if got := rr.appliedCommits(); !reflect.DeepEqual(got, []string{good1, good2}) {
		t.Errorf("applied = %v, want exactly [good1 good2]", got)
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	n := 0
	for _, rep := range rr.reports {
		if rep.commit == broken {
			n++
		}
	}
	if n != 1 {
		t.Errorf("broken commit reported %d times, want once while it stayed the head", n)
	}
}

// TestRunTrigger: with a long PollInterval, Trigger makes Run sync at once.
func TestRunTrigger(t *testing.T) {
	r := newRig(t, "", "")
	first, _ := r.push(change{files: map[string]string{"pod.yaml": podWeb}, message: "first"})
	cfg := r.config(t)
	cfg.PollInterval = time.Hour
	s := mustNew(t, cfg)
	rr := &runRecorder{}
	startRun(t, s, rr)
	waitFor(t, 20*time.Second, "first commit applied", func() bool { return rr.hasApplied(first) })

	second, _ := r.push(change{files: map[string]string{"api.yaml": podAPI}, message: "second"})
	s.Trigger()
	waitFor(t, 20*time.Second, "triggered sync applied the push", func() bool { return rr.hasApplied(second) })
}

// TestRunBacksOffOnTransientErrors: a dead server is reported, with waits
// that grow, and Run recovers when the server is back.
func TestRunBacksOffOnTransientErrors(t *testing.T) {
	cfg := DefaultConfig("http://127.0.0.1:1/site.git") // nothing listens on port 1
	cfg.CacheDir = t.TempDir()
	cfg.PollInterval = 10 * time.Millisecond
	cfg.MaxBackoff = 40 * time.Millisecond
	cfg.Logger = testLogger(t)
	s := mustNew(t, cfg)
	rr := &runRecorder{}
	startRun(t, s, rr)
	waitFor(t, 20*time.Second, "five failed attempts reported", func() bool {
		rr.mu.Lock()
		defer rr.mu.Unlock()
		return len(rr.reports) >= 5
	})
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for _, rep := range rr.reports {
		if !IsTransient(rep.err) {
			t.Errorf("report %v: want a transient error", rep.err)
		}
	}
	if len(rr.applied) != 0 {
		t.Errorf("applied %v with no server", rr.applied)
	}
}
