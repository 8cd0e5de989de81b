package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/testenv"
)

const previewsYAML = `apiVersion: shoal.run/v1alpha1
kind: PreviewConfig
domain: preview.example.test
`

// shopAppYAML is a Deployment of the test app in namespace ns, its Service
// and an Ingress for shop.example.test.
func shopAppYAML(ns string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: testapp:test
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /ready, port: http}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: %[1]s}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: %[1]s}
spec:
  rules:
  - host: shop.example.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}]}
`, ns)
}

// shopClient is a busybox pod in namespace shop, to connect from.
const shopClient = `apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop}
spec:
  containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
`

const hostPathPod = `apiVersion: v1
kind: Pod
metadata: {name: bad, namespace: shop}
spec:
  volumes: [{name: h, hostPath: {path: /etc}}]
  containers: [{name: c, image: busybox, command: [sleep, "3600"], volumeMounts: [{name: h, mountPath: /h}]}]
`

// readyIn returns the names of the Ready pods of the shop's Deployment
// (web-...) in namespace ns, as node lists them; nil on error.
func readyIn(t testing.TB, c *testenv.Cluster, node, ns string) []string {
	ready, _ := podsOf(t, c, node, ns)
	return slices.DeleteFunc(ready, func(name string) bool { return !strings.HasPrefix(name, "web-") })
}

// podsOf returns the names of the Ready pods and of the Running ones of
// namespace ns, as node lists them; nil on error.
func podsOf(t testing.TB, c *testenv.Cluster, node, ns string) (ready, running []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ps, err := client(t, c, node).ListPods(ctx, ns)
	if err != nil {
		return nil, nil
	}
	for _, p := range ps {
		if p.Namespace != ns || p.Status.Phase != corev1.PodRunning {
			continue
		}
		running = append(running, p.Name)
		if podReadyNow(p.Status.Conditions) {
			ready = append(ready, p.Name)
		}
	}
	return ready, running
}

// commitBranch writes files in the working copy, commits them and pushes
// HEAD to ref; it returns when the push started.
func commitBranch(t testing.TB, work, ref string, files map[string]string, msg string) time.Time {
	for name, content := range files {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitCmd(t, work, "add", "-A")
	gitCmd(t, work, "commit", "-q", "-m", msg)
	start := time.Now()
	gitCmd(t, work, "push", "-q", "origin", "HEAD:"+ref)
	return start
}

// TestPreviewBranch pushes a branch preview/shop with the shop of main
// (and its client pod) and a hostPath pod: the shop runs in
// preview-shop-shop beside main's, its Ingress answers on the preview host
// through a node's ingress while main's host still answers main's pod,
// the preview and main cannot connect to each other's pods (the
// preview's isolation policy, enforced by the nodes), the hostPath pod is
// refused, shoal previews lists it, and deleting the branch removes its
// pods.
func TestPreviewBranch(t *testing.T) {
	c := startRig(t, 3, nil)
	push(t, c, map[string]string{".shoal/previews.yaml": previewsYAML, "shop.yaml": shopAppYAML("shop"), "client.yaml": shopClient}, "the shop, with previews")
	var mainPod []string
	waitFor(t, 90*time.Second, "main's shop pod ready", func() bool {
		mainPod = readyIn(t, c, "node1", "shop")
		return len(mainPod) == 1
	})

	work := clone(t, c)
	gitCmd(t, work, "checkout", "-q", "-b", "preview/shop")
	commitBranch(t, work, "refs/heads/preview/shop", map[string]string{"bad.yaml": hostPathPod}, "try the shop")
	var previewPod []string
	waitFor(t, 60*time.Second, "the preview's shop pod ready in preview-shop-shop", func() bool {
		previewPod = readyIn(t, c, "node2", "preview-shop-shop")
		return len(previewPod) == 1
	})
	waitFor(t, 30*time.Second, "the preview's shop and client running", func() bool {
		_, running := podsOf(t, c, "node1", "preview-shop-shop")
		return len(running) == 2
	})
	n1 := c.Node(1).Addr
	waitFor(t, 20*time.Second, "the preview host answered by the preview's pod", func() bool {
		body := ingressGet(t, "http://"+n1+"/", "preview-shop.shop.preview.example.test", n1)
		return strings.TrimSpace(body) == "hello from "+previewPod[0]
	})
	if body := ingressGet(t, "http://"+n1+"/", "shop.example.test", n1); strings.TrimSpace(body) != "hello from "+mainPod[0] {
		t.Errorf("main's host answered %q, want main's pod %s", body, mainPod[0])
	}
	waitCLI(t, c, "node3", 30*time.Second, []string{"previews"},
		"refs/heads/preview/shop", "preview-shop-shop", "http://preview-shop.shop.preview.example.test", "Active",
		"not run: Pod/shop/bad (bad.yaml:1): refused by admission: policy preview-strict, rule forbidHostPath")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ps, err := client(t, c, "node1").ListPods(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	ip := map[string]string{}
	for _, p := range ps {
		ip[p.Namespace+"/"+p.Name] = p.Status.PodIP
		if p.Name == "bad" {
			t.Errorf("the hostPath pod is listed: %s on %s", p.Status.Phase, p.Spec.NodeName)
		}
	}

	// Each side reaches its own shop, and not the other's: the preview's
	// isolation policy judges the preview client's egress and the main
	// client's ingress into the preview.
	mainURL := "http://" + ip["shop/"+mainPod[0]] + ":8080/"
	previewURL := "http://" + ip["preview-shop-shop/"+previewPod[0]] + ":8080/"
	waitFor(t, 30*time.Second, "the preview's client reaching the preview's shop", func() bool {
		return strings.TrimSpace(nsFetch(t, c, "preview-shop-shop", "client", previewURL)) == "hello from "+previewPod[0]
	})
	waitFor(t, 30*time.Second, "main's client reaching main's shop", func() bool {
		return strings.TrimSpace(nsFetch(t, c, "shop", "client", mainURL)) == "hello from "+mainPod[0]
	})
	if body := nsFetch(t, c, "preview-shop-shop", "client", mainURL); body != "" {
		t.Errorf("the preview's client reached main's shop: %q", body)
	}
	if body := nsFetch(t, c, "shop", "client", previewURL); body != "" {
		t.Errorf("main's client reached the preview's shop: %q", body)
	}
	if body := nsFetch(t, c, "preview-shop-shop", "client", "http://web.shop.svc.cluster.local/"); body != "" {
		t.Errorf("the preview's client reached main's shop through its Service: %q", body)
	}

	// Deleting the branch removes the preview.
	gitCmd(t, work, "push", "-q", "origin", ":refs/heads/preview/shop")
	waitFor(t, 60*time.Second, "the preview's pods gone", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ps, err := client(t, c, "node1").ListPods(ctx, "preview-shop-shop")
		return err == nil && len(ps) == 0
	})
	waitCLI(t, c, "node2", 30*time.Second, []string{"previews"}, "No previews.")
	if got := readyIn(t, c, "node1", "shop"); len(got) != 1 || got[0] != mainPod[0] {
		t.Errorf("main's shop pods %v, want %v as before", got, mainPod)
	}
}

// BenchmarkPreviewPushToReady measures a `git push` of a new preview
// branch (a Deployment of one test-app pod with a 1 s readiness probe)
// until its pod is Ready in the preview's namespace, on three nodes, with
// the webhook (the rig's post-receive hook calls it; polling every
// minute). Each round deletes its branch and waits for its pod to go
// before the next, untimed. Reports p50 and p99 in ms, and the p50 of the
// time to the pod Running (its container started; Ready follows at the
// first readiness probe). Run with -benchtime 10x.
func BenchmarkPreviewPushToReady(b *testing.B) {
	c := startRig(b, 3, func(cfg *testenv.Config) { cfg.GitPollInterval = time.Minute })
	work := clone(b, c)
	// Pull the image on every node once, and turn previews on.
	warmUp(b, c, work)
	commitBranch(b, work, "refs/heads/main", map[string]string{".shoal/previews.yaml": previewsYAML}, "previews on")
	var took, running []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		branch := fmt.Sprintf("preview/b%d", i)
		ns := fmt.Sprintf("preview-b%d-bench", i)
		gitCmd(b, work, "checkout", "-q", "-B", branch, "main")
		start := commitBranch(b, work, "refs/heads/"+branch, map[string]string{"bench.yaml": shopAppYAML("bench")}, "round "+branch)
		var runAt time.Time
		waitFor(b, 2*time.Minute, ns+" ready", func() bool {
			ready, run := podsOf(b, c, "node1", ns)
			if len(run) == 1 && runAt.IsZero() {
				runAt = time.Now()
			}
			return len(ready) == 1
		})
		took = append(took, time.Since(start))
		running = append(running, runAt.Sub(start))
		b.StopTimer()
		gitCmd(b, work, "push", "-q", "origin", ":refs/heads/"+branch)
		waitFor(b, time.Minute, ns+" gone", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ps, err := client(b, c, "node1").ListPods(ctx, ns)
			return err == nil && len(ps) == 0
		})
		b.StartTimer()
	}
	b.StopTimer()
	p50, p99 := percentiles(took)
	b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
	p50, _ = percentiles(running)
	b.ReportMetric(float64(p50.Milliseconds()), "running-p50-ms")
}
