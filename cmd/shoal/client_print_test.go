package main

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// testNow is the fixed clock of the printing tests.
var testNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(testNow.Add(-d)) }

func running(ready bool) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: "main", Ready: ready, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Hour)}}}
}

func waiting(reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: "main", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func terminated(reason string, code, signal int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: "main", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code, Signal: signal}}}
}

// pod builds a pod with one container per status (or one container when
// there is none).
func pod(name string, phase corev1.PodPhase, statuses ...corev1.ContainerStatus) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(4 * 24 * time.Hour)},
		Status:     corev1.PodStatus{Phase: phase, ContainerStatuses: statuses},
	}
	for i := range max(1, len(statuses)) {
		name := "c" + string(rune('0'+i))
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: name})
		if i < len(statuses) {
			p.Status.ContainerStatuses[i].Name = name
		}
	}
	return p
}

func TestSummarizePod(t *testing.T) {
	crashing := waiting("CrashLoopBackOff")
	crashing.RestartCount = 5
	crashing.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(3 * time.Minute)}
	restartedOnce := running(true)
	restartedOnce.RestartCount = 1

	deleted := pod("gone", corev1.PodRunning, running(true))
	deleted.DeletionTimestamp = &metav1.Time{Time: testNow}
	deletedDone := pod("gone", corev1.PodSucceeded, terminated("Completed", 0, 0))
	deletedDone.DeletionTimestamp = &metav1.Time{Time: testNow}
	evicted := pod("evicted", corev1.PodFailed)
	evicted.Status.Reason = "Evicted"
	gated := pod("gated", corev1.PodPending)
	gated.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}

	withInit := func(st ...corev1.ContainerStatus) corev1.Pod {
		p := pod("init", corev1.PodPending, waiting("PodInitializing"))
		p.Spec.InitContainers = []corev1.Container{{Name: "i0"}, {Name: "i1"}}
		for i := range st {
			st[i].Name = "i" + string(rune('0'+i))
		}
		p.Status.InitContainerStatuses = st
		return p
	}
	initCrash := waiting("CrashLoopBackOff")
	initCrash.RestartCount = 2

	done := terminated("Completed", 0, 0)
	doneRunning := pod("mixed", corev1.PodRunning, done, running(true))
	doneRunningReady := doneRunning
	doneRunningReady.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}

	always := corev1.ContainerRestartPolicyAlways
	started := true
	sidecar := pod("sidecar", corev1.PodRunning, running(true))
	sidecar.Spec.InitContainers = []corev1.Container{{Name: "proxy", RestartPolicy: &always}}
	sidecar.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "proxy", Ready: true, Started: &started,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	sidecar.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}}

	tests := []struct {
		name string
		pod  corev1.Pod
		want podSummary
	}{
		{"running", pod("web", corev1.PodRunning, running(true)), podSummary{"1/1", "Running", "0"}},
		{"running not ready", pod("web", corev1.PodRunning, running(false)), podSummary{"0/1", "Running", "0"}},
		{"restarted without a last state", pod("web", corev1.PodRunning, restartedOnce), podSummary{"1/1", "Running", "1"}},
		{"two containers, one ready", pod("web", corev1.PodRunning, running(true), running(false)), podSummary{"1/2", "Running", "0"}},
		{"pending without statuses", pod("web", corev1.PodPending), podSummary{"0/1", "Pending", "0"}},
		{"container creating", pod("web", corev1.PodPending, waiting("ContainerCreating")), podSummary{"0/1", "ContainerCreating", "0"}},
		{"image pull error", pod("web", corev1.PodPending, waiting("ErrImagePull")), podSummary{"0/1", "ErrImagePull", "0"}},
		{"crash loop", pod("web", corev1.PodRunning, crashing), podSummary{"0/1", "CrashLoopBackOff", "5 (3m ago)"}},
		{"completed", pod("job", corev1.PodSucceeded, terminated("Completed", 0, 0)), podSummary{"0/1", "Completed", "0"}},
		{"error", pod("job", corev1.PodFailed, terminated("Error", 1, 0)), podSummary{"0/1", "Error", "0"}},
		{"oom killed", pod("job", corev1.PodFailed, terminated("OOMKilled", 137, 0)), podSummary{"0/1", "OOMKilled", "0"}},
		{"exit code without reason", pod("job", corev1.PodFailed, terminated("", 2, 0)), podSummary{"0/1", "ExitCode:2", "0"}},
		{"signal without reason", pod("job", corev1.PodFailed, terminated("", 0, 9)), podSummary{"0/1", "Signal:9", "0"}},
		{"terminating", deleted, podSummary{"1/1", "Terminating", "0"}},
		{"deleted after completing", deletedDone, podSummary{"0/1", "Completed", "0"}},
		{"pod reason", evicted, podSummary{"0/1", "Evicted", "0"}},
		{"scheduling gated", gated, podSummary{"0/1", "SchedulingGated", "0"}},
		{"init running", withInit(running(false)), podSummary{"0/1", "Init:0/2", "0"}},
		{"second init running", withInit(terminated("Completed", 0, 0), running(false)), podSummary{"0/1", "Init:1/2", "0"}},
		{"init crash loop", withInit(initCrash), podSummary{"0/1", "Init:CrashLoopBackOff", "2"}},
		{"init error", withInit(terminated("Error", 1, 0)), podSummary{"0/1", "Init:Error", "0"}},
		{"init exit code", withInit(terminated("", 3, 0)), podSummary{"0/1", "Init:ExitCode:3", "0"}},
		{"completed next to running, no ready condition", doneRunning, podSummary{"1/2", "NotReady", "0"}},
		{"completed next to running, ready condition", doneRunningReady, podSummary{"1/2", "Running", "0"}},
		{"running sidecar counts", sidecar, podSummary{"2/2", "Running", "0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarizePod(&tt.pod, testNow); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{5 * time.Second, "5s"},
		{90 * time.Second, "90s"},
		{3 * time.Minute, "3m"},
		{3*time.Minute + 10*time.Second, "3m10s"},
		{25 * time.Minute, "25m"},
		{2 * time.Hour, "120m"}, // kubectl counts minutes up to 3h
		{5 * time.Hour, "5h"},
		{3*time.Hour + 30*time.Minute, "3h30m"},
		{30 * time.Hour, "30h"},
		{4 * 24 * time.Hour, "4d"},
		{400 * 24 * time.Hour, "400d"},
		{3 * 365 * 24 * time.Hour, "3y"},
	}
	for _, tt := range tests {
		if got := age(testNow.Add(-tt.d), testNow); got != tt.want {
			t.Errorf("age(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := age(time.Time{}, testNow); got != "<unknown>" {
		t.Errorf("age of no time = %q", got)
	}
}

func tablePods() []corev1.Pod {
	web := pod("web-7d4b9c-x2x9k", corev1.PodRunning, running(true))
	web.CreationTimestamp = ago(5 * time.Second)
	web.Status.PodIP = "10.244.1.5"
	web.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1.5"}}
	web.Spec.NodeName = "node-1"
	crash := waiting("CrashLoopBackOff")
	crash.RestartCount = 12
	crash.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: ago(5 * time.Hour)}
	worker := pod("worker-0", corev1.PodRunning, crash, running(true))
	worker.Namespace = "jobs"
	worker.CreationTimestamp = ago(3 * time.Minute)
	worker.Spec.NodeName = "node-2"
	worker.Status.PodIP = "10.244.2.7"
	pending := pod("cart-0", corev1.PodPending)
	pending.Namespace = "shop"
	pending.CreationTimestamp = ago(50 * time.Hour)
	return []corev1.Pod{web, worker, pending}
}

func TestWritePodTable(t *testing.T) {
	tests := []struct {
		name string
		opts tableOptions
		want string
	}{
		{"default", tableOptions{}, `
NAME               READY   STATUS             RESTARTS      AGE
web-7d4b9c-x2x9k   1/1     Running            0             5s
worker-0           1/2     CrashLoopBackOff   12 (5h ago)   3m
cart-0             0/1     Pending            0             2d2h
`},
		{"wide", tableOptions{wide: true}, `
NAME               READY   STATUS             RESTARTS      AGE    IP           NODE
web-7d4b9c-x2x9k   1/1     Running            0             5s     10.244.1.5   node-1
worker-0           1/2     CrashLoopBackOff   12 (5h ago)   3m     10.244.2.7   node-2
cart-0             0/1     Pending            0             2d2h   <none>       <none>
`},
		{"all namespaces", tableOptions{namespace: true}, `
NAMESPACE   NAME               READY   STATUS             RESTARTS      AGE
default     web-7d4b9c-x2x9k   1/1     Running            0             5s
jobs        worker-0           1/2     CrashLoopBackOff   12 (5h ago)   3m
shop        cart-0             0/1     Pending            0             2d2h
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writePodTable(&buf, tablePods(), tt.opts, testNow); err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimPrefix(tt.want, "\n"); buf.String() != want {
				t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
			}
		})
	}
}

func describedPod() corev1.Pod {
	prio := int32(0)
	ctrl := true
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-7d4b9c-x2x9k", Namespace: "shop",
			Labels:          map[string]string{"app": "web", "pod-template-hash": "7d4b9c"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-7d4b9c", Controller: &ctrl}},
		},
		Spec: corev1.PodSpec{
			NodeName: "node-1", Priority: &prio, ServiceAccountName: "default",
			Containers: []corev1.Container{{
				Name: "web", Image: "nginx:1.27",
				Ports:   []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
				Command: []string{"nginx", "-g", "daemon off;"},
				Resources: corev1.ResourceRequirements{
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi"), corev1.ResourceCPU: resource.MustParse("500m")},
				},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(80), Scheme: corev1.URISchemeHTTP}},
					PeriodSeconds: 10, TimeoutSeconds: 1, SuccessThreshold: 1, FailureThreshold: 3},
				Env:          []corev1.EnvVar{{Name: "MODE", Value: "prod"}, {Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "html", MountPath: "/usr/share/nginx/html", ReadOnly: true}, {Name: "cache", MountPath: "/var/cache/nginx"}},
			}},
			Volumes: []corev1.Volume{
				{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "html", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-html"}}}},
			},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, HostIP: "192.168.1.10", PodIP: "10.244.1.5", PodIPs: []corev1.PodIP{{IP: "10.244.1.5"}},
			StartTime: &metav1.Time{Time: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)},
			QOSClass:  corev1.PodQOSBurstable,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodInitialized, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue},
			},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "web", Ready: true, RestartCount: 1, ContainerID: "shoal://abc123", ImageID: "sha256:def456",
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC))}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					Reason: "OOMKilled", ExitCode: 137,
					StartedAt:  metav1.NewTime(time.Date(2026, 11, 27, 10, 0, 1, 0, time.UTC)),
					FinishedAt: metav1.NewTime(time.Date(2026, 11, 27, 10, 4, 59, 0, time.UTC)),
				}},
			}},
		},
	}
	return p
}

const describedText = `Name:             web-7d4b9c-x2x9k
Namespace:        shop
Priority:         0
Service Account:  default
Node:             node-1/192.168.1.10
Start Time:       Fri, 27 Nov 2026 10:00:00 +0000
Labels:           app=web
                  pod-template-hash=7d4b9c
Annotations:      <none>
Status:           Running
IP:               10.244.1.5
IPs:
  IP:           10.244.1.5
Controlled By:  ReplicaSet/web-7d4b9c
Containers:
  web:
    Container ID:  shoal://abc123
    Image:         nginx:1.27
    Image ID:      sha256:def456
    Port:          80/TCP
    Host Port:     0/TCP
    Command:
      nginx
      -g
      daemon off;
    State:          Running
      Started:      Fri, 27 Nov 2026 10:05:00 +0000
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
      Started:      Fri, 27 Nov 2026 10:00:01 +0000
      Finished:     Fri, 27 Nov 2026 10:04:59 +0000
    Ready:          True
    Restart Count:  1
    Limits:
      cpu:      500m
      memory:   128Mi
    Readiness:  http-get http://:80/healthz delay=0s timeout=1s period=10s #success=1 #failure=3
    Environment:
      MODE:  prod
      POD:   (v1:metadata.name)
    Mounts:
      /usr/share/nginx/html from html (ro)
      /var/cache/nginx from cache (rw)
Conditions:
  Type          Status
  Initialized   True 
  Ready         True 
Volumes:
  cache:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:     
    SizeLimit:  <unset>
  html:
    Type:        ConfigMap (a volume populated by a ConfigMap)
    Name:        web-html
    Optional:    false
QoS Class:       Burstable
Node-Selectors:  <none>
Tolerations:     <none>
`

func TestDescribePod(t *testing.T) {
	p := describedPod()
	got := describeText(func(d describer) { describePod(d, &p, testNow) })
	if got != describedText {
		t.Errorf("got:\n%s\nwant:\n%s", got, describedText)
		gl, wl := strings.Split(got, "\n"), strings.Split(describedText, "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("first difference, line %d:\n got %q\nwant %q", i+1, gl[i], wl[i])
			}
		}
	}

	// A pod being deleted, with a waiting container and no node yet.
	p = pod("leaving", corev1.PodRunning, waiting("ContainerCreating"))
	p.DeletionTimestamp = &metav1.Time{Time: testNow.Add(-90 * time.Second)}
	got = describeText(func(d describer) { describePod(d, &p, testNow) })
	for _, want := range []string{"\nNode:         <none>\n", "\nStatus:       Terminating (lasts 90s)\n", "\n    State:          Waiting\n      Reason:       ContainerCreating\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

// describeText is what show writes through describe's tabwriter, dates in
// UTC.
func describeText(show func(d describer)) string {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0)
	show(describer{w: tw, loc: time.UTC})
	tw.Flush()
	return buf.String()
}
