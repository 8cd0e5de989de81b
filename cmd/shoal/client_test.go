package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// fakePods is a PodService over fixed pods, for the client commands'
// tests: logs echo the options they were given, exec runs a few scripted
// commands.
type fakePods struct {
	pods []corev1.Pod

	mu       sync.Mutex
	logOpts  api.LogOptions
	execOpts api.ExecOptions
	sizes    chan api.TermSize
}

func (f *fakePods) ListPods(_ context.Context, ns string) ([]corev1.Pod, error) {
	var out []corev1.Pod
	for _, p := range f.pods {
		if ns == "" || p.Namespace == ns {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakePods) GetPod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	for _, p := range f.pods {
		if p.Namespace == ns && p.Name == name {
			return &p, nil
		}
	}
	return nil, fmt.Errorf("pod %s/%s: %w", ns, name, api.ErrNotFound)
}

func (f *fakePods) Logs(ctx context.Context, ns, name string, opts api.LogOptions, w io.Writer) error {
	if _, err := f.GetPod(ctx, ns, name); err != nil {
		return err
	}
	f.mu.Lock()
	f.logOpts = opts
	f.mu.Unlock()
	_, err := fmt.Fprintf(w, "log of %s/%s\nsecond line\n", ns, name)
	return err
}

func (f *fakePods) Exec(ctx context.Context, ns, name string, opts api.ExecOptions) (int, error) {
	if _, err := f.GetPod(ctx, ns, name); err != nil {
		return -1, err
	}
	f.mu.Lock()
	f.execOpts = opts
	f.mu.Unlock()
	switch opts.Command[0] {
	case "cat":
		if opts.Stdin == nil {
			return 0, nil
		}
		_, err := io.Copy(opts.Stdout, opts.Stdin)
		return 0, err
	case "exit":
		fmt.Fprintln(opts.Stderr, "exiting with", opts.Command[1])
		var code int
		fmt.Sscan(opts.Command[1], &code)
		return code, nil
	case "tty": // report terminal sizes; end at a 'q' typed
		go func() {
			for {
				select {
				case s := <-opts.Resize:
					f.sizes <- s
				case <-ctx.Done():
					return
				}
			}
		}()
		b := make([]byte, 1)
		for {
			if _, err := opts.Stdin.Read(b); err != nil {
				return 1, err
			}
			if b[0] == 'q' {
				fmt.Fprint(opts.Stdout, "bye\r\n")
				return 0, nil
			}
		}
	}
	return 127, nil
}

func (f *fakePods) lastLogOpts() api.LogOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logOpts
}

func (f *fakePods) lastExecOpts() api.ExecOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.execOpts
}

const testToken = "t0ken"

// startAPI serves a fake node with the table test pods and a token, and
// points SHOAL_SERVER and SHOAL_TOKEN at it.
func startAPI(t *testing.T) *fakePods {
	t.Helper()
	f := &fakePods{pods: tablePods(), sizes: make(chan api.TermSize, 4)}
	p := describedPod()
	p.Namespace = "default"
	p.Name = "web"
	p.CreationTimestamp = ago(30 * time.Minute)
	f.pods = append(f.pods, p)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(api.NewServer(f, api.ServerOptions{Logger: log, Token: testToken}))
	t.Cleanup(srv.Close)
	t.Setenv("SHOAL_SERVER", srv.URL)
	t.Setenv("SHOAL_TOKEN", testToken)
	return f
}

// runClient runs the client commands in-process, with the fixed clock of
// the printing tests, and returns their output and exit code.
func runClient(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := clientRoot(&out, &errOut, stdin, args)
	code = exitCode(root.Execute(), &errOut)
	return out.String(), errOut.String(), code
}

// clientRoot is the client commands under a root command, with the fixed
// clock of the printing tests, set to run args.
func clientRoot(out, errOut io.Writer, stdin io.Reader, args []string) *cobra.Command {
	root := &cobra.Command{Use: "shoal", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newClientCommands(func() time.Time { return testNow }, time.UTC)...)
	root.SetOut(out)
	root.SetErr(errOut)
	if stdin != nil {
		root.SetIn(stdin)
	}
	root.SetArgs(args)
	return root
}

// exitCode is the exit status of a command that returned err, as main
// gives it; an error main prints goes to errOut.
func exitCode(err error, errOut io.Writer) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	io.WriteString(errOut, err.Error())
	return 2
}

