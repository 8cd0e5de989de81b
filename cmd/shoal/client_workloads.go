package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/reconciler/deployments"
)

// The workload kinds of `get` and `describe`, with kubectl's names,
// columns and describe text.
var (
	deploymentKind = resourceKind(api.Deployments, "deployment.apps", []string{"deployments", "deployment", "deploy"},
		columns[appsv1.Deployment, *appsv1.Deployment]{
			names: []string{"READY", "UP-TO-DATE", "AVAILABLE", "AGE"}, wideNames: templateColumns,
			row: func(d *appsv1.Deployment, now time.Time) []string {
				st := d.Status
				return []string{fmt.Sprintf("%d/%d", st.ReadyReplicas, replicasOf(d)), itoa(st.UpdatedReplicas), itoa(st.AvailableReplicas), age(d.CreationTimestamp.Time, now)}
			},
			wide: func(d *appsv1.Deployment) []string {
				return templateCells(&d.Spec.Template, metav1.FormatLabelSelector(d.Spec.Selector))
			},
		}, describeDeployment)

	replicaSetKind = resourceKind(api.ReplicaSets, "replicaset.apps", []string{"replicasets", "replicaset", "rs"},
		columns[appsv1.ReplicaSet, *appsv1.ReplicaSet]{
			names: []string{"DESIRED", "CURRENT", "READY", "AGE"}, wideNames: templateColumns,
			row: func(r *appsv1.ReplicaSet, now time.Time) []string {
				return replicaCells(r.Spec.Replicas, r.Status.Replicas, r.Status.ReadyReplicas, r.CreationTimestamp, now)
			},
			wide: func(r *appsv1.ReplicaSet) []string {
				return templateCells(&r.Spec.Template, metav1.FormatLabelSelector(r.Spec.Selector))
			},
		},
		func(d describer, r *appsv1.ReplicaSet, rel *related) {
			d.replicated("ReplicaSet", &r.ObjectMeta, metav1.FormatLabelSelector(r.Spec.Selector), r.Status.Replicas, orOne(r.Spec.Replicas), &r.Spec.Template, rel)
		})

	replicationControllerKind = resourceKind(api.ReplicationControllers, "replicationcontroller", []string{"replicationcontrollers", "replicationcontroller", "rc"},
		columns[corev1.ReplicationController, *corev1.ReplicationController]{
			names: []string{"DESIRED", "CURRENT", "READY", "AGE"}, wideNames: templateColumns,
			row: func(r *corev1.ReplicationController, now time.Time) []string {
				return replicaCells(r.Spec.Replicas, r.Status.Replicas, r.Status.ReadyReplicas, r.CreationTimestamp, now)
			},
			wide: func(r *corev1.ReplicationController) []string {
				return templateCells(r.Spec.Template, labels.FormatLabels(r.Spec.Selector))
			},
		},
		func(d describer, r *corev1.ReplicationController, rel *related) {
			d.replicated("ReplicationController", &r.ObjectMeta, labels.FormatLabels(r.Spec.Selector), r.Status.Replicas, orOne(r.Spec.Replicas), r.Spec.Template, rel)
		})

	daemonSetKind = resourceKind(api.DaemonSets, "daemonset.apps", []string{"daemonsets", "daemonset", "ds"},
		columns[appsv1.DaemonSet, *appsv1.DaemonSet]{
			names: []string{"DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"}, wideNames: templateColumns,
			row: func(ds *appsv1.DaemonSet, now time.Time) []string {
				st := ds.Status
				return []string{itoa(st.DesiredNumberScheduled), itoa(st.CurrentNumberScheduled), itoa(st.NumberReady), itoa(st.UpdatedNumberScheduled),
					itoa(st.NumberAvailable), labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector), age(ds.CreationTimestamp.Time, now)}
			},
			wide: func(ds *appsv1.DaemonSet) []string {
				return templateCells(&ds.Spec.Template, metav1.FormatLabelSelector(ds.Spec.Selector))
			},
		}, describeDaemonSet)

	jobKind = resourceKind(api.Jobs, "job.batch", []string{"jobs", "job"},
		columns[batchv1.Job, *batchv1.Job]{
			names: []string{"STATUS", "COMPLETIONS", "DURATION", "AGE"}, wideNames: templateColumns,
			row: func(j *batchv1.Job, now time.Time) []string {
				return []string{jobStatus(j), jobCompletions(j), jobDuration(j, now), age(j.CreationTimestamp.Time, now)}
			},
			wide: func(j *batchv1.Job) []string {
				return templateCells(&j.Spec.Template, metav1.FormatLabelSelector(j.Spec.Selector))
			},
		}, describeJob)

	cronJobKind = resourceKind(api.CronJobs, "cronjob.batch", []string{"cronjobs", "cronjob", "cj"},
		columns[batchv1.CronJob, *batchv1.CronJob]{
			names: []string{"SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"}, wideNames: templateColumns,
			row: func(c *batchv1.CronJob, now time.Time) []string {
				last := "<none>"
				if c.Status.LastScheduleTime != nil {
					last = age(c.Status.LastScheduleTime.Time, now)
				}
				return []string{c.Spec.Schedule, ptrString(c.Spec.TimeZone, "<none>"), boolPtr(c.Spec.Suspend), strconv.Itoa(len(c.Status.Active)), last, age(c.CreationTimestamp.Time, now)}
			},
			wide: func(c *batchv1.CronJob) []string {
				return templateCells(&c.Spec.JobTemplate.Spec.Template, metav1.FormatLabelSelector(c.Spec.JobTemplate.Spec.Selector))
			},
		}, describeCronJob)
)

