package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// podArg reads "pod NAME" or "pod/NAME".
func podArg(verb string, args []string) (string, error) {
	switch {
	case len(args) == 1:
		kind, name, ok := strings.Cut(args[0], "/")
		if ok && isPodResource(kind) && name != "" {
			return name, nil
		}
	case len(args) == 2 && isPodResource(args[0]):
		return args[1], nil
	}
	return "", fmt.Errorf("shoal %s: give pod NAME (or pod/NAME)", verb)
}

func isPodResource(s string) bool {
	for _, n := range podResourceNames {
		if strings.EqualFold(s, n) {
			return true
		}
	}
	return false
}

// newQuarantineCommand takes a pod out of its controller for debugging.
func newQuarantineCommand() *cobra.Command {
	var o connectOptions
	cmd := &cobra.Command{
		Use:   "quarantine pod NAME",
		Short: "Take a pod out of its controller: it keeps running for debugging, and is replaced",
		Long: `Quarantine takes a pod a ReplicaSet, ReplicationController or Deployment made
out of its controller: the controller makes a replacement, and the pod keeps
running where it is, labelled shoal.run/quarantined=true and without its
owner, until "shoal delete pod NAME". Bare pods of the repository cannot be
quarantined.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := podArg("quarantine", args)
			if err != nil {
				return err
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			if err := c.QuarantinePod(cmd.Context(), o.namespace, name); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pod/%s quarantined: its controller replaces it; it runs until shoal delete pod %s\n", name, name)
			return nil
		},
	}
	o.bind(cmd)
	return cmd
}

// newDeleteCommand deletes a pod that does not come from Git.
func newDeleteCommand() *cobra.Command {
	var o connectOptions
	cmd := &cobra.Command{
		Use:   "delete pod NAME",
		Short: "Delete a quarantined pod, or a controller's pod (it is replaced)",
		Long: `Delete stops a quarantined pod, or deletes a pod a controller made (the
controller replaces it, as in Kubernetes). Everything else comes from Git:
remove it from the repository and push.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := podArg("delete", args)
			if err != nil {
				return err
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			if err := c.DeletePod(cmd.Context(), o.namespace, name); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pod %q deleted\n", name)
			return nil
		},
	}
	o.bind(cmd)
	return cmd
}
