package transport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/gossip/internal/atomicfile"
)

// ReceiverConfig configures a node's Receiver.
type ReceiverConfig struct {
	// ClusterKey is the cluster key (required); requests are verified with
	// DeriveKey(ClusterKey).
	ClusterKey []byte
	// StateFile is where the last accepted state is kept (mode 0600: it
	// holds Secrets). Empty keeps it in memory only, which is for tests.
	StateFile string
	// Leader returns the term of the leader in this node's own view, and
	// false when it sees none (required). With a gossip.Cluster use
	// LeaderOf(cluster). It is called on every PUT and must not block.
	Leader func() (gossip.Term, bool)
	// Apply receives each accepted state, after it has been persisted, one
	// at a time in the order accepted. It runs while the leader waits for
	// the answer: it must hand the state off (e.g. to the pod manager's
	// loop) and return quickly, and must not modify it. May be nil.
	Apply func(NodeState)
	// Node, if set, is this node's name: a state for another node is
	// refused (400).
	Node string
	// MaxSkew bounds the request timestamps (default DefaultMaxSkew).
	MaxSkew time.Duration
	// MaxBodyBytes bounds a request body (default 64 MiB).
	MaxBodyBytes int64
	// Now is the clock for signatures (default time.Now).
	Now func() time.Time
	// Logger receives the logs, with component=transport (default: none).
	Logger *slog.Logger
}

// LeaderOf adapts a gossip cluster's view of the election for
// ReceiverConfig.Leader.
func LeaderOf(c *gossip.Cluster) func() (gossip.Term, bool) {
	return func() (gossip.Term, bool) {
		l := c.Leader()
		return l.Term, l.Term != ""
	}
}

// Receiver is a node's http.Handler for PUT and GET /v1/desired. See the
// package documentation for the rules it applies.
type Receiver struct {
	cfg     ReceiverConfig
	signer  *Signer
	log     *slog.Logger
	mux     *http.ServeMux
	maxBody int64

	mu    sync.Mutex // serialises accepting: check, persist, Apply
	state NodeState  // last accepted; valid if raw != nil
	raw   []byte     // its JSON as received and persisted
}

// NewReceiver validates cfg and returns a Receiver that starts from the
// state in cfg.StateFile, if any (see State). It does not call Apply for
// that state: the caller starts its node from Receiver.State.
func NewReceiver(cfg ReceiverConfig) (*Receiver, error) {
	if cfg.Leader == nil {
		return nil, errors.New("transport: ReceiverConfig.Leader is required")
	}
	s, err := newSignerWith(cfg.ClusterKey, cfg.MaxSkew, cfg.Now)
	if err != nil {
		return nil, err
	}
	r := &Receiver{cfg: cfg, signer: s, log: componentLogger(cfg.Logger), mux: http.NewServeMux(), maxBody: cfg.MaxBodyBytes}
	if r.maxBody <= 0 {
		r.maxBody = defaultMaxBody
	}
	if cfg.StateFile != "" {
		st, raw, err := readState(cfg.StateFile)
		if err != nil {
			return nil, err
		}
		if raw != nil {
			r.state, r.raw = st, raw
			r.log.Info("loaded desired state", "file", cfg.StateFile, "term", st.Term, "generation", st.Generation, "pods", len(st.Pods))
		}
	}
	r.mux.HandleFunc("PUT "+DesiredPath, r.put)
	r.mux.HandleFunc("GET "+DesiredPath, r.get)
	return r, nil
}

// ServeHTTP serves PUT and GET /v1/desired; other paths get 404, other
// methods 405.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.mux.ServeHTTP(w, req) }

// State returns the last accepted state, and false if there is none. The
// caller must not modify it.
func (r *Receiver) State() (NodeState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state, r.raw != nil
}

func (r *Receiver) put(w http.ResponseWriter, req *http.Request) {
	body, ok := readSigned(w, req, r.signer, r.maxBody, r.log)
	if !ok {
		return
	}
	var st NodeState
	if err := json.Unmarshal(body, &st); err != nil {
		http.Error(w, "decoding NodeState: "+err.Error(), http.StatusBadRequest)
		return
	}
	if st.Term == "" {
		http.Error(w, "NodeState has no term", http.StatusBadRequest)
		return
	}
	if r.cfg.Node != "" && st.Node != r.cfg.Node {
		http.Error(w, fmt.Sprintf("state for node %q sent to node %q", st.Node, r.cfg.Node), http.StatusBadRequest)
		return
	}
	log := r.log.With("term", st.Term, "generation", st.Generation)

	r.mu.Lock()
	defer r.mu.Unlock()
	leader, ok := r.cfg.Leader()
	switch {
	case !ok:
		log.Info("desired state refused: no leader in this node's view")
		http.Error(w, fmt.Sprintf("term %s is not the leader's: this node sees no leader", st.Term), http.StatusConflict)
		return
	case leader != st.Term:
		log.Info("desired state refused: not the leader's term", "leader", leader)
		http.Error(w, fmt.Sprintf("term %s is not the leader's: this node follows term %s", st.Term, leader), http.StatusConflict)
		return
	}
	if r.raw != nil && r.state.Term == st.Term && st.Generation <= r.state.Generation {
		result := resultUnchanged
		if st.Generation < r.state.Generation {
			result = resultStale
		}
		log.Debug("desired state ignored", "result", result, "current", r.state.Generation)
		writeJSON(w, pushReply{Result: result, Term: r.state.Term, Generation: r.state.Generation})
		return
	}
	if r.cfg.StateFile != "" {
		if err := atomicfile.Write(r.cfg.StateFile, body); err != nil {
			log.Error("desired state not persisted", "file", r.cfg.StateFile, "err", err)
			http.Error(w, "persisting state: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	r.state, r.raw = st, body
	log.Info("desired state accepted", "pods", len(st.Pods), "configMaps", len(st.ConfigMaps), "secrets", len(st.Secrets))
	if r.cfg.Apply != nil {
		r.cfg.Apply(st)
	}
	writeJSON(w, pushReply{Result: resultApplied, Term: st.Term, Generation: st.Generation})
}

func (r *Receiver) get(w http.ResponseWriter, req *http.Request) {
	if _, ok := readSigned(w, req, r.signer, r.maxBody, r.log); !ok {
		return
	}
	r.mu.Lock()
	raw := r.raw
	r.mu.Unlock()
	if raw == nil {
		http.Error(w, "no desired state accepted yet", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(raw)
}

// LoadState reads the state a Receiver persisted at path. ok is false, with
// no error, when there is no such file.
func LoadState(path string) (st NodeState, ok bool, err error) {
	st, raw, err := readState(path)
	return st, raw != nil, err
}

// readState reads and decodes a state file; raw is nil if there is none.
func readState(path string) (NodeState, []byte, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return NodeState{}, nil, nil
	}
	if err != nil {
		return NodeState{}, nil, fmt.Errorf("transport: reading state: %w", err)
	}
	var st NodeState
	if err := json.Unmarshal(raw, &st); err != nil {
		return NodeState{}, nil, fmt.Errorf("transport: state file %s: %w", path, err)
	}
	return st, raw, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
