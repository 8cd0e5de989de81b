package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestStatusReports(t *testing.T) {
	var mu sync.Mutex
	got := map[string]NodeStatus{}
	ss, err := NewStatusServer(StatusServerConfig{
		ClusterKey: testKey, Logger: testLogger(),
		Report: func(st NodeStatus) {
			mu.Lock()
			got[st.Node] = st
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	leader := newServer(t, ss)
	c := newClient(t, nil)
	now := time.Now().UTC().Truncate(time.Millisecond)

	// Nodes report whatever term they applied (an older leader's, or none).
	pod := testPod(0)
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.1.5"}
	reports := []NodeStatus{
		{Node: "n1", Term: termA, Generation: 7, Pods: []corev1.Pod{pod}, Time: now},
		{Node: "n2", Term: termB, Generation: 2, Time: now},
		{Node: "n3", Time: now},
	}
	var wg sync.WaitGroup
	for _, r := range reports {
		wg.Go(func() {
			if err := c.ReportStatus(t.Context(), leader, r); err != nil {
				t.Errorf("ReportStatus(%s): %v", r.Node, err)
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("reports received: %v", got)
	}
	n1 := got["n1"]
	if n1.Term != termA || n1.Generation != 7 || !n1.Time.Equal(now) || len(n1.Pods) != 1 ||
		n1.Pods[0].Status.Phase != corev1.PodRunning || n1.Pods[0].Status.PodIP != "10.244.1.5" {
		t.Fatalf("n1 report = %+v", n1)
	}
	if got["n2"].Term != termB {
		t.Fatalf("n2 term %q, want %q", got["n2"].Term, termB)
	}

	// Another key, or no node name, is refused and never reported.
	if err := newClient(t, func(c *ClientConfig) { c.ClusterKey = otherKey }).ReportStatus(t.Context(), leader, NodeStatus{Node: "evil"}); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("report with another key = %v, want ErrUnauthorized", err)
	}
	if err := c.ReportStatus(t.Context(), leader, NodeStatus{}); !errors.Is(err, ErrRejected) {
		t.Fatalf("report without node = %v, want ErrRejected", err)
	}
	if _, ok := got["evil"]; ok || len(got) != 3 {
		t.Fatalf("refused reports reached the callback: %v", got)
	}
}

// flaky answers 503 to its first fail requests, then passes them to h.
type flaky struct {
	h     http.Handler
	fail  int32
	calls atomic.Int32
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.calls.Add(1) <= f.fail {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	f.h.ServeHTTP(w, r)
}

func TestClientRetries(t *testing.T) {
	n := startNode(t, "", termA)
	c := newClient(t, nil) // 5 attempts

	t.Run("503 then success", func(t *testing.T) {
		f := &flaky{h: n.recv, fail: 2}
		if err := c.PushState(t.Context(), newServer(t, f), testState(termA, 1, 1)); err != nil {
			t.Fatalf("push: %v", err)
		}
		if got := f.calls.Load(); got != 3 {
			t.Fatalf("%d attempts, want 3", got)
		}
		if got := n.applied(); len(got) != 1 {
			t.Fatalf("applied %v, want once", got)
		}
	})
	t.Run("gives up after MaxAttempts", func(t *testing.T) {
		f := &flaky{h: n.recv, fail: 100}
		err := c.PushState(t.Context(), newServer(t, f), testState(termA, 2, 1))
		var se *StatusError
		if !errors.As(err, &se) || se.Code != http.StatusServiceUnavailable {
			t.Fatalf("push = %v, want the last 503", err)
		}
		if got := f.calls.Load(); got != 5 {
			t.Fatalf("%d attempts, want 5", got)
		}
	})
	t.Run("401 and 409 are not retried", func(t *testing.T) {
		f := &flaky{h: n.recv}
		addr := newServer(t, f)
		wrong := newClient(t, func(c *ClientConfig) { c.ClusterKey = otherKey })
		if err := wrong.PushState(t.Context(), addr, testState(termA, 3, 1)); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("push = %v, want ErrUnauthorized", err)
		}
		if err := c.PushState(t.Context(), addr, testState(termB, 3, 1)); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("push = %v, want ErrNotLeader", err)
		}
		if got := f.calls.Load(); got != 2 {
			t.Fatalf("%d attempts for two refused pushes, want 2", got)
		}
	})
	t.Run("connection refused is retried", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		start := time.Now()
		if err := c.PushState(t.Context(), addr, testState(termA, 4, 1)); err == nil {
			t.Fatal("push to a closed port: want an error")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("gave up after %s", d)
		}
	})
	t.Run("ctx ends the retries", func(t *testing.T) {
		slow := newClient(t, func(c *ClientConfig) {
			c.MaxAttempts = 1000
			c.MinBackoff, c.MaxBackoff = 20*time.Millisecond, 20*time.Millisecond
		})
		f := &flaky{h: n.recv, fail: 1 << 30}
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		err := slow.PushState(ctx, newServer(t, f), testState(termA, 5, 1))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("push = %v, want the deadline", err)
		}
	})
}

// TestTLS serves a Receiver with Serve over TLS and pushes to it with a
// client that trusts the server's certificate.
func TestTLS(t *testing.T) {
	// Borrow httptest's certificate (valid for 127.0.0.1).
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert, pool := ts.TLS.Certificates[0], x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	ts.Close()

	n := startNode(t, "", termA)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, n.recv, &tls.Config{Certificates: []tls.Certificate{cert}}) }()
	addr := ln.Addr().String()

	c := newClient(t, func(c *ClientConfig) { c.TLSConfig = &tls.Config{RootCAs: pool} })
	if err := c.PushState(t.Context(), addr, testState(termA, 1, 1)); err != nil {
		t.Fatalf("push over TLS: %v", err)
	}
	if got := n.applied(); len(got) != 1 {
		t.Fatalf("applied %v", got)
	}
	// A client that does not trust the certificate fails (and is not let in).
	untrusting := newClient(t, func(c *ClientConfig) { c.TLSConfig = &tls.Config{}; c.MaxAttempts = 1 })
	if err := untrusting.PushState(t.Context(), addr, testState(termA, 2, 1)); err == nil {
		t.Fatal("push with an untrusted certificate: want an error")
	}

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve = %v after ctx was cancelled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after ctx was cancelled")
	}
}

