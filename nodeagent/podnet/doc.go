// Package podnet gives pods their namespaces and wires them to the node's pod
// network: one Linux bridge per node, one veth per pod, addresses from the
// node's pod CIDR, hostPort DNAT and masquerade of traffic that leaves the
// cluster.
//
// # Contracts
//
//   - New only validates a Config; nothing on the system changes until Setup.
//   - Setup is idempotent and is what an agent calls at every start. It brings
//     the bridge up with the gateway address (the first address of PodCIDR),
//     sets net.ipv4.ip_forward=1 and net.bridge.bridge-nf-call-iptables=1
//     (loading br_netfilter if needed), allows hostPorts on 127.0.0.1
//     (route_localnet on the bridge), and programs the iptables chains this
//     Network owns. It also collects what a crashed agent left behind: a
//     half-created sandbox or spare (no record) is removed, and so is a
//     sandbox whose namespaces did not survive (a reboot); the agent then
//     sees those pods missing and recreates them. Spares that are still
//     usable (namespaces alive, veth on the bridge with the MTU, address
//     their own) are kept, up to Config.Spares; the others are removed.
//   - With Config.Spares > 0 (DefaultConfig: DefaultSpares), Setup starts a
//     background refill that keeps that many spare sandboxes made ahead:
//     namespaces, veth on the bridge, address, lo and eth0 up, default
//     route, and a record under spares/ written last. CreateSandbox makes a
//     sandbox with its own network and IPC namespaces out of a spare when one
//     is ready: it sets the hostname in the spare's UTS namespace, rewrites
//     the hostPort rules if it has any, removes the spare's record and writes
//     the sandbox's (the commit point; a crash before it leaves a slot no
//     record names, which Setup removes). hostNetwork and hostIPC sandboxes
//     are made as before. The refill holds the Network's lock only to count
//     and add spares, so CreateSandbox never waits for one being made. Each
//     spare holds a pod address; a spare never takes the last free one, and
//     a CreateSandbox that finds none free removes ready spares until it
//     does. Close stops the refill (spares stay for the next start);
//     Teardown stops it and removes the spares with everything else.
//   - A Sandbox is a pod's network, IPC and UTS namespaces, each bind-mounted
//     onto a file under Config.StateDir/ns/<slot>/ so that it outlives every
//     process: containers join them by path (libcontainer's namespace Path),
//     and a restarted agent finds them again with Sandbox or Sandboxes. The
//     slot is the sandbox's ID, or for one made out of a spare the spare's
//     name ("_spare-" and 12 hex digits, never a valid ID), which also names
//     its host veth and holds its address; only the paths in Sandbox tell.
//     The folder holding the namespace files is a private bind mount of its
//     own (as `ip netns` does with /run/netns), so the namespace mounts never
//     propagate to or from other mount namespaces.
//   - CreateSandbox is idempotent per ID (an existing sandbox is returned as
//     it is) and atomic: on any failure everything created so far is removed.
//     RemoveSandbox and Teardown are idempotent; they keep going after an
//     error and report all errors joined. A sandbox whose removal failed keeps
//     its record, so that a retry (or the next Setup) finishes the job.
//   - Pod IPs are allocated (to slots) from a file under StateDir, rewritten
//     atomically on every change, so a restarted agent never hands out an
//     address that is in use. Released addresses are reused last (allocation goes round the
//     range), which keeps stale ARP and conntrack entries from hitting a new pod.
//   - All iptables rules live in chains owned by this Network (nat table:
//     SHOAL-POD-<hash of bridge> for hostPort DNAT, jumped to from PREROUTING
//     and OUTPUT for local destinations; SHOAL-POD-<hash>-MASQ from
//     POSTROUTING). Their content is a pure function of the sandbox records
//     and is rewritten in one iptables-restore transaction on every change, so
//     re-running never duplicates a rule. Every per-sandbox rule carries a
//     comment naming its sandbox.
//   - Everything Network does to the node's network happens in the network
//     namespace named by Config.NetNS (the agent's own when empty): netlink
//     through handles, sysctls and iptables from an OS thread that joined that
//     namespace and is discarded afterwards.
//   - A Network is safe for concurrent use. Two Network values (or two
//     processes) must not manage the same StateDir at the same time; a second
//     value after the first has gone (an agent restart) is the intended use.
//
// Only IPv4 is supported. Namespaces are created with unshare(2) from a
// dedicated OS thread, never with `ip netns exec` (which remounts /sys and
// hides the cgroup mounts libcontainer needs).
package podnet
