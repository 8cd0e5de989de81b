// Package events keeps Kubernetes-style events in memory: what the
// controllers did (SuccessfulCreate, ScalingReplicaSet, Completed, ...) and
// why something could not happen (FailedScheduling). The same event
// repeated is counted, not stored again, and events expire after a while,
// as in Kubernetes. The leader records them; they are lost with it, like a
// Kubernetes event store that is not persisted.
package events

import (
	"sort"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Config configures a Store.
type Config struct {
	// TTL is how long an event is kept after its last occurrence (1h).
	TTL time.Duration
	// Max is the most events kept (oldest dropped first; 5,000).
	Max int
	// Component is the source component (e.g. "shoal-reconciler").
	Component string
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Store is an event store, safe for concurrent use.
type Store struct {
	cfg     Config
	mu      sync.Mutex
	byKey   map[string]*corev1.Event
	seq     int
	changed chan struct{}
}

// New returns an empty store.
func New(cfg Config) *Store {
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	if cfg.Max <= 0 {
		cfg.Max = 5000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{cfg: cfg, byKey: map[string]*corev1.Event{}, changed: make(chan struct{}, 1)}
}

// Object names what an event is about.
type Object struct {
	Kind, Namespace, Name string
	UID                   string
}

// Record adds an event (type corev1.EventTypeNormal or Warning), or counts
// it again when the same object, reason and message was recorded before.
func (s *Store) Record(obj Object, eventType, reason, message string) {
	now := metav1.NewTime(s.cfg.Now())
	key := obj.Kind + "/" + obj.Namespace + "/" + obj.Name + "|" + reason + "|" + message
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byKey[key]; ok {
		e.Count++
		e.LastTimestamp = now
		s.notify()
		return
	}
	s.seq++
	ns := obj.Namespace
	if ns == "" {
		ns = "default"
	}
	e := &corev1.Event{
		TypeMeta:       metav1.TypeMeta{Kind: "Event", APIVersion: "v1"},
		ObjectMeta:     metav1.ObjectMeta{Name: obj.Name + "." + formatSeq(now.Time, s.seq), Namespace: ns, CreationTimestamp: now},
		InvolvedObject: corev1.ObjectReference{Kind: obj.Kind, Namespace: obj.Namespace, Name: obj.Name, UID: typesUID(obj.UID)},
		Reason:         reason, Message: message, Type: eventType, Count: 1,
		FirstTimestamp: now, LastTimestamp: now,
		Source: corev1.EventSource{Component: s.cfg.Component},
	}
	s.byKey[key] = e
	s.trimLocked()
	s.notify()
}

func (s *Store) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// trimLocked drops expired events and the oldest beyond Max.
func (s *Store) trimLocked() {
	cutoff := s.cfg.Now().Add(-s.cfg.TTL)
	for k, e := range s.byKey {
		if e.LastTimestamp.Time.Before(cutoff) {
			delete(s.byKey, k)
		}
	}
	if len(s.byKey) <= s.cfg.Max {
		return
	}
	keys := make([]string, 0, len(s.byKey))
	for k := range s.byKey {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return s.byKey[keys[i]].LastTimestamp.Before(&s.byKey[keys[j]].LastTimestamp)
	})
	for _, k := range keys[:len(keys)-s.cfg.Max] {
		delete(s.byKey, k)
	}
}

// List returns the events of a namespace ("" for all), oldest last
// occurrence first.
func (s *Store) List(namespace string) []corev1.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trimLocked()
	var out []corev1.Event
	for _, e := range s.byKey {
		if namespace == "" || e.Namespace == namespace {
			out = append(out, *e.DeepCopy())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastTimestamp.Equal(&out[j].LastTimestamp) {
			return out[i].LastTimestamp.Before(&out[j].LastTimestamp)
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Changed receives a signal after Record; signals coalesce.
func (s *Store) Changed() <-chan struct{} { return s.changed }

// formatSeq makes event names unique, as Kubernetes' object.<hex time>.
func formatSeq(t time.Time, seq int) string {
	return strconv.FormatInt(t.UnixNano(), 16) + "." + strconv.Itoa(seq)
}

func typesUID(s string) types.UID { return types.UID(s) }
