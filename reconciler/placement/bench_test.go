package placement

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// benchCluster is 1,000 nodes of 32 cpu and 128Gi in 3 zones, and 10,000
// pods of 200 apps (50 pods each) with requests, a tenth pinned to a zone by
// nodeSelector, a tenth by node affinity, and a few with host ports.
func benchCluster() Input {
	in := Input{Now: now, Placements: map[types.NamespacedName]string{}}
	for i := range 1000 {
		in.Nodes = append(in.Nodes, node(fmt.Sprintf("node-%04d", i), alloc("32", "128Gi"), labels("zone", fmt.Sprintf("z%d", i%3))))
	}
	for i := range 10000 {
		opts := []podOpt{app(fmt.Sprintf("app-%03d", i%200)), req(fmt.Sprintf("%dm", 100+i%7*50), fmt.Sprintf("%dMi", 128+i%5*64))}
		switch i % 20 {
		case 0, 1:
			opts = append(opts, selector("zone", "z1"))
		case 2, 3:
			opts = append(opts, affinity(term(expr("zone", corev1.NodeSelectorOpIn, "z0", "z2"))))
		case 4:
			opts = append(opts, port(int32(9000+i%10), "", ""))
		}
		in.Pods = append(in.Pods, pod(fmt.Sprintf("pod-%05d", i), opts...))
	}
	return in
}

func BenchmarkCompute(b *testing.B) {
	in := benchCluster()
	b.Run("10k pods onto 1k nodes", func(b *testing.B) {
		var plan Plan
		for b.Loop() {
			plan = Compute(in)
		}
		if len(plan.Place) != len(in.Pods) {
			b.Fatalf("placed %d of %d pods (pending e.g. %v)", len(plan.Place), len(in.Pods), firstOf(plan.Pending))
		}
		b.ReportMetric(float64(len(in.Pods)*b.N)/b.Elapsed().Seconds(), "pods/s")
	})
	b.Run("unchanged", func(b *testing.B) {
		placed := in
		placed.Placements = Compute(in).Place
		var plan Plan
		for b.Loop() {
			plan = Compute(placed)
		}
		if len(plan.Place) != 0 {
			b.Fatalf("unchanged Compute places %d pods", len(plan.Place))
		}
		b.ReportMetric(float64(len(in.Pods)*b.N)/b.Elapsed().Seconds(), "pods/s")
	})
}

func firstOf(m map[types.NamespacedName]string) string {
	for k, v := range m {
		return k.String() + ": " + v
	}
	return ""
}
