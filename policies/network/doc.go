// Package network decides Kubernetes NetworkPolicy verdicts: whether a new
// connection between two addresses is allowed, and by which policy. It is
// pure: New compiles the policies, pods and namespaces into an immutable
// Set once per change of those inputs, and Set.Verdict then judges a
// connection with a few lookups and no allocation, so that a node's agent
// can ask it about the first packet of every new connection (replies and
// later packets ride on conntrack and are never judged).
//
// A node's agent uses it thus: New(Input{Policies, Pods, Namespaces}) on
// every change of those; Len() == 0 means there is nothing to enforce;
// Selected(podIP) tells whether new connections to (ingress) or from
// (egress) that pod must be queued; Verdict(Conn{Src, Dst, Protocol,
// DstPort}) decides a queued connection. A Verdict judges both ends even
// when one of them denies, so that per-policy counters can count the
// accepting policy of each end (Decision.Policy) or the policies that
// dropped it (Decision.Policies); Verdict.Reason says it in words.
//
// The rules are those of the Kubernetes "Network Policies" page and the
// networking.k8s.io/v1 API reference:
//
//   - A pod is isolated for ingress when some policy of its namespace selects
//     it (spec.podSelector; an empty selector selects every pod of the
//     policy's namespace) and has Ingress in its policyTypes; likewise for
//     egress. A pod that no policy of a direction selects is open in that
//     direction.
//   - policyTypes, when empty, defaults to [Ingress], plus Egress when the
//     policy has egress rules (as the API server defaults it); explicit
//     policyTypes are honoured as written, so a policy with only Egress
//     leaves ingress alone whatever ingress rules it carries, and a policy
//     without egress rules but with Egress in policyTypes denies all egress.
//   - Policies are additive: a connection is allowed in a direction when any
//     rule of any policy that isolates the pod in that direction allows it.
//     A connection between two pods is allowed only when the source's
//     egress and the destination's ingress both allow it.
//   - A rule allows traffic that matches both its peers (from or to) and its
//     ports. An empty or missing from/to matches every address; an empty or
//     missing ports matches every port and protocol.
//   - Peers: a podSelector alone selects pods of the policy's namespace; a
//     namespaceSelector alone selects every pod of the namespaces it
//     matches; both in one peer select the matching pods of the matching
//     namespaces (AND); peers of one list are ORed. Selectors follow label
//     selector semantics (matchLabels ANDed with matchExpressions In, NotIn,
//     Exists, DoesNotExist); an empty selector matches everything.
//   - Namespaces carry their labels plus kubernetes.io/metadata.name=<name>,
//     which Kubernetes sets on every namespace. A namespace that pods or
//     policies use without a Namespace object in the input still exists,
//     with just that label.
//   - ipBlock matches an address inside cidr and outside every except entry.
//   - Ports: a number matches that destination port, with endPort the
//     inclusive range port..endPort; a name matches the port of that name and
//     protocol among the destination pod's container ports, for ingress and
//     egress alike (a destination that is not a known pod has no named
//     ports); a missing port matches every port of the protocol. A missing
//     protocol is TCP.
//   - A pod's connections to itself are always allowed ("a pod cannot block
//     access to itself"), and so are connections between a pod and the node
//     it runs on, whatever the pod's policies ("traffic to and from the node
//     where a Pod is running is always allowed"). Pod.HostIPs says which
//     addresses are the pod's node; they should include the node's address on
//     the pod bridge, which is where the node's probes and its DNS answer
//     from, so a default-deny egress policy does not cut a pod off its own
//     node's DNS.
//
// Where Kubernetes leaves the behaviour to the implementation, shoal chooses:
//
//   - ipBlock matches on the address of the connection whatever it is, a
//     pod's address included (Kubernetes says ipBlock "should" name
//     cluster-external addresses and leaves pod addresses undefined).
//   - Addresses that are not pods (other machines, nodes, the Internet) are
//     matched only by ipBlock peers and by rules without from/to; pod and
//     namespace selectors match only pods.
//   - hostNetwork pods are not pods for network policy: no policy selects
//     them (their traffic is their node's) and no selector peer matches
//     them; their address is the node's, which only ipBlock matches. This is
//     the most common of the two behaviours the Kubernetes page allows.
//   - Addresses are those the node sees on the first packet after service
//     translation: a connection to a Service is judged against the pod the
//     Service chose, never against the Service's address.
//
// New expects policies as manifests.Load returns them (validated as the API
// server validates). It never fails; on input that validation would refuse
// it fails closed: a policy whose podSelector cannot be parsed isolates every
// pod of its namespace, and a peer selector or CIDR that cannot be parsed
// matches nothing.
package network
