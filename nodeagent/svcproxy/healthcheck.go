package svcproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/shoal-run/shoal/reconciler/services"
)

// healthReply is kube-proxy's health-check answer.
type healthReply struct {
	Service struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"service"`
	LocalEndpoints int `json:"localEndpoints"`
}

// healthServer answers on one health-check node port for one Service.
type healthServer struct {
	port  int32
	srv   *http.Server
	done  chan struct{}
	state atomic.Pointer[healthReply]
}

// ServeHTTP answers every request: 200 when the node has a ready local
// endpoint of the Service, 503 otherwise, with the JSON body either way.
func (h *healthServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	st := h.state.Load()
	body, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Load-Balancing-Endpoint-Weight", strconv.Itoa(st.LocalEndpoints))
	if st.LocalEndpoints == 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	w.Write(body)
}

// localEndpoints counts the ready endpoints of s on node (by address).
func localEndpoints(s *services.Service, node string) int {
	seen := map[string]bool{}
	for _, e := range s.Endpoints {
		if e.Ready && e.Node != "" && e.Node == node && e.IP.IsValid() {
			seen[e.IP.String()] = true
		}
	}
	return len(seen)
}

// syncHealth makes the health-check servers follow t: one per Service with
// a HealthCheckNodePort, listening on 0.0.0.0:<port> in the node's
// namespace. A port that cannot be bound is an error (the other servers
// still follow t); the next Sync tries again.
func (p *Proxy) syncHealth(t *services.Table) error {
	want := map[int32]*healthReply{}
	if t != nil {
		for i := range t.Services {
			s := &t.Services[i]
			if s.HealthCheckNodePort <= 0 || s.HealthCheckNodePort > 65535 {
				continue
			}
			r := &healthReply{LocalEndpoints: localEndpoints(s, p.cfg.NodeName)}
			r.Service.Namespace, r.Service.Name = s.Namespace, s.Name
			want[s.HealthCheckNodePort] = r
		}
	}
	for port, h := range p.health {
		if want[port] == nil {
			h.stop()
			delete(p.health, port)
			p.log.Info("health-check server stopped", "port", port)
		}
	}
	var errs []error
	for port, r := range want {
		h := p.health[port]
		if h == nil {
			var err error
			if h, err = p.startHealth(port); err != nil {
				errs = append(errs, err)
				continue
			}
			p.health[port] = h
			p.log.Info("health-check server started", "port", port, "service", r.Service.Namespace+"/"+r.Service.Name)
		}
		h.state.Store(r)
	}
	return errors.Join(errs...)
}

// startHealth listens on port in the node's namespace and serves it from
// an ordinary goroutine (the socket stays in the namespace it was made in).
func (p *Proxy) startHealth(port int32) (*healthServer, error) {
	var ln net.Listener
	addr := fmt.Sprintf("0.0.0.0:%d", port)
	err := inNetNS(p.cfg.NetNS, func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("health-check node port: listen on %s: %w", addr, err)
	}
	h := &healthServer{port: port, done: make(chan struct{})}
	h.state.Store(&healthReply{})
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	go func() {
		defer close(h.done)
		h.srv.Serve(ln)
	}()
	return h, nil
}

// stop closes the listener and every connection, and waits for Serve.
func (h *healthServer) stop() {
	h.srv.Close()
	<-h.done
}

// stopHealth stops every health-check server.
func (p *Proxy) stopHealth() {
	for port, h := range p.health {
		h.stop()
		delete(p.health, port)
	}
}
