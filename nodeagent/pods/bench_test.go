package pods_test

import (
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
// soon as the container runs). It reports p50 and p99. With
// SHOAL_BENCH_RUNC=1 it also times `runc run -d` (Debian's runc) of an
// equivalent bundle — the same busybox root, the same command — on the
// same machine, and reports the ratios.
func BenchmarkPodStartToReady(b *testing.B) {
	n := newNode(b)
	const pods = 50
	var lat []time.Duration
	for b.Loop() {
		lat = lat[:0]
		var manifest strings.Builder
		for i := 0; i < pods; i++ {
			fmt.Fprintf(&manifest, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - name: app\n    image: busybox:test\n    imagePullPolicy: Never\n    command: [\"sleep\", \"3600\"]\n", i)
			set := n.load(manifest.String())
			start := time.Now() // the pod appears in the desired state
			n.mgr.Apply(set)
			n.waitPod(fmt.Sprintf("p%d", i), wait, "Ready", ready)
			lat = append(lat, time.Since(start))
		}
		n.apply("")
		waitFor(b, "every pod removed", func() bool {
			entries, _ := os.ReadDir(filepath.Join(n.dir, "agent", "pods"))
			return len(entries) == 0
		})
	}
	p50, p99 := percentile(lat, 50), percentile(lat, 99)
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	if os.Getenv("SHOAL_BENCH_RUNC") != "" {
		r50, r99 := runcRun(b, pods)
		b.ReportMetric(float64(r50.Microseconds())/1000, "runc-p50-ms")
		b.ReportMetric(float64(r99.Microseconds())/1000, "runc-p99-ms")
		b.ReportMetric(float64(p50)/float64(r50), "p50-vs-runc")
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

// runcRun times `runc run -d` of a busybox bundle running sleep, count
// times, and returns p50 and p99.
func runcRun(b *testing.B, count int) (time.Duration, time.Duration) {
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
	root := filepath.Join(dir, "state")
	var lat []time.Duration
	for i := 0; i < count; i++ {
		id := fmt.Sprintf("shoal-bench-%s-%d", randHex(3), i)
		start := time.Now()
		// The container inherits runc's stdio: /dev/null, so that nothing
		// waits for it to close.
		cmd := exec.Command(runc, "--root", root, "run", "-d", "--bundle", dir, id)
		if err := cmd.Run(); err != nil {
			b.Fatalf("runc run: %v", err)
		}
		lat = append(lat, time.Since(start))
		exec.Command(runc, "--root", root, "delete", "-f", id).Run()
	}
	return percentile(lat, 50), percentile(lat, 99)
}
