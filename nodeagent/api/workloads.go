package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// WorkloadService is what a cluster node adds to its API for the
// workload controllers' objects, when its ClusterService also implements
// it: the objects of the desired state (and those the controllers made: a
// Deployment's ReplicaSets, a CronJob's Jobs) with the status the leader
// computed. Each method returns the objects of a namespace ("" for all),
// sorted by namespace and name; the server serves them as the Resource of
// the same name (see Workloads).
type WorkloadService interface {
	Deployments(ctx context.Context, namespace string) ([]appsv1.Deployment, error)
	ReplicaSets(ctx context.Context, namespace string) ([]appsv1.ReplicaSet, error)
	ReplicationControllers(ctx context.Context, namespace string) ([]corev1.ReplicationController, error)
	DaemonSets(ctx context.Context, namespace string) ([]appsv1.DaemonSet, error)
	Jobs(ctx context.Context, namespace string) ([]batchv1.Job, error)
	CronJobs(ctx context.Context, namespace string) ([]batchv1.CronJob, error)
	// ResourceQuotas are the desired state's, with status.hard and
	// status.used as the leader last counted them (used lacks the hard
	// resources shoal does not count).
	ResourceQuotas(ctx context.Context, namespace string) ([]corev1.ResourceQuota, error)
	LimitRanges(ctx context.Context, namespace string) ([]corev1.LimitRange, error)
}

// NetworkService is what a cluster node adds to its API for the Service
// networking objects, when its ClusterService also implements it: the
// desired Services, Endpoints and Ingresses with what the routing table
// adds (cluster IPs, node ports, load-balancer and ingress addresses, the
// endpoints of Services with a selector). Each method returns the objects
// of a namespace ("" for all), sorted by namespace and name; the server
// serves them as the Resource of the same name (see Services).
type NetworkService interface {
	Services(ctx context.Context, namespace string) ([]corev1.Service, error)
	Endpoints(ctx context.Context, namespace string) ([]corev1.Endpoints, error)
	Ingresses(ctx context.Context, namespace string) ([]networkingv1.Ingress, error)
}

// Resource is a kind of object of the desired state the API serves (the
// workloads, the Service networking objects, quotas and limit ranges), T
// its Go type:
//
//	GET /apis/GROUP/VERSION/PLURAL                            a List of every namespace's
//	GET /apis/GROUP/VERSION/namespaces/{ns}/PLURAL            a List of one namespace's
//	GET /apis/GROUP/VERSION/namespaces/{ns}/PLURAL/{name}     one object
//
// (/api/v1/... for the core group), as the Kubernetes API paths them.
type Resource[T any] struct {
	// GroupVersion is "apps/v1", "batch/v1", or "v1" for the core group.
	GroupVersion string
	// Plural names the resource in paths ("replicasets"); Kind is the
	// objects' kind ("ReplicaSet").
	Plural, Kind string
	// list answers it from the server's ClusterService.
	list func(ClusterService, context.Context, string) ([]T, error)
}

// The workload resources the API serves (from a WorkloadService).
var (
	Deployments            = Resource[appsv1.Deployment]{"apps/v1", "deployments", "Deployment", by(WorkloadService.Deployments)}
	ReplicaSets            = Resource[appsv1.ReplicaSet]{"apps/v1", "replicasets", "ReplicaSet", by(WorkloadService.ReplicaSets)}
	ReplicationControllers = Resource[corev1.ReplicationController]{"v1", "replicationcontrollers", "ReplicationController", by(WorkloadService.ReplicationControllers)}
	DaemonSets             = Resource[appsv1.DaemonSet]{"apps/v1", "daemonsets", "DaemonSet", by(WorkloadService.DaemonSets)}
	Jobs                   = Resource[batchv1.Job]{"batch/v1", "jobs", "Job", by(WorkloadService.Jobs)}
	CronJobs               = Resource[batchv1.CronJob]{"batch/v1", "cronjobs", "CronJob", by(WorkloadService.CronJobs)}
	ResourceQuotas         = Resource[corev1.ResourceQuota]{"v1", "resourcequotas", "ResourceQuota", by(WorkloadService.ResourceQuotas)}
	LimitRanges            = Resource[corev1.LimitRange]{"v1", "limitranges", "LimitRange", by(WorkloadService.LimitRanges)}
)

// The Service networking resources the API serves (from a NetworkService).
var (
	Services  = Resource[corev1.Service]{"v1", "services", "Service", by(NetworkService.Services)}
	Endpoints = Resource[corev1.Endpoints]{"v1", "endpoints", "Endpoints", by(NetworkService.Endpoints)}
	Ingresses = Resource[networkingv1.Ingress]{"networking.k8s.io/v1", "ingresses", "Ingress", by(NetworkService.Ingresses)}
)

// by makes a method of the service interface S a Resource's list: a
// cluster node that does not implement S (or no cluster) answers
// errNoCluster.
func by[S, T any](method func(S, context.Context, string) ([]T, error)) func(ClusterService, context.Context, string) ([]T, error) {
	return func(c ClusterService, ctx context.Context, namespace string) ([]T, error) {
		svc, ok := c.(S)
		if !ok {
			return nil, errNoCluster
		}
		return method(svc, ctx, namespace)
	}
}

