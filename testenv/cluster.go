package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shoal-run/shoal/gossip"
)

// ReadyMode says what StartCluster waits for once the agents run.
type ReadyMode int

const (
	// ReadyMembers waits until every node's API answers
	// GET /api/v1/status (with the token) and reports every node alive.
	ReadyMembers ReadyMode = iota
	// ReadyAPI waits until every node's API answers GET /api/v1/status
	// with 200, whatever it reports (for stand-in agents).
	ReadyAPI
	// ReadyNone does not wait.
	ReadyNone
)

// ParseReadyMode parses "members", "api" or "none".
func ParseReadyMode(s string) (ReadyMode, error) {
	switch s {
	case "members", "":
		return ReadyMembers, nil
	case "api":
		return ReadyAPI, nil
	case "none":
		return ReadyNone, nil
	}
	return 0, fmt.Errorf("wait mode %q: use members, api or none", s)
}

// Config is a rig to start. Zero fields take DefaultConfig's values.
type Config struct {
	// Dir holds the rig's state, secrets, logs, Git repository and the
	// nodes' data folders. Required; made if missing; must not hold a rig
	// that is up.
	Dir string
	// Nodes is the number of nodes (1..MaxNodes); default 3.
	Nodes int
	// Names are the nodes' names (default node1..nodeN). When set, its
	// length is the number of nodes.
	Names []string
	// Binary is the shoal binary: it runs the agents (unless AgentCommand
	// says otherwise), the serve daemon, the post-receive hook and
	// `shoal down`. Required.
	Binary string
	// AgentCommand replaces [Binary, "agent"] as the argv prefix that
	// starts an agent; the agent flags follow it. For stand-in agents.
	AgentCommand []string
	// ExtraAgentArgs are appended to every agent's flags.
	ExtraAgentArgs []string
	// ModuleRoot is a shoal source tree: with it the registry also gets
	// docker.io/library/testapp:test (built with the go command).
	ModuleRoot string
	// Labels adds node labels, by node name, to kubernetes.io/hostname.
	Labels map[string]map[string]string
	// NotReconciler names nodes started with --reconciler=false.
	NotReconciler []string
	// GitPollInterval is the agents' --git-poll-interval; default 5s.
	GitPollInterval time.Duration
	// Ready is what StartCluster waits for; ReadyTimeout bounds the wait
	// (default 2 minutes).
	Ready        ReadyMode
	ReadyTimeout time.Duration
	// InProcessServers runs the Git server and registry in the calling
	// process (they stop with it, or with Down) instead of as a
	// `shoal testenv serve` daemon.
	InProcessServers bool
	// Logger gets the rig's progress; default slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns a three-node rig's config; the caller sets Dir
// and Binary.
func DefaultConfig() Config {
	return Config{Nodes: 3, GitPollInterval: 5 * time.Second, ReadyTimeout: 2 * time.Minute}
}

var nodeNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

// withDefaults fills in zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.Dir == "" {
		return c, errors.New("testenv: Config.Dir is required (the rig's folder)")
	}
	abs, err := filepath.Abs(c.Dir)
	if err != nil {
		return c, err
	}
	c.Dir = abs
	if c.Binary == "" {
		return c, errors.New("testenv: Config.Binary is required (the shoal binary)")
	}
	if c.Binary, err = filepath.Abs(c.Binary); err != nil {
		return c, err
	}
	if _, err := os.Stat(c.Binary); err != nil {
		return c, fmt.Errorf("testenv: shoal binary: %w", err)
	}
	if len(c.Names) == 0 {
		if c.Nodes == 0 {
			c.Nodes = d.Nodes
		}
		for i := 1; i <= c.Nodes; i++ {
			c.Names = append(c.Names, "node"+strconv.Itoa(i))
		}
	}
	c.Nodes = len(c.Names)
	if c.Nodes < 1 || c.Nodes > MaxNodes {
		return c, fmt.Errorf("testenv: %d nodes: a rig has 1 to %d", c.Nodes, MaxNodes)
	}
	seen := map[string]bool{}
	for _, n := range c.Names {
		if !nodeNameRE.MatchString(n) {
			return c, fmt.Errorf("testenv: node name %q: use lower-case letters, digits and dashes (at most 40)", n)
		}
		if seen[n] {
			return c, fmt.Errorf("testenv: node name %q given twice", n)
		}
		seen[n] = true
	}
	for _, n := range c.NotReconciler {
		if !seen[n] {
			return c, fmt.Errorf("testenv: NotReconciler names %q, which is not a node", n)
		}
	}
	if len(c.AgentCommand) == 0 {
		c.AgentCommand = []string{c.Binary, "agent"}
	}
	if c.GitPollInterval == 0 {
		c.GitPollInterval = d.GitPollInterval
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = d.ReadyTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// GitUser is the Git server's user name.
const GitUser = "shoal"

// Cluster is a rig: a handle on its folder. Every method that changes the
// rig takes the folder's lock and re-reads the state file, so that Go
// tests and `shoal testenv` verbs in other processes can act on one rig.
type Cluster struct {
	dir string
	log *slog.Logger

	mu      sync.Mutex
	st      *State   // as last read or written
	servers *servers // when run in-process
}

// Load returns a handle on the rig in dir, made by StartCluster or
// `shoal testenv up`.
func Load(dir string) (*Cluster, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := LoadState(abs)
	if err != nil {
		return nil, err
	}
	return &Cluster{dir: abs, st: st, log: slog.Default().With("component", "testenv", "dir", abs)}, nil
}

// StartCluster makes a rig as cfg says and returns once it is ready
// (cfg.Ready): the lab network and namespaces, the secrets, the Git
// repository with its hook, the Git server and registry (preloaded), the
// agents, and DIR/env. On failure it takes down what it made (logs stay)
// and says why.
func StartCluster(ctx context.Context, cfg Config) (*Cluster, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("testenv: a rig needs root (network namespaces, veths, cgroups)")
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(cfg.Dir, StateFile)); err == nil {
		return nil, fmt.Errorf("testenv: %s already holds a rig: take it down first (shoal testenv down --dir %s)", cfg.Dir, cfg.Dir)
	}
	c := &Cluster{dir: cfg.Dir, log: cfg.Logger.With("component", "testenv", "dir", cfg.Dir)}
	if err := c.start(ctx, cfg); err != nil {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
		defer cancel()
		if derr := c.down(dctx); derr != nil {
			c.log.Error("taking down the half-made rig failed: run shoal testenv down", "err", derr)
		}
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, cfg Config) error {
	start := time.Now()
	if err := writeSecrets(cfg.Dir); err != nil {
		return err
	}
	st := &State{
		Version:      stateVersion,
		Dir:          cfg.Dir,
		Binary:       cfg.Binary,
		AgentCommand: cfg.AgentCommand,
		GitUser:      GitUser,
		GitRoot:      filepath.Join(cfg.Dir, "git"),
	}
	_, err := claimLab(func(k int, labNS string) error {
		st.Index = k
		st.LabNetNS = labNS
		st.HostAddr = hostAddr(k)
		st.HostLink = hostLinkName(k)
		st.CgroupParent = fmt.Sprintf("/shoal/lab%d", k)
		for i, name := range cfg.Names {
			addr := nodeAddr(k, i+1)
			st.Nodes = append(st.Nodes, NodeState{
				Name:    name,
				Addr:    addr,
				NetNS:   filepath.Join(NetNSDir, nodeNetNSName(k, name)),
				LabLink: labLinkName(i + 1),
				API:     net.JoinHostPort(addr, strconv.Itoa(APIPort)),
				Gossip:  net.JoinHostPort(addr, strconv.Itoa(GossipPort)),
				DataDir: filepath.Join(cfg.Dir, "nodes", name),
			})
		}
		c.st = st
		return st.Save()
	})
	if err != nil {
		return err
	}
	c.log.Info("lab claimed", "index", st.Index, "subnet", labSubnet(st.Index).String())
	if err := buildLab(st); err != nil {
		return fmt.Errorf("testenv: build the lab network: %w", err)
	}

	// The Git repository and its hook.
	repo := filepath.Join(st.GitRoot, RepoName)
	if _, err := os.Stat(repo); errors.Is(err, fs.ErrNotExist) {
		if _, err := InitBareRepo(st.GitRoot, RepoName); err != nil {
			return fmt.Errorf("testenv: make %s: %w", repo, err)
		}
	}
	if err := installHook(repo, cfg.Binary, cfg.Dir); err != nil {
		return fmt.Errorf("testenv: install the post-receive hook: %w", err)
	}

	if err := c.startServers(ctx, st, cfg.InProcessServers); err != nil {
		return err
	}
	pushed, err := preloadRegistry(ctx, st.RegistryAddr, cfg.ModuleRoot)
	if err != nil {
		return err
	}
	c.log.Info("servers up", "git", st.GitAddr, "registry", st.RegistryAddr, "images", pushed)

	for i := range st.Nodes {
		n := &st.Nodes[i]
		if err := os.MkdirAll(n.DataDir, 0o755); err != nil {
			return err
		}
		n.Args = append(append([]string(nil), cfg.AgentCommand...), AgentArgs(cfg, st, i)...)
		pid, err := startAgent(n)
		if err != nil {
			return fmt.Errorf("testenv: node %s: %w", n.Name, err)
		}
		n.PID = pid
		if err := st.Save(); err != nil {
			return err
		}
		if i == 0 && len(st.Nodes) > 1 {
			// node1 listens before the others start, so that it starts
			// first and leads (the earliest start wins the election).
			if err := waitListening(ctx, n, 60*time.Second); err != nil {
				return err
			}
		}
	}
	env, err := c.Env()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(cfg.Dir, EnvFile), []byte(env.Render()), 0o600); err != nil {
		return err
	}
	if err := c.waitReady(ctx, cfg.Ready, cfg.ReadyTimeout); err != nil {
		return err
	}
	c.log.Info("rig ready", "nodes", len(st.Nodes), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// writeSecrets writes a fresh cluster key (as shoal keygen does), API
// token, webhook secret and Git password into dir, readable by the owner
// only. The token, secret and password files hold one line of hex without
// a newline.
func writeSecrets(dir string) error {
	key, err := gossip.GenerateKey()
	if err != nil {
		return err
	}
	keyPath := filepath.Join(dir, ClusterKeyFile)
	if err := os.Remove(keyPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := gossip.WriteKeyFile(keyPath, key); err != nil {
		return err
	}
	for _, f := range []string{TokenFile, WebhookSecretFile, GitPasswordFile} {
		if err := writeFileAtomic(filepath.Join(dir, f), []byte(randomHex(16)), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// AgentArgs returns the flags of node i's agent (0-based), per the agent's
// command-line contract. st must have GitAddr and RegistryAddr set.
func AgentArgs(cfg Config, st *State, i int) []string {
	n := st.Nodes[i]
	labels := map[string]string{"kubernetes.io/hostname": n.Name}
	for k, v := range cfg.Labels[n.Name] {
		labels[k] = v
	}
	reconciler := true
	for _, name := range cfg.NotReconciler {
		if name == n.Name {
			reconciler = false
		}
	}
	args := []string{
		"--name", n.Name,
		"--bind", n.Gossip,
		"--advertise", n.Gossip,
		"--api", n.API,
	}
	// Every node joins every other: the agent keeps retrying until one
	// answers, so any node can be restarted, in any order.
	for j, o := range st.Nodes {
		if j != i {
			args = append(args, "--join", o.Gossip)
		}
	}
	args = append(args,
		"--data-dir", n.DataDir,
		"--labels", strings.Join(sortedLabels(labels), ","),
		"--cluster-key-file", filepath.Join(st.Dir, ClusterKeyFile),
		"--token-file", filepath.Join(st.Dir, TokenFile),
		"--repo", "http://"+st.GitAddr+"/"+RepoName,
		"--branch", "main",
		"--path", ".",
		"--repo-user", st.GitUser,
		"--repo-password-file", filepath.Join(st.Dir, GitPasswordFile),
		"--webhook-secret-file", filepath.Join(st.Dir, WebhookSecretFile),
		"--registry-mirror", "docker.io=http://"+st.RegistryAddr,
		"--cgroup-parent", st.CgroupParent+"/"+n.Name,
		"--reconciler="+strconv.FormatBool(reconciler),
		"--git-poll-interval", cfg.GitPollInterval.String(),
	)
	if pool, ok := LBPool(st.HostAddr); ok {
		args = append(args, "--lb-pool", pool.String())
	}
	return append(args, cfg.ExtraAgentArgs...)
}

// LBPool is the rig's load-balancer pool: the top /28 of the lab network
// whose root-namespace address is hostAddr (10.250.k.240/28), announced
// on the lab link by the nodes. ok is false for an address that is not a
// rig's.
func LBPool(hostAddr string) (netip.Prefix, bool) {
	a, err := netip.ParseAddr(hostAddr)
	if err != nil || !a.Is4() {
		return netip.Prefix{}, false
	}
	b := a.As4()
	b[3] = 240
	return netip.PrefixFrom(netip.AddrFrom4(b), 28), true
}

// agentMarker identifies a node's agent in /proc/PID/cmdline.
func agentMarker(n *NodeState) []string { return []string{"--data-dir", n.DataDir} }

// serveMarker identifies the serve daemon of dir.
func serveMarker(dir string) []string { return []string{"testenv", "serve", "--dir", dir} }

// startAgent starts n.Args inside the node's network namespace (nsenter
// --net changes only that namespace; `ip netns exec` would remount /sys
// and hide the cgroup mounts), appending to DATA/agent.log.
func startAgent(n *NodeState) (int, error) {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return 0, errors.New("nsenter not found: install util-linux")
	}
	argv := append([]string{nsenter, "--net=" + n.NetNS, "--"}, n.Args...)
	return startDetached(argv, cleanEnv(), filepath.Join(n.DataDir, "agent.log"))
}

// waitListening waits until the node's gossip port accepts connections
// (from the root namespace), failing early if the agent exits.
func waitListening(ctx context.Context, n *NodeState, timeout time.Duration) error {
	err := poll(ctx, timeout, 20*time.Millisecond, func() error {
		conn, err := net.DialTimeout("tcp", n.Gossip, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if !pidRunning(n.PID) { // just started by this call: ours
			log := filepath.Join(n.DataDir, "agent.log")
			return permanent{fmt.Errorf("the agent of %s is not running; %s ends with:\n%s", n.Name, log, tail(log, 2000))}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("testenv: %s does not listen for gossip on %s: %w", n.Name, n.Gossip, err)
	}
	return nil
}

// cleanEnv is this process's environment without SHOAL_* variables (a
// sourced env file of another rig must not leak into this one's agents).
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHOAL_") {
			env = append(env, kv)
		}
	}
	return env
}

// startServers starts the Git server and registry, in-process or as the
// serve daemon, and waits until both answer.
func (c *Cluster) startServers(ctx context.Context, st *State, inProcess bool) error {
	if err := st.Save(); err != nil {
		return err
	}
	if inProcess {
		s, err := startServers(st, io.Discard)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.servers = s
		c.mu.Unlock()
		st.GitAddr, st.RegistryAddr = s.gitAddr(), s.regAddr
	} else {
		_ = os.Remove(filepath.Join(st.Dir, ServeFile))
		logPath := filepath.Join(st.Dir, ServeLog)
		pid, err := startDetached(append([]string{st.Binary}, serveMarker(st.Dir)...), cleanEnv(), logPath)
		if err != nil {
			return err
		}
		st.ServePID = pid
		if err := st.Save(); err != nil {
			return err
		}
		var info serveInfo
		err = poll(ctx, 30*time.Second, 20*time.Millisecond, func() error {
			b, err := os.ReadFile(filepath.Join(st.Dir, ServeFile))
			if err == nil {
				return json.Unmarshal(b, &info)
			}
			if !pidRunning(pid) { // just started: ours
				return permanent{fmt.Errorf("the serve daemon exited; %s ends with:\n%s", logPath, tail(logPath, 2000))}
			}
			return fmt.Errorf("the serve daemon did not write %s", ServeFile)
		})
		if err != nil {
			return fmt.Errorf("testenv: start the Git server and registry: %w", err)
		}
		st.GitAddr, st.RegistryAddr = info.GitAddr, info.RegistryAddr
	}
	if err := st.Save(); err != nil {
		return err
	}
	pw, err := readSecret(filepath.Join(st.Dir, GitPasswordFile))
	if err != nil {
		return err
	}
	if err := poll(ctx, 30*time.Second, 20*time.Millisecond, func() error {
		return checkServers(ctx, st.GitAddr, st.RegistryAddr, st.GitUser, pw)
	}); err != nil {
		return fmt.Errorf("testenv: the Git server and registry do not answer: %w", err)
	}
	return nil
}

// Dir returns the rig's folder.
func (c *Cluster) Dir() string { return c.dir }

// State returns the rig's state as last read.
func (c *Cluster) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return *c.st
}

// Nodes returns the nodes in order.
func (c *Cluster) Nodes() []NodeState {
	st := c.State()
	return append([]NodeState(nil), st.Nodes...)
}

// Node returns node i, counting from 1 (Node(1) is node1). It panics when
// there is no such node, like an index out of range.
func (c *Cluster) Node(i int) NodeState { return c.Nodes()[i-1] }

// NodeNames returns the nodes' names in order.
func (c *Cluster) NodeNames() []string {
	var names []string
	for _, n := range c.Nodes() {
		names = append(names, n.Name)
	}
	return names
}

// APIAddr returns the named node's API address (host:port), "" when there
// is no such node.
func (c *Cluster) APIAddr(name string) string {
	st := c.State()
	n, err := st.Node(name)
	if err != nil {
		return ""
	}
	return n.API
}

// HostAddr returns the root namespace's address in the lab (10.250.k.1).
func (c *Cluster) HostAddr() string { return c.State().HostAddr }

// Token returns the API bearer token.
func (c *Cluster) Token() string { s, _ := readSecret(filepath.Join(c.dir, TokenFile)); return s }

// WebhookSecret returns the webhook secret.
func (c *Cluster) WebhookSecret() string {
	s, _ := readSecret(filepath.Join(c.dir, WebhookSecretFile))
	return s
}

// GitURL returns the cluster repository's clone URL with the credentials
// in it, for plain git from the root namespace.
func (c *Cluster) GitURL() string {
	st := c.State()
	pw, _ := readSecret(filepath.Join(c.dir, GitPasswordFile))
	return "http://" + st.GitUser + ":" + pw + "@" + st.GitAddr + "/" + RepoName
}

// Registry returns the registry's host:port.
func (c *Cluster) Registry() string { return c.State().RegistryAddr }

// Env returns what DIR/env exports.
func (c *Cluster) Env() (Env, error) {
	st := c.State()
	e := Env{GitURL: c.GitURL(), Registry: st.RegistryAddr, Token: c.Token(), Dir: st.Dir}
	for _, n := range st.Nodes {
		e.Servers = append(e.Servers, n.API)
		e.Nodes = append(e.Nodes, n.Name)
	}
	if len(e.Servers) > 0 {
		e.Server = e.Servers[0]
	}
	if e.Token == "" || st.GitAddr == "" {
		return e, fmt.Errorf("testenv: the rig in %s is not fully up (no token or no Git server)", st.Dir)
	}
	return e, nil
}

// update runs fn on the freshly read state under the folder's lock and
// saves the state when fn succeeds.
func (c *Cluster) update(fn func(st *State) error) error {
	unlock, err := lockDir(c.dir)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := LoadState(c.dir)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.st = st
	c.mu.Unlock()
	if err := fn(st); err != nil {
		return err
	}
	return st.Save()
}

// Running reports whether the named node's agent runs.
func (c *Cluster) Running(name string) (bool, error) {
	st, err := LoadState(c.dir)
	if err != nil {
		return false, err
	}
	n, err := st.Node(name)
	if err != nil {
		return false, err
	}
	return procAlive(n.PID, agentMarker(n)), nil
}

// Kill SIGKILLs the named node's agent (only if its recorded PID is still
// that agent) and waits until it is gone. Its pods keep running.
func (c *Cluster) Kill(ctx context.Context, name string) error {
	return c.update(func(st *State) error {
		n, err := st.Node(name)
		if err != nil {
			return err
		}
		if err := stopProc(ctx, n.PID, agentMarker(n), 0); err != nil {
			return fmt.Errorf("kill the agent of %s: %w", name, err)
		}
		c.log.Info("agent killed", "node", name, "pid", n.PID)
		return nil
	})
}

// AgentStopGrace is how long Restart and Down wait after SIGTERM before
// SIGKILL.
const AgentStopGrace = 15 * time.Second

// Restart stops the named node's agent if it runs (SIGTERM, then SIGKILL
// after AgentStopGrace) and starts it again with the same arguments. It
// does not wait for the agent to be ready (see WaitReady).
func (c *Cluster) Restart(ctx context.Context, name string) error {
	return c.update(func(st *State) error {
		n, err := st.Node(name)
		if err != nil {
			return err
		}
		if len(n.Args) == 0 {
			return fmt.Errorf("node %s was never started (no recorded arguments)", name)
		}
		if err := stopProc(ctx, n.PID, agentMarker(n), AgentStopGrace); err != nil {
			return fmt.Errorf("stop the agent of %s: %w", name, err)
		}
		pid, err := startAgent(n)
		if err != nil {
			return err
		}
		c.log.Info("agent restarted", "node", name, "old", n.PID, "pid", pid)
		n.PID = pid
		return nil
	})
}

// Cut takes the named node off the lab network (its bridge port goes
// down): it reaches no node and nothing reaches it. Heal undoes it.
func (c *Cluster) Cut(name string) error { return c.setLink(name, false) }

// Heal puts a cut node back on the lab network.
func (c *Cluster) Heal(name string) error { return c.setLink(name, true) }

func (c *Cluster) setLink(name string, up bool) error {
	st, err := LoadState(c.dir)
	if err != nil {
		return err
	}
	n, err := st.Node(name)
	if err != nil {
		return err
	}
	return setLabLink(st, n, up)
}

// Command returns a command that runs argv in the named node's network
// namespace (only the network namespace: the file system is the host's).
func (c *Cluster) Command(ctx context.Context, name string, argv ...string) (*exec.Cmd, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command to run")
	}
	st := c.State()
	n, err := st.Node(name)
	if err != nil {
		return nil, err
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return nil, errors.New("nsenter not found: install util-linux")
	}
	return exec.CommandContext(ctx, nsenter, append([]string{"--net=" + n.NetNS, "--"}, argv...)...), nil
}

// Exec runs argv in the named node's network namespace and returns its
// combined output; a non-zero exit is an *exec.ExitError.
func (c *Cluster) Exec(ctx context.Context, name string, argv ...string) ([]byte, error) {
	cmd, err := c.Command(ctx, name, argv...)
	if err != nil {
		return nil, err
	}
	return cmd.CombinedOutput()
}

// Status is the part of a node's GET /api/v1/status the rig reads.
type Status struct {
	Leader struct {
		Name string `json:"name"`
		Term string `json:"term"` // like "node1@1767225600000000000"
	} `json:"leader"`
	Members []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"members"`
}

// Alive returns the number of members in state "alive".
func (s *Status) Alive() int {
	n := 0
	for _, m := range s.Members {
		if m.State == "alive" {
			n++
		}
	}
	return n
}

// NodeStatus asks the named node for its status.
func (c *Cluster) NodeStatus(ctx context.Context, name string) (*Status, error) {
	addr := c.APIAddr(name)
	if addr == "" {
		return nil, fmt.Errorf("no node %q", name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/status", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token())
	resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: GET /api/v1/status: %s: %s", name, resp.Status, strings.TrimSpace(string(b)))
	}
	var s Status
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: status is not the JSON expected: %w", name, err)
	}
	return &s, nil
}

// WaitReady polls every node until mode is met or timeout passes.
func (c *Cluster) WaitReady(ctx context.Context, mode ReadyMode, timeout time.Duration) error {
	return c.waitReady(ctx, mode, timeout)
}

func (c *Cluster) waitReady(ctx context.Context, mode ReadyMode, timeout time.Duration) error {
	if mode == ReadyNone {
		return nil
	}
	nodes := c.Nodes()
	err := poll(ctx, timeout, 100*time.Millisecond, func() error {
		for i := range nodes {
			n := &nodes[i]
			s, err := c.NodeStatus(ctx, n.Name)
			if err != nil {
				if !pidRunning(n.PID) { // the recorded agent (started moments ago)
					log := filepath.Join(n.DataDir, "agent.log")
					return permanent{fmt.Errorf("the agent of %s is not running; %s ends with:\n%s", n.Name, log, tail(log, 2000))}
				}
				return err
			}
			if mode == ReadyMembers && s.Alive() != len(nodes) {
				return fmt.Errorf("%s sees %d of %d members alive", n.Name, s.Alive(), len(nodes))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("testenv: the cluster is not ready (agent logs are in %s/nodes/*/agent.log): %w", c.dir, err)
	}
	return nil
}

// Down takes the rig down: it stops every agent (SIGTERM, SIGKILL after
// AgentStopGrace), runs `shoal down --data-dir` for each node inside its
// namespace (a failure there is logged, not returned), stops the servers,
// removes the links, namespaces and the rig's cgroups, and removes the
// runtime state files. Logs, node data, the Git repository and secrets
// stay. It is idempotent: Down of a half-made rig or of no rig works.
func (c *Cluster) Down(ctx context.Context) error {
	unlock, err := lockDir(c.dir)
	if err != nil {
		return err
	}
	defer unlock()
	return c.down(ctx)
}

func (c *Cluster) down(ctx context.Context) error {
	st, err := LoadState(c.dir)
	if errors.Is(err, ErrNoRig) {
		c.closeServers()
		return nil
	}
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(st.Nodes))
	for i := range st.Nodes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			n := &st.Nodes[i]
			if err := stopProc(ctx, n.PID, agentMarker(n), AgentStopGrace); err != nil {
				errs[i] = fmt.Errorf("stop the agent of %s: %w", n.Name, err)
			}
		}(i)
	}
	wg.Wait()
	for i := range st.Nodes {
		if errs[i] == nil {
			c.nodeDown(ctx, st, &st.Nodes[i])
		}
	}
	if st.ServePID != 0 {
		if err := stopProc(ctx, st.ServePID, serveMarker(st.Dir), 5*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("stop the serve daemon: %w", err))
		}
	}
	c.closeServers()
	if err := teardownLab(st); err != nil {
		errs = append(errs, err)
	}
	if err := removeCgroups(st.CgroupParent); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("testenv: down of %s is incomplete (run it again after fixing): %w", c.dir, err)
	}
	for _, f := range []string{ServeFile, EnvFile, "registry", StateFile} {
		if err := os.RemoveAll(filepath.Join(c.dir, f)); err != nil {
			return err
		}
	}
	c.log.Info("rig down", "index", st.Index)
	return nil
}

// nodeDown runs `shoal down --data-dir` for a node inside its namespace,
// so that its containers, mounts and cgroups go. Its output goes to
// DATA/down.log; a failure is logged only.
func (c *Cluster) nodeDown(ctx context.Context, st *State, n *NodeState) {
	if _, err := os.Stat(n.NetNS); err != nil {
		return
	}
	if _, err := os.Stat(n.DataDir); err != nil {
		return
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		c.log.Warn("shoal down skipped: no nsenter", "node", n.Name)
		return
	}
	logPath := filepath.Join(n.DataDir, "down.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.log.Warn("shoal down skipped", "node", n.Name, "err", err)
		return
	}
	defer logf.Close()
	dctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(dctx, nsenter, "--net="+n.NetNS, "--", st.Binary, "down", "--data-dir", n.DataDir)
	cmd.Stdout, cmd.Stderr, cmd.Env = logf, logf, cleanEnv()
	if err := cmd.Run(); err != nil {
		c.log.Warn("shoal down of a node failed: containers or cgroups may be left", "node", n.Name, "err", err, "log", logPath)
	}
}

func (c *Cluster) closeServers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.servers != nil {
		c.servers.Close()
		c.servers = nil
	}
}
