package pods

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
)

// metrics are the manager's Prometheus instruments.
type metrics struct {
	starts       *prometheus.CounterVec
	startSeconds prometheus.Histogram
	exits        *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		starts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_container_starts_total",
			Help: "Container starts on this node, by result (started, failed).",
		}, []string{"result"}),
		startSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shoal_container_start_seconds",
			Help:    "Time to start a container: preparing its spec and the runtime's start, until its process runs.",
			Buckets: []float64{0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5},
		}),
		exits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_container_exits_total",
			Help: "Containers that stopped on this node, by reason (Completed, Error, OOMKilled, StartError, ...).",
		}, []string{"reason"}),
	}
}

// podsDesc describes the pods-by-phase gauge, computed at each scrape.
var podsDesc = prometheus.NewDesc("shoal_pods", "Pods on this node, by phase.", []string{"phase"}, nil)

// Describe implements prometheus.Collector.
func (m *Manager) Describe(ch chan<- *prometheus.Desc) {
	ch <- podsDesc
	m.metrics.starts.Describe(ch)
	m.metrics.startSeconds.Describe(ch)
	m.metrics.exits.Describe(ch)
}

// Collect implements prometheus.Collector: the pods by phase at this
// moment, and the container counters.
func (m *Manager) Collect(ch chan<- prometheus.Metric) {
	pods, _ := m.ListPods(context.Background(), "")
	counts := map[corev1.PodPhase]float64{
		corev1.PodPending: 0, corev1.PodRunning: 0, corev1.PodSucceeded: 0, corev1.PodFailed: 0,
	}
	for _, p := range pods {
		counts[p.Status.Phase]++
	}
	for phase, n := range counts {
		ch <- prometheus.MustNewConstMetric(podsDesc, prometheus.GaugeValue, n, string(phase))
	}
	m.metrics.starts.Collect(ch)
	m.metrics.startSeconds.Collect(ch)
	m.metrics.exits.Collect(ch)
}
