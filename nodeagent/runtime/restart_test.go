package runtime_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/runtime"
)

const envSpecs = "SHOAL_RUNTIME_TEST_SPECS"

// TestHelperProcess is not a test: TestSurvivesAgentRestart runs it in a
// child process to play the first agent, which starts containers, reports
// them and is then killed with SIGKILL.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(envHelper) != "first-agent" {
		t.Skip("helper process for TestSurvivesAgentRestart")
	}
	rt, err := runtime.New(runtime.Config{
		Root: os.Getenv(envRoot), CgroupParent: os.Getenv(envCgroup), InitBinary: testInit, Logger: testLogger(),
	})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	var specs []runtime.ContainerSpec
	if err := json.Unmarshal([]byte(os.Getenv(envSpecs)), &specs); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	for _, s := range specs {
		st, err := rt.Start(context.Background(), s)
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		b, _ := json.Marshal(st)
		fmt.Printf("STATE %s\n", b)
	}
	fmt.Println("READY")
	// Wait to be killed (stdin stays open and silent).
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

// TestSurvivesAgentRestart: containers started by an agent that is then
// killed (-9) keep running and logging; a new agent on the same Root sees
// them, execs into and signals the running one, and gets the real exit code
// of the one that ended while no agent was there.
func TestSurvivesAgentRestart(t *testing.T) {
	requireRoot(t)
	suffix := randomSuffix()
	cfg := runtime.Config{Root: t.TempDir(), CgroupParent: "/shoal-rt-test-" + suffix, InitBinary: testInit, Logger: testLogger()}
	ticker := runtime.ContainerSpec{
		ID: "c" + suffix + "-ticker", Layers: []string{testRootfs}, Env: []string{"PATH=/bin"},
		Args: []string{"sh", "-c", `trap "echo got-usr1" USR1; while true; do echo tick; sleep 0.05; done`},
	}
	seven := runtime.ContainerSpec{
		ID: "c" + suffix + "-seven", Layers: []string{testRootfs}, Env: []string{"PATH=/bin"},
		Args: []string{"sh", "-c", "sleep 1000; echo leaving; exit 7"},
	}
	specsJSON, _ := json.Marshal([]runtime.ContainerSpec{ticker, seven})

	// The first agent.
	helper := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	helper.Env = append(os.Environ(), envHelper+"=first-agent", envRoot+"="+cfg.Root, envCgroup+"="+cfg.CgroupParent,
		envInit+"="+testInit, envRootfs+"="+testRootfs, envSpecs+"="+string(specsJSON))
	helper.Stderr = os.Stderr
	stdin, err := helper.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	// Whatever happens, the second agent cleans up what the first made.
	rt2Holder := &env{t: t, cfg: cfg}
	t.Cleanup(func() {
		_ = helper.Process.Kill()
		_ = helper.Wait()
		rt, err := runtime.New(cfg)
		if err != nil {
			t.Error(err)
			return
		}
		rt2Holder.cleanup(rt)
	})
	first := map[string]runtime.State{}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timeout := time.After(60 * time.Second)
read:
	for {
		select {
		case line, ok := <-lines:
			switch {
			case !ok:
				t.Fatal("first agent ended before READY")
			case line == "READY":
				break read
			case strings.HasPrefix(line, "STATE "):
				var st runtime.State
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "STATE ")), &st); err != nil {
					t.Fatal(err)
				}
				first[st.ID] = st
			case strings.HasPrefix(line, "ERROR"):
				t.Fatalf("first agent: %s", line)
			}
		case <-timeout:
			t.Fatal("first agent did not start its containers")
		}
	}
	go func() {
		for range lines { // drain the rest of the helper's output
		}
	}()

	// kill -9 the agent.
	if err := helper.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	killedAt := time.Now()

	// With no agent: logs keep growing, and "seven" exits with 7 once its
	// sleep is killed from the host.
	logPath := func(id string) string { return cfg.Root + "/containers/" + id + "/shoal/log" }
	waitFor(t, 10*time.Second, "a log line written after the agent died", func() bool {
		recs := readLog(t, logPath(ticker.ID))
		return len(recs) > 0 && recs[len(recs)-1].Time.After(killedAt) && recs[len(recs)-1].Content == "tick"
	})
	sevenInit := first[seven.ID].Pid
	var sleepPid int
	waitFor(t, 10*time.Second, "the sleep of container seven", func() bool {
		for _, sh := range children(sevenInit) {
			for _, p := range children(sh) {
				sleepPid = p
				return true
			}
		}
		return false
	})
	if err := syscall.Kill(sleepPid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "container seven's init to end", func() bool {
		s := procState(sevenInit)
		return s == "" || s == "Z"
	})

	// The second agent.
	rt, err := runtime.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	list, err := rt.List()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]runtime.State{}
	for _, st := range list {
		got[st.ID] = st
	}
	if st := got[ticker.ID]; st.Status != runtime.Running || st.Pid != first[ticker.ID].Pid || !st.StartedAt.Equal(first[ticker.ID].StartedAt) {
		t.Errorf("re-adopted ticker: %+v, want running as %+v", st, first[ticker.ID])
	}
	if st := got[seven.ID]; st.Status != runtime.Exited || st.ExitCode != 7 || st.Reason != runtime.ReasonError || st.Signal != 0 {
		t.Errorf("container that exited with no agent: %+v, want exit code 7", st)
	}
	if !logHas(readLog(t, rt.LogPath(seven.ID)), "stdout", "leaving") {
		t.Error("container seven's last words are not in its log")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if st, err := rt.Wait(ctx, seven.ID); err != nil || st.ExitCode != 7 {
		t.Errorf("Wait on the exited container: %+v, %v", st, err)
	}

	e := &env{t: t, rt: rt, cfg: cfg}
	if code, out := e.exec(t, ticker.ID, "echo", "hello from agent 2"); code != 0 || out != "hello from agent 2\n" {
		t.Errorf("exec in the re-adopted container: %d %q", code, out)
	}
	if err := rt.Signal(ticker.ID, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the USR1 trap", func() bool { return logHas(readLog(t, logPath(ticker.ID)), "stdout", "got-usr1") })

	// Wait (poll-free, through a pidfd) sees the end of a re-adopted one.
	waited := make(chan runtime.State, 1)
	go func() {
		st, _ := rt.Wait(ctx, ticker.ID)
		waited <- st
	}()
	st, err := rt.Stop(ctx, ticker.ID, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != runtime.Exited || st.Signal != syscall.SIGTERM || st.ExitCode != 143 {
		t.Errorf("stopped re-adopted container: %+v, want killed by SIGTERM", st)
	}
	if w := <-waited; w != st {
		t.Errorf("Wait = %+v, Stop = %+v", w, st)
	}
	for _, id := range []string{ticker.ID, seven.ID} {
		if err := rt.Remove(id, runtime.RemoveOptions{}); err != nil {
			t.Fatal(err)
		}
		assertGone(t, e, id)
	}
	// Nothing left as a zombie of this process (it is the subreaper the
	// orphaned inits came to, and the second agent reaped them).
	for _, id := range []string{ticker.ID, seven.ID} {
		if s := procState(first[id].Pid); s == "Z" {
			t.Errorf("init of %s left as a zombie", id)
		}
	}
}
