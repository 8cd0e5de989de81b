package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeCluster is a ClusterService over fixed nodes and status.
type fakeCluster struct {
	nodes  []corev1.Node
	status ClusterStatus
	err    error // returned by every method when set
}

func (f *fakeCluster) Nodes(context.Context) ([]corev1.Node, error) {
	if f.err != nil {
		return nil, f.err
	}
	return append([]corev1.Node(nil), f.nodes...), nil
}

func (f *fakeCluster) Node(_ context.Context, name string) (*corev1.Node, error) {
	if f.err != nil {
		return nil, f.err
	}
	for _, n := range f.nodes {
		if n.Name == name {
			return &n, nil
		}
	}
	return nil, fmt.Errorf("node %q: %w", name, ErrNotFound)
}

func (f *fakeCluster) Status(context.Context) (*ClusterStatus, error) {
	if f.err != nil {
		return nil, f.err
	}
	st := f.status
	return &st, nil
}

var statusTime = time.Date(2026, 11, 27, 12, 0, 0, 123_000_000, time.UTC)

func testCluster() *fakeCluster {
	node := func(name, ip string) corev1.Node {
		return corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
			Status: corev1.NodeStatus{
				Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}},
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			},
		}
	}
	return &fakeCluster{
		nodes: []corev1.Node{node("node1", "10.250.1.11"), node("node2", "10.250.1.12")},
		status: ClusterStatus{
			Node:   "node2",
			Leader: LeaderStatus{Name: "node1", Term: "node1@1795780800123000000", APIAddr: "10.250.1.11:7947"},
			Members: []MemberStatus{
				{Name: "node1", State: MemberAlive, Addr: "10.250.1.11:7946", APIAddr: "10.250.1.11:7947", Eligible: true, StartTime: statusTime, Leader: true},
				{Name: "node2", State: MemberSuspect, Addr: "10.250.1.12:7946", APIAddr: "10.250.1.12:7947", Eligible: true, StartTime: statusTime.Add(time.Second)},
			},
			Sync: SyncStatus{Repo: "https://git.example/infra.git", Ref: "main", Commit: "1a2b3c4d5e6f", Message: "scale web", Time: statusTime},
		},
	}
}

