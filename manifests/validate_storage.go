package manifests

import (
	"path"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// This file validates PersistentVolumes, PersistentVolumeClaims and
// StorageClasses, after Kubernetes' core and storage validation.

var supportedAccessModes = []corev1.PersistentVolumeAccessMode{
	corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOncePod,
}

// validateAccessModes requires known access modes, ReadWriteOncePod alone.
func validateAccessModes(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	foundRWOP, foundOther := false, false
	for _, mode := range modes {
		known := false
		for _, m := range supportedAccessModes {
			known = known || m == mode
		}
		if !known {
			allErrs = append(allErrs, field.NotSupported(fldPath, mode, supportedAccessModes))
		}
		if mode == corev1.ReadWriteOncePod {
			foundRWOP = true
		} else if known {
			foundOther = true
		}
	}
	if foundRWOP && foundOther {
		allErrs = append(allErrs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return allErrs
}

// validateVolumeMode requires Block or Filesystem.
func validateVolumeMode(mode *corev1.PersistentVolumeMode, fldPath *field.Path) field.ErrorList {
	if mode != nil && *mode != corev1.PersistentVolumeBlock && *mode != corev1.PersistentVolumeFilesystem {
		return field.ErrorList{notSupported(fldPath, *mode, corev1.PersistentVolumeBlock, corev1.PersistentVolumeFilesystem)}
	}
	return nil
}

// validatePersistentVolume validates a PersistentVolume on create.
func validatePersistentVolume(pv *corev1.PersistentVolume) field.ErrorList {
	allErrs := validateObjectMeta(&pv.ObjectMeta, false, nameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validatePersistentVolumeSpec(&pv.Spec, field.NewPath("spec"))...)
}

// validatePersistentVolumeSpec requires access modes, a positive storage
// capacity (and no other resource), exactly one volume source, and valid
// reclaim policy, node affinity, class and volume mode.
func validatePersistentVolumeSpec(spec *corev1.PersistentVolumeSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(spec.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("accessModes"), ""))
	}
	allErrs = append(allErrs, validateAccessModes(spec.AccessModes, fldPath.Child("accessModes"))...)

	capPath := fldPath.Child("capacity")
	if len(spec.Capacity) == 0 {
		allErrs = append(allErrs, field.Required(capPath, ""))
	}
	if _, ok := spec.Capacity[corev1.ResourceStorage]; !ok || len(spec.Capacity) > 1 {
		allErrs = append(allErrs, field.NotSupported(capPath, spec.Capacity, []corev1.ResourceName{corev1.ResourceStorage}))
	}
	for _, r := range sortedKeys(spec.Capacity) {
		qty := spec.Capacity[r]
		if qty.Value() < 0 {
			allErrs = append(allErrs, field.Invalid(capPath.Key(string(r)), qty.Value(), "must be a valid resource quantity"))
		}
		allErrs = append(allErrs, validatePositiveQuantityValue(qty, capPath.Key(string(r)))...)
	}

	if p := spec.PersistentVolumeReclaimPolicy; p != "" && p != corev1.PersistentVolumeReclaimDelete && p != corev1.PersistentVolumeReclaimRecycle && p != corev1.PersistentVolumeReclaimRetain {
		allErrs = append(allErrs, notSupported(fldPath.Child("persistentVolumeReclaimPolicy"), p,
			corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain))
	}

	nodeAffinitySpecified := false
	if na := spec.NodeAffinity; na != nil {
		nodeAffinitySpecified = true
		if na.Required == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("nodeAffinity", "required"), "must specify required node constraints"))
		} else {
			allErrs = append(allErrs, validateNodeSelector(na.Required, false, fldPath.Child("nodeAffinity", "required"))...)
		}
	}

	src := &spec.PersistentVolumeSource
	sources := []sourceCheck{
		{"hostPath", src.HostPath != nil, func(p *field.Path) field.ErrorList { return validateHostPathVolumeSource(src.HostPath, p) }},
		{"gcePersistentDisk", src.GCEPersistentDisk != nil, nil},
		{"awsElasticBlockStore", src.AWSElasticBlockStore != nil, nil},
		{"glusterfs", src.Glusterfs != nil, nil},
		{"flocker", src.Flocker != nil, nil},
		{"nfs", src.NFS != nil, func(p *field.Path) field.ErrorList { return validateNFSVolumeSource(src.NFS, p) }},
		{"rbd", src.RBD != nil, nil},
		{"quobyte", src.Quobyte != nil, nil},
		{"cephfs", src.CephFS != nil, nil},
		{"iscsi", src.ISCSI != nil, nil},
		{"cinder", src.Cinder != nil, nil},
		{"fc", src.FC != nil, nil},
		{"flexVolume", src.FlexVolume != nil, nil},
		{"azureFile", src.AzureFile != nil, nil},
		{"vsphereVolume", src.VsphereVolume != nil, nil},
		{"photonPersistentDisk", src.PhotonPersistentDisk != nil, nil},
		{"portworxVolume", src.PortworxVolume != nil, nil},
		{"azureDisk", src.AzureDisk != nil, nil},
		{"scaleIO", src.ScaleIO != nil, nil},
		{"local", src.Local != nil, func(p *field.Path) field.ErrorList {
			var errs field.ErrorList
			if src.Local.Path == "" {
				errs = append(errs, field.Required(p.Child("path"), ""))
			} else {
				errs = append(errs, validatePathNoBacksteps(src.Local.Path, p.Child("path"))...)
			}
			if !nodeAffinitySpecified {
				errs = append(errs, field.Required(fldPath.Child("nodeAffinity"), "Local volume requires node affinity"))
			}
			return errs
		}},
		{"storageos", src.StorageOS != nil, nil},
		{"csi", src.CSI != nil, func(p *field.Path) field.ErrorList { return validateCSIPersistentVolumeSource(src.CSI, p) }},
	}
	allErrs = append(allErrs, validateExactlyOneSource(sources, fldPath)...)

	if src.HostPath != nil && path.Clean(src.HostPath.Path) == "/" && spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimRecycle {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("persistentVolumeReclaimPolicy"), "may not be 'recycle' for a hostPath mount of '/'"))
	}
	if spec.StorageClassName != "" {
		allErrs = append(allErrs, validateNameWith(nameIsDNSSubdomain, spec.StorageClassName, fldPath.Child("storageClassName"))...)
	}
	allErrs = append(allErrs, validateVolumeMode(spec.VolumeMode, fldPath.Child("volumeMode"))...)
	if spec.VolumeAttributesClassName != nil {
		if *spec.VolumeAttributesClassName == "" {
			allErrs = append(allErrs, field.Required(fldPath.Child("volumeAttributesClassName"), "an empty string is disallowed"))
		} else {
			allErrs = append(allErrs, validateNameWith(nameIsDNSSubdomain, *spec.VolumeAttributesClassName, fldPath.Child("volumeAttributesClassName"))...)
		}
		if src.CSI == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("csi"), "has to be specified when using volumeAttributesClassName"))
		}
	}
	return allErrs
}

