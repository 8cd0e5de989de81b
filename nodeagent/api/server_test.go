package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
)

func TestClientPods(t *testing.T) {
	svc := &fakeService{pods: testPods()}
	_, c := start(t, svc, "")
	ctx := context.Background()

	tests := []struct {
		ns   string
		want []string
	}{
		{"", []string{"default/web", "default/worker", "shop/cart"}},
		{"default", []string{"default/web", "default/worker"}},
		{"empty", nil},
	}
	for _, tt := range tests {
		pods, err := c.ListPods(ctx, tt.ns)
		if err != nil {
			t.Fatalf("ListPods(%q): %v", tt.ns, err)
		}
		var got []string
		for _, p := range pods {
			got = append(got, p.Namespace+"/"+p.Name)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("ListPods(%q) = %v, want %v", tt.ns, got, tt.want)
		}
	}

	pod, err := c.GetPod(ctx, "shop", "cart")
	if err != nil {
		t.Fatal(err)
	}
	if pod.Name != "cart" || pod.Status.PodIP != "10.244.0.5" || pod.Kind != "Pod" || pod.APIVersion != "v1" {
		t.Errorf("GetPod = %+v", pod)
	}
	_, err = c.GetPod(ctx, "shop", "nope")
	if !errors.Is(err, ErrNotFound) || err.Error() != "pod shop/nope: not found" {
		t.Errorf("GetPod of a missing pod: %v", err)
	}
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Code != 404 || apiErr.Reason != ReasonNotFound {
		t.Errorf("error = %#v", err)
	}
}

