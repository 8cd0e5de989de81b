package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shoal-run/shoal/nodeagent/api"
)

// objectArg reads "KIND NAME" or "KIND/NAME".
func objectArg(args []string) (kind, name string, ok bool) {
	switch len(args) {
	case 1:
		kind, name, ok = strings.Cut(args[0], "/")
		return kind, name, ok && name != ""
	case 2:
		return args[0], args[1], args[1] != ""
	}
	return "", "", false
}

// podArg reads "pod NAME" or "pod/NAME".
func podArg(verb string, args []string) (string, error) {
	if kind, name, ok := objectArg(args); ok && isPodResource(kind) {
		return name, nil
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

// newDeleteCommand deletes what does not come from Git: objects kept
// though removed from it, quarantined pods, controllers' pods.
func newDeleteCommand() *cobra.Command {
	var o connectOptions
	cmd := &cobra.Command{
		Use:   "delete KIND NAME",
		Short: "Delete an object kept though removed from Git, a quarantined pod, or a controller's pod (it is replaced)",
		Long: `Delete removes what Git does not hold:

  - an object that left Git but keeps running because it opts out of
    pruning (annotation shoal.run/prune: "false"; shoal status lists them):
    it stops for good;
  - a quarantined pod: it stops;
  - a pod a controller made: the controller replaces it, as in Kubernetes.

Everything else comes from Git: remove it from the repository and push.

KIND is named as kubectl names it: deployment (deploy), configmap (cm),
storageclass (sc), ...; --namespace applies to namespaced kinds.`,
		Example: `  shoal delete deployment web -n shop
  shoal delete pod/web-7d4b9c-x2k8q
  shoal delete sc fast`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, name, ok := objectArg(args)
			if !ok {
				return errors.New("shoal delete: give KIND NAME (or KIND/NAME), e.g. deployment web")
			}
			res, ok := api.ResourceFor(kind)
			if !ok {
				var kinds []string
				for _, r := range api.Resources {
					kinds = append(kinds, strings.ToLower(r.Kind))
				}
				return fmt.Errorf("shoal delete: unknown kind %q: use one of %s", kind, strings.Join(kinds, ", "))
			}
			ns := ""
			if res.Namespaced {
				ns = o.namespace
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			if err := c.DeleteObject(cmd.Context(), res, ns, name); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %q deleted\n", strings.ToLower(res.Kind), name)
			return nil
		},
	}
	o.bind(cmd)
	return cmd
}
