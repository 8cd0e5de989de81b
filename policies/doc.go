// Package policies will hold pure decisions with the clock passed in:
// admission (what a namespace may run), network policy verdicts, restart
// back-off. See docs/ARCHITECTURE.md; it may import only manifests.
package policies
