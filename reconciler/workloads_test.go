package reconciler

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/reconciler/deployments"
	"github.com/shoal-run/shoal/reconciler/replicas"
)

const workloadManifests = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: cache}
spec:
  replicas: 1
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  replicas: 1
  selector: {app: legacy}
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: busybox}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick}
spec:
  schedule: "* * * * *"
  timeZone: UTC
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}
`

// record writes a plan's ledger records into the next step's input, as
// the leader does.
func record(in *Input, p Plan) {
	for k, o := range p.Replicas.Create {
		in.Owned[k] = o
	}
	for _, k := range p.Replicas.Delete {
		delete(in.Owned, k)
	}
	for k, v := range p.Replicas.Seq {
		in.Seq[k] = v
	}
	for k, n := range p.Place {
		in.Placements[k] = n
	}
	for key, sets := range p.Deployments.Put {
		in.DeploymentSets[key] = merged(in.DeploymentSets[key], sets, p.Deployments.Delete[key])
	}
	in.DaemonStates = merged(in.DaemonStates, p.Daemons.Put, p.Daemons.Delete)
	in.JobStates = merged(in.JobStates, p.Jobs.Put, p.Jobs.Delete)
	in.CronStates = merged(in.CronStates, p.CronJobs.Put, p.CronJobs.Delete)
}

// TestWorkloads: the objects the leader serves, with the controllers'
// statuses, the Deployment's ReplicaSet, and creation times that stay
// those of the first step.
func TestWorkloads(t *testing.T) {
	in := Input{Desired: load(t, workloadManifests), Nodes: []NodeReport{report("a"), report("b")}, Now: now,
		ClusterCIDR: netip.MustParsePrefix("10.244.0.0/16"), Placements: map[types.NamespacedName]string{},
		Owned: map[types.NamespacedName]replicas.Owned{}, Seq: map[string]uint64{},
		DeploymentSets: map[string]map[string]deployments.Set{}}
	plan := Compute(in)
	w := workloads(in, plan)
	names := func() string {
		var out []string
		for _, d := range w.Deployments {
			out = append(out, "deploy/"+d.Name)
		}
		for _, r := range w.ReplicaSets {
			out = append(out, "rs/"+r.Name)
		}
		for _, r := range w.ReplicationControllers {
			out = append(out, "rc/"+r.Name)
		}
		for _, d := range w.DaemonSets {
			out = append(out, "ds/"+d.Name)
		}
		for _, j := range w.Jobs {
			out = append(out, "job/"+j.Name)
		}
		for _, c := range w.CronJobs {
			out = append(out, "cj/"+c.Name)
		}
		return strings.Join(out, " ")
	}
	var hash string
	for h := range plan.Deployments.Put["default/web"] {
		hash = h
	}
	if got, want := names(), "deploy/web rs/cache rs/web-"+hash+" rc/legacy ds/agent job/once cj/tick"; got != want {
		t.Fatalf("objects %s, want %s", got, want)
	}
	web := w.ReplicaSets[1]
	if ref := web.OwnerReferences; len(ref) != 1 || ref[0].Kind != "Deployment" || ref[0].UID != w.Deployments[0].UID || w.Deployments[0].UID == "" {
		t.Errorf("the Deployment's ReplicaSet is owned by %+v (Deployment UID %q)", ref, w.Deployments[0].UID)
	}
	if web.Status.Replicas != 2 || *web.Spec.Replicas != 2 {
		t.Errorf("web's ReplicaSet: spec %d, status %+v", *web.Spec.Replicas, web.Status)
	}
	// The pods' ownerReferences name the UIDs the objects carry.
	for _, p := range plan.Pods {
		if p.OwnerReferences[0].Name == web.Name && p.OwnerReferences[0].UID != web.UID {
			t.Errorf("pod %s owned by UID %s, the ReplicaSet's is %s", p.Name, p.OwnerReferences[0].UID, web.UID)
		}
	}
	if w.DaemonSets[0].Status.DesiredNumberScheduled != 2 || w.Jobs[0].Status.Active != 1 || w.ReplicationControllers[0].Status.Replicas != 1 {
		t.Errorf("statuses: ds %+v, job %+v, rc %+v", w.DaemonSets[0].Status, w.Jobs[0].Status, w.ReplicationControllers[0].Status)
	}

	// A minute on, every pod reported Running and Ready.
	record(&in, plan)
	in.Now = now.Add(time.Minute)
	for i := range in.Nodes {
		in.Nodes[i].LastSeen = in.Now
		in.Nodes[i].Pods = nil
		for _, p := range plan.Nodes[in.Nodes[i].Name].Pods {
			p.Status.Phase = corev1.PodRunning
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			in.Nodes[i].Pods = append(in.Nodes[i].Pods, p)
		}
	}
	plan = Compute(in)
	w = workloads(in, plan)
	for _, o := range []struct {
		what    string
		created time.Time
	}{
		{"deployment", w.Deployments[0].CreationTimestamp.Time}, {"replicaset", w.ReplicaSets[0].CreationTimestamp.Time},
		{"deployment's replicaset", w.ReplicaSets[1].CreationTimestamp.Time}, {"rc", w.ReplicationControllers[0].CreationTimestamp.Time},
		{"daemonset", w.DaemonSets[0].CreationTimestamp.Time}, {"job", w.Jobs[0].CreationTimestamp.Time}, {"cronjob", w.CronJobs[0].CreationTimestamp.Time},
	} {
		if !o.created.Equal(now) {
			t.Errorf("%s created %v, want the first step's %v", o.what, o.created, now)
		}
	}
	if st := w.ReplicaSets[1].Status; st.ReadyReplicas != 2 || st.AvailableReplicas != 2 {
		t.Errorf("web's ReplicaSet status %+v", st)
	}
	if st := w.DaemonSets[0].Status; st.NumberReady != 2 || st.CurrentNumberScheduled != 2 || st.UpdatedNumberScheduled != 2 {
		t.Errorf("daemonset status %+v", st)
	}
	if st := w.Jobs[0].Status; st.Ready == nil || *st.Ready != 1 || st.StartTime == nil {
		t.Errorf("job status %+v", st)
	}
	// The CronJob ran at 12:01: its Job is listed, owned by it.
	if st := w.CronJobs[0].Status; len(st.Active) != 1 || st.LastScheduleTime == nil {
		t.Errorf("cronjob status %+v", st)
	}
	var cronJob bool
	for _, j := range w.Jobs {
		cronJob = cronJob || (len(j.OwnerReferences) == 1 && j.OwnerReferences[0].Kind == "CronJob" && j.OwnerReferences[0].Name == "tick")
	}
	if !cronJob {
		t.Errorf("the CronJob's Job is not listed: %s", names())
	}
}
