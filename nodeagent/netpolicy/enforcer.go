package netpolicy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/policies/network"
	"github.com/shoal-run/shoal/reconciler/services"
)

// Enforcer enforces the cluster's NetworkPolicies on one node: the queue
// rules of its selected pods and the listener that judges their new
// connections. Create it with New; it is safe for concurrent use.
type Enforcer struct {
	cfg     Config
	log     *slog.Logger
	debug   bool // the logger takes debug records: each verdict is logged
	metrics *metrics
	// set is the policy set verdicts are asked of; nil until the first
	// Update.
	set atomic.Pointer[network.Set]

	mu    sync.Mutex
	ready bool // Setup ran (and Teardown did not since)
	// written is the rule text the chain holds, "" when unknown (the next
	// Update then writes it).
	written  string
	selected []Selected
	// drops remembers recently dropped flows, so that a client's
	// retransmissions count as one dropped connection. Only the listener
	// goroutine uses it.
	drops *recent
}

// New validates cfg (filling the zero fields that have defaults) and
// returns an Enforcer. It does not touch the system.
func New(cfg Config) (*Enforcer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Enforcer{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "netpolicy"),
		debug:   cfg.Logger.Enabled(context.Background(), slog.LevelDebug),
		metrics: newMetrics(),
		drops:   newRecent(dropMemory, dropMemoryFor),
	}, nil
}

// Config returns the validated configuration, defaults filled in.
func (e *Enforcer) Config() Config { return e.cfg }

// Setup makes the node ready for Update; it is idempotent and meant to run
// at every agent start. It creates Chain when missing — an existing chain
// keeps its rules, so selected pods stay enforced (or, without a listener,
// fail closed or open as configured) across an agent restart — and puts
// the jump to it at the head of filter FORWARD when it is not there.
func (e *Enforcer) Setup() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.setupRules(); err != nil {
		return err
	}
	e.ready, e.written = true, ""
	e.log.Info("network policy set up", "queue", e.cfg.QueueNum, "bypass", e.cfg.Bypass)
	return nil
}

// Update makes the node enforce in: it compiles the policy set, which
// verdicts use from then on, and rewrites Chain in one iptables-restore
// transaction when the queue rules of this node's pods differ from those
// last written (always after Setup). The set is swapped first: a pod newly
// selected is judged as soon as its rule is in; a pod no longer selected
// is judged open until its rule is gone. Update runs Setup first when it
// has not run. A failed rewrite leaves the previous rules in place and is
// tried again by the next Update.
func (e *Enforcer) Update(in network.Input) error {
	set := network.New(in)
	e.set.Store(set)
	sel := e.selectedOf(set, in.Pods)
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.ready {
		if err := e.setupRules(); err != nil {
			e.metrics.sync(err)
			return err
		}
		e.ready, e.written = true, ""
	}
	text := Render(e.cfg, sel)
	if text == e.written {
		return nil
	}
	err := e.restore(text)
	e.metrics.sync(err)
	if err != nil {
		e.written = ""
		return fmt.Errorf("write network policy rules: %w", err)
	}
	e.written, e.selected = text, sel
	e.metrics.selection(sel)
	e.log.Info("network policy rules written", "policies", set.Len(), "selectedPods", len(sel))
	return nil
}

// UpdateTable is Update with the policy inputs of a routing table
// (InputOf).
func (e *Enforcer) UpdateTable(t *services.Table) error { return e.Update(InputOf(t)) }

// Selection returns this node's selected pods as last written, in
// namespace/name order.
func (e *Enforcer) Selection() []Selected {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.selected)
}

// selectedOf returns the pods in Config.PodCIDR that set isolates in some
// direction, in namespace/name order.
func (e *Enforcer) selectedOf(set *network.Set, pods []network.Pod) []Selected {
	var out []Selected
	seen := map[netip.Addr]bool{}
	for _, p := range pods {
		ip := p.IP.Unmap()
		if p.HostNetwork || !ip.Is4() || !e.cfg.PodCIDR.Contains(ip) || seen[ip] {
			continue
		}
		seen[ip] = true
		in, out2 := set.Selected(ip)
		if in || out2 {
			ns := p.Namespace
			if ns == "" {
				ns = "default"
			}
			out = append(out, Selected{Pod: network.Ref{Namespace: ns, Name: p.Name}, IP: ip, Ingress: in, Egress: out2})
		}
	}
	slices.SortFunc(out, func(a, b Selected) int {
		return cmp.Or(strings.Compare(a.Pod.Namespace, b.Pod.Namespace), strings.Compare(a.Pod.Name, b.Pod.Name), a.IP.Compare(b.IP))
	})
	return out
}

// Teardown removes the jump and Chain; it is idempotent. The listener,
// if running, keeps running until its context ends (nothing is queued to
// it any more). An Update after Teardown sets up again.
func (e *Enforcer) Teardown() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ready, e.written, e.selected = false, "", nil
	if err := e.removeRules(); err != nil {
		return err
	}
	e.log.Info("network policy torn down")
	return nil
}

// InputOf returns the policy inputs a routing table carries
// (services.Policy) as the verdict's Input; empty when it carries none.
// The Input points into t: t must not change while the Input is used.
func InputOf(t *services.Table) network.Input {
	var in network.Input
	if t == nil || t.Policy == nil {
		return in
	}
	p := t.Policy
	for i := range p.NetworkPolicies {
		in.Policies = append(in.Policies, &p.NetworkPolicies[i])
	}
	for _, ns := range p.Namespaces {
		n := &corev1.Namespace{}
		n.Name, n.Labels = ns.Name, ns.Labels
		in.Namespaces = append(in.Namespaces, n)
	}
	in.Pods = make([]network.Pod, 0, len(p.Pods))
	for _, pp := range p.Pods {
		in.Pods = append(in.Pods, network.Pod{
			Namespace: pp.Namespace, Name: pp.Name, Labels: pp.Labels, IP: pp.IP, HostIPs: pp.HostIPs,
			HostNetwork: pp.HostNetwork, Ports: pp.Ports,
		})
	}
	return in
}

// errStopped is returned by Run when the queue's socket failed for good.
var errStopped = errors.New("netpolicy: the queue listener stopped")
