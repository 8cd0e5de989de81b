package main

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func newDescribeCommand(now func() time.Time, loc *time.Location) *cobra.Command {
	var o connectOptions
	cmd := &cobra.Command{
		Use:   "describe TYPE [NAME...]",
		Short: "Show objects in detail, with their events: pods, nodes, workloads, services",
		Long: `Describe shows objects in detail, as kubectl describe does, each ending with
its events (Type, Reason, Age, From, Message). Without names it describes
every object of that type in the namespace.

describe pod: where it runs, its labels, each container's image, state and
last state (with reasons and exit codes), readiness and restart count, the
pod's conditions and volumes.

describe node: its conditions, addresses, capacity and system, and the
pods on it with what they request.

describe deployment|rs|rc|ds|job|cronjob: the selector, replica or node
counts, the strategy of a Deployment (and its ReplicaSets), the pods'
states, the pod template's containers and images, and the conditions.

describe svc: its type, cluster IP, each port with its target port, node
port and ready endpoints, session affinity and traffic policies, and the
load-balancer address. describe ep: its subsets. describe ing: its
address, class, TLS, and the rules' hosts, paths and backends with the
backends' ready endpoints.
describe quota|limits: a ResourceQuota's resources with used and hard, a
LimitRange's min, max, defaults and ratio per type and resource.`,
		Example: `  shoal describe pod web-7d4b9c-x2x9k
  shoal describe pods -n shop
  shoal describe node node1
  shoal describe deployment web
  shoal describe ds agent
  shoal describe job backup-29929683
  shoal describe svc web
  shoal describe ing front`,
		Args: cobra.MinimumNArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			return completeKindArgs(cmd.Context(), &o, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			k, names, err := resolveArgs("describe", args)
			if err != nil {
				return err
			}
			return k.describe(cmd, &o, names, now(), loc)
		},
	}
	o.bind(cmd)
	return cmd
}

// describer writes kubectl-describe text: "Key:\tvalue" lines indented by
// level (and indent more), aligned by a tabwriter.
type describer struct {
	w      io.Writer
	loc    *time.Location
	indent int
}

func (d describer) line(level int, format string, args ...any) {
	fmt.Fprintf(d.w, strings.Repeat("  ", level+d.indent)+format+"\n", args...)
}

func (d describer) time(t metav1.Time) string {
	return t.In(d.loc).Format(time.RFC1123Z)
}

// describePod writes a pod as kubectl describe does, durations relative
// to now.
func describePod(d describer, pod *corev1.Pod, now time.Time) {
	d.line(0, "Name:\t%s", pod.Name)
	d.line(0, "Namespace:\t%s", pod.Namespace)
	if pod.Spec.Priority != nil {
		d.line(0, "Priority:\t%d", *pod.Spec.Priority)
	}
	if pod.Spec.PriorityClassName != "" {
		d.line(0, "Priority Class Name:\t%s", pod.Spec.PriorityClassName)
	}
	if pod.Spec.ServiceAccountName != "" {
		d.line(0, "Service Account:\t%s", pod.Spec.ServiceAccountName)
	}
	switch {
	case pod.Spec.NodeName == "":
		d.line(0, "Node:\t<none>")
	case pod.Status.HostIP != "":
		d.line(0, "Node:\t%s/%s", pod.Spec.NodeName, pod.Status.HostIP)
	default:
		d.line(0, "Node:\t%s", pod.Spec.NodeName)
	}
	if pod.Status.StartTime != nil {
		d.line(0, "Start Time:\t%s", d.time(*pod.Status.StartTime))
	}
	d.stringMap("Labels", pod.Labels)
	d.stringMap("Annotations", pod.Annotations)
	if pod.DeletionTimestamp != nil {
		d.line(0, "Status:\tTerminating (lasts %s)", age(pod.DeletionTimestamp.Time, now))
		if pod.DeletionGracePeriodSeconds != nil {
			d.line(0, "Termination Grace Period:\t%ds", *pod.DeletionGracePeriodSeconds)
		}
	} else {
		d.line(0, "Status:\t%s", pod.Status.Phase)
	}
	if pod.Status.Reason != "" {
		d.line(0, "Reason:\t%s", pod.Status.Reason)
	}
	if pod.Status.Message != "" {
		d.line(0, "Message:\t%s", pod.Status.Message)
	}
	d.line(0, "IP:\t%s", podIP(pod))
	if len(pod.Status.PodIPs) > 0 {
		d.line(0, "IPs:")
		for _, ip := range pod.Status.PodIPs {
			d.line(1, "IP:\t%s", ip.IP)
		}
	} else {
		d.line(0, "IPs:\t<none>")
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		d.line(0, "Controlled By:\t%s/%s", ref.Kind, ref.Name)
	}
	if len(pod.Spec.InitContainers) > 0 {
		d.line(0, "Init Containers:")
		d.containers(pod.Spec.InitContainers, pod.Status.InitContainerStatuses, true)
	}
	d.line(0, "Containers:")
	d.containers(pod.Spec.Containers, pod.Status.ContainerStatuses, true)
	if len(pod.Status.Conditions) > 0 {
		d.line(0, "Conditions:")
		d.line(1, "Type\tStatus")
		for _, c := range pod.Status.Conditions {
			d.line(1, "%s \t%s ", c.Type, c.Status)
		}
	}
	d.volumes(pod.Spec.Volumes)
	if pod.Status.QOSClass != "" {
		d.line(0, "QoS Class:\t%s", pod.Status.QOSClass)
	}
	d.stringMap("Node-Selectors", pod.Spec.NodeSelector)
	d.tolerations(pod.Spec.Tolerations)
}

