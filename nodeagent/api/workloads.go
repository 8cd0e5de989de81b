package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// DeploymentService is what a cluster node adds to its API for
// Deployments, when its ClusterService also implements it: the
// Deployments of the desired state with the status the leader computed.
type DeploymentService interface {
	// Deployments returns the Deployments of a namespace ("" for all),
	// sorted by namespace and name.
	Deployments(ctx context.Context, namespace string) ([]appsv1.Deployment, error)
}

// deployments serves GET /apis/apps/v1[/namespaces/{ns}]/deployments[/{name}].
func (s *server) deployments(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.cluster.(DeploymentService)
	if !ok {
		s.writeError(w, r, errNoCluster)
		return
	}
	ns, name := r.PathValue("ns"), r.PathValue("name")
	ds, err := svc.Deployments(r.Context(), ns)
	if err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	for i := range ds {
		ds[i].Kind, ds[i].APIVersion = "Deployment", "apps/v1"
	}
	if name == "" {
		if ds == nil {
			ds = []appsv1.Deployment{}
		}
		list := appsv1.DeploymentList{Items: ds}
		list.Kind, list.APIVersion = "DeploymentList", "apps/v1"
		s.writeJSON(w, r, list)
		return
	}
	for i := range ds {
		if ds[i].Name == name {
			s.writeJSON(w, r, &ds[i])
			return
		}
	}
	s.writeError(w, r, &Error{Message: fmt.Sprintf("deployment %q not found in namespace %q", name, ns), Reason: ReasonNotFound, Code: http.StatusNotFound})
}

// ListDeployments returns the Deployments of a namespace ("" for all).
func (c *Client) ListDeployments(ctx context.Context, namespace string) ([]appsv1.Deployment, error) {
	p := "/apis/apps/v1/deployments"
	if namespace != "" {
		p = "/apis/apps/v1/namespaces/" + url.PathEscape(namespace) + "/deployments"
	}
	var list appsv1.DeploymentList
	if err := c.getJSON(ctx, p, &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// GetDeployment returns one Deployment; an error wraps ErrNotFound when
// there is none.
func (c *Client) GetDeployment(ctx context.Context, namespace, name string) (*appsv1.Deployment, error) {
	var d appsv1.Deployment
	if err := c.getJSON(ctx, "/apis/apps/v1/namespaces/"+url.PathEscape(namespace)+"/deployments/"+url.PathEscape(name), &d); err != nil {
		return nil, err
	}
	return &d, nil
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
