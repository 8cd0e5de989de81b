package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/testenv"
)

// BenchmarkGitPushToRunning measures a `git push` of a new Pod until the
// cluster lists it Running, on three nodes: with the webhook (the rig's
// post-receive hook calls it) and with polling alone (every 5s, the
// default; the hook removed; each push at a random point of the cycle). Each push replaces the previous benchmark
// pod. Reports p50 and p99 in ms. Run with -benchtime 20x.
func BenchmarkGitPushToRunning(b *testing.B) {
	for _, path := range []string{"webhook", "poll"} {
		b.Run(path, func(b *testing.B) {
			c := startRig(b, 3, func(cfg *testenv.Config) {
				cfg.GitPollInterval = 5 * time.Second
				if path == "webhook" {
					cfg.GitPollInterval = time.Minute
				}
			})
			if path == "poll" {
				hook := filepath.Join(c.State().GitRoot, testenv.RepoName, "hooks", "post-receive")
				if err := os.Remove(hook); err != nil {
					b.Fatal(err)
				}
			}
			work := clone(b, c)
			// Pull the image once, so that every push measures the same
			// path (the image is then cached on the node that runs it).
			warmUp(b, c, work)
			var took []time.Duration
			prev := ""
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				name := fmt.Sprintf("bench-%d", i)
				if path == "poll" {
					// Push at a random point of the poll cycle, as a user
					// does (pushing right after the last detection would
					// always wait a whole interval).
					b.StopTimer()
					time.Sleep(rand.N(5 * time.Second))
					b.StartTimer()
				}
				start := pushPod(b, work, name, "", prev)
				waitFor(b, 2*time.Minute, name+" running", func() bool {
					return runningOn(pods(c, b, "node1"), name, "")
				})
				took = append(took, time.Since(start))
				prev = name
			}
			b.StopTimer()
			p50, p99 := percentiles(took)
			b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
			b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
		})
	}
}

// BenchmarkLeaderFailover measures, after a kill -9 of the leader's agent,
// the time until both survivors agree on the next leader, and until that
// leader has pushed a new commit to a running pod. The killed node is
// started again (as a follower) before the next round. Run with
// -benchtime 5x.
func BenchmarkLeaderFailover(b *testing.B) {
	c := startRig(b, 3, func(cfg *testenv.Config) { cfg.GitPollInterval = time.Second })
	work := clone(b, c)
	var elected, acting []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		leader := leaderOf(b, c, "node1")
		if leader == "" {
			leader = leaderOf(b, c, "node2")
		}
		var survivors []string
		for _, n := range c.NodeNames() {
			if n != leader {
				survivors = append(survivors, n)
			}
		}
		next := nextLeader(b, c, leader)
		b.StartTimer()
		start := time.Now()
		if err := c.Kill(context.Background(), leader); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for leaderOf(b, c, survivors[0]) != next || leaderOf(b, c, survivors[1]) != next {
			if time.Now().After(deadline) {
				for _, s := range survivors {
					b.Logf("%s: %+v", s, status(b, c, s))
				}
				b.Fatalf("round %d: %s killed, %v did not elect %s within 30s", i, leader, survivors, next)
			}
			time.Sleep(20 * time.Millisecond)
		}
		elected = append(elected, time.Since(start))
		name := fmt.Sprintf("after-failover-%d", i)
		pushPod(b, work, name, "  nodeName: "+next+"\n", "")
		waitFor(b, time.Minute, name+" running", func() bool {
			return runningOn(pods(c, b, next), name, next)
		})
		acting = append(acting, time.Since(start))
		b.StopTimer()
		if err := c.Restart(context.Background(), leader); err != nil {
			b.Fatal(err)
		}
		waitFor(b, 30*time.Second, leader+" back and every view the same", func() bool {
			return converged(b, c) == next
		})
		b.StartTimer()
	}
	b.StopTimer()
	p50, p99 := percentiles(elected)
	b.ReportMetric(float64(p50.Milliseconds()), "elected-p50-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "elected-max-ms")
	p50, p99 = percentiles(acting)
	b.ReportMetric(float64(p50.Milliseconds()), "applies-commit-p50-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "applies-commit-max-ms")
}

// converged returns the leader when every node sees every node alive, with
// the same start times, and the same leader; "" otherwise.
func converged(b testing.TB, c *testenv.Cluster) string {
	var want string
	for i, n := range c.NodeNames() {
		st := status(b, c, n)
		if st == nil {
			return ""
		}
		view := st.Leader.Name
		for _, m := range st.Members {
			if m.State != "alive" {
				return ""
			}
			view += fmt.Sprintf(",%s@%d", m.Name, m.StartTime.UnixNano())
		}
		if i == 0 {
			want = view
		} else if view != want {
			return ""
		}
	}
	leader, _, _ := strings.Cut(want, ",")
	return leader
}

// clone makes a working copy of the rig's repository.
func clone(b testing.TB, c *testenv.Cluster) string {
	work := b.TempDir()
	gitCmd(b, "", "clone", "-q", c.GitURL(), work)
	gitCmd(b, work, "checkout", "-q", "-B", "main")
	return work
}

// warmUp runs a test-app pod on every node (pushed from the working copy
// work), so that the image is pulled before a benchmark's timing starts.
func warmUp(b testing.TB, c *testenv.Cluster, work string) {
	for _, n := range c.NodeNames() {
		pushPod(b, work, "warm-"+n, "  nodeName: "+n+"\n", "")
	}
	waitFor(b, 2*time.Minute, "warm-up pods running", func() bool {
		ps := pods(c, b, "node1")
		for _, n := range c.NodeNames() {
			if !runningOn(ps, "warm-"+n, n) {
				return false
			}
		}
		return true
	})
}

// pushPod writes pod name (and removes pod prev), commits, and pushes; it
// returns when the push started.
func pushPod(b testing.TB, work, name, extra, prev string) time.Time {
	if err := os.WriteFile(filepath.Join(work, name+".yaml"), []byte(podYAML(name, extra)), 0o644); err != nil {
		b.Fatal(err)
	}
	if prev != "" {
		os.Remove(filepath.Join(work, prev+".yaml"))
	}
	gitCmd(b, work, "add", "-A")
	gitCmd(b, work, "commit", "-q", "-m", "run "+name)
	start := time.Now()
	gitCmd(b, work, "push", "-q", "origin", "main")
	return start
}

func gitCmd(b testing.TB, dir string, args ...string) {
	b.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.test",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.test", "GIT_TERMINAL_PROMPT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// percentiles returns the median and the 99th percentile (nearest rank).
func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(s) {
			i = len(s) - 1
		}
		return s[i]
	}
	return rank(0.50), rank(0.99)
}

