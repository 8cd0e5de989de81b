package gossip

import "context"

// Leader returns the election outcome in this node's view now. The Term is
// empty when no live member is eligible (or after Shutdown).
func (c *Cluster) Leader() Leadership {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lead
}

// currentTerm is this node's term if it leads in its own view, else "".
func (c *Cluster) currentTerm() Term {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lead.Self {
		return c.lead.Term
	}
	return ""
}

// WatchLeader returns a channel that first holds the current leadership and
// then receives it again each time the leader, its term, or whether this
// node is the leader changes (driven by memberlist's membership events).
// A slow reader only misses intermediate values: the channel always ends on
// the latest. The channel is closed when ctx is done or the cluster shuts
// down. The cluster never blocks on a watcher.
func (c *Cluster) WatchLeader(ctx context.Context) <-chan Leadership {
	ch := make(chan Leadership, 1)
	c.mu.Lock()
	if c.shutdown {
		c.mu.Unlock()
		close(ch)
		return ch
	}
	ch <- c.lead
	c.watchers[ch] = struct{}{}
	c.mu.Unlock()
	context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.watchers[ch]; ok {
			delete(c.watchers, ch)
			close(ch)
		}
	})
	return ch
}

// WhileLeader runs fn each time this node becomes the leader, with the term
// it leads under, and cancels fn's context as soon as this node sees that it
// no longer leads under that term: another member was elected, this node
// leaves or shuts down, or ctx is done. It waits for fn to return before it
// calls fn again, so at most one fn runs at a time; fn must therefore return
// promptly once its context is cancelled. If fn returns on its own, it is
// not called again until the next term this node leads.
//
// WhileLeader blocks until ctx is done (returning ctx.Err()) or the cluster
// shuts down (returning ErrClosed), and in both cases after fn returned.
//
// Leadership is available, not consistent: each node decides from its own
// view of the members. While the cluster is partitioned, each side elects
// its own leader and both run fn; after a heal, the members agree on one
// leader again and the other's fn is cancelled. There can be a short overlap
// even without a partition, while the news of a membership change spreads.
// Everything fn does must be idempotent and carry its term, and a healed
// cluster must converge back to the desired state.
func (c *Cluster) WhileLeader(ctx context.Context, fn func(ctx context.Context, term Term)) error {
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	updates := c.WatchLeader(watchCtx)

	var (
		cancel context.CancelFunc
		done   chan struct{}
		// leading is the term fn was started for, while this node still
		// leads under it (fn may have returned on its own).
		leading Term
	)
	stop := func() {
		if cancel != nil {
			cancel()
			<-done
			cancel, done = nil, nil
		}
	}
	defer stop()
	for {
		l, ok := <-updates
		if !ok {
			stop()
			if err := ctx.Err(); err != nil {
				return err
			}
			return ErrClosed
		}
		if leading != "" && (!l.Self || l.Term != leading) {
			c.log.Info("leadership lost, cancelling", "term", leading, "leader", l.Leader.Name)
			stop()
			leading = ""
		}
		if l.Self && leading == "" {
			fnCtx, fnCancel := context.WithCancel(ctx)
			cancel, done, leading = fnCancel, make(chan struct{}), l.Term
			c.log.Info("leading", "term", l.Term)
			go func(done chan struct{}, term Term) {
				defer close(done)
				fn(fnCtx, term)
			}(done, l.Term)
		}
	}
}