func TestFetchStatus(t *testing.T) {
	var starting atomic.Bool
	starting.Store(true)
	now := time.Now().UTC().Truncate(time.Millisecond)
	ss, err := NewStatusServer(StatusServerConfig{
		ClusterKey: testKey, Logger: testLogger(),
		Report: func(NodeStatus) {},
		Local: func() (NodeStatus, bool) {
			if starting.Swap(false) {
				return NodeStatus{}, false // the first call: still starting, retried
			}
			node := &corev1.Node{}
			node.Name = "n1"
			node.Spec.PodCIDR = "10.244.1.0/24"
			return NodeStatus{Node: "n1", Term: termA, Generation: 3, Pods: []corev1.Pod{testPod(0)}, NodeInfo: node, Time: now}, true
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := newServer(t, ss)
	st, err := newClient(t, nil).FetchStatus(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if st.Node != "n1" || st.Term != termA || st.Generation != 3 || len(st.Pods) != 1 ||
		st.NodeInfo == nil || st.NodeInfo.Spec.PodCIDR != "10.244.1.0/24" || !st.Time.Equal(now) {
		t.Fatalf("FetchStatus = %+v", st)
	}
	if _, err := newClient(t, func(c *ClientConfig) { c.ClusterKey = otherKey }).FetchStatus(t.Context(), addr); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("fetch with another key = %v, want ErrUnauthorized", err)
	}
}
