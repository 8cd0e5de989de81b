package api

import (
	"net/http"
	"sync"
	"time"
)

func (s *server) podLog(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	opts := LogOptions{
		Container:  r.URL.Query().Get("container"),
		Follow:     q.bool("follow"),
		Previous:   q.bool("previous"),
		Timestamps: q.bool("timestamps"),
		TailLines:  q.int("tailLines", -1, -1),
		Since:      time.Duration(q.int("sinceSeconds", 0, 0)) * time.Second,
	}
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	ns, name := r.PathValue("ns"), r.PathValue("name")
	lw := &logResponse{w: w, rc: http.NewResponseController(w), follow: opts.Follow}
	err := s.svc.Logs(r.Context(), ns, name, opts, lw)
	if err == nil || (isGone(err) && r.Context().Err() != nil) {
		lw.start() // an empty log is still a 200
		return
	}
	if !lw.started() {
		s.writeError(w, r, errorFor(err))
		return
	}
	s.log.Warn("log stream broken off", "namespace", ns, "pod", name, "container", opts.Container, "err", err)
	w.Header().Set(TrailerError, err.Error())
}

// logResponse is the writer a PodService writes a log to: the first write
// sends the 200 header, and with follow every write is flushed. It is safe
// for concurrent use.
type logResponse struct {
	mu     sync.Mutex
	w      http.ResponseWriter
	rc     *http.ResponseController
	follow bool
	begun  bool
}

func (l *logResponse) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.startLocked()
	n, err := l.w.Write(p)
	if err == nil && l.follow {
		err = l.rc.Flush()
	}
	return n, err
}

func (l *logResponse) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.startLocked()
}

func (l *logResponse) startLocked() {
	if l.begun {
		return
	}
	l.begun = true
	h := l.w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Trailer", TrailerError) // announced, so that the body is chunked and the trailer can follow
	l.w.WriteHeader(http.StatusOK)
	if l.follow {
		l.rc.Flush()
	}
}

func (l *logResponse) started() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.begun
}
