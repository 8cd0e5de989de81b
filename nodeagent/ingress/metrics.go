package ingress

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the proxy's Prometheus instruments.
type metrics struct {
	requests *prometheus.CounterVec
	retries  *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_ingress_requests_total",
			Help: "Requests the ingress proxy of this node answered, by Ingress (namespace, ingress), backend Service (namespace/name) and status code; no rule matched has ingress and service empty.",
		}, []string{"namespace", "ingress", "service", "code"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_ingress_upstream_retries_total",
			Help: "Connections to an endpoint that failed before the request was sent, so that the next endpoint was tried, by backend Service (namespace/name).",
		}, []string{"service"}),
	}
}

func (m *metrics) request(namespace, ingress, service string, code int) {
	m.requests.WithLabelValues(namespace, ingress, service, strconv.Itoa(code)).Inc()
}

// Describe implements prometheus.Collector.
func (p *Proxy) Describe(ch chan<- *prometheus.Desc) {
	p.metrics.requests.Describe(ch)
	p.metrics.retries.Describe(ch)
}

// Collect implements prometheus.Collector: the request and retry counters
// since New.
func (p *Proxy) Collect(ch chan<- prometheus.Metric) {
	p.metrics.requests.Collect(ch)
	p.metrics.retries.Collect(ch)
}
