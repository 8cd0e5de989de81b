// Package gossip will hold shoal's membership layer: a hashicorp/memberlist
// cluster encrypted with the cluster key, node metadata, the reconciler
// election (the eligible member with the earliest start time, name breaking
// ties), the leader-written replicated ledger, and the authenticated
// transport between nodes. See docs/ARCHITECTURE.md; it is built by the
// cluster issue and may import only manifests.
package gossip
