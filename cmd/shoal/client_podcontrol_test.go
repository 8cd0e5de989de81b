package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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

func TestQuarantineAndDeleteVerbs(t *testing.T) {
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method+" "+r.URL.Path)
		if strings.Contains(r.URL.Path, "bare") {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"message":"pod default/bare is in the repository: remove it from Git to delete it","reason":"BadRequest","code":400}`))
			return
		}
		w.Write([]byte(`{"status":"Success"}`))
	}))
	defer srv.Close()
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
	if strings.Join(calls, ",") != strings.Join(want, ",") {
		t.Fatalf("calls %v", calls)
	}
}
