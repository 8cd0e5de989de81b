package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/nodeagent/api/apitest"
)

// workloadCluster is a cluster node with workloads and events, as the
// leader's view serves them.
type workloadCluster struct {
	*fakeCluster
	*apitest.Workloads
}

func i32p(v int32) *int32 { return &v }

func timeAgo(d time.Duration) *metav1.Time { t := ago(d); return &t }

// template is a pod template of one container.
func template(app, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: app, Image: image}}},
	}
}

func selector(app string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
}

func owner(kind, name string) []metav1.OwnerReference {
	yes := true
	return []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}
}

func testWorkloads() *apitest.Workloads {
	quarter := intstr.FromString("25%")
	web := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: ago(time.Hour), Labels: map[string]string{"app": "web"}}}
	web.Spec = appsv1.DeploymentSpec{Replicas: i32p(3), Selector: selector("web"), Template: template("web", "nginx:1.27"),
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &quarter, MaxSurge: &quarter}}}
	web.Status = appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3, Conditions: []appsv1.DeploymentCondition{
		{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
		{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
	}}
	rs := func(name, ns string, revision string, replicas, current, ready int32, created time.Duration) appsv1.ReplicaSet {
		r := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, CreationTimestamp: ago(created)}}
		r.Spec = appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: selector(name), Template: template("web", "nginx:1.27")}
		r.Status = appsv1.ReplicaSetStatus{Replicas: current, ReadyReplicas: ready, AvailableReplicas: ready}
		if revision != "" {
			r.OwnerReferences = owner("Deployment", "web")
			r.Annotations = map[string]string{"deployment.kubernetes.io/revision": revision}
			r.Spec.Selector.MatchLabels["pod-template-hash"] = strings.TrimPrefix(name, "web-")
		}
		return r
	}
	rc := corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: "default", CreationTimestamp: ago(3 * 24 * time.Hour)}}
	legacy := template("legacy", "busybox")
	rc.Spec = corev1.ReplicationControllerSpec{Replicas: i32p(1), Selector: map[string]string{"app": "legacy"}, Template: &legacy}
	rc.Status = corev1.ReplicationControllerStatus{Replicas: 1}

	agent := appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "default", CreationTimestamp: ago(2 * 24 * time.Hour)}}
	agent.Spec = appsv1.DaemonSetSpec{Selector: selector("agent"), Template: template("agent", "busybox")}
	agent.Spec.Template.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	agent.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 3, NumberAvailable: 2, NumberMisscheduled: 1}

	job := func(name string, completions *int32, parallelism int32, st batchv1.JobStatus, created time.Duration) batchv1.Job {
		j := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(created)}}
		j.Spec = batchv1.JobSpec{Completions: completions, Parallelism: &parallelism, BackoffLimit: i32p(6), Template: template(name, "busybox")}
		j.Status = st
		return j
	}
	cond := func(t batchv1.JobConditionType, reason, msg string) batchv1.JobCondition {
		return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg}
	}
	ready := int32(1)
	once := job("once", i32p(1), 1, batchv1.JobStatus{Succeeded: 1, StartTime: timeAgo(10 * time.Minute), CompletionTime: timeAgo(10*time.Minute - 12*time.Second),
		Conditions: []batchv1.JobCondition{cond(batchv1.JobSuccessCriteriaMet, "CompletionsReached", ""), cond(batchv1.JobComplete, "CompletionsReached", "Reached expected number of succeeded pods")}}, 10*time.Minute)
	bad := job("bad", i32p(1), 1, batchv1.JobStatus{Failed: 2, StartTime: timeAgo(5 * time.Minute),
		Conditions: []batchv1.JobCondition{cond(batchv1.JobFailureTarget, "BackoffLimitExceeded", ""), cond(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")}}, 5*time.Minute)
	run := job("run", i32p(4), 2, batchv1.JobStatus{Active: 2, Ready: &ready, Succeeded: 1, StartTime: timeAgo(90 * time.Second)}, 90*time.Second)
	tick := job("backup-29929683", i32p(1), 1, batchv1.JobStatus{Active: 1, StartTime: timeAgo(3 * time.Minute)}, 3*time.Minute)
	tick.OwnerReferences = owner("CronJob", "backup")

	utc := "UTC"
	backup := batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: "default", CreationTimestamp: ago(24 * time.Hour)}}
	backup.Spec = batchv1.CronJobSpec{Schedule: "*/5 * * * *", TimeZone: &utc, Suspend: new(bool), ConcurrencyPolicy: batchv1.AllowConcurrent,
		SuccessfulJobsHistoryLimit: i32p(3), FailedJobsHistoryLimit: i32p(1)}
	backup.Spec.JobTemplate.Spec.Template = template("backup", "restic:0.17")
	backup.Status = batchv1.CronJobStatus{LastScheduleTime: timeAgo(3 * time.Minute), Active: []corev1.ObjectReference{{Kind: "Job", Namespace: "default", Name: "backup-29929683"}}}

	event := func(kind, ns, name, typ, reason, from, msg string, count int32, first, last time.Duration) corev1.Event {
		evNS := ns
		if evNS == "" {
			evNS = "default"
		}
		return corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Namespace: evNS, Name: name + "." + reason},
			InvolvedObject: corev1.ObjectReference{Kind: kind, Namespace: ns, Name: name},
			Type:           typ, Reason: reason, Message: msg, Source: corev1.EventSource{Component: from},
			Count: count, FirstTimestamp: ago(first), LastTimestamp: ago(last),
		}
	}
	quota, limits := testQuotas()
	objects := []runtime.Object{&web,
		ptr(rs("web-5d8f", "default", "2", 3, 3, 3, 50*time.Minute)), ptr(rs("web-7c9b", "default", "1", 0, 0, 0, time.Hour)),
		ptr(rs("cache", "shop", "", 2, 2, 1, 26*time.Hour)), &rc, &agent, &bad, &tick, &once, &run, &backup, &quota, &limits,
		ptr(event("Pod", "default", "web", corev1.EventTypeNormal, "Scheduled", "default-scheduler", "Successfully assigned default/web to node-1", 1, 30*time.Minute, 30*time.Minute)),
		ptr(event("Pod", "default", "web", corev1.EventTypeNormal, "Pulled", "kubelet", "Container image \"nginx:1.27\" already present on machine", 3, 29*time.Minute, 2*time.Minute)),
		ptr(event("Pod", "shop", "web", corev1.EventTypeNormal, "Killing", "kubelet", "another namespace's web", 1, time.Minute, time.Minute)),
		ptr(event("Deployment", "default", "web", corev1.EventTypeNormal, "ScalingReplicaSet", "deployment-controller", "Scaled up replica set web-5d8f from 0 to 3", 1, 50*time.Minute, 50*time.Minute)),
		ptr(event("Job", "default", "bad", corev1.EventTypeWarning, "BackoffLimitExceeded", "job-controller", "Job has reached the specified backoff limit", 1, 4*time.Minute, 4*time.Minute)),
		ptr(event("Node", "", "node-1", corev1.EventTypeNormal, "NodeReady", "shoal", "Node node-1 status is now: NodeReady", 1, time.Hour, time.Hour)),
	}
	return &apitest.Workloads{Objects: objects}
}

