package reconciler

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/reconciler/cronjobs"
	"github.com/shoal-run/shoal/reconciler/deployments"
	"github.com/shoal-run/shoal/reconciler/jobs"
	"github.com/shoal-run/shoal/reconciler/replicas"
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

// BenchmarkComputeRepository is the leader's step over a repository of
// 5,000 objects — 1,000 Deployments (2 replicas each), 1,000 ConfigMaps,
// 1,000 Secrets, 1,000 Services, 500 Jobs and 500 CronJobs — on 100 nodes:
// "first" from an empty ledger (every ReplicaSet and pod made and placed),
// with a new Memo as the leader's first step on a commit has; "unchanged"
// once the first plans are recorded and their pods reported running (a
// step on an unchanged commit), with the Memo that those steps filled, as
// the leader keeps it while its commit does not change.
func BenchmarkComputeRepository(b *testing.B) { benchRepository(b, false) }

// BenchmarkComputeRepositoryAdmitted is BenchmarkComputeRepository with a
// LimitRange (a default memory limit and cpu request) and a ResourceQuota
// (pods, cpu and memory, with room for all) in each of its 20 namespaces: every pod is
// defaulted and counted at every step.
func BenchmarkComputeRepositoryAdmitted(b *testing.B) { benchRepository(b, true) }

func benchRepository(b *testing.B, admitted bool) {
	var m strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&m, `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d%d, namespace: ns%d}
spec:
  replicas: 2
  selector: {matchLabels: {app: d%d}}
  template:
    metadata: {labels: {app: d%d}}
    spec:
      containers:
      - name: c
        image: busybox
        resources: {requests: {cpu: 10m, memory: 10Mi}}
        envFrom: [{configMapRef: {name: cm%d}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm%d, namespace: ns%d}
data: {a: b}
---
apiVersion: v1
kind: Secret
metadata: {name: s%d, namespace: ns%d}
stringData: {a: b}
---
apiVersion: v1
kind: Service
metadata: {name: svc%d, namespace: ns%d}
spec:
  selector: {app: d%d}
  ports: [{port: 80}]
`, i, i%20, i, i, i, i, i%20, i, i%20, i, i%20, i)
	}
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&m, `---
apiVersion: batch/v1
kind: Job
metadata: {name: j%d, namespace: ns%d}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj%d, namespace: ns%d}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox}]
`, i, i%20, i, i%20)
	}
	objects := 5000
	if admitted {
		for ns := 0; ns < 20; ns++ {
			fmt.Fprintf(&m, `---
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: ns%d}
spec:
  limits: [{type: Container, default: {memory: 64Mi}, defaultRequest: {cpu: 10m}}]
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: room, namespace: ns%d}
spec:
  hard: {pods: "1000", requests.cpu: "100", requests.memory: 100Gi}
`, ns, ns)
		}
		objects += 40
	}
	set, err := loadFS(fstest.MapFS{"m.yaml": {Data: []byte(m.String())}})
	if err != nil {
		b.Fatal(err)
	}
	if set.Len() != objects {
		b.Fatalf("%d objects", set.Len())
	}
	in := Input{Desired: set, ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"), Now: now, PodCIDRs: map[string]string{}}
	for i := 0; i < 100; i++ {
		r := report(fmt.Sprintf("n%03d", i))
		r.Info.Status.Allocatable["cpu"] = mustQ("64")
		r.Info.Status.Allocatable["memory"] = mustQ("256Gi")
		in.Nodes = append(in.Nodes, r)
		in.PodCIDRs[r.Name] = fmt.Sprintf("10.244.%d.0/24", i)
	}
	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			in := in
			in.Memo = &Memo{}
			Compute(in)
		}
	})
	// Record the plans as the leader does until the state is steady.
	in.Placements = map[types.NamespacedName]string{}
	in.Owned = map[types.NamespacedName]replicas.Owned{}
	in.Seq = map[string]uint64{}
	in.DeploymentSets = map[string]map[string]deployments.Set{}
	in.JobStates = map[string]jobs.State{}
	in.CronStates = map[string]cronjobs.State{}
	in.Memo = &Memo{}
	var pods int
	for round := 0; round < 3; round++ {
		p := Compute(in)
		for k, n := range p.Place {
			in.Placements[k] = n
		}
		for k, o := range p.Replicas.Create {
			in.Owned[k] = o
		}
		for k, s := range p.Replicas.Seq {
			in.Seq[k] = s
		}
		for key, sets := range p.Deployments.Put {
			if in.DeploymentSets[key] == nil {
				in.DeploymentSets[key] = map[string]deployments.Set{}
			}
			for h, s := range sets {
				in.DeploymentSets[key][h] = s
			}
		}
		for k, s := range p.Jobs.Put {
			in.JobStates[k] = s
		}
		for k, s := range p.CronJobs.Put {
			in.CronStates[k] = s
		}
		for i := range in.Nodes {
			in.Nodes[i].Pods = nil
			for _, pod := range p.Nodes[in.Nodes[i].Name].Pods {
				pod.Status.Phase = corev1.PodRunning
				pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
				in.Nodes[i].Pods = append(in.Nodes[i].Pods, pod)
			}
		}
		pods = len(p.Pods)
	}
	b.Run("unchanged", func(b *testing.B) {
		for b.Loop() {
			Compute(in)
		}
		b.ReportMetric(float64(pods), "pods")
	})
}
