package volumebinding

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// ProvisionedName is the name of the volume shoal provisions for a claim:
// "pvc-" and a UUID-shaped prefix of the SHA-256 of "namespace/name"
// (attempt 0) or "namespace/name#attempt" when earlier names are taken.
func ProvisionedName(claim types.NamespacedName, attempt int) string {
	id := claim.Namespace + "/" + claim.Name
	if attempt > 0 {
		id += "#" + strconv.Itoa(attempt)
	}
	h := sha256.Sum256([]byte(id))
	return fmt.Sprintf("pvc-%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// claimRefMatches reports whether a volume's claimRef names the claim. UIDs
// are compared only when both are set: claims from Git have none.
func claimRefMatches(ref *corev1.ObjectReference, pvc *corev1.PersistentVolumeClaim) bool {
	if ref == nil || ref.Name != pvc.Name || ref.Namespace != pvc.Namespace {
		return false
	}
	return ref.UID == "" || pvc.UID == "" || ref.UID == pvc.UID
}

// volumeModeMismatch is Kubernetes' CheckVolumeModeMismatches: unset means
// Filesystem on both sides.
func volumeModeMismatch(pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) bool {
	claimMode, volumeMode := corev1.PersistentVolumeFilesystem, corev1.PersistentVolumeFilesystem
	if pvc.Spec.VolumeMode != nil {
		claimMode = *pvc.Spec.VolumeMode
	}
	if pv.Spec.VolumeMode != nil {
		volumeMode = *pv.Spec.VolumeMode
	}
	return claimMode != volumeMode
}

// accessModesFit reports whether the volume offers every access mode the
// claim asks for.
func accessModesFit(pvc *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume) bool {
	for _, m := range pvc.Spec.AccessModes {
		if !slices.Contains(pv.Spec.AccessModes, m) {
			return false
		}
	}
	return true
}

// nodeAffinityAdmits reports whether the volume's required node affinity
// admits the node, as Kubernetes' CheckNodeAffinity: no affinity admits
// every node; terms are ORed, the requirements inside a term ANDed, and an
// empty term admits nothing.
func nodeAffinityAdmits(pv *corev1.PersistentVolume, node string, nodeLabels labels.Set) bool {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return true
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		if termMatches(term, node, nodeLabels) {
			return true
		}
	}
	return false
}

func termMatches(term corev1.NodeSelectorTerm, node string, nodeLabels labels.Set) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	for _, r := range term.MatchExpressions {
		if !requirementMatches(r, nodeLabels) {
			return false
		}
	}
	for _, r := range term.MatchFields {
		if r.Key != "metadata.name" || !requirementMatches(r, labels.Set{"metadata.name": node}) {
			return false
		}
	}
	return true
}

func requirementMatches(r corev1.NodeSelectorRequirement, set labels.Set) bool {
	value, has := set[r.Key]
	switch r.Operator {
	case corev1.NodeSelectorOpIn:
		return has && slices.Contains(r.Values, value)
	case corev1.NodeSelectorOpNotIn:
		return !has || !slices.Contains(r.Values, value)
	case corev1.NodeSelectorOpExists:
		return has
	case corev1.NodeSelectorOpDoesNotExist:
		return !has
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if !has || len(r.Values) != 1 {
			return false
		}
		got, err1 := strconv.ParseInt(value, 10, 64)
		want, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == corev1.NodeSelectorOpGt {
			return got > want
		}
		return got < want
	}
	return false
}
