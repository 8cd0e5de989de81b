package manifests

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// validService returns a ClusterIP Service with two ports, defaulted.
func validService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: meta("web"),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{
				{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("http")},
				{Name: "metrics", Protocol: corev1.ProtocolTCP, Port: 9090, TargetPort: intstr.FromInt32(9090)},
			},
			SessionAffinity:       corev1.ServiceAffinityNone,
			InternalTrafficPolicy: ptr(corev1.ServiceInternalTrafficPolicyCluster),
		},
	}
}

// validNodePortService returns a NodePort Service, defaulted.
func validNodePortService() *corev1.Service {
	svc := validService()
	svc.Spec.Type = corev1.ServiceTypeNodePort
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	svc.Spec.Ports[0].NodePort = 30080
	return svc
}

// validLoadBalancerService returns a LoadBalancer Service, defaulted.
func validLoadBalancerService() *corev1.Service {
	svc := validNodePortService()
	svc.Spec.Type = corev1.ServiceTypeLoadBalancer
	svc.Spec.AllocateLoadBalancerNodePorts = ptr(true)
	svc.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8", " 192.168.0.0/16 "}
	return svc
}

func TestValidateService(t *testing.T) {
	runErrCases(t, validService, []errCase[*corev1.Service]{
		{name: "valid"},
		{name: "valid headless without ports", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP = corev1.ClusterIPNone
			s.Spec.Ports = nil
		}},
		{name: "valid dual-stack cluster IPs", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.96.0.10"
			s.Spec.ClusterIPs = []string{"10.96.0.10", "fd00::a"}
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
			s.Spec.IPFamilyPolicy = ptr(corev1.IPFamilyPolicyRequireDualStack)
		}},
		{name: "valid ClientIP affinity", mutate: func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr[int32](10800)}}
		}},
		{name: "ports required", mutate: func(s *corev1.Service) { s.Spec.Ports = nil },
			want: []string{"spec.ports: Required value"}},
		{name: "port zero", mutate: func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 },
			want: []string{"spec.ports[0].port: Invalid value: 0: " + portRangeMsg}},
		{name: "port too large", mutate: func(s *corev1.Service) {
			s.Spec.Ports[1].Port = 70000
			s.Spec.Ports[1].TargetPort = intstr.FromInt32(9090)
		},
			want: []string{"spec.ports[1].port: Invalid value: 70000: " + portRangeMsg}},
		{name: "name required with several ports", mutate: func(s *corev1.Service) { s.Spec.Ports[1].Name = "" },
			want: []string{"spec.ports[1].name: Required value"}},
		{name: "single port needs no name", mutate: func(s *corev1.Service) {
			s.Spec.Ports = s.Spec.Ports[:1]
			s.Spec.Ports[0].Name = ""
		}},
		{name: "port name not a label", mutate: func(s *corev1.Service) { s.Spec.Ports[0].Name = "HTTP" },
			want: []string{`spec.ports[0].name: Invalid value: "HTTP": ` + dns1123LabelMsg}},
		{name: "duplicate port name", mutate: func(s *corev1.Service) { s.Spec.Ports[1].Name = "http" },
			want: []string{`spec.ports[1].name: Duplicate value: "http"`}},
		{name: "duplicate port", mutate: func(s *corev1.Service) { s.Spec.Ports[1].Port = 80 },
			want: []string{`spec.ports[1]: Duplicate value: {"protocol":"TCP","port":80,"targetPort":0}`}},
		{name: "protocol unknown", mutate: func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "HTTP" },
			want: []string{`spec.ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`}},
		{name: "targetPort bad name", mutate: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("web_port") },
			want: []string{`spec.ports[0].targetPort: Invalid value: "web_port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`}},
		{name: "targetPort bad number", mutate: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(65536) },
			want: []string{"spec.ports[0].targetPort: Invalid value: 65536: " + portRangeMsg}},
		{name: "nodePort on ClusterIP", mutate: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 },
			want: []string{"spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"}},
		{name: "unknown type", mutate: func(s *corev1.Service) { s.Spec.Type = "Internal" },
			want: []string{`spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`}},
		{name: "invalid clusterIP", mutate: func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.300" },
			want: []string{`spec.clusterIP: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`}},
		{name: "clusterIPs do not match clusterIP", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.96.0.10"
			s.Spec.ClusterIPs = []string{"10.96.0.11"}
		}, want: []string{"spec.clusterIPs: Invalid value: [\"10.96.0.11\"]: first value must match `clusterIP`"}},
		{name: "two IPv4 cluster IPs", mutate: func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"10.96.0.10", "10.96.0.11"} },
			want: []string{`spec.clusterIPs: Invalid value: ["10.96.0.10","10.96.0.11"]: may specify no more than one IP for each IP family`}},
		{name: "unknown IP family", mutate: func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{"IPv5"} },
			want: []string{`spec.ipFamilies[0]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"`}},
		{name: "sessionAffinity unknown", mutate: func(s *corev1.Service) { s.Spec.SessionAffinity = "Cookie" },
			want: []string{`spec.sessionAffinity: Unsupported value: "Cookie": supported values: "ClientIP", "None"`}},
		{name: "sessionAffinity timeout too large", mutate: func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr[int32](86401)}}
		}, want: []string{"spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be greater than 0 and less than 86400"}},
		{name: "sessionAffinity timeout zero", mutate: func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr[int32](0)}}
		}, want: []string{"spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400"}},
		{name: "sessionAffinityConfig with None", mutate: func(s *corev1.Service) {
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{}
		}, want: []string{"spec.sessionAffinityConfig: Forbidden: must not be set when session affinity is None"}},
		{name: "externalTrafficPolicy on ClusterIP", mutate: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}, want: []string{`spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services`}},
		{name: "selector invalid", mutate: func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "web!"} },
			want: []string{`spec.selector: Invalid value: "web!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`}},
		{name: "loadBalancerSourceRanges on ClusterIP", mutate: func(s *corev1.Service) {
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
		}, want: []string{"spec.loadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'"}},
		{name: "externalIP loopback", mutate: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"127.0.0.1"} },
			want: []string{`spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)`}},
		{name: "internalTrafficPolicy required", mutate: func(s *corev1.Service) { s.Spec.InternalTrafficPolicy = nil },
			want: []string{"spec.internalTrafficPolicy: Required value"}},
		{name: "appProtocol invalid", mutate: func(s *corev1.Service) { s.Spec.Ports[0].AppProtocol = ptr("h2c!") },
			want: []string{`spec.ports[0].appProtocol: Invalid value: "h2c!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
	})
}

func TestValidateNodePortService(t *testing.T) {
	runErrCases(t, validNodePortService, []errCase[*corev1.Service]{
		{name: "valid"},
		{name: "nodePort below range", mutate: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 8080 },
			want: []string{"spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767"}},
		{name: "nodePort above range", mutate: func(s *corev1.Service) { s.Spec.Ports[1].NodePort = 32768 },
			want: []string{"spec.ports[1].nodePort: Invalid value: 32768: provided port is not in the valid range. The range of valid ports is 30000-32767"}},
		{name: "duplicate nodePort", mutate: func(s *corev1.Service) { s.Spec.Ports[1].NodePort = 30080 },
			want: []string{"spec.ports[1].nodePort: Duplicate value: 30080"}},
		{name: "headless NodePort", mutate: func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone },
			want: []string{`spec.clusterIP: Invalid value: "None": may not be set to 'None' for NodePort services`}},
		{name: "externalTrafficPolicy required", mutate: func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = "" },
			want: []string{"spec.externalTrafficPolicy: Required value"}},
		{name: "externalTrafficPolicy unknown", mutate: func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = "Nearest" },
			want: []string{`spec.externalTrafficPolicy: Unsupported value: "Nearest": supported values: "Cluster", "Local"`}},
		{name: "healthCheckNodePort without LoadBalancer", mutate: func(s *corev1.Service) { s.Spec.HealthCheckNodePort = 30500 },
			want: []string{"spec.healthCheckNodePort: Invalid value: 30500: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"}},
	})
}

func TestValidateLoadBalancerService(t *testing.T) {
	runErrCases(t, validLoadBalancerService, []errCase[*corev1.Service]{
		{name: "valid"},
		{name: "valid Local with health check port", mutate: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = 31000
		}},
		{name: "bad source range", mutate: func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.1/33"} },
			want: []string{`spec.loadBalancerSourceRanges[0]: Invalid value: "10.0.0.1/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`}},
		{name: "allocateLoadBalancerNodePorts required", mutate: func(s *corev1.Service) { s.Spec.AllocateLoadBalancerNodePorts = nil },
			want: []string{"spec.allocateLoadBalancerNodePorts: Required value"}},
		{name: "loadBalancerClass invalid", mutate: func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptr("my lb") },
			want: []string{`spec.loadBalancerClass: Invalid value: "my lb": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		{name: "health check port out of range", mutate: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = 80
		}, want: []string{"spec.healthCheckNodePort: Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767"}},
	})
}

func TestValidateExternalNameService(t *testing.T) {
	base := func() *corev1.Service {
		return &corev1.Service{
			ObjectMeta: meta("db"),
			Spec: corev1.ServiceSpec{
				Type:            corev1.ServiceTypeExternalName,
				ExternalName:    "db.example.com.",
				SessionAffinity: corev1.ServiceAffinityNone,
			},
		}
	}
	runErrCases(t, base, []errCase[*corev1.Service]{
		{name: "valid without ports"},
		{name: "externalName required", mutate: func(s *corev1.Service) { s.Spec.ExternalName = "" },
			want: []string{"spec.externalName: Required value"}},
		{name: "externalName invalid", mutate: func(s *corev1.Service) { s.Spec.ExternalName = "db_host" },
			want: []string{`spec.externalName: Invalid value: "db_host": ` + dns1123SubdomainMsg}},
		{name: "clusterIP forbidden", mutate: func(s *corev1.Service) { s.Spec.ClusterIP = "None" },
			want: []string{"spec.clusterIP: Forbidden: may not be set for ExternalName services"}},
		{name: "nodePort forbidden", mutate: func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Protocol: corev1.ProtocolTCP, Port: 5432, TargetPort: intstr.FromInt32(5432), NodePort: 30432}}
		}, want: []string{"spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ExternalName'"}},
	})
}

func validEndpoints() *corev1.Endpoints {
	return &corev1.Endpoints{
		ObjectMeta: meta("legacy-db"),
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.0.3.7"}, {IP: "2001:db8::7", Hostname: "db-1"}},
			Ports:     []corev1.EndpointPort{{Name: "pg", Port: 5432, Protocol: corev1.ProtocolTCP}},
		}},
	}
}

func TestValidateEndpoints(t *testing.T) {
	runErrCases(t, validEndpoints, []errCase[*corev1.Endpoints]{
		{name: "valid"},
		{name: "addresses required", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Addresses = nil },
			want: []string{"subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"}},
		{name: "invalid IP", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "db.local" },
			want: []string{`subsets[0].addresses[0].ip: Invalid value: "db.local": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`}},
		{name: "link-local IP", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "169.254.1.1" },
			want: []string{`subsets[0].addresses[0].ip: Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)`}},
		{name: "unspecified IP", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].IP = "0.0.0.0" },
			want: []string{`subsets[0].addresses[0].ip: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)`}},
		{name: "port invalid", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Port = 0 },
			want: []string{"subsets[0].ports[0].port: Invalid value: 0: " + portRangeMsg}},
		{name: "port name required with several ports", mutate: func(e *corev1.Endpoints) {
			e.Subsets[0].Ports = append(e.Subsets[0].Ports, corev1.EndpointPort{Port: 9187, Protocol: corev1.ProtocolTCP})
		}, want: []string{"subsets[0].ports[1].name: Required value"}},
		{name: "protocol required", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Protocol = "" },
			want: []string{"subsets[0].ports[0].protocol: Required value"}},
		{name: "hostname invalid", mutate: func(e *corev1.Endpoints) { e.Subsets[0].Addresses[1].Hostname = "db.1" },
			want: []string{`subsets[0].addresses[1].hostname: Invalid value: "db.1": must not contain dots`}},
	})
}

func TestValidateServiceMore(t *testing.T) {
	runErrCases(t, validService, []errCase[*corev1.Service]{
		{name: "valid traffic distribution", mutate: func(s *corev1.Service) {
			s.Spec.TrafficDistribution = ptr(corev1.ServiceTrafficDistributionPreferClose)
		}},
		{name: "traffic distribution unknown", mutate: func(s *corev1.Service) { s.Spec.TrafficDistribution = ptr("Nearest") },
			want: []string{`spec.trafficDistribution: Unsupported value: "Nearest": supported values: "PreferClose", "PreferSameZone", "PreferSameNode"`}},
		{name: "internalTrafficPolicy unknown", mutate: func(s *corev1.Service) {
			s.Spec.InternalTrafficPolicy = ptr[corev1.ServiceInternalTrafficPolicy]("Node")
		},
			want: []string{`spec.internalTrafficPolicy: Unsupported value: "Node": supported values: "Cluster", "Local"`}},
		{name: "loadBalancerClass on ClusterIP", mutate: func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptr("example.com/lb") },
			want: []string{"spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer'"}},
		{name: "allocateLoadBalancerNodePorts on ClusterIP", mutate: func(s *corev1.Service) { s.Spec.AllocateLoadBalancerNodePorts = ptr(true) },
			want: []string{"spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer'"}},
		{name: "source ranges annotation on ClusterIP", mutate: func(s *corev1.Service) {
			s.Annotations = map[string]string{"service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8,bad"}
		}, want: []string{
			"metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Forbidden: may only be used when `type` is 'LoadBalancer'",
			`metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Invalid value: "bad": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`,
		}},
		{name: "topology annotations disagree", mutate: func(s *corev1.Service) {
			s.Annotations = map[string]string{"service.kubernetes.io/topology-aware-hints": "auto", "service.kubernetes.io/topology-mode": "Disabled"}
		}, want: []string{`metadata.annotations[service.kubernetes.io/topology-mode]: Invalid value: "Disabled": must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified`}},
		{name: "ipFamilyPolicy unknown", mutate: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptr[corev1.IPFamilyPolicy]("DualStack") },
			want: []string{`spec.ipFamilyPolicy: Unsupported value: "DualStack": supported values: "PreferDualStack", "RequireDualStack", "SingleStack"`}},
		{name: "None not alone", mutate: func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"None", "10.96.0.1"} },
			want: []string{`spec.clusterIPs: Invalid value: ["None","10.96.0.1"]: 'None' must be the first and only value`}},
		{name: "cluster IP family mismatch", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.96.0.10"
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
		}, want: []string{"spec.clusterIP: Invalid value: \"10.96.0.10\": expected an IPv6 value as indicated by `ipFamilies[0]`"}},
		{name: "ClientIP without config", mutate: func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP },
			want: []string{"spec.sessionAffinityConfig: Required value: when session affinity type is ClientIP"}},
		{name: "externalTrafficPolicy allowed with externalIPs", mutate: func(s *corev1.Service) {
			s.Spec.ExternalIPs = []string{"203.0.113.10"}
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}},
	})
}
