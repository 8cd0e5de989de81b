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
	refused      prometheus.Gauge
	forbidden    prometheus.Gauge
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
		refused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shoal_admission_refused_objects",
			Help: "Objects of the commit in force that its admission policies refuse (they do not run).",
		}),
		forbidden: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shoal_admission_forbidden_creates",
			Help: "Controllers and bare pods that a LimitRange or ResourceQuota kept from creating a pod in the leader's last step.",
		}),
	}
}

// Collectors returns the metrics to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.syncDuration, m.syncErrors, m.syncSuccess, m.pushDuration, m.pushErrors, m.refused, m.forbidden}
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

func (m *Metrics) setRefused(n int) {
	if m != nil {
		m.refused.Set(float64(n))
	}
}

func (m *Metrics) setForbidden(n int) {
	if m != nil {
		m.forbidden.Set(float64(n))
	}
}
