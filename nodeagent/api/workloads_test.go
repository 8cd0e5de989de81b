package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/nodeagent/api/apitest"
)

// nodesOnly is a cluster node that serves no workloads.
type nodesOnly struct{}

func (nodesOnly) Nodes(context.Context) ([]corev1.Node, error) { return nil, nil }
func (nodesOnly) Node(_ context.Context, name string) (*corev1.Node, error) {
	return nil, fmt.Errorf("node %q: %w", name, api.ErrNotFound)
}
func (nodesOnly) Status(context.Context) (*api.ClusterStatus, error) {
	return &api.ClusterStatus{}, nil
}

// cluster is a cluster node with workloads and events.
type cluster struct {
	nodesOnly
	*apitest.Workloads
}

// object is a pointer to a Kubernetes object of type T.
type object[T any] interface {
	*T
	runtime.Object
	GetNamespace() string
	GetName() string
}

func meta(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }

// startWorkloads serves a node of cluster c (it has no pods).
func startWorkloads(t *testing.T, c api.ClusterService) (*httptest.Server, *api.Client) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.NewServer(nil, api.ServerOptions{Logger: log, Cluster: c}))
	t.Cleanup(srv.Close)
	client, err := api.NewClient(srv.URL, api.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return srv, client
}

// roundTrip lists r's objects of every namespace and of "default", gets
// each by name, and a missing one, and returns what went wrong.
func roundTrip[T any, PT object[T]](c *api.Client, r api.Resource[T], wantAll, wantDefault []string) []string {
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
	all, err := api.List(ctx, c, r, "")
	if err != nil || names(all) != strings.Join(wantAll, ",") {
		errs = append(errs, "all: "+names(all)+" "+errString(err))
	}
	def, err := api.List(ctx, c, r, "default")
	if err != nil || names(def) != strings.Join(wantDefault, ",") {
		errs = append(errs, "default: "+names(def)+" "+errString(err))
	}
	for _, want := range wantAll {
		ns, name, _ := strings.Cut(want, "/")
		o, err := api.Get(ctx, c, r, ns, name)
		if err != nil || names([]T{*o}) != want {
			errs = append(errs, "get "+want+": "+errString(err))
		}
	}
	_, err = api.Get(ctx, c, r, "default", "nope")
	if !errors.Is(err, api.ErrNotFound) || !strings.Contains(err.Error(), `"nope" not found in namespace "default"`) {
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

// TestWorkloadsRoundTrip: every workload and Service networking resource
// is listed (one
// namespace, all), got by name and missed through the one generic route,
// with its kind and apiVersion.
func TestWorkloadsRoundTrip(t *testing.T) {
	f := cluster{Workloads: &apitest.Workloads{Objects: []runtime.Object{
		&appsv1.Deployment{ObjectMeta: meta("default", "web")}, &appsv1.Deployment{ObjectMeta: meta("shop", "cart")},
		&appsv1.ReplicaSet{ObjectMeta: meta("default", "web-5d8f")}, &appsv1.ReplicaSet{ObjectMeta: meta("shop", "cache")},
		&corev1.ReplicationController{ObjectMeta: meta("shop", "legacy")},
		&appsv1.DaemonSet{ObjectMeta: meta("default", "agent")},
		&batchv1.Job{ObjectMeta: meta("default", "once")}, &batchv1.Job{ObjectMeta: meta("default", "tick-29929683")},
		&batchv1.CronJob{ObjectMeta: meta("default", "tick")},
		&corev1.Service{ObjectMeta: meta("default", "web")}, &corev1.Service{ObjectMeta: meta("shop", "cart")},
		&corev1.Endpoints{ObjectMeta: meta("default", "web")},
		&networkingv1.Ingress{ObjectMeta: meta("shop", "front")},
	}}}
	_, c := startWorkloads(t, f)
	tests := []struct {
		name string
		run  func() []string
	}{
		{"deployments", func() []string {
			return roundTrip(c, api.Deployments, []string{"default/web", "shop/cart"}, []string{"default/web"})
		}},
		{"replicasets", func() []string {
			return roundTrip(c, api.ReplicaSets, []string{"default/web-5d8f", "shop/cache"}, []string{"default/web-5d8f"})
		}},
		{"replicationcontrollers", func() []string {
			return roundTrip(c, api.ReplicationControllers, []string{"shop/legacy"}, nil)
		}},
		{"daemonsets", func() []string {
			return roundTrip(c, api.DaemonSets, []string{"default/agent"}, []string{"default/agent"})
		}},
		{"jobs", func() []string {
			return roundTrip(c, api.Jobs, []string{"default/once", "default/tick-29929683"}, []string{"default/once", "default/tick-29929683"})
		}},
		{"cronjobs", func() []string { return roundTrip(c, api.CronJobs, []string{"default/tick"}, []string{"default/tick"}) }},
		{"services", func() []string {
			return roundTrip(c, api.Services, []string{"default/web", "shop/cart"}, []string{"default/web"})
		}},
		{"endpoints", func() []string { return roundTrip(c, api.Endpoints, []string{"default/web"}, []string{"default/web"}) }},
		{"ingresses", func() []string { return roundTrip(c, api.Ingresses, []string{"shop/front"}, nil) }},
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
	srv, _ := startWorkloads(t, cluster{Workloads: &apitest.Workloads{}})
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
		{"/apis/networking.k8s.io/v1/namespaces/default/ingresses", http.StatusOK, `{"kind":"IngressList","apiVersion":"networking.k8s.io/v1","metadata":{},"items":[]}`},
		{"/api/v1/namespaces/default/endpoints/web", http.StatusNotFound, `endpoints \"web\" not found in namespace \"default\"`},
		{"/api/v1/services", http.StatusOK, `"kind":"ServiceList"`},
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

	_, plain := startWorkloads(t, nodesOnly{})
	if _, err := api.List(context.Background(), plain, api.Jobs, ""); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("a node without workloads: %v", err)
	}
	if _, err := api.List(context.Background(), plain, api.Services, ""); !errors.Is(err, api.ErrNotFound) || !strings.Contains(err.Error(), "does not belong to a cluster") {
		t.Errorf("a node without services: %v", err)
	}
	_, failing := startWorkloads(t, cluster{Workloads: &apitest.Workloads{Err: errors.New("no leader")}})
	if _, err := api.List(context.Background(), failing, api.CronJobs, "default"); err == nil || !strings.Contains(err.Error(), "no leader") {
		t.Errorf("a failing service: %v", err)
	}
}

// TestEventsRoundTrip: events of a namespace and of all.
func TestEventsRoundTrip(t *testing.T) {
	ev := func(ns, name string) *corev1.Event {
		return &corev1.Event{ObjectMeta: meta(ns, name), InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "web"}, Reason: "Scheduled"}
	}
	_, c := startWorkloads(t, cluster{Workloads: &apitest.Workloads{Objects: []runtime.Object{ev("default", "web.1"), ev("shop", "web.2")}}})
	all, err := c.ListEvents(context.Background(), "")
	if err != nil || len(all) != 2 {
		t.Fatalf("all: %v %v", all, err)
	}
	def, err := c.ListEvents(context.Background(), "default")
	if err != nil || len(def) != 1 || def[0].Name != "web.1" || def[0].InvolvedObject.Name != "web" {
		t.Fatalf("default: %v %v", def, err)
	}
}
