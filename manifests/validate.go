package manifests

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// This file holds the entry point of object validation and the helpers shared
// by every kind. The rules are ported from the Kubernetes API server
// (k8s.io/kubernetes/pkg/apis/{core,apps,batch,networking,storage}/validation)
// and keep its messages; where a Kubernetes path does not point at the field
// that is wrong (a handful of historical bugs), the path here does.

// Messages shared with Kubernetes.
const (
	isNegativeErrorMsg     = apimachineryvalidation.IsNegativeErrorMsg // "must be greater than or equal to 0"
	isNotPositiveErrorMsg  = "must be greater than zero"
	isNotIntegerErrorMsg   = "must be an integer"
	isInvalidQuotaResource = "must be a standard resource for quota"
	fileModeErrorMsg       = "must be a number between 0 and 0777 (octal), both inclusive"
	selectorMismatchMsg    = "`selector` does not match template `labels`"
	moreThanOneVolumeMsg   = "may not specify more than 1 volume type"

	// maxConfigSize is core.MaxSecretSize: the limit on the data of a
	// ConfigMap or a Secret.
	maxConfigSize = 1 * 1024 * 1024
)

// validateObject validates obj the way the Kubernetes API server validates it
// on create and returns the field errors, with paths from the object root
// (spec.template.spec.containers[0].image), or nil when obj is valid.
//
// obj must be a pointer to one of the supported current-version types,
// already defaulted as the API server defaults it on create (metadata.namespace
// is "default" for namespaced kinds the user left without one, and empty for
// cluster-scoped kinds). Objects of any other type are not validated: the
// result is nil. validateObject does not modify obj.
func validateObject(obj runtime.Object) field.ErrorList {
	var errs field.ErrorList
	switch o := obj.(type) {
	case *corev1.Namespace:
		errs = validateNamespace(o)
	case *corev1.Node:
		errs = validateNode(o)
	case *corev1.Pod:
		errs = validatePod(o)
	case *corev1.ReplicationController:
		errs = validateReplicationController(o)
	case *corev1.Service:
		errs = validateService(o)
	case *corev1.Endpoints:
		errs = validateEndpoints(o)
	case *corev1.ConfigMap:
		errs = validateConfigMap(o)
	case *corev1.Secret:
		errs = validateSecret(o)
	case *corev1.PersistentVolume:
		errs = validatePersistentVolume(o)
	case *corev1.PersistentVolumeClaim:
		errs = validatePersistentVolumeClaim(o)
	case *corev1.ResourceQuota:
		errs = validateResourceQuota(o)
	case *corev1.LimitRange:
		errs = validateLimitRange(o)
	case *corev1.ServiceAccount:
		errs = validateServiceAccount(o)
	case *appsv1.ReplicaSet:
		errs = validateReplicaSet(o)
	case *appsv1.Deployment:
		errs = validateDeployment(o)
	case *appsv1.DaemonSet:
		errs = validateDaemonSet(o)
	case *batchv1.Job:
		errs = validateJob(o)
	case *batchv1.CronJob:
		errs = validateCronJob(o)
	case *networkingv1.Ingress:
		errs = validateIngress(o)
	case *networkingv1.NetworkPolicy:
		errs = validateNetworkPolicy(o)
	case *storagev1.StorageClass:
		errs = validateStorageClass(o)
	default:
		return nil
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// nameFunc checks an object name; it returns the reasons the name is invalid.
// It has the shape of Kubernetes' ValidateNameFunc.
type nameFunc = apimachineryvalidation.ValidateNameFunc

// Name rules per kind, as Kubernetes declares them.
var (
	nameIsDNSSubdomain = apimachineryvalidation.NameIsDNSSubdomain
	nameIsDNSLabel     = apimachineryvalidation.NameIsDNSLabel
	nameIsDNS1035Label = apimachineryvalidation.NameIsDNS1035Label
)

// validateObjectMeta validates the metadata of a top-level object: name
// required and valid under nameFn, namespace required (a DNS-1123 label) when
// namespaced and forbidden otherwise, labels, annotations (keys and total
// size), owner references and finalizers. It is Kubernetes' core
// ValidateObjectMeta, including its check of unqualified finalizer names.
func validateObjectMeta(meta *metav1.ObjectMeta, namespaced bool, nameFn nameFunc, fldPath *field.Path) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(meta, namespaced, nameFn, fldPath)
	for i, f := range meta.Finalizers {
		allErrs = append(allErrs, validateKubeFinalizerName(f, fldPath.Child("finalizers").Index(i))...)
	}
	if v, ok := meta.Annotations[PruneAnnotation]; ok && v != "false" && v != "true" {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("annotations").Key(PruneAnnotation), v,
			`must be "false" (keep the object running when it leaves Git, until shoal delete) or "true" (the default: delete it with Git)`))
	}
	return allErrs
}

