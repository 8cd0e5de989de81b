package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/api"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeCluster is a ClusterService over fixed nodes and status.
type fakeCluster struct {
	nodes  []corev1.Node
	status api.ClusterStatus
}

func (f *fakeCluster) Nodes(context.Context) ([]corev1.Node, error) {
	return append([]corev1.Node(nil), f.nodes...), nil
}

func (f *fakeCluster) Node(_ context.Context, name string) (*corev1.Node, error) {
	for _, n := range f.nodes {
		if n.Name == name {
			return &n, nil
		}
	}
	return nil, fmt.Errorf("node %q: %w", name, api.ErrNotFound)
}

func (f *fakeCluster) Status(context.Context) (*api.ClusterStatus, error) {
	st := f.status
	return &st, nil
}

// startClusterAPI serves a fake node of a cluster, with pods and a token,
// and points SHOAL_SERVER and SHOAL_TOKEN at it.
func startClusterAPI(t *testing.T, pods []corev1.Pod) *fakeCluster {
	t.Helper()
	cluster := &fakeCluster{nodes: testNodes(), status: testStatus()}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.NewServer(&fakePods{pods: pods}, api.ServerOptions{Logger: log, Token: testToken, Cluster: cluster}))
	t.Cleanup(srv.Close)
	t.Setenv("SHOAL_SERVER", srv.URL)
	t.Setenv("SHOAL_TOKEN", testToken)
	return cluster
}

func readyCondition(status corev1.ConditionStatus) corev1.NodeCondition {
	return corev1.NodeCondition{Type: corev1.NodeReady, Status: status}
}

func testNodes() []corev1.Node {
	n1 := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: "node-1", CreationTimestamp: ago(5 * 24 * time.Hour),
			Labels: map[string]string{
				"kubernetes.io/hostname":                "node-1",
				"kubernetes.io/os":                      "linux",
				"node-role.kubernetes.io/control-plane": "",
			},
			Annotations: map[string]string{"shoal.run/gossip-addr": "10.250.1.11:7946"},
		},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"}},
		Status: corev1.NodeStatus{
			Capacity: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"),
				corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
			},
			Allocatable: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"),
				corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
			},
			Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "ShoalReady", Message: "the node agent is running",
				LastHeartbeatTime: ago(10 * time.Second), LastTransitionTime: ago(5 * 24 * time.Hour),
			}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.250.1.11"}, {Type: corev1.NodeHostName, Address: "node-1"}},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID: "0123abcd", BootID: "b007", KernelVersion: "6.1.0-18-amd64", OSImage: "Debian GNU/Linux 12 (bookworm)",
				OperatingSystem: "linux", Architecture: "amd64", ContainerRuntimeVersion: "shoal://0.1.0", KubeletVersion: "v0.1.0",
			},
		},
	}
	n2 := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-2", CreationTimestamp: ago(3 * time.Hour),
			Labels: map[string]string{"node-role.kubernetes.io/worker": "", "kubernetes.io/role": "edge"}},
		Spec: corev1.NodeSpec{Unschedulable: true},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{readyCondition(corev1.ConditionTrue)},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.250.1.12"}, {Type: corev1.NodeExternalIP, Address: "203.0.113.7"}},
			NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v0.1.0"},
		},
	}
	n3 := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-3", CreationTimestamp: ago(40 * time.Minute)},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{readyCondition(corev1.ConditionUnknown)}},
	}
	return []corev1.Node{n1, n2, n3}
}

