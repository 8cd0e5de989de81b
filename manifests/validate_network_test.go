package manifests

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func serviceBackend(name string, port int32) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
		Name: name, Port: networkingv1.ServiceBackendPort{Number: port}}}
}

func validIngress() *networkingv1.Ingress {
	prefix, exact := networkingv1.PathTypePrefix, networkingv1.PathTypeExact
	return &networkingv1.Ingress{
		ObjectMeta: meta("web"),
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr("nginx"),
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com", "*.shop.example.com"}, SecretName: "shop-tls"}},
			Rules: []networkingv1.IngressRule{
				{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{
						{Path: "/", PathType: &prefix, Backend: serviceBackend("web", 80)},
						{Path: "/healthz", PathType: &exact, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: "web", Port: networkingv1.ServiceBackendPort{Name: "metrics"}}}},
					}}}},
				{Host: "*.shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: serviceBackend("tenant", 8080)}}}}},
			},
		},
	}
}

func firstPath(i *networkingv1.Ingress) *networkingv1.HTTPIngressPath {
	return &i.Spec.Rules[0].HTTP.Paths[0]
}

func TestValidateIngress(t *testing.T) {
	runErrCases(t, validIngress, []errCase[*networkingv1.Ingress]{
		{name: "valid"},
		{name: "valid default backend only", mutate: func(i *networkingv1.Ingress) {
			i.Spec.Rules = nil
			b := serviceBackend("web", 80)
			i.Spec.DefaultBackend = &b
		}},
		{name: "valid implementation-specific relative-free path", mutate: func(i *networkingv1.Ingress) {
			firstPath(i).PathType = ptr(networkingv1.PathTypeImplementationSpecific)
			firstPath(i).Path = ""
		}},
		{name: "rules or default backend required", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules = nil },
			want: []string{"spec: Invalid value: null: either `defaultBackend` or `rules` must be specified"}},
		{name: "host is an IP", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules[0].Host = "10.0.0.1" },
			want: []string{`spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address`}},
		{name: "wildcard not first", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules[1].Host = "shop.*.example.com" },
			want: []string{`spec.rules[1].host: Invalid value: "shop.*.example.com": a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{name: "pathType required", mutate: func(i *networkingv1.Ingress) { firstPath(i).PathType = nil },
			want: []string{"spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"}},
		{name: "pathType unknown", mutate: func(i *networkingv1.Ingress) { firstPath(i).PathType = ptr[networkingv1.PathType]("Regex") },
			want: []string{`spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"`}},
		{name: "prefix path not absolute", mutate: func(i *networkingv1.Ingress) { firstPath(i).Path = "api" },
			want: []string{`spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path`}},
		{name: "path with //", mutate: func(i *networkingv1.Ingress) { firstPath(i).Path = "/api//v1" },
			want: []string{`spec.rules[0].http.paths[0].path: Invalid value: "/api//v1": must not contain '//'`}},
		{name: "path ending in /..", mutate: func(i *networkingv1.Ingress) { firstPath(i).Path = "/api/.." },
			want: []string{`spec.rules[0].http.paths[0].path: Invalid value: "/api/..": cannot end with '/..'`}},
		{name: "paths required", mutate: func(i *networkingv1.Ingress) { i.Spec.Rules[1].HTTP.Paths = nil },
			want: []string{"spec.rules[1].http.paths: Required value"}},
		{name: "backend missing", mutate: func(i *networkingv1.Ingress) { firstPath(i).Backend = networkingv1.IngressBackend{} },
			want: []string{`spec.rules[0].http.paths[0].backend: Invalid value: "": resource or service backend is required`}},
		{name: "backend both", mutate: func(i *networkingv1.Ingress) {
			firstPath(i).Backend.Resource = &corev1.TypedLocalObjectReference{Kind: "Bucket", Name: "assets"}
		}, want: []string{`spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both resource and service backends`}},
		{name: "service name invalid", mutate: func(i *networkingv1.Ingress) { firstPath(i).Backend.Service.Name = "web.v2" },
			want: []string{`spec.rules[0].http.paths[0].backend.service.name: Invalid value: "web.v2": ` + dns1035LabelMsg}},
		{name: "service name required", mutate: func(i *networkingv1.Ingress) { firstPath(i).Backend.Service.Name = "" },
			want: []string{"spec.rules[0].http.paths[0].backend.service.name: Required value"}},
		{name: "port name and number", mutate: func(i *networkingv1.Ingress) { firstPath(i).Backend.Service.Port.Name = "http" },
			want: []string{`spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both port name & port number`}},
		{name: "port missing", mutate: func(i *networkingv1.Ingress) { firstPath(i).Backend.Service.Port.Number = 0 },
			want: []string{"spec.rules[0].http.paths[0].backend: Required value: port name or number is required"}},
		{name: "port number out of range", mutate: func(i *networkingv1.Ingress) { firstPath(i).Backend.Service.Port.Number = 70000 },
			want: []string{"spec.rules[0].http.paths[0].backend.service.port.number: Invalid value: 70000: " + portRangeMsg}},
		{name: "resource backend kind required", mutate: func(i *networkingv1.Ingress) {
			firstPath(i).Backend = networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{Name: "assets"}}
		}, want: []string{"spec.rules[0].http.paths[0].backend.resource.kind: Required value: kind is required"}},
		{name: "tls host invalid", mutate: func(i *networkingv1.Ingress) { i.Spec.TLS[0].Hosts[0] = "Shop.example.com" },
			want: []string{`spec.tls[0].hosts[0]: Invalid value: "Shop.example.com": ` + dns1123SubdomainMsg}},
		{name: "tls secret name invalid", mutate: func(i *networkingv1.Ingress) { i.Spec.TLS[0].SecretName = "shop_tls" },
			want: []string{`spec.tls[0].secretName: Invalid value: "shop_tls": ` + dns1123SubdomainMsg}},
		{name: "class annotation mismatch", mutate: func(i *networkingv1.Ingress) {
			i.Annotations = map[string]string{"kubernetes.io/ingress.class": "traefik"}
		}, want: []string{"metadata.annotations[kubernetes.io/ingress.class]: Invalid value: \"traefik\": must match `ingressClassName` when both are specified"}},
	})
}

