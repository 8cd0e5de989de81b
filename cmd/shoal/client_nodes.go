package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/shoal-run/shoal/nodeagent/api"
)

// nodeResourceNames are the names `get` and `describe` accept for nodes.
var nodeResourceNames = []string{"nodes", "node", "no"}

// nodeKind is nodes as `get` and `describe` handle them. Nodes have no
// namespace: -n and -A are ignored, as kubectl does.
var nodeKind = &objectKind[corev1.Node, *corev1.Node]{
	names: nodeResourceNames, apiVersion: "v1", kind: "Node", nameKind: "node",
	listAll: func(ctx context.Context, c *api.Client, _ string) ([]corev1.Node, error) { return c.ListNodes(ctx) },
	getOne: func(ctx context.Context, c *api.Client, _, name string) (*corev1.Node, error) {
		return c.GetNode(ctx, name)
	},
	columns: nodeColumns,
	// The pods of each node come from the same server's pod list; when
	// that fails the nodes are described without them.
	show: func(d describer, n *corev1.Node, rel *related) {
		pods, ok := rel.pods()
		describeNode(d, n, nonTerminatedPods(pods, n.Name), ok, rel.now)
	},
}

// nodeColumns are kubectl's node table: NAME STATUS ROLES AGE VERSION, and
// with wide INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION
// CONTAINER-RUNTIME.
var nodeColumns = columns[corev1.Node, *corev1.Node]{
	names:     []string{"STATUS", "ROLES", "AGE", "VERSION"},
	wideNames: []string{"INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"},
	row: func(n *corev1.Node, now time.Time) []string {
		return []string{nodeStatus(n), nodeRoles(n), age(n.CreationTimestamp.Time, now), n.Status.NodeInfo.KubeletVersion}
	},
	wide: func(n *corev1.Node) []string {
		info := n.Status.NodeInfo
		return []string{orNone(nodeAddress(n, corev1.NodeInternalIP)), orNone(nodeAddress(n, corev1.NodeExternalIP)),
			orUnknown(info.OSImage), orUnknown(info.KernelVersion), orUnknown(info.ContainerRuntimeVersion)}
	},
}

// writeNodeTable writes nodes as kubectl's table (nodeColumns). Ages are
// relative to now.
func writeNodeTable(w io.Writer, nodes []corev1.Node, wide bool, now time.Time) error {
	return writeTable(w, nodes, tableOptions{wide: wide}, now, nodeColumns)
}

// nodeStatus is the STATUS column by kubectl's rules: Ready when the Ready
// condition is True, NotReady when it is anything else, Unknown without
// one; ",SchedulingDisabled" added for a cordoned node.
func nodeStatus(n *corev1.Node) string {
	status := "Unknown"
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				status = "Ready"
			} else {
				status = "NotReady"
			}
		}
	}
	if n.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

// Labels that give a node its roles, as kubectl reads them.
const (
	labelNodeRolePrefix = "node-role.kubernetes.io/"
	labelNodeRole       = "kubernetes.io/role"
)

// nodeRoles is the ROLES column: the roles of node-role.kubernetes.io/ROLE
// labels and the kubernetes.io/role label, sorted and comma-separated;
// <none> without any.
func nodeRoles(n *corev1.Node) string {
	seen := map[string]bool{}
	var roles []string
	add := func(r string) {
		if r != "" && !seen[r] {
			seen[r] = true
			roles = append(roles, r)
		}
	}
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, labelNodeRolePrefix):
			add(strings.TrimPrefix(k, labelNodeRolePrefix))
		case k == labelNodeRole:
			add(v)
		}
	}
	if len(roles) == 0 {
		return "<none>"
	}
	sort.Strings(roles)
	return strings.Join(roles, ",")
}

// nodeAddress returns the node's first address of a type, "" if none.
func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}

