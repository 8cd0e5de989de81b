package main

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/nodeagent/api"
)

func TestPodArg(t *testing.T) {
	tests := []struct {
		args []string
		want string
		ok   bool
	}{
		{[]string{"pod", "web-1"}, "web-1", true},
		{[]string{"po/web-1"}, "web-1", true},
		{[]string{"pods/web-1"}, "web-1", true},
		{[]string{"web-1"}, "", false},
		{[]string{"deploy/web"}, "", false},
		{[]string{"pod/"}, "", false},
	}
	for _, tt := range tests {
		got, err := podArg("delete", tt.args)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("podArg(%v) = %q, %v", tt.args, got, err)
		}
	}
}

// fakeLeader serves the pod and object control routes: a path that ends
// with refused is answered 400 with message (the object is in Git), any
// other succeeds. It returns the server and the requests it got.
func fakeLeader(t *testing.T, refused, message string) (*httptest.Server, *[]string) {
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method+" "+r.URL.Path)
		if strings.HasSuffix(r.URL.Path, refused) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"message":"` + message + `","reason":"BadRequest","code":400}`))
			return
		}
		w.Write([]byte(`{"status":"Success"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestQuarantineAndDeleteVerbs(t *testing.T) {
	srv, calls := fakeLeader(t, "/bare", "pod default/bare is in the repository: remove it from Git to delete it")
	out, _, code := run(t, "quarantine", "pod", "web-x", "-n", "shop", "--server", srv.URL)
	if code != 0 || !strings.Contains(out, "quarantined") {
		t.Fatalf("quarantine: %d %s", code, out)
	}
	out, _, code = run(t, "delete", "pod/web-x", "-n", "shop", "--server", srv.URL)
	if code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %d %s", code, out)
	}
	_, errOut, code := run(t, "delete", "pod", "bare", "--server", srv.URL)
	if code == 0 || !strings.Contains(errOut, "remove it from Git") {
		t.Fatalf("delete of a bare pod: %d %s", code, errOut)
	}
	want := []string{"POST /api/v1/namespaces/shop/pods/web-x/quarantine", "DELETE /api/v1/namespaces/shop/pods/web-x", "DELETE /api/v1/namespaces/default/pods/bare"}
	if strings.Join(*calls, ",") != strings.Join(want, ",") {
		t.Fatalf("calls %v", *calls)
	}
}

func TestDeleteVerbKinds(t *testing.T) {
	srv, calls := fakeLeader(t, "/api", "it comes from Git: Deployment/shop/api is in Git at apps/api.yaml:1: remove it there")
	tests := []struct {
		args []string
		out  string
	}{
		{[]string{"deployment", "web", "-n", "shop"}, `deployment "web" deleted`},
		{[]string{"deploy/web"}, `deployment "web" deleted`},
		{[]string{"cm", "cfg", "-n", "shop"}, `configmap "cfg" deleted`},
		{[]string{"sc/fast", "-n", "shop"}, `storageclass "fast" deleted`}, // cluster-scoped: no namespace
	}
	for _, tt := range tests {
		out, errOut, code := run(t, append(append([]string{"delete"}, tt.args...), "--server", srv.URL)...)
		if code != 0 || strings.TrimSpace(out) != tt.out {
			t.Errorf("delete %v: %d %q %s", tt.args, code, out, errOut)
		}
	}
	_, errOut, code := run(t, "delete", "deployment", "api", "-n", "shop", "--server", srv.URL)
	if code == 0 || !strings.Contains(errOut, "is in Git at apps/api.yaml:1: remove it there") {
		t.Errorf("delete of a Deployment in Git: %d %s", code, errOut)
	}
	_, errOut, code = run(t, "delete", "widget", "w", "--server", srv.URL)
	if code == 0 || !strings.Contains(errOut, `unknown kind "widget": use one of namespace, node, pod`) {
		t.Errorf("delete of an unknown kind: %d %s", code, errOut)
	}
	_, errOut, code = run(t, "delete", "deployment/", "--server", srv.URL)
	if code == 0 || !strings.Contains(errOut, "give KIND NAME") {
		t.Errorf("delete without a name: %d %s", code, errOut)
	}
	want := []string{
		"DELETE /apis/apps/v1/namespaces/shop/deployments/web",
		"DELETE /apis/apps/v1/namespaces/default/deployments/web",
		"DELETE /api/v1/namespaces/shop/configmaps/cfg",
		"DELETE /apis/storage.k8s.io/v1/storageclasses/fast",
		"DELETE /apis/apps/v1/namespaces/shop/deployments/api",
	}
	if strings.Join(*calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(*calls, "\n"), strings.Join(want, "\n"))
	}
}

// TestResourcesAreTheManifestKinds keeps the kinds `shoal delete` names
// equal to those the manifests read.
func TestResourcesAreTheManifestKinds(t *testing.T) {
	var kinds []string
	for _, r := range api.Resources {
		kinds = append(kinds, r.Kind)
		if manifests.IsNamespaced(r.Kind) != r.Namespaced {
			t.Errorf("%s: namespaced %v in api.Resources, %v in manifests", r.Kind, r.Namespaced, manifests.IsNamespaced(r.Kind))
		}
	}
	sort.Strings(kinds)
	if got, want := strings.Join(kinds, ","), strings.Join(manifests.SupportedKinds(), ","); got != want {
		t.Errorf("api.Resources kinds %s\nmanifests kinds     %s", got, want)
	}
}
