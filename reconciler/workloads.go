package reconciler

import (
	"slices"
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
// ownerReferences carry. A ReplicaSet, ReplicationController or Deployment
// that a LimitRange or ResourceQuota kept from creating a pod in the step
// has the ReplicaFailure condition, reason FailedCreate, as in Kubernetes.
// Each list is sorted by namespace and name.
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
	var made []appsv1.ReplicaSet // the Deployments' ReplicaSets
	w.Deployments = withStatus(manifests.Of[*appsv1.Deployment](in.Desired), "Deployment", func(d *appsv1.Deployment) (time.Time, bool) {
		key := deployments.Key(d)
		d.Status = plan.Deployments.Status[key]
		var created time.Time
		for h, s := range merged(in.DeploymentSets[key], plan.Deployments.Put[key], plan.Deployments.Delete[key]) {
			if created.IsZero() || s.Created.Before(created) {
				created = s.Created
			}
			rs := deployments.ReplicaSet(d, names.ControllerUID("Deployment/"+key), h, s)
			rs.UID = names.ControllerUID("ReplicaSet/" + rs.Namespace + "/" + rs.Name)
			rsKey := "ReplicaSet/" + rs.Namespace + "/" + rs.Name
			rs.Status = replicaSetStatus(plan.Replicas.Status[rsKey], plan.FailedCreate[rsKey])
			made = append(made, rs)
			// The Deployment controller copies its ReplicaSets' failure.
			if msg, ok := plan.FailedCreate[rsKey]; ok && !hasDeploymentCondition(d, appsv1.DeploymentReplicaFailure) {
				d.Status.Conditions = append(slices.Clone(d.Status.Conditions), appsv1.DeploymentCondition{
					Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: ReasonFailedCreate, Message: msg,
				})
			}
		}
		return created, true
	})

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
	w.ReplicaSets = append(made, withStatus(manifests.Of[*appsv1.ReplicaSet](in.Desired), "ReplicaSet", func(rs *appsv1.ReplicaSet) (time.Time, bool) {
		key := "ReplicaSet/" + rs.Namespace + "/" + rs.Name
		rs.Status = replicaSetStatus(plan.Replicas.Status[key], plan.FailedCreate[key])
		return oldest[key], true
	})...)
	w.ReplicationControllers = withStatus(manifests.Of[*corev1.ReplicationController](in.Desired), "ReplicationController", func(rc *corev1.ReplicationController) (time.Time, bool) {
		key := "ReplicationController/" + rc.Namespace + "/" + rc.Name
		st := plan.Replicas.Status[key]
		rc.Status = corev1.ReplicationControllerStatus{Replicas: st.Replicas, ReadyReplicas: st.ReadyReplicas, AvailableReplicas: st.AvailableReplicas}
		if msg, ok := plan.FailedCreate[key]; ok {
			rc.Status.Conditions = []corev1.ReplicationControllerCondition{{
				Type: corev1.ReplicationControllerReplicaFailure, Status: corev1.ConditionTrue, Reason: ReasonFailedCreate, Message: msg,
			}}
		}
		return oldest[key], true
	})

	daemonStates := merged(in.DaemonStates, plan.Daemons.Put, plan.Daemons.Delete)
	w.DaemonSets = withStatus(manifests.Of[*appsv1.DaemonSet](in.Desired), "DaemonSet", func(ds *appsv1.DaemonSet) (time.Time, bool) {
		ds.Status = plan.Daemons.Status[daemons.Key(ds)]
		return daemonStates[daemons.Key(ds)].Created, true
	})
	jobStates := merged(in.JobStates, plan.Jobs.Put, plan.Jobs.Delete)
	w.Jobs = withStatus(allJobs(in.Desired, plan.CronJobs), "Job", func(j *batchv1.Job) (time.Time, bool) {
		st, ok := plan.Jobs.Status[jobs.Key(j)] // none once its TTL passed: Kubernetes would have deleted it
		j.Status = st
		return jobStates[jobs.Key(j)].Start, ok
	})
	cronStates := merged(in.CronStates, plan.CronJobs.Put, plan.CronJobs.Delete)
	w.CronJobs = withStatus(manifests.Of[*batchv1.CronJob](in.Desired), "CronJob", func(cj *batchv1.CronJob) (time.Time, bool) {
		cj.Status = plan.CronJobs.Status[cronjobs.Key(cj)]
		return cronStates[cronjobs.Key(cj)].Since, true
	})

	sortObjects(w.Deployments)
	sortObjects(w.ReplicaSets)
	sortObjects(w.ReplicationControllers)
	sortObjects(w.DaemonSets)
	sortObjects(w.Jobs)
	sortObjects(w.CronJobs)
	return w
}

// object is a pointer to a Kubernetes object of type T.
type object[T any] interface {
	*T
	metav1.Object
	DeepCopy() *T
}

// withStatus copies objects of kind, with the UID their pods'
// ownerReferences name; fill sets a copy's status and returns its creation
// time (zero: unknown) and whether to keep it.
func withStatus[T any, PT object[T]](objects []PT, kind string, fill func(PT) (time.Time, bool)) []T {
	var out []T
	for _, o := range objects {
		c := PT(o.DeepCopy())
		created, keep := fill(c)
		if !keep {
			continue
		}
		c.SetUID(names.ControllerUID(kind + "/" + c.GetNamespace() + "/" + c.GetName()))
		if !created.IsZero() {
			c.SetCreationTimestamp(metav1.NewTime(created))
		}
		out = append(out, *c)
	}
	return out
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

// replicaSetStatus is a ReplicaSet's status from its controller's counts
// and, when it could not create a pod this step, the ReplicaFailure
// condition (reason FailedCreate) Kubernetes' ReplicaSet controller sets,
// with the API server's message.
func replicaSetStatus(st replicas.Status, failedCreate string) appsv1.ReplicaSetStatus {
	out := appsv1.ReplicaSetStatus{Replicas: st.Replicas, ReadyReplicas: st.ReadyReplicas, AvailableReplicas: st.AvailableReplicas}
	if failedCreate != "" {
		out.Conditions = []appsv1.ReplicaSetCondition{{
			Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: ReasonFailedCreate, Message: failedCreate,
		}}
	}
	return out
}

func hasDeploymentCondition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == t {
			return true
		}
	}
	return false
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
func sortObjects[T any, PT object[T]](items []T) {
	sort.Slice(items, func(i, j int) bool {
		a, b := PT(&items[i]), PT(&items[j])
		if a.GetNamespace() != b.GetNamespace() {
			return a.GetNamespace() < b.GetNamespace()
		}
		return a.GetName() < b.GetName()
	})
}
