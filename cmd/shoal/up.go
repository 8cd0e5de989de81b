package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/shoal-run/shoal/manifests"
	"github.com/spf13/cobra"
)

// upOptions are the flags of `shoal up`.
type upOptions struct {
	manifests string
}

// newUpCommand is the one-machine cluster. Until the node runtime lands it
// reads and checks the desired state, says what it would run, and exits
// with status 3 ("not yet"), so that no script mistakes it for a running
// cluster.
func newUpCommand() *cobra.Command {
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a one-machine shoal cluster in the foreground (not yet: reads and checks the manifests only)",
		Long: `Up will run a one-machine shoal cluster in the foreground: its node agent,
with the desired state read from a folder of manifests.

Not yet: this version reads and checks the manifests (as "shoal validate"
does) and lists what it would run; running pods arrives with the node
runtime.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res := manifests.Read(manifests.Input{FS: os.DirFS(o.manifests), Name: o.manifests})
			set, err := res.Set()
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "%v\nshoal up: the manifests in %s have errors; fix them first (shoal validate %s)\n", err, o.manifests, o.manifests)
				return exitError{code: 1}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "desired state from %s: %d objects in %d namespaces\n", o.manifests, set.Len(), len(set.Namespaces()))
			for _, w := range set.Warnings() {
				fmt.Fprintln(out, "  "+w.String())
			}
			for _, obj := range set.All() {
				fmt.Fprintf(out, "  %s (%s:%d)\n", obj.Key, obj.Source.File, obj.Source.Line)
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "shoal up: not yet: running pods arrives with the node runtime; nothing was started")
			return exitError{code: 3}
		},
	}
	cmd.Flags().StringVar(&o.manifests, "manifests", ".", "folder of manifests to run")
	return cmd
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print shoal's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "shoal", version())
		},
	}
}

// buildVersion is set at link time by the Makefile
// (-ldflags "-X main.buildVersion=...").
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
