package ingress

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
)

// BenchmarkProxy measures requests per second to one endpoint, straight
// ("direct") and through the proxy ("proxy"), in the same run, from
// parallel keep-alive clients; the difference is the proxy's cost.
func BenchmarkProxy(b *testing.B) {
	be := newBackend(b, "ok")
	prx := startProxy(b, Config{Logger: slog.New(slog.DiscardHandler)})
	update(b, prx, ing("site", rule("", prefix("/", svc("app", be)))))
	for _, tc := range []struct{ name, addr string }{
		{"direct", be.addr.String()},
		{"proxy", prx.HTTPAddr().String()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			url := "http://" + tc.addr + "/"
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := c.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
