package pods_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkPodStartToReady measures, for each of 50 pods added one at a
// time to the desired state, the time from Apply to the pod's container
// running and the pod Ready (image present, no readiness probe: Ready as
// soon as the container runs). It reports p50 and p99. The manager's
// Changed notification wakes the wait, so no poll interval adds to it.
// With SHOAL_BENCH_RUNC=1 it also times `runc run -d` (Debian's runc) of an
// equivalent bundle — the same busybox root, the same command — right
// after each pod, so that both see the same load on a shared machine, and
// reports the ratio of the p50s.
func BenchmarkPodStartToReady(b *testing.B) {
	n := newNode(b)
	const pods = 50
	var runc *runcBundle
	if os.Getenv("SHOAL_BENCH_RUNC") != "" {
		runc = newRuncBundle(b)
	}
	var lat, rlat []time.Duration
	for b.Loop() {
		lat, rlat = lat[:0], rlat[:0]
		var manifest strings.Builder
		for i := 0; i < pods; i++ {
			fmt.Fprintf(&manifest, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - name: app\n    image: busybox:test\n    imagePullPolicy: Never\n    command: [\"sleep\", \"3600\"]\n", i)
			set := n.load(manifest.String())
			name := fmt.Sprintf("p%d", i)
			start := time.Now() // the pod appears in the desired state
			n.mgr.Apply(set)
			n.waitReady(name)
			lat = append(lat, time.Since(start))
			if runc != nil {
				rlat = append(rlat, runc.run(b))
			}
		}
		n.apply("")
		waitFor(b, "every pod removed", func() bool {
			entries, _ := os.ReadDir(filepath.Join(n.dir, "agent", "pods"))
			return len(entries) == 0
		})
		if runc != nil {
			runc.deleteAll()
		}
	}
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	if runc != nil {
		r50, r99 := percentile(rlat, 50), percentile(rlat, 99)
		b.ReportMetric(float64(r50.Microseconds())/1000, "runc-p50-ms")
		b.ReportMetric(float64(r99.Microseconds())/1000, "runc-p99-ms")
		b.ReportMetric(float64(p50)/float64(r50), "p50-vs-runc")
	}
}

// waitReady waits until pod name is Ready, looking again whenever the
// manager reports a change (and every 50 ms in case a report is missed).
func (n *node) waitReady(name string) {
	n.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		if p, err := n.mgr.GetPod(context.Background(), "default", name); err == nil && ready(p) {
			return
		}
		if time.Now().After(deadline) {
			n.waitPod(name, 0, "Ready", ready) // fails with the last status
		}
		select {
		case <-n.changed:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func percentile(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i]
}

// runcBundle is a busybox bundle for `runc run -d` of sleep.
type runcBundle struct {
	runc, dir, root string
	ids             []string
}

func newRuncBundle(b *testing.B) *runcBundle {
	runc, err := exec.LookPath("runc")
	if err != nil {
		b.Skip("runc not installed (apt-get install runc)")
	}
	dir := b.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	if out, err := exec.Command("sh", "-c", "mkdir -p "+rootfs+"/bin "+rootfs+"/proc "+rootfs+"/sys "+rootfs+"/dev && cp /bin/busybox "+rootfs+"/bin/ && ln -s busybox "+rootfs+"/bin/sleep && ln -s busybox "+rootfs+"/bin/sh").CombinedOutput(); err != nil {
		b.Fatalf("rootfs: %v %s", err, out)
	}
	if out, err := exec.Command(runc, "spec", "--bundle", dir).CombinedOutput(); err != nil {
		b.Fatalf("runc spec: %v %s", err, out)
	}
	spec := filepath.Join(dir, "config.json")
	data, _ := os.ReadFile(spec)
	s := strings.Replace(string(data), `"sh"`, `"sleep", "3600"`, 1)
	s = strings.Replace(s, `"terminal": true`, `"terminal": false`, 1)
	os.WriteFile(spec, []byte(s), 0o644)
	rb := &runcBundle{runc: runc, dir: dir, root: filepath.Join(dir, "state")}
	b.Cleanup(rb.deleteAll)
	return rb
}

// run times one `runc run -d`; the container keeps running (as the pods
// do) until deleteAll.
func (rb *runcBundle) run(b *testing.B) time.Duration {
	id := fmt.Sprintf("shoal-bench-%s-%d", randHex(3), len(rb.ids))
	start := time.Now()
	// The container inherits runc's stdio: /dev/null, so that nothing
	// waits for it to close.
	cmd := exec.Command(rb.runc, "--root", rb.root, "run", "-d", "--bundle", rb.dir, id)
	if err := cmd.Run(); err != nil {
		b.Fatalf("runc run: %v", err)
	}
	d := time.Since(start)
	rb.ids = append(rb.ids, id)
	return d
}

func (rb *runcBundle) deleteAll() {
	for _, id := range rb.ids {
		exec.Command(rb.runc, "--root", rb.root, "delete", "-f", id).Run()
	}
	rb.ids = nil
}
