package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeService is a scriptable PodService: pods from a list, logs and exec
// from functions the test sets.
type fakeService struct {
	mu      sync.Mutex
	pods    []corev1.Pod
	listErr error
	logs    func(ctx context.Context, ns, name string, opts LogOptions, w io.Writer) error
	exec    func(ctx context.Context, ns, name string, opts ExecOptions) (int, error)
	// what the last calls were asked
	logOpts  LogOptions
	execOpts ExecOptions
}

func (f *fakeService) ListPods(_ context.Context, ns string) ([]corev1.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []corev1.Pod
	for _, p := range f.pods {
		if ns == "" || p.Namespace == ns {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeService) GetPod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.pods {
		if p.Namespace == ns && p.Name == name {
			return &p, nil
		}
	}
	return nil, fmt.Errorf("pod %s/%s: %w", ns, name, ErrNotFound)
}

func (f *fakeService) Logs(ctx context.Context, ns, name string, opts LogOptions, w io.Writer) error {
	if _, err := f.GetPod(ctx, ns, name); err != nil {
		return err
	}
	f.mu.Lock()
	f.logOpts = opts
	logs := f.logs
	f.mu.Unlock()
	return logs(ctx, ns, name, opts, w)
}

func (f *fakeService) Exec(ctx context.Context, ns, name string, opts ExecOptions) (int, error) {
	if _, err := f.GetPod(ctx, ns, name); err != nil {
		return -1, err
	}
	f.mu.Lock()
	f.execOpts = opts
	exec := f.exec
	f.mu.Unlock()
	return exec(ctx, ns, name, opts)
}

func (f *fakeService) lastLogOpts() LogOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logOpts
}

func (f *fakeService) lastExecOpts() ExecOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.execOpts
}

func testPods() []corev1.Pod {
	mk := func(ns, name string) corev1.Pod {
		return corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "busybox"}}},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.0.5"},
		}
	}
	return []corev1.Pod{mk("default", "web"), mk("default", "worker"), mk("shop", "cart")}
}

// start serves svc on a loopback socket and returns a client of it.
func start(t *testing.T, svc PodService, token string) (*httptest.Server, *Client) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(NewServer(svc, ServerOptions{Logger: log, Token: token}))
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, ClientOptions{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond until it holds, failing the test after 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// receive waits for a value on ch, failing the test after 5 seconds.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