// stringMap writes labels or annotations: key=value, sorted, one a line.
func (d describer) stringMap(title string, m map[string]string) {
	if len(m) == 0 {
		d.line(0, "%s:\t<none>", title)
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			d.line(0, "%s:\t%s=%s", title, k, m[k])
		} else {
			d.line(0, "\t%s=%s", k, m[k])
		}
	}
}

func (d describer) tolerations(ts []corev1.Toleration) {
	if len(ts) == 0 {
		d.line(0, "Tolerations:\t<none>")
		return
	}
	for i, t := range ts {
		s := t.Key
		if t.Value != "" {
			s += "=" + t.Value
		}
		if t.Operator == corev1.TolerationOpExists && t.Value == "" {
			s += " op=Exists"
		}
		if t.Effect != "" {
			s += ":" + string(t.Effect)
		}
		if t.TolerationSeconds != nil {
			s += fmt.Sprintf(" for %ds", *t.TolerationSeconds)
		}
		if i == 0 {
			d.line(0, "Tolerations:\t%s", s)
		} else {
			d.line(0, "\t%s", s)
		}
	}
}

// containers writes containers with their statuses; a pod template's
// (withStatus false) have none.
func (d describer) containers(cs []corev1.Container, statuses []corev1.ContainerStatus, withStatus bool) {
	byName := map[string]corev1.ContainerStatus{}
	for _, s := range statuses {
		byName[s.Name] = s
	}
	for _, c := range cs {
		st, ok := byName[c.Name]
		d.line(1, "%s:", c.Name)
		if ok {
			d.line(2, "Container ID:\t%s", st.ContainerID)
		}
		d.line(2, "Image:\t%s", c.Image)
		if ok {
			d.line(2, "Image ID:\t%s", st.ImageID)
		}
		d.ports(c.Ports)
		d.list(2, "Command", c.Command)
		d.list(2, "Args", c.Args)
		if ok {
			d.state("State", st.State)
			if st.LastTerminationState.Terminated != nil {
				d.state("Last State", st.LastTerminationState)
			}
			d.line(2, "Ready:\t%s", trueFalse(st.Ready))
			d.line(2, "Restart Count:\t%d", st.RestartCount)
		} else if withStatus {
			d.line(2, "State:\tWaiting")
		}
		d.resources("Limits", c.Resources.Limits)
		d.resources("Requests", c.Resources.Requests)
		d.probe("Liveness", c.LivenessProbe)
		d.probe("Readiness", c.ReadinessProbe)
		d.probe("Startup", c.StartupProbe)
		d.env(c)
		d.mounts(c.VolumeMounts)
	}
}

