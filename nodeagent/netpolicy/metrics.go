package netpolicy

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Verdict label values of shoal_netpolicy_connections_total.
const (
	accepted = "accepted"
	dropped  = "dropped"
)

// metrics are the enforcer's Prometheus instruments.
type metrics struct {
	connections   *prometheus.CounterVec
	overruns      prometheus.Counter
	verdictErrors prometheus.Counter
	syncs         *prometheus.CounterVec
	selected      *prometheus.GaugeVec
}

func newMetrics() *metrics {
	return &metrics{
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_netpolicy_connections_total",
			Help: "New connections of this node's selected pods judged by network policy, by policy (namespace/name; empty when no policy's rule decided: " +
				"the pod's own node, the pod itself, or no policy set yet) and verdict (accepted, dropped). An accepted connection counts once under each " +
				"policy whose rule allowed a direction; a dropped one under each policy isolating a denying direction, once however often the client retries.",
		}, []string{"policy", "verdict"}),
		overruns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shoal_netpolicy_queue_overruns_total",
			Help: "Times the queue socket overflowed: the kernel dropped (or, with --queue-bypass, accepted) new connections the agent could not take.",
		}),
		verdictErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shoal_netpolicy_verdict_errors_total",
			Help: "Verdicts that could not be sent to the kernel (the packet stays queued until the queue is unbound).",
		}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_netpolicy_rule_syncs_total",
			Help: "Rewrites of this node's network policy queue rules, by result (ok, error).",
		}, []string{"result"}),
		selected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shoal_netpolicy_selected_pods",
			Help: "Pods of this node whose new connections are queued, by direction (ingress, egress).",
		}, []string{"direction"}),
	}
}

func (m *metrics) count(policy, verdict string) {
	m.connections.WithLabelValues(policy, verdict).Inc()
}

func (m *metrics) sync(err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.syncs.WithLabelValues(result).Inc()
}

func (m *metrics) selection(sel []Selected) {
	in, out := 0, 0
	for _, s := range sel {
		if s.Ingress {
			in++
		}
		if s.Egress {
			out++
		}
	}
	m.selected.WithLabelValues("ingress").Set(float64(in))
	m.selected.WithLabelValues("egress").Set(float64(out))
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.connections, m.overruns, m.verdictErrors, m.syncs, m.selected}
}

// Describe implements prometheus.Collector.
func (e *Enforcer) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range e.metrics.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector: connections by policy and
// verdict, queue overruns, verdict errors, rule syncs and selected pods.
func (e *Enforcer) Collect(ch chan<- prometheus.Metric) {
	for _, c := range e.metrics.collectors() {
		c.Collect(ch)
	}
}
