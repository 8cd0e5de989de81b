package pods

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestRunProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("X-Check") != "yes" || r.UserAgent() != probeUserAgent {
				http.Error(w, "missing header", http.StatusBadRequest)
				return
			}
			w.Write([]byte("fine"))
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			http.Error(w, "broken", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	host, portStr, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	port, _ := strconv.Atoi(portStr)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	target := ProbeTarget{
		Host:  host,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}},
		Exec: func(ctx context.Context, cmd []string) (int, error) {
			switch cmd[0] {
			case "ok":
				return 0, nil
			case "fail":
				return 3, nil
			case "hang":
				<-ctx.Done()
				return -1, ctx.Err()
			}
			return -1, errors.New("no such command")
		},
	}
	header := []corev1.HTTPHeader{{Name: "X-Check", Value: "yes"}}
	tests := []struct {
		name  string
		probe corev1.Probe
		ok    bool
		msg   string
	}{
		{"http named port", corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ok", Port: intstr.FromString("http"), HTTPHeaders: header}}}, true, ""},
		{"http redirect followed", corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/redirect", Port: intstr.FromInt32(int32(port)), HTTPHeaders: header}}}, true, ""},
		{"http 500", corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/bad", Port: intstr.FromInt32(int32(port))}}}, false, "HTTP probe failed with statuscode: 500 (broken)"},
		{"http unknown port name", corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("metrics")}}}, false, `no container port named "metrics"`},
		{"tcp open", corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(port))}}}, true, ""},
		{"tcp closed", corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(closedPort))}}}, false, "dial tcp 127.0.0.1:" + strconv.Itoa(closedPort) + ": "},
		{"exec ok", corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"ok"}}}}, true, ""},
		{"exec exit 3", corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"fail", "x"}}}}, false, `command "fail x" exited with 3`},
		{"exec timeout", corev1.Probe{TimeoutSeconds: 1, ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"hang"}}}}, false, `command "hang" timed out`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, msg := RunProbe(context.Background(), &tt.probe, target)
			if ok != tt.ok || !strings.HasPrefix(msg, tt.msg) || (tt.msg == "" && msg != "") {
				t.Errorf("RunProbe = %v, %q; want %v, %q", ok, msg, tt.ok, tt.msg)
			}
		})
	}
}

func TestProbeStateThresholds(t *testing.T) {
	p := &corev1.Probe{SuccessThreshold: 2, FailureThreshold: 3}
	s := NewProbeState(false)
	steps := []struct {
		ok      bool
		result  bool
		changed bool
	}{
		{true, false, false}, {true, true, true}, {false, true, false}, {false, true, false},
		{true, true, false}, {false, true, false}, {false, true, false}, {false, false, true}, {true, false, false},
	}
	for i, st := range steps {
		changed := s.Observe(p, st.ok)
		if s.Result != st.result || changed != st.changed {
			t.Fatalf("step %d: result %v changed %v, want %v %v", i, s.Result, changed, st.result, st.changed)
		}
	}
	if !NewProbeState(true).Result {
		t.Error("liveness starts successful")
	}
}

func TestRunHandler(t *testing.T) {
	target := ProbeTarget{Exec: func(ctx context.Context, cmd []string) (int, error) { return len(cmd), nil }}
	if err := RunHandler(context.Background(), &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"x"}}}, target); err == nil || err.Error() != `command "x" exited with 1` {
		t.Errorf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := RunHandler(ctx, &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 30}}, target); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep handler with a cancelled context: %v", err)
	}
}
