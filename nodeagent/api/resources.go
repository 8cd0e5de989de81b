package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// ResourceType is a kind of object as the Kubernetes API names it in paths
// and as kubectl accepts it on the command line.
type ResourceType struct {
	Kind string
	// GroupVersion is the API group and version ("v1" for the core
	// group, else "group/version").
	GroupVersion string
	// Plural is the name in paths; Short are kubectl's short names.
	Plural     string
	Short      []string
	Namespaced bool
}

// Resources are the kinds shoal reads from Git, which `shoal delete` may
// name.
var Resources = []ResourceType{
	{"Namespace", "v1", "namespaces", []string{"ns"}, false},
	{"Node", "v1", "nodes", []string{"no"}, false},
	{"Pod", "v1", "pods", []string{"po"}, true},
	{"ReplicationController", "v1", "replicationcontrollers", []string{"rc"}, true},
	{"Service", "v1", "services", []string{"svc"}, true},
	{"Endpoints", "v1", "endpoints", []string{"ep"}, true},
	{"ConfigMap", "v1", "configmaps", []string{"cm"}, true},
	{"Secret", "v1", "secrets", nil, true},
	{"PersistentVolume", "v1", "persistentvolumes", []string{"pv"}, false},
	{"PersistentVolumeClaim", "v1", "persistentvolumeclaims", []string{"pvc"}, true},
	{"ResourceQuota", "v1", "resourcequotas", []string{"quota"}, true},
	{"LimitRange", "v1", "limitranges", []string{"limits"}, true},
	{"ServiceAccount", "v1", "serviceaccounts", []string{"sa"}, true},
	{"ReplicaSet", "apps/v1", "replicasets", []string{"rs"}, true},
	{"Deployment", "apps/v1", "deployments", []string{"deploy"}, true},
	{"DaemonSet", "apps/v1", "daemonsets", []string{"ds"}, true},
	{"Job", "batch/v1", "jobs", nil, true},
	{"CronJob", "batch/v1", "cronjobs", []string{"cj"}, true},
	{"Ingress", "networking.k8s.io/v1", "ingresses", []string{"ing"}, true},
	{"NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", []string{"netpol"}, true},
	{"StorageClass", "storage.k8s.io/v1", "storageclasses", []string{"sc"}, false},
}

// ResourceFor finds a resource by its plural, its kind (any case) or a
// short name, as kubectl does: "deployments", "deployment", "deploy".
func ResourceFor(name string) (ResourceType, bool) {
	for _, r := range Resources {
		if strings.EqualFold(name, r.Plural) || strings.EqualFold(name, r.Kind) {
			return r, true
		}
		for _, s := range r.Short {
			if strings.EqualFold(name, s) {
				return r, true
			}
		}
	}
	return ResourceType{}, false
}

// Path is the API path of one object: /api/v1/namespaces/NS/pods/NAME,
// /apis/storage.k8s.io/v1/storageclasses/NAME. The namespace is left out
// for cluster-scoped kinds.
func (r ResourceType) Path(namespace, name string) string {
	p := "/apis/" + r.GroupVersion
	if r.GroupVersion == "v1" {
		p = "/api/v1"
	}
	if r.Namespaced {
		p += "/namespaces/" + url.PathEscape(namespace)
	}
	return p + "/" + r.Plural + "/" + url.PathEscape(name)
}

// ObjectControl is what a cluster node adds to its PodService to delete
// objects that do not come from Git, when it implements it: those kept
// though removed from Git.
type ObjectControl interface {
	// DeleteObject deletes an object of a kind of Resources (namespace ""
	// for cluster-scoped kinds). Errors wrap ErrNotFound, or ErrBadRequest
	// for an object that is in Git.
	DeleteObject(ctx context.Context, kind, namespace, name string) error
}

// deleteObject serves DELETE on the path of any object of Resources but
// pods (see deletePod).
func (s *server) deleteObject(w http.ResponseWriter, r *http.Request) {
	gv := "v1"
	if g := r.PathValue("group"); g != "" {
		gv = g + "/" + r.PathValue("version")
	}
	ns := r.PathValue("ns")
	res, ok := ResourceFor(r.PathValue("resource"))
	if !ok || res.Plural != r.PathValue("resource") || res.GroupVersion != gv || res.Namespaced != (ns != "") {
		s.writeError(w, r, noSuchAPI(r))
		return
	}
	oc, ok := s.svc.(ObjectControl)
	if !ok {
		s.writeError(w, r, errNoCluster)
		return
	}
	s.writeResult(w, r, oc.DeleteObject(r.Context(), res.Kind, ns, r.PathValue("name")))
}

// DeleteObject asks the cluster to delete an object kept though removed
// from Git (or a pod, as DeletePod).
func (c *Client) DeleteObject(ctx context.Context, r ResourceType, namespace, name string) error {
	return c.send(ctx, http.MethodDelete, r.Path(namespace, name))
}
