// Package admission decides what a namespace may run: the repository's
// admission policies, and Kubernetes' LimitRange and ResourceQuota for the
// pods that controllers create. Every function is pure: no clock, no I/O
// beyond reading the admission file from the fs.FS it is given.
//
// # The admission file
//
// Policies live in one file at a fixed path, .shoal/admission.yaml, beside
// the manifests (at the root of the folder the cluster reads). It is a small
// versioned document:
//
//	apiVersion: shoal.run/v1alpha1
//	kind: AdmissionPolicy
//	previewPolicy: preview-strict      # optional; the default
//	policies:
//	- name: baseline
//	  namespaces: [shop, web]           # by name, and/or
//	  namespaceSelector:                # by the Namespace object's labels
//	    matchLabels: {team: payments}   # ({} selects every namespace)
//	  rules:
//	    forbidHostPath: true
//	    forbidPrivileged: true
//	    forbidHostNamespaces: true      # hostNetwork, hostPID, hostIPC
//	    forbidAddedCapabilities: true
//	    allowedCapabilities: [NET_BIND_SERVICE]
//	    forbidHostPorts: true
//	    allowedRegistries: [ghcr.io/acme, docker.io/library]
//	    requireLimits: [cpu, memory]
//
// A file rather than annotations on Namespace objects, because:
//
//   - a policy can cover namespaces that have no Namespace object (shoal
//     runs objects in any namespace they name), or every namespace at once;
//   - it is decoded strictly like the manifests (unknown fields, keys given
//     twice and wrong types are errors with file, line and field), where an
//     annotation is a string inside a string that YAML cannot check;
//   - one document, versioned, is reviewed as one diff and can evolve;
//   - the namespaceSelector still lets Namespace labels choose, as
//     Kubernetes' Pod Security admission does with its labels.
//
// The path starts with a dot-folder, which manifests.Load skips, so the file
// is never taken for a manifest. A missing file means no policy: every
// namespace runs anything, and previews get preview-strict. A file that does
// not parse is an error; the caller keeps the policies in force, as it keeps
// the last good commit.
//
// Every policy whose namespaces list or selector covers a namespace applies
// there; a violation of any refuses the object. A preview namespace also
// gets the previewPolicy: the built-in preview-strict (every forbid on, only
// NET_BIND_SERVICE may be added, cpu and memory limits required, any
// registry) or a policy of the file named by previewPolicy, which then needs
// no namespaces of its own. Since a preview is made from a branch, the
// caller must read the file from the tracked branch, never from the
// preview's: a branch cannot loosen its own policy.
//
// # Deciding
//
// Check runs one policy over one object; Decide runs every policy over a
// desired state and returns the objects it refuses (Admit also returns the
// set without them). The reconciler's leader decides once per commit: it
// drops refused objects, reports each violation (its policy, rule, field
// path and message) in shoal status, a FailedAdmission event and its log,
// and goes on with the rest of the commit.
//
// # LimitRange and ResourceQuota
//
// ApplyLimitRange and Quotas follow Kubernetes' LimitRanger and
// ResourceQuota admission plugins for pods, with their messages; Gate chains
// them for each pod a controller is about to create. What quotas count is
// listed on Quotas. The reconciler's pure Compute runs them over every pod
// of each step (ApplyLimitRange, then Quotas with PodUsage kept from step
// to step).
package admission
