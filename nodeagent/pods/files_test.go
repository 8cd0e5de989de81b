package pods

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestHostsFile(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "shop"},
		Spec: corev1.PodSpec{Subdomain: "web", HostAliases: []corev1.HostAlias{{IP: "10.0.0.9", Hostnames: []string{"db", "db.local"}}}}}
	got := string(HostsFile(pod, "10.244.1.7", "cluster.local"))
	want := "# Kubernetes-managed hosts file (written by shoal).\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
		"10.244.1.7\tweb-0.web.shop.svc.cluster.local\tweb-0\n\n# Entries added by HostAliases.\n10.0.0.9\tdb\tdb.local\n"
	if got != want {
		t.Errorf("hosts:\n%s\nwant:\n%s", got, want)
	}
	pod.Spec.HostNetwork = true
	if HostsFile(pod, "10.244.1.7", "cluster.local") != nil {
		t.Error("host-network pods get the host's file")
	}
}

func TestResolvConf(t *testing.T) {
	host := []byte("# host\nnameserver 192.0.2.53\nsearch corp.example\noptions edns0\n")
	five := "2"
	tests := []struct {
		name    string
		policy  corev1.DNSPolicy
		hostNet bool
		cfg     *corev1.PodDNSConfig
		dns     []string
		want    string
	}{
		{"cluster first", corev1.DNSClusterFirst, false, nil, []string{"10.96.0.10"},
			"nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n"},
		{"cluster first without cluster DNS falls back to the host", corev1.DNSClusterFirst, false, nil, nil,
			"nameserver 192.0.2.53\nsearch corp.example\noptions edns0\n"},
		{"default", corev1.DNSDefault, false, nil, []string{"10.96.0.10"},
			"nameserver 192.0.2.53\nsearch corp.example\noptions edns0\n"},
		{"host network with cluster first uses the host", corev1.DNSClusterFirst, true, nil, []string{"10.96.0.10"},
			"nameserver 192.0.2.53\nsearch corp.example\noptions edns0\n"},
		{"none with dnsConfig", corev1.DNSNone, false, &corev1.PodDNSConfig{Nameservers: []string{"1.2.3.4"}, Searches: []string{"a.example"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &five}}}, nil,
			"nameserver 1.2.3.4\nsearch a.example\noptions ndots:2\n"},
		{"cluster first with an option override", corev1.DNSClusterFirst, false, &corev1.PodDNSConfig{Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &five}}}, []string{"10.96.0.10"},
			"nameserver 10.96.0.10\nsearch shop.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop"}, Spec: corev1.PodSpec{DNSPolicy: tt.policy, HostNetwork: tt.hostNet, DNSConfig: tt.cfg}}
			if got := string(ResolvConf(pod, DNSConfig{ClusterDNS: tt.dns, HostResolvConf: host})); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
