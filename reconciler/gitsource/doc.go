// Package gitsource is the reconciler's view of Git: it keeps one local
// clone per tracked repository, notices new commits on one branch (a cheap
// remote ref listing every PollInterval, or at once when a webhook calls
// Trigger) and loads the manifests of the branch head into a
// manifests.Set.
//
// The order of a Sync is fixed, in the manner of fluxcd's source-controller:
//
//  1. list the remote refs (no objects are transferred) and find the branch;
//  2. if the branch head equals the last commit loaded, stop: "unchanged";
//  3. clone (first time) or fetch the branch into the local clone;
//  4. read the manifests under Path, and the admission file
//     (.shoal/admission.yaml in Path, package policies/admission), from the
//     commit's tree (CommitFS), never from a working copy, so that nothing
//     local can leak into the state;
//  5. hand back the Set with the admission policies it runs under, or a
//     *LoadError naming the commit and every diagnostic (file:line:
//     object: message).
//
// An admission file that does not load does not hold the commit back: its
// manifests apply under the policies of the last commit before it (first
// parents) whose file loads, never under looser ones, and the file's
// errors come beside the Set as an *AdmissionError. Only when no such
// commit exists does the commit not apply.
//
// Errors are classified by what the caller should do next:
//
//   - IsStalled: the commit itself is wrong (manifests or an admission file
//     that do not load, a missing branch or Path, an empty repository). Retrying cannot help;
//     wait for a new commit. The last good state stays in force.
//   - IsTransient: network failures, timeouts, server 5xx or 429. Retry with
//     exponential back-off.
//   - IsAuth: the server refused the credentials. Named as such so that the
//     operator fixes them; Run retries with back-off.
//
// A Set is never partial: Sync returns either every object of a commit or
// none, and a commit that does not load never reaches Run's apply.
//
// Other refs are loaded beside the followed branch, in the same clone,
// without moving it: LoadRef resolves any ref or commit (for plans);
// previews use ListRefs (one ref listing), LoadRefCommit (a commit a
// listing gave, fetched under refs/shoal/previews/ until ForgetRef),
// ReadFile (shoal's own files of the commit in force) and RefsTriggered,
// which Trigger signals too, since a webhook may name any ref.
package gitsource
