// Package e2e holds shoal's end-to-end tests and benchmarks: real `shoal
// agent` processes on the multi-node rig of package testenv (network
// namespaces, a Git server, an OCI registry), real containers, real git
// pushes. They need root; without it they skip.
package e2e
