// Command shoal is the single shoal binary: the node (`shoal agent`), the
// one-machine cluster (`shoal up`) and the command-line client. This package
// is wiring only: flags become Config structs, signals become a context, and
// the work happens in the packages it calls.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	goruntime "runtime"
	"syscall"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/shoal-run/shoal/nodeagent/runtime/pid1"
	"github.com/spf13/cobra"

	// libcontainer's re-exec needs these in the binary.
	_ "github.com/opencontainers/cgroups/devices"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// exitError carries a process exit code through cobra without printing
// anything more: the command has already said what went wrong.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// init runs before anything else when this binary is started as a
// container's init (/.shoal/init, bind-mounted by the runtime) or as
// libcontainer's re-exec ("shoal init"): neither is the command line.
func init() {
	// libcontainer may move a goroutine's thread into a container's mount
	// namespace and leave it locked so that Go retires the thread; keeping
	// main on its own thread makes sure that is never the main thread,
	// whose /proc/self would then describe a container.
	goruntime.LockOSThread()
	if len(os.Args) > 0 && os.Args[0] == pid1.InitPath {
		os.Exit(pid1.Main(os.Args[1:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init() // never returns
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		os.Exit(ee.code)
	default:
		fmt.Fprintln(os.Stderr, "shoal:", err)
		os.Exit(2)
	}
}

// globalOptions are the flags every command takes.
type globalOptions struct {
	logLevel string
}

func newRootCommand() *cobra.Command {
	var g globalOptions
	root := &cobra.Command{
		Use:   "shoal",
		Short: "Kubernetes manifests from Git, run on machines you own",
		Long: `shoal runs Kubernetes workloads on your own machines with Git as the only
source of truth: push manifests, and the cluster runs them. There is no API
server and no etcd; nodes find each other by gossip.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: use debug, info, warn or error", g.logLevel)
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})))
			return nil
		},
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(
		newValidateCommand(),
		newUpCommand(),
		newAgentCommand(),
		newDownCommand(),
		newImageCommand(),
		newTestenvCommand(),
		newKeygenCommand(),
		newVersionCommand(),
	)
	root.AddCommand(clientCommands()...)
	return root
}
