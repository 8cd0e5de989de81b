package reconciler

import (
	"sort"
	"sync"
	"time"

	"github.com/shoal-run/shoal/gossip/transport"
)

// Statuses holds the last status each node reported or was asked for. Every
// node keeps one (reports may reach a node just before it is elected); the
// leader reads it. It is safe for concurrent use.
type Statuses struct {
	mu      sync.Mutex
	m       map[string]statusEntry
	changed chan struct{}
}

type statusEntry struct {
	st       transport.NodeStatus
	received time.Time
}

// NewStatuses returns an empty store.
func NewStatuses() *Statuses {
	return &Statuses{m: map[string]statusEntry{}, changed: make(chan struct{}, 1)}
}

// Report records st unless the store holds a later one from the same node
// (by NodeStatus.Time), and signals Changed. It never blocks, so it can be
// a transport.StatusServerConfig.Report callback.
func (s *Statuses) Report(st transport.NodeStatus) {
	s.mu.Lock()
	if old, ok := s.m[st.Node]; ok && old.st.Time.After(st.Time) {
		s.mu.Unlock()
		return
	}
	s.m[st.Node] = statusEntry{st: st, received: time.Now()}
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// Get returns node's last status and when it was received.
func (s *Statuses) Get(node string) (transport.NodeStatus, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[node]
	return e.st, e.received, ok
}

// Nodes returns the names of the nodes with a status, sorted.
func (s *Statuses) Nodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.m))
	for n := range s.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Changed receives a signal after Report recorded something; signals
// coalesce.
func (s *Statuses) Changed() <-chan struct{} { return s.changed }
