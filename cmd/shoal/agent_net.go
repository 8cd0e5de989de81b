package main

import (
	"encoding/json"
	"reflect"

	corev1 "k8s.io/api/core/v1"

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