func trueFalse(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

func (d describer) ports(ps []corev1.ContainerPort) {
	name, hostName := "Port", "Host Port"
	if len(ps) > 1 {
		name, hostName = "Ports", "Host Ports"
	}
	if len(ps) == 0 {
		d.line(2, "%s:\t<none>", name)
		d.line(2, "%s:\t<none>", hostName)
		return
	}
	var ports, hostPorts []string
	for _, p := range ps {
		proto := p.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		ports = append(ports, fmt.Sprintf("%d/%s", p.ContainerPort, proto))
		hostPorts = append(hostPorts, fmt.Sprintf("%d/%s", p.HostPort, proto))
	}
	d.line(2, "%s:\t%s", name, strings.Join(ports, ", "))
	d.line(2, "%s:\t%s", hostName, strings.Join(hostPorts, ", "))
}

func (d describer) list(level int, title string, items []string) {
	if len(items) == 0 {
		return
	}
	d.line(level, "%s:", title)
	for _, it := range items {
		for _, l := range strings.Split(it, "\n") {
			d.line(level+1, "%s", l)
		}
	}
}

// state writes a container state: Running with its start, Waiting with its
// reason, Terminated with reason, message, exit code, signal and times.
func (d describer) state(title string, s corev1.ContainerState) {
	switch {
	case s.Running != nil:
		d.line(2, "%s:\tRunning", title)
		d.line(3, "Started:\t%s", d.time(s.Running.StartedAt))
	case s.Waiting != nil:
		d.line(2, "%s:\tWaiting", title)
		if s.Waiting.Reason != "" {
			d.line(3, "Reason:\t%s", s.Waiting.Reason)
		}
		if s.Waiting.Message != "" {
			d.line(3, "Message:\t%s", s.Waiting.Message)
		}
	case s.Terminated != nil:
		t := s.Terminated
		d.line(2, "%s:\tTerminated", title)
		if t.Reason != "" {
			d.line(3, "Reason:\t%s", t.Reason)
		}
		if t.Message != "" {
			d.line(3, "Message:\t%s", t.Message)
		}
		d.line(3, "Exit Code:\t%d", t.ExitCode)
		if t.Signal > 0 {
			d.line(3, "Signal:\t%d", t.Signal)
		}
		d.line(3, "Started:\t%s", d.time(t.StartedAt))
		d.line(3, "Finished:\t%s", d.time(t.FinishedAt))
	default:
		d.line(2, "%s:\tWaiting", title)
	}
}

func (d describer) resources(title string, rl corev1.ResourceList) {
	if len(rl) == 0 {
		return
	}
	names := make([]string, 0, len(rl))
	for n := range rl {
		names = append(names, string(n))
	}
	sort.Strings(names)
	d.line(2, "%s:", title)
	for _, n := range names {
		q := rl[corev1.ResourceName(n)]
		d.line(3, "%s:\t%s", n, q.String())
	}
}

// probe writes a probe as kubectl does: its action and timing.
func (d describer) probe(title string, p *corev1.Probe) {
	if p == nil {
		return
	}
	attrs := fmt.Sprintf("delay=%ds timeout=%ds period=%ds #success=%d #failure=%d",
		p.InitialDelaySeconds, p.TimeoutSeconds, p.PeriodSeconds, p.SuccessThreshold, p.FailureThreshold)
	var action string
	switch {
	case p.Exec != nil:
		action = fmt.Sprintf("exec %v", p.Exec.Command)
	case p.HTTPGet != nil:
		u := url.URL{Scheme: strings.ToLower(string(p.HTTPGet.Scheme)), Host: net.JoinHostPort(p.HTTPGet.Host, p.HTTPGet.Port.String()), Path: p.HTTPGet.Path}
		action = "http-get " + u.String()
	case p.TCPSocket != nil:
		action = fmt.Sprintf("tcp-socket %s:%s", p.TCPSocket.Host, p.TCPSocket.Port.String())
	case p.GRPC != nil:
		service := ""
		if p.GRPC.Service != nil {
			service = *p.GRPC.Service
		}
		action = fmt.Sprintf("grpc <pod>:%d %s", p.GRPC.Port, service)
	default:
		action = "unknown"
	}
	d.line(2, "%s:\t%s %s", title, action, attrs)
}

func (d describer) env(c corev1.Container) {
	if len(c.EnvFrom) > 0 {
		d.line(2, "Environment Variables from:")
		for _, e := range c.EnvFrom {
			kind, name, optional := "", "", (*bool)(nil)
			switch {
			case e.ConfigMapRef != nil:
				kind, name, optional = "ConfigMap", e.ConfigMapRef.Name, e.ConfigMapRef.Optional
			case e.SecretRef != nil:
				kind, name, optional = "Secret", e.SecretRef.Name, e.SecretRef.Optional
			}
			prefix := ""
			if e.Prefix != "" {
				prefix = fmt.Sprintf(" with prefix '%s'", e.Prefix)
			}
			d.line(3, "%s\t%s%s\tOptional: %t", name, kind, prefix, optional != nil && *optional)
		}
	}
	if len(c.Env) == 0 {
		d.line(2, "Environment:\t<none>")
		return
	}
	d.line(2, "Environment:")
	for _, e := range c.Env {
		var v string
		switch f := e.ValueFrom; {
		case f == nil:
			v = strings.ReplaceAll(e.Value, "\n", "\n"+strings.Repeat("  ", 3)+"\t ")
		case f.FieldRef != nil:
			v = fmt.Sprintf("(%s:%s)", f.FieldRef.APIVersion, f.FieldRef.FieldPath)
		case f.ResourceFieldRef != nil:
			v = fmt.Sprintf("%s (%s)", f.ResourceFieldRef.Resource, orNone(f.ResourceFieldRef.ContainerName))
		case f.SecretKeyRef != nil:
			v = fmt.Sprintf("<set to the key '%s' in secret '%s'>\tOptional: %t", f.SecretKeyRef.Key, f.SecretKeyRef.Name, f.SecretKeyRef.Optional != nil && *f.SecretKeyRef.Optional)
		case f.ConfigMapKeyRef != nil:
			v = fmt.Sprintf("<set to the key '%s' of config map '%s'>\tOptional: %t", f.ConfigMapKeyRef.Key, f.ConfigMapKeyRef.Name, f.ConfigMapKeyRef.Optional != nil && *f.ConfigMapKeyRef.Optional)
		default:
			v = "<unknown source>"
		}
		d.line(3, "%s:\t%s", e.Name, v)
	}
}

func (d describer) mounts(ms []corev1.VolumeMount) {
	if len(ms) == 0 {
		d.line(2, "Mounts:\t<none>")
		return
	}
	d.line(2, "Mounts:")
	sorted := append([]corev1.VolumeMount(nil), ms...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].MountPath < sorted[j].MountPath })
	for _, m := range sorted {
		flags := []string{"rw"}
		if m.ReadOnly {
			flags[0] = "ro"
		}
		if m.SubPath != "" {
			flags = append(flags, fmt.Sprintf("path=%q", m.SubPath))
		}
		d.line(3, "%s from %s (%s)", m.MountPath, m.Name, strings.Join(flags, ","))
	}
}

