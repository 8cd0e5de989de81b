package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"

	shoaldns "github.com/shoal-run/shoal/nodeagent/dns"
	"github.com/shoal-run/shoal/nodeagent/ingress"

	"github.com/shoal-run/shoal/nodeagent/podnet"
	"github.com/shoal-run/shoal/reconciler/services"
)

// applyRoutes takes the routing table of a desired state: the pods'
// service environment reads it from then on, and the node's routes to
// the other nodes' pod ranges follow its nodes. A table that does not
// decode is logged and the last one stays in force.
func (a *agent) applyRoutes(p *nodeParts, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	var t services.Table
	if err := json.Unmarshal(raw, &t); err != nil {
		a.log.Error("the leader's routing table does not decode; keeping the last one", "error", err)
		return
	}
	prev := a.routes.Swap(&t)
	select {
	case a.proxyKick <- struct{}{}:
	default: // a sync is pending: it takes the latest table
	}
	if d := a.dns.Load(); d != nil {
		d.Update(&t)
	}
	if err := p.netpol.UpdateTable(&t); err != nil {
		a.log.Error("network policy rules; retried with the next table", "error", err)
	}
	if ing := a.ingress.Load(); ing != nil {
		if err := ing.Update(&t); err != nil {
			a.log.Warn("ingress", "error", err)
		}
	}
	if prev == nil || !reflect.DeepEqual(prev.Nodes, t.Nodes) {
		var peers []podnet.Peer
		for _, n := range t.Nodes {
			if n.Name != a.cfg.Name {
				peers = append(peers, podnet.Peer{PodCIDR: n.PodCIDR, Via: n.Address})
			}
		}
		if err := p.net.SyncPeers(peers); err != nil {
			a.log.Error("routes to the other nodes' pods", "error", err)
		} else {
			a.log.Info("routes to the other nodes' pods in step", "peers", len(peers))
		}
	}
}

// serviceEnv is the pods' service-link variables, from the last routing
// table.
func (a *agent) serviceEnv(namespace string, links bool) []corev1.EnvVar {
	return services.EnvVars(a.routes.Load(), namespace, links)
}

// startDNS starts the cluster DNS on the pod bridge's address, port 53,
// answering from the routing table and forwarding other names to the
// host's resolvers. It runs until ctx ends. A DNS that cannot start is
// logged and the node goes on without it (pods' lookups of cluster names
// then fail).
func (a *agent) startDNS(ctx context.Context, p *nodeParts) {
	up, err := shoaldns.UpstreamsFromResolvConf("/etc/resolv.conf")
	if err != nil {
		a.log.Warn("no upstream resolvers: names outside the cluster will not resolve", "error", err)
	}
	srv, err := shoaldns.New(shoaldns.Config{
		Addr:          netip.AddrPortFrom(p.net.Gateway(), 53),
		ClusterDomain: a.r.networking.ClusterDomain,
		Upstream:      up,
		ReverseCIDRs:  []netip.Prefix{a.r.clusterCIDR},
		Logger:        a.log.With("component", "dns"),
	})
	if err == nil {
		if t := a.routes.Load(); t != nil {
			srv.Update(t)
		}
		err = srv.Start(ctx)
	}
	if err != nil {
		a.log.Error("cluster DNS did not start", "error", err)
		return
	}
	a.dns.Store(srv)
	// A table that arrived between the first Update and Store.
	if t := a.routes.Load(); t != nil {
		srv.Update(t)
	}
	a.log.Info("cluster DNS serving", "addr", srv.Addr(), "upstreams", len(up))
}

// startIngress starts the ingress proxy on the configured addresses,
// serving the routing table's Ingresses until ctx ends. A proxy that
// cannot start (a port in use) is logged and the node goes on without it.
func (a *agent) startIngress(ctx context.Context) {
	if a.cfg.IngressHTTP == "" && a.cfg.IngressHTTPS == "" {
		return
	}
	p, err := ingress.New(ingress.Config{
		HTTPAddr: a.cfg.IngressHTTP, HTTPSAddr: a.cfg.IngressHTTPS, ClassName: a.cfg.IngressClass,
		Logger: a.log.With("component", "ingress"),
	})
	if err == nil {
		err = p.Start(ctx)
	}
	if err != nil {
		a.log.Error("ingress proxy did not start", "error", err)
		return
	}
	a.ingress.Store(p)
	if t := a.routes.Load(); t != nil {
		if err := p.Update(t); err != nil {
			a.log.Warn("ingress", "error", err)
		}
	}
	a.log.Info("ingress proxy serving", "http", p.HTTPAddr(), "https", p.HTTPSAddr())
}

// runProxy keeps the node's Service rules in step with the latest routing
// table: one sync at a time, always of the newest table (a sync of a large
// table takes a while; tables that arrive meanwhile are folded into the
// next). A failed sync is retried with the next table or after a few
// seconds.
func (a *agent) runProxy(ctx context.Context, p *nodeParts) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	var failed bool
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.proxyKick:
		case <-retry.C:
		}
		t := a.routes.Load()
		if t == nil {
			continue
		}
		if err := p.proxy.Sync(t); err != nil {
			a.log.Error("service routing", "error", err)
			failed = true
			retry.Reset(3 * time.Second)
			continue
		}
		if failed {
			a.log.Info("service routing in step again")
			failed = false
		}
	}
}

// runNetpol runs the network policy queue listener until ctx ends. A
// listener that fails (the queue held by another process, its socket
// broken) is started again after a few seconds; meanwhile the selected
// pods' new connections are dropped, or accepted with --queue-bypass.
func (a *agent) runNetpol(ctx context.Context, p *nodeParts) {
	for {
		err := p.netpol.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		a.log.Error("network policy listener stopped; starting it again", "error", err)
		if !waitCtx(ctx, 3*time.Second) {
			return
		}
	}
}

// RoutesPath serves the routing table this node last applied (JSON, as
// services.Table; 404 before the first): for debugging and the tests.
const RoutesPath = "/v1/routes"

func (a *agent) serveRoutes(w http.ResponseWriter, r *http.Request) {
	t := a.routes.Load()
	if t == nil {
		http.Error(w, "this node has no routing table yet", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(t)
}
