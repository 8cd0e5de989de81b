// Package manifests reads Kubernetes YAML and JSON into typed objects.
//
// It is shoal's front door: every other package sees the desired state only
// through a *Set returned by Load. Reading is exact and never silent:
//
//   - Decoding is strict. An unknown or duplicated field is an error that names
//     the file, the line, the object and the field path.
//   - Objects of older API versions (extensions/v1beta1, apps/v1beta1,
//     apps/v1beta2, batch/v1beta1, batch/v2alpha1) are converted to the current
//     version with a warning naming the replacement, when the conversion loses
//     nothing, and refused otherwise.
//   - Defaults are applied exactly as the Kubernetes API server applies them
//     for the version the object was written in.
//   - Objects are validated the way the API server validates them.
//   - Every kind and field is classified in the support matrix (support.go,
//     rendered into docs/SUPPORT.md): supported, ignored with a warning (only
//     where ignoring it cannot change what runs), or refused with an error.
//
// Load uses the real k8s.io/api types, so the objects in a Set are the same
// structs that client-go users know.
package manifests
