// Package testenv will hold the multi-node rig on one machine (network
// namespaces, a local Git remote, a local OCI registry, test images) used by
// end-to-end tests, benchmarks and `shoal up`. See docs/ARCHITECTURE.md.
package testenv
