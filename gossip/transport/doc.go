// Package transport carries shoal's per-node messages between the elected
// leader and the nodes over HTTP: the leader pushes each node its full
// desired state (NodeState, PUT /v1/desired on the node's API) and nodes
// report the status of their pods back (NodeStatus, POST /v1/status on the
// leader's API). See docs/ARCHITECTURE.md ("Desired state to nodes, status
// back") and package gossip for terms and the election.
//
// # Authentication, not encryption
//
// Every request carries an HMAC-SHA256 (Signer) over its method, request
// URI, a timestamp and its body, keyed with DeriveKey(cluster key), so only
// holders of the cluster key can send desired state or status. Receivers
// compare in constant time and refuse a request whose timestamp is more
// than MaxSkew (default DefaultMaxSkew, 2 minutes) away from their clock,
// which bounds replay; the generation rules below make a replay within that
// window harmless. Any holder of the cluster key may speak for any node or
// leader: the signature proves cluster membership, not identity.
//
// The transport authenticates but does NOT encrypt unless the caller gives
// it TLS: NodeState carries Secrets, so production deployments should set
// ClientConfig.TLSConfig on the client and serve with Serve(…, tlsConfig)
// (or their own TLS-configured http.Server). Certificate distribution is
// not handled here yet.
//
// # Rules on the node (Receiver)
//
//   - A state whose term is not the term of the leader in this node's own
//     view (ReceiverConfig.Leader) is refused with 409 Conflict naming both
//     terms; the client reports ErrNotLeader. During a partition or right
//     after a membership change two nodes may both believe they lead: each
//     node simply follows its own view, and the cluster converges once the
//     views agree again.
//   - Within one term a lower Generation than the last accepted is ignored
//     (200, "stale") and the same Generation again is acknowledged without
//     being re-applied (200, "unchanged"): pushes are idempotent and retries
//     are safe. A new term starts over: its first state is accepted whatever
//     its generation.
//   - An accepted state is written atomically to ReceiverConfig.StateFile
//     before Apply is called, and LoadState (or Receiver.State after
//     NewReceiver) gives it back after a restart, so a node keeps running its
//     last desired state when the leader or Git is gone.
//
// Status reports (StatusServer) are accepted from any node under any term:
// a new leader first gathers every node's actual pods, including pods a
// node runs for an older term; NodeStatus.Term says which term's state the
// node has applied.
//
// # Concurrency
//
// Every exported method and handler is safe for concurrent use. The
// Receiver calls Apply, and the StatusServer calls its Report callback, on
// the request's goroutine while the client waits for the response; they
// must hand the message off and return quickly. Client.PushState and
// Client.ReportStatus block until the peer answered, a non-retryable error,
// the attempts ran out, or ctx is done. Logs use component=transport.
package transport
