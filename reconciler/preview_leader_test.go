package reconciler

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/reconciler/previews"
)

// testClock is a clock tests move forward.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// commit writes files (an empty content removes one) and commits them on
// the current branch.
func (r *gitRepo) commit(files map[string]string, msg string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.work, filepath.FromSlash(name))
		if content == "" {
			_ = os.Remove(p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

const previewsFile = `apiVersion: shoal.run/v1alpha1
kind: PreviewConfig
domain: preview.example.test
ttl: 72h
`

const shopApp = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules:
  - host: shop.example.test
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`

const shopExtras = `apiVersion: v1
kind: Pod
metadata: {name: bad, namespace: shop}
spec:
  volumes: [{name: h, hostPath: {path: /etc}}]
  containers: [{name: c, image: busybox, volumeMounts: [{name: h, mountPath: /h}]}]
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: data}
spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /data}}
`

// podsIn returns "node/pod" of the pods the members run in namespace ns,
// sorted.
func podsIn(ms []*member, ns string) []string {
	var out []string
	for _, m := range ms {
		st, ok := m.recv.State()
		if !ok {
			continue
		}
		for _, p := range st.Pods {
			if p.Namespace == ns {
				out = append(out, m.name+"/"+p.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestPreviews runs three members over real gossip, transport and Git: a
// pushed preview branch and a pull-request ref run in their own
// namespaces beside main, with what they may not run left out; a deleted
// ref goes; the TTL expires a preview on the injected clock, across a
// change of leader; a new commit brings it back; deleting the branch
// removes it.
func TestPreviews(t *testing.T) {
	repo := newGitRepo(t)
	repo.commit(map[string]string{".shoal/previews.yaml": previewsFile, "shop.yaml": shopApp}, "shop, with previews")
	repo.git("push", "-q", "origin", "main")
	clock := &testClock{}
	zones := map[string]map[string]string{"a": {"zone": "a"}, "b": {"zone": "b"}, "c": {"zone": "c"}}
	a, b, c := startThree(t, repo.url, zones, func(cfg *Config) { cfg.Now = clock.Now })
	all := []*member{a, b, c}
	waitFor(t, 15*time.Second, "main's web pod", func() bool { return len(podsIn(all, "shop")) == 1 })
	waitFor(t, 5*time.Second, "the preview configuration recorded", func() bool {
		_, cfg := Previews(c.cluster.Ledger())
		return cfg.Enabled && cfg.Domain == "preview.example.test" && cfg.TTL == "72h0m0s"
	})

	// A preview branch, and the same commit as a pull request's ref.
	repo.git("checkout", "-q", "-b", "preview/shop")
	// The preview's pod runs on c, which outlives the leader.
	onC := strings.Replace(shopApp, "spec: {containers:", "spec: {nodeSelector: {zone: c}, containers:", 1)
	shopCommit := repo.commit(map[string]string{"extras.yaml": shopExtras, "shop.yaml": onC}, "try the shop")
	repo.git("push", "-q", "origin", "HEAD:refs/heads/preview/shop", "HEAD:refs/pull/7/head")
	waitFor(t, 15*time.Second, "both previews' web pods", func() bool {
		return len(podsIn(all, "preview-shop-shop")) == 1 && len(podsIn(all, "pr-7-shop")) == 1
	})
	if got := podsIn(all, "shop"); len(got) != 1 {
		t.Errorf("main's pods changed: %v", got)
	}
	for _, ns := range []string{"preview-shop-shop", "pr-7-shop"} {
		for _, p := range podsIn(all, ns) {
			if strings.HasSuffix(p, "/bad") {
				t.Errorf("the hostPath pod runs in %s", ns)
			}
		}
	}
	var shop previews.Record
	waitFor(t, 5*time.Second, "another node lists both previews, Active", func() bool {
		recs, _ := Previews(c.cluster.Ledger())
		if len(recs) != 2 || recs[0].Ref != "refs/heads/preview/shop" || recs[1].Ref != "refs/pull/7/head" {
			return false
		}
		shop = recs[0]
		return shop.State == previews.StateActive && recs[1].State == previews.StateActive && shop.Commit == shopCommit
	})
	if strings.Join(shop.Namespaces, ",") != "preview-shop-shop" || strings.Join(shop.URLs, ",") != "http://preview-shop.shop.preview.example.test" ||
		shop.Message != "try the shop" || shop.ID != "preview-shop" {
		t.Errorf("record %+v", shop)
	}
	refused := strings.Join(shop.Refused, "\n")
	if len(shop.Refused) != 2 || !strings.Contains(refused, "PersistentVolume/data (extras.yaml:8): PersistentVolume is cluster-scoped") ||
		!strings.Contains(refused, "Pod/shop/bad (extras.yaml:1): refused by admission: policy preview-strict, rule forbidHostPath") {
		t.Errorf("refused:\n%s", refused)
	}
	hosts := map[string]string{}
	for _, ing := range a.rec.View().Ingresses {
		hosts[ing.Namespace] = ing.Spec.Rules[0].Host
	}
	if hosts["shop"] != "shop.example.test" || hosts["preview-shop-shop"] != "preview-shop.shop.preview.example.test" || hosts["pr-7-shop"] != "pr-7.shop.preview.example.test" {
		t.Errorf("ingress hosts %v", hosts)
	}
	var refusedEvents int
	for _, e := range a.events.List("preview-shop-shop") {
		if e.Reason == ReasonPreviewRefused && strings.Contains(e.Message, "forbidHostPath") {
			refusedEvents++
		}
	}
	if refusedEvents != 1 {
		t.Errorf("%d PreviewRefused events for the hostPath pod", refusedEvents)
	}

	// A plan of main's own commit changes nothing: the previews run beside
	// any commit.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if res, err := a.rec.Plan(ctx, "main"); err != nil || res.Changed() {
		t.Errorf("planning main with previews running: %v, %+v", err, res.Pods)
	}

	// The pull request's ref goes: so does its preview.
	repo.git("push", "-q", "origin", ":refs/pull/7/head")
	waitFor(t, 15*time.Second, "the pull request's preview gone", func() bool {
		return len(podsIn(all, "pr-7-shop")) == 0 && previewRefs(c.cluster.Ledger()) == "refs/heads/preview/shop=Active"
	})

	// The leader dies: the next one carries the preview on without
	// taking its pod away, even for one push.
	pod := podsIn(all, "preview-shop-shop")
	c.mu.Lock()
	seen := len(c.accepted)
	c.mu.Unlock()
	a.stop()
	rest := []*member{b, c}
	waitFor(t, 15*time.Second, "b leads", func() bool { return b.rec.View().Term != "" })
	repo.git("checkout", "-q", "main")
	mainCommit := repo.commit(map[string]string{"cfg.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n"}, "a config map")
	repo.git("push", "-q", "origin", "main")
	waitFor(t, 15*time.Second, "b applies main's next commit", func() bool { return b.rec.View().Revision.Commit == mainCommit })
	waitFor(t, 5*time.Second, "c gets b's state", func() bool {
		st, ok := c.recv.State()
		return ok && st.Term == b.rec.View().Term
	})
	c.mu.Lock()
	for _, st := range c.accepted[seen:] {
		found := false
		for _, p := range st.Pods {
			found = found || "c/"+p.Name == pod[0] && p.Namespace == "preview-shop-shop"
		}
		if !found {
			t.Errorf("c was sent a state without the preview's pod %s (term %s, generation %d)", pod[0], st.Term, st.Generation)
		}
	}
	c.mu.Unlock()

	// No new commit for the TTL: the preview expires.
	clock.advance(72*time.Hour + time.Minute)
	waitFor(t, 15*time.Second, "the preview expired", func() bool {
		return len(podsIn(rest, "preview-shop-shop")) == 0 && previewRefs(c.cluster.Ledger()) == "refs/heads/preview/shop=Expired"
	})

	// A new commit on the branch brings it back.
	repo.git("checkout", "-q", "preview/shop")
	again := repo.commit(map[string]string{"extras.yaml": ""}, "without the extras")
	repo.git("push", "-q", "origin", "HEAD:refs/heads/preview/shop")
	waitFor(t, 15*time.Second, "the preview back", func() bool {
		recs, _ := Previews(c.cluster.Ledger())
		return len(recs) == 1 && recs[0].State == previews.StateActive && recs[0].Commit == again && len(recs[0].Refused) == 0 &&
			len(podsIn(rest, "preview-shop-shop")) == 1
	})

	// Deleting the branch removes it.
	repo.git("push", "-q", "origin", ":refs/heads/preview/shop")
	waitFor(t, 15*time.Second, "the preview gone", func() bool {
		return len(podsIn(rest, "preview-shop-shop")) == 0 && previewRefs(c.cluster.Ledger()) == ""
	})
	var deployments []string
	for _, d := range b.rec.View().Deployments {
		deployments = append(deployments, d.Namespace+"/"+d.Name)
	}
	if strings.Join(deployments, " ") != "shop/web" {
		t.Errorf("the leader's Deployments: %v", deployments)
	}
}

// previewRefs lists the refs of the preview records, for tests.
func previewRefs(l *gossip.Ledger) string {
	recs, _ := Previews(l)
	var out []string
	for _, r := range recs {
		out = append(out, r.Ref+"="+string(r.State))
	}
	return strings.Join(out, " ")
}