// listObject is the List `get -o yaml|json` prints, as kubectl does.
type listObject[T any] struct {
	APIVersion string `json:"apiVersion"`
	Items      []T    `json:"items"`
	Kind       string `json:"kind"`
	Metadata   struct {
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
}

// writeObjects writes objects as YAML or JSON: the object itself when one
// was asked for by name, else a List of them.
func writeObjects[T any](w io.Writer, items []T, format string, single bool) error {
	if single && len(items) == 1 {
		return writeObject(w, &items[0], format)
	}
	list := listObject[T]{APIVersion: "v1", Kind: "List", Items: items}
	if list.Items == nil {
		list.Items = []T{}
	}
	return writeObject(w, &list, format)
}

// writeObject writes v as indented JSON or as YAML.
func writeObject(w io.Writer, v any, format string) error {
	var b []byte
	var err error
	if format == "json" {
		b, err = json.MarshalIndent(v, "", "    ")
		b = append(b, '\n')
	} else {
		b, err = yaml.Marshal(v)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// showOne fetches one object from the node's API and writes it as yaml or
// json when output says so (anything else is an error), else with text:
// the run of a command such as `shoal status` or `shoal previews`.
func showOne[T any](cmd *cobra.Command, o *connectOptions, output string,
	fetch func(*api.Client, context.Context) (T, error), text func(io.Writer, T) error) error {
	switch output {
	case "", "yaml", "json":
	default:
		return fmt.Errorf("-o %q: use yaml or json", output)
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	v, err := fetch(c, cmd.Context())
	if err != nil {
		return err
	}
	if output != "" {
		return writeObject(cmd.OutOrStdout(), v, output)
	}
	return text(cmd.OutOrStdout(), v)
}

// bindYAMLJSON adds -o yaml|json to cmd, with its completion; what the
// command writes without it is def ("text", "a table").
func bindYAMLJSON(cmd *cobra.Command, output *string, def string) {
	cmd.Flags().StringVarP(output, "output", "o", "", "output format: yaml or json (default: "+def+")")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"yaml", "json"}, cobra.ShellCompDirectiveNoFileComp
	})
}

// nonTerminatedPods are the pods bound to node that have not ended
// (neither Succeeded nor Failed), as kubectl selects them.
func nonTerminatedPods(pods []corev1.Pod, node string) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if p.Spec.NodeName == node && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
}

// describeNode writes a node as kubectl describe does, ages relative to
// now. withPods says whether pods are the node's pods (the pod sections are
// left out when they could not be listed).
func describeNode(d describer, n *corev1.Node, pods []corev1.Pod, withPods bool, now time.Time) {
	d.line(0, "Name:\t%s", n.Name)
	d.line(0, "Roles:\t%s", nodeRoles(n))
	d.stringMap("Labels", n.Labels)
	d.stringMap("Annotations", n.Annotations)
	d.line(0, "CreationTimestamp:\t%s", d.time(n.CreationTimestamp))
	d.taints(n.Spec.Taints)
	d.line(0, "Unschedulable:\t%t", n.Spec.Unschedulable)
	if len(n.Status.Conditions) == 0 {
		d.line(0, "Conditions:\t<none>")
	} else {
		d.line(0, "Conditions:")
		d.line(1, "Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage")
		d.line(1, "----\t------\t-----------------\t------------------\t------\t-------")
		for _, c := range n.Status.Conditions {
			d.line(1, "%s \t%s \t%s \t%s \t%s \t%s", c.Type, c.Status, d.time(c.LastHeartbeatTime), d.time(c.LastTransitionTime), c.Reason, c.Message)
		}
	}
	d.line(0, "Addresses:")
	for _, a := range n.Status.Addresses {
		d.line(1, "%s:\t%s", a.Type, a.Address)
	}
	if len(n.Status.Capacity) > 0 {
		d.line(0, "Capacity:")
		d.resourceList(n.Status.Capacity)
	}
	if len(n.Status.Allocatable) > 0 {
		d.line(0, "Allocatable:")
		d.resourceList(n.Status.Allocatable)
	}
	info := n.Status.NodeInfo
	d.line(0, "System Info:")
	d.line(1, "Machine ID:\t%s", info.MachineID)
	d.line(1, "System UUID:\t%s", info.SystemUUID)
	d.line(1, "Boot ID:\t%s", info.BootID)
	d.line(1, "Kernel Version:\t%s", info.KernelVersion)
	d.line(1, "OS Image:\t%s", info.OSImage)
	d.line(1, "Operating System:\t%s", info.OperatingSystem)
	d.line(1, "Architecture:\t%s", info.Architecture)
	d.line(1, "Container Runtime Version:\t%s", info.ContainerRuntimeVersion)
	d.line(1, "Kubelet Version:\t%s", info.KubeletVersion)
	if n.Spec.PodCIDR != "" {
		d.line(0, "PodCIDR:\t%s", n.Spec.PodCIDR)
	}
	if len(n.Spec.PodCIDRs) > 0 {
		d.line(0, "PodCIDRs:\t%s", strings.Join(n.Spec.PodCIDRs, ","))
	}
	if withPods {
		d.nodePods(n, pods, now)
	}
}

// resourceList writes a node's capacity or allocatable, sorted by name.
func (d describer) resourceList(rl corev1.ResourceList) {
	names := make([]string, 0, len(rl))
	for n := range rl {
		names = append(names, string(n))
	}
	sort.Strings(names)
	for _, n := range names {
		q := rl[corev1.ResourceName(n)]
		d.line(1, "%s:\t%s", n, q.String())
	}
}

// taints writes a node's taints as kubectl does: key=value:Effect.
func (d describer) taints(ts []corev1.Taint) {
	if len(ts) == 0 {
		d.line(0, "Taints:\t<none>")
		return
	}
	for i, t := range ts {
		s := t.Key
		if t.Value != "" {
			s += "=" + t.Value
		}
		s += ":" + string(t.Effect)
		if i == 0 {
			d.line(0, "Taints:\t%s", s)
		} else {
			d.line(0, "\t%s", s)
		}
	}
}

