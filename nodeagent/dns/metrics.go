package dns

import (
	"net/netip"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus instruments.
type metrics struct {
	queries          *prometheus.CounterVec
	upstreamFailures *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_dns_queries_total",
			Help: "Queries the node's DNS answered, by source (cluster: from the routing table; upstream: forwarded) and response code.",
		}, []string{"source", "rcode"}),
		upstreamFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoal_dns_upstream_failures_total",
			Help: "Failed attempts at an upstream resolver (timeout, unreachable, SERVFAIL or REFUSED), by upstream.",
		}, []string{"upstream"}),
	}
}

func (m *metrics) query(source string, rcode int) {
	m.queries.WithLabelValues(source, dns.RcodeToString[rcode]).Inc()
}

func (m *metrics) upstreamFailed(u netip.AddrPort) {
	m.upstreamFailures.WithLabelValues(u.String()).Inc()
}

var (
	servicesDesc = prometheus.NewDesc("shoal_dns_services",
		"Services in the routing table the node's DNS answers from.", nil, nil)
	namesDesc = prometheus.NewDesc("shoal_dns_names",
		"Names indexed by the node's DNS (records and empty non-terminals; pod names are made up per query and not counted).", nil, nil)
)

// Describe implements prometheus.Collector.
func (s *Server) Describe(ch chan<- *prometheus.Desc) {
	ch <- servicesDesc
	ch <- namesDesc
	s.metrics.queries.Describe(ch)
	s.metrics.upstreamFailures.Describe(ch)
}

// Collect implements prometheus.Collector: the size of the current index
// and the query counters.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	z := s.zone.Load()
	ch <- prometheus.MustNewConstMetric(servicesDesc, prometheus.GaugeValue, float64(z.services))
	ch <- prometheus.MustNewConstMetric(namesDesc, prometheus.GaugeValue, float64(len(z.names)))
	s.metrics.queries.Collect(ch)
	s.metrics.upstreamFailures.Collect(ch)
}
