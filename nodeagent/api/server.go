package api

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ServerOptions configure NewServer.
type ServerOptions struct {
	// Logger receives the server's logs, with component=api added; nil
	// means slog.Default().
	Logger *slog.Logger
	// Token, when not empty, is the bearer token every request must carry
	// ("Authorization: Bearer TOKEN"); others are answered 401.
	Token string
	// Cluster, when not nil, serves the cluster routes (nodes, status);
	// without it they answer 404: the node belongs to no cluster.
	Cluster ClusterService
}

// NewServer returns the HTTP API of a node, serving svc:
//
//	GET  /api/v1/pods                                   PodList of all namespaces
//	GET  /api/v1/namespaces/{ns}/pods                   PodList of one namespace
//	GET  /api/v1/namespaces/{ns}/pods/{name}            Pod
//	GET  /api/v1/namespaces/{ns}/pods/{name}/log        the container log as text/plain
//	POST /api/v1/namespaces/{ns}/pods/{name}/exec       upgrades to the exec protocol (see ExecProtocol)
//	POST /api/v1/namespaces/{ns}/pods/{name}/portforward?port=N
//	                                                    upgrades to a pod's port (see PortForwardProtocol; svc a PortForwarder)
//	GET  /api/v1/nodes                                  NodeList of the cluster (opts.Cluster)
//	GET  /api/v1/nodes/{name}                           Node
//	GET  /api/v1/status                                 ClusterStatus
//	GET  /api/v1[/namespaces/{ns}]/events               EventList (opts.Cluster, an EventService)
//	GET  /api/v1/previews                               PreviewList (opts.Cluster, a PreviewService)
//	GET  .../deployments, replicasets, daemonsets, jobs, cronjobs, replicationcontrollers
//	                                                    the workload Resources (opts.Cluster, a WorkloadService)
//	GET  .../services, endpoints, ingresses             the Service networking Resources (opts.Cluster, a NetworkService)
//	GET|POST /api/v1/plan?ref=REF                        what deploying REF would change (opts.Cluster, a PlanService)
//
// and, when svc implements PodControl and ObjectControl:
//
//	POST   /api/v1/namespaces/{ns}/pods/{name}/quarantine  QuarantinePod
//	DELETE /api/v1/namespaces/{ns}/pods/{name}             DeletePod
//	DELETE Resource.Path of any other kind of Resources    DeleteObject
//	       (/apis/apps/v1/namespaces/{ns}/deployments/{name}, /api/v1/persistentvolumes/{name}, ...)
//
// The cluster routes are served from opts.Cluster; a node without one
// answers them 404, saying that it belongs to no cluster.
//
// Any request may carry scope=node in its query (see ScopeNode): svc then
// finds NodeScope(ctx) true and must answer from this node's own pods. Any
// other scope is a bad request.
//
// Objects are JSON with kind and apiVersion set. Errors are an Error as
// JSON with its status code: 404 for errors wrapping ErrNotFound, 400 for a
// bad request or one wrapping ErrBadRequest, 401 without the token, 500
// otherwise.
//
// The log query takes container, follow, previous, timestamps (booleans:
// true/false/1/0), tailLines and sinceSeconds, as the Kubernetes API does.
// A log response starts when the first byte of the log is written, so that
// an error before it still gets its status code; when following, every
// write is flushed to the client at once. An error after the log has
// started ends the body and is sent in the Shoal-Error trailer.
//
// The handler holds no state of its own: svc is called on the request's
// goroutine, with the request's context (cancelled when the client goes
// away).
func NewServer(svc PodService, opts ServerOptions) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &server{svc: svc, cluster: opts.Cluster, log: log.With("component", "api"), token: opts.Token}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/pods", s.listPods)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods", s.listPods)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}", s.getPod)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/pods/{name}/log", s.podLog)
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/pods/{name}/exec", s.exec)
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/pods/{name}/portforward", s.portForward)
	mux.HandleFunc("POST /api/v1/namespaces/{ns}/pods/{name}/quarantine", s.quarantinePod)
	mux.HandleFunc("DELETE /api/v1/namespaces/{ns}/pods/{name}", s.deletePod)
	mux.HandleFunc("DELETE /api/v1/namespaces/{ns}/{resource}/{name}", s.deleteObject)
	mux.HandleFunc("DELETE /api/v1/{resource}/{name}", s.deleteObject)
	mux.HandleFunc("DELETE /apis/{group}/{version}/namespaces/{ns}/{resource}/{name}", s.deleteObject)
	mux.HandleFunc("DELETE /apis/{group}/{version}/{resource}/{name}", s.deleteObject)
	mux.HandleFunc("GET /api/v1/nodes", s.listNodes)
	mux.HandleFunc("GET /api/v1/nodes/{name}", s.getNode)
	mux.HandleFunc("GET /api/v1/status", s.status)
	mux.HandleFunc("GET /api/v1/events", s.events)
	mux.HandleFunc("GET /api/v1/namespaces/{ns}/events", s.events)
	mux.HandleFunc("GET "+PreviewsPath, s.previews)
	mux.HandleFunc("GET "+PlanPath, s.plan)
	mux.HandleFunc("POST "+PlanPath, s.plan)
	serveAllWorkloads(mux, s)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, noSuchAPI(r))
	})
	return s.authenticate(s.scope(mux))
}

