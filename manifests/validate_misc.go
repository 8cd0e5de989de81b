package manifests

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// This file validates the remaining core kinds: Namespace, Node, ConfigMap,
// Secret, ResourceQuota, LimitRange and ServiceAccount.

// validateNamespace validates a Namespace: a DNS-1123 label name and valid
// spec finalizers.
func validateNamespace(ns *corev1.Namespace) field.ErrorList {
	allErrs := validateObjectMeta(&ns.ObjectMeta, false, apimachineryvalidation.ValidateNamespaceName, field.NewPath("metadata"))
	for i, f := range ns.Spec.Finalizers {
		allErrs = append(allErrs, validateFinalizerName(string(f), field.NewPath("spec", "finalizers").Index(i))...)
	}
	return allErrs
}

// validateServiceAccount validates a ServiceAccount (its metadata).
func validateServiceAccount(sa *corev1.ServiceAccount) field.ErrorList {
	return validateObjectMeta(&sa.ObjectMeta, true, apimachineryvalidation.ValidateServiceAccountName, field.NewPath("metadata"))
}

// validateNode validates a Node's metadata and spec: taints and pod CIDRs.
// Status is not validated.
func validateNode(node *corev1.Node) field.ErrorList {
	allErrs := validateObjectMeta(&node.ObjectMeta, false, nameIsDNSSubdomain, field.NewPath("metadata"))
	specPath := field.NewPath("spec")
	allErrs = append(allErrs, validateNodeTaints(node.Spec.Taints, specPath.Child("taints"))...)
	if node.Spec.PodCIDR != "" {
		allErrs = append(allErrs, validateLegacyCIDR(specPath.Child("podCIDR"), node.Spec.PodCIDR)...)
	}
	cidrsPath := specPath.Child("podCIDRs")
	for i, value := range node.Spec.PodCIDRs {
		allErrs = append(allErrs, validateLegacyCIDR(cidrsPath.Index(i), value)...)
	}
	if cidrs := node.Spec.PodCIDRs; len(cidrs) > 1 {
		if len(cidrs) > 2 || cidrIsIPv6(cidrs[0]) == cidrIsIPv6(cidrs[1]) {
			allErrs = append(allErrs, field.Invalid(cidrsPath, cidrs, "may specify no more than one CIDR for each IP family"))
		}
		seen := map[string]bool{}
		for i, value := range cidrs {
			if seen[value] {
				allErrs = append(allErrs, field.Duplicate(cidrsPath.Index(i), value))
			}
			seen[value] = true
		}
	}
	return allErrs
}

// cidrIsIPv6 reports whether a CIDR is an IPv6 one.
func cidrIsIPv6(cidr string) bool {
	ip, _, err := net.ParseCIDR(cidr)
	return err == nil && ip.To4() == nil
}

// validateNodeTaints validates taints: label-name keys, label values, an
// effect, and no two taints with the same key and effect.
func validateNodeTaints(taints []corev1.Taint, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	unique := map[corev1.TaintEffect]map[string]bool{}
	for i, t := range taints {
		idxPath := fldPath.Index(i)
		allErrs = append(allErrs, metav1validation.ValidateLabelName(t.Key, idxPath.Child("key"))...)
		if errs := validation.IsValidLabelValue(t.Value); len(errs) != 0 {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("value"), t.Value, strings.Join(errs, ";")))
		}
		allErrs = append(allErrs, validateTaintEffect(t.Effect, false, idxPath.Child("effect"))...)
		if unique[t.Effect][t.Key] {
			dup := field.Duplicate(idxPath, t)
			dup.Detail = "taints must be unique by key and effect pair"
			allErrs = append(allErrs, dup)
			continue
		}
		if unique[t.Effect] == nil {
			unique[t.Effect] = map[string]bool{}
		}
		unique[t.Effect][t.Key] = true
	}
	return allErrs
}