// testQuotas are a ResourceQuota as the leader serves it (with the usage
// it counted; services not counted) and a LimitRange.
func testQuotas() (corev1.ResourceQuota, corev1.LimitRange) {
	hard := corev1.ResourceList{"pods": resource.MustParse("2"), "requests.cpu": resource.MustParse("1"),
		"limits.memory": resource.MustParse("1Gi"), "services": resource.MustParse("3")}
	q := corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "compute", Namespace: "default"}, Spec: corev1.ResourceQuotaSpec{Hard: hard},
		Status: corev1.ResourceQuotaStatus{Hard: hard, Used: corev1.ResourceList{"pods": resource.MustParse("2"),
			"requests.cpu": resource.MustParse("200m"), "limits.memory": resource.MustParse("512Mi")}}}
	lr := corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: "default"}, Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer, Max: corev1.ResourceList{"cpu": resource.MustParse("1")},
		Default:        corev1.ResourceList{"cpu": resource.MustParse("500m"), "memory": resource.MustParse("256Mi")},
		DefaultRequest: corev1.ResourceList{"cpu": resource.MustParse("100m")},
	}}}}
	return q, lr
}

func ptr[T any](v T) *T { return &v }

// startWorkloadAPI serves a fake cluster node with workloads, events and
// pods (two of web-5d8f's, one of agent's), and points the client at it.
func startWorkloadAPI(t *testing.T) {
	t.Helper()
	pods := []corev1.Pod{pod("web-5d8f-abcde", corev1.PodRunning, running(true)), pod("web-5d8f-fghjk", corev1.PodPending), pod("agent-xyz12", corev1.PodRunning, running(true))}
	pods[0].OwnerReferences, pods[1].OwnerReferences, pods[2].OwnerReferences = owner("ReplicaSet", "web-5d8f"), owner("ReplicaSet", "web-5d8f"), owner("DaemonSet", "agent")
	web := describedPod()
	web.Namespace, web.Name, web.CreationTimestamp = "default", "web", ago(30*time.Minute)
	pods = append(pods, web)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.NewServer(&fakePods{pods: pods}, api.ServerOptions{Logger: log, Token: testToken,
		Cluster: workloadCluster{&fakeCluster{nodes: testNodes(), status: testStatus()}, testWorkloads()}}))
	t.Cleanup(srv.Close)
	t.Setenv("SHOAL_SERVER", srv.URL)
	t.Setenv("SHOAL_TOKEN", testToken)
}

