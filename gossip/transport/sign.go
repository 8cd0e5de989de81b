package transport

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Headers carrying the signature.
const (
	TimestampHeader = "X-Shoal-Timestamp" // Unix nanoseconds, decimal
	SignatureHeader = "X-Shoal-Signature" // hex HMAC-SHA256
)

// DefaultMaxSkew is how far a request's timestamp may be from the
// receiver's clock, either way.
const DefaultMaxSkew = 2 * time.Minute

// defaultMaxBody bounds a request body (a 1,000-pod state is a few MB).
const defaultMaxBody = 64 << 20

// keyLabel is the derivation label: the transport key is
// HMAC-SHA256(clusterKey, keyLabel), so it differs from the gossip key.
const keyLabel = "shoal transport v1"

// ErrSignature is wrapped by every Signer.Verify failure.
var ErrSignature = errors.New("transport: bad request signature")

// DeriveKey returns the transport key for a cluster key:
// HMAC-SHA256(clusterKey, "shoal transport v1").
func DeriveKey(clusterKey []byte) []byte {
	m := hmac.New(sha256.New, clusterKey)
	m.Write([]byte(keyLabel))
	return m.Sum(nil)
}

// Signer signs and verifies requests with the key derived from the cluster
// key. Its fields may be set after NewSigner, before first use; it is then
// safe for concurrent use.
type Signer struct {
	key []byte
	// MaxSkew is the largest accepted distance between a request's
	// timestamp and Now (default DefaultMaxSkew).
	MaxSkew time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewSigner returns a Signer for clusterKey, which must not be empty.
func NewSigner(clusterKey []byte) (*Signer, error) {
	if len(clusterKey) == 0 {
		return nil, errors.New("transport: empty cluster key")
	}
	return &Signer{key: DeriveKey(clusterKey), MaxSkew: DefaultMaxSkew, Now: time.Now}, nil
}

// mac computes the signature over method, request URI, timestamp and body.
// Each field is length-prefixed so that no two inputs share an encoding.
func (s *Signer) mac(method, uri, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	for _, f := range [][]byte{[]byte(method), []byte(uri), []byte(ts), body} {
		writeField(m, f)
	}
	return m.Sum(nil)
}

func writeField(h hash.Hash, b []byte) {
	h.Write(strconv.AppendInt(nil, int64(len(b)), 10))
	h.Write([]byte{':'})
	h.Write(b)
}

// Sign sets the timestamp and signature headers of req, whose body is body
// (nil for none). It signs req.URL.RequestURI(), the path and query that
// the server receives as its request target.
func (s *Signer) Sign(req *http.Request, body []byte) {
	ts := strconv.FormatInt(s.Now().UnixNano(), 10)
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, hex.EncodeToString(s.mac(req.Method, req.URL.RequestURI(), ts, body)))
}

// Verify checks the signature of a received request whose body is body.
// Errors wrap ErrSignature and say why (missing, malformed, skew, mismatch).
func (s *Signer) Verify(req *http.Request, body []byte) error {
	ts := req.Header.Get(TimestampHeader)
	sig := req.Header.Get(SignatureHeader)
	if ts == "" || sig == "" {
		return fmt.Errorf("%w: missing %s or %s", ErrSignature, TimestampHeader, SignatureHeader)
	}
	ns, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: malformed timestamp", ErrSignature)
	}
	skew := s.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	if d := s.Now().Sub(time.Unix(0, ns)); d > skew || d < -skew {
		return fmt.Errorf("%w: timestamp %s off by %s (max %s)", ErrSignature,
			time.Unix(0, ns).UTC().Format(time.RFC3339), d.Round(time.Second), skew)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: malformed signature", ErrSignature)
	}
	uri := req.RequestURI // the request target as received, before any StripPrefix
	if uri == "" {
		uri = req.URL.RequestURI()
	}
	if !hmac.Equal(got, s.mac(req.Method, uri, ts, body)) {
		return fmt.Errorf("%w: signature mismatch", ErrSignature)
	}
	return nil
}

// readSigned reads and verifies a request's body. On failure it answers the
// request (401 or 413), logs why, and returns ok=false.
func readSigned(w http.ResponseWriter, r *http.Request, s *Signer, maxBody int64, log *slog.Logger) (body []byte, ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			log.Warn("request refused: body too large", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "limit", maxBody)
			http.Error(w, fmt.Sprintf("body larger than %d bytes", maxBody), http.StatusRequestEntityTooLarge)
			return nil, false
		}
		log.Warn("request refused: reading body", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	if err := s.Verify(r, body); err != nil {
		log.Warn("request refused: unauthenticated", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// componentLogger returns l (or a discarding logger) with component=transport.
func componentLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return l.With("component", "transport")
}

// newSignerWith is NewSigner with the optional skew and clock of a server
// configuration (zero values keep the defaults).
func newSignerWith(clusterKey []byte, maxSkew time.Duration, now func() time.Time) (*Signer, error) {
	s, err := NewSigner(clusterKey)
	if err != nil {
		return nil, err
	}
	if maxSkew > 0 {
		s.MaxSkew = maxSkew
	}
	if now != nil {
		s.Now = now
	}
	return s, nil
}