// validateConfigMap validates a ConfigMap: valid keys, no key in both data
// and binaryData, and at most 1 MiB of data in all.
func validateConfigMap(cm *corev1.ConfigMap) field.ErrorList {
	allErrs := validateObjectMeta(&cm.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	dataPath := field.NewPath("data")
	binaryPath := field.NewPath("binaryData")
	total := 0
	for _, key := range sortedKeys(cm.Data) {
		allErrs = append(allErrs, validateConfigKey(key, dataPath.Key(key))...)
		if _, dup := cm.BinaryData[key]; dup {
			allErrs = append(allErrs, field.Invalid(dataPath.Key(key), key, "duplicate of key present in binaryData"))
		}
		total += len(cm.Data[key])
	}
	for _, key := range sortedKeys(cm.BinaryData) {
		allErrs = append(allErrs, validateConfigKey(key, binaryPath.Key(key))...)
		total += len(cm.BinaryData[key])
	}
	if total > maxConfigSize {
		allErrs = append(allErrs, field.TooLong(dataPath, "", maxConfigSize))
	}
	return allErrs
}

// validateConfigKey requires a valid ConfigMap or Secret key.
func validateConfigKey(key string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsConfigMapKey(key) {
		allErrs = append(allErrs, field.Invalid(fldPath, key, msg))
	}
	return allErrs
}

// validateSecret validates a Secret: valid keys in data and stringData, at
// most 1 MiB of data (stringData merged into data, as the API server does),
// and the keys (or annotation) its type requires. Secret types are free-form:
// only the built-in types have requirements.
func validateSecret(s *corev1.Secret) field.ErrorList {
	allErrs := validateObjectMeta(&s.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	dataPath := field.NewPath("data")
	stringDataPath := field.NewPath("stringData")

	// data as the API server stores it: stringData overrides data.
	data := map[string][]byte{}
	keyPath := map[string]*field.Path{}
	for _, key := range sortedKeys(s.Data) {
		allErrs = append(allErrs, validateConfigKey(key, dataPath.Key(key))...)
		data[key] = s.Data[key]
		keyPath[key] = dataPath.Key(key)
	}
	for _, key := range sortedKeys(s.StringData) {
		allErrs = append(allErrs, validateConfigKey(key, stringDataPath.Key(key))...)
		data[key] = []byte(s.StringData[key])
		keyPath[key] = stringDataPath.Key(key)
	}
	total := 0
	for _, v := range data {
		total += len(v)
	}
	if total > maxConfigSize {
		allErrs = append(allErrs, field.TooLong(dataPath, "", maxConfigSize))
	}
	pathOf := func(key string) *field.Path {
		if p, ok := keyPath[key]; ok {
			return p
		}
		return dataPath.Key(key)
	}
	requireJSON := func(key string) {
		b, ok := data[key]
		if !ok {
			allErrs = append(allErrs, field.Required(pathOf(key), ""))
			return
		}
		if err := json.Unmarshal(b, &map[string]interface{}{}); err != nil {
			allErrs = append(allErrs, field.Invalid(pathOf(key), "<secret contents redacted>", err.Error()))
		}
	}

	switch s.Type {
	case corev1.SecretTypeServiceAccountToken:
		if s.Annotations[corev1.ServiceAccountNameKey] == "" {
			allErrs = append(allErrs, field.Required(field.NewPath("metadata", "annotations").Key(corev1.ServiceAccountNameKey), ""))
		}
	case corev1.SecretTypeDockercfg:
		requireJSON(corev1.DockerConfigKey)
	case corev1.SecretTypeDockerConfigJson:
		requireJSON(corev1.DockerConfigJsonKey)
	case corev1.SecretTypeBasicAuth:
		_, hasUser := data[corev1.BasicAuthUsernameKey]
		_, hasPassword := data[corev1.BasicAuthPasswordKey]
		if !hasUser && !hasPassword {
			allErrs = append(allErrs, field.Required(pathOf(corev1.BasicAuthUsernameKey), ""))
			allErrs = append(allErrs, field.Required(pathOf(corev1.BasicAuthPasswordKey), ""))
		}
	case corev1.SecretTypeSSHAuth:
		if len(data[corev1.SSHAuthPrivateKey]) == 0 {
			allErrs = append(allErrs, field.Required(pathOf(corev1.SSHAuthPrivateKey), ""))
		}
	case corev1.SecretTypeTLS:
		if _, ok := data[corev1.TLSCertKey]; !ok {
			allErrs = append(allErrs, field.Required(pathOf(corev1.TLSCertKey), ""))
		}
		if _, ok := data[corev1.TLSPrivateKeyKey]; !ok {
			allErrs = append(allErrs, field.Required(pathOf(corev1.TLSPrivateKeyKey), ""))
		}
	}
	return allErrs
}

// Resource quota scopes.
var (
	standardResourceQuotaScopes = map[corev1.ResourceQuotaScope]bool{
		corev1.ResourceQuotaScopeTerminating:               true,
		corev1.ResourceQuotaScopeNotTerminating:            true,
		corev1.ResourceQuotaScopeBestEffort:                true,
		corev1.ResourceQuotaScopeNotBestEffort:             true,
		corev1.ResourceQuotaScopePriorityClass:             true,
		corev1.ResourceQuotaScopeCrossNamespacePodAffinity: true,
		corev1.ResourceQuotaScopeVolumeAttributesClass:     true,
	}
	podComputeQuotaResources = map[corev1.ResourceName]bool{
		corev1.ResourcePods:           true,
		corev1.ResourceCPU:            true,
		corev1.ResourceMemory:         true,
		corev1.ResourceLimitsCPU:      true,
		corev1.ResourceLimitsMemory:   true,
		corev1.ResourceRequestsCPU:    true,
		corev1.ResourceRequestsMemory: true,
	}
)

// isResourceQuotaScopeValidForResource reports whether a scope can apply to a
// quota on the resource.
func isResourceQuotaScopeValidForResource(scope corev1.ResourceQuotaScope, name corev1.ResourceName) bool {
	switch scope {
	case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotBestEffort,
		corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return podComputeQuotaResources[name]
	case corev1.ResourceQuotaScopeBestEffort:
		return name == corev1.ResourcePods
	default:
		return true
	}
}

// validateResourceQuota validates a ResourceQuota: resource names a quota
// can track, non-negative amounts (whole for object counts), and scopes that
// exist, fit the resources and do not conflict.
func validateResourceQuota(rq *corev1.ResourceQuota) field.ErrorList {
	allErrs := validateObjectMeta(&rq.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	specPath := field.NewPath("spec")
	spec := &rq.Spec
	hardPath := specPath.Child("hard")
	for _, name := range sortedKeys(spec.Hard) {
		p := hardPath.Key(string(name))
		allErrs = append(allErrs, validateResourceQuotaResourceName(name, p)...)
		allErrs = append(allErrs, validateResourceQuantityValue(name, spec.Hard[name], p)...)
	}
	hard := sortedKeys(spec.Hard)

	scopesPath := specPath.Child("scopes")
	scopes := map[corev1.ResourceQuotaScope]bool{}
	for _, scope := range spec.Scopes {
		if !standardResourceQuotaScopes[scope] {
			allErrs = append(allErrs, field.Invalid(scopesPath, spec.Scopes, "unsupported scope"))
		}
		for _, name := range hard {
			if isStandardQuotaResourceName(name) && !isResourceQuotaScopeValidForResource(scope, name) {
				allErrs = append(allErrs, field.Invalid(scopesPath, spec.Scopes, "unsupported scope applied to resource"))
			}
		}
		scopes[scope] = true
	}
	if hasConflictingScopes(scopes) {
		allErrs = append(allErrs, field.Invalid(scopesPath, spec.Scopes, "conflicting scopes"))
	}

	if sel := spec.ScopeSelector; sel != nil {
		exprsPath := specPath.Child("scopeSelector", "matchExpressions")
		selScopes := map[corev1.ResourceQuotaScope]bool{}
		for i, req := range sel.MatchExpressions {
			p := exprsPath.Index(i)
			if !standardResourceQuotaScopes[req.ScopeName] {
				allErrs = append(allErrs, field.Invalid(p.Child("scopeName"), req.ScopeName, "unsupported scope"))
			}
			for _, name := range hard {
				if isStandardQuotaResourceName(name) && !isResourceQuotaScopeValidForResource(req.ScopeName, name) {
					allErrs = append(allErrs, field.Invalid(exprsPath, sel, "unsupported scope applied to resource"))
				}
			}
			switch req.ScopeName {
			case corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopeTerminating,
				corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
				if req.Operator != corev1.ScopeSelectorOpExists {
					allErrs = append(allErrs, field.Invalid(p.Child("operator"), req.Operator,
						"must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"))
				}
			}
			switch req.Operator {
			case corev1.ScopeSelectorOpIn, corev1.ScopeSelectorOpNotIn:
				if len(req.Values) == 0 {
					allErrs = append(allErrs, field.Required(p.Child("values"), "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"))
				}
			case corev1.ScopeSelectorOpExists, corev1.ScopeSelectorOpDoesNotExist:
				if len(req.Values) != 0 {
					allErrs = append(allErrs, field.Invalid(p.Child("values"), req.Values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"))
				}
			default:
				allErrs = append(allErrs, field.Invalid(p.Child("operator"), req.Operator, "not a valid selector operator"))
			}
			selScopes[req.ScopeName] = true
		}
		if hasConflictingScopes(selScopes) {
			allErrs = append(allErrs, field.Invalid(exprsPath, spec.Scopes, "conflicting scopes"))
		}
	}
	return allErrs
}

// hasConflictingScopes reports BestEffort with NotBestEffort, or Terminating
// with NotTerminating.
func hasConflictingScopes(s map[corev1.ResourceQuotaScope]bool) bool {
	return (s[corev1.ResourceQuotaScopeBestEffort] && s[corev1.ResourceQuotaScopeNotBestEffort]) ||
		(s[corev1.ResourceQuotaScopeTerminating] && s[corev1.ResourceQuotaScopeNotTerminating])
}

// validateResourceQuotaResourceName requires a resource a quota can track.
func validateResourceQuotaResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	allErrs := validateResourceName(name, fldPath)
	if !strings.Contains(string(name), "/") && !isStandardQuotaResourceName(name) {
		return append(allErrs, field.Invalid(fldPath, name, isInvalidQuotaResource))
	}
	return allErrs
}

var standardLimitRangeTypes = map[corev1.LimitType]bool{
	corev1.LimitTypePod:                   true,
	corev1.LimitTypeContainer:             true,
	corev1.LimitTypePersistentVolumeClaim: true,
}

// validateLimitRange validates a LimitRange: known, unique types; resource
// names fit for each type; and min <= defaultRequest <= default <= max for
// every resource, with maxLimitRequestRatio >= 1 and within max/min.
func validateLimitRange(lr *corev1.LimitRange) field.ErrorList {
	allErrs := validateObjectMeta(&lr.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	limitsPath := field.NewPath("spec", "limits")
	types := map[corev1.LimitType]bool{}
	for i := range lr.Spec.Limits {
		limit := &lr.Spec.Limits[i]
		idxPath := limitsPath.Index(i)
		allErrs = append(allErrs, validateLimitRangeTypeName(limit.Type, idxPath.Child("type"))...)
		if types[limit.Type] {
			allErrs = append(allErrs, field.Duplicate(idxPath.Child("type"), limit.Type))
		}
		types[limit.Type] = true

		keys := map[corev1.ResourceName]bool{}
		collect := func(list corev1.ResourceList, name string) {
			for _, k := range sortedKeys(list) {
				allErrs = append(allErrs, validateLimitRangeResourceName(limit.Type, k, idxPath.Child(name).Key(string(k)))...)
				keys[k] = true
			}
		}
		collect(limit.Max, "max")
		collect(limit.Min, "min")
		if limit.Type == corev1.LimitTypePod {
			if len(limit.Default) > 0 {
				allErrs = append(allErrs, field.Forbidden(idxPath.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(limit.DefaultRequest) > 0 {
				allErrs = append(allErrs, field.Forbidden(idxPath.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
		} else {
			collect(limit.Default, "default")
			collect(limit.DefaultRequest, "defaultRequest")
		}
		if limit.Type == corev1.LimitTypePersistentVolumeClaim {
			_, hasMin := limit.Min[corev1.ResourceStorage]
			_, hasMax := limit.Max[corev1.ResourceStorage]
			if !hasMin && !hasMax {
				allErrs = append(allErrs, field.Required(idxPath.Child("limits"), "either minimum or maximum storage value is required, but neither was provided"))
			}
		}
		collect(limit.MaxLimitRequestRatio, "maxLimitRequestRatio")

		var defaults, defaultRequests corev1.ResourceList
		if limit.Type != corev1.LimitTypePod {
			defaults, defaultRequests = limit.Default, limit.DefaultRequest
		}
		for _, k := range sortedKeys(keys) {
			allErrs = append(allErrs, validateLimitRangeBounds(k, limit, defaults, defaultRequests, idxPath)...)
		}
	}
	return allErrs
}

// validateLimitRangeBounds checks the order of the bounds of one resource.
func validateLimitRangeBounds(k corev1.ResourceName, limit *corev1.LimitRangeItem, defaults, defaultRequests corev1.ResourceList, idxPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	key := string(k)
	minQ, hasMin := limit.Min[k]
	maxQ, hasMax := limit.Max[k]
	defQ, hasDef := defaults[k]
	defReqQ, hasDefReq := defaultRequests[k]
	ratio, hasRatio := limit.MaxLimitRequestRatio[k]

	if hasMin && hasMax && minQ.Cmp(maxQ) > 0 {
		allErrs = append(allErrs, field.Invalid(idxPath.Child("min").Key(key), minQ, fmt.Sprintf("min value %s is greater than max value %s", minQ.String(), maxQ.String())))
	}
	if hasDefReq && hasMin && minQ.Cmp(defReqQ) > 0 {
		allErrs = append(allErrs, field.Invalid(idxPath.Child("defaultRequest").Key(key), defReqQ, fmt.Sprintf("min value %s is greater than default request value %s", minQ.String(), defReqQ.String())))
	}
	if hasDefReq && hasMax && defReqQ.Cmp(maxQ) > 0 {
		allErrs = append(allErrs, field.Invalid(idxPath.Child("defaultRequest").Key(key), defReqQ, fmt.Sprintf("default request value %s is greater than max value %s", defReqQ.String(), maxQ.String())))
	}
	if hasDefReq && hasDef && defReqQ.Cmp(defQ) > 0 {
		allErrs = append(allErrs, field.Invalid(idxPath.Child("defaultRequest").Key(key), defReqQ, fmt.Sprintf("default request value %s is greater than default limit value %s", defReqQ.String(), defQ.String())))
	}
	if hasDef && hasMin && minQ.Cmp(defQ) > 0 {
		allErrs = append(allErrs, field.Invalid(idxPath.Child("default").Key(key), minQ, fmt.Sprintf("min value %s is greater than default value %s", minQ.String(), defQ.String())))
	}
	if hasDef && hasMax && defQ.Cmp(maxQ) > 0 {
		allErrs = append(allErrs, field.Invalid(idxPath.Child("default").Key(key), maxQ, fmt.Sprintf("default value %s is greater than max value %s", defQ.String(), maxQ.String())))
	}
	if hasRatio && ratio.Cmp(*resource.NewQuantity(1, resource.DecimalSI)) < 0 {
		allErrs = append(allErrs, field.Invalid(idxPath.Child("maxLimitRequestRatio").Key(key), ratio, fmt.Sprintf("ratio %s is less than 1", ratio.String())))
	}
	if hasRatio && hasMin && hasMax {
		ratioValue := float64(ratio.Value())
		minValue, maxValue := minQ.Value(), maxQ.Value()
		if ratio.Value() < resource.MaxMilliValue && minValue < resource.MaxMilliValue && maxValue < resource.MaxMilliValue {
			ratioValue = float64(ratio.MilliValue()) / 1000
			minValue, maxValue = minQ.MilliValue(), maxQ.MilliValue()
		}
		maxRatio := float64(maxValue) / float64(minValue)
		if ratioValue > maxRatio {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("maxLimitRequestRatio").Key(key), ratio, fmt.Sprintf("ratio %s is greater than max/min = %f", ratio.String(), maxRatio)))
		}
	}
	// Resources that cannot be overcommitted need equal default and request.
	if !isOvercommitAllowed(k) && hasDef && hasDefReq && defQ.Cmp(defReqQ) != 0 {
		allErrs = append(allErrs, field.Invalid(idxPath.Child("defaultRequest").Key(key), defReqQ, fmt.Sprintf("default value %s must equal to defaultRequest value %s in %s", defQ.String(), defReqQ.String(), key)))
	}
	return allErrs
}

// validateLimitRangeTypeName requires Pod, Container, PersistentVolumeClaim
// or a domain-qualified type.
func validateLimitRangeTypeName(value corev1.LimitType, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(value)) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	if len(allErrs) != 0 {
		return allErrs
	}
	if !strings.Contains(string(value), "/") && !standardLimitRangeTypes[value] {
		return append(allErrs, field.Invalid(fldPath, value, "must be a standard limit type or fully qualified"))
	}
	return allErrs
}

// validateLimitRangeResourceName requires a container resource for Pod and
// Container limits and any known resource for other types.
func validateLimitRangeResourceName(t corev1.LimitType, name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	if t == corev1.LimitTypePod || t == corev1.LimitTypeContainer {
		return validateContainerResourceName(name, fldPath)
	}
	return validateResourceName(name, fldPath)
}
