package main

import (
	"context"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/reconciler"
)

var _ api.PreviewService = (*agent)(nil)

// Previews implements api.PreviewService from the ledger, which every
// node holds.
func (a *agent) Previews(context.Context) (*api.PreviewList, error) {
	recs, cfg := reconciler.Previews(a.cluster.Ledger())
	out := &api.PreviewList{Config: api.PreviewConfig{
		File: cfg.File, Commit: cfg.Commit, Enabled: cfg.Enabled, Refs: cfg.Refs, Domain: cfg.Domain,
		TTL: cfg.TTL, MaxPreviews: cfg.MaxPreviews, Error: cfg.Error,
	}}
	for _, r := range recs {
		out.Items = append(out.Items, api.Preview{
			ID: r.ID, Ref: r.Ref, Head: r.Head, Commit: r.Commit, Message: r.Message, State: string(r.State), Error: r.Error,
			Namespaces: r.Namespaces, URLs: r.URLs, Refused: r.Refused, Notes: r.Notes,
			FirstSeen: r.FirstSeen, LastActivity: r.LastActivity,
		})
	}
	return out, nil
}