// PruneAnnotation set to "false" on an object keeps it running as last
// applied when it disappears from Git, until `shoal delete` removes it
// (package reconciler/prune). "true" is the default; any other value is
// an error, so that a typo does not silently leave the object unprotected.
const PruneAnnotation = "shoal.run/prune"

// standardFinalizers are the finalizer names that need no domain prefix.
var standardFinalizers = map[string]bool{
	string(corev1.FinalizerKubernetes): true,
	metav1.FinalizerOrphanDependents:   true,
	metav1.FinalizerDeleteDependents:   true,
}

// validateKubeFinalizerName rejects an unqualified finalizer name that is not
// one of Kubernetes' standard finalizers.
func validateKubeFinalizerName(name string, fldPath *field.Path) field.ErrorList {
	if !strings.Contains(name, "/") && !standardFinalizers[name] {
		return field.ErrorList{field.Invalid(fldPath, name, "name is neither a standard finalizer name nor is it fully qualified")}
	}
	return nil
}

// validateFinalizerName validates a finalizer listed in a Namespace's spec.
func validateFinalizerName(name string, fldPath *field.Path) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateFinalizerName(name, fldPath)
	return append(allErrs, validateKubeFinalizerName(name, fldPath)...)
}

// validateTemplateLabelsAndAnnotations validates the labels and annotations of
// an embedded template's metadata (the only metadata a template may carry
// meaningfully).
func validateTemplateLabelsAndAnnotations(meta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	allErrs := metav1validation.ValidateLabels(meta.Labels, fldPath.Child("labels"))
	return append(allErrs, apimachineryvalidation.ValidateAnnotations(meta.Annotations, fldPath.Child("annotations"))...)
}

// validateNameWith reports each reason nameFn gives for name at fldPath.
func validateNameWith(nameFn nameFunc, name string, fldPath *field.Path) field.ErrorList {
	return invalidFor(fldPath, name, nameFn(name, false))
}

// validateDNS1123Label requires value to be a DNS-1123 label.
func validateDNS1123Label(value string, fldPath *field.Path) field.ErrorList {
	return invalidFor(fldPath, value, validation.IsDNS1123Label(value))
}

// validateDNS1123Subdomain requires value to be a DNS-1123 subdomain.
func validateDNS1123Subdomain(value string, fldPath *field.Path) field.ErrorList {
	return invalidFor(fldPath, value, validation.IsDNS1123Subdomain(value))
}

// validateQualifiedName requires value to be a qualified name (an optional
// DNS-subdomain prefix and "/", then a name of at most 63 characters).
func validateQualifiedName(value string, fldPath *field.Path) field.ErrorList {
	return invalidFor(fldPath, value, validation.IsQualifiedName(value))
}

// invalidFor turns each reason a checker gives into an Invalid error for
// value at fldPath.
func invalidFor(fldPath *field.Path, value string, reasons []string) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range reasons {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}

// validateNonnegativeField requires value >= 0.
func validateNonnegativeField(value int64, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(value, fldPath)
}

// validateNonnegativeQuantity requires a quantity >= 0.
func validateNonnegativeQuantity(value resource.Quantity, fldPath *field.Path) field.ErrorList {
	if value.Cmp(resource.Quantity{}) < 0 {
		return field.ErrorList{field.Invalid(fldPath, value.String(), isNegativeErrorMsg)}
	}
	return nil
}

// validatePositiveQuantityValue requires a quantity > 0.
func validatePositiveQuantityValue(value resource.Quantity, fldPath *field.Path) field.ErrorList {
	if value.Cmp(resource.Quantity{}) <= 0 {
		return field.ErrorList{field.Invalid(fldPath, value.String(), isNotPositiveErrorMsg)}
	}
	return nil
}

// validateResourceQuantityValue requires a quantity of the named resource to
// be non-negative, and whole for resources counted in integers (object
// counts, extended resources).
func validateResourceQuantityValue(name corev1.ResourceName, value resource.Quantity, fldPath *field.Path) field.ErrorList {
	allErrs := validateNonnegativeQuantity(value, fldPath)
	if isIntegerResourceName(name) && value.MilliValue()%1000 != 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, value, isNotIntegerErrorMsg))
	}
	return allErrs
}

