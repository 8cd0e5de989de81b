// Package netpolicy enforces the cluster's NetworkPolicies on one node:
// the first packet of each new connection to or from a pod that a policy
// selects goes to an NFQUEUE, the agent's listener asks the policy set
// (package policies/network) for a verdict, and conntrack carries the
// accepted connection in the kernel from then on.
//
// # Contracts
//
//   - New only validates a Config. Setup (idempotent, at every agent
//     start) creates Chain in the filter table when it is missing and puts
//     one jump to it at the head of filter FORWARD for new connections
//     (`-m conntrack --ctstate NEW`). An existing Chain keeps its rules
//     until the next Update: across an agent restart the selected pods
//     stay enforced (judged, or without a listener dropped or accepted as
//     Config.Bypass says).
//   - Update(input) compiles the policy set, swaps it in for the listener
//     (an atomic pointer), then rewrites Chain in ONE iptables-restore
//     --noflush transaction when the queue rules of this node's pods (the
//     pods with an address in Config.PodCIDR that some policy isolates)
//     changed since the last write. Nothing else is touched. UpdateTable
//     does the same from a routing table's policy inputs
//     (services.Table.Policy, see InputOf). Render is the pure function from
//     the selection to the iptables-restore input.
//   - Run binds the queue (Config.QueueNum) in Config.NetNS and judges
//     queued packets until its context ends; it returns an error when the
//     queue cannot be bound or its socket fails, and may be run again.
//   - Teardown removes the jump and Chain; it is idempotent. `shoal down`
//     calls it.
//   - Everything happens in the network namespace Config.NetNS: iptables
//     from an OS thread that joined it, the queue's netlink socket made
//     there. Only IPv4: IPv6 traffic is neither queued nor judged.
//
// # Rules
//
//	filter FORWARD       -m conntrack --ctstate NEW -j SHOAL-NETPOL   (first)
//	filter SHOAL-NETPOL  -m mark --mark M/M -j CONNMARK --or-mark M
//	                     -m connmark --mark M/M -j RETURN
//	                     -d <pod>/32 -j NFQUEUE --queue-num N [--queue-bypass]   per pod isolated for ingress
//	                     -s <pod>/32 -j NFQUEUE --queue-num N [--queue-bypass]   per pod isolated for egress
//
// Filter FORWARD comes after nat PREROUTING, so a connection to a Service
// is judged against the endpoint its DNAT chose, as policies/network
// expects. Only FORWARD is hooked: every connection between a pod and
// another pod or another machine is forwarded by the node (bridged pod to
// pod traffic too, through br_netfilter, which podnet turns on), while a
// connection between a pod and its own node (INPUT, OUTPUT: the node's
// processes, its hostNetwork pods, its probes and DNS) is always allowed by
// the Kubernetes rules and needs no verdict. Replies and every later packet
// of a connection are not NEW and never meet the queue. The agent sets up
// before the service proxy, whose jump to its refusals therefore comes
// first in FORWARD.
//
// # Verdicts
//
// An allowed packet is handed back with NF_REPEAT and the mark bit M
// (Config.Mark) added: it goes through filter FORWARD again from the start,
// so that the node's other rules (the service proxy's refusals, a host
// firewall) still see it, and Chain's first rule copies the bit onto its
// connection. A connection with the bit returns at once: packets that
// conntrack still calls new (a UDP flow before its first answer, a
// retransmitted SYN) are not queued again. Marks do not cross network
// namespaces (a veth scrubs them), so a pod cannot forge one.
//
// A denied packet is dropped (NF_DROP). For TCP the SYN is lost: the client
// retries and its connect times out, as with most CNI plugins (a reset
// would need a second pass through a REJECT rule). Dropped connections are
// counted once however often a client retries (flows are remembered for 3
// minutes, up to 8,192 of them).
//
// # When the agent cannot judge
//
// With no listener bound (the agent down or starting), the kernel drops
// queued packets: the selected pods fail closed, and pods no policy
// selects are not queued at all. With Config.Bypass (shoal agent
// --queue-bypass) the rules carry --queue-bypass and they fail open. The
// same choice holds when the listener cannot keep up: the kernel holds up
// to Config.QueueMaxLen packets awaiting a verdict, and drops what
// overflows — or accepts it with Bypass (NFQA_CFG_F_FAIL_OPEN). The
// listener never blocks: a verdict is a few map lookups and one send on the
// socket, made from the socket's receive goroutine; when the socket's
// buffer overflows the kernel applies the same choice and the overrun is
// counted. Before the first Update, and for a packet it cannot parse, the
// listener itself answers as the kernel would without it.
//
// # Metrics
//
// shoal_netpolicy_connections_total{policy,verdict} counts judged
// connections: an accepted one under each policy whose rule allowed one of
// its directions ("" when none did: the pod's own node, the pod itself), a
// dropped one under each policy isolating a denying direction.
// shoal_netpolicy_queue_overruns_total, shoal_netpolicy_verdict_errors_total,
// shoal_netpolicy_rule_syncs_total{result} and
// shoal_netpolicy_selected_pods{direction} go with it.
//
// # Not done
//
// A pod is enforced from the first routing table that lists it: until the
// leader has seen its report, its first connections are open. Established
// connections (and accepted UDP flows) survive a policy change that would
// deny them, until they end. IPv6 is not enforced. Policies do not apply to
// hostNetwork pods, as package policies/network explains.
package netpolicy
