package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/nodeagent/api"
)

func testStatus() api.ClusterStatus {
	start := testNow.Add(-5 * time.Minute).Add(123 * time.Millisecond)
	return api.ClusterStatus{
		Node:   "node-2",
		Leader: api.LeaderStatus{Name: "node-1", Term: string(gossip.NewTerm("node-1", start)), APIAddr: "10.250.1.11:7947"},
		Members: []api.MemberStatus{
			{Name: "node-1", State: api.MemberAlive, Addr: "10.250.1.11:7946", APIAddr: "10.250.1.11:7947", Eligible: true, StartTime: start, Leader: true},
			{Name: "node-2", State: api.MemberAlive, Addr: "10.250.1.12:7946", APIAddr: "10.250.1.12:7947", Eligible: true, StartTime: testNow.Add(-3 * time.Hour)},
			{Name: "node-3", State: api.MemberDead, Addr: "10.250.1.13:7946", APIAddr: "10.250.1.13:7947", StartTime: testNow.Add(-40 * time.Minute)},
		},
		Sync: api.SyncStatus{
			Repo: "https://git.example/infra.git", Ref: "main", Commit: "1a2b3c4d5e6f7a8b9c0d", Message: "scale web to 3",
			Time: testNow.Add(-12 * time.Second),
		},
	}
}