// validateCSIPersistentVolumeSource requires a driver, a volume handle and
// complete secret references.
func validateCSIPersistentVolumeSource(csi *corev1.CSIPersistentVolumeSource, fldPath *field.Path) field.ErrorList {
	allErrs := validateCSIDriverName(csi.Driver, fldPath.Child("driver"))
	if csi.VolumeHandle == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("volumeHandle"), ""))
	}
	for _, ref := range []struct {
		name string
		ref  *corev1.SecretReference
	}{
		{"controllerPublishSecretRef", csi.ControllerPublishSecretRef},
		{"controllerExpandSecretRef", csi.ControllerExpandSecretRef},
		{"nodePublishSecretRef", csi.NodePublishSecretRef},
		{"nodeExpandSecretRef", csi.NodeExpandSecretRef},
	} {
		if ref.ref != nil {
			allErrs = append(allErrs, validatePVSecretReference(ref.ref, fldPath.Child(ref.name))...)
		}
	}
	return allErrs
}

// validatePVSecretReference requires a secret name and namespace.
func validatePVSecretReference(ref *corev1.SecretReference, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if ref.Name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	} else {
		allErrs = append(allErrs, validateDNS1123Subdomain(ref.Name, fldPath.Child("name"))...)
	}
	if ref.Namespace == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("namespace"), ""))
	} else {
		allErrs = append(allErrs, validateDNS1123Label(ref.Namespace, fldPath.Child("namespace"))...)
	}
	return allErrs
}

