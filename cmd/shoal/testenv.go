package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/shoal-run/shoal/testenv"
	"github.com/spf13/cobra"
)

// newTestenvCommand holds the test rig's helpers.
func newTestenvCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testenv",
		Short: "The multi-node test rig on one machine, and test images",
		Long: `Testenv runs a real multi-node shoal cluster on this machine (root needed):
each node is an agent in a network namespace of its own on a lab bridge
(10.250.k.0/24, no route out), with a Git remote and an OCI registry served
from the root namespace. "up" prints where things are and writes DIR/env
(. it in a shell); the other verbs act on the rig in --dir (default
$SHOAL_TESTENV_DIR).`,
	}
	var withApp string
	images := &cobra.Command{
		Use:   "images DIR",
		Short: "Write the test images (busybox from Debian's busybox-static, and the test app) as an OCI layout",
		Long: `Images writes shoal's test images into an OCI image layout at DIR, for
"shoal image import DIR": docker.io/library/busybox:test (from Debian's
busybox-static) and, with --testapp pointing at a shoal source tree (it needs
the go command), docker.io/library/testapp:test.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := ""
			if withApp != "" {
				abs, err := filepath.Abs(withApp)
				if err != nil {
					return err
				}
				if _, err := os.Stat(filepath.Join(abs, "testenv", "testapp")); err != nil {
					return fmt.Errorf("--testapp %s is not a shoal source tree: %w", withApp, err)
				}
				root = abs
			}
			names, err := testenv.WriteImages(cmd.Context(), args[0], root)
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", n)
			}
			return nil
		},
	}
	images.Flags().StringVar(&withApp, "testapp", "", "shoal source tree to build the test app from")
	cmd.AddCommand(images)
	cmd.AddCommand(testenvRigCommands()...)
	return cmd
}

// rigDir returns the rig folder: the --dir flag, else $SHOAL_TESTENV_DIR.
func rigDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("SHOAL_TESTENV_DIR")
	}
	if dir == "" {
		return "", errors.New("no rig folder: give --dir DIR (or set SHOAL_TESTENV_DIR, as DIR/env does)")
	}
	return filepath.Abs(dir)
}

// loadRig opens the rig in --dir.
func loadRig(dir string) (*testenv.Cluster, error) {
	d, err := rigDir(dir)
	if err != nil {
		return nil, err
	}
	return testenv.Load(d)
}

// testenvRigCommands are the rig's verbs: up, down, exec, kill, restart,
// cut, heal, env, and the hidden serve and hook the rig runs itself.
func testenvRigCommands() []*cobra.Command {
	var cmds []*cobra.Command
	dirFlag := func(c *cobra.Command, dir *string) {
		c.Flags().StringVar(dir, "dir", "", "the rig's folder (default $SHOAL_TESTENV_DIR)")
	}

	// up
	{
		var (
			dir, binary, testapp, wait, agentCommand string
			nodes                                    int
			poll, timeout                            time.Duration
			labels, noReconciler                     []string
		)
		up := &cobra.Command{
			Use:   "up --dir DIR [--nodes N]",
			Short: "Start a multi-node cluster in network namespaces",
			Long: `Up makes a rig in DIR: a lab network 10.250.k.0/24 (k is the first free
index; the root namespace is 10.250.k.1), one network namespace per node
(10.250.k.(10+i), no default route), a Git remote with the repository
cluster.git (its post-receive hook sends a signed webhook to the nodes), an
OCI registry preloaded with busybox (and the test app with --testapp),
fresh secrets, and one "shoal agent" per node. The Git server and registry
run in a background "shoal testenv serve" (log: DIR/serve.log); agent logs
are in DIR/nodes/NAME/agent.log. Up returns when every node reports every
member alive (--wait), after writing DIR/env. On failure it takes down
what it made.`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				d, err := rigDir(dir)
				if err != nil {
					return err
				}
				cfg := testenv.DefaultConfig()
				cfg.Dir, cfg.Nodes, cfg.GitPollInterval, cfg.ReadyTimeout = d, nodes, poll, timeout
				if binary == "" {
					if binary, err = os.Executable(); err != nil {
						return err
					}
				}
				cfg.Binary = binary
				if cfg.Ready, err = testenv.ParseReadyMode(wait); err != nil {
					return fmt.Errorf("--wait: %w", err)
				}
				if agentCommand != "" {
					cfg.AgentCommand = strings.Fields(agentCommand)
				}
				if testapp != "" {
					abs, err := filepath.Abs(testapp)
					if err != nil {
						return err
					}
					if _, err := os.Stat(filepath.Join(abs, "testenv", "testapp")); err != nil {
						return fmt.Errorf("--testapp %s is not a shoal source tree: %w", testapp, err)
					}
					cfg.ModuleRoot = abs
				}
				cfg.NotReconciler = noReconciler
				for _, l := range labels {
					node, kv, ok := strings.Cut(l, ":")
					k, v, ok2 := strings.Cut(kv, "=")
					if !ok || !ok2 || node == "" || k == "" {
						return fmt.Errorf("--label %q: want NODE:KEY=VALUE", l)
					}
					if cfg.Labels == nil {
						cfg.Labels = map[string]map[string]string{}
					}
					if cfg.Labels[node] == nil {
						cfg.Labels[node] = map[string]string{}
					}
					cfg.Labels[node][k] = v
				}
				c, err := testenv.StartCluster(cmd.Context(), cfg)
				if err != nil {
					return err
				}
				env, err := c.Env()
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "rig up in %s: %d nodes on 10.250.%d.0/24\n", d, len(env.Nodes), c.State().Index)
				for _, n := range c.Nodes() {
					fmt.Fprintf(out, "  %-10s api %s  netns %s\n", n.Name, n.API, n.NetNS)
				}
				fmt.Fprintf(out, "  git      %s\n  registry %s\n", strings.Replace(env.GitURL, ":"+gitPassword(env.GitURL)+"@", ":***@", 1), env.Registry)
				fmt.Fprintf(out, "use it: . %s\ntake it down: shoal testenv down --dir %s\n", filepath.Join(d, testenv.EnvFile), d)
				return nil
			},
		}
		dirFlag(up, &dir)
		f := up.Flags()
		f.IntVar(&nodes, "nodes", 3, "number of nodes")
		f.StringVar(&binary, "binary", "", "the shoal binary the agents, the servers and the hook run (default: this one)")
		f.StringVar(&testapp, "testapp", "", "shoal source tree: also build the test app into the registry (needs the go command)")
		f.DurationVar(&poll, "git-poll-interval", 5*time.Second, "the agents' --git-poll-interval")
		f.StringVar(&wait, "wait", "members", "wait for: members (every node sees all alive), api (every API answers) or none")
		f.DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the cluster to be ready")
		f.StringArrayVar(&labels, "label", nil, "extra node label NODE:KEY=VALUE (repeatable)")
		f.StringArrayVar(&noReconciler, "no-reconciler", nil, "start NODE with --reconciler=false (repeatable)")
		f.StringVar(&agentCommand, "agent-command", "", "argv prefix that starts an agent instead of \"BINARY agent\" (space-separated; for stand-ins)")
		_ = f.MarkHidden("agent-command")
		cmds = append(cmds, up)
	}

	// down
	{
		var dir string
		down := &cobra.Command{
			Use:   "down --dir DIR",
			Short: "Stop the rig's agents and servers and remove its namespaces, links and cgroups",
			Long: `Down stops every agent (SIGTERM, then SIGKILL), runs "shoal down" for each
node inside its namespace, stops the Git server and registry, and removes the
rig's links, namespaces and cgroups. Logs, node data, the Git repository and
the secrets stay in DIR. Down of a half-made rig, or again, works.`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := loadRig(dir)
				if errors.Is(err, testenv.ErrNoRig) {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					return nil
				}
				if err != nil {
					return err
				}
				return c.Down(cmd.Context())
			},
		}
		dirFlag(down, &dir)
		cmds = append(cmds, down)
	}

	// exec
	{
		var dir string
		ex := &cobra.Command{
			Use:   "exec --dir DIR NODE -- CMD [ARG...]",
			Short: "Run a command in a node's network namespace",
			Long: `Exec runs CMD in NODE's network namespace (only the network: the file
system and processes are the host's), with this terminal's stdin, stdout and
stderr, and exits with its exit code.`,
			Args: func(cmd *cobra.Command, args []string) error {
				if cmd.ArgsLenAtDash() != 1 || len(args) < 2 {
					return errors.New("usage: shoal testenv exec [--dir DIR] NODE -- CMD [ARG...]")
				}
				return nil
			},
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := loadRig(dir)
				if err != nil {
					return err
				}
				run, err := c.Command(cmd.Context(), args[0], args[1:]...)
				if err != nil {
					return err
				}
				run.Stdin, run.Stdout, run.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
				err = run.Run()
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code := ee.ExitCode()
					if code < 0 {
						code = 128 + 9
					}
					return exitError{code}
				}
				return err
			},
		}
		dirFlag(ex, &dir)
		cmds = append(cmds, ex)
	}

	// kill, restart, cut, heal: one node each.
	nodeVerb := func(use, short, long string, act func(ctx context.Context, c *testenv.Cluster, node string) error) *cobra.Command {
		var dir string
		c := &cobra.Command{
			Use:   use + " --dir DIR NODE",
			Short: short,
			Long:  long,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := loadRig(dir)
				if err != nil {
					return err
				}
				return act(cmd.Context(), c, args[0])
			},
		}
		dirFlag(c, &dir)
		return c
	}
	cmds = append(cmds,
		nodeVerb("kill", "SIGKILL a node's agent (its pods keep running)",
			`Kill sends SIGKILL to NODE's agent, if the recorded PID is still that agent,
and waits until it is gone. Containers stay: the next agent re-adopts them.`,
			func(ctx context.Context, c *testenv.Cluster, node string) error { return c.Kill(ctx, node) }),
		nodeVerb("restart", "Start a node's agent again with the same arguments",
			`Restart stops NODE's agent if it runs (SIGTERM, then SIGKILL after 15s) and
starts it again with the arguments "up" gave it. It does not wait for it.`,
			func(ctx context.Context, c *testenv.Cluster, node string) error { return c.Restart(ctx, node) }),
		nodeVerb("cut", "Take a node off the lab network", `Cut sets NODE's port on the lab bridge down: it reaches no other node nor the
Git server and registry, and nothing reaches it. "heal" undoes it.`,
			func(_ context.Context, c *testenv.Cluster, node string) error { return c.Cut(node) }),
		nodeVerb("heal", "Put a cut node back on the lab network", `Heal sets NODE's port on the lab bridge up again.`,
			func(_ context.Context, c *testenv.Cluster, node string) error { return c.Heal(node) }),
	)

	// env
	{
		var dir string
		env := &cobra.Command{
			Use:   "env --dir DIR",
			Short: "Print the rig's environment (as DIR/env holds it)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				c, err := loadRig(dir)
				if err != nil {
					return err
				}
				e, err := c.Env()
				if err != nil {
					return err
				}
				fmt.Fprint(cmd.OutOrStdout(), e.Render())
				return nil
			},
		}
		dirFlag(env, &dir)
		cmds = append(cmds, env)
	}

	// serve and hook: run by the rig itself.
	{
		var dir string
		serve := &cobra.Command{
			Use:    "serve --dir DIR",
			Short:  "Serve the rig's Git repository and registry (started by up)",
			Hidden: true,
			Args:   cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				d, err := rigDir(dir)
				if err != nil {
					return err
				}
				return testenv.Serve(cmd.Context(), d, cmd.ErrOrStderr())
			},
		}
		dirFlag(serve, &dir)
		cmds = append(cmds, serve)
	}
	{
		var dir string
		hook := &cobra.Command{
			Use:    "hook --dir DIR",
			Short:  "Post-receive hook: tell the cluster about a push (never fails the push)",
			Hidden: true,
			Args:   cobra.ArbitraryArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				d, err := rigDir(dir)
				if err == nil {
					ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
					defer cancel()
					err = testenv.RunHook(ctx, d, cmd.InOrStdin(), cmd.ErrOrStderr())
				}
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "shoal testenv hook: warning: %v\n", err)
				}
				return nil
			},
		}
		dirFlag(hook, &dir)
		cmds = append(cmds, hook)
	}
	return cmds
}

// gitPassword returns the password in an http://USER:PASSWORD@HOST URL.
func gitPassword(url string) string {
	rest := strings.TrimPrefix(url, "http://")
	creds, _, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	_, pw, _ := strings.Cut(creds, ":")
	return pw
}
