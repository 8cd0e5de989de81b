package testenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Files a rig keeps in its folder. Logs, node data folders, the Git
// repository and the secrets outlive Down; the state, serve and env files
// are runtime state and go with it.
const (
	StateFile         = "testenv.json"
	ServeFile         = "serve.json"
	EnvFile           = "env"
	ClusterKeyFile    = "cluster.key"
	TokenFile         = "token"
	WebhookSecretFile = "webhook.secret"
	GitPasswordFile   = "git.password"
	ServeLog          = "serve.log"
	lockFile          = "testenv.lock"
)

// stateVersion is the format of StateFile; Load refuses others.
const stateVersion = 1

// State is everything the verbs acting on a running rig need, kept as JSON
// in DIR/testenv.json. It is written when a rig's lab index is claimed and
// updated as the rig is made, so that Down also undoes a half-made rig.
type State struct {
	Version int    `json:"version"`
	Dir     string `json:"dir"`
	// Index is the lab index k: the rig's subnet is 10.250.k.0/24.
	Index int `json:"index"`
	// Binary is the shoal binary: agents, the serve daemon, the hook and
	// `shoal down` run it.
	Binary string `json:"binary"`
	// AgentCommand is the argv prefix that starts an agent (the agent's
	// flags follow it), normally [Binary, "agent"].
	AgentCommand []string `json:"agentCommand"`
	HostAddr     string   `json:"hostAddr"` // 10.250.k.1, on HostLink in the root namespace
	HostLink     string   `json:"hostLink"`
	LabNetNS     string   `json:"labNetns"`
	CgroupParent string   `json:"cgroupParent"` // /shoal/lab<k>; nodes below it
	GitUser      string   `json:"gitUser"`
	GitRoot      string   `json:"gitRoot"` // holds cluster.git
	// GitAddr and RegistryAddr are host:port, known once the servers run.
	GitAddr      string `json:"gitAddr,omitempty"`
	RegistryAddr string `json:"registryAddr,omitempty"`
	// ServePID is the serve daemon's; 0 when the servers run in-process.
	ServePID int         `json:"servePid,omitempty"`
	Nodes    []NodeState `json:"nodes"`
}

// NodeState is one node of a rig.
type NodeState struct {
	Name    string `json:"name"`
	Addr    string `json:"addr"`    // 10.250.k.(10+i), on eth0 in NetNS
	NetNS   string `json:"netns"`   // bind-mounted namespace path
	LabLink string `json:"labLink"` // the node's veth end in the lab namespace
	API     string `json:"api"`     // host:port of the node API
	Gossip  string `json:"gossip"`  // host:port of gossip
	DataDir string `json:"dataDir"`
	// Args are the agent's full argv (AgentCommand and flags), as Restart
	// starts it again.
	Args []string `json:"args,omitempty"`
	PID  int      `json:"pid,omitempty"`
}

// Node returns the named node, or an error naming the nodes there are.
func (s *State) Node(name string) (*NodeState, error) {
	var names []string
	for i := range s.Nodes {
		if s.Nodes[i].Name == name {
			return &s.Nodes[i], nil
		}
		names = append(names, s.Nodes[i].Name)
	}
	return nil, fmt.Errorf("no node %q in the rig at %s (nodes: %s)", name, s.Dir, strings.Join(names, ", "))
}

// LoadState reads dir's state file. A missing file is ErrNoRig.
func LoadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s (no %s: start one with shoal testenv up --dir %s)", ErrNoRig, dir, StateFile, dir)
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, StateFile), err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("%s has format %d, this shoal reads %d: use the shoal that made the rig", filepath.Join(dir, StateFile), s.Version, stateVersion)
	}
	return &s, nil
}

// ErrNoRig is returned when a folder holds no rig.
var ErrNoRig = errors.New("no test rig")

// Save writes the state file atomically (a reader sees the old or the new
// state, never half of one).
func (s *State) Save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.Dir, StateFile), append(b, '\n'), 0o600)
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it over path.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Env is what DIR/env exports, for shells and tests.
type Env struct {
	Server   string   // node1's API, host:port
	Servers  []string // every node's API, in node order
	Nodes    []string
	GitURL   string // http://USER:PASSWORD@10.250.k.1:PORT/cluster.git
	Registry string // 10.250.k.1:PORT
	Token    string
	Dir      string
}

// Vars returns the environment variables, in the order the env file lists
// them.
func (e Env) Vars() [][2]string {
	return [][2]string{
		{"SHOAL_SERVER", e.Server},
		{"SHOAL_SERVERS", strings.Join(e.Servers, " ")},
		{"SHOAL_NODES", strings.Join(e.Nodes, " ")},
		{"SHOAL_GIT_URL", e.GitURL},
		{"SHOAL_REGISTRY", e.Registry},
		{"SHOAL_TOKEN", e.Token},
		{"SHOAL_TESTENV_DIR", e.Dir},
	}
}

// Environ returns the variables as NAME=value, for exec.Cmd.Env.
func (e Env) Environ() []string {
	var out []string
	for _, kv := range e.Vars() {
		out = append(out, kv[0]+"="+kv[1])
	}
	return out
}

// Render returns the env file: POSIX shell, one `export NAME='value'` a
// line, values single-quoted so that any character survives.
func (e Env) Render() string {
	var b strings.Builder
	b.WriteString("# shoal test rig: . this file to talk to the cluster\n")
	for _, kv := range e.Vars() {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// lockDir takes an exclusive lock on dir's lock file, so that verbs of
// several processes acting on one rig take turns. The returned function
// releases it.
func lockDir(dir string) (func(), error) {
	return lockPath(filepath.Join(dir, lockFile))
}

// lockPath takes an exclusive flock on path (made if missing).
func lockPath(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// readSecret reads a one-line secret file, without surrounding white space.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("secret file %s is empty", path)
	}
	return s, nil
}

// sortedLabels renders labels as k=v,k=v sorted by key.
func sortedLabels(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+m[k])
	}
	return out
}
