package api

import (
	"context"
	"net/http"
)

// PodControl is what a cluster node adds to its PodService to take pods
// out of their controllers and delete them, when it implements it.
type PodControl interface {
	// QuarantinePod takes a pod out of its controller (which replaces it)
	// and keeps it running until DeletePod.
	QuarantinePod(ctx context.Context, namespace, name string) error
	// DeletePod deletes a pod that does not come from Git. Errors wrap
	// ErrNotFound or ErrBadRequest (a pod of the repository).
	DeletePod(ctx context.Context, namespace, name string) error
}

func (s *server) quarantinePod(w http.ResponseWriter, r *http.Request) {
	s.podControl(w, r, func(pc PodControl) error {
		return pc.QuarantinePod(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	})
}

func (s *server) deletePod(w http.ResponseWriter, r *http.Request) {
	s.podControl(w, r, func(pc PodControl) error {
		return pc.DeletePod(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	})
}

func (s *server) podControl(w http.ResponseWriter, r *http.Request, fn func(PodControl) error) {
	pc, ok := s.svc.(PodControl)
	if !ok {
		s.writeError(w, r, errNoCluster)
		return
	}
	s.writeResult(w, r, fn(pc))
}

// writeResult answers a request that returns no object: its error, or
// Success.
func (s *server) writeResult(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.writeError(w, r, errorFor(err))
		return
	}
	s.writeJSON(w, r, map[string]string{"status": "Success"})
}

// QuarantinePod asks the cluster to take a pod out of its controller.
func (c *Client) QuarantinePod(ctx context.Context, namespace, name string) error {
	return c.send(ctx, http.MethodPost, podPath(namespace, name)+"/quarantine")
}

// DeletePod asks the cluster to delete a pod.
func (c *Client) DeletePod(ctx context.Context, namespace, name string) error {
	return c.send(ctx, http.MethodDelete, podPath(namespace, name))
}

// send makes a request without a body and drops a 2xx answer's body.
func (c *Client) send(ctx context.Context, method, path string) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
