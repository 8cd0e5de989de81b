package main

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/nodeagent/api"
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
		Use:   "get TYPE [NAME...]",
		Short: "List pods, nodes, workloads, services or events, or show some by name",
		Long: `Get lists objects of a namespace (-A: of every namespace) as kubectl does,
from the node API --server names. With names it shows those objects only.
TYPE is pods (po), nodes (no), deployments (deploy), replicasets (rs),
replicationcontrollers (rc), daemonsets (ds), jobs, cronjobs (cj), services
(svc), endpoints (ep), ingresses (ing), resourcequotas (quota), limitranges
(limits) or events (ev); TYPE/NAME works too.

Output formats: the default table, wide (more columns), yaml, json, and
name (TYPE/NAME). The tables are kubectl's:

  pods         NAME READY STATUS RESTARTS AGE (wide: IP NODE)
  nodes        NAME STATUS ROLES AGE VERSION (wide: addresses, OS image,
               kernel and runtime)
  deployments  NAME READY UP-TO-DATE AVAILABLE AGE
  replicasets  NAME DESIRED CURRENT READY AGE (and replicationcontrollers)
  daemonsets   NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE
  jobs         NAME STATUS COMPLETIONS DURATION AGE
  cronjobs     NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE
  services     NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE (wide: SELECTOR)
  endpoints    NAME ENDPOINTS AGE
  ingresses    NAME CLASS HOSTS ADDRESS PORTS AGE

  quota        NAME REQUEST LIMIT (each hard resource as used/hard; "-"
               for those shoal does not count)
  limits       NAME LIMITS

and wide adds CONTAINERS IMAGES SELECTOR to the workloads. Workloads come
from the leader: those of Git with the status their controllers compute,
and the ReplicaSets the Deployments made and the Jobs the CronJobs made.
Services, Endpoints and Ingresses come from the leader too, with the
cluster IPs, node ports and addresses it allocated and the endpoints of
each Service with a selector.
So do the quotas, with the usage the leader counted.
Events: LAST SEEN TYPE REASON OBJECT MESSAGE; -w keeps printing new ones.`,
		Example: `  shoal get pods
  shoal get pods -A -o wide
  shoal get pod web-7d4b9c-x2x9k -o yaml
  shoal get po -n shop -o name
  shoal get nodes -o wide
  shoal get rs -A
  shoal get ds agent -o wide
  shoal get cronjob tick -o yaml
  shoal get svc -o wide
  shoal get ep web
  shoal get quota -n shop
  shoal get events -w`,
		Args: cobra.MinimumNArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			return completeKindArgs(cmd.Context(), &o.connectOptions, args, "events")
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if isEventCommandLine(args) {
				return o.getEvents(cmd, now)
			}
			k, names, err := resolveArgs("get", args)
			if err != nil {
				return err
			}
			return k.get(cmd, &o, names, now())
		},
	}
	o.bind(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "output format: wide, yaml, json or name (default: a table)")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list the objects of every namespace")
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "with events: keep printing new events until interrupted")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"wide", "yaml", "json", "name"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// podKind is pods as `get` and `describe` handle them.
var podKind = &objectKind[corev1.Pod, *corev1.Pod]{
	names: podResourceNames, apiVersion: "v1", kind: "Pod", nameKind: "pod", namespaced: true,
	listAll: func(ctx context.Context, c *api.Client, ns string) ([]corev1.Pod, error) { return c.ListPods(ctx, ns) },
	getOne: func(ctx context.Context, c *api.Client, ns, name string) (*corev1.Pod, error) {
		return c.GetPod(ctx, ns, name)
	},
	columns: podColumns,
	show:    func(d describer, p *corev1.Pod, rel *related) { describePod(d, p, rel.now) },
}

// podColumns are kubectl's pod table: NAME READY STATUS RESTARTS AGE, and
// IP and NODE when wide.
var podColumns = columns[corev1.Pod, *corev1.Pod]{
	names: []string{"READY", "STATUS", "RESTARTS", "AGE"}, wideNames: []string{"IP", "NODE"},
	row: func(p *corev1.Pod, now time.Time) []string {
		s := summarizePod(p, now)
		return []string{s.Ready, s.Status, s.Restarts, age(p.CreationTimestamp.Time, now)}
	},
	wide: func(p *corev1.Pod) []string { return []string{orNone(podIP(p)), orNone(p.Spec.NodeName)} },
}

// writePodTable writes pods as kubectl's table (podColumns), with
// NAMESPACE first and the wide columns as asked. Ages are relative to now.
func writePodTable(w io.Writer, pods []corev1.Pod, opts tableOptions, now time.Time) error {
	return writeTable(w, pods, opts, now, podColumns)
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
