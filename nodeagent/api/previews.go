package api

import (
	"context"
	"net/http"
	"time"
)

// PreviewsPath serves the cluster's previews (a PreviewList).
const PreviewsPath = "/api/v1/previews"

// PreviewService is what a cluster node adds to its API for previews,
// when its ClusterService also implements it. Every node holds the
// records, so any node answers without asking the leader.
type PreviewService interface {
	// Previews returns the preview configuration in force and every
	// preview, sorted by ref.
	Previews(ctx context.Context) (*PreviewList, error)
}

// PreviewList is the cluster's previews: refs other than the tracked
// branch deployed beside it, each in namespaces of its own.
type PreviewList struct {
	// Config is the preview configuration in force.
	Config PreviewConfig `json:"config"`
	// Items are the previews, sorted by ref.
	Items []Preview `json:"items"`
}

// PreviewConfig is the tracked branch's preview configuration as the
// leader last read it.
type PreviewConfig struct {
	// File is the configuration's path; Enabled says whether the commit
	// Commit of the tracked branch has it (previews are off without it).
	File    string `json:"file"`
	Commit  string `json:"commit,omitempty"`
	Enabled bool   `json:"enabled"`
	// Refs are the ref patterns that are previews; Domain the domain
	// their Ingress hosts are made under; TTL how long one runs without
	// a new commit; MaxPreviews how many run at once.
	Refs        []string `json:"refs,omitempty"`
	Domain      string   `json:"domain,omitempty"`
	TTL         string   `json:"ttl,omitempty"`
	MaxPreviews int      `json:"maxPreviews,omitempty"`
	// Error is why the file of Commit does not load (the configuration
	// read before stays in force).
	Error string `json:"error,omitempty"`
}

// Preview is one preview.
type Preview struct {
	// ID names the preview (pr-42, preview-shop); its namespaces are
	// <id>-<namespace>.
	ID string `json:"id"`
	// Ref is the Git ref, Head its head commit last seen, Commit the
	// commit that runs (with its subject line Message).
	Ref     string `json:"ref"`
	Head    string `json:"head"`
	Commit  string `json:"commit,omitempty"`
	Message string `json:"message,omitempty"`
	// State is Active, Failed or Expired; Error says why when it is not
	// Active, or what is wrong with the head while an earlier commit runs.
	State string `json:"state"`
	Error string `json:"error,omitempty"`
	// Namespaces and URLs are the preview's namespaces and its Ingress
	// hosts as URLs.
	Namespaces []string `json:"namespaces,omitempty"`
	URLs       []string `json:"urls,omitempty"`
	// Refused are the objects of the commit it does not run, with why;
	// Notes the changes made to those it runs.
	Refused []string `json:"refused,omitempty"`
	Notes   []string `json:"notes,omitempty"`
	// FirstSeen is when the ref was first seen, LastActivity when its
	// head last changed (the TTL counts from then).
	FirstSeen    time.Time `json:"firstSeen"`
	LastActivity time.Time `json:"lastActivity"`
}

func (s *server) previews(w http.ResponseWriter, r *http.Request) {
	svc, ok := s.cluster.(PreviewService)
	if !ok {
		s.writeError(w, r, errNoCluster)
		return
	}
	list, err := svc.Previews(r.Context())
	if err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	out := *list
	if out.Items == nil {
		out.Items = []Preview{}
	}
	s.writeJSON(w, r, &out)
}

// Previews returns the cluster's previews as the server's node sees them.
// An error wraps ErrNotFound when the server belongs to no cluster.
func (c *Client) Previews(ctx context.Context) (*PreviewList, error) {
	var list PreviewList
	if err := c.getJSON(ctx, PreviewsPath, &list); err != nil {
		return nil, err
	}
	return &list, nil
}
