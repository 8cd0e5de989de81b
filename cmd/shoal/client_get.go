package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
)

// getOptions are the flags of `shoal get`.
type getOptions struct {
	connectOptions
	output        string
	allNamespaces bool
	watch         bool
}

// podResourceNames are the names `get` and `describe` accept for pods.
var podResourceNames = []string{"pods", "pod", "po"}

func newGetCommand(now func() time.Time) *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get pods|nodes [NAME...]",
		Short: "List pods or nodes, or show some by name",
		Long: `Get lists the pods of a namespace (-A: of every namespace) as kubectl does,
from the node API --server names. With names it shows those pods only.

Output formats: the default table (NAME READY STATUS RESTARTS AGE), wide
(adds IP and NODE), yaml, json, and name (pod/NAME).

get nodes lists the nodes of the cluster the node belongs to (NAME STATUS
ROLES AGE VERSION; wide adds addresses, OS image, kernel and runtime).`,
		Example: `  shoal get pods
  shoal get pods -A -o wide
  shoal get pod web-7d4b9c-x2x9k -o yaml
  shoal get po -n shop -o name
  shoal get nodes -o wide`,
		Args: cobra.MinimumNArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return []string{"pods", "nodes", "deployments", "events"}, cobra.ShellCompDirectiveNoFileComp
			}
			if isNodeCommandLine(args) {
				return o.completeNodes(cmd.Context())
			}
			names, dir := o.completePods(cmd.Context(), nil)
			return names, dir
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if isNodeCommandLine(args) {
				return o.getNodes(cmd, args, now())
			}
			if isDeploymentCommandLine(args) {
				return o.getDeployments(cmd, args, now())
			}
			if isEventCommandLine(args) {
				return o.getEvents(cmd, now)
			}
			if o.watch {
				return errors.New("--watch works with events only")
			}
			names, err := podNames("get", args)
			if err != nil {
				return err
			}
			switch o.output {
			case "", "wide", "yaml", "json", "name":
			default:
				return fmt.Errorf("-o %q: use wide, yaml, json or name", o.output)
			}
			if o.allNamespaces && len(names) > 0 {
				return errors.New("a pod cannot be named across all namespaces: drop -A, and use -n for its namespace")
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var pods []corev1.Pod
			failed := false
			if len(names) == 0 {
				ns := o.namespace
				if o.allNamespaces {
					ns = ""
				}
				if pods, err = c.ListPods(ctx, ns); err != nil {
					return err
				}
			}
			for _, name := range names {
				pod, err := c.GetPod(ctx, o.namespace, name)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "Error: %v\n", err)
					failed = true
					continue
				}
				pods = append(pods, *pod)
			}
			out := cmd.OutOrStdout()
			switch {
			case o.output == "yaml" || o.output == "json":
				err = writePodObjects(out, pods, o.output, len(names) == 1)
			case len(pods) == 0 && len(names) == 0:
				if o.allNamespaces {
					fmt.Fprintln(cmd.ErrOrStderr(), "No resources found")
				} else {
					fmt.Fprintf(cmd.ErrOrStderr(), "No resources found in %s namespace.\n", o.namespace)
				}
			case o.output == "name":
				for _, p := range pods {
					if _, err = fmt.Fprintf(out, "pod/%s\n", p.Name); err != nil {
						break
					}
				}
			case len(pods) > 0:
				err = writePodTable(out, pods, tableOptions{wide: o.output == "wide", namespace: o.allNamespaces}, now())
			}
			if err != nil {
				return err
			}
			if failed {
				return exitError{code: 1}
			}
			return nil
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "output format: wide, yaml, json or name (default: a table)")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list the pods of every namespace")
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "with events: keep printing new events until interrupted")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"wide", "yaml", "json", "name"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// podNames checks the resource type of a `get`/`describe` command line
// ("pods NAME...", or "pod/NAME...") and returns the pod names in it.
func podNames(verb string, args []string) ([]string, error) {
	isPods := func(s string) bool {
		for _, n := range podResourceNames {
			if strings.EqualFold(s, n) {
				return true
			}
		}
		return false
	}
	unknown := func(s string) error {
		return fmt.Errorf("shoal %s: unknown resource type %q: the node API serves pods (pods, pod or po), nodes (nodes, node or no), deployments (deployments, deployment or deploy) and events (events, ev)", verb, s)
	}
	if !strings.Contains(args[0], "/") {
		if !isPods(args[0]) {
			return nil, unknown(args[0])
		}
		return args[1:], nil
	}
	var names []string
	for _, a := range args {
		kind, name, ok := strings.Cut(a, "/")
		if !ok || name == "" {
			return nil, fmt.Errorf("shoal %s: %q: give TYPE/NAME for every argument, or pods NAME...", verb, a)
		}
		if !isPods(kind) {
			return nil, unknown(kind)
		}
		names = append(names, name)
	}
	return names, nil
}

// tableOptions select the columns of the pod table.
type tableOptions struct {
	wide      bool // IP and NODE
	namespace bool // NAMESPACE first
}

// writePodTable writes pods as kubectl's table: NAME READY STATUS RESTARTS
// AGE, with NAMESPACE first and IP and NODE last as asked. Ages are
// relative to now.
func writePodTable(w io.Writer, pods []corev1.Pod, opts tableOptions, now time.Time) error {
	tw := tabwriter.NewWriter(w, 6, 4, 3, ' ', 0)
	var cols []string
	if opts.namespace {
		cols = append(cols, "NAMESPACE")
	}
	cols = append(cols, "NAME", "READY", "STATUS", "RESTARTS", "AGE")
	if opts.wide {
		cols = append(cols, "IP", "NODE")
	}
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for i := range pods {
		p := &pods[i]
		s := summarizePod(p, now)
		var row []string
		if opts.namespace {
			row = append(row, p.Namespace)
		}
		row = append(row, p.Name, s.Ready, s.Status, s.Restarts, age(p.CreationTimestamp.Time, now))
		if opts.wide {
			row = append(row, orNone(podIP(p)), orNone(p.Spec.NodeName))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func podIP(p *corev1.Pod) string {
	if len(p.Status.PodIPs) > 0 && p.Status.PodIPs[0].IP != "" {
		return p.Status.PodIPs[0].IP
	}
	return p.Status.PodIP
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// writePodObjects writes pods as YAML or JSON: the Pod itself when one was
// asked for by name, else a List of them.
func writePodObjects(w io.Writer, pods []corev1.Pod, format string, single bool) error {
	for i := range pods {
		pods[i].Kind, pods[i].APIVersion = "Pod", "v1"
	}
	return writeObjects(w, pods, format, single)
}