// noSuchAPI answers a request no route serves.
func noSuchAPI(r *http.Request) *Error {
	return &Error{Message: fmt.Sprintf("no such API: %s %s", r.Method, r.URL.Path), Reason: ReasonNotFound, Code: http.StatusNotFound}
}

// TrailerError is the trailer of a log response that carries an error met
// after the log started.
const TrailerError = "Shoal-Error"

type server struct {
	svc     PodService
	cluster ClusterService // nil: no cluster
	log     *slog.Logger
	token   string
}

// Authenticate wraps next so that a request without "Authorization:
// Bearer token" is answered 401 with the API's error body, as the node
// API's own routes are; an empty token checks nothing. For handlers a node
// serves beside the API.
func Authenticate(token string, next http.Handler) http.Handler {
	return (&server{log: slog.Default(), token: token}).authenticate(next)
}

// authenticate answers 401 to requests without the server's token.
func (s *server) authenticate(next http.Handler) http.Handler {
	if s.token == "" {
		return next
	}
	want := []byte("Bearer " + s.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shoal"`)
			s.writeError(w, r, &Error{
				Message: "this node's API needs a bearer token (shoal: --token or SHOAL_TOKEN)",
				Reason:  ReasonUnauthorized, Code: http.StatusUnauthorized,
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *server) listPods(w http.ResponseWriter, r *http.Request) {
	pods, err := s.svc.ListPods(r.Context(), r.PathValue("ns"))
	if err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	if pods == nil {
		pods = []corev1.Pod{}
	}
	list := corev1.PodList{Items: pods}
	list.Kind, list.APIVersion = "PodList", "v1"
	s.writeJSON(w, r, list)
}

func (s *server) getPod(w http.ResponseWriter, r *http.Request) {
	pod, err := s.svc.GetPod(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	p := *pod
	p.Kind, p.APIVersion = "Pod", "v1"
	s.writeJSON(w, r, &p)
}

func (s *server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(append(body, '\n')); err != nil {
		s.log.Debug("writing response", "path", r.URL.Path, "err", err)
	}
}

// writeError answers e as JSON with its status code.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, e *Error) {
	if e.Code >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", e.Message)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "code", e.Code, "err", e.Message)
	}
	body, _ := json.Marshal(e)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Code)
	w.Write(append(body, '\n'))
}

// query reads the options of a request's query string.
type query struct {
	r   *http.Request
	err *Error
}

func (q *query) bool(name string) bool {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil && q.err == nil {
		q.err = badRequest(fmt.Sprintf("%s=%q: use true or false", name, v))
	}
	return b
}

// int reads an integer that must be at least min; def when absent.
func (q *query) int(name string, def, min int64) int64 {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if (err != nil || n < min) && q.err == nil {
		q.err = badRequest(fmt.Sprintf("%s=%q: want a whole number of at least %d", name, v, min))
	}
	return n
}
