package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shoal-run/shoal/nodeagent/api"
)

var _ api.PlanService = (*planner)(nil)

// planner is a cluster node that plans: "good" has a plan, "bad" does not
// load, anything else is not found.
type planner struct {
	nodesOnly
	asked []string
}

func (p *planner) Plan(_ context.Context, ref string) (json.RawMessage, error) {
	p.asked = append(p.asked, ref)
	switch ref {
	case "good", "refs/pull/7/head":
		return json.RawMessage(`{"ref":"` + ref + `","objects":[]}`), nil
	case "bad":
		return nil, fmt.Errorf("commit abc on refs/heads/bad: web.yaml:3: Deployment/web: error: unknown field: %w", api.ErrBadRequest)
	}
	return nil, fmt.Errorf("no such ref %q: %w", ref, api.ErrNotFound)
}

func TestPlanRoute(t *testing.T) {
	p := &planner{}
	srv, client := startWorkloads(t, p)
	ctx := context.Background()
	for _, ref := range []string{"good", "refs/pull/7/head"} {
		data, err := client.Plan(ctx, ref)
		if err != nil || string(data) != `{"ref":"`+ref+`","objects":[]}` {
			t.Errorf("Plan(%q) = %s, %v", ref, data, err)
		}
	}
	if _, err := client.Plan(ctx, "bad"); !errors.Is(err, api.ErrBadRequest) || !strings.Contains(err.Error(), "web.yaml:3") {
		t.Errorf("Plan(bad): %v", err)
	}
	if _, err := client.Plan(ctx, "nope"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("Plan(nope): %v", err)
	}
	resp, err := http.Get(srv.URL + api.PlanPath + "?ref=good")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Post(srv.URL+api.PlanPath, "", nil)
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST without a ref: %v %v", resp, err)
	}
	resp.Body.Close()
	if got := strings.Join(p.asked, ","); got != "good,refs/pull/7/head,bad,nope,good" {
		t.Errorf("asked %s", got)
	}

	// A node that cannot plan: 404, it belongs to no cluster that can.
	_, other := startWorkloads(t, nodesOnly{})
	if _, err := other.Plan(ctx, "good"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("Plan on a node without plans: %v", err)
	}
}
