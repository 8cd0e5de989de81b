package transport

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// StatusServerConfig configures the leader's StatusServer.
type StatusServerConfig struct {
	// ClusterKey is the cluster key (required).
	ClusterKey []byte
	// Report receives every authenticated NodeStatus, from any node and
	// for any term (required). It runs while the node waits for the answer:
	// it must hand the status off and return quickly. Reports may arrive
	// concurrently, out of order and more than once (retries, replays
	// within MaxSkew); order them by NodeStatus.Time or Generation.
	Report func(NodeStatus)
	// Local, if set, returns this node's own current status for GET
	// /v1/status (Client.FetchStatus), so that a new leader can gather
	// every node's actual pods before it acts instead of waiting for their
	// reports; false answers 503 (the node is still starting). It is called
	// on the request's goroutine and must not block for long.
	Local func() (NodeStatus, bool)
	// MaxSkew bounds the request timestamps (default DefaultMaxSkew).
	MaxSkew time.Duration
	// MaxBodyBytes bounds a request body (default 64 MiB).
	MaxBodyBytes int64
	// Now is the clock for signatures (default time.Now).
	Now func() time.Time
	// Logger receives the logs, with component=transport (default: none).
	Logger *slog.Logger
}

// StatusServer is the http.Handler every node serves for POST /v1/status
// (reports, which matter on the leader) and, with Local set, GET
// /v1/status (this node's own status). POST answers 204 once Report has
// returned.
type StatusServer struct {
	cfg     StatusServerConfig
	signer  *Signer
	log     *slog.Logger
	mux     *http.ServeMux
	maxBody int64
}

// NewStatusServer validates cfg and returns a StatusServer.
func NewStatusServer(cfg StatusServerConfig) (*StatusServer, error) {
	if cfg.Report == nil {
		return nil, errors.New("transport: StatusServerConfig.Report is required")
	}
	s, err := newSignerWith(cfg.ClusterKey, cfg.MaxSkew, cfg.Now)
	if err != nil {
		return nil, err
	}
	ss := &StatusServer{cfg: cfg, signer: s, log: componentLogger(cfg.Logger), mux: http.NewServeMux(), maxBody: cfg.MaxBodyBytes}
	if ss.maxBody <= 0 {
		ss.maxBody = defaultMaxBody
	}
	ss.mux.HandleFunc("POST "+StatusPath, ss.post)
	if cfg.Local != nil {
		ss.mux.HandleFunc("GET "+StatusPath, ss.get)
	}
	return ss, nil
}

func (s *StatusServer) get(w http.ResponseWriter, r *http.Request) {
	if _, ok := readSigned(w, r, s.signer, s.maxBody, s.log); !ok {
		return
	}
	st, ok := s.cfg.Local()
	if !ok {
		http.Error(w, "this node is still starting", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, st)
}

// ServeHTTP serves /v1/status; other paths get 404, other methods 405.
func (s *StatusServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *StatusServer) post(w http.ResponseWriter, r *http.Request) {
	body, ok := readSigned(w, r, s.signer, s.maxBody, s.log)
	if !ok {
		return
	}
	var st NodeStatus
	if err := json.Unmarshal(body, &st); err != nil {
		http.Error(w, "decoding NodeStatus: "+err.Error(), http.StatusBadRequest)
		return
	}
	if st.Node == "" {
		http.Error(w, "NodeStatus has no node", http.StatusBadRequest)
		return
	}
	s.log.Debug("status received", "node", st.Node, "term", st.Term, "generation", st.Generation, "pods", len(st.Pods))
	s.cfg.Report(st)
	w.WriteHeader(http.StatusNoContent)
}
