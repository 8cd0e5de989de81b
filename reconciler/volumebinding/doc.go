// Package volumebinding decides how PersistentVolumeClaims bind to
// PersistentVolumes, as the Kubernetes PV controller does, but as one pure
// function: Compute(Input) Plan.
//
// shoal has no API server. Volumes, claims and storage classes come from Git
// (already defaulted and validated by the manifests package); the bindings
// live in the replicated ledger so that they survive a change of leader. The
// caller owns the ledger: it passes the current bindings in, records what the
// Plan says (Plan.Apply does exactly that), creates and deletes provisioned
// volumes, and reports Plan.Pending and Plan.Status to users. Compute does no
// I/O and keeps no state.
//
// # Rules
//
// Claims are processed in namespace/name order, so the same input always
// gives the same plan, and a volume is never given to two claims, even within
// one Compute.
//
//   - A binding from the ledger whose claim and volume still exist stays, and
//     is never re-checked against the claim (as in Kubernetes, a bound claim
//     stays bound). Compute applied to its own output returns an empty
//     Bind, Provision, Release, Delete and Forget.
//   - A claim with spec.volumeName binds to that volume when the volume is
//     free (no binding, not released, no claimRef to another claim) and
//     satisfies the claim: capacity, storage class, volume mode, access
//     modes. Selector and binding mode are not consulted (as Kubernetes).
//     A volume named by some claim's spec.volumeName is never given to
//     another claim by the matching below (Kubernetes leaves this a race).
//   - A volume with spec.claimRef only binds to that claim (namespace and
//     name; the UIDs are compared only when both are set, since claims from
//     Git usually have none). When it fits (capacity, access modes, volume
//     mode) it is taken before any other candidate, ignoring class and
//     selector, as Kubernetes does for pre-bound volumes.
//   - Otherwise the claim gets the smallest free volume that satisfies it:
//     capacity >= request, access modes a superset of the claim's, the same
//     storage class name, the claim's selector matching the volume's labels
//     and the same volume mode. Ties break by volume name.
//   - Storage class of a claim: spec.storageClassName when set ("" means "no
//     class": it only matches volumes without a class and never provisions).
//     When it is nil, the default class: shoal has none unless a
//     StorageClass carries the annotation
//     storageclass.kubernetes.io/is-default-class=true (or the beta
//     annotation); with several, the newest by creation time, then the
//     first by name, wins (Kubernetes picks the newest). Without a default
//     class a nil class behaves like "".
//   - Binding mode: with WaitForFirstConsumer, a claim binds only once
//     Input.ClaimNodes names the node of a pod using it, and then only to a
//     volume whose nodeAffinity admits that node (node labels from
//     Input.NodeLabels; kubernetes.io/hostname is always set to the node
//     name). With Immediate, nodeAffinity is ignored for binding. A class
//     name without a StorageClass object is Immediate (as Kubernetes), so
//     static volumes of that class still bind.
//   - Provisioning: when nothing fits and the class's provisioner is
//     shoal.run/local-path, Compute provisions a volume. A local-path
//     volume is a directory on one node and can only be used by pods on
//     that node, so it must be created on the node of the pod that uses the
//     claim: such a class behaves as WaitForFirstConsumer even when it says
//     Immediate (binding to a volume on another node would make the pod
//     unschedulable; Kubernetes' local-path provisioner has the same
//     requirement). The new volume's name is deterministic from the claim's
//     namespace and name (claims from Git carry no UID):
//     "pvc-" + a UUID-shaped SHA-256 prefix; when that name is already
//     taken, for example by the Released volume of an earlier claim of the
//     same name, a counter is mixed in until the name is free.
//     A local-path volume supports Filesystem mode and the single-node
//     access modes (ReadWriteOnce, ReadWriteOncePod) and no selector.
//   - A claim that disappears: its volume is Released (Retain; also a static
//     volume whose policy is Delete, with a message in Plan.Messages, since
//     shoal does not delete data it did not create), or deleted (a
//     provisioned volume whose policy is Delete). A Released volume is never
//     bound again automatically, not even to a new claim of the same name,
//     as in Kubernetes; an operator frees it by removing it from Git (static)
//     or from the ledger.
//   - A binding whose static volume has left Git: when its claim is gone or
//     the binding was Released, the binding is forgotten (Plan.Forget);
//     while the claim exists the binding is kept and the claim reported as
//     having lost its volume (Kubernetes' Lost phase), so that restoring the
//     volume to Git restores the binding.
package volumebinding