const describedDeploymentText = `Name:                   web
Namespace:              default
Selector:               app=web
Labels:                 app=web
Annotations:            <none>
CreationTimestamp:      Fri, 27 Nov 2026 11:00:00 +0000
Replicas:               3 desired | 3 updated | 3 total | 3 available | 0 unavailable
StrategyType:           RollingUpdate
MinReadySeconds:        0
RollingUpdateStrategy:  25% max unavailable, 25% max surge
Pod Template:
  Labels:  app=web
  Containers:
    web:
      Image:        nginx:1.27
      Port:         <none>
      Host Port:    <none>
      Environment:  <none>
      Mounts:       <none>
  Volumes:          <none>
  Node-Selectors:   <none>
  Tolerations:      <none>
Conditions:
  Type           Status  Reason
  ----           ------  ------
  Available      True    MinimumReplicasAvailable
  Progressing    True    NewReplicaSetAvailable
OldReplicaSets:  <none>
NewReplicaSet:   web-5d8f (3/3 replicas created)
Events:
  Type    Reason             Age   From                   Message
  ----    ------             ----  ----                   -------
  Normal  ScalingReplicaSet  50m   deployment-controller  Scaled up replica set web-5d8f from 0 to 3
`

func TestWorkloadCommands(t *testing.T) {
	startWorkloadAPI(t)
	tests := []clientCase{
		{name: "get rs", args: []string{"get", "rs"}, wantOut: `
NAME       DESIRED   CURRENT   READY   AGE
web-5d8f   3         3         3       50m
web-7c9b   0         0         0       60m
`},
		{name: "get replicasets -A wide", args: []string{"get", "replicasets", "-A", "-o", "wide"}, contains: []string{
			"NAMESPACE   NAME       DESIRED   CURRENT   READY   AGE    CONTAINERS   IMAGES       SELECTOR\n",
			"default     web-5d8f   3         3         3       50m    web          nginx:1.27   app=web-5d8f,pod-template-hash=5d8f\n",
			"shop        cache      2         2         1       26h    web          nginx:1.27   app=cache\n",
		}},
		{name: "get rc", args: []string{"get", "rc"}, wantOut: `
NAME     DESIRED   CURRENT   READY   AGE
legacy   1         1         0       3d
`},
		{name: "get rc wide", args: []string{"get", "replicationcontrollers", "-o", "wide"}, contains: []string{"legacy   1         1         0       3d    legacy       busybox   app=legacy\n"}},
		{name: "get ds", args: []string{"get", "ds"}, wantOut: `
NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR   AGE
agent   3         3         2       3            2           disk=ssd        2d
`},
		{name: "get daemonset wide", args: []string{"get", "daemonset", "agent", "-o", "wide"}, contains: []string{
			"NODE SELECTOR   AGE   CONTAINERS   IMAGES    SELECTOR\n", "disk=ssd        2d    agent        busybox   app=agent\n",
		}},
		{name: "get jobs", args: []string{"get", "jobs"}, wantOut: `
NAME              STATUS     COMPLETIONS   DURATION   AGE
bad               Failed     0/1           5m         5m
backup-29929683   Running    0/1           3m         3m
once              Complete   1/1           12s        10m
run               Running    1/4           90s        90s
`},
		{name: "get cronjobs", args: []string{"get", "cj"}, wantOut: `
NAME     SCHEDULE      TIMEZONE   SUSPEND   ACTIVE   LAST SCHEDULE   AGE
backup   */5 * * * *   UTC        False     1        3m              24h
`},
		{name: "get cronjob wide", args: []string{"get", "cronjob/backup", "-o", "wide"}, contains: []string{"backup       restic:0.17   <none>\n"}},
		{name: "get deployments wide", args: []string{"get", "deploy", "-o", "wide"}, wantOut: `
NAME   READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES       SELECTOR
web    3/3     3            3           60m   web          nginx:1.27   app=web
`},
		{name: "get names", args: []string{"get", "rs", "-A", "-o", "name"}, wantOut: "\nreplicaset.apps/web-5d8f\nreplicaset.apps/web-7c9b\nreplicaset.apps/cache\n"},
		{name: "get TYPE/NAME names", args: []string{"get", "job/once", "jobs/run", "-o", "name"}, wantOut: "\njob.batch/once\njob.batch/run\n"},
		{name: "get one job as yaml", args: []string{"get", "job", "once", "-o", "yaml"}, contains: []string{
			"apiVersion: batch/v1\n", "kind: Job\n", "  name: once\n", "  succeeded: 1\n", "message: Reached expected number of succeeded pods\n", "type: Complete\n",
		}},
		{name: "get missing", args: []string{"get", "ds", "agent", "nope", "-o", "name"}, wantCode: 1, wantOut: "\ndaemonset.apps/agent\n",
			errHas: []string{`Error: daemonset "nope" not found in namespace "default"`}},
		{name: "get empty namespace", args: []string{"get", "cronjobs", "-n", "empty"}, wantOut: "\n", errHas: []string{"No resources found in empty namespace."}},
		{name: "get across namespaces by name", args: []string{"get", "rs", "cache", "-A"}, wantCode: 2, errHas: []string{"a replicaset cannot be named across all namespaces"}},
		{name: "get two types", args: []string{"get", "rs/cache", "ds/agent"}, wantCode: 2, errHas: []string{`"ds/agent": name objects of one type per command (replicasets here)`}},
		{name: "get bad output", args: []string{"get", "jobs", "-o", "xml"}, wantCode: 2, errHas: []string{`-o "xml"`}},

		{name: "get quota", args: []string{"get", "quota"}, wantOut: `
NAME      REQUEST                                          LIMIT
compute   pods: 2/2, requests.cpu: 200m/1, services: -/3   limits.memory: 512Mi/1Gi
`},
		{name: "get limits", args: []string{"get", "limits"}, wantOut: `
NAME       LIMITS
defaults   Container max cpu=1, defaultRequest cpu=100m, default cpu=500m,memory=256Mi
`},
		{name: "describe quota", args: []string{"describe", "resourcequota", "compute"}, contains: []string{
			"Resource       Used   Hard\n", "limits.memory  512Mi  1Gi\n", "pods           2      2\n", "services       -      3\n",
		}},
		{name: "describe limitrange", args: []string{"describe", "limitranges/defaults"}, contains: []string{
			"Type       Resource  Min  Max  Default Request  Default Limit  Max Limit/Request Ratio\n",
			"Container  cpu       -    1    100m             500m           -\n",
			"Container  memory    -    -    -                256Mi          -\n",
		}},

		{name: "describe deployment", args: []string{"describe", "deployment", "web"}, wantOut: "\n" + describedDeploymentText},
		{name: "describe rs", args: []string{"describe", "rs", "web-5d8f"}, contains: []string{
			"Selector:           app=web-5d8f,pod-template-hash=5d8f\n", "Controlled By:      Deployment/web\n", "Replicas:           3 current / 3 desired\n",
			"Pods Status:        1 Running / 1 Waiting / 0 Succeeded / 0 Failed\n", "      Image:        nginx:1.27\n", "Events:             <none>\n",
		}},
		{name: "describe rc", args: []string{"describe", "rc/legacy"}, contains: []string{"Selector:           app=legacy\n", "Replicas:           1 current / 1 desired\n"}},
		{name: "describe ds", args: []string{"describe", "ds", "agent"}, contains: []string{
			"Node-Selector:                                   disk=ssd\n", "Desired Number of Nodes Scheduled:               3\n",
			"Number of Nodes Scheduled with Available Pods:   2\n", "Number of Nodes Misscheduled:                    1\n",
			"Pods Status:                                     1 Running / 0 Waiting / 0 Succeeded / 0 Failed\n", "Events:                                          <none>\n",
		}},
		{name: "describe job", args: []string{"describe", "job", "bad"}, contains: []string{
			"Completions:              1\n", "Completion Mode:          NonIndexed\n", "Backoff Limit:            6\n",
			"Pods Statuses:            0 Active (0 Ready) / 0 Succeeded / 2 Failed\n",
			"  Failed                   True    BackoffLimitExceeded  Job has reached the specified backoff limit\n",
			"  Warning                  BackoffLimitExceeded  4m   job-controller  Job has reached the specified backoff limit\n",
		}},
		{name: "describe complete job", args: []string{"describe", "jobs/once"}, contains: []string{"Duration:                 12s\n", "Events:                   <none>\n"}},
		{name: "describe cronjob", args: []string{"describe", "cj", "backup"}, contains: []string{
			"Schedule:                      */5 * * * *\n", "Time Zone:                     UTC\n", "Concurrency Policy:            Allow\n",
			"Suspend:                       False\n", "Active Jobs:                   backup-29929683\n", "      Image:        restic:0.17\n",
		}},
		{name: "describe pod events", args: []string{"describe", "pod", "web"}, contains: []string{
			"Events:\n  Type              Reason     Age                From               Message\n",
			"  Normal            Scheduled  30m                default-scheduler  Successfully assigned default/web to node-1\n",
			"  Normal            Pulled     2m (x3 over 29m)   kubelet            Container image \"nginx:1.27\" already present on machine\n",
		}, lacks: []string{"another namespace's web"}},
		{name: "describe node events", args: []string{"describe", "node", "node-1"}, contains: []string{
			"Events:\n", "  Normal                      NodeReady", "Node node-1 status is now: NodeReady\n",
		}},
		{name: "describe node without events", args: []string{"describe", "node", "node-2"}, contains: []string{"Events:                      <none>\n"}},
		{name: "describe missing", args: []string{"describe", "cronjob", "nope"}, wantCode: 1, errHas: []string{`cronjob "nope" not found`}},
		{name: "describe unknown type", args: []string{"describe", "statefulset", "db"}, wantCode: 2, errHas: []string{`unknown resource type "statefulset"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// TestGetWorkloadsJSON: a listing is a List of objects of their kind.
func TestGetWorkloadsJSON(t *testing.T) {
	startWorkloadAPI(t)
	kind, items := getList[batchv1.CronJob](t, "get", "cronjobs", "-A", "-o", "json")
	if kind != "List" || len(items) != 1 || items[0].Kind != "CronJob" || items[0].APIVersion != "batch/v1" || len(items[0].Status.Active) != 1 {
		t.Errorf("list %s %+v", kind, items)
	}
}

// TestDescribeWithoutEvents: a node that serves no events (outside a
// cluster) describes a pod without the section, and says why.
func TestDescribeWithoutEvents(t *testing.T) {
	startAPI(t)
	out, errOut, code := runClient(t, nil, "describe", "pod", "web")
	if code != 0 || strings.Contains(out, "Events:") || !strings.Contains(out, "Name:             web\n") ||
		!strings.Contains(errOut, "Warning: cannot list the events: this node does not belong to a cluster") {
		t.Errorf("code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
