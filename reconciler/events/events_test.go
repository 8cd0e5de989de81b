package events

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestStore(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	s := New(Config{Component: "test", Max: 3, TTL: time.Minute, Now: func() time.Time { return now }})
	pod := Object{Kind: "Pod", Namespace: "shop", Name: "web"}
	s.Record(pod, corev1.EventTypeWarning, "FailedScheduling", "0/3 nodes are available")
	now = now.Add(time.Second)
	s.Record(pod, corev1.EventTypeWarning, "FailedScheduling", "0/3 nodes are available")
	evs := s.List("")
	if len(evs) != 1 || evs[0].Count != 2 || !evs[0].LastTimestamp.Time.Equal(now) || evs[0].Source.Component != "test" ||
		evs[0].InvolvedObject.Name != "web" || evs[0].Namespace != "shop" {
		t.Fatalf("events %+v", evs)
	}
	select {
	case <-s.Changed():
	default:
		t.Fatal("no change signalled")
	}
	s.Record(Object{Kind: "Node", Name: "n1"}, corev1.EventTypeNormal, "NodeReady", "ready")
	if len(s.List("shop")) != 1 || len(s.List("default")) != 1 {
		t.Fatal("namespace filter")
	}
	// Max 3: the oldest goes.
	for _, n := range []string{"a", "b", "c"} {
		now = now.Add(time.Second)
		s.Record(Object{Kind: "Pod", Namespace: "shop", Name: n}, corev1.EventTypeNormal, "Scheduled", n)
	}
	evs = s.List("")
	if len(evs) != 3 || evs[0].InvolvedObject.Name != "a" {
		t.Fatalf("after trimming: %+v", evs)
	}
	// TTL.
	now = now.Add(2 * time.Minute)
	if len(s.List("")) != 0 {
		t.Fatal("expired events kept")
	}
}
