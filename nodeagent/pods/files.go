package pods

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// DNSConfig is the node's DNS setup for pods.
type DNSConfig struct {
	// ClusterDNS are the cluster resolver addresses (empty until the node
	// runs one: pods with ClusterFirst then get the host's resolver, as the
	// kubelet does when it has no cluster DNS).
	ClusterDNS []string
	// ClusterDomain is the cluster's DNS suffix, "cluster.local" by default.
	ClusterDomain string
	// HostResolvConf is the content of the host's /etc/resolv.conf.
	HostResolvConf []byte
}

// Hostname returns the pod's hostname: spec.hostname, or the pod's name,
// cut to 63 characters as Kubernetes does.
func Hostname(pod *corev1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// HostsFile returns the managed /etc/hosts of a pod: localhost entries,
// the pod's own address and names, and spec.hostAliases. Pods on the host
// network get nothing managed (nil): they see the host's file.
func HostsFile(pod *corev1.Pod, podIP, clusterDomain string) []byte {
	if pod.Spec.HostNetwork {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("# Kubernetes-managed hosts file (written by shoal).\n")
	b.WriteString("127.0.0.1\tlocalhost\n")
	b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	if podIP != "" {
		host := Hostname(pod)
		if pod.Spec.Subdomain != "" {
			fmt.Fprintf(&b, "%s\t%s.%s.%s.svc.%s\t%s\n", podIP, host, pod.Spec.Subdomain, pod.Namespace, clusterDomain, host)
		} else {
			fmt.Fprintf(&b, "%s\t%s\n", podIP, host)
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.Bytes()
}

// ResolvConf returns a pod's /etc/resolv.conf for its dnsPolicy and
// dnsConfig, as the kubelet builds it.
func ResolvConf(pod *corev1.Pod, dns DNSConfig) []byte {
	domain := dns.ClusterDomain
	if domain == "" {
		domain = "cluster.local"
	}
	hostNS, hostSearch, hostOpts := parseResolvConf(dns.HostResolvConf)
	var ns, search, opts []string
	policy := pod.Spec.DNSPolicy
	if policy == corev1.DNSClusterFirst && pod.Spec.HostNetwork {
		policy = corev1.DNSDefault
	}
	if policy == corev1.DNSClusterFirstWithHostNet {
		policy = corev1.DNSClusterFirst
	}
	switch policy {
	case corev1.DNSNone:
	case corev1.DNSDefault:
		ns, search, opts = hostNS, hostSearch, hostOpts
	default: // ClusterFirst
		if len(dns.ClusterDNS) == 0 {
			ns, search, opts = hostNS, hostSearch, hostOpts
			break
		}
		ns = append(ns, dns.ClusterDNS...)
		search = append([]string{pod.Namespace + ".svc." + domain, "svc." + domain, domain}, hostSearch...)
		opts = []string{"ndots:5"}
	}
	if c := pod.Spec.DNSConfig; c != nil {
		ns = appendUnique(ns, c.Nameservers...)
		search = appendUnique(search, c.Searches...)
		for _, o := range c.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			opts = mergeOption(opts, opt)
		}
	}
	if len(ns) > 3 {
		ns = ns[:3]
	}
	if len(search) > 32 {
		search = search[:32]
	}
	var b bytes.Buffer
	for _, n := range ns {
		fmt.Fprintf(&b, "nameserver %s\n", n)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(opts) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(opts, " "))
	}
	return b.Bytes()
}

func parseResolvConf(data []byte) (ns, search, opts []string) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			ns = append(ns, f[1])
		case "search", "domain":
			search = f[1:]
		case "options":
			opts = append(opts, f[1:]...)
		}
	}
	return ns, search, opts
}

func appendUnique(list []string, more ...string) []string {
	for _, m := range more {
		dup := false
		for _, l := range list {
			if l == m {
				dup = true
			}
		}
		if !dup {
			list = append(list, m)
		}
	}
	return list
}

// mergeOption adds opt, replacing an option of the same name.
func mergeOption(opts []string, opt string) []string {
	name, _, _ := strings.Cut(opt, ":")
	for i, o := range opts {
		if n, _, _ := strings.Cut(o, ":"); n == name {
			opts[i] = opt
			return opts
		}
	}
	return append(opts, opt)
}
