package reconciler

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/reconciler/deployments"
)

// memoRepo has every kind Compute acts on: bare pods with their
// ConfigMaps and Secrets, a Node object, a ReplicaSet, a
// ReplicationController, two Deployments, a Job, a CronJob, a DaemonSet,
// a volume claim, and a LimitRange and a ResourceQuota that admit them
// all.
const memoRepo = `
apiVersion: v1
kind: LimitRange
metadata: {name: defaults}
spec:
  limits: [{type: Container, default: {memory: 512Mi}, defaultRequest: {cpu: 10m}}]
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: roomy}
spec:
  hard: {pods: "100", requests.cpu: "10"}
---
apiVersion: v1
kind: Pod
metadata: {name: bare, labels: {app: bare}}
spec:
  containers:
  - name: c
    image: busybox
    envFrom: [{configMapRef: {name: settings}}]
  volumes: [{name: s, secret: {secretName: creds}}]
---
apiVersion: v1
kind: Pod
metadata: {name: pinned}
spec: {nodeName: a, containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {p: x}
---
apiVersion: v1
kind: Node
metadata: {name: c, labels: {disk: ssd}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs}
spec:
  replicas: 2
  selector: {matchLabels: {app: rs}}
  template:
    metadata: {labels: {app: rs}}
    spec: {containers: [{name: c, image: busybox, envFrom: [{configMapRef: {name: settings}}]}]}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec:
  replicas: 1
  selector: {app: rc}
  template:
    metadata: {labels: {app: rc}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: "web:1"}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db}
spec:
  replicas: 1
  strategy: {type: Recreate}
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {nodeSelector: {disk: ssd}, containers: [{name: c, image: "db:1"}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  completions: 2
  template:
    spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "*/5 * * * *"
  timeZone: UTC
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: "agent:1"}]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`

// memoWorld is a leader's state between steps: its Input, as the ledger
// and the nodes' reports make it.
type memoWorld struct {
	in Input
	// phases overrides the phase the nodes report for a pod (Running).
	phases map[types.NamespacedName]corev1.PodPhase
}

// record writes a plan as the leader does, and has every live node report
// its pods running and ready.
func (w *memoWorld) record(p Plan) {
	in := &w.in
	for k, n := range p.Place {
		in.Placements[k] = n
	}
	for _, k := range p.Remove {
		delete(in.Placements, k)
	}
	for k, o := range p.Replicas.Create {
		in.Owned[k] = o
	}
	for _, k := range p.Replicas.Delete {
		delete(in.Owned, k)
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
	for key, hashes := range p.Deployments.Delete {
		for _, h := range hashes {
			delete(in.DeploymentSets[key], h)
		}
	}
	putAll(in.JobStates, p.Jobs.Put, p.Jobs.Delete)
	putAll(in.CronStates, p.CronJobs.Put, p.CronJobs.Delete)
	putAll(in.DaemonStates, p.Daemons.Put, p.Daemons.Delete)
	for i := range in.Nodes {
		n := &in.Nodes[i]
		if !n.Live {
			continue
		}
		n.Pods = nil
		for _, pod := range p.Nodes[n.Name].Pods {
			pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{
				Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(in.Now),
			}}}
			if ph, ok := w.phases[types.NamespacedName{Namespace: pod.Namespace, Name: pod.Name}]; ok {
				pod.Status = corev1.PodStatus{Phase: ph}
			}
			n.Pods = append(n.Pods, pod)
		}
	}
}

func putAll[T any](m map[string]T, put map[string]T, del []string) {
	for k, v := range put {
		m[k] = v
	}
	for _, k := range del {
		delete(m, k)
	}
}

