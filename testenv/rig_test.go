package testenv

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/reconciler/gitsource"
)

func TestEnvRenderIsSourceable(t *testing.T) {
	tests := []struct {
		name string
		env  Env
	}{
		{"plain", Env{Server: "10.250.3.11:7947", Servers: []string{"10.250.3.11:7947", "10.250.3.12:7947"}, Nodes: []string{"node1", "node2"},
			GitURL: "http://shoal:abc@10.250.3.1:4000/cluster.git", Registry: "10.250.3.1:5000", Token: "t0k", Dir: "/tmp/rig"}},
		{"quotes and spaces", Env{Server: "a", Servers: []string{"a"}, Nodes: []string{"n"}, GitURL: "it's $HOME `x`", Registry: "r", Token: `"q" \ n`, Dir: "/tmp/my rig"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "env")
			if err := os.WriteFile(path, []byte(tt.env.Render()), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, kv := range tt.env.Vars() {
				out, err := exec.Command("sh", "-c", `. "$1" && printf %s "$(printenv `+kv[0]+`)"`, "sh", path).CombinedOutput()
				if err != nil {
					t.Fatalf("source env: %v: %s", err, out)
				}
				if string(out) != kv[1] {
					t.Errorf("%s = %q after sourcing, want %q (exported)", kv[0], out, kv[1])
				}
			}
		})
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadState(dir); !errors.Is(err, ErrNoRig) {
		t.Fatalf("LoadState of an empty folder = %v, want ErrNoRig", err)
	}
	st := &State{Version: stateVersion, Dir: dir, Index: 7, Binary: "/bin/shoal", AgentCommand: []string{"/bin/shoal", "agent"},
		HostAddr: "10.250.7.1", HostLink: "shl7", LabNetNS: "/run/netns/shoal-lab7", CgroupParent: "/shoal/lab7", GitUser: GitUser,
		GitRoot: dir + "/git", GitAddr: "10.250.7.1:4000", RegistryAddr: "10.250.7.1:5000", ServePID: 42,
		Nodes: []NodeState{{Name: "node1", Addr: "10.250.7.11", NetNS: "/run/netns/shoal-lab7-node1", LabLink: "n1", API: "10.250.7.11:7947",
			Gossip: "10.250.7.11:7946", DataDir: dir + "/nodes/node1", Args: []string{"a", "b"}, PID: 99}}}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, st) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, st)
	}
	if _, err := got.Node("node9"); err == nil || !strings.Contains(err.Error(), "node1") {
		t.Errorf("Node(node9) = %v, want an error naming the nodes there are", err)
	}
	st.Version = 99
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadState(dir); err == nil {
		t.Error("LoadState accepted an unknown format")
	}
}

// TestWebhookAcceptedByGitsource signs events as the hook does and feeds
// them to the agent's real webhook handler.
func TestWebhookAcceptedByGitsource(t *testing.T) {
	tests := []struct {
		name           string
		signWith, want string
		code           int
	}{
		{"same secret", "s3cret", "s3cret", http.StatusAccepted},
		{"other secret", "wrong", "s3cret", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var refs []string
			h := gitsource.WebhookHandler([]byte(tt.want), func(ref string) { refs = append(refs, ref) })
			ev := PushEvent{Ref: "refs/heads/main", Before: strings.Repeat("0", 40), After: strings.Repeat("a", 40)}
			req, err := NewWebhookRequest(context.Background(), "http://node/webhook", []byte(tt.signWith), ev)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(strings.NewReader(string(body)))
			if want := `{"ref":"refs/heads/main","before":"` + ev.Before + `","after":"` + ev.After + `"}`; string(body) != want {
				t.Errorf("body %s, want %s", body, want)
			}
			if req.Header.Get("X-GitHub-Event") != "push" || req.Header.Get("Content-Type") != "application/json" {
				t.Errorf("headers %v", req.Header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("handler answered %d (%s), want %d", rec.Code, rec.Body, tt.code)
			}
			if tt.code == http.StatusAccepted && !reflect.DeepEqual(refs, []string{"refs/heads/main"}) {
				t.Errorf("triggered %v, want [refs/heads/main]", refs)
			}
		})
	}
}

