// Package svcproxy routes the cluster's Services on one node, as
// kube-proxy's iptables mode does: the leader's routing table
// (services.Table) becomes nat and filter rules, health-check servers and
// announced load-balancer addresses.
//
// # Contracts
//
//   - Render(t, node, cfg) is a pure function from the table to
//     iptables-restore input: equal arguments give equal text.
//   - New only validates a Config. Setup (idempotent, at every agent start)
//     creates the fixed chains and puts one jump to each at the head of the
//     built-in chains (nat PREROUTING, OUTPUT and POSTROUTING; filter INPUT,
//     FORWARD and OUTPUT for new connections); rules of an earlier run stay
//     in force until the first Sync.
//   - Sync(t) applies t in ONE iptables-restore --noflush transaction: our
//     chains whose rules changed since the last Sync declared (so flushed)
//     and refilled, the ones t no longer needs deleted, nothing else
//     touched. A packet sees either the old rules or the new ones. Every
//     chain is rewritten after Setup, after a failed Sync and once an hour
//     (iptables-restore's time grows with the product of the rules and
//     chains it writes: 1,000 Services of 10 endpoints take seconds whole,
//     milliseconds when one changes). Then the health-check servers and the
//     announced addresses follow t. Sync is what the agent calls with every
//     new table.
//   - Teardown removes the jumps, every chain of ours, the health-check
//     servers and the announced addresses; it is idempotent.
//   - Everything happens in the network namespace Config.NetNS: iptables
//     from an OS thread that joined it (and is discarded afterwards),
//     netlink through handles, sockets (health checks, ARP) made there.
//   - Only IPv4: IPv6 addresses in the table are ignored.
//
// # Chains
//
// All chain names start with SHOAL-; hashed names are kube-proxy's (the
// first 16 base32 characters of the SHA-256 of "namespace/name:port" and
// the protocol, plus the endpoint for SEP chains).
//
//	nat SHOAL-SERVICES     service portals: cluster IP → SVC (or SVL), external
//	                       IP and load-balancer IP → EXT; last, every local
//	                       destination but 127/8 → SHOAL-NODEPORTS
//	nat SHOAL-NODEPORTS    node port → EXT
//	nat SHOAL-SVC-<hash>   the port's ready endpoints, cluster-wide
//	nat SHOAL-SVL-<hash>   the port's ready endpoints on this node
//	nat SHOAL-EXT-<hash>   traffic to the port's external destinations
//	nat SHOAL-SEP-<hash>   one endpoint: hairpin mark, DNAT, affinity record
//	nat SHOAL-MARK-MASQ    sets Config.MasqueradeMark
//	nat SHOAL-POSTROUTING  masquerades packets carrying the mark (and clears it)
//	filter SHOAL-SERVICES  refusals
//
// # Rules, and why
//
//   - A cluster IP:port is DNAT'ed to one of the port's ready endpoints,
//     chosen with `-m statistic --mode random --probability` 1/n, 1/(n-1),
//     …, 1: each endpoint gets 1/n of the new connections. Endpoints that
//     are not Ready get nothing. Conntrack carries the rest of a connection.
//   - A node port is DNAT'ed on every local address of the node (`-m
//     addrtype --dst-type LOCAL`) except 127.0.0.0/8 (DNAT from loopback
//     would need route_localnet, which this package leaves alone). A
//     load-balancer IP and spec.externalIPs are DNAT'ed on every node, so a
//     node that receives the traffic (the announcer, or a pod of any node)
//     serves it.
//   - Masquerade (mark, then MASQUERADE in POSTROUTING): traffic to a
//     cluster IP from outside Config.ClusterCIDR (the node itself, or a
//     client routed in: the endpoint may be on another node, and its answer
//     must come back through here to be un-DNAT'ed); traffic to an external
//     destination of an externalTrafficPolicy Cluster Service, for the same
//     reason; and hairpin traffic, a pod reaching itself through its
//     Service, which would otherwise answer itself directly (this also
//     needs hairpin mode on its bridge port, which podnet sets). Pod to
//     cluster IP traffic keeps the pod's source, for network policy and
//     logs.
//   - sessionAffinity ClientIP: each SEP chain records the client's address
//     in an xt_recent list named after the chain (`--set`), and the SVC and
//     SVL chains first send a client found in a list within the timeout back
//     to that endpoint (`--rcheck --seconds <timeout> --reap`), before the
//     random choice.
//   - externalTrafficPolicy Local: traffic from outside to a node port,
//     load-balancer IP or external IP goes only to this node's ready
//     endpoints and is not masqueraded, so the endpoint sees the client's
//     address. Pods of this node (Config.PodCIDR) and the node itself still
//     reach any endpoint, as if they went out to a load balancer and came
//     back (the node's traffic masqueraded: its source is a local address).
//   - internalTrafficPolicy Local: a cluster IP goes only to this node's
//     ready endpoints.
//
// # Refusals
//
// Shoal refuses at once where Kubernetes may let a client hang. The filter
// chain SHOAL-SERVICES sees new connections in INPUT, FORWARD and OUTPUT,
// after DNAT: a packet still addressed to a Service destination was not
// DNAT'ed, so matching on the original address refuses exactly the traffic
// no endpoint takes.
//
//   - A service port without a usable endpoint (none ready; or a Local
//     policy and none on this node) is refused on the destinations that lack
//     one: the cluster IP, and the external destinations for traffic from
//     outside (pods and the node are still DNAT'ed there, see above).
//   - Any address of Table.ServiceCIDR that no rule DNAT'ed (no Service owns
//     it, or not that port) is refused, never routed out.
//
// TCP is refused with a TCP reset (--reject-with tcp-reset), other
// protocols with ICMP port unreachable: a reset reaches a client through
// firewalls that drop ICMP, and either way the client's connect fails at
// once with "connection refused". kube-proxy DROPs where a Local policy
// leaves no endpoint; shoal refuses there too.
//
// # Health checks and load-balancer addresses
//
//   - For each Service with a HealthCheckNodePort an HTTP server listens on
//     0.0.0.0:<port> in the node's namespace and answers every request with
//     kube-proxy's body {"service":{"namespace":…,"name":…},"localEndpoints":N}:
//     200 when N > 0 ready endpoints run on this node, 503 otherwise. Sync
//     starts and stops them.
//   - When a Service's Announcer is this node and Config.Interface is set,
//     its LoadBalancerIP is added to that interface as a /32 labelled
//     "<interface>:lb" and a gratuitous ARP (announcement and reply) is sent
//     from the interface's MAC; when the node stops announcing it, the
//     address is removed. Setup sets arp_ignore=1 and arp_announce=2 on the
//     interface, so it answers ARP only for the addresses it carries (its
//     own and the announced ones; not the pod gateway or others of the node)
//     and never uses an announced address as the source of its own ARP
//     requests.
//
// # Not done
//
// No loadBalancerSourceRanges (the table does not carry them), no
// terminating-endpoint fallback, no conntrack clean-up of UDP flows to a
// removed endpoint (kube-proxy deletes them; here such a flow keeps its
// endpoint until its conntrack entry expires). Node processes reach
// cluster IPs only when some route covers the service CIDR (the default
// route normally does): route lookup happens before nat OUTPUT.
package svcproxy
