package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEventTableAndGetEvents(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	ev := corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web"},
		Type:           corev1.EventTypeWarning, Reason: "FailedScheduling", Message: "0/3 nodes are available: 3 Insufficient memory.",
		Count: 3, FirstTimestamp: metav1.NewTime(now.Add(-5 * time.Minute)), LastTimestamp: metav1.NewTime(now.Add(-30 * time.Second)),
	}
	var buf bytes.Buffer
	writeEventTable(&buf, []corev1.Event{ev}, false, true, now)
	want := "LAST SEEN          TYPE      REASON             OBJECT    MESSAGE\n30s (x3 over 5m)   Warning   FailedScheduling   pod/web   0/3 nodes are available: 3 Insufficient memory.\n"
	if buf.String() != want {
		t.Fatalf("table:\n%q\nwant\n%q", buf.String(), want)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/namespaces/default/events" {
			http.NotFound(w, r)
			return
		}
		json.NewEncoder(w).Encode(corev1.EventList{Items: []corev1.Event{ev}})
	}))
	defer srv.Close()
	out, errOut, code := run(t, "get", "events", "--server", srv.URL)
	if code != 0 || !strings.Contains(out, "FailedScheduling") || !strings.Contains(out, "pod/web") {
		t.Fatalf("get events: %d %s %s", code, out, errOut)
	}
	if _, errOut, code = run(t, "get", "pods", "-w", "--server", srv.URL); code == 0 || !strings.Contains(errOut, "events only") {
		t.Fatalf("get pods -w: %d %s", code, errOut)
	}
}
