// Package previews turns branches into previews: each Git ref that the
// repository's preview configuration names (by default refs/pull/*/head
// and refs/heads/preview/*) is deployed beside the tracked branch, in
// namespaces of its own, until the ref goes away or stays without a new
// commit for the configured TTL. Everything here is pure: no clock, no
// I/O; the leader (reconciler/preview_leader.go) lists the refs, loads
// their commits and writes the ledger.
//
// # The configuration
//
// Previews are off until the tracked branch holds .shoal/previews.yaml
// (Path), in the folder the manifests are read from: refs/pull/*/head
// exists for every pull request on GitHub-style hosts, a fork's too, so
// deploying them is a choice the repository makes. The file is read from
// the tracked branch only, never from a preview's: a branch cannot change
// its own rules. See Config for the fields and their defaults.
//
// # Names
//
// A preview's id comes from its ref: pr-42 for refs/pull/42/head,
// preview-shop for refs/heads/preview/shop (generally, the last literal
// folder of the pattern before its "*", then the part "*" matched, made a
// DNS label). Namespace ns of the preview's objects becomes <id>-<ns>
// (preview-shop-shop). Names longer than a DNS label allows are cut and
// end with a short hash of what they stand for, so they stay stable and
// distinct; two refs whose ids would be the same get the second one's
// with a hash of its ref (AssignIDs), and an id, once recorded in the
// ledger, never changes.
//
// # What a preview runs
//
// Transform makes a preview's objects from its commit's: every namespaced
// object moved to its mapped namespace (NetworkPolicies' namespace
// selectors follow, and are confined to the preview's own namespaces),
// Ingress hosts rewritten under the configured domain
// (shop.example.test becomes <id>.shop.<domain>), a Namespace object per
// namespace labelled shoal.run/preview=<id>, the configured ResourceQuota
// and LimitRange, and the admission decision of the tracked branch's
// admission file with every preview namespace marked a preview (so the
// preview policy, preview-strict by default, applies). Cluster-scoped
// objects (Nodes, PersistentVolumes, StorageClasses) and claims that name
// a volume are refused for the preview with a message; the rest runs.
// Isolation adds, per preview namespace, a NetworkPolicy that admits
// traffic only from the preview's own namespaces and from the nodes (the
// ingress proxies), and lets it reach only its own namespaces and
// addresses outside the cluster's pod range.
//
// Sync decides each pass which previews run: new refs are recorded, refs
// that are gone deleted, previews idle for the TTL expired (a new commit
// brings one back), and at most MaxPreviews run, the oldest first.
package previews
