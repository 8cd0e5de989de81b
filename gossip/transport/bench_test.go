package transport

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// BenchmarkPushState pushes a 1,000-pod NodeState to a Receiver over
// loopback: signing, HTTP, verification, decoding and (in "persisted") the
// atomic, fsynced write of the state file. Each push has a new generation,
// so every one is applied.
func BenchmarkPushState(b *testing.B) {
	for _, bc := range []struct {
		name string
		file bool
	}{{"memory", false}, {"persisted", true}} {
		b.Run(bc.name+"/1000pods", func(b *testing.B) {
			file := ""
			if bc.file {
				file = filepath.Join(b.TempDir(), "desired.json")
			}
			n := startNode(b, file, termA)
			c := newClient(b, nil)
			st := testState(termA, 0, 1000)
			raw, _ := json.Marshal(st)
			b.SetBytes(int64(len(raw)))
			for i := 0; b.Loop(); i++ {
				st.Generation = uint64(i + 1)
				if err := c.PushState(b.Context(), n.addr(), st); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw)), "bytes/push")
		})
	}
}
