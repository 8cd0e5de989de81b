// Package reconciler will hold what runs on the elected node only: the Git
// source (go-git), the pure Compute(desired, actual, ledger, now) Plan, the
// workload controllers, the scheduler and previews. See
// docs/ARCHITECTURE.md; it may import manifests, policies and gossip.
package reconciler