// templateColumns are the wide columns of the workloads.
var templateColumns = []string{"CONTAINERS", "IMAGES", "SELECTOR"}

// templateCells are the wide cells of a workload: its template's container
// names and images, and its selector.
func templateCells(t *corev1.PodTemplateSpec, selector string) []string {
	if t == nil {
		return []string{"", "", selector}
	}
	var names, images []string
	for _, c := range t.Spec.Containers {
		names, images = append(names, c.Name), append(images, c.Image)
	}
	return []string{strings.Join(names, ","), strings.Join(images, ","), selector}
}

// replicaCells are the DESIRED CURRENT READY AGE cells of a ReplicaSet or
// ReplicationController.
func replicaCells(desired *int32, current, ready int32, created metav1.Time, now time.Time) []string {
	return []string{itoa(orOne(desired)), itoa(current), itoa(ready), age(created.Time, now)}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// orOne is a replica count that defaults to one.
func orOne(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func ptrString(p *string, unset string) string {
	if p == nil {
		return unset
	}
	return *p
}

// boolPtr is kubectl's cell for an optional boolean.
func boolPtr(p *bool) string {
	if p == nil {
		return "<unset>"
	}
	return trueFalse(*p)
}

// jobStatus is the STATUS column of a Job, by kubectl's rules.
func jobStatus(j *batchv1.Job) string {
	for _, want := range []batchv1.JobConditionType{batchv1.JobComplete, batchv1.JobFailed, batchv1.JobSuspended, batchv1.JobFailureTarget, batchv1.JobSuccessCriteriaMet} {
		for _, c := range j.Status.Conditions {
			if c.Type == want && c.Status == corev1.ConditionTrue {
				return string(want)
			}
		}
	}
	return "Running"
}

// jobCompletions is the COMPLETIONS column: succeeded/completions.
func jobCompletions(j *batchv1.Job) string {
	if j.Spec.Completions != nil {
		return fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	}
	if p := orOne(j.Spec.Parallelism); p > 1 {
		return fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, p)
	}
	return fmt.Sprintf("%d/1", j.Status.Succeeded)
}

// jobDuration is how long a Job ran: to its completion, else to now.
func jobDuration(j *batchv1.Job, now time.Time) string {
	switch st := j.Status; {
	case st.StartTime == nil:
		return ""
	case st.CompletionTime == nil:
		return duration.HumanDuration(now.Sub(st.StartTime.Time))
	default:
		return duration.HumanDuration(st.CompletionTime.Sub(st.StartTime.Time))
	}
}

// --- describe ---

// header writes what every workload's description starts with.
func (d describer) header(m *metav1.ObjectMeta, selector string) {
	d.line(0, "Name:\t%s", m.Name)
	d.line(0, "Namespace:\t%s", m.Namespace)
	if selector != "" {
		d.line(0, "Selector:\t%s", selector)
	}
	d.stringMap("Labels", m.Labels)
	d.stringMap("Annotations", m.Annotations)
	if ref := metav1.GetControllerOf(m); ref != nil {
		d.line(0, "Controlled By:\t%s/%s", ref.Kind, ref.Name)
	}
}

// created is a Git object's creation time: <unknown> until the leader
// recorded its controller's first step.
func (d describer) created(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return d.time(t)
}

// podTemplate writes a workload's pod template as kubectl does.
func (d describer) podTemplate(t *corev1.PodTemplateSpec) {
	if t == nil {
		d.line(0, "Pod Template:\t<none>")
		return
	}
	d.line(0, "Pod Template:")
	in := d
	in.indent++
	in.stringMap("Labels", t.Labels)
	if len(t.Annotations) > 0 {
		in.stringMap("Annotations", t.Annotations)
	}
	if len(t.Spec.InitContainers) > 0 {
		in.line(0, "Init Containers:")
		in.containers(t.Spec.InitContainers, nil, false)
	}
	in.line(0, "Containers:")
	in.containers(t.Spec.Containers, nil, false)
	in.volumes(t.Spec.Volumes)
	in.stringMap("Node-Selectors", t.Spec.NodeSelector)
	in.tolerations(t.Spec.Tolerations)
}

// conditions writes a Conditions table: head, then a row a condition.
func (d describer) conditions(head []string, rows [][]string) {
	if len(rows) == 0 {
		return
	}
	d.line(0, "Conditions:")
	d.line(1, "%s", strings.Join(head, "\t"))
	var rule []string
	for _, h := range head {
		rule = append(rule, strings.Repeat("-", len(h)))
	}
	d.line(1, "%s", strings.Join(rule, "\t"))
	for _, r := range rows {
		d.line(1, "%s", strings.Join(r, "\t"))
	}
}

// podsStatus writes the phases of the pods a controller (kind, name) owns,
// when the pods could be listed.
func (d describer) podsStatus(kind string, m *metav1.ObjectMeta, rel *related) {
	pods, ok := rel.pods()
	if !ok {
		return
	}
	count := map[corev1.PodPhase]int{}
	for i := range pods {
		p := &pods[i]
		if ref := metav1.GetControllerOf(p); ref != nil && ref.Kind == kind && ref.Name == m.Name && p.Namespace == m.Namespace {
			count[p.Status.Phase]++
		}
	}
	d.line(0, "Pods Status:\t%d Running / %d Waiting / %d Succeeded / %d Failed",
		count[corev1.PodRunning], count[corev1.PodPending], count[corev1.PodSucceeded], count[corev1.PodFailed])
}

// replicated describes a ReplicaSet or ReplicationController.
func (d describer) replicated(kind string, m *metav1.ObjectMeta, selector string, current, desired int32, t *corev1.PodTemplateSpec, rel *related) {
	d.header(m, selector)
	d.line(0, "CreationTimestamp:\t%s", d.created(m.CreationTimestamp))
	d.line(0, "Replicas:\t%d current / %d desired", current, desired)
	d.podsStatus(kind, m, rel)
	d.podTemplate(t)
}

func describeDeployment(d describer, dep *appsv1.Deployment, rel *related) {
	d.header(&dep.ObjectMeta, metav1.FormatLabelSelector(dep.Spec.Selector))
	d.line(0, "CreationTimestamp:\t%s", d.created(dep.CreationTimestamp))
	st := dep.Status
	d.line(0, "Replicas:\t%d desired | %d updated | %d total | %d available | %d unavailable",
		replicasOf(dep), st.UpdatedReplicas, st.Replicas, st.AvailableReplicas, st.UnavailableReplicas)
	d.line(0, "StrategyType:\t%s", dep.Spec.Strategy.Type)
	d.line(0, "MinReadySeconds:\t%d", dep.Spec.MinReadySeconds)
	if ru := dep.Spec.Strategy.RollingUpdate; ru != nil {
		d.line(0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge", intOrString(ru.MaxUnavailable), intOrString(ru.MaxSurge))
	}
	d.podTemplate(&dep.Spec.Template)
	var rows [][]string
	for _, c := range st.Conditions {
		rows = append(rows, []string{string(c.Type), string(c.Status), c.Reason})
	}
	d.conditions([]string{"Type", "Status", "Reason"}, rows)
	if rss, ok := rel.replicaSets(); ok {
		old, cur := ownedReplicaSets(dep, rss)
		d.line(0, "OldReplicaSets:\t%s", replicaSetSummary(old))
		d.line(0, "NewReplicaSet:\t%s", replicaSetSummary(cur))
	}
}

func intOrString(v *intstr.IntOrString) string {
	if v == nil {
		return "<unset>"
	}
	return v.String()
}

// ownedReplicaSets are a Deployment's ReplicaSets: the newest revision,
// and the older ones that still have replicas (as kubectl shows them).
func ownedReplicaSets(dep *appsv1.Deployment, rss []appsv1.ReplicaSet) (old, cur []appsv1.ReplicaSet) {
	var mine []appsv1.ReplicaSet
	for _, rs := range rss {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.Kind == "Deployment" && ref.Name == dep.Name && rs.Namespace == dep.Namespace {
			mine = append(mine, rs)
		}
	}
	revision := func(rs appsv1.ReplicaSet) int {
		n, _ := strconv.Atoi(rs.Annotations[deployments.RevisionAnnotation])
		return n
	}
	sort.SliceStable(mine, func(i, j int) bool { return revision(mine[i]) > revision(mine[j]) })
	for i, rs := range mine {
		switch {
		case i == 0:
			cur = append(cur, rs)
		case orOne(rs.Spec.Replicas) > 0 || rs.Status.Replicas > 0:
			old = append(old, rs)
		}
	}
	return old, cur
}

// replicaSetSummary is kubectl's "web-5d8f (3/3 replicas created)" list.
func replicaSetSummary(rss []appsv1.ReplicaSet) string {
	if len(rss) == 0 {
		return "<none>"
	}
	var out []string
	for _, rs := range rss {
		out = append(out, fmt.Sprintf("%s (%d/%d replicas created)", rs.Name, rs.Status.Replicas, orOne(rs.Spec.Replicas)))
	}
	return strings.Join(out, ", ")
}

func describeDaemonSet(d describer, ds *appsv1.DaemonSet, rel *related) {
	d.header(&ds.ObjectMeta, metav1.FormatLabelSelector(ds.Spec.Selector))
	d.line(0, "Node-Selector:\t%s", labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector))
	d.line(0, "CreationTimestamp:\t%s", d.created(ds.CreationTimestamp))
	st := ds.Status
	d.line(0, "Desired Number of Nodes Scheduled:\t%d", st.DesiredNumberScheduled)
	d.line(0, "Current Number of Nodes Scheduled:\t%d", st.CurrentNumberScheduled)
	d.line(0, "Number of Nodes Scheduled with Up-to-date Pods:\t%d", st.UpdatedNumberScheduled)
	d.line(0, "Number of Nodes Scheduled with Available Pods:\t%d", st.NumberAvailable)
	d.line(0, "Number of Nodes Misscheduled:\t%d", st.NumberMisscheduled)
	d.podsStatus("DaemonSet", &ds.ObjectMeta, rel)
	d.podTemplate(&ds.Spec.Template)
}

func describeJob(d describer, j *batchv1.Job, _ *related) {
	d.header(&j.ObjectMeta, metav1.FormatLabelSelector(j.Spec.Selector))
	d.line(0, "Parallelism:\t%d", orOne(j.Spec.Parallelism))
	if j.Spec.Completions != nil {
		d.line(0, "Completions:\t%d", *j.Spec.Completions)
	} else {
		d.line(0, "Completions:\t<unset>")
	}
	mode := batchv1.NonIndexedCompletion
	if j.Spec.CompletionMode != nil {
		mode = *j.Spec.CompletionMode
	}
	d.line(0, "Completion Mode:\t%s", mode)
	d.line(0, "Suspend:\t%t", j.Spec.Suspend != nil && *j.Spec.Suspend)
	if j.Spec.BackoffLimit != nil {
		d.line(0, "Backoff Limit:\t%d", *j.Spec.BackoffLimit)
	}
	if j.Spec.TTLSecondsAfterFinished != nil {
		d.line(0, "TTL Seconds After Finished:\t%d", *j.Spec.TTLSecondsAfterFinished)
	}
	st := j.Status
	if st.StartTime != nil {
		d.line(0, "Start Time:\t%s", d.time(*st.StartTime))
	}
	if st.CompletionTime != nil {
		d.line(0, "Completed At:\t%s", d.time(*st.CompletionTime))
		d.line(0, "Duration:\t%s", duration.HumanDuration(st.CompletionTime.Sub(st.StartTime.Time)))
	}
	if j.Spec.ActiveDeadlineSeconds != nil {
		d.line(0, "Active Deadline Seconds:\t%ds", *j.Spec.ActiveDeadlineSeconds)
	}
	d.line(0, "Pods Statuses:\t%d Active (%d Ready) / %d Succeeded / %d Failed", st.Active, ptrOr(st.Ready, 0), st.Succeeded, st.Failed)
	d.podTemplate(&j.Spec.Template)
	var rows [][]string
	for _, c := range st.Conditions {
		rows = append(rows, []string{string(c.Type), string(c.Status), c.Reason, c.Message})
	}
	d.conditions([]string{"Type", "Status", "Reason", "Message"}, rows)
}

func describeCronJob(d describer, c *batchv1.CronJob, _ *related) {
	d.header(&c.ObjectMeta, "")
	d.line(0, "CreationTimestamp:\t%s", d.created(c.CreationTimestamp))
	d.line(0, "Schedule:\t%s", c.Spec.Schedule)
	if c.Spec.TimeZone != nil {
		d.line(0, "Time Zone:\t%s", *c.Spec.TimeZone)
	}
	d.line(0, "Concurrency Policy:\t%s", c.Spec.ConcurrencyPolicy)
	d.line(0, "Suspend:\t%s", boolPtr(c.Spec.Suspend))
	d.line(0, "Successful Job History Limit:\t%s", int32Ptr(c.Spec.SuccessfulJobsHistoryLimit))
	d.line(0, "Failed Job History Limit:\t%s", int32Ptr(c.Spec.FailedJobsHistoryLimit))
	if s := c.Spec.StartingDeadlineSeconds; s != nil {
		d.line(0, "Starting Deadline Seconds:\t%ds", *s)
	} else {
		d.line(0, "Starting Deadline Seconds:\t<unset>")
	}
	js := c.Spec.JobTemplate.Spec
	if js.Selector != nil {
		d.line(0, "Selector:\t%s", metav1.FormatLabelSelector(js.Selector))
	} else {
		d.line(0, "Selector:\t<unset>")
	}
	d.line(0, "Parallelism:\t%s", int32Ptr(js.Parallelism))
	d.line(0, "Completions:\t%s", int32Ptr(js.Completions))
	d.podTemplate(&js.Template)
	if t := c.Status.LastScheduleTime; t != nil {
		d.line(0, "Last Schedule Time:\t%s", d.time(*t))
	} else {
		d.line(0, "Last Schedule Time:\t<unset>")
	}
	var active []string
	for _, r := range c.Status.Active {
		active = append(active, r.Name)
	}
	d.line(0, "Active Jobs:\t%s", orNone(strings.Join(active, ", ")))
}

func int32Ptr(p *int32) string {
	if p == nil {
		return "<unset>"
	}
	return itoa(*p)
}
