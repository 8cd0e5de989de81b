// Package apitest has test doubles of the node API's services.
package apitest

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/shoal-run/shoal/nodeagent/api"
)

// Workloads is an api.WorkloadService, api.NetworkService and
// api.EventService over fixed objects: each method answers the Objects of
// its type (pointers: *appsv1.Deployment, *corev1.Service, *corev1.Event,
// ...) in the namespace asked ("" for all), in the order given, or Err
// when it is set. Embed it with an api.ClusterService to serve it.
type Workloads struct {
	Objects []runtime.Object
	Err     error
}

var (
	_ api.WorkloadService = (*Workloads)(nil)
	_ api.NetworkService  = (*Workloads)(nil)
	_ api.EventService    = (*Workloads)(nil)
)

// of returns the objects of type T in namespace ns.
func of[T any, PT interface {
	*T
	GetNamespace() string
}](w *Workloads, ns string) ([]T, error) {
	if w.Err != nil {
		return nil, w.Err
	}
	var out []T
	for _, o := range w.Objects {
		if p, ok := o.(PT); ok && (ns == "" || p.GetNamespace() == ns) {
			out = append(out, *p)
		}
	}
	return out, nil
}

func (w *Workloads) Deployments(_ context.Context, ns string) ([]appsv1.Deployment, error) {
	return of[appsv1.Deployment](w, ns)
}

func (w *Workloads) ReplicaSets(_ context.Context, ns string) ([]appsv1.ReplicaSet, error) {
	return of[appsv1.ReplicaSet](w, ns)
}

func (w *Workloads) ReplicationControllers(_ context.Context, ns string) ([]corev1.ReplicationController, error) {
	return of[corev1.ReplicationController](w, ns)
}

func (w *Workloads) DaemonSets(_ context.Context, ns string) ([]appsv1.DaemonSet, error) {
	return of[appsv1.DaemonSet](w, ns)
}

func (w *Workloads) Jobs(_ context.Context, ns string) ([]batchv1.Job, error) {
	return of[batchv1.Job](w, ns)
}

func (w *Workloads) CronJobs(_ context.Context, ns string) ([]batchv1.CronJob, error) {
	return of[batchv1.CronJob](w, ns)
}

func (w *Workloads) ResourceQuotas(_ context.Context, ns string) ([]corev1.ResourceQuota, error) {
	return of[corev1.ResourceQuota](w, ns)
}

func (w *Workloads) LimitRanges(_ context.Context, ns string) ([]corev1.LimitRange, error) {
	return of[corev1.LimitRange](w, ns)
}

func (w *Workloads) Events(_ context.Context, ns string) ([]corev1.Event, error) {
	return of[corev1.Event](w, ns)
}

func (w *Workloads) Services(_ context.Context, ns string) ([]corev1.Service, error) {
	return of[corev1.Service](w, ns)
}

func (w *Workloads) Endpoints(_ context.Context, ns string) ([]corev1.Endpoints, error) {
	return of[corev1.Endpoints](w, ns)
}

func (w *Workloads) Ingresses(_ context.Context, ns string) ([]networkingv1.Ingress, error) {
	return of[networkingv1.Ingress](w, ns)
}
