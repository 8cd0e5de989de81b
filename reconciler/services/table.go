// Package services computes the cluster routing table: what every node
// needs to route Service traffic, answer DNS and serve Ingress. It is a
// pure function, Compute(Input) Plan: the leader runs it at every step with
// the desired Services, Endpoints and Ingresses, the pods the nodes report
// and the ledger's address allocations, records the new allocations, and
// sends the same Table to every node (gossip/transport NodeState.Routes).
//
// # Rules
//
//   - A Service of type ClusterIP, NodePort or LoadBalancer gets a cluster
//     IP from Input.ServiceCIDR: spec.clusterIP when given (it must be in
//     the range and free), else an address derived from the Service's
//     namespace and name (the next free one on a clash). Allocations are
//     ledger records, so a Service keeps its address across leaders.
//     clusterIP None makes a headless Service (no address, DNS answers with
//     the endpoints).
//   - NodePort and LoadBalancer ports get a node port from
//     Input.NodePortRange (default 30000-32767), spec's nodePort when
//     given; a LoadBalancer with externalTrafficPolicy Local also gets a
//     health-check node port.
//   - A LoadBalancer gets an address from Input.LoadBalancerPool
//     (spec.loadBalancerIP when given and in the pool) and one announcing
//     node, chosen by rendezvous hashing over the ready nodes — with
//     externalTrafficPolicy Local, over the ready nodes that run one of its
//     ready endpoints when there are any — so the choice moves only when
//     that node goes.
//   - Endpoints of a Service with a selector are the reported pods of its
//     namespace on live nodes that match it and have an IP, are not
//     quarantined and have not ended; Ready is the pod's Ready condition.
//     targetPort by name is looked up in each pod's container ports (a pod
//     without that port is no endpoint of that service port). A Service
//     without a selector takes the repository's Endpoints object of the
//     same name.
//   - An Ingress's backends are resolved to their Service's ready
//     endpoints (the target address of the named or numbered port), and
//     its TLS secrets to their certificate and key.
//   - With at least one NetworkPolicy in the desired state, Table.Policy
//     carries the policies, the labels of the Namespace objects and every
//     reported pod of the live nodes that has an address and has not ended
//     (namespace, name, labels, node, IP, the node's addresses, hostNetwork,
//     named container ports), for each node to judge connections with
//     package policies/network. Without one it is nil: a table stays small
//     when there is nothing to enforce.
//   - A problem with one object (an address out of range, a pool used up)
//     is in Plan.Errors and leaves that object out; the rest goes on.
package services

