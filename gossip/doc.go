// Package gossip is shoal's membership layer: a hashicorp/memberlist cluster
// encrypted with the cluster key, node metadata, the reconciler election and
// the leader-written replicated ledger. It imports only the standard library
// and memberlist. See docs/ARCHITECTURE.md ("How data flows").
//
// # Membership (cluster.go, member.go, config.go, key.go)
//
// New starts a member from a Config (presets DefaultLANConfig and
// LocalConfig) and joins Config.Join. All gossip is encrypted and
// authenticated with Config.ClusterKey (AES, 16/24/32 bytes; GenerateKey,
// EncodeKey/DecodeKey and WriteKeyFile/ReadKeyFile for `shoal keygen`); a
// member with another key is refused, and its join fails with ErrJoin.
// Each member announces, in memberlist's node metadata (a dozen bytes plus
// the API address), its API address, start time and eligibility.
// Cluster.Members lists the members this node knows, with their State.
//
// # Election (election.go, leader.go)
//
// Elect is pure: among the eligible live members, the one with the earliest
// start time leads, the smaller name breaking ties. Every node runs it over
// its own view whenever memberlist reports a membership change; the leader's
// Term is "name@unixnano-start". Cluster.WatchLeader reports changes, and
// Cluster.WhileLeader runs a function only while this node leads,
// cancelling its context as soon as this node sees that it lost the lead.
//
// The election is available, not consistent. There is no quorum: during a
// partition each side elects its own leader, and for a moment after any
// membership change two nodes may both believe they lead. Everything a
// leader does must therefore be idempotent and carry its term, nodes act
// only on the term of the leader in their own view, and a healed cluster
// must converge back to the desired state (the members agree on one leader
// again as soon as they see each other).
//
// # Ledger (ledger.go, ledger_codec.go, ledger_file.go)
//
// Cluster.Ledger is a small key-value map that every node holds in full.
// Only the leader writes, under its current term (Ledger.Put and
// Ledger.Delete check it). Writes spread by memberlist broadcasts (over TCP
// for entries too large for a packet) and are repaired by memberlist's
// periodic push/pull exchange of the whole ledger, which also gives a
// joining node the whole ledger during its join. Merges keep the greater
// entry by Entry.Compare (a Lamport sequence number, then the term), so all
// nodes converge to the same map, including after a partition heals. With
// Config.LedgerFile the ledger is saved atomically after each change and a
// restarted node starts from it.
//
// # Concurrency
//
// Every exported method is safe for concurrent use. Methods that block say
// so (New and Join for the join, Leave for its announcements, WhileLeader
// for its lifetime); reads and watches never wait for the network, and the
// cluster never blocks on a slow watcher. Logs go to Config.Logger with
// component=gossip, memberlist's own lines included.
package gossip
