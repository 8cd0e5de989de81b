package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/shoal-run/shoal/reconciler/gitsource"
	"github.com/vishvananda/netlink"
)

// TestMain lets the test binary stand in for the shoal binary of a rig:
// `agent` is a stand-in agent (below), `testenv serve` and `testenv hook`
// call the same functions as the real verbs, and `down` records that it
// ran and in which network namespace.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "agent":
			os.Exit(standInAgent(os.Args[2:]))
		case "testenv":
			os.Exit(standInTestenv(os.Args[2:]))
		case "down":
			os.Exit(standInDown(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

// longFlags parses "--name value" and "--name=value" pairs.
func longFlags(args []string) map[string]string {
	f := map[string]string{}
	for i := 0; i < len(args); i++ {
		k, ok := strings.CutPrefix(args[i], "--")
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(k, "="); ok {
			f[k] = v
			continue
		}
		if i+1 < len(args) {
			f[k] = args[i+1]
			i++
		}
	}
	return f
}

func standInTestenv(args []string) int {
	if len(args) == 0 {
		return 2
	}
	dir := longFlags(args[1:])["dir"]
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	switch args[0] {
	case "serve":
		if err := Serve(ctx, dir, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	case "hook":
		if err := RunHook(ctx, dir, os.Stdin, os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "shoal testenv hook: warning: %v\n", err)
		}
	default:
		return 2
	}
	return 0
}

// standInDown writes DATA/down.ran holding its network namespace.
func standInDown(args []string) int {
	ns, _ := os.Readlink("/proc/self/ns/net")
	if err := os.WriteFile(filepath.Join(longFlags(args)["data-dir"], "down.ran"), []byte(ns), 0o644); err != nil {
		return 1
	}
	return 0
}

// standInAgent is an honest fake of the agent's outside: it serves the
// status (bearer token required) reporting only itself, /hello naming its
// node, and /webhook with the real gitsource handler, recording every
// accepted event's body in DATA/webhooks.log. It makes its cgroup parent
// in every hierarchy, as libcontainer would, so that Down must remove it.
func standInAgent(args []string) int {
	f := longFlags(args)
	token, err := readSecret(f["token-file"])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	secret, err := readSecret(f["webhook-secret-file"])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	roots, _ := cgroupRoots()
	for _, r := range roots {
		_ = os.MkdirAll(filepath.Join(r, f["cgroup-parent"], "pod1"), 0o755)
	}
	var mu sync.Mutex
	webhooks := filepath.Join(f["data-dir"], "webhooks.log")
	hook := gitsource.WebhookHandler([]byte(secret), func(string) {})
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"leader":{"name":%q,"term":"x@1"},"members":[{"name":%q,"state":"alive"}]}`, f["name"], f["name"])
	})
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "hello from %s\n", f["name"]) })
	mux.HandleFunc("/webhook", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		hook.ServeHTTP(rec, r)
		if rec.Code == http.StatusAccepted {
			mu.Lock()
			lf, err := os.OpenFile(webhooks, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err == nil {
				lf.Write(append(body, '\n'))
				lf.Close()
			}
			mu.Unlock()
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
	ln, err := net.Listen("tcp", f["api"])
	if err != nil {
		fmt.Fprintln(os.Stderr, "stand-in agent:", err)
		return 1
	}
	// Gossip: only a listener, for the rig's wait on node1.
	gl, err := net.Listen("tcp", f["bind"])
	if err != nil {
		fmt.Fprintln(os.Stderr, "stand-in agent:", err)
		return 1
	}
	defer gl.Close()
	go func() {
		for {
			c, err := gl.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	fmt.Fprintf(os.Stderr, "stand-in agent %s on %s\n", f["name"], f["api"])
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	srv.Close()
	return 0
}

// requireRig skips unless the test runs as root with the tools a rig uses.
func requireRig(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the rig needs root (network namespaces, veths, cgroups)")
	}
	for _, p := range []string{GitHTTPBackend, BusyboxPath} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s missing: %v", p, err)
		}
	}
	for _, c := range []string{"nsenter", "git", "ip"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("%s missing", c)
		}
	}
}

// waitFor polls cond until it returns nil or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	if err := poll(context.Background(), timeout, 50*time.Millisecond, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get fetches url from the root namespace and returns the body.
func get(url string) (string, error) {
	resp, err := (&http.Client{Timeout: time.Second}).Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// wget fetches url with busybox wget inside a node's namespace.
func wget(c *Cluster, node, url string) (string, error) {
	out, err := c.Exec(context.Background(), node, BusyboxPath, "timeout", "5", BusyboxPath, "wget", "-q", "-O", "-", url)
	if err != nil {
		return "", fmt.Errorf("wget %s in %s: %v: %s", url, node, err, out)
	}
	return string(out), nil
}

func startStandInRig(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	cfg.Binary = bin
	cfg.Ready = ReadyAPI
	cfg.ReadyTimeout = 30 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := StartCluster(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Down(context.Background()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return c
}

// webhookBodies returns the push events a node's stand-in accepted.
func webhookBodies(n NodeState) []PushEvent {
	b, _ := os.ReadFile(filepath.Join(n.DataDir, "webhooks.log"))
	var evs []PushEvent
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var ev PushEvent
		if json.Unmarshal([]byte(line), &ev) == nil {
			evs = append(evs, ev)
		}
	}
	return evs
}

func hasPush(evs []PushEvent, after string) bool {
	for _, ev := range evs {
		if ev.Ref == "refs/heads/main" && ev.After == after {
			return true
		}
	}
	return false
}

// TestRigEndToEnd starts a three-node rig of stand-in agents and checks
// the network, the servers, the hook, the verbs and that Down leaves
// nothing behind.
func TestRigEndToEnd(t *testing.T) {
	requireRig(t)
	c := startStandInRig(t, Config{Nodes: 3})
	st := c.State()
	k := st.Index
	ctx := context.Background()
	n1, n2 := c.Node(1), c.Node(2)

	t.Run("namespaces and addresses", func(t *testing.T) {
		out, err := exec.Command("ip", "netns", "list").CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range []string{labName(k), nodeNetNSName(k, "node1"), nodeNetNSName(k, "node2"), nodeNetNSName(k, "node3")} {
			if !strings.Contains(string(out), ns) {
				t.Errorf("ip netns list lacks %s:\n%s", ns, out)
			}
		}
		for i, n := range c.Nodes() {
			out, err := c.Exec(ctx, n.Name, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
			if want := fmt.Sprintf("10.250.%d.%d/24", k, 11+i); err != nil || !strings.Contains(string(out), want) {
				t.Errorf("%s eth0: %v %s, want %s", n.Name, err, out, want)
			}
		}
	})

	t.Run("no route out, forwarding on", func(t *testing.T) {
		out, err := c.Exec(ctx, "node1", "ip", "-4", "route", "show")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.TrimSpace(string(out)), fmt.Sprintf("10.250.%d.0/24 dev eth0 proto kernel scope link src %s", k, n1.Addr); got != want {
			t.Errorf("node1 routes:\n%s\nwant only %s", got, want)
		}
		out, err = c.Exec(ctx, "node1", "cat", "/proc/sys/net/ipv4/ip_forward")
		if err != nil || strings.TrimSpace(string(out)) != "1" {
			t.Errorf("ip_forward in node1 = %q (%v), want 1", out, err)
		}
	})

	t.Run("node1 reaches node2 and the root namespace", func(t *testing.T) {
		body, err := wget(c, "node1", "http://"+n2.API+"/hello")
		if err != nil || body != "hello from node2\n" {
			t.Errorf("node1 -> node2: %q, %v", body, err)
		}
		body, err = wget(c, "node1", "http://"+st.RegistryAddr+"/v2/library/busybox/tags/list")
		if err != nil || !strings.Contains(body, `"name":"library/busybox"`) || !strings.Contains(body, `"latest"`) || !strings.Contains(body, `"test"`) {
			t.Errorf("node1 -> registry on %s: %q, %v", st.HostAddr, body, err)
		}
	})

	t.Run("env file", func(t *testing.T) {
		out, err := exec.Command("sh", "-c", `. "$1" && echo "$SHOAL_SERVER|$SHOAL_SERVERS|$SHOAL_NODES|$SHOAL_REGISTRY|$SHOAL_TESTENV_DIR|$SHOAL_TOKEN"`, "sh", filepath.Join(c.Dir(), EnvFile)).CombinedOutput()
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%s|%s %s %s|node1 node2 node3|%s|%s|%s", n1.API, n1.API, n2.API, c.Node(3).API, st.RegistryAddr, c.Dir(), c.Token())
		if strings.TrimSpace(string(out)) != want {
			t.Errorf("env:\n got %s\nwant %s", out, want)
		}
	})

	t.Run("registry serves busybox", func(t *testing.T) {
		bb, err := BusyboxImage()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := bb.Digest()
		for _, tag := range []string{"latest", "test"} {
			ref, err := name.ParseReference(c.Registry()+"/library/busybox:"+tag, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			desc, err := remote.Get(ref)
			if err != nil {
				t.Fatalf("remote.Get %s: %v", ref, err)
			}
			if desc.Digest != want {
				t.Errorf("%s is %s, want %s", ref, desc.Digest, want)
			}
		}
	})

	t.Run("push fires a signed webhook", func(t *testing.T) {
		sha, err := c.CommitFiles(ctx, map[string]string{"apps/web.yaml": "kind: Pod\n"}, "first")
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("git", "ls-remote", c.GitURL(), "refs/heads/main").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), sha) {
			t.Errorf("git ls-remote: %s %v, want %s", out, err, sha)
		}
		// The first node takes it (the stand-in logs only what the real
		// handler accepted, so the signature is right).
		waitFor(t, 10*time.Second, "node1 gets the push event", func() error {
			if !hasPush(webhookBodies(n1), sha) {
				return fmt.Errorf("node1's webhooks: %+v", webhookBodies(n1))
			}
			return nil
		})
	})

	t.Run("cut and heal", func(t *testing.T) {
		if err := c.Cut("node1"); err != nil {
			t.Fatal(err)
		}
		if body, err := get("http://" + n1.API + "/hello"); err == nil {
			t.Fatalf("cut node1 still answers the root namespace: %q", body)
		}
		if body, err := wget(c, "node2", "http://"+n1.API+"/hello"); err == nil {
			t.Fatalf("cut node1 still answers node2: %q", body)
		}
		// The hook falls through to node2.
		sha, err := c.CommitFiles(ctx, map[string]string{"apps/web.yaml": "kind: Pod\nmetadata: {name: web}\n"}, "second")
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "node2 gets the push event while node1 is cut", func() error {
			if !hasPush(webhookBodies(n2), sha) {
				return fmt.Errorf("node2's webhooks: %+v", webhookBodies(n2))
			}
			return nil
		})
		if err := c.Heal("node1"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "healed node1 answers", func() error {
			body, err := get("http://" + n1.API + "/hello")
			if err == nil && body != "hello from node1\n" {
				return fmt.Errorf("body %q", body)
			}
			return err
		})
	})

	t.Run("kill and restart", func(t *testing.T) {
		if err := c.Kill(ctx, "node2"); err != nil {
			t.Fatal(err)
		}
		if running, err := c.Running("node2"); err != nil || running {
			t.Fatalf("after kill: running %v, %v", running, err)
		}
		if body, err := get("http://" + n2.API + "/hello"); err == nil {
			t.Fatalf("killed node2 still answers: %q", body)
		}
		old := c.State().Nodes[1].PID
		if err := c.Restart(ctx, "node2"); err != nil {
			t.Fatal(err)
		}
		if pid := c.State().Nodes[1].PID; pid == old || pid == 0 {
			t.Errorf("restart kept pid %d", pid)
		}
		waitFor(t, 10*time.Second, "restarted node2 answers", func() error {
			body, err := get("http://" + n2.API + "/hello")
			if err == nil && body != "hello from node2\n" {
				return fmt.Errorf("body %q", body)
			}
			return err
		})
		if err := c.WaitReady(ctx, ReadyAPI, 10*time.Second); err != nil {
			t.Error(err)
		}
	})

	t.Run("down removes everything", func(t *testing.T) {
		st := c.State()
		nsIno := map[string]string{}
		for _, n := range st.Nodes {
			var s syscall.Stat_t
			if err := syscall.Stat(n.NetNS, &s); err != nil {
				t.Fatal(err)
			}
			nsIno[n.Name] = fmt.Sprintf("net:[%d]", s.Ino)
		}
		if err := c.Down(ctx); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("ip", "netns", "list").CombinedOutput()
		if strings.Contains(string(out), labName(k)) {
			t.Errorf("namespaces left:\n%s", out)
		}
		if _, err := netlink.LinkByName(st.HostLink); err == nil {
			t.Errorf("link %s left", st.HostLink)
		}
		roots, _ := cgroupRoots()
		for _, r := range roots {
			if _, err := os.Stat(filepath.Join(r, st.CgroupParent)); err == nil {
				t.Errorf("cgroup %s left", filepath.Join(r, st.CgroupParent))
			}
		}
		for _, n := range st.Nodes {
			if procAlive(n.PID, agentMarker(&n)) {
				t.Errorf("agent of %s (pid %d) still runs", n.Name, n.PID)
			}
			ran, err := os.ReadFile(filepath.Join(n.DataDir, "down.ran"))
			if err != nil || string(ran) != nsIno[n.Name] {
				t.Errorf("shoal down for %s ran in %q (%v), want its namespace %s", n.Name, ran, err, nsIno[n.Name])
			}
			if _, err := os.Stat(filepath.Join(n.DataDir, "agent.log")); err != nil {
				t.Errorf("agent log of %s gone: %v", n.Name, err)
			}
		}
		if procAlive(st.ServePID, serveMarker(st.Dir)) {
			t.Errorf("serve daemon %d still runs", st.ServePID)
		}
		if _, err := os.Stat(filepath.Join(c.Dir(), StateFile)); err == nil {
			t.Error("state file left")
		}
		if err := c.Down(ctx); err != nil {
			t.Errorf("second down: %v", err)
		}
	})
}

// TestRigsInParallel starts two one-node rigs at once (servers
// in-process) and checks they get different labs that both work.
func TestRigsInParallel(t *testing.T) {
	requireRig(t)
	var wg sync.WaitGroup
	rigs := make([]*Cluster, 2)
	for i := range rigs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bin, _ := os.Executable()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := StartCluster(ctx, Config{Dir: t.TempDir(), Nodes: 1, Binary: bin, Ready: ReadyAPI, ReadyTimeout: 30 * time.Second, InProcessServers: true})
			if err != nil {
				t.Error(err)
				return
			}
			rigs[i] = c
		}()
	}
	wg.Wait()
	for _, c := range rigs {
		if c != nil {
			t.Cleanup(func() {
				if err := c.Down(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
	}
	if t.Failed() {
		return
	}
	if rigs[0].State().Index == rigs[1].State().Index {
		t.Fatalf("both rigs got lab %d", rigs[0].State().Index)
	}
	for _, c := range rigs {
		body, err := get("http://" + c.Node(1).API + "/hello")
		if err != nil || body != "hello from node1\n" {
			t.Errorf("rig %d: %q %v", c.State().Index, body, err)
		}
		if c.State().ServePID != 0 {
			t.Errorf("in-process servers, but a serve daemon %d", c.State().ServePID)
		}
		if body, err := get("http://" + c.Registry() + "/v2/library/busybox/tags/list"); err != nil || !strings.Contains(body, "latest") {
			t.Errorf("rig %d registry: %q %v", c.State().Index, body, err)
		}
	}
}

// TestRigFailedStartCleansUp starts a rig whose agents exit at once: the
// start fails fast, quoting the agent's log, and takes down what it made.
func TestRigFailedStartCleansUp(t *testing.T) {
	requireRig(t)
	bin, _ := os.Executable()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := map[string]bool{}
	if links, err := netlink.LinkList(); err == nil {
		for _, l := range links {
			before[l.Attrs().Name] = true
		}
	}
	start := time.Now()
	c, err := StartCluster(ctx, Config{Dir: dir, Nodes: 2, Binary: bin, AgentCommand: []string{"/bin/sh", "-c", "echo agent gives up; exit 3", "agent"},
		Ready: ReadyAPI, ReadyTimeout: 30 * time.Second})
	if err == nil {
		c.Down(context.Background())
		t.Fatal("StartCluster succeeded with agents that exit")
	}
	if !strings.Contains(err.Error(), "agent gives up") || time.Since(start) > 20*time.Second {
		t.Errorf("error after %s: %v; want it quickly, quoting the agent log", time.Since(start), err)
	}
	if _, err := os.Stat(filepath.Join(dir, StateFile)); err == nil {
		t.Error("state file left after a failed start")
	}
	out, _ := exec.Command("ip", "netns", "list").CombinedOutput()
	links, _ := netlink.LinkList()
	for _, l := range links {
		if strings.HasPrefix(l.Attrs().Name, "shl") && !before[l.Attrs().Name] {
			t.Errorf("link %s left (netns: %s)", l.Attrs().Name, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "nodes", "node1", "agent.log")); err != nil {
		t.Errorf("agent log gone: %v", err)
	}
}
