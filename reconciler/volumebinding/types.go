package volumebinding

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
)

// Binding records, in the ledger, that a claim is bound to a volume.
type Binding struct {
	// Claim is the bound claim.
	Claim types.NamespacedName
	// Volume is the name of the bound PersistentVolume.
	Volume string
	// Provisioned says the volume was made by shoal's provisioner: it exists
	// only in the ledger (and as a directory on Node), not in Git.
	Provisioned bool
	// Node is, for local-path volumes, the node the directory is on.
	Node string
	// ReclaimPolicy is, for provisioned volumes, the storage class's reclaim
	// policy at provisioning time (as Kubernetes copies it into the new
	// PersistentVolume). Static volumes carry their own policy in Git. An
	// empty policy on a provisioned volume is treated as Retain: shoal never
	// deletes data on a guess.
	ReclaimPolicy corev1.PersistentVolumeReclaimPolicy
	// Released says the claim has gone and the volume is Released: it keeps
	// its data and is never bound again automatically.
	Released bool
}

// Provision asks for a volume to be made by shoal's local-path provisioner.
// The caller records the matching Binding from Plan.Bind in the same step.
type Provision struct {
	Claim         types.NamespacedName
	VolumeName    string // "pvc-<uuid-shaped hash>", deterministic
	Node          string // the node of the pod that uses the claim
	Capacity      resource.Quantity
	AccessModes   []corev1.PersistentVolumeAccessMode
	StorageClass  string
	ReclaimPolicy corev1.PersistentVolumeReclaimPolicy
	// BasePath is the class's "basePath" parameter; empty means the node
	// agent's default directory.
	BasePath string
}

// Input is everything Compute needs. Compute never modifies it.
type Input struct {
	Volumes        []*corev1.PersistentVolume      // from Git
	Claims         []*corev1.PersistentVolumeClaim // from Git
	StorageClasses []*storagev1.StorageClass       // from Git
	Bindings       []Binding                       // current, from the ledger
	// ClaimNodes says, for claims used by pods already placed on a node,
	// which node (WaitForFirstConsumer and local-path provisioning need it).
	ClaimNodes map[types.NamespacedName]string
	// NodeLabels are the labels of each node, for volume nodeAffinity. A
	// node missing here still has kubernetes.io/hostname=<node name>.
	NodeLabels map[string]map[string]string
	// Now is the reconciler's clock. No rule reads it yet; it is passed so
	// that time-based rules do not change the signature.
	Now time.Time
}

// Plan is what Compute decided. Every slice is in a deterministic order.
type Plan struct {
	// Bind are new bindings to record (including those of provisioned
	// volumes).
	Bind []Binding
	// Release are bindings whose claim is gone and whose volume becomes
	// Released: record them with Released set (Plan.Apply does).
	Release []Binding
	// Provision are volumes to create with shoal's provisioner.
	Provision []Provision
	// Delete are provisioned volumes to delete (claim gone, reclaim policy
	// Delete); once deleted, drop their binding from the ledger.
	Delete []string
	// Forget are ledger bindings to drop: their static volume has left Git
	// while their claim is gone or the volume was Released, or they
	// duplicate an earlier binding of the same claim or volume.
	Forget []Binding
	// Pending are the claims left unbound, with the reason a user sees.
	Pending map[types.NamespacedName]string
	// Status is every volume's phase (Git volumes and provisioned ones).
	Status map[string]corev1.PersistentVolumePhase
	// Messages explain a volume's phase when it needs explaining, e.g. why
	// a Released volume with policy Delete was not deleted.
	Messages map[string]string
}

// Empty reports whether the plan asks for no change to the ledger or the
// volumes (Pending, Status and Messages are reports, not changes).
func (p Plan) Empty() bool {
	return len(p.Bind) == 0 && len(p.Release) == 0 && len(p.Provision) == 0 &&
		len(p.Delete) == 0 && len(p.Forget) == 0
}

// Apply returns the ledger bindings after the plan is carried out, assuming
// every provisioning and deletion succeeds: Bind added, Release marked
// Released, Delete and Forget dropped. It does not modify bindings. A caller
// whose deletion fails keeps that binding; the next Compute asks again.
func (p Plan) Apply(bindings []Binding) []Binding {
	type key struct {
		claim  types.NamespacedName
		volume string
	}
	released := make(map[key]bool, len(p.Release))
	for _, b := range p.Release {
		released[key{b.Claim, b.Volume}] = true
	}
	drop := make(map[key]bool, len(p.Forget))
	for _, b := range p.Forget {
		drop[key{b.Claim, b.Volume}] = true
	}
	deleted := make(map[string]bool, len(p.Delete))
	for _, v := range p.Delete {
		deleted[v] = true
	}
	seen := make(map[key]bool, len(bindings))
	out := make([]Binding, 0, len(bindings)+len(p.Bind))
	for _, b := range bindings {
		k := key{b.Claim, b.Volume}
		if seen[k] || drop[k] || (b.Provisioned && deleted[b.Volume]) {
			continue
		}
		seen[k] = true
		if released[k] {
			b.Released = true
		}
		out = append(out, b)
	}
	return append(out, p.Bind...)
}
