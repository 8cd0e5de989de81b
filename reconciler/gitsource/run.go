package gitsource

import (
	"context"
	"time"
)

// Trigger asks Run to sync at once instead of at the next tick (or the end
// of a back-off), and signals RefsTriggered. It never blocks; triggers that arrive while one is pending
// are merged into it. Without a running Run it has no effect until Run
// starts.
func (s *Source) Trigger() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
	select {
	case s.refTrigger <- struct{}{}:
	default:
	}
}

// Run syncs until ctx is cancelled: at once, then every PollInterval, and
// at once on Trigger. It returns ctx.Err().
//
// apply is called with the Result of each new good commit: the first
// that loads, then each later one whose hash differs from the last
// applied; never with a commit that does not load, and never twice in a
// row with the same commit. Its Result has the Set and the admission
// policies it runs under, with Result.AdmissionErr when the commit's own
// admission file does not load. report is called after every sync that
// did something (a new head, good or not; nil for a commit that applies,
// whatever its AdmissionErr) and after every failure, except that a head
// already reported as not loading is not reported again while it stays the
// head. Both are
// called from Run's goroutine, one at a time; either may be nil. Run waits
// for them, so they should not block for long.
//
// After an error other than a stalled one (IsStalled), the wait before the
// next attempt doubles from PollInterval up to MaxBackoff; a success or a
// stalled error resets it to PollInterval (a stalled head is re-checked
// cheaply, by a ref listing, for a new commit).
func (s *Source) Run(ctx context.Context, apply func(Result), report func(Revision, error)) error {
	var applied string
	wait := s.cfg.PollInterval
	for {
		began := time.Now()
		res, err := s.SyncResult(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if s.cfg.Observe != nil {
			s.cfg.Observe(time.Since(began), err)
		}
		switch {
		case err == nil:
			if res.Revision.Commit != applied {
				applied = res.Revision.Commit
				if apply != nil {
					apply(res)
				}
			}
			if res.Outcome != Unchanged && report != nil {
				report(res.Revision, nil)
			}
			wait = s.cfg.PollInterval
		case IsStalled(err):
			if res.Outcome != Unchanged && report != nil {
				report(res.Revision, err)
			}
			wait = s.cfg.PollInterval
		default:
			s.log.Warn("sync failed; backing off", "err", err, "transient", IsTransient(err),
				"auth", IsAuth(err), "retry_in", wait)
			if report != nil {
				report(res.Revision, err)
			}
		}

		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		case <-s.trigger:
			t.Stop()
			s.log.Debug("sync triggered")
		}
		if err != nil && !IsStalled(err) {
			wait = min(wait*2, s.cfg.MaxBackoff)
		}
	}
}
