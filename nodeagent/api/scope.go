package api

import (
	"context"
	"fmt"
	"net/http"
)

// Scope is the query parameter that narrows what a request is answered
// from. With ScopeNode (scope=node) a node answers from its own pods only,
// never asking the other nodes of its cluster: the cluster's PodService uses
// it when it forwards a request to the node that runs the pod, so that the
// forwarded request is not forwarded again.
const (
	ScopeParam = "scope"
	ScopeNode  = "node"
)

type nodeScopeKey struct{}

// WithNodeScope returns a context that marks a request as node-scoped: the
// server puts it in the context of every request with scope=node, and a
// PodService reads it with NodeScope.
func WithNodeScope(ctx context.Context) context.Context {
	return context.WithValue(ctx, nodeScopeKey{}, true)
}

// NodeScope reports whether ctx is that of a node-scoped request, which a
// PodService must answer from this node's own pods only.
func NodeScope(ctx context.Context) bool {
	v, _ := ctx.Value(nodeScopeKey{}).(bool)
	return v
}

// scope puts the request's scope in its context; an unknown scope is a bad
// request.
func (s *server) scope(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch v := r.URL.Query().Get(ScopeParam); v {
		case "":
		case ScopeNode:
			r = r.WithContext(WithNodeScope(r.Context()))
		default:
			s.writeError(w, r, badRequest(fmt.Sprintf("%s=%q: the only scope is %q", ScopeParam, v, ScopeNode)))
			return
		}
		next.ServeHTTP(w, r)
	})
}