// validatePersistentVolumeClaim validates a PersistentVolumeClaim on create.
func validatePersistentVolumeClaim(pvc *corev1.PersistentVolumeClaim) field.ErrorList {
	allErrs := validateObjectMeta(&pvc.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validatePersistentVolumeClaimSpec(&pvc.Spec, field.NewPath("spec"))...)
}

// validatePersistentVolumeClaimSpec requires access modes and a positive
// storage request, and validates the selector, class, volume mode and data
// sources. It serves claims and the claim templates of ephemeral volumes.
func validatePersistentVolumeClaimSpec(spec *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(spec.AccessModes) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("accessModes"), "at least 1 access mode is required"))
	}
	if spec.Selector != nil {
		allErrs = append(allErrs, validateLabelSelector(spec.Selector, fldPath.Child("selector"))...)
	}
	allErrs = append(allErrs, validateAccessModes(spec.AccessModes, fldPath.Child("accessModes"))...)

	storagePath := fldPath.Child("resources", "requests").Key(string(corev1.ResourceStorage))
	if storage, ok := spec.Resources.Requests[corev1.ResourceStorage]; !ok {
		allErrs = append(allErrs, field.Required(storagePath, ""))
	} else if errs := validatePositiveQuantityValue(storage, storagePath); len(errs) > 0 {
		allErrs = append(allErrs, errs...)
	} else {
		allErrs = append(allErrs, validateResourceQuantityValue(corev1.ResourceStorage, storage, storagePath)...)
	}

	if spec.StorageClassName != nil && *spec.StorageClassName != "" {
		allErrs = append(allErrs, validateNameWith(nameIsDNSSubdomain, *spec.StorageClassName, fldPath.Child("storageClassName"))...)
	}
	allErrs = append(allErrs, validateVolumeMode(spec.VolumeMode, fldPath.Child("volumeMode"))...)
	if ds := spec.DataSource; ds != nil {
		allErrs = append(allErrs, validateDataSource(ds.APIGroup, ds.Kind, ds.Name, fldPath.Child("dataSource"))...)
	}
	if ref := spec.DataSourceRef; ref != nil {
		allErrs = append(allErrs, validateDataSource(ref.APIGroup, ref.Kind, ref.Name, fldPath.Child("dataSourceRef"))...)
		if ref.Namespace != nil && *ref.Namespace != "" {
			allErrs = append(allErrs, validateNameWith(apimachineryvalidation.ValidateNamespaceName, *ref.Namespace, fldPath.Child("dataSourceRef", "namespace"))...)
		}
	}
	if ref := spec.DataSourceRef; ref != nil && ref.Namespace != nil && *ref.Namespace != "" {
		if spec.DataSource != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("dataSource"), field.OmitValueType{}, "may not be specified when dataSourceRef.namespace is specified"))
		}
	} else if spec.DataSource != nil && spec.DataSourceRef != nil {
		ds, ref := spec.DataSource, spec.DataSourceRef
		if !reflect.DeepEqual(ds.APIGroup, ref.APIGroup) || ds.Kind != ref.Kind || ds.Name != ref.Name {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("dataSource"), field.OmitValueType{}, "must match dataSourceRef"))
		}
	}
	if c := spec.VolumeAttributesClassName; c != nil && *c != "" {
		allErrs = append(allErrs, validateNameWith(nameIsDNSSubdomain, *c, fldPath.Child("volumeAttributesClassName"))...)
	}
	return allErrs
}

// validateDataSource requires the name and kind of a claim's data source; in
// the core group it must be a PersistentVolumeClaim.
func validateDataSource(apiGroup *string, kind, name string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if name == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("name"), ""))
	}
	if kind == "" {
		allErrs = append(allErrs, field.Required(fldPath.Child("kind"), ""))
	}
	group := ""
	if apiGroup != nil {
		group = *apiGroup
	}
	if group == "" && kind != "PersistentVolumeClaim" {
		allErrs = append(allErrs, field.Invalid(fldPath, kind, "must be 'PersistentVolumeClaim' when referencing the default apiGroup"))
	}
	if group != "" {
		allErrs = append(allErrs, validateDNS1123Subdomain(group, fldPath.Child("apiGroup"))...)
	}
	return allErrs
}