// startCluster serves svc and cluster on a loopback socket and returns a
// client of it.
func startCluster(t *testing.T, svc PodService, cluster ClusterService, token string) (*httptest.Server, *Client) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(NewServer(svc, ServerOptions{Logger: log, Token: token, Cluster: cluster}))
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, ClientOptions{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestClusterRoutes(t *testing.T) {
	svc := &fakeService{pods: testPods()}
	withCluster, _ := startCluster(t, svc, testCluster(), "")
	without, _ := start(t, svc, "")
	failing, _ := startCluster(t, svc, &fakeCluster{err: errors.New("gossip stopped")}, "")

	tests := []struct {
		name       string
		url        string
		wantCode   int
		wantKind   string // object body
		wantReason string // error body
		msgHas     string
	}{
		{name: "nodes", url: withCluster.URL + "/api/v1/nodes", wantCode: 200, wantKind: "NodeList"},
		{name: "node", url: withCluster.URL + "/api/v1/nodes/node2", wantCode: 200, wantKind: "Node"},
		{name: "missing node", url: withCluster.URL + "/api/v1/nodes/node9", wantCode: 404, wantReason: ReasonNotFound, msgHas: `node "node9": not found`},
		{name: "status", url: withCluster.URL + "/api/v1/status", wantCode: 200},
		{name: "nodes without a cluster", url: without.URL + "/api/v1/nodes", wantCode: 404, wantReason: ReasonNotFound, msgHas: "does not belong to a cluster"},
		{name: "node without a cluster", url: without.URL + "/api/v1/nodes/node1", wantCode: 404, wantReason: ReasonNotFound, msgHas: "does not belong to a cluster"},
		{name: "status without a cluster", url: without.URL + "/api/v1/status", wantCode: 404, wantReason: ReasonNotFound, msgHas: "does not belong to a cluster"},
		{name: "failing nodes", url: failing.URL + "/api/v1/nodes", wantCode: 500, wantReason: ReasonInternalError, msgHas: "gossip stopped"},
		{name: "failing status", url: failing.URL + "/api/v1/status", wantCode: 500, wantReason: ReasonInternalError, msgHas: "gossip stopped"},
		{name: "bad scope", url: withCluster.URL + "/api/v1/pods?scope=galaxy", wantCode: 400, wantReason: ReasonBadRequest, msgHas: `scope="galaxy"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var obj struct {
				Kind, APIVersion string
				Items            []struct{ Kind, APIVersion string }
				Message, Reason  string
			}
			if err := json.Unmarshal(body, &obj); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, body)
			}
			if tt.wantKind != "" && (obj.Kind != tt.wantKind || obj.APIVersion != "v1") {
				t.Errorf("kind %q apiVersion %q, want %q v1", obj.Kind, obj.APIVersion, tt.wantKind)
			}
			for _, it := range obj.Items {
				if it.Kind != "Node" || it.APIVersion != "v1" {
					t.Errorf("item kind %q apiVersion %q", it.Kind, it.APIVersion)
				}
			}
			if tt.wantReason != "" && (obj.Reason != tt.wantReason || !strings.Contains(obj.Message, tt.msgHas)) {
				t.Errorf("error body %s, want reason %s and %q", body, tt.wantReason, tt.msgHas)
			}
		})
	}
}

// TestClusterStatusJSON pins the JSON names others read (scripts, the
// status verb of other versions).
func TestClusterStatusJSON(t *testing.T) {
	srv, _ := startCluster(t, &fakeService{}, testCluster(), "")
	resp, err := http.Get(srv.URL + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	path := func(keys ...any) any {
		var v any = doc
		for _, k := range keys {
			switch k := k.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[k]
			case int:
				l, _ := v.([]any)
				if k >= len(l) {
					return nil
				}
				v = l[k]
			}
		}
		return v
	}
	tests := []struct {
		path []any
		want any
	}{
		{[]any{"node"}, "node2"},
		{[]any{"leader", "name"}, "node1"},
		{[]any{"leader", "term"}, "node1@1795780800123000000"},
		{[]any{"leader", "apiAddr"}, "10.250.1.11:7947"},
		{[]any{"members", 0, "name"}, "node1"},
		{[]any{"members", 0, "state"}, "alive"},
		{[]any{"members", 0, "addr"}, "10.250.1.11:7946"},
		{[]any{"members", 0, "apiAddr"}, "10.250.1.11:7947"},
		{[]any{"members", 0, "eligible"}, true},
		{[]any{"members", 0, "leader"}, true},
		{[]any{"members", 0, "startTime"}, "2026-11-27T12:00:00.123Z"},
		{[]any{"members", 1, "state"}, "suspect"},
		{[]any{"members", 1, "leader"}, false},
		{[]any{"sync", "repo"}, "https://git.example/infra.git"},
		{[]any{"sync", "ref"}, "main"},
		{[]any{"sync", "commit"}, "1a2b3c4d5e6f"},
		{[]any{"sync", "message"}, "scale web"},
		{[]any{"sync", "time"}, "2026-11-27T12:00:00.123Z"},
		{[]any{"sync", "error"}, ""},      // present, and empty after a good sync
		{[]any{"sync", "errorTime"}, nil}, // no error, no time
		{[]any{"refs"}, nil},              // only the main ref
	}
	for _, tt := range tests {
		if got := path(tt.path...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%v = %#v, want %#v", tt.path, got, tt.want)
		}
	}
	if _, ok := doc["sync"].(map[string]any)["error"]; !ok {
		t.Error("sync.error is missing; it must be there, empty, after a good sync")
	}
}

func TestClusterClient(t *testing.T) {
	cluster := testCluster()
	_, c := startCluster(t, &fakeService{}, cluster, "s3cret")
	ctx := context.Background()

	nodes, err := c.ListNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Name != "node1" || nodes[1].Status.Addresses[0].Address != "10.250.1.12" || nodes[0].Kind != "Node" {
		t.Errorf("ListNodes = %+v", nodes)
	}
	node, err := c.GetNode(ctx, "node2")
	if err != nil {
		t.Fatal(err)
	}
	if node.Name != "node2" || node.Kind != "Node" || node.APIVersion != "v1" || node.Labels["kubernetes.io/hostname"] != "node2" {
		t.Errorf("GetNode = %+v", node)
	}
	if _, err := c.GetNode(ctx, "node9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetNode of a missing node: %v", err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*st, cluster.status) {
		t.Errorf("Status round trip:\n got %+v\nwant %+v", *st, cluster.status)
	}

	// Without a cluster: ErrNotFound, and the message says why.
	_, plain := start(t, &fakeService{}, "")
	_, err = plain.Status(ctx)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "does not belong to a cluster") {
		t.Errorf("Status without a cluster: %v", err)
	}
	if _, err := plain.ListNodes(ctx); !errors.Is(err, ErrNotFound) {
		t.Errorf("ListNodes without a cluster: %v", err)
	}
}

func TestClusterAuth(t *testing.T) {
	srv, _ := startCluster(t, &fakeService{}, testCluster(), "s3cret")
	ctx := context.Background()
	for _, token := range []string{"", "wrong"} {
		c, err := NewClient(srv.URL, ClientOptions{Token: token})
		if err != nil {
			t.Fatal(err)
		}
		calls := map[string]error{}
		_, calls["nodes"] = c.ListNodes(ctx)
		_, calls["node"] = c.GetNode(ctx, "node1")
		_, calls["status"] = c.Status(ctx)
		for call, err := range calls {
			var e *Error
			if !errors.As(err, &e) || e.Code != 401 || e.Reason != ReasonUnauthorized {
				t.Errorf("token %q, %s: %v", token, call, err)
			}
		}
	}
}
