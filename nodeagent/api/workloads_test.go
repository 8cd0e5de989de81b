package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeWorkloads is a cluster node with workloads and events.
type fakeWorkloads struct {
	fakeCluster
	deployments []appsv1.Deployment
	rs          []appsv1.ReplicaSet
	rc          []corev1.ReplicationController
	ds          []appsv1.DaemonSet
	jobs        []batchv1.Job
	cronJobs    []batchv1.CronJob
	events      []corev1.Event
}

// inNamespace are the items of namespace ns ("" for all).
func inNamespace[T any, PT object[T]](items []T, ns string) []T {
	var out []T
	for i := range items {
		if ns == "" || PT(&items[i]).GetNamespace() == ns {
			out = append(out, items[i])
		}
	}
	return out
}

func (f *fakeWorkloads) Deployments(_ context.Context, ns string) ([]appsv1.Deployment, error) {
	return inNamespace(f.deployments, ns), f.err
}
func (f *fakeWorkloads) ReplicaSets(_ context.Context, ns string) ([]appsv1.ReplicaSet, error) {
	return inNamespace(f.rs, ns), f.err
}
func (f *fakeWorkloads) ReplicationControllers(_ context.Context, ns string) ([]corev1.ReplicationController, error) {
	return inNamespace(f.rc, ns), f.err
}
func (f *fakeWorkloads) DaemonSets(_ context.Context, ns string) ([]appsv1.DaemonSet, error) {
	return inNamespace(f.ds, ns), f.err
}
func (f *fakeWorkloads) Jobs(_ context.Context, ns string) ([]batchv1.Job, error) {
	return inNamespace(f.jobs, ns), f.err
}
func (f *fakeWorkloads) CronJobs(_ context.Context, ns string) ([]batchv1.CronJob, error) {
	return inNamespace(f.cronJobs, ns), f.err
}
func (f *fakeWorkloads) Events(_ context.Context, ns string) ([]corev1.Event, error) {
	return inNamespace(f.events, ns), f.err
}