// object is a pointer to a Kubernetes object of type T.
type object[T any] interface {
	*T
	runtime.Object
	GetNamespace() string
	GetName() string
}

// prefix is the resource's group path: "/apis/apps/v1", or "/api/v1".
func (r Resource[T]) prefix() string {
	if r.GroupVersion == "v1" {
		return "/api/v1"
	}
	return "/apis/" + r.GroupVersion
}

// path is the path of the resource's objects in namespace ("" for all),
// or of the one named.
func (r Resource[T]) path(namespace, name string) string {
	p := r.prefix() + "/" + r.Plural
	if namespace != "" {
		p = r.prefix() + "/namespaces/" + url.PathEscape(namespace) + "/" + r.Plural
	}
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// objectList is the List the API answers for a listing.
type objectList[T any] struct {
	Kind       string          `json:"kind"`
	APIVersion string          `json:"apiVersion"`
	Metadata   metav1.ListMeta `json:"metadata"`
	Items      []T             `json:"items"`
}

// serveWorkloads adds r's routes to mux.
func serveWorkloads[T any, PT object[T]](mux *http.ServeMux, s *server, r Resource[T]) {
	h := func(w http.ResponseWriter, req *http.Request) {
		ns, name := req.PathValue("ns"), req.PathValue("name")
		items, err := r.list(s.cluster, req.Context(), ns)
		if err != nil {
			s.writeError(w, req, errorFor(err))
			return
		}
		gvk := schema.FromAPIVersionAndKind(r.GroupVersion, r.Kind)
		for i := range items {
			PT(&items[i]).GetObjectKind().SetGroupVersionKind(gvk)
		}
		if name == "" {
			if items == nil {
				items = []T{}
			}
			s.writeJSON(w, req, objectList[T]{Kind: r.Kind + "List", APIVersion: r.GroupVersion, Items: items})
			return
		}
		for i := range items {
			if PT(&items[i]).GetName() == name {
				s.writeJSON(w, req, &items[i])
				return
			}
		}
		s.writeError(w, req, &Error{
			Message: fmt.Sprintf("%s %q not found in namespace %q (shoal get %s -A lists every namespace's)", strings.ToLower(r.Kind), name, ns, r.Plural),
			Reason:  ReasonNotFound, Code: http.StatusNotFound,
		})
	}
	mux.HandleFunc("GET "+r.prefix()+"/"+r.Plural, h)
	mux.HandleFunc("GET "+r.prefix()+"/namespaces/{ns}/"+r.Plural, h)
	mux.HandleFunc("GET "+r.prefix()+"/namespaces/{ns}/"+r.Plural+"/{name}", h)
}

// serveAllWorkloads adds every workload and Service networking
// resource's routes to mux.
func serveAllWorkloads(mux *http.ServeMux, s *server) {
	serveWorkloads(mux, s, Deployments)
	serveWorkloads(mux, s, ReplicaSets)
	serveWorkloads(mux, s, ReplicationControllers)
	serveWorkloads(mux, s, DaemonSets)
	serveWorkloads(mux, s, Jobs)
	serveWorkloads(mux, s, CronJobs)
	serveWorkloads(mux, s, Services)
	serveWorkloads(mux, s, Endpoints)
	serveWorkloads(mux, s, Ingresses)
	serveWorkloads(mux, s, ResourceQuotas)
	serveWorkloads(mux, s, LimitRanges)
}

// List returns r's objects of a namespace ("" for all) from the node c
// talks to.
func List[T any](ctx context.Context, c *Client, r Resource[T], namespace string) ([]T, error) {
	var list objectList[T]
	if err := c.getJSON(ctx, r.path(namespace, ""), &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// Get returns r's object name of namespace; an error wraps ErrNotFound
// when there is none.
func Get[T any](ctx context.Context, c *Client, r Resource[T], namespace, name string) (*T, error) {
	var o T
	if err := c.getJSON(ctx, r.path(namespace, name), &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// EventService is what a cluster node adds to its API for events, when its
// ClusterService also implements it.
type EventService interface {
	// Events returns the events of a namespace ("" for all), oldest first.
	Events(ctx context.Context, namespace string) ([]corev1.Event, error)
}

func (s *server) events(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.cluster.(EventService)
	if !ok {
		s.writeError(w, r, errNoCluster)
		return
	}
	evs, err := svc.Events(r.Context(), r.PathValue("ns"))
	if err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	if evs == nil {
		evs = []corev1.Event{}
	}
	list := corev1.EventList{Items: evs}
	list.Kind, list.APIVersion = "EventList", "v1"
	s.writeJSON(w, r, list)
}

// ListEvents returns the events of a namespace ("" for all); a node-scoped
// client gets that node's pods' events only.
func (c *Client) ListEvents(ctx context.Context, namespace string) ([]corev1.Event, error) {
	p := "/api/v1/events"
	if namespace != "" {
		p = "/api/v1/namespaces/" + url.PathEscape(namespace) + "/events"
	}
	var list corev1.EventList
	if err := c.getJSON(ctx, c.podURL(p, nil), &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}