// volumes writes each volume's type and source, as kubectl does for the
// kinds shoal runs.
func (d describer) volumes(vs []corev1.Volume) {
	if len(vs) == 0 {
		d.line(0, "Volumes:\t<none>")
		return
	}
	d.line(0, "Volumes:")
	for _, v := range vs {
		d.line(1, "%s:", v.Name)
		s := v.VolumeSource
		switch {
		case s.EmptyDir != nil:
			d.line(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)")
			d.line(2, "Medium:\t%s", s.EmptyDir.Medium)
			if s.EmptyDir.SizeLimit != nil {
				d.line(2, "SizeLimit:\t%s", s.EmptyDir.SizeLimit.String())
			} else {
				d.line(2, "SizeLimit:\t<unset>")
			}
		case s.ConfigMap != nil:
			d.line(2, "Type:\tConfigMap (a volume populated by a ConfigMap)")
			d.line(2, "Name:\t%s", s.ConfigMap.Name)
			d.line(2, "Optional:\t%t", s.ConfigMap.Optional != nil && *s.ConfigMap.Optional)
		case s.Secret != nil:
			d.line(2, "Type:\tSecret (a volume populated by a Secret)")
			d.line(2, "SecretName:\t%s", s.Secret.SecretName)
			d.line(2, "Optional:\t%t", s.Secret.Optional != nil && *s.Secret.Optional)
		case s.HostPath != nil:
			d.line(2, "Type:\tHostPath (bare host directory volume)")
			d.line(2, "Path:\t%s", s.HostPath.Path)
			t := ""
			if s.HostPath.Type != nil {
				t = string(*s.HostPath.Type)
			}
			d.line(2, "HostPathType:\t%s", t)
		case s.PersistentVolumeClaim != nil:
			d.line(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)")
			d.line(2, "ClaimName:\t%s", s.PersistentVolumeClaim.ClaimName)
			d.line(2, "ReadOnly:\t%t", s.PersistentVolumeClaim.ReadOnly)
		case s.Projected != nil:
			d.line(2, "Type:\tProjected (a volume that contains injected data from multiple sources)")
			for _, src := range s.Projected.Sources {
				switch {
				case src.ConfigMap != nil:
					d.line(2, "ConfigMapName:\t%s", src.ConfigMap.Name)
				case src.Secret != nil:
					d.line(2, "SecretName:\t%s", src.Secret.Name)
				case src.DownwardAPI != nil:
					d.line(2, "DownwardAPI:\ttrue")
				case src.ServiceAccountToken != nil:
					d.line(2, "TokenExpirationSeconds:\t%d", ptrOr(src.ServiceAccountToken.ExpirationSeconds, 0))
				}
			}
		case s.DownwardAPI != nil:
			d.line(2, "Type:\tDownwardAPI (a volume populated by information about the pod)")
			d.line(2, "Items:")
			for _, it := range s.DownwardAPI.Items {
				switch {
				case it.FieldRef != nil:
					d.line(3, "%s -> %s", it.FieldRef.FieldPath, it.Path)
				case it.ResourceFieldRef != nil:
					d.line(3, "%s -> %s", it.ResourceFieldRef.Resource, it.Path)
				}
			}
		default:
			d.line(2, "Type:\t<unknown>")
		}
	}
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
