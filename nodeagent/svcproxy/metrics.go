package svcproxy

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the proxy's Prometheus instruments.
type metrics struct {
	syncs       *prometheus.CounterVec
	syncSeconds prometheus.Histogram
	ruleCount   *prometheus.GaugeVec
	announced   prometheus.Gauge
}

func newMetrics() *metrics {
	return &metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_svcproxy_syncs_total",
			Help: "Service proxy syncs on this node, by result (ok, error).",
		}, []string{"result"}),
		syncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "shoal_svcproxy_sync_seconds",
			Help:    "Time of one service proxy sync: rendering, the iptables-restore transaction, health-check servers and announced addresses.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}),
		ruleCount: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shoal_svcproxy_rules",
			Help: "iptables rules the service proxy last wrote, by table (nat, filter).",
		}, []string{"table"}),
		announced: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "shoal_svcproxy_announced_addresses",
			Help: "Load-balancer addresses this node announces.",
		}),
	}
}

func (m *metrics) observe(d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.syncs.WithLabelValues(result).Inc()
	m.syncSeconds.Observe(d.Seconds())
}

func (m *metrics) rules(nat, filter int) {
	m.ruleCount.WithLabelValues("nat").Set(float64(nat))
	m.ruleCount.WithLabelValues("filter").Set(float64(filter))
}

// Describe implements prometheus.Collector.
func (p *Proxy) Describe(ch chan<- *prometheus.Desc) {
	p.metrics.syncs.Describe(ch)
	p.metrics.syncSeconds.Describe(ch)
	p.metrics.ruleCount.Describe(ch)
	p.metrics.announced.Describe(ch)
}

// Collect implements prometheus.Collector: syncs by result, sync time,
// rules by table and announced addresses.
func (p *Proxy) Collect(ch chan<- prometheus.Metric) {
	p.metrics.syncs.Collect(ch)
	p.metrics.syncSeconds.Collect(ch)
	p.metrics.ruleCount.Collect(ch)
	p.metrics.announced.Collect(ch)
}