func TestClientCommands(t *testing.T) {
	f := startAPI(t)
	// logOpts checks the options the last logs call was given.
	logOpts := func(want api.LogOptions) func(*testing.T) {
		return func(t *testing.T) {
			if got := f.lastLogOpts(); got != want {
				t.Errorf("log options %+v, want %+v", got, want)
			}
		}
	}
	tests := []clientCase{
		{name: "get pods", args: []string{"get", "pods"}, wantOut: `
NAME               READY   STATUS    RESTARTS       AGE
web-7d4b9c-x2x9k   1/1     Running   0              5s
web                1/1     Running   1 (115m ago)   30m
`},
		{name: "get po all namespaces wide", args: []string{"get", "po", "-A", "-o", "wide"}, contains: []string{
			"NAMESPACE   NAME               READY   STATUS             RESTARTS       AGE    IP           NODE\n",
			"jobs        worker-0           1/2     CrashLoopBackOff   12 (5h ago)    3m     10.244.2.7   node-2\n",
			"default     web                1/1     Running            1 (115m ago)   30m    10.244.1.5   node-1\n",
		}},
		{name: "get one pod by name", args: []string{"get", "pod", "worker-0", "-n", "jobs"}, wantOut: `
NAME       READY   STATUS             RESTARTS      AGE
worker-0   1/2     CrashLoopBackOff   12 (5h ago)   3m
`},
		{name: "get TYPE/NAME", args: []string{"get", "pod/web", "-o", "name"}, wantOut: "\npod/web\n"},
		{name: "get names", args: []string{"get", "pods", "-o", "name"}, wantOut: "\npod/web-7d4b9c-x2x9k\npod/web\n"},
		{name: "get yaml of one pod", args: []string{"get", "pods", "web", "-o", "yaml"}, contains: []string{
			"apiVersion: v1\n", "kind: Pod\n", "  name: web\n", "  namespace: default\n", "podIP: 10.244.1.5\n",
		}},
		{name: "get missing pod", args: []string{"get", "pods", "nope"}, wantCode: 1,
			errHas: []string{"Error: pod default/nope: not found"}},
		{name: "get empty namespace", args: []string{"get", "pods", "-n", "empty"}, wantOut: "\n",
			errHas: []string{"No resources found in empty namespace."}},
		{name: "get other resource", args: []string{"get", "configmaps"}, wantCode: 2,
			errHas: []string{`unknown resource type "configmaps"`, "services (services, service, svc)"}},
		{name: "get bad output", args: []string{"get", "pods", "-o", "xml"}, wantCode: 2, errHas: []string{"-o \"xml\""}},
		{name: "get by name across namespaces", args: []string{"get", "pods", "web", "-A"}, wantCode: 2, errHas: []string{"drop -A"}},
		{name: "describe", args: []string{"describe", "pod", "web"}, contains: []string{
			"Name:             web\n", "Namespace:        default\n", "    Last State:     Terminated\n      Reason:       OOMKilled\n      Exit Code:    137\n",
			"Restart Count:  1\n", "  Ready         True \n", "    Type:       EmptyDir",
		}},
		{name: "describe missing", args: []string{"describe", "pod", "nope"}, wantCode: 1, errHas: []string{"not found"}},
		{name: "logs", args: []string{"logs", "web", "-c", "web", "--tail", "2", "--timestamps", "--since", "5m", "-p"},
			wantOut: "\nlog of default/web\nsecond line\n",
			then:    logOpts(api.LogOptions{Container: "web", TailLines: 2, Timestamps: true, Since: 5 * time.Minute, Previous: true})},
		{name: "logs container argument", args: []string{"logs", "-n", "shop", "cart-0", "app"},
			wantOut: "\nlog of shop/cart-0\nsecond line\n", then: logOpts(api.LogOptions{Container: "app", TailLines: -1})},
		{name: "logs missing pod", args: []string{"logs", "nope"}, wantCode: 2, errHas: []string{"pod default/nope: not found"}},
		{name: "exec with stdin", args: []string{"exec", "-i", "web", "--", "cat"}, stdin: "hello\n", wantOut: "\nhello\n"},
		{name: "exec without -i sends no stdin", args: []string{"exec", "web", "--", "cat"}, stdin: "hello\n", wantOut: "\n"},
		{name: "exec exit code", args: []string{"exec", "web", "--", "exit", "3"}, wantCode: 3, errHas: []string{"exiting with 3"}},
		{name: "exec -it without a terminal", args: []string{"exec", "-it", "web", "--", "cat"}, stdin: "x", wantOut: "\nx",
			errHas: []string{"Unable to use a TTY"}},
		{name: "exec without --", args: []string{"exec", "web", "ls"}, wantCode: 2, errHas: []string{"put the command after --"}},
		{name: "exec without command", args: []string{"exec", "web", "--"}, wantCode: 2, errHas: []string{"exec needs a command"}},
		{name: "exec missing pod", args: []string{"exec", "nope", "--", "ls"}, wantCode: 2, errHas: []string{"not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// clientCase is one run of the client commands and what it must print.
type clientCase struct {
	name     string
	args     []string
	wantCode int
	wantOut  string   // the whole stdout, when set (a leading newline dropped)
	contains []string // in stdout, runs of spaces taken as one
	lacks    []string // not in stdout
	errHas   []string // in stderr
	stdin    string
	then     func(t *testing.T) // more checks, after the run
}

// run runs the case's command line in-process and checks what it printed.
func (tt clientCase) run(t *testing.T) {
	t.Helper()
	out, errOut, code := runClient(t, strings.NewReader(tt.stdin), tt.args...)
	if code != tt.wantCode {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
	}
	if tt.wantOut != "" && out != strings.TrimPrefix(tt.wantOut, "\n") {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, strings.TrimPrefix(tt.wantOut, "\n"))
	}
	for _, w := range tt.contains {
		if !strings.Contains(squeeze(out), squeeze(w)) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	for _, w := range tt.lacks {
		if strings.Contains(out, w) {
			t.Errorf("stdout has %q:\n%s", w, out)
		}
	}
	for _, w := range tt.errHas {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if tt.then != nil {
		tt.then(t)
	}
}

// squeeze makes every run of spaces one space, for assertions on aligned
// text that do not depend on the alignment.
func squeeze(s string) string { return spaces.ReplaceAllString(s, " ") }

var spaces = regexp.MustCompile(` {2,}`)

// getList runs a `get -o json` command line and reads the List it prints.
func getList[T any](t *testing.T, args ...string) (kind string, items []T) {
	t.Helper()
	out, errOut, code := runClient(t, nil, args...)
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	var list struct {
		Kind  string
		Items []T
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	return list.Kind, list.Items
}

func TestClientJSONList(t *testing.T) {
	startAPI(t)
	kind, items := getList[corev1.Pod](t, "get", "pods", "-A", "-o", "json")
	if kind != "List" || len(items) != 4 || items[0].Kind != "Pod" {
		t.Errorf("list kind %q, %d items", kind, len(items))
	}
}

func TestClientServerFlags(t *testing.T) {
	startAPI(t)
	// A wrong token on the command line wins over SHOAL_TOKEN.
	_, errOut, code := runClient(t, nil, "get", "pods", "--token", "wrong")
	if code != 2 || !strings.Contains(errOut, "bearer token") {
		t.Errorf("wrong token: code %d, %s", code, errOut)
	}
	// So does --server; nothing listens on port 1 of loopback.
	_, errOut, code = runClient(t, nil, "get", "pods", "--server", "127.0.0.1:1")
	if code != 2 || !strings.Contains(errOut, "127.0.0.1:1") || !strings.Contains(errOut, "--server or SHOAL_SERVER") {
		t.Errorf("unreachable server: code %d, %s", code, errOut)
	}
	// Without SHOAL_SERVER the default is the local node.
	t.Setenv("SHOAL_SERVER", "")
	var o connectOptions
	c, err := o.client()
	if err != nil || c.Server() != "http://"+defaultServer {
		t.Errorf("default server %v %v", c, err)
	}
}

func TestClientCommandsJoinRoot(t *testing.T) {
	root := newRootCommand()
	have := map[string]bool{}
	for _, c := range root.Commands() {
		have[c.Name()] = true
	}
	for _, c := range clientCommands() {
		if have[c.Name()] {
			continue // already wired into the root
		}
		root.AddCommand(c)
	}
	for _, name := range []string{"get", "describe", "logs", "exec"} {
		c, _, err := root.Find([]string{name})
		if err != nil || c.Name() != name {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestExecTTY runs `exec -it` on a real pseudo-terminal: raw mode while it
// runs, the size sent at start and after SIGWINCH, the mode restored after.
func TestExecTTY(t *testing.T) {
	f := startAPI(t)
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() {
		ptm.Close() // ends the exec stdin reader still blocked on pts
		pts.Close()
	})
	if err := pty.Setsize(ptm, &pty.Winsize{Cols: 80, Rows: 24}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		out, errOut string
		code        int
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, code := runClient(t, pts, "exec", "-it", "web", "--", "tty")
		done <- result{out, errOut, code}
	}()
	waitSize := func(want api.TermSize) {
		t.Helper()
		select {
		case s := <-f.sizes:
			if s != want {
				t.Fatalf("size %+v, want %+v", s, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("size %+v did not arrive", want)
		}
	}
	waitSize(api.TermSize{Width: 80, Height: 24})
	ptsFd, _ := terminalFd(pts)
	tios, err := unix.IoctlGetTermios(ptsFd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tios.Lflag&(unix.ICANON|unix.ECHO) != 0 {
		t.Error("terminal not in raw mode during exec")
	}
	if err := pty.Setsize(ptm, &pty.Winsize{Cols: 120, Rows: 40}); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGWINCH)
	waitSize(api.TermSize{Width: 120, Height: 40})
	ptm.Write([]byte("q"))
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("exec did not end")
	}
	if r.code != 0 || r.out != "bye\r\n" {
		t.Errorf("code %d, stdout %q, stderr %q", r.code, r.out, r.errOut)
	}
	if !f.lastExecOpts().TTY {
		t.Error("the service was not asked for a terminal")
	}
	tios, err = unix.IoctlGetTermios(ptsFd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tios.Lflag&unix.ICANON == 0 || tios.Lflag&unix.ECHO == 0 {
		t.Error("terminal mode not restored after exec")
	}
}
