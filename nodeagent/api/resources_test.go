package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// objectControl is a fakeService that deletes objects: those in gone are
// deleted, those in git are refused.
type objectControl struct {
	fakeService
	calls []string
}

func (o *objectControl) DeleteObject(_ context.Context, kind, ns, name string) error {
	o.calls = append(o.calls, kind+" "+ns+" "+name)
	if name == "in-git" {
		return fmt.Errorf("%s %s/%s is in Git at apps.yaml:1: remove it there: %w", kind, ns, name, ErrBadRequest)
	}
	if name == "nothing" {
		return fmt.Errorf("no %s %s/%s: %w", kind, ns, name, ErrNotFound)
	}
	return nil
}

func TestResourceFor(t *testing.T) {
	tests := []struct{ name, kind string }{
		{"deployments", "Deployment"}, {"deployment", "Deployment"}, {"deploy", "Deployment"}, {"Deployment", "Deployment"},
		{"cm", "ConfigMap"}, {"sc", "StorageClass"}, {"PVC", "PersistentVolumeClaim"}, {"endpoints", "Endpoints"},
		{"widgets", ""}, {"", ""},
	}
	for _, tt := range tests {
		r, ok := ResourceFor(tt.name)
		if ok != (tt.kind != "") || r.Kind != tt.kind {
			t.Errorf("ResourceFor(%q) = %q, %v; want %q", tt.name, r.Kind, ok, tt.kind)
		}
	}
}

func TestDeleteObject(t *testing.T) {
	svc := &objectControl{}
	srv, c := start(t, svc, "")
	ctx := context.Background()
	res := func(name string) ResourceType { r, _ := ResourceFor(name); return r }
	tests := []struct {
		res      ResourceType
		ns, name string
		path     string
		want     error
	}{
		{res("deploy"), "shop", "web", "/apis/apps/v1/namespaces/shop/deployments/web", nil},
		{res("cm"), "default", "cfg", "/api/v1/namespaces/default/configmaps/cfg", nil},
		{res("sc"), "", "fast", "/apis/storage.k8s.io/v1/storageclasses/fast", nil},
		{res("pv"), "", "data", "/api/v1/persistentvolumes/data", nil},
		{res("deploy"), "shop", "in-git", "/apis/apps/v1/namespaces/shop/deployments/in-git", ErrBadRequest},
		{res("cronjob"), "default", "nothing", "/apis/batch/v1/namespaces/default/cronjobs/nothing", ErrNotFound},
	}
	for _, tt := range tests {
		if got := tt.res.Path(tt.ns, tt.name); got != tt.path {
			t.Errorf("Path = %s, want %s", got, tt.path)
		}
		if err := c.DeleteObject(ctx, tt.res, tt.ns, tt.name); !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
			t.Errorf("DeleteObject %s: %v, want %v", tt.path, err, tt.want)
		}
	}
	want := "Deployment shop web,ConfigMap default cfg,StorageClass  fast,PersistentVolume  data,Deployment shop in-git,CronJob default nothing"
	if got := strings.Join(svc.calls, ","); got != want {
		t.Errorf("calls %s\nwant  %s", got, want)
	}
	// Paths that name no resource, or one in the wrong group or scope.
	svc.calls = nil
	for _, p := range []string{
		"/apis/apps/v1/namespaces/shop/widgets/x",
		"/apis/batch/v1/namespaces/shop/deployments/x",
		"/apis/storage.k8s.io/v1/namespaces/shop/storageclasses/x",
		"/apis/apps/v1/deployments/x",
		"/api/v1/namespaces/shop/deploy/x",
	} {
		req, _ := http.NewRequest(http.MethodDelete, srv.URL+p, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("DELETE %s: %d, want 404", p, resp.StatusCode)
		}
	}
	if len(svc.calls) > 0 {
		t.Errorf("bad paths reached the service: %v", svc.calls)
	}
	// A node that cannot delete objects says it belongs to no cluster.
	_, plain := start(t, &fakeService{}, "")
	if err := plain.DeleteObject(ctx, res("deploy"), "default", "web"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteObject on a node without a cluster: %v", err)
	}
}