// nodePods writes the Non-terminated Pods table and the Allocated
// resources summary, with percentages of the node's allocatable (its
// capacity when it announces no allocatable).
func (d describer) nodePods(n *corev1.Node, pods []corev1.Pod, now time.Time) {
	alloc := n.Status.Capacity
	if len(n.Status.Allocatable) > 0 {
		alloc = n.Status.Allocatable
	}
	cpu, mem, eph := alloc[corev1.ResourceCPU], alloc[corev1.ResourceMemory], alloc[corev1.ResourceEphemeralStorage]
	d.line(0, "Non-terminated Pods:\t(%d in total)", len(pods))
	d.line(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge")
	d.line(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---")
	totalReq, totalLim := corev1.ResourceList{}, corev1.ResourceList{}
	for i := range pods {
		p := &pods[i]
		req, lim := podRequestsAndLimits(p)
		addResources(totalReq, req)
		addResources(totalLim, lim)
		d.line(1, "%s\t%s\t\t%s\t%s\t%s\t%s\t%s", p.Namespace, p.Name,
			share(req[corev1.ResourceCPU], cpu, true), share(lim[corev1.ResourceCPU], cpu, true),
			share(req[corev1.ResourceMemory], mem, false), share(lim[corev1.ResourceMemory], mem, false),
			age(p.CreationTimestamp.Time, now))
	}
	d.line(0, "Allocated resources:")
	d.line(1, "(Total limits may be over 100 percent, i.e., overcommitted.)")
	d.line(1, "Resource\tRequests\tLimits")
	d.line(1, "--------\t--------\t------")
	d.line(1, "%s\t%s\t%s", corev1.ResourceCPU, share(totalReq[corev1.ResourceCPU], cpu, true), share(totalLim[corev1.ResourceCPU], cpu, true))
	d.line(1, "%s\t%s\t%s", corev1.ResourceMemory, share(totalReq[corev1.ResourceMemory], mem, false), share(totalLim[corev1.ResourceMemory], mem, false))
	d.line(1, "%s\t%s\t%s", corev1.ResourceEphemeralStorage, share(totalReq[corev1.ResourceEphemeralStorage], eph, false), share(totalLim[corev1.ResourceEphemeralStorage], eph, false))
}

// share renders an amount and its whole percentage of total, as kubectl
// does ("100m (2%)"); 0% of a total of zero.
func share(q, total resource.Quantity, milli bool) string {
	pct := int64(0)
	if milli && total.MilliValue() != 0 {
		pct = int64(float64(q.MilliValue()) / float64(total.MilliValue()) * 100)
	} else if !milli && total.Value() != 0 {
		pct = int64(float64(q.Value()) / float64(total.Value()) * 100)
	}
	return fmt.Sprintf("%s (%d%%)", q.String(), pct)
}

// podRequestsAndLimits computes what a pod reserves, as the scheduler and
// kubectl do: its containers and sidecars (restartable init containers)
// together, or the largest init container with the sidecars started before
// it if that is more, plus the pod's overhead. A missing limit counts as
// zero.
func podRequestsAndLimits(p *corev1.Pod) (reqs, limits corev1.ResourceList) {
	reqs, limits = corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range p.Spec.Containers {
		addResources(reqs, c.Resources.Requests)
		addResources(limits, c.Resources.Limits)
	}
	sidecarReqs, sidecarLimits := corev1.ResourceList{}, corev1.ResourceList{}
	initReqs, initLimits := corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			addResources(reqs, c.Resources.Requests)
			addResources(limits, c.Resources.Limits)
			addResources(sidecarReqs, c.Resources.Requests)
			addResources(sidecarLimits, c.Resources.Limits)
			continue
		}
		r, l := corev1.ResourceList{}, corev1.ResourceList{}
		addResources(r, c.Resources.Requests)
		addResources(r, sidecarReqs)
		addResources(l, c.Resources.Limits)
		addResources(l, sidecarLimits)
		maxResources(initReqs, r)
		maxResources(initLimits, l)
	}
	maxResources(reqs, initReqs)
	maxResources(limits, initLimits)
	addResources(reqs, p.Spec.Overhead)
	addResources(limits, p.Spec.Overhead)
	return reqs, limits
}

func addResources(to, from corev1.ResourceList) {
	for name, q := range from {
		sum := to[name]
		sum.Add(q)
		to[name] = sum
	}
}

func maxResources(to, from corev1.ResourceList) {
	for name, q := range from {
		if cur, ok := to[name]; !ok || q.Cmp(cur) > 0 {
			to[name] = q.DeepCopy()
		}
	}
}