func TestNodeStatus(t *testing.T) {
	tests := []struct {
		name          string
		conditions    []corev1.NodeCondition
		unschedulable bool
		want          string
	}{
		{"ready", []corev1.NodeCondition{readyCondition(corev1.ConditionTrue)}, false, "Ready"},
		{"not ready", []corev1.NodeCondition{readyCondition(corev1.ConditionFalse)}, false, "NotReady"},
		{"ready unknown", []corev1.NodeCondition{readyCondition(corev1.ConditionUnknown)}, false, "NotReady"},
		{"no conditions", nil, false, "Unknown"},
		{"no ready condition", []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}}, false, "Unknown"},
		{"ready among others", []corev1.NodeCondition{{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue}, readyCondition(corev1.ConditionTrue)}, false, "Ready"},
		{"cordoned", []corev1.NodeCondition{readyCondition(corev1.ConditionTrue)}, true, "Ready,SchedulingDisabled"},
		{"cordoned not ready", []corev1.NodeCondition{readyCondition(corev1.ConditionFalse)}, true, "NotReady,SchedulingDisabled"},
		{"cordoned unknown", nil, true, "Unknown,SchedulingDisabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := corev1.Node{Spec: corev1.NodeSpec{Unschedulable: tt.unschedulable}, Status: corev1.NodeStatus{Conditions: tt.conditions}}
			if got := nodeStatus(&n); got != tt.want {
				t.Errorf("nodeStatus = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNodeRoles(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{nil, "<none>"},
		{map[string]string{"kubernetes.io/hostname": "n"}, "<none>"},
		{map[string]string{"node-role.kubernetes.io/control-plane": ""}, "control-plane"},
		{map[string]string{"node-role.kubernetes.io/worker": "true", "node-role.kubernetes.io/control-plane": ""}, "control-plane,worker"},
		{map[string]string{"kubernetes.io/role": "master"}, "master"},
		{map[string]string{"kubernetes.io/role": "worker", "node-role.kubernetes.io/worker": ""}, "worker"},
		{map[string]string{"kubernetes.io/role": "", "node-role.kubernetes.io/": "x"}, "<none>"},
	}
	for _, tt := range tests {
		n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: tt.labels}}
		if got := nodeRoles(&n); got != tt.want {
			t.Errorf("nodeRoles(%v) = %q, want %q", tt.labels, got, tt.want)
		}
	}
}

