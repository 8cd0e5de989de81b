package reconciler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the reconciler's Prometheus metrics. Register them with
// Collectors; a nil *Metrics records nothing.
type Metrics struct {
	syncDuration *prometheus.HistogramVec
	syncErrors   *prometheus.CounterVec
	syncSuccess  *prometheus.GaugeVec
	pushDuration prometheus.Histogram
	pushErrors   prometheus.Counter
}

// NewMetrics makes the reconciler's metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shoal_sync_duration_seconds",
			Help:    "Duration of Git syncs (ref listing, fetch, load) by the leader, per tracked ref.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"ref"}),
		syncErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_sync_errors_total",
			Help: "Git syncs that failed (unreachable, authentication, a commit that does not load), per tracked ref.",
		}, []string{"ref"}),
		syncSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shoal_sync_last_success_timestamp_seconds",
			Help: "Unix time of the last successful Git sync, per tracked ref.",
		}, []string{"ref"}),
		pushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shoal_push_duration_seconds",
			Help:    "Duration of desired-state pushes from the leader to a node.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		pushErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shoal_push_errors_total",
			Help: "Desired-state pushes that failed (retried).",
		}),
	}
}

// Collectors returns the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.syncDuration, m.syncErrors, m.syncSuccess, m.pushDuration, m.pushErrors}
}

// ObserveSync records one sync of ref; use it as gitsource.Config.Observe.
func (m *Metrics) ObserveSync(ref string, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.syncDuration.WithLabelValues(ref).Observe(d.Seconds())
	if err != nil {
		m.syncErrors.WithLabelValues(ref).Inc()
	} else {
		m.syncSuccess.WithLabelValues(ref).SetToCurrentTime()
	}
}

func (m *Metrics) observePush(d time.Duration, err error) {
	if m == nil {
		return
	}
	m.pushDuration.Observe(d.Seconds())
	if err != nil {
		m.pushErrors.Inc()
	}
}
