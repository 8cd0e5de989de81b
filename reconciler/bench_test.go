package reconciler

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"
)

// BenchmarkCompute is the leader's pure step for 5,000 bare pods (each
// with a ConfigMap and a Secret) on 100 nodes, half of them already placed
// and reported running: CIDRs, Node objects, placement and each node's
// content.
func BenchmarkCompute(b *testing.B) {
	var m strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&m, `---
apiVersion: v1
kind: Pod
metadata: {name: p%d, namespace: ns%d, labels: {app: a%d}}
spec:
  containers:
  - name: c
    image: busybox
    resources: {requests: {cpu: 10m, memory: 10Mi}}
    envFrom: [{configMapRef: {name: cm}}]
  volumes: [{name: s, secret: {secretName: sec}}]
`, i, i%50, i%200)
	}
	for ns := 0; ns < 50; ns++ {
		fmt.Fprintf(&m, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: ns%d}\ndata: {a: b}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: sec, namespace: ns%d}\nstringData: {a: b}\n", ns, ns)
	}
	set, err := loadFS(fstest.MapFS{"m.yaml": {Data: []byte(m.String())}})
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Desired: set, ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"), Now: now, PodCIDRs: map[string]string{}}
	for i := 0; i < 100; i++ {
		r := report(fmt.Sprintf("n%03d", i))
		r.Info.Status.Allocatable["cpu"] = mustQ("64")
		r.Info.Status.Allocatable["memory"] = mustQ("256Gi")
		in.Nodes = append(in.Nodes, r)
		in.PodCIDRs[r.Name] = fmt.Sprintf("10.244.%d.0/24", i)
	}
	first := Compute(in)
	// Half placed and reported running, as on a later step.
	in.Placements = first.Place
	n := 0
	for node, c := range first.Nodes {
		for i := range in.Nodes {
			if in.Nodes[i].Name == node && n < 2500 {
				in.Nodes[i].Pods = c.Pods
				n += len(c.Pods)
			}
		}
	}
	b.ResetTimer()
	for b.Loop() {
		Compute(in)
	}
}