// BenchmarkPodReadyToTraffic measures the time from a pod becoming Ready
// (the first time the cluster API shows its Ready condition True, polled
// every 5 ms through node1) to its first answer through its Service (a
// node port of node1, polled every 5 ms from the rig's root namespace, at
// the same time),
// on three nodes. Each round pushes a new pod that turns Ready 2 s after
// it starts and removes the previous one. Reports p50 and p99 in ms. Run
// with -benchtime 20x.
func BenchmarkPodReadyToTraffic(b *testing.B) {
	c := startRig(b, 3, nil)
	push(b, c, map[string]string{"svc.yaml": `apiVersion: v1
kind: Service
metadata: {name: ready-bench}
spec:
  type: NodePort
  selector: {app: rb}
  ports: [{port: 80, targetPort: 8080, nodePort: 30090}]
`}, "the benchmark's service")
	node1 := c.Node(1).Addr
	podFile := func(name string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, labels: {app: rb}}
spec:
  containers:
  - name: app
    image: testapp:test
    args: [-ready-after, 2s]
    readinessProbe:
      httpGet: {path: /ready, port: 8080}
      periodSeconds: 1
`, name)
	}
	var took []time.Duration
	prev := ""
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("rb-%d", i)
		files := map[string]string{name + ".yaml": podFile(name)}
		if prev != "" {
			files[prev+".yaml"] = ""
		}
		push(b, c, files, "round "+name)
		// Two pollers, each on its own, every 5 ms.
		poll := func(cond func() bool) <-chan time.Time {
			at := make(chan time.Time, 1)
			go func() {
				deadline := time.Now().Add(2 * time.Minute)
				for time.Now().Before(deadline) {
					if cond() {
						at <- time.Now()
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
				at <- time.Time{}
			}()
			return at
		}
		cl := client(b, c, "node1")
		readyAt := poll(func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			p, err := cl.GetPod(ctx, "default", name)
			return err == nil && podReadyNow(p.Status.Conditions)
		})
		trafficAt := poll(func() bool {
			body, _ := hostGet("http://" + node1 + ":30090/")
			return strings.TrimSpace(body) == "hello from "+name
		})
		ready, traffic := <-readyAt, <-trafficAt
		if ready.IsZero() || traffic.IsZero() {
			b.Fatalf("%s: ready at %v, traffic at %v", name, ready, traffic)
		}
		took = append(took, traffic.Sub(ready))
		prev = name
	}
	b.StopTimer()
	p50, p99 := percentiles(took)
	b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
}

// podReadyNow reports whether conditions hold Ready True.
func podReadyNow(conds []corev1.PodCondition) bool {
	for _, c := range conds {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
