package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/reconciler"
	"github.com/shoal-run/shoal/reconciler/gitsource"
)

var _ api.PlanService = (*agent)(nil)

// Plan implements api.PlanService: the leader plans; any other node asks
// the leader.
func (a *agent) Plan(ctx context.Context, ref string) (json.RawMessage, error) {
	c, err := a.leaderClient()
	if err != nil {
		return nil, err
	}
	if c != nil {
		return c.Plan(ctx, ref)
	}
	res, err := a.rec.Plan(ctx, ref)
	if err != nil {
		return nil, planError(err)
	}
	return json.Marshal(res)
}

// planError gives a plan's error the API's status, its message as the
// reconciler wrote it: 404 for a ref the repository does not have, 400
// for one that does not load or is no ref, or a leader not ready yet.
func planError(err error) error {
	var le *gitsource.LoadError
	switch {
	case errors.Is(err, gitsource.ErrRefNotFound):
		return &api.Error{Message: err.Error(), Reason: api.ReasonNotFound, Code: http.StatusNotFound}
	case errors.As(err, &le), errors.Is(err, gitsource.ErrBadRef), errors.Is(err, reconciler.ErrNotLeading),
		errors.Is(err, reconciler.ErrNoRefLoader):
		return &api.Error{Message: err.Error(), Reason: api.ReasonBadRequest, Code: http.StatusBadRequest}
	}
	return err
}