func TestServerHTTP(t *testing.T) {
	svc := &fakeService{pods: testPods()}
	srv, _ := start(t, svc, "")
	failing := &fakeService{listErr: errors.New("disk on fire")}
	failSrv, _ := start(t, failing, "")
	forward := map[string]string{"Connection": "Upgrade", "Upgrade": PortForwardProtocol}

	tests := []struct {
		name       string
		url        string
		method     string
		header     map[string]string
		wantCode   int
		wantReason string // error body
		wantMsg    string // in the error's message
		wantKind   string // object body
	}{
		{name: "list", url: srv.URL + "/api/v1/pods", wantCode: 200, wantKind: "PodList"},
		{name: "list namespace", url: srv.URL + "/api/v1/namespaces/shop/pods", wantCode: 200, wantKind: "PodList"},
		{name: "get", url: srv.URL + "/api/v1/namespaces/shop/pods/cart", wantCode: 200, wantKind: "Pod"},
		{name: "missing pod", url: srv.URL + "/api/v1/namespaces/shop/pods/nope", wantCode: 404, wantReason: ReasonNotFound},
		{name: "missing pod log", url: srv.URL + "/api/v1/namespaces/shop/pods/nope/log", wantCode: 404, wantReason: ReasonNotFound},
		{name: "unknown path", url: srv.URL + "/api/v1/nodes", wantCode: 404, wantReason: ReasonNotFound},
		{name: "bad tailLines", url: srv.URL + "/api/v1/namespaces/shop/pods/cart/log?tailLines=ten", wantCode: 400, wantReason: ReasonBadRequest},
		{name: "bad follow", url: srv.URL + "/api/v1/namespaces/shop/pods/cart/log?follow=maybe", wantCode: 400, wantReason: ReasonBadRequest},
		{name: "negative sinceSeconds", url: srv.URL + "/api/v1/namespaces/shop/pods/cart/log?sinceSeconds=-5", wantCode: 400, wantReason: ReasonBadRequest},
		{name: "internal error", url: failSrv.URL + "/api/v1/pods", wantCode: 500, wantReason: ReasonInternalError},
		{name: "exec without upgrade", method: "POST", url: srv.URL + "/api/v1/namespaces/shop/pods/cart/exec?command=ls", wantCode: 400, wantReason: ReasonBadRequest},
		{name: "exec without command", method: "POST", url: srv.URL + "/api/v1/namespaces/shop/pods/cart/exec",
			header: map[string]string{"Connection": "Upgrade", "Upgrade": ExecProtocol}, wantCode: 400, wantReason: ReasonBadRequest},
		{name: "exec of a missing pod", method: "POST", url: srv.URL + "/api/v1/namespaces/shop/pods/nope/exec?command=ls",
			header: map[string]string{"Connection": "Upgrade", "Upgrade": ExecProtocol}, wantCode: 404, wantReason: ReasonNotFound},
		{name: "portforward without port", method: "POST", url: srv.URL + "/api/v1/namespaces/shop/pods/cart/portforward",
			header: forward, wantCode: 400, wantReason: ReasonBadRequest, wantMsg: "port=N in the query"},
		{name: "portforward to port 0", method: "POST", url: srv.URL + "/api/v1/namespaces/shop/pods/cart/portforward?port=0",
			header: forward, wantCode: 400, wantReason: ReasonBadRequest, wantMsg: `port="0"`},
		{name: "portforward to port 70000", method: "POST", url: srv.URL + "/api/v1/namespaces/shop/pods/cart/portforward?port=70000",
			header: forward, wantCode: 400, wantReason: ReasonBadRequest, wantMsg: "1 to 65535"},
		{name: "portforward without upgrade", method: "POST", url: srv.URL + "/api/v1/namespaces/shop/pods/cart/portforward?port=80",
			wantCode: 400, wantReason: ReasonBadRequest, wantMsg: "Upgrade: " + PortForwardProtocol},
		{name: "portforward on a node that does not forward", method: "POST", url: srv.URL + "/api/v1/namespaces/shop/pods/cart/portforward?port=80",
			header: forward, wantCode: 404, wantReason: ReasonNotFound, wantMsg: "does not forward ports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			req, _ := http.NewRequest(method, tt.url, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
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
				Message, Reason  string
				Code             int
			}
			if err := json.Unmarshal(body, &obj); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, body)
			}
			if tt.wantKind != "" && (obj.Kind != tt.wantKind || obj.APIVersion != "v1") {
				t.Errorf("kind %q apiVersion %q, want %q v1", obj.Kind, obj.APIVersion, tt.wantKind)
			}
			if tt.wantReason != "" && (obj.Reason != tt.wantReason || obj.Code != tt.wantCode || obj.Message == "" || !strings.Contains(obj.Message, tt.wantMsg)) {
				t.Errorf("error body %s", body)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	svc := &fakeService{pods: testPods(), exec: func(context.Context, string, string, ExecOptions) (int, error) { return 0, nil },
		logs: func(_ context.Context, _, _ string, _ LogOptions, w io.Writer) error {
			_, err := io.WriteString(w, "hi\n")
			return err
		}}
	srv, good := start(t, svc, "s3cret")
	ctx := context.Background()

	// The right token opens every door.
	if _, err := good.ListPods(ctx, ""); err != nil {
		t.Errorf("ListPods with the token: %v", err)
	}
	var log strings.Builder
	if err := good.Logs(ctx, "default", "web", LogOptions{TailLines: -1}, &log); err != nil || log.String() != "hi\n" {
		t.Errorf("Logs with the token: %q %v", log.String(), err)
	}
	if code, err := good.Exec(ctx, "default", "web", ExecOptions{Command: []string{"true"}}); err != nil || code != 0 {
		t.Errorf("Exec with the token: %d %v", code, err)
	}

	// No token, a wrong one: 401 everywhere.
	for _, token := range []string{"", "wrong"} {
		c, err := NewClient(srv.URL, ClientOptions{Token: token})
		if err != nil {
			t.Fatal(err)
		}
		calls := map[string]error{}
		_, calls["list"] = c.ListPods(ctx, "")
		_, calls["get"] = c.GetPod(ctx, "default", "web")
		calls["logs"] = c.Logs(ctx, "default", "web", LogOptions{}, io.Discard)
		_, calls["exec"] = c.Exec(ctx, "default", "web", ExecOptions{Command: []string{"true"}})
		for call, err := range calls {
			var e *Error
			if !errors.As(err, &e) || e.Code != 401 || e.Reason != ReasonUnauthorized || !strings.Contains(e.Message, "SHOAL_TOKEN") {
				t.Errorf("token %q, %s: %v", token, call, err)
			}
		}
	}
	resp, err := http.Get(srv.URL + "/api/v1/pods")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %s, WWW-Authenticate %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}

	// A server without a token ignores one.
	_, open := start(t, svc, "")
	c, _ := NewClient(strings.TrimPrefix(open.Server(), "http://"), ClientOptions{Token: "anything"})
	if _, err := c.ListPods(ctx, ""); err != nil {
		t.Errorf("token sent to a server without one: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := NewClient(addr, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListPods(context.Background(), "")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("error %v, want connection refused", err)
	}
	for _, want := range []string{"http://" + addr, "connection refused", "--server", "SHOAL_SERVER"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		server string
		want   string // base URL, "" for an error
	}{
		{"127.0.0.1:7000", "http://127.0.0.1:7000"},
		{"node-1", "http://node-1:7947"},
		{" http://node-1:80/ ", "http://node-1:80"},
		{"https://node-1", "https://node-1:7947"},
		{"[::1]:7000", "http://[::1]:7000"},
		{"", ""},
		{"ftp://node-1:21", ""},
		{"http://node-1:80/api", ""},
		{"http://:80", ""},
	}
	for _, tt := range tests {
		c, err := NewClient(tt.server, ClientOptions{})
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("NewClient(%q) = %s, want an error", tt.server, c.Server())
		case tt.want != "" && err != nil:
			t.Errorf("NewClient(%q): %v", tt.server, err)
		case tt.want != "" && c.Server() != tt.want:
			t.Errorf("NewClient(%q) talks to %s, want %s", tt.server, c.Server(), tt.want)
		}
	}
}

func TestErrorUnwrap(t *testing.T) {
	tests := []struct {
		err        error
		wantCode   int
		wantReason string
	}{
		{ErrNotFound, 404, ReasonNotFound},
		{errors.Join(errors.New("container \"x\""), ErrNotFound), 404, ReasonNotFound},
		{ErrBadRequest, 400, ReasonBadRequest},
		{errors.New("boom"), 500, ReasonInternalError},
	}
	for _, tt := range tests {
		e := errorFor(tt.err)
		if e.Code != tt.wantCode || e.Reason != tt.wantReason {
			t.Errorf("errorFor(%v) = %+v", tt.err, e)
		}
		if tt.wantReason == ReasonNotFound && !errors.Is(e, ErrNotFound) {
			t.Errorf("%v does not wrap ErrNotFound", e)
		}
	}
}
