// Package policies holds pure decisions with the clock passed in:
// admission (what a namespace may run: policies/admission), network policy
// verdicts, restart back-off (policies/restart). See docs/ARCHITECTURE.md;
// it may import only manifests.
package policies
