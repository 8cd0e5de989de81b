package reconciler

import (
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/reconciler/cronjobs"
	"github.com/shoal-run/shoal/reconciler/daemons"
	"github.com/shoal-run/shoal/reconciler/deployments"
	"github.com/shoal-run/shoal/reconciler/internal/names"
	"github.com/shoal-run/shoal/reconciler/jobs"
	"github.com/shoal-run/shoal/reconciler/replicas"
)

// Workloads are the workload objects the leader serves: those of the
// desired state, the ReplicaSets the Deployments made and the Jobs the
// CronJobs made, each with the status its controller computed. Git objects
// have no creation time or UID of their own: an object's creation time is
// when its controller's ledger record began (a Deployment: its first
// ReplicaSet; a ReplicaSet or ReplicationController of Git: its oldest pod
// record; a DaemonSet or CronJob: when the leader first saw it; a Job: when
// it started), zero when there is none yet, and its UID the one its pods'
// ownerReferences carry. Each list is sorted by namespace and name.
type Workloads struct {
	Deployments            []appsv1.Deployment
	ReplicaSets            []appsv1.ReplicaSet
	ReplicationControllers []corev1.ReplicationController
	DaemonSets             []appsv1.DaemonSet
	Jobs                   []batchv1.Job
	CronJobs               []batchv1.CronJob
}

// workloads builds a step's Workloads from its input (the ledger records
// before the step) and plan (the records the step writes win). It is pure.
func workloads(in Input, plan Plan) Workloads {
	var w Workloads
	if in.Desired == nil {
		return w
	}
	ident := func(kind string, m *metav1.ObjectMeta, created time.Time) {
		m.UID = names.ControllerUID(kind + "/" + m.Namespace + "/" + m.Name)
		if !created.IsZero() {
			m.CreationTimestamp = metav1.NewTime(created)
		}
	}
	for _, d := range manifests.Of[*appsv1.Deployment](in.Desired) {
		dd := *d.DeepCopy()
		key := deployments.Key(d)
		dd.Status = plan.Deployments.Status[key]
		var created time.Time
		for h, s := range merged(in.DeploymentSets[key], plan.Deployments.Put[key], plan.Deployments.Delete[key]) {
			if created.IsZero() || s.Created.Before(created) {
				created = s.Created
			}
			rs := deployments.ReplicaSet(&dd, names.ControllerUID("Deployment/"+key), h, s)
			rs.UID = names.ControllerUID("ReplicaSet/" + rs.Namespace + "/" + rs.Name)
			rs.Status = replicaSetStatus(plan.Replicas.Status["ReplicaSet/"+rs.Namespace+"/"+rs.Name])
			w.ReplicaSets = append(w.ReplicaSets, rs)
		}
		ident("Deployment", &dd.ObjectMeta, created)
		w.Deployments = append(w.Deployments, dd)
	}

	// A Git controller's oldest pod record, by its key.
	oldest := map[string]time.Time{}
	for _, o := range in.Owned {
		if t, ok := oldest[o.Owner]; !ok || o.Created.Before(t) {
			oldest[o.Owner] = o.Created
		}
	}
	for _, o := range plan.Replicas.Create {
		if _, ok := oldest[o.Owner]; !ok {
			oldest[o.Owner] = o.Created
		}
	}
	for _, r := range manifests.Of[*appsv1.ReplicaSet](in.Desired) {
		rs := *r.DeepCopy()
		key := "ReplicaSet/" + rs.Namespace + "/" + rs.Name
		rs.Status = replicaSetStatus(plan.Replicas.Status[key])
		ident("ReplicaSet", &rs.ObjectMeta, oldest[key])
		w.ReplicaSets = append(w.ReplicaSets, rs)
	}
	for _, r := range manifests.Of[*corev1.ReplicationController](in.Desired) {
		rc := *r.DeepCopy()
		key := "ReplicationController/" + rc.Namespace + "/" + rc.Name
		st := plan.Replicas.Status[key]
		rc.Status = corev1.ReplicationControllerStatus{Replicas: st.Replicas, ReadyReplicas: st.ReadyReplicas, AvailableReplicas: st.AvailableReplicas}
		ident("ReplicationController", &rc.ObjectMeta, oldest[key])
		w.ReplicationControllers = append(w.ReplicationControllers, rc)
	}

	daemonStates := merged(in.DaemonStates, plan.Daemons.Put, plan.Daemons.Delete)
	for _, d := range manifests.Of[*appsv1.DaemonSet](in.Desired) {
		ds := *d.DeepCopy()
		ds.Status = plan.Daemons.Status[daemons.Key(d)]
		ident("DaemonSet", &ds.ObjectMeta, daemonStates[daemons.Key(d)].Created)
		w.DaemonSets = append(w.DaemonSets, ds)
	}

	jobStates := merged(in.JobStates, plan.Jobs.Put, plan.Jobs.Delete)
	for _, j := range allJobs(in.Desired, plan.CronJobs) {
		st, ok := plan.Jobs.Status[jobs.Key(j)]
		if !ok {
			continue // its TTL passed: Kubernetes would have deleted it
		}
		jj := *j.DeepCopy()
		jj.Status = st
		ident("Job", &jj.ObjectMeta, jobStates[jobs.Key(j)].Start)
		w.Jobs = append(w.Jobs, jj)
	}

	cronStates := merged(in.CronStates, plan.CronJobs.Put, plan.CronJobs.Delete)
	for _, c := range manifests.Of[*batchv1.CronJob](in.Desired) {
		cj := *c.DeepCopy()
		cj.Status = plan.CronJobs.Status[cronjobs.Key(c)]
		ident("CronJob", &cj.ObjectMeta, cronStates[cronjobs.Key(c)].Since)
		w.CronJobs = append(w.CronJobs, cj)
	}

	sortObjects(w.Deployments)
	sortObjects(w.ReplicaSets)
	sortObjects(w.ReplicationControllers)
	sortObjects(w.DaemonSets)
	sortObjects(w.Jobs)
	sortObjects(w.CronJobs)
	return w
}

// allJobs are the Jobs of the desired state and those the CronJobs keep
// (a Job of Git wins over a CronJob's of the same name).
func allJobs(desired *manifests.Set, cplan cronjobs.Plan) []*batchv1.Job {
	out := manifests.Of[*batchv1.Job](desired)
	fromGit := map[string]bool{}
	for _, j := range out {
		fromGit[jobs.Key(j)] = true
	}
	for _, j := range cplan.Jobs {
		if !fromGit[jobs.Key(j)] {
			out = append(out, j)
		}
	}
	return out
}

func replicaSetStatus(st replicas.Status) appsv1.ReplicaSetStatus {
	return appsv1.ReplicaSetStatus{Replicas: st.Replicas, ReadyReplicas: st.ReadyReplicas, AvailableReplicas: st.AvailableReplicas}
}

// merged returns old with put written over it and del removed, leaving
// old as it was.
func merged[V any](old, put map[string]V, del []string) map[string]V {
	out := make(map[string]V, len(old)+len(put))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range put {
		out[k] = v
	}
	for _, k := range del {
		delete(out, k)
	}
	return out
}

// sortObjects sorts Kubernetes objects by namespace and name.
func sortObjects[T any, PT interface {
	*T
	GetNamespace() string
	GetName() string
}](items []T) {
	sort.Slice(items, func(i, j int) bool {
		a, b := PT(&items[i]), PT(&items[j])
		if a.GetNamespace() != b.GetNamespace() {
			return a.GetNamespace() < b.GetNamespace()
		}
		return a.GetName() < b.GetName()
	})
}
