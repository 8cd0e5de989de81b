// Package placement decides which node runs each bare Pod, as the
// Kubernetes scheduler would, but as one pure function: Compute(Input) Plan.
//
// shoal has no API server. The desired bare Pods come from Git (already
// defaulted and validated by the manifests package, for example with
// manifests.Of[*corev1.Pod](set)); the placements live in the replicated
// ledger so that they survive a change of leader; the nodes and what they
// run come from gossip. The caller records Plan.Place and prunes
// Plan.Remove in the ledger, pushes Plan.PerNode to the nodes and reports
// Plan.Pending and Plan.Failed to users. Compute does no I/O, keeps no
// state (but for Input.Memo, a cache that changes no result) and takes the
// clock from Input.Now.
//
// # Rules
//
// Pods are processed in namespace/name order and nodes are considered in
// name order, so the same input, in any order, always gives the same plan.
//
//   - A pod keeps its placement while its node exists and is not lost: the
//     placement is never re-checked against the pod or the node (as in
//     Kubernetes, a bound pod stays bound even on a cordoned or not-ready
//     node). Compute applied to its own Place merged into Placements
//     returns an empty Place and the same PerNode.
//   - A pod with spec.nodeName goes to that node whatever its state, as a
//     Kubernetes binding bypasses the scheduler; when the node does not
//     exist the pod is Pending (ReasonNodeNotFound). A placement to another
//     node is replaced by spec.nodeName.
//   - A desired pod without a placement that a live node reports running is
//     adopted onto that node (a ledger entry lost in a leader change must
//     not start a second copy).
//   - A node is lost when it has not been seen for Input.NodeLostAfter
//     (DefaultNodeLostAfter when zero); Node.LastSeen is the last time it
//     was seen alive and ready, so a node not ready that long is lost too.
//     A pod placed on a lost node, or on a node that no longer exists, is
//     Failed with the Kubernetes reason NodeLost and is never placed again;
//     its placement stays in the ledger for reporting. Failed is derived
//     from the node's state on every Compute: a caller that wants the
//     failure to outlive the node's return records it.
//   - Any other pod is scheduled. Filters, in kube-scheduler's order (the
//     first failing one gives the node's reason): the node is not cordoned
//     (unless the pod tolerates node.kubernetes.io/unschedulable); the node
//     is not lost (node.kubernetes.io/unreachable, never tolerated) and is
//     ready (node.kubernetes.io/not-ready, unless tolerated with effect
//     NoSchedule); spec.nodeSelector and the required node affinity (terms
//     ORed; In, NotIn, Exists, DoesNotExist, Gt, Lt on labels and
//     matchFields on metadata.name) match; the pod's host ports
//     (protocol, port, host IP, 0.0.0.0 conflicting with every IP) are
//     free; its cpu and memory requests fit the node's allocatable minus
//     the requests of every pod counted on the node, and the node's "pods"
//     allocatable, when set, is not reached.
//   - The pods counted on a node are its desired pods (kept, adopted and
//     placed earlier in the same Compute) and the pods it reports running
//     that are not desired there (on their way out), except pods it reports
//     Succeeded or Failed, as kube-scheduler ignores terminal pods.
//   - Requests are computed as Kubernetes does: the sum of the containers,
//     at least the largest init container (with sidecars counted
//     throughout), plus the pod overhead; pod-level spec.resources
//     requests, when set, win.
//   - Scores: least allocated (the free fraction of cpu and memory after
//     the pod, averaged, with kube-scheduler's non-zero defaults of 100m
//     and 200Mi for containers without requests) plus spread (nodes with
//     fewer pods of the same owner score higher, scaled as kube-scheduler's
//     selector spreading). A pod's owner is the UID of its first
//     ownerReference, else its namespace and "app" label; a pod with
//     neither is not spread. Ties go to the first node by name.
//   - A pod that fits nowhere is Pending with kube-scheduler's
//     FailedScheduling text, for example "0/3 nodes are available: 1
//     node(s) were unschedulable, 2 Insufficient memory."
//   - Placements of pods that are no longer desired are in Remove.
//
// Not done: preemption and priority, taints other than the node-state ones,
// preferred node affinity, pod (anti-)affinity, topology spread
// constraints, extended resources, ephemeral storage and volume-based
// filters.
package placement
