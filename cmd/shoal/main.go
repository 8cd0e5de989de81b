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
	"syscall"

	"github.com/spf13/cobra"
)

// exitError carries a process exit code through cobra without printing
// anything more: the command has already said what went wrong.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

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
		newVersionCommand(),
	)
	return root
}