// viaJSON is v read back from the ledger: every template a new one.
func viaJSON[T any](t *testing.T, v T) T {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestComputeWithMemoGivesTheSamePlan runs a leader's steps with a Memo
// kept throughout (across commits too, which the leader does not need)
// and checks every plan against Compute without one.
func TestComputeWithMemoGivesTheSamePlan(t *testing.T) {
	w := newWorld(t, memoRepo, "a", "b", "c")
	memo := &Memo{}
	steps := []struct {
		name   string
		change func(w *memoWorld)
	}{
		{"first, on an empty ledger", nil},
		{"plans recorded, pods running", nil},
		{"unchanged", nil},
		{"the ledger's records read again", func(w *memoWorld) {
			w.in.DeploymentSets = viaJSON(t, w.in.DeploymentSets)
			w.in.DaemonStates = viaJSON(t, w.in.DaemonStates)
			w.in.JobStates = viaJSON(t, w.in.JobStates)
			w.in.CronStates = viaJSON(t, w.in.CronStates)
		}},
		{"the LimitRange changes", func(w *memoWorld) {
			w.in.Desired = replaced(w.in.Desired, "LimitRange", "defaults", func(o runtime.Object) {
				o.(*corev1.LimitRange).Spec.Limits[0].Default[corev1.ResourceMemory] = resource.MustParse("1Gi")
			})
		}},
		{"a ConfigMap changes, nothing else", func(w *memoWorld) {
			w.in.Desired = replaced(w.in.Desired, "ConfigMap", "settings", func(o runtime.Object) {
				o.(*corev1.ConfigMap).Data["a"] = "2"
			})
		}},
		{"a ReplicaSet's template changes, nothing else", func(w *memoWorld) {
			w.in.Desired = replaced(w.in.Desired, "ReplicaSet", "rs", func(o runtime.Object) {
				o.(*appsv1.ReplicaSet).Spec.Template.Spec.Containers[0].Image = "busybox:2"
			})
		}},
		{"the ledger moves the bare pod", func(w *memoWorld) {
			if w.in.Placements[key("bare")] == "a" {
				w.in.Placements[key("bare")] = "c"
			} else {
				w.in.Placements[key("bare")] = "a"
			}
		}},
		{"a Job pod succeeds, node b goes unseen", func(w *memoWorld) {
			for k := range w.in.Placements {
				if strings.HasPrefix(k.Name, "once-") {
					w.phases[k] = corev1.PodSucceeded
				}
			}
			w.in.Nodes[1].Live, w.in.Nodes[1].Pods = false, nil
		}},
		{"node b lost", func(w *memoWorld) {
			w.in.Nodes[1].LastSeen = w.in.Now.Add(-time.Hour)
		}},
		{"a pod quarantined", func(w *memoWorld) {
			for k := range w.in.Owned {
				if strings.HasPrefix(k.Name, "rc-") {
					w.in.Quarantined = map[types.NamespacedName]corev1.Pod{k: {
						ObjectMeta: metav1.ObjectMeta{Name: k.Name, Namespace: k.Namespace},
						Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
					}}
					delete(w.in.Owned, k)
					break
				}
			}
		}},
		{"a new commit: new images, new settings, no ReplicationController", func(w *memoWorld) {
			r := strings.NewReplacer(`"web:1"`, `"web:2"`, `"agent:1"`, `"agent:2"`, `data: {a: "1"}`, `data: {a: "2"}`)
			w.in.Desired = load(t, r.Replace(withoutKind(memoRepo, "ReplicationController")))
		}},
		{"a bare pod left out (another Set of the same objects, as for a failed pod)", func(w *memoWorld) {
			var keep []*manifests.Object
			for _, o := range w.in.Desired.All() {
				if o.Key.Kind != "Pod" || o.Key.Name != "pinned" {
					keep = append(keep, o)
				}
			}
			w.in.Desired = manifests.NewSet(keep)
		}},
		{"rolling on", nil},
		{"rolled", nil},
		{"back to the first templates", func(w *memoWorld) {
			w.in.Desired = load(t, withoutKind(memoRepo, "ReplicationController"))
		}},
		{"rolling back", nil},
		{"rolled back", nil},
	}
	var last Plan
	for i, s := range steps {
		if s.change != nil {
			s.change(w)
		}
		w.in.Now = now.Add(time.Duration(i) * time.Minute)
		for j := range w.in.Nodes {
			if n := &w.in.Nodes[j]; n.Live {
				n.LastSeen = w.in.Now
			}
		}
		plain := Compute(w.in)
		in := w.in
		in.Memo = memo
		got := Compute(in)
		if !reflect.DeepEqual(plain, got) {
			t.Fatalf("step %d (%s): the plan with a Memo differs in %s", i, s.name, planDiff(plain, got))
		}
		if s.name == "unchanged" && !samePods(last.Pods, got.Pods) {
			t.Fatalf("step %d (%s): the Memo did not keep the pods of the last step", i, s.name)
		}
		last = got
		w.record(got)
	}
	if len(last.Quotas) != 1 || len(last.FailedCreate) != 0 || len(last.Forbidden) != 0 {
		t.Fatalf("quota usage %+v; refused %v %v", last.Quotas, last.FailedCreate, last.Forbidden)
	}
	for _, p := range last.Pods {
		if _, ok := p.Annotations["kubernetes.io/limit-ranger"]; !ok && p.Labels[QuarantineLabel] == "" && len(p.OwnerReferences) > 0 {
			t.Fatalf("pod %s lacks the LimitRange's defaults", p.Name)
		}
	}
	if len(last.Jobs.Pods) == 0 || len(last.Daemons.Pods) != 2 || len(last.Deployments.Controllers) < 3 {
		t.Fatalf("the steps did not run every controller: %d Job pods, %d daemon pods, %d ReplicaSets",
			len(last.Jobs.Pods), len(last.Daemons.Pods), len(last.Deployments.Controllers))
	}
}

// withoutKind is YAML documents without those of a kind.
func withoutKind(yaml, kind string) string {
	var docs []string
	for _, doc := range strings.Split(yaml, "\n---\n") {
		if !strings.Contains(doc, "kind: "+kind+"\n") {
			docs = append(docs, doc)
		}
	}
	return strings.Join(docs, "\n---\n")
}

// replaced is set with object kind/default/name replaced by a copy that
// change modified.
func replaced(set *manifests.Set, kind, name string, change func(runtime.Object)) *manifests.Set {
	var objs []*manifests.Object
	for _, o := range set.All() {
		if o.Key.Kind == kind && o.Key.Name == name {
			cp := *o
			cp.Obj = o.Obj.DeepCopyObject()
			change(cp.Obj)
			o = &cp
		}
		objs = append(objs, o)
	}
	return manifests.NewSet(objs)
}

// samePods reports whether the pods of b that a has too (by name) are the
// very objects of a, and there are some.
func samePods(a, b []*corev1.Pod) bool {
	byName := map[types.NamespacedName]*corev1.Pod{}
	for _, p := range a {
		byName[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}] = p
	}
	n := 0
	for _, p := range b {
		if q, ok := byName[types.NamespacedName{Namespace: p.Namespace, Name: p.Name}]; ok {
			if q != p {
				return false
			}
			n++
		}
	}
	return n > 0
}

// planDiff names the fields of Plan that differ.
func planDiff(a, b Plan) string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, va.Type().Field(i).Name)
		}
	}
	return strings.Join(out, ", ")
}
