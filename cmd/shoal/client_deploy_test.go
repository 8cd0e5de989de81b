package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/shoal-run/shoal/reconciler/deployments"
)

func deployment(updated, ready, available, total int32, reason string) appsv1.Deployment {
	three := int32(3)
	d := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default",
		CreationTimestamp: metav1.NewTime(time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC))}}
	d.Spec.Replicas = &three
	d.Status = appsv1.DeploymentStatus{Replicas: total, UpdatedReplicas: updated, ReadyReplicas: ready, AvailableReplicas: available}
	if reason != "" {
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: reason}}
	}
	return d
}

func TestRolloutMessage(t *testing.T) {
	tests := []struct {
		d            appsv1.Deployment
		want         string
		done, failed bool
	}{
		{deployment(0, 0, 0, 0, ""), "to be seen by the leader", false, false},
		{deployment(1, 3, 3, 4, deployments.ReasonReplicaSetUpdated), "1 out of 3 new replicas have been updated", false, false},
		{deployment(3, 3, 3, 4, deployments.ReasonReplicaSetUpdated), "1 old replicas are pending termination", false, false},
		{deployment(3, 2, 2, 3, deployments.ReasonReplicaSetUpdated), "2 of 3 updated replicas are available", false, false},
		{deployment(3, 3, 3, 3, deployments.ReasonNewReplicaSetAvailable), "successfully rolled out", true, false},
		{deployment(1, 3, 3, 4, deployments.ReasonProgressDeadlineExceeded), "exceeded its progress deadline", false, true},
	}
	for _, tt := range tests {
		msg, done, failed := rolloutMessage(&tt.d)
		if !strings.Contains(msg, tt.want) || done != tt.done || failed != tt.failed {
			t.Errorf("got %q %v %v, want %q %v %v", msg, done, failed, tt.want, tt.done, tt.failed)
		}
	}
}

func TestRolloutStatusFollowsAndGetDeployments(t *testing.T) {
	steps := []appsv1.Deployment{
		deployment(1, 3, 3, 4, deployments.ReasonReplicaSetUpdated),
		deployment(3, 2, 2, 3, deployments.ReasonReplicaSetUpdated),
		deployment(3, 3, 3, 3, deployments.ReasonNewReplicaSetAvailable),
	}
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := min(int(calls.Add(1))-1, len(steps)-1)
		switch r.URL.Path {
		case "/apis/apps/v1/namespaces/default/deployments/web":
			json.NewEncoder(w).Encode(steps[i])
		case "/apis/apps/v1/namespaces/default/deployments":
			json.NewEncoder(w).Encode(appsv1.DeploymentList{Items: []appsv1.Deployment{steps[2]}})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, _ := api.NewClient(srv.URL, api.ClientOptions{})
	var out bytes.Buffer
	if err := rolloutStatus(context.Background(), c, "default", "web", 30*time.Second, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], "successfully rolled out") {
		t.Fatalf("output:\n%s", out.String())
	}
	var table bytes.Buffer
	if err := writeTable(&table, []appsv1.Deployment{steps[2]}, tableOptions{}, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), deploymentKind.columns); err != nil {
		t.Fatal(err)
	}
	want := "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nweb    3/3     3            3           60m\n"
	if table.String() != want {
		t.Fatalf("table:\n%q\nwant\n%q", table.String(), want)
	}
	stdout, stderr, code := run(t, "get", "deployments", "--server", srv.URL)
	if code != 0 || !strings.Contains(stdout, "web") {
		t.Fatalf("get deployments: %d %s %s", code, stdout, stderr)
	}
}