func validNetworkPolicy() *networkingv1.NetworkPolicy {
	tcp := corev1.ProtocolTCP
	port, dns := intstr.FromInt32(5432), intstr.FromString("dns")
	return &networkingv1.NetworkPolicy{
		ObjectMeta: meta("db-access"),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}},
				From: []networkingv1.NetworkPolicyPeer{
					{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
						NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "shop"}}},
					{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/16", Except: []string{"10.0.5.0/24"}}},
				},
			}},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr(intstr.FromInt32(32000)), EndPort: ptr[int32](32768)}, {Port: &dns}},
			}},
		},
	}
}

func TestValidateNetworkPolicy(t *testing.T) {
	runErrCases(t, validNetworkPolicy, []errCase[*networkingv1.NetworkPolicy]{
		{name: "valid"},
		{name: "podSelector invalid", mutate: func(n *networkingv1.NetworkPolicy) {
			n.Spec.PodSelector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists, Values: []string{"db"}}}
		}, want: []string{"spec.podSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"}},
		{name: "protocol unknown", mutate: func(n *networkingv1.NetworkPolicy) {
			n.Spec.Ingress[0].Ports[0].Protocol = ptr[corev1.Protocol]("ICMP")
		},
			want: []string{`spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"`}},
		{name: "port out of range", mutate: func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].Ports[0].Port = ptr(intstr.FromInt32(0)) },
			want: []string{"spec.ingress[0].ports[0].port: Invalid value: 0: " + portRangeMsg}},
		{name: "endPort below port", mutate: func(n *networkingv1.NetworkPolicy) { n.Spec.Egress[0].Ports[0].EndPort = ptr[int32](31000) },
			want: []string{"spec.egress[0].ports[0].endPort: Invalid value: 32000: must be greater than or equal to `port`"}},
		{name: "endPort with named port", mutate: func(n *networkingv1.NetworkPolicy) { n.Spec.Egress[0].Ports[1].EndPort = ptr[int32](60) },
			want: []string{"spec.egress[0].ports[1].endPort: Invalid value: 60: may not be specified when `port` is non-numeric"}},
		{name: "endPort without port", mutate: func(n *networkingv1.NetworkPolicy) {
			n.Spec.Egress[0].Ports[1] = networkingv1.NetworkPolicyPort{EndPort: ptr[int32](60)}
		}, want: []string{"spec.egress[0].ports[1].endPort: Invalid value: 60: may not be specified when `port` is not specified"}},
		{name: "peer empty", mutate: func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].From[0] = networkingv1.NetworkPolicyPeer{} },
			want: []string{"spec.ingress[0].from[0]: Required value: must specify a peer"}},
		{name: "ipBlock with selector", mutate: func(n *networkingv1.NetworkPolicy) {
			n.Spec.Ingress[0].From[1].PodSelector = &metav1.LabelSelector{}
		}, want: []string{"spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer"}},
		{name: "cidr required", mutate: func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].From[1].IPBlock.CIDR = "" },
			want: []string{"spec.ingress[0].from[1].ipBlock.cidr: Required value"}},
		{name: "cidr invalid", mutate: func(n *networkingv1.NetworkPolicy) { n.Spec.Ingress[0].From[1].IPBlock.CIDR = "10.0.0.0/40" },
			want: []string{`spec.ingress[0].from[1].ipBlock.cidr: Invalid value: "10.0.0.0/40": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`}},
		{name: "except outside cidr", mutate: func(n *networkingv1.NetworkPolicy) {
			n.Spec.Ingress[0].From[1].IPBlock.Except = []string{"192.168.0.0/24"}
		},
			want: []string{"spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: \"192.168.0.0/24\": must be a strict subset of `cidr`"}},
		{name: "except equal to cidr", mutate: func(n *networkingv1.NetworkPolicy) {
			n.Spec.Ingress[0].From[1].IPBlock.Except = []string{"10.0.0.0/16"}
		},
			want: []string{"spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: \"10.0.0.0/16\": must be a strict subset of `cidr`"}},
		{name: "policyType unknown", mutate: func(n *networkingv1.NetworkPolicy) { n.Spec.PolicyTypes = []networkingv1.PolicyType{"Both"} },
			want: []string{`spec.policyTypes[0]: Unsupported value: "Both": supported values: "Ingress", "Egress"`}},
		{name: "too many policyTypes", mutate: func(n *networkingv1.NetworkPolicy) {
			n.Spec.PolicyTypes = append(n.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
		}, want: []string{`spec.policyTypes: Invalid value: ["Ingress","Egress","Ingress"]: may not specify more than two policyTypes`}},
	})
}

