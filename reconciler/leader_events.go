package reconciler

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/reconciler/events"
	"github.com/shoal-run/shoal/reconciler/jobs"
)

// recordEvents turns what a step decided into Kubernetes-style events.
func (t *term) recordEvents(in Input, plan Plan) {
	ev := t.r.cfg.Events
	if ev == nil {
		return
	}
	pod := func(k types.NamespacedName) events.Object {
		return events.Object{Kind: "Pod", Namespace: k.Namespace, Name: k.Name}
	}
	// FailedScheduling once per message, as the message changes.
	pending := map[types.NamespacedName]string{}
	for k, msg := range plan.Pending {
		pending[k] = msg
		if t.pending[k] != msg {
			ev.Record(pod(k), corev1.EventTypeWarning, "FailedScheduling", msg)
		}
	}
	t.pending = pending
	for k, node := range plan.Place {
		ev.Record(pod(k), corev1.EventTypeNormal, "Scheduled", fmt.Sprintf("Successfully assigned %s/%s to %s", k.Namespace, k.Name, node))
	}
	for k, msg := range plan.Failed {
		ev.Record(pod(k), corev1.EventTypeWarning, "NodeLost", msg)
	}
	owner := func(key string) events.Object {
		parts := strings.SplitN(key, "/", 3)
		if len(parts) != 3 {
			return events.Object{Name: key}
		}
		return events.Object{Kind: parts[0], Namespace: parts[1], Name: parts[2]}
	}
	for k, o := range plan.Replicas.Create {
		ev.Record(owner(o.Owner), corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: "+k.Name)
	}
	for _, k := range plan.Replicas.Delete {
		if o, ok := in.Owned[k]; ok {
			ev.Record(owner(o.Owner), corev1.EventTypeNormal, "SuccessfulDelete", "Deleted pod: "+k.Name)
		}
	}
	for key, sets := range plan.Deployments.Put {
		ns, name, _ := strings.Cut(key, "/")
		for hash, s := range sets {
			old, had := in.DeploymentSets[key][hash]
			if had && old.Replicas == s.Replicas {
				continue
			}
			from := int32(0)
			if had {
				from = old.Replicas
			}
			if s.Replicas == from {
				continue
			}
			dir := "up"
			if s.Replicas < from {
				dir = "down"
			}
			ev.Record(events.Object{Kind: "Deployment", Namespace: ns, Name: name}, corev1.EventTypeNormal, "ScalingReplicaSet",
				fmt.Sprintf("Scaled %s replica set %s-%s from %d to %d", dir, name, hash, from, s.Replicas))
		}
	}
	for key, st := range plan.Jobs.Put {
		ns, name, _ := strings.Cut(key, "/")
		job := events.Object{Kind: "Job", Namespace: ns, Name: name}
		old := in.JobStates[key]
		known := map[string]bool{}
		for _, p := range append(append([]string(nil), old.Active...), old.Finished...) {
			known[p] = true
		}
		for _, p := range st.Active {
			if !known[p] {
				ev.Record(job, corev1.EventTypeNormal, "SuccessfulCreate", "Created pod: "+p)
			}
		}
		if st.Condition != "" && old.Condition == "" {
			switch st.Condition {
			case jobs.Complete:
				ev.Record(job, corev1.EventTypeNormal, "Completed", "Job completed")
			default:
				ev.Record(job, corev1.EventTypeWarning, st.Reason, "Job has reached the specified backoff limit or active deadline")
			}
		}
	}
	for _, e := range plan.CronJobs.Events {
		key, msg, _ := strings.Cut(e, ": ")
		ns, name, _ := strings.Cut(key, "/")
		ev.Record(events.Object{Kind: "CronJob", Namespace: ns, Name: name}, corev1.EventTypeNormal, "SuccessfulCreate", msg)
	}
}