func TestParsePostReceive(t *testing.T) {
	tests := []struct {
		name, in string
		want     []PushEvent
		err      bool
	}{
		{"one", "a b refs/heads/main\n", []PushEvent{{Before: "a", After: "b", Ref: "refs/heads/main"}}, false},
		{"two and blank", "a b refs/heads/main\n\nc d refs/tags/v1\n", []PushEvent{{Before: "a", After: "b", Ref: "refs/heads/main"}, {Before: "c", After: "d", Ref: "refs/tags/v1"}}, false},
		{"garbage", "nope\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePostReceive(strings.NewReader(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !tt.err && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDeliverWebhookTriesNodesInOrder(t *testing.T) {
	var hits []string
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits = append(hits, "down")
		http.Error(w, "not the leader and cannot forward", http.StatusBadGateway)
	}))
	defer down.Close()
	up := httptest.NewServer(gitsource.WebhookHandler([]byte("k"), func(string) { hits = append(hits, "up") }))
	defer up.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	ev := PushEvent{Ref: "refs/heads/main", Before: "a", After: "b"}
	got, err := DeliverWebhook(context.Background(), []string{closedURL + "/webhook", down.URL + "/webhook", up.URL + "/webhook"}, []byte("k"), ev)
	if err != nil {
		t.Fatal(err)
	}
	if got != up.URL+"/webhook" || !reflect.DeepEqual(hits, []string{"down", "up"}) {
		t.Errorf("delivered to %s after %v, want the third after [down up]", got, hits)
	}
	if _, err := DeliverWebhook(context.Background(), []string{closedURL + "/webhook", down.URL + "/webhook"}, []byte("k"), ev); err == nil || !strings.Contains(err.Error(), "502") {
		t.Errorf("no node took it: err = %v, want one naming the 502", err)
	}
}

func TestAgentArgs(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "shoal")
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := Config{Dir: dir, Binary: bin, Nodes: 2, Labels: map[string]map[string]string{"node2": {"zone": "b", "disk": "ssd"}},
		NotReconciler: []string{"node2"}, GitPollInterval: time.Second}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	st := &State{Dir: dir, GitUser: GitUser, GitAddr: "10.250.4.1:4000", RegistryAddr: "10.250.4.1:5000", CgroupParent: "/shoal/lab4",
		Nodes: []NodeState{
			{Name: "node1", API: "10.250.4.11:7947", Gossip: "10.250.4.11:7946", DataDir: dir + "/nodes/node1"},
			{Name: "node2", API: "10.250.4.12:7947", Gossip: "10.250.4.12:7946", DataDir: dir + "/nodes/node2"},
		}}
	common := func(name, labels, reconciler string) []string {
		return []string{
			"--data-dir", dir + "/nodes/" + name,
			"--labels", labels,
			"--cluster-key-file", dir + "/cluster.key",
			"--token-file", dir + "/token",
			"--repo", "http://10.250.4.1:4000/cluster.git", "--branch", "main", "--path", ".",
			"--repo-user", "shoal", "--repo-password-file", dir + "/git.password",
			"--webhook-secret-file", dir + "/webhook.secret",
			"--registry-mirror", "docker.io=http://10.250.4.1:5000",
			"--cgroup-parent", "/shoal/lab4/" + name,
			"--reconciler=" + reconciler,
			"--git-poll-interval", "1s",
		}
	}
	tests := []struct {
		i    int
		want []string
	}{
		{0, append([]string{"--name", "node1", "--bind", "10.250.4.11:7946", "--advertise", "10.250.4.11:7946", "--api", "10.250.4.11:7947", "--join", "10.250.4.12:7946"},
			common("node1", "kubernetes.io/hostname=node1", "true")...)},
		{1, append([]string{"--name", "node2", "--bind", "10.250.4.12:7946", "--advertise", "10.250.4.12:7946", "--api", "10.250.4.12:7947", "--join", "10.250.4.11:7946"},
			common("node2", "disk=ssd,kubernetes.io/hostname=node2,zone=b", "false")...)},
	}
	for _, tt := range tests {
		if got := AgentArgs(cfg, st, tt.i); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("node %d:\n got %q\nwant %q", tt.i+1, got, tt.want)
		}
	}
}

func TestConfigChecks(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "shoal")
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"defaults", Config{Dir: dir, Binary: bin}, ""},
		{"no dir", Config{Binary: bin}, "Dir is required"},
		{"no binary", Config{Dir: dir}, "Binary is required"},
		{"missing binary", Config{Dir: dir, Binary: dir + "/nope"}, "shoal binary"},
		{"bad name", Config{Dir: dir, Binary: bin, Names: []string{"Node_1"}}, "node name"},
		{"twice", Config{Dir: dir, Binary: bin, Names: []string{"a", "a"}}, "given twice"},
		{"too many", Config{Dir: dir, Binary: bin, Nodes: MaxNodes + 1}, "a rig has 1 to"},
		{"unknown non-reconciler", Config{Dir: dir, Binary: bin, NotReconciler: []string{"node7"}}, "not a node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.withDefaults()
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got.Names, []string{"node1", "node2", "node3"}) || got.GitPollInterval != 5*time.Second ||
					!reflect.DeepEqual(got.AgentCommand, []string{bin, "agent"}) {
					t.Errorf("defaults: %+v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestHookScript(t *testing.T) {
	s := HookScript("/opt/my shoal/shoal", "/tmp/it's")
	want := "exec '/opt/my shoal/shoal' testenv hook --dir '/tmp/it'\\''s'\n"
	if !strings.HasPrefix(s, "#!/bin/sh\n") || !strings.HasSuffix(s, want) {
		t.Errorf("script:\n%s\nwant it to end with %q", s, want)
	}
}