func TestValidateIngressResourceBackend(t *testing.T) {
	base := func() *networkingv1.Ingress {
		return &networkingv1.Ingress{
			ObjectMeta: meta("assets"),
			Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Resource: &corev1.TypedLocalObjectReference{
				APIGroup: ptr("k8s.example.com"), Kind: "StorageBucket", Name: "static-assets"}}},
		}
	}
	runErrCases(t, base, []errCase[*networkingv1.Ingress]{
		{name: "valid"},
		{name: "name with slash", mutate: func(i *networkingv1.Ingress) { i.Spec.DefaultBackend.Resource.Name = "a/b" },
			want: []string{`spec.defaultBackend.resource.name: Invalid value: "a/b": may not contain '/'`}},
		{name: "name required", mutate: func(i *networkingv1.Ingress) { i.Spec.DefaultBackend.Resource.Name = "" },
			want: []string{"spec.defaultBackend.resource.name: Required value: name is required"}},
		{name: "apiGroup invalid", mutate: func(i *networkingv1.Ingress) { i.Spec.DefaultBackend.Resource.APIGroup = ptr("K8s") },
			want: []string{`spec.defaultBackend.resource.apiGroup: Invalid value: "K8s": ` + dns1123SubdomainMsg}},
		{name: "ingressClassName invalid", mutate: func(i *networkingv1.Ingress) { i.Spec.IngressClassName = ptr("Nginx") },
			want: []string{`spec.ingressClassName: Invalid value: "Nginx": ` + dns1123SubdomainMsg}},
	})
}