import (
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// Table is the cluster routing table. Slices are sorted (Nodes by name,
// Services and Ingresses by namespace and name), so equal tables encode
// alike.
type Table struct {
	// ServiceCIDR is the range cluster IPs come from: traffic to an
	// address in it that no Service owns is refused.
	ServiceCIDR netip.Prefix `json:"serviceCIDR"`
	// ClusterDomain is the DNS domain of the cluster ("cluster.local").
	ClusterDomain string `json:"clusterDomain"`
	// NodePortRange is the range node ports come from.
	NodePortRange PortRange `json:"nodePortRange"`
	Nodes         []Node    `json:"nodes,omitempty"`
	Services      []Service `json:"services,omitempty"`
	Ingresses     []Ingress `json:"ingresses,omitempty"`
	// Policy is what nodes enforce NetworkPolicies from; nil when the
	// desired state has no NetworkPolicy.
	Policy *Policy `json:"policy,omitempty"`
}

// PortRange is an inclusive range of ports.
type PortRange struct {
	First int32 `json:"first"`
	Last  int32 `json:"last"`
}

// Contains reports whether p is in the range.
func (r PortRange) Contains(p int32) bool { return p >= r.First && p <= r.Last }

// Node is a live node: where its pods are reached.
type Node struct {
	Name    string       `json:"name"`
	Address netip.Addr   `json:"address"`
	PodCIDR netip.Prefix `json:"podCIDR"`
	// Ready says the node is live and its Ready condition is True.
	Ready bool `json:"ready,omitempty"`
}

// Service is one Service as nodes route it.
type Service struct {
	Namespace string             `json:"namespace"`
	Name      string             `json:"name"`
	Type      corev1.ServiceType `json:"type"`
	// ClusterIP is the Service's address; invalid when Headless or
	// ExternalName.
	ClusterIP netip.Addr `json:"clusterIP,omitzero"`
	Headless  bool       `json:"headless,omitempty"`
	// ExternalName is the CNAME target of an ExternalName Service.
	ExternalName string `json:"externalName,omitempty"`
	// LoadBalancerIP is a LoadBalancer's address, announced by the node
	// named Announcer.
	LoadBalancerIP netip.Addr `json:"loadBalancerIP,omitzero"`
	Announcer      string     `json:"announcer,omitempty"`
	// ExternalIPs are spec.externalIPs: routed like the cluster IP on
	// every node (the network must bring the traffic to a node).
	ExternalIPs []netip.Addr `json:"externalIPs,omitempty"`
	Ports       []Port       `json:"ports,omitempty"`
	// Affinity is the ClientIP session affinity timeout; zero means none.
	Affinity time.Duration `json:"affinity,omitempty"`
	// ExternalLocal and InternalLocal are the traffic policies Local:
	// external (node port, load balancer, external IPs) and internal
	// (cluster IP) traffic goes only to the node's own endpoints.
	ExternalLocal bool `json:"externalLocal,omitempty"`
	InternalLocal bool `json:"internalLocal,omitempty"`
	// HealthCheckNodePort answers 200 on nodes with a ready local
	// endpoint and 503 elsewhere (LoadBalancer with ExternalLocal).
	HealthCheckNodePort int32 `json:"healthCheckNodePort,omitempty"`
	// PublishNotReady is spec.publishNotReadyAddresses: DNS lists
	// endpoints that are not ready too.
	PublishNotReady bool       `json:"publishNotReady,omitempty"`
	Endpoints       []Endpoint `json:"endpoints,omitempty"`
}

// Port is one port of a Service.
type Port struct {
	Name     string          `json:"name,omitempty"`
	Protocol corev1.Protocol `json:"protocol"`
	Port     int32           `json:"port"`
	NodePort int32           `json:"nodePort,omitempty"`
	// AppProtocol is spec.ports[].appProtocol, for DNS SRV and ingress.
	AppProtocol string `json:"appProtocol,omitempty"`
}

// Endpoint is one address behind a Service, sorted by IP.
type Endpoint struct {
	IP netip.Addr `json:"ip"`
	// Node is the node the endpoint runs on ("" when not a pod of the
	// cluster, as a manual Endpoints address outside it).
	Node string `json:"node,omitempty"`
	// Pod is the pod's name, when the endpoint is a pod.
	Pod string `json:"pod,omitempty"`
	// Hostname is the pod's DNS name in a headless Service
	// (spec.hostname with spec.subdomain equal to the Service's name), or
	// the Endpoints address's hostname.
	Hostname string `json:"hostname,omitempty"`
	Ready    bool   `json:"ready,omitempty"`
	// Ports maps each Service port's name ("" for a single unnamed port)
	// to the port the endpoint listens on; a Service port missing here is
	// not served by this endpoint.
	Ports map[string]int32 `json:"ports,omitempty"`
}

// Target returns the endpoint's address for Service port p, and whether
// it serves that port.
func (e Endpoint) Target(p Port) (netip.AddrPort, bool) {
	port, ok := e.Ports[p.Name]
	if !ok {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(e.IP, uint16(port)), true
}

// Key is the Service's "namespace/name".
func (s *Service) Key() string { return s.Namespace + "/" + s.Name }

// Port returns the Service port named name, or numbered number when name
// is "".
func (s *Service) Port(name string, number int32) (Port, bool) {
	for _, p := range s.Ports {
		if (name != "" && p.Name == name) || (name == "" && p.Port == number) {
			return p, true
		}
	}
	return Port{}, false
}

// Ingress is one Ingress with its backends resolved.
type Ingress struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// ClassName is spec.ingressClassName ("" when unset).
	ClassName   string            `json:"className,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	TLS         []TLS             `json:"tls,omitempty"`
	Rules       []Rule            `json:"rules,omitempty"`
	// DefaultBackend serves requests no rule matches; nil when none.
	DefaultBackend *Backend `json:"defaultBackend,omitempty"`
}

// TLS is a certificate for some hosts, from a kubernetes.io/tls Secret.
type TLS struct {
	Hosts      []string `json:"hosts,omitempty"`
	SecretName string   `json:"secretName"`
	// Cert and Key are the Secret's tls.crt and tls.key (PEM); empty when
	// the Secret is missing or incomplete (Errors says so).
	Cert []byte `json:"cert,omitempty"`
	Key  []byte `json:"key,omitempty"`
}

// Rule routes one host ("" for any host; a leading "*." is a wildcard of
// one label) by path.
type Rule struct {
	Host  string `json:"host,omitempty"`
	Paths []Path `json:"paths,omitempty"`
}

// Path is one path of a Rule.
type Path struct {
	Path     string                `json:"path,omitempty"`
	PathType networkingv1.PathType `json:"pathType"`
	Backend  Backend               `json:"backend"`
}

// Backend is a Service port with the addresses of its ready endpoints.
type Backend struct {
	Service string `json:"service"`
	// PortName or PortNumber is the Service port as the Ingress names it.
	PortName   string `json:"portName,omitempty"`
	PortNumber int32  `json:"portNumber,omitempty"`
	// Targets are the ready endpoints' addresses for that port, sorted.
	Targets []netip.AddrPort `json:"targets,omitempty"`
}
