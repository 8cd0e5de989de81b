package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// PlanPath is the route of plans: GET or POST PlanPath?ref=REF.
const PlanPath = "/api/v1/plan"

// PlanService is what a cluster node adds to its ClusterService to plan a
// ref, when it implements it: what deploying the ref instead of the
// commit in force would change. The leader computes it; other nodes ask
// the leader.
type PlanService interface {
	// Plan returns the plan of ref as the JSON of a
	// reconciler/plan.Result (this package does not read it). Errors wrap
	// ErrNotFound for a ref the repository does not have, ErrBadRequest
	// for a ref whose manifests do not load (the message lists every
	// file:line) or that is not a ref name.
	Plan(ctx context.Context, ref string) (json.RawMessage, error)
}

func (s *server) plan(w http.ResponseWriter, r *http.Request) {
	ps, ok := s.cluster.(PlanService)
	if !ok {
		s.writeError(w, r, errNoCluster)
		return
	}
	ref := r.URL.Query().Get("ref")
	if ref == "" {
		s.writeError(w, r, badRequest("no ref to plan: give ?ref=REF (a branch, a tag, refs/pull/N/head or a commit)"))
		return
	}
	data, err := ps.Plan(r.Context(), ref)
	if err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	s.writeJSON(w, r, data)
}

// Plan asks the cluster what deploying ref instead of the commit in force
// would change; the answer is the JSON of a reconciler/plan.Result.
func (c *Client) Plan(ctx context.Context, ref string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+PlanPath+"?"+url.Values{"ref": {ref}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the plan from %s: %w", c.base, err)
	}
	data = bytes.TrimSpace(data)
	if !json.Valid(data) {
		return nil, fmt.Errorf("reading the plan from %s: not JSON", c.base)
	}
	return data, nil
}