// validateLabelSelector validates a label selector strictly (invalid label
// values in expressions are errors).
func validateLabelSelector(sel *metav1.LabelSelector, fldPath *field.Path) field.ErrorList {
	return metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fldPath)
}

// validateLocalDescendingPath requires p to be relative and free of ".."
// elements.
func validateLocalDescendingPath(p string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if strings.HasPrefix(p, "/") {
		allErrs = append(allErrs, field.Invalid(fldPath, p, "must be a relative path"))
	}
	return append(allErrs, validatePathNoBacksteps(p, fldPath)...)
}

// validatePathNoBacksteps rejects a path with a ".." element.
func validatePathNoBacksteps(p string, fldPath *field.Path) field.ErrorList {
	for _, item := range strings.Split(strings.ReplaceAll(p, `\`, "/"), "/") {
		if item == ".." {
			return field.ErrorList{field.Invalid(fldPath, p, "must not contain '..'")}
		}
	}
	return nil
}

// validateLocalNonReservedPath requires p to be relative, free of ".."
// elements and not to start with "..".
func validateLocalNonReservedPath(p string, fldPath *field.Path) field.ErrorList {
	allErrs := validateLocalDescendingPath(p, fldPath)
	if strings.HasPrefix(p, "..") && !strings.HasPrefix(p, "../") {
		allErrs = append(allErrs, field.Invalid(fldPath, p, "must not start with '..'"))
	}
	return allErrs
}

// notSupported is field.NotSupported for enumerations of typed strings.
func notSupported[T ~string](fldPath *field.Path, value T, valid ...T) *field.Error {
	return field.NotSupported(fldPath, value, valid)
}

// sortedKeys returns the keys of m in order, so that errors come out in a
// stable order.
func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

// strictIPCIDR is the StrictIPCIDRValidation setting used for the legacy IP
// and CIDR fields: leading zeros and IPv4-mapped IPv6 addresses are errors.
const strictIPCIDR = true

// validateLegacyIP validates an IP address in a field that predates strict IP
// validation (non-canonical forms are accepted).
func validateLegacyIP(fldPath *field.Path, value string) field.ErrorList {
	return validation.IsValidIPForLegacyField(fldPath, value, strictIPCIDR, nil)
}

// validateLegacyCIDR validates a CIDR in a field that predates strict CIDR
// validation.
func validateLegacyCIDR(fldPath *field.Path, value string) field.ErrorList {
	return validation.IsValidCIDRForLegacyField(fldPath, value, strictIPCIDR, nil)
}

// int32Value dereferences p, or returns def when p is nil.
func int32Value(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// mustBeNoMoreThan returns the detail for a name that is too long.
func mustBeNoMoreThan(n int) string { return fmt.Sprintf("must be no more than %d characters", n) }

// Resource names, as Kubernetes' core helper classifies them.

const (
	resourceHugePagesPrefix         = "hugepages-"
	resourceRequestsHugePagesPrefix = "requests.hugepages-"
	resourceDefaultNamespacePrefix  = "kubernetes.io/"
	resourceDefaultRequestsPrefix   = "requests."
)

// standardContainerResources may be requested by containers without a domain.
var standardContainerResources = map[corev1.ResourceName]bool{
	corev1.ResourceCPU:              true,
	corev1.ResourceMemory:           true,
	corev1.ResourceEphemeralStorage: true,
}

// standardQuotaResources are the resources a quota may limit without a domain.
var standardQuotaResources = map[corev1.ResourceName]bool{
	corev1.ResourceCPU:                      true,
	corev1.ResourceMemory:                   true,
	corev1.ResourceEphemeralStorage:         true,
	corev1.ResourceRequestsCPU:              true,
	corev1.ResourceRequestsMemory:           true,
	corev1.ResourceRequestsStorage:          true,
	corev1.ResourceRequestsEphemeralStorage: true,
	corev1.ResourceLimitsCPU:                true,
	corev1.ResourceLimitsMemory:             true,
	corev1.ResourceLimitsEphemeralStorage:   true,
	corev1.ResourcePods:                     true,
	corev1.ResourceQuotas:                   true,
	corev1.ResourceServices:                 true,
	corev1.ResourceReplicationControllers:   true,
	corev1.ResourceSecrets:                  true,
	corev1.ResourcePersistentVolumeClaims:   true,
	corev1.ResourceConfigMaps:               true,
	corev1.ResourceServicesNodePorts:        true,
	corev1.ResourceServicesLoadBalancers:    true,
}

// standardResources are all the resource names known without a domain.
var standardResources = map[corev1.ResourceName]bool{
	corev1.ResourceCPU:                      true,
	corev1.ResourceMemory:                   true,
	corev1.ResourceEphemeralStorage:         true,
	corev1.ResourceRequestsCPU:              true,
	corev1.ResourceRequestsMemory:           true,
	corev1.ResourceRequestsEphemeralStorage: true,
	corev1.ResourceLimitsCPU:                true,
	corev1.ResourceLimitsMemory:             true,
	corev1.ResourceLimitsEphemeralStorage:   true,
	corev1.ResourcePods:                     true,
	corev1.ResourceQuotas:                   true,
	corev1.ResourceServices:                 true,
	corev1.ResourceReplicationControllers:   true,
	corev1.ResourceSecrets:                  true,
	corev1.ResourceConfigMaps:               true,
	corev1.ResourcePersistentVolumeClaims:   true,
	corev1.ResourceStorage:                  true,
	corev1.ResourceRequestsStorage:          true,
	corev1.ResourceServicesNodePorts:        true,
	corev1.ResourceServicesLoadBalancers:    true,
}

// integerResources are counted in whole units.
var integerResources = map[corev1.ResourceName]bool{
	corev1.ResourcePods:                   true,
	corev1.ResourceQuotas:                 true,
	corev1.ResourceServices:               true,
	corev1.ResourceReplicationControllers: true,
	corev1.ResourceSecrets:                true,
	corev1.ResourceConfigMaps:             true,
	corev1.ResourcePersistentVolumeClaims: true,
	corev1.ResourceServicesNodePorts:      true,
	corev1.ResourceServicesLoadBalancers:  true,
}

// isHugePageResourceName reports whether name is hugepages-<size>.
func isHugePageResourceName(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), resourceHugePagesPrefix)
}

// isQuotaHugePageResourceName reports whether name is a hugepages quota
// resource (hugepages-<size> or requests.hugepages-<size>).
func isQuotaHugePageResourceName(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), resourceHugePagesPrefix) || strings.HasPrefix(string(name), resourceRequestsHugePagesPrefix)
}

// isNativeResource reports whether name is in the kubernetes.io/ domain
// (unprefixed names implicitly are).
func isNativeResource(name corev1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || strings.Contains(string(name), resourceDefaultNamespacePrefix)
}

// isExtendedResourceName reports whether name is an extended resource: outside
// kubernetes.io/, not "requests."-prefixed, and a qualified name once
// prefixed with "requests.".
func isExtendedResourceName(name corev1.ResourceName) bool {
	if isNativeResource(name) || strings.HasPrefix(string(name), resourceDefaultRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(resourceDefaultRequestsPrefix+string(name))) == 0
}

// isOvercommitAllowed reports whether requests may be lower than limits.
func isOvercommitAllowed(name corev1.ResourceName) bool {
	return isNativeResource(name) && !isHugePageResourceName(name)
}

// isIntegerResourceName reports whether the resource is counted in whole
// units (object counts and extended resources).
func isIntegerResourceName(name corev1.ResourceName) bool {
	return integerResources[name] || isExtendedResourceName(name)
}

// isStandardResourceName reports whether name is a resource known without a
// domain.
func isStandardResourceName(name corev1.ResourceName) bool {
	return standardResources[name] || isQuotaHugePageResourceName(name)
}

// isStandardQuotaResourceName reports whether a quota can track name without
// a domain.
func isStandardQuotaResourceName(name corev1.ResourceName) bool {
	return standardQuotaResources[name] || isQuotaHugePageResourceName(name)
}

// isStandardContainerResourceName reports whether a container can request
// name without a domain.
func isStandardContainerResourceName(name corev1.ResourceName) bool {
	return standardContainerResources[name] || isHugePageResourceName(name)
}

// validateResourceName requires a qualified name that, without a domain, is a
// standard resource.
func validateResourceName(value corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(value)) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	if len(allErrs) != 0 {
		return allErrs
	}
	if !strings.Contains(string(value), "/") && !isStandardResourceName(value) {
		return append(allErrs, field.Invalid(fldPath, value, "must be a standard resource type or fully qualified"))
	}
	return allErrs
}

// validateContainerResourceName requires a resource a container may request:
// cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource.
func validateContainerResourceName(value corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	allErrs := validateResourceName(value, fldPath)
	if !strings.Contains(string(value), "/") {
		if !isStandardContainerResourceName(value) {
			return append(allErrs, field.Invalid(fldPath, value, "must be a standard resource for containers"))
		}
	} else if !isNativeResource(value) && !isExtendedResourceName(value) {
		return append(allErrs, field.Invalid(fldPath, value, "doesn't follow extended resource name standard"))
	}
	return allErrs
}