// Limits on StorageClass parameters.
const (
	maxProvisionerParameterSize = 256 * (1 << 10)
	maxProvisionerParameterLen  = 512
)

// validateStorageClass validates a StorageClass on create: provisioner
// required (a qualified name), parameters within limits, reclaim policy Delete
// or Retain, binding mode Immediate or WaitForFirstConsumer, and allowed
// topologies.
func validateStorageClass(sc *storagev1.StorageClass) field.ErrorList {
	allErrs := validateObjectMeta(&sc.ObjectMeta, false, nameIsDNSSubdomain, field.NewPath("metadata"))

	provPath := field.NewPath("provisioner")
	if sc.Provisioner == "" {
		allErrs = append(allErrs, field.Required(provPath, ""))
	} else {
		allErrs = append(allErrs, validateQualifiedName(strings.ToLower(sc.Provisioner), provPath)...)
	}

	paramsPath := field.NewPath("parameters")
	if len(sc.Parameters) > maxProvisionerParameterLen {
		allErrs = append(allErrs, field.TooLong(paramsPath, "", maxProvisionerParameterLen))
	} else {
		var total int64
		for _, k := range sortedKeys(sc.Parameters) {
			if k == "" {
				allErrs = append(allErrs, field.Invalid(paramsPath, k, "field can not be empty."))
			}
			total += int64(len(k)) + int64(len(sc.Parameters[k]))
		}
		if total > maxProvisionerParameterSize {
			allErrs = append(allErrs, field.TooLong(paramsPath, "", maxProvisionerParameterSize))
		}
	}

	if p := sc.ReclaimPolicy; p != nil && *p != "" && *p != corev1.PersistentVolumeReclaimDelete && *p != corev1.PersistentVolumeReclaimRetain {
		allErrs = append(allErrs, notSupported(field.NewPath("reclaimPolicy"), *p, corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRetain))
	}

	modePath := field.NewPath("volumeBindingMode")
	if m := sc.VolumeBindingMode; m == nil {
		allErrs = append(allErrs, field.Required(modePath, ""))
	} else if *m != storagev1.VolumeBindingImmediate && *m != storagev1.VolumeBindingWaitForFirstConsumer {
		allErrs = append(allErrs, notSupported(modePath, *m, storagev1.VolumeBindingImmediate, storagev1.VolumeBindingWaitForFirstConsumer))
	}

	topoPath := field.NewPath("allowedTopologies")
	var seen []map[string]map[string]bool
	for i, term := range sc.AllowedTopologies {
		exprMap, errs := validateTopologySelectorTerm(term, topoPath.Index(i))
		allErrs = append(allErrs, errs...)
		for _, prev := range seen {
			if reflect.DeepEqual(prev, exprMap) {
				allErrs = append(allErrs, field.Duplicate(topoPath.Index(i).Child("matchLabelExpressions"), ""))
			}
		}
		seen = append(seen, exprMap)
	}
	return allErrs
}

// validateTopologySelectorTerm validates a topology term (keys are label
// names, values required and unique, keys unique) and returns it as a map.
func validateTopologySelectorTerm(term corev1.TopologySelectorTerm, fldPath *field.Path) (map[string]map[string]bool, field.ErrorList) {
	var allErrs field.ErrorList
	exprMap := map[string]map[string]bool{}
	exprPath := fldPath.Child("matchLabelExpressions")
	for i, req := range term.MatchLabelExpressions {
		idxPath := exprPath.Index(i)
		valuesPath := idxPath.Child("values")
		if len(req.Values) == 0 {
			allErrs = append(allErrs, field.Required(valuesPath, ""))
		}
		values := map[string]bool{}
		for j, v := range req.Values {
			if values[v] {
				allErrs = append(allErrs, field.Duplicate(valuesPath.Index(j), v))
			}
			values[v] = true
		}
		allErrs = append(allErrs, metav1validation.ValidateLabelName(req.Key, idxPath.Child("key"))...)
		if _, exists := exprMap[req.Key]; exists {
			allErrs = append(allErrs, field.Duplicate(idxPath.Child("key"), req.Key))
		}
		exprMap[req.Key] = values
	}
	return exprMap, allErrs
}