func TestWriteNodeTable(t *testing.T) {
	tests := []struct {
		name string
		wide bool
		want string
	}{
		{"default", false, `
NAME     STATUS                     ROLES           AGE   VERSION
node-1   Ready                      control-plane   5d    v0.1.0
node-2   Ready,SchedulingDisabled   edge,worker     3h    v0.1.0
node-3   NotReady                   <none>          40m   
`},
		{"wide", true, `
NAME     STATUS                     ROLES           AGE   VERSION   INTERNAL-IP   EXTERNAL-IP   OS-IMAGE                         KERNEL-VERSION   CONTAINER-RUNTIME
node-1   Ready                      control-plane   5d    v0.1.0    10.250.1.11   <none>        Debian GNU/Linux 12 (bookworm)   6.1.0-18-amd64   shoal://0.1.0
node-2   Ready,SchedulingDisabled   edge,worker     3h    v0.1.0    10.250.1.12   203.0.113.7   <unknown>                        <unknown>        <unknown>
node-3   NotReady                   <none>          40m             <none>        <none>        <unknown>                        <unknown>        <unknown>
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeNodeTable(&buf, testNodes(), tt.wide, testNow); err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimPrefix(tt.want, "\n"); buf.String() != want {
				t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
			}
		})
	}
}

// nodePods are pods of the describe node test: two on node-1 (one with
// requests and limits, one with an init container and a sidecar), one
// finished there, one elsewhere.
func nodePods() []corev1.Pod {
	res := func(cpuReq, memReq, cpuLim, memLim string) corev1.ResourceRequirements {
		r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
		for name, v := range map[corev1.ResourceName]string{corev1.ResourceCPU: cpuReq, corev1.ResourceMemory: memReq} {
			if v != "" {
				r.Requests[name] = resource.MustParse(v)
			}
		}
		for name, v := range map[corev1.ResourceName]string{corev1.ResourceCPU: cpuLim, corev1.ResourceMemory: memLim} {
			if v != "" {
				r.Limits[name] = resource.MustParse(v)
			}
		}
		return r
	}
	always := corev1.ContainerRestartPolicyAlways
	web := pod("web-7d4b9c-x2x9k", corev1.PodRunning, running(true))
	web.CreationTimestamp = ago(5 * time.Minute)
	web.Spec.NodeName = "node-1"
	web.Spec.Containers[0].Resources = res("100m", "64Mi", "500m", "128Mi")
	db := pod("db-0", corev1.PodRunning, running(true), running(true))
	db.Namespace = "shop"
	db.CreationTimestamp = ago(2 * time.Hour)
	db.Spec.NodeName = "node-1"
	db.Spec.Containers[0].Resources = res("250m", "512Mi", "", "1Gi")
	db.Spec.Containers[1].Resources = res("50m", "", "", "")
	db.Spec.InitContainers = []corev1.Container{
		{Name: "proxy", RestartPolicy: &always, Resources: res("100m", "32Mi", "", "")},
		{Name: "migrate", Resources: res("2", "1Gi", "2", "")}, // 2 CPUs + the proxy's 100m beat 400m
	}
	done := pod("job-1", corev1.PodSucceeded)
	done.Spec.NodeName = "node-1"
	done.Spec.Containers[0].Resources = res("1", "1Gi", "", "")
	elsewhere := pod("cart-0", corev1.PodRunning, running(true))
	elsewhere.Spec.NodeName = "node-2"
	elsewhere.Spec.Containers[0].Resources = res("1", "1Gi", "", "")
	return []corev1.Pod{web, done, elsewhere, db}
}

const describedNodeText = `Name:               node-1
Roles:              control-plane
Labels:             kubernetes.io/hostname=node-1
                    kubernetes.io/os=linux
                    node-role.kubernetes.io/control-plane=
Annotations:        shoal.run/gossip-addr=10.250.1.11:7946
CreationTimestamp:  Sun, 22 Nov 2026 12:00:00 +0000
Taints:             <none>
Unschedulable:      false
Conditions:
  Type    Status  LastHeartbeatTime                 LastTransitionTime                Reason       Message
  ----    ------  -----------------                 ------------------                ------       -------
  Ready   True    Fri, 27 Nov 2026 11:59:50 +0000   Sun, 22 Nov 2026 12:00:00 +0000   ShoalReady   the node agent is running
Addresses:
  InternalIP:  10.250.1.11
  Hostname:    node-1
Capacity:
  cpu:                4
  ephemeral-storage:  100Gi
  memory:             8Gi
  pods:               110
Allocatable:
  cpu:                4
  ephemeral-storage:  100Gi
  memory:             8Gi
  pods:               110
System Info:
  Machine ID:                 0123abcd
  System UUID:                
  Boot ID:                    b007
  Kernel Version:             6.1.0-18-amd64
  OS Image:                   Debian GNU/Linux 12 (bookworm)
  Operating System:           linux
  Architecture:               amd64
  Container Runtime Version:  shoal://0.1.0
  Kubelet Version:            v0.1.0
PodCIDR:                      10.244.1.0/24
PodCIDRs:                     10.244.1.0/24
Non-terminated Pods:          (2 in total)
  Namespace                   Name                CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age
  ---------                   ----                ------------  ----------  ---------------  -------------  ---
  default                     web-7d4b9c-x2x9k    100m (2%)     500m (12%)  64Mi (0%)        128Mi (1%)     5m
  shop                        db-0                2100m (52%)   2 (50%)     1056Mi (12%)     1Gi (12%)      120m
Allocated resources:
  (Total limits may be over 100 percent, i.e., overcommitted.)
  Resource           Requests      Limits
  --------           --------      ------
  cpu                2200m (55%)   2500m (62%)
  memory             1120Mi (13%)  1152Mi (14%)
  ephemeral-storage  0 (0%)        0 (0%)
`

func TestDescribeNode(t *testing.T) {
	n := testNodes()[0]
	got := describeText(func(d describer) { describeNode(d, &n, nonTerminatedPods(nodePods(), "node-1"), true, testNow) })
	if got != describedNodeText {
		t.Errorf("got:\n%s\nwant:\n%s", got, describedNodeText)
		gl, wl := strings.Split(got, "\n"), strings.Split(describedNodeText, "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("first difference, line %d:\n got %q\nwant %q", i+1, gl[i], wl[i])
			}
		}
	}
}

func TestNodeCommands(t *testing.T) {
	startClusterAPI(t, nodePods())
	tests := []clientCase{
		{name: "get nodes", args: []string{"get", "nodes"}, wantOut: `
NAME     STATUS                     ROLES           AGE   VERSION
node-1   Ready                      control-plane   5d    v0.1.0
node-2   Ready,SchedulingDisabled   edge,worker     3h    v0.1.0
node-3   NotReady                   <none>          40m   
`},
		{name: "get no wide, -n ignored", args: []string{"get", "no", "-o", "wide", "-n", "shop"}, contains: []string{
			"NAME     STATUS                     ROLES           AGE   VERSION   INTERNAL-IP   EXTERNAL-IP",
			"node-2   Ready,SchedulingDisabled   edge,worker     3h    v0.1.0    10.250.1.12   203.0.113.7",
		}},
		{name: "get one node", args: []string{"get", "node", "node-3"}, wantOut: `
NAME     STATUS     ROLES    AGE   VERSION
node-3   NotReady   <none>   40m   
`},
		{name: "get node names", args: []string{"get", "nodes", "-o", "name"}, wantOut: "\nnode/node-1\nnode/node-2\nnode/node-3\n"},
		{name: "get TYPE/NAME", args: []string{"get", "node/node-2", "no/node-1", "-o", "name"}, wantOut: "\nnode/node-2\nnode/node-1\n"},
		{name: "get yaml of one node", args: []string{"get", "node", "node-1", "-o", "yaml"}, contains: []string{
			"apiVersion: v1\n", "kind: Node\n", "  name: node-1\n", "    type: InternalIP\n",
		}},
		{name: "get missing node", args: []string{"get", "node", "node-9"}, wantCode: 1, errHas: []string{`Error: node "node-9": not found`}},
		{name: "get one missing among others", args: []string{"get", "nodes", "node-9", "node-1", "-o", "name"}, wantCode: 1,
			wantOut: "\nnode/node-1\n", errHas: []string{`node "node-9": not found`}},
		{name: "get nodes and pods at once", args: []string{"get", "node/node-1", "pod/web"}, wantCode: 2, errHas: []string{`"pod/web": name objects of one type per command (nodes here)`}},
		{name: "get nodes bad output", args: []string{"get", "nodes", "-o", "xml"}, wantCode: 2, errHas: []string{`-o "xml"`}},
		{name: "get pods still works", args: []string{"get", "pods", "-n", "shop"}, contains: []string{"db-0 "}},
		{name: "unknown resource names both", args: []string{"get", "secrets"}, wantCode: 2, errHas: []string{"pods (pods, pod, po), nodes (nodes, node, no), deployments (deployments, deployment, deploy), replicasets (replicasets, replicaset, rs), replicationcontrollers (replicationcontrollers, replicationcontroller, rc), daemonsets (daemonsets, daemonset, ds), jobs (jobs, job), cronjobs (cronjobs, cronjob, cj), services (services, service, svc), endpoints (endpoints, ep), ingresses (ingresses, ingress, ing), resourcequotas (resourcequotas, resourcequota, quota), limitranges (limitranges, limitrange, limits) and events (events, event, ev)"}},
		{name: "describe node", args: []string{"describe", "node", "node-1"}, contains: []string{
			"Name:               node-1\n", "Non-terminated Pods:          (2 in total)\n", "  default                     web-7d4b9c-x2x9k",
		}},
		{name: "describe all nodes", args: []string{"describe", "nodes"}, contains: []string{
			"Name:               node-1\n", "\n\nName:               node-2\n", "Unschedulable:      true\n", "\n\nName:               node-3\n",
		}},
		{name: "describe missing node", args: []string{"describe", "no/node-9"}, wantCode: 1, errHas: []string{"not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestGetNodesJSON(t *testing.T) {
	startClusterAPI(t, nil)
	kind, items := getList[corev1.Node](t, "get", "nodes", "-o", "json")
	if kind != "List" || len(items) != 3 || items[0].Kind != "Node" || items[2].Name != "node-3" {
		t.Errorf("list kind %q, %d items: %+v", kind, len(items), items)
	}

	// One node by name is the Node itself.
	out, _, _ := runClient(t, nil, "get", "node", "node-2", "-o", "json")
	var node corev1.Node
	if err := json.Unmarshal([]byte(out), &node); err != nil || node.Kind != "Node" || !node.Spec.Unschedulable {
		t.Errorf("get node -o json: %v\n%s", err, out)
	}
}

func TestNodesWithoutCluster(t *testing.T) {
	startAPI(t)
	for _, args := range [][]string{{"get", "nodes"}, {"get", "node", "node-1"}, {"describe", "node", "node-1"}} {
		_, errOut, code := runClient(t, nil, args...)
		if code == 0 || !strings.Contains(errOut, "this node does not belong to a cluster") {
			t.Errorf("%v on a lone node: code %d, %s", args, code, errOut)
		}
	}
}

func TestPodRequestsAndLimits(t *testing.T) {
	pods := nodePods()
	tests := []struct {
		pod                            corev1.Pod
		cpuReq, memReq, cpuLim, memLim string
	}{
		{pods[0], "100m", "64Mi", "500m", "128Mi"},
		// db-0: containers 300m + sidecar 100m = 400m < migrate 2 + proxy 100m.
		{pods[3], "2100m", "1056Mi", "2", "1Gi"},
	}
	for _, tt := range tests {
		req, lim := podRequestsAndLimits(&tt.pod)
		got := []string{req.Cpu().String(), req.Memory().String(), lim.Cpu().String(), lim.Memory().String()}
		want := []string{tt.cpuReq, tt.memReq, tt.cpuLim, tt.memLim}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: requests and limits %v, want %v", tt.pod.Name, got, want)
		}
	}
}
