package api

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// scopeRecorder is a PodService that records, per call, whether its
// context was node-scoped.
type scopeRecorder struct {
	PodService
	mu   sync.Mutex
	seen map[string]bool // call -> NodeScope(ctx)
}

func (r *scopeRecorder) record(ctx context.Context, call string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[call] = NodeScope(ctx)
}

func (r *scopeRecorder) reset() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.seen
	r.seen = map[string]bool{}
	return out
}

func (r *scopeRecorder) ListPods(ctx context.Context, ns string) ([]corev1.Pod, error) {
	r.record(ctx, "list")
	return r.PodService.ListPods(ctx, ns)
}

func (r *scopeRecorder) GetPod(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	r.record(ctx, "get")
	return r.PodService.GetPod(ctx, ns, name)
}

func (r *scopeRecorder) Logs(ctx context.Context, ns, name string, opts LogOptions, w io.Writer) error {
	r.record(ctx, "logs")
	return r.PodService.Logs(ctx, ns, name, opts, w)
}

func (r *scopeRecorder) Exec(ctx context.Context, ns, name string, opts ExecOptions) (int, error) {
	r.record(ctx, "exec")
	return r.PodService.Exec(ctx, ns, name, opts)
}

func TestNodeScope(t *testing.T) {
	if NodeScope(context.Background()) {
		t.Error("a plain context is node-scoped")
	}
	if !NodeScope(WithNodeScope(context.Background())) {
		t.Error("WithNodeScope does not make a node-scoped context")
	}

	svc := &fakeService{pods: testPods(), exec: execScript,
		logs: func(ctx context.Context, _, _ string, _ LogOptions, w io.Writer) error {
			_, err := fmt.Fprintf(w, "scoped=%v\n", NodeScope(ctx))
			return err
		}}
	rec := &scopeRecorder{PodService: svc, seen: map[string]bool{}}
	srv, plain := start(t, rec, "s3cret")
	scoped, err := NewClient(srv.URL, ClientOptions{Token: "s3cret", NodeScope: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		client *Client
		want   bool
	}{
		{"whole cluster", plain, false},
		{"node only", scoped, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec.reset()
			if _, err := tt.client.ListPods(ctx, ""); err != nil {
				t.Errorf("ListPods: %v", err)
			}
			if _, err := tt.client.ListPods(ctx, "shop"); err != nil {
				t.Errorf("ListPods(shop): %v", err)
			}
			if _, err := tt.client.GetPod(ctx, "shop", "cart"); err != nil {
				t.Errorf("GetPod: %v", err)
			}
			var log syncBuffer
			if err := tt.client.Logs(ctx, "default", "web", LogOptions{TailLines: 3, Follow: true}, &log); err != nil {
				t.Errorf("Logs: %v", err)
			}
			if want := fmt.Sprintf("scoped=%v\n", tt.want); log.String() != want {
				t.Errorf("log %q, want %q", log.String(), want)
			}
			var out syncBuffer
			if code, err := tt.client.Exec(ctx, "default", "web", ExecOptions{Command: []string{"args", "x"}, Stdout: &out}); err != nil || code != 0 {
				t.Errorf("Exec: %d %v", code, err)
			}
			seen := rec.reset()
			for _, call := range []string{"list", "get", "logs", "exec"} {
				scoped, ok := seen[call]
				if !ok {
					t.Errorf("%s: the service was not called", call)
				} else if scoped != tt.want {
					t.Errorf("%s: NodeScope = %v, want %v", call, scoped, tt.want)
				}
			}
			if svc.lastLogOpts().TailLines != 3 || !svc.lastLogOpts().Follow {
				t.Errorf("log options lost next to scope: %+v", svc.lastLogOpts())
			}
			if got := svc.lastExecOpts().Command; len(got) != 2 || got[1] != "x" {
				t.Errorf("exec command lost next to scope: %q", got)
			}
		})
	}
}

func TestPodURL(t *testing.T) {
	plain, _ := NewClient("node-1:7947", ClientOptions{})
	scoped, _ := NewClient("node-1:7947", ClientOptions{NodeScope: true})
	tests := []struct {
		c    *Client
		path string
		q    map[string]string
		want string
	}{
		{plain, "/api/v1/pods", nil, "/api/v1/pods"},
		{scoped, "/api/v1/pods", nil, "/api/v1/pods?scope=node"},
		{plain, "/x/log", map[string]string{"follow": "true"}, "/x/log?follow=true"},
		{scoped, "/x/log", map[string]string{"follow": "true"}, "/x/log?follow=true&scope=node"},
	}
	for _, tt := range tests {
		var q = map[string][]string{}
		for k, v := range tt.q {
			q[k] = []string{v}
		}
		if got := tt.c.podURL(tt.path, q); got != tt.want {
			t.Errorf("podURL(%q, %v) = %q, want %q", tt.path, tt.q, got, tt.want)
		}
	}
}
