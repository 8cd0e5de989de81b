package main

import (
	"fmt"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/spf13/cobra"
)

// logsOptions are the flags of `shoal logs`.
type logsOptions struct {
	connectOptions
	api.LogOptions
}

func newLogsCommand() *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs POD [-c CONTAINER]",
		Short: "Print a container's log",
		Long: `Logs prints the log of a container of a pod (its only container unless -c
names one), as kubectl logs does. With -f it keeps printing new lines until
interrupted or the pod is deleted; -p prints the log of the container's
previous run (before its last restart).`,
		Example: `  shoal logs web-7d4b9c-x2x9k
  shoal logs web-7d4b9c-x2x9k -c sidecar --tail 20 -f
  shoal logs -n shop cart-0 --since 10m --timestamps`,
		Args: cobra.RangeArgs(1, 2),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			return o.completePods(cmd.Context(), args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				if o.Container != "" && o.Container != args[1] {
					return fmt.Errorf("container named twice: -c %s and %s", o.Container, args[1])
				}
				o.Container = args[1]
			}
			if o.Since < 0 {
				return fmt.Errorf("--since %s: give a positive duration", o.Since)
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			err = c.Logs(ctx, o.namespace, args[0], o.LogOptions, cmd.OutOrStdout())
			if err != nil && ctx.Err() != nil {
				return exitError{code: interrupted}
			}
			return err
		},
	}
	o.bind(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.Container, "container", "c", "", "container to print the log of (default: the pod's only container)")
	f.BoolVarP(&o.Follow, "follow", "f", false, "keep printing new lines")
	f.BoolVarP(&o.Previous, "previous", "p", false, "print the log of the container's previous run")
	f.BoolVar(&o.Timestamps, "timestamps", false, "start each line with its time (RFC 3339)")
	f.Int64Var(&o.TailLines, "tail", -1, "print only the last N lines (-1: all)")
	f.DurationVar(&o.Since, "since", 0, "print only lines newer than this, e.g. 5s, 2m, 3h (default: all)")
	return cmd
}
