package runtime_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/runtime"
)

// BenchmarkStartToExit measures a container's whole life: Start of
// /bin/true on an overlay of the busybox layer, Wait, Remove.
func BenchmarkStartToExit(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	var startTotal, waitTotal, removeTotal time.Duration
	i := 0
	for b.Loop() {
		s := e.spec("bench-"+strconv.Itoa(i), "/bin/true")
		i++
		t0 := time.Now()
		if _, err := e.rt.Start(ctx, s); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		st, err := e.rt.Wait(ctx, s.ID)
		if err != nil || st.ExitCode != 0 {
			b.Fatalf("wait: %+v %v", st, err)
		}
		t2 := time.Now()
		if err := e.rt.Remove(s.ID, runtime.RemoveOptions{}); err != nil {
			b.Fatal(err)
		}
		startTotal += t1.Sub(t0)
		waitTotal += t2.Sub(t1)
		removeTotal += time.Since(t2)
	}
	n := float64(i)
	b.ReportMetric(float64(startTotal.Microseconds())/1000/n, "start-ms/op")
	b.ReportMetric(float64(waitTotal.Microseconds())/1000/n, "wait-ms/op")
	b.ReportMetric(float64(removeTotal.Microseconds())/1000/n, "remove-ms/op")
}

// BenchmarkExec measures one Exec of /bin/true in a running container.
func BenchmarkExec(b *testing.B) {
	e := newEnv(b)
	s := e.spec("bench-exec", "sleep", "1000")
	e.start(b, s)
	ctx := context.Background()
	for b.Loop() {
		if code, err := e.rt.Exec(ctx, s.ID, runtime.ExecSpec{Args: []string{"/bin/true"}}); err != nil || code != 0 {
			b.Fatalf("exec: %d %v", code, err)
		}
	}
}