func meta(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

func startWorkloads(t *testing.T, cluster ClusterService) (*httptest.Server, *Client) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(NewServer(&fakeService{}, ServerOptions{Logger: log, Cluster: cluster}))
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// roundTrip lists r's objects of every namespace and of "default", gets
// each by name, and a missing one, and returns what went wrong.
func roundTrip[T any, PT object[T]](c *Client, r Resource[T], wantAll, wantDefault []string) []string {
	ctx := context.Background()
	var errs []string
	names := func(items []T) string {
		var out []string
		for i := range items {
			p := PT(&items[i])
			out = append(out, p.GetNamespace()+"/"+p.GetName())
			if gvk := p.GetObjectKind().GroupVersionKind(); gvk.Kind != r.Kind || gvk.GroupVersion().String() != r.GroupVersion {
				errs = append(errs, "kind "+gvk.String())
			}
		}
		return strings.Join(out, ",")
	}
	all, err := List(ctx, c, r, "")
	if err != nil || names(all) != strings.Join(wantAll, ",") {
		errs = append(errs, "all: "+names(all)+" "+errString(err))
	}
	def, err := List(ctx, c, r, "default")
	if err != nil || names(def) != strings.Join(wantDefault, ",") {
		errs = append(errs, "default: "+names(def)+" "+errString(err))
	}
	for _, want := range wantAll {
		ns, name, _ := strings.Cut(want, "/")
		o, err := Get(ctx, c, r, ns, name)
		if err != nil || names([]T{*o}) != want {
			errs = append(errs, "get "+want+": "+errString(err))
		}
	}
	_, err = Get(ctx, c, r, "default", "nope")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"nope" not found in namespace "default"`) {
		errs = append(errs, "missing: "+errString(err))
	}
	return errs
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestWorkloadsRoundTrip: every workload resource is listed (one
// namespace, all), got by name and missed through the one generic route,
// with its kind and apiVersion.
func TestWorkloadsRoundTrip(t *testing.T) {
	f := &fakeWorkloads{
		deployments: []appsv1.Deployment{{ObjectMeta: meta("default", "web")}, {ObjectMeta: meta("shop", "cart")}},
		rs:          []appsv1.ReplicaSet{{ObjectMeta: meta("default", "web-5d8f")}, {ObjectMeta: meta("shop", "cache")}},
		rc:          []corev1.ReplicationController{{ObjectMeta: meta("shop", "legacy")}},
		ds:          []appsv1.DaemonSet{{ObjectMeta: meta("default", "agent")}},
		jobs:        []batchv1.Job{{ObjectMeta: meta("default", "once")}, {ObjectMeta: meta("default", "tick-29929683")}},
		cronJobs:    []batchv1.CronJob{{ObjectMeta: meta("default", "tick")}},
	}
	_, c := startWorkloads(t, f)
	tests := []struct {
		name string
		run  func() []string
	}{
		{"deployments", func() []string {
			return roundTrip(c, Deployments, []string{"default/web", "shop/cart"}, []string{"default/web"})
		}},
		{"replicasets", func() []string {
			return roundTrip(c, ReplicaSets, []string{"default/web-5d8f", "shop/cache"}, []string{"default/web-5d8f"})
		}},
		{"replicationcontrollers", func() []string {
			return roundTrip(c, ReplicationControllers, []string{"shop/legacy"}, nil)
		}},
		{"daemonsets", func() []string { return roundTrip(c, DaemonSets, []string{"default/agent"}, []string{"default/agent"}) }},
		{"jobs", func() []string {
			return roundTrip(c, Jobs, []string{"default/once", "default/tick-29929683"}, []string{"default/once", "default/tick-29929683"})
		}},
		{"cronjobs", func() []string { return roundTrip(c, CronJobs, []string{"default/tick"}, []string{"default/tick"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, e := range tt.run() {
				t.Error(e)
			}
		})
	}
}

// TestWorkloadPaths: the paths are Kubernetes', the lists are Lists of
// the kind (empty, not null, when there is nothing), and a node outside a
// cluster or a failing service answers as the other cluster routes do.
func TestWorkloadPaths(t *testing.T) {
	srv, _ := startWorkloads(t, &fakeWorkloads{})
	tests := []struct {
		path string
		code int
		body string
	}{
		{"/apis/apps/v1/namespaces/default/daemonsets", http.StatusOK, `{"kind":"DaemonSetList","apiVersion":"apps/v1","metadata":{},"items":[]}`},
		{"/api/v1/replicationcontrollers", http.StatusOK, `{"kind":"ReplicationControllerList","apiVersion":"v1","metadata":{},"items":[]}`},
		{"/apis/batch/v1/cronjobs", http.StatusOK, `"kind":"CronJobList"`},
		{"/apis/batch/v1/namespaces/x/jobs/y", http.StatusNotFound, `job \"y\" not found in namespace \"x\" (shoal get jobs -A`},
		{"/apis/apps/v1/statefulsets", http.StatusNotFound, "no such API"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.code || !strings.Contains(string(body), tt.body) {
				t.Errorf("%d %s, want %d with %s", resp.StatusCode, body, tt.code, tt.body)
			}
		})
	}

	_, plain := startWorkloads(t, &fakeCluster{})
	if _, err := List(context.Background(), plain, Jobs, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("a node without workloads: %v", err)
	}
	_, failing := startWorkloads(t, &fakeWorkloads{fakeCluster: fakeCluster{err: errors.New("no leader")}})
	if _, err := List(context.Background(), failing, CronJobs, "default"); err == nil || !strings.Contains(err.Error(), "no leader") {
		t.Errorf("a failing service: %v", err)
	}
}

// TestEventsRoundTrip: events of a namespace and of all.
func TestEventsRoundTrip(t *testing.T) {
	ev := func(ns, name string) corev1.Event {
		return corev1.Event{ObjectMeta: meta(ns, name), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "web"}, Reason: "Scheduled"}
	}
	_, c := startWorkloads(t, &fakeWorkloads{events: []corev1.Event{ev("default", "web.1"), ev("shop", "web.2")}})
	all, err := c.ListEvents(context.Background(), "")
	if err != nil || len(all) != 2 {
		t.Fatalf("all: %v %v", all, err)
	}
	def, err := c.ListEvents(context.Background(), "default")
	if err != nil || len(def) != 1 || def[0].Name != "web.1" || def[0].InvolvedObject.Name != "web" {
		t.Fatalf("default: %v %v", def, err)
	}
}