func TestWriteClusterStatus(t *testing.T) {
	failing := testStatus()
	failing.Sync.Error = `web/deploy.yaml: Deployment "web": spec.replicas: must be at least 0`
	failing.Sync.ErrorTime = testNow.Add(-time.Minute)

	lonely := api.ClusterStatus{
		Node:    "solo",
		Members: []api.MemberStatus{{Name: "solo", State: api.MemberAlive, Addr: "127.0.0.1:7946"}},
		Sync:    api.SyncStatus{Ref: "main"},
	}
	neverSynced := lonely
	neverSynced.Sync = api.SyncStatus{Ref: "main", Error: "cloning: authentication required", ErrorTime: testNow.Add(-3 * time.Second)}
	previews := testStatus()
	previews.Refs = []api.SyncStatus{
		previews.Sync,
		{Ref: "feature-x", Commit: "ffeeddccbbaa", Time: testNow.Add(-2 * time.Minute), Error: "fetch: timeout", ErrorTime: testNow.Add(-time.Second)},
	}

	kept := testStatus()
	kept.Kept = []api.KeptObject{
		{Kind: "Deployment", Namespace: "default", Name: "web", File: "apps/web.yaml", Commit: "0a0b0c0d0e0f", Removed: testNow.Add(-3 * time.Hour), RemovedCommit: "5d6e7f8a9b0c"},
		{Kind: "StorageClass", Name: "fast", File: "storage.yaml", Commit: "0a0b0c0d0e0f", Removed: testNow.Add(-time.Minute), RemovedCommit: "1a2b3c4d5e6f"},
	}

	refused := testStatus()
	refused.Refused = &api.RefusedStatus{Commit: "1a2b3c4d5e6f", Total: 3, Objects: []api.RefusedObject{
		{Kind: "Deployment", Namespace: "shop", Name: "api", File: "apps/api.yaml", Line: 12, Violations: []api.Violation{
			{Policy: "baseline", Rule: "forbidHostPath", Field: "spec.template.spec.volumes[0].hostPath", Message: `volume "logs" mounts the node's path "/var/log", which policy baseline forbids: use an emptyDir or a PersistentVolumeClaim`},
			{Policy: "baseline", Rule: "forbidPrivileged", Field: "spec.template.spec.containers[0].securityContext.privileged", Message: `container "c" is privileged, which policy baseline forbids: remove securityContext.privileged`},
		}},
		{Kind: "Pod", Namespace: "shop", Name: "debug", File: "debug.yaml", Violations: []api.Violation{
			{Policy: "shop", Rule: "forbidHostNamespaces", Field: "spec.hostNetwork", Message: "spec.hostNetwork: hostNetwork: true shares the node's network"},
		}},
	}}

	// head is what testStatus() shows down to its sync.
	const head = `
Cluster as seen by node-2
Leader:   node-1 (term node-1@2026-11-27T11:55:00.123Z)
Members:  2 alive, 1 dead
  NAME    STATE  ADDRESS           API               ELIGIBLE  AGE
  node-1  alive  10.250.1.11:7946  10.250.1.11:7947  yes       4m59s  (leader)
  node-2  alive  10.250.1.12:7946  10.250.1.12:7947  yes       3h
  node-3  dead   10.250.1.13:7946  10.250.1.13:7947  no        40m
Repo:     https://git.example/infra.git
Sync:     main @ 1a2b3c4 "scale web to 3" (synced 12s ago)
`
	tests := []struct {
		name string
		st   api.ClusterStatus
		want string
	}{
		{"healthy", testStatus(), head},
		{"sync failing", failing, head + `Error:    web/deploy.yaml: Deployment "web": spec.replicas: must be at least 0 (60s ago)
`},
		{"no leader, not synced", lonely, `
Cluster as seen by solo
Leader:   <none> (no live member may lead)
Members:  1 alive
  NAME  STATE  ADDRESS         API     ELIGIBLE  AGE
  solo  alive  127.0.0.1:7946  <none>  no        <unknown>
Sync:     main: not synced yet
`},
		{"never synced", neverSynced, `
Cluster as seen by solo
Leader:   <none> (no live member may lead)
Members:  1 alive
  NAME  STATE  ADDRESS         API     ELIGIBLE  AGE
  solo  alive  127.0.0.1:7946  <none>  no        <unknown>
Sync:     main: never synced
Error:    cloning: authentication required (3s ago)
`},
		{"previews", previews, head + `Refs:
  main @ 1a2b3c4 "scale web to 3" (synced 12s ago)
  feature-x @ ffeeddc (synced 2m ago)
    Error: fetch: timeout (1s ago)
`},
		{"objects kept though removed from Git", kept, head + `Kept:     2 objects removed from Git but running as last applied, opted out of pruning (shoal delete KIND NAME removes one)
  KIND          NAMESPACE  NAME  LAST FILE      REMOVED
  Deployment    default    web   apps/web.yaml  in 5d6e7f8, 3h ago
  StorageClass  <none>     fast  storage.yaml   in 1a2b3c4, 60s ago
`},
		{"objects refused by admission", refused, head + `Refused:  3 objects of 1a2b3c4 refused by admission: not run, the rest of the commit runs (change the object or .shoal/admission.yaml in Git)
  Deployment/shop/api (apps/api.yaml:12)
    policy baseline, rule forbidHostPath, spec.template.spec.volumes[0].hostPath: volume "logs" mounts the node's path "/var/log", which policy baseline forbids: use an emptyDir or a PersistentVolumeClaim
    policy baseline, rule forbidPrivileged, spec.template.spec.containers[0].securityContext.privileged: container "c" is privileged, which policy baseline forbids: remove securityContext.privileged
  Pod/shop/debug (debug.yaml)
    policy shop, rule forbidHostNamespaces: spec.hostNetwork: hostNetwork: true shares the node's network
  and 1 more (shoal get events lists every FailedAdmission)
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := writeClusterStatus(&buf, &tt.st, testNow); err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimPrefix(tt.want, "\n"); buf.String() != want {
				t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
			}
		})
	}
}

func TestShowTerm(t *testing.T) {
	tests := []struct{ term, want string }{
		{"node1@1795780800123000000", "node1@2026-11-27T12:00:00.123Z"},
		{"a@b@1795780800000000000", "a@b@2026-11-27T12:00:00.000Z"},
		{"not-a-term", "not-a-term"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := showTerm(tt.term); got != tt.want {
			t.Errorf("showTerm(%q) = %q, want %q", tt.term, got, tt.want)
		}
	}
}

func TestStatusCommand(t *testing.T) {
	startClusterAPI(t, nil)
	out, errOut, code := runClient(t, nil, "status")
	if code != 0 || !strings.HasPrefix(out, "Cluster as seen by node-2\nLeader:   node-1 (term node-1@2026-11-27T11:55:00.123Z)\n") {
		t.Errorf("status: code %d\n%s%s", code, out, errOut)
	}

	out, errOut, code = runClient(t, nil, "status", "-o", "json")
	if code != 0 {
		t.Fatalf("status -o json: code %d: %s", code, errOut)
	}
	var st api.ClusterStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if st.Leader.Name != "node-1" || len(st.Members) != 3 || st.Members[2].State != "dead" || st.Sync.Commit != "1a2b3c4d5e6f7a8b9c0d" {
		t.Errorf("status -o json = %+v", st)
	}
	for _, key := range []string{`"leader": {`, `"name": "node-1"`, `"term": "node-1@`, `"state": "alive"`, `"commit": "1a2b3c4d5e6f7a8b9c0d"`, `"error": ""`} {
		if !strings.Contains(out, key) {
			t.Errorf("status -o json lacks %s:\n%s", key, out)
		}
	}

	out, _, code = runClient(t, nil, "status", "-o", "yaml")
	if code != 0 || !strings.Contains(out, "leader:\n  apiAddr: 10.250.1.11:7947\n  name: node-1\n") {
		t.Errorf("status -o yaml: code %d\n%s", code, out)
	}

	_, errOut, code = runClient(t, nil, "status", "-o", "wide")
	if code != 2 || !strings.Contains(errOut, `-o "wide"`) {
		t.Errorf("status -o wide: code %d, %s", code, errOut)
	}
	_, errOut, code = runClient(t, nil, "status", "extra")
	if code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("status with an argument: code %d, %s", code, errOut)
	}

	// A node outside any cluster says so.
	startAPI(t)
	_, errOut, code = runClient(t, nil, "status")
	if code != 2 || !strings.Contains(errOut, "this node does not belong to a cluster") {
		t.Errorf("status of a lone node: code %d, %s", code, errOut)
	}
}

func TestStatusJoinsRoot(t *testing.T) {
	c, _, err := newRootCommand().Find([]string{"status"})
	if err != nil || c.Name() != "status" {
		t.Errorf("status is not a command of shoal: %v", err)
	}
}
