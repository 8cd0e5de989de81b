package manifests

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	appsv1beta2 "k8s.io/api/apps/v1beta2"
	batchv1 "k8s.io/api/batch/v1"
	batchv1beta1 "k8s.io/api/batch/v1beta1"
	corev1 "k8s.io/api/core/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// kindInfo describes one kind shoal reads, in its current API version.
type kindInfo struct {
	kind       string
	apiVersion string
	namespaced bool
	newObj     func() runtime.Object
}

// legacyInfo describes an older API version of a supported kind: the type to
// decode it into and how to convert it to the current version.
type legacyInfo struct {
	apiVersion string
	kind       string
	newObj     func() runtime.Object
	// convert turns a decoded (and legacy-defaulted) object into the current
	// version. It reports what cannot be converted without loss as errors.
	convert func(runtime.Object) (runtime.Object, []fieldProblem)
}

// fieldProblem is an error or warning about one field, before it is placed
// in a file.
type fieldProblem struct {
	path    string
	message string
	warning bool
}

// kinds lists every kind shoal reads fully, in its current API version.
var kinds = []kindInfo{
	{"Namespace", "v1", false, func() runtime.Object { return &corev1.Namespace{} }},
	{"Node", "v1", false, func() runtime.Object { return &corev1.Node{} }},
	{"Pod", "v1", true, func() runtime.Object { return &corev1.Pod{} }},
	{"ReplicationController", "v1", true, func() runtime.Object { return &corev1.ReplicationController{} }},
	{"Service", "v1", true, func() runtime.Object { return &corev1.Service{} }},
	{"Endpoints", "v1", true, func() runtime.Object { return &corev1.Endpoints{} }},
	{"ConfigMap", "v1", true, func() runtime.Object { return &corev1.ConfigMap{} }},
	{"Secret", "v1", true, func() runtime.Object { return &corev1.Secret{} }},
	{"PersistentVolume", "v1", false, func() runtime.Object { return &corev1.PersistentVolume{} }},
	{"PersistentVolumeClaim", "v1", true, func() runtime.Object { return &corev1.PersistentVolumeClaim{} }},
	{"ResourceQuota", "v1", true, func() runtime.Object { return &corev1.ResourceQuota{} }},
	{"LimitRange", "v1", true, func() runtime.Object { return &corev1.LimitRange{} }},
	{"ServiceAccount", "v1", true, func() runtime.Object { return &corev1.ServiceAccount{} }},
	{"ReplicaSet", "apps/v1", true, func() runtime.Object { return &appsv1.ReplicaSet{} }},
	{"Deployment", "apps/v1", true, func() runtime.Object { return &appsv1.Deployment{} }},
	{"DaemonSet", "apps/v1", true, func() runtime.Object { return &appsv1.DaemonSet{} }},
	{"Job", "batch/v1", true, func() runtime.Object { return &batchv1.Job{} }},
	{"CronJob", "batch/v1", true, func() runtime.Object { return &batchv1.CronJob{} }},
	{"Ingress", "networking.k8s.io/v1", true, func() runtime.Object { return &networkingv1.Ingress{} }},
	{"NetworkPolicy", "networking.k8s.io/v1", true, func() runtime.Object { return &networkingv1.NetworkPolicy{} }},
	{"StorageClass", "storage.k8s.io/v1", false, func() runtime.Object { return &storagev1.StorageClass{} }},
}

// legacyKinds lists the older API versions that are read and converted.
var legacyKinds = []legacyInfo{
	{"extensions/v1beta1", "Deployment", func() runtime.Object { return &extensionsv1beta1.Deployment{} }, convertExtensionsDeployment},
	{"extensions/v1beta1", "DaemonSet", func() runtime.Object { return &extensionsv1beta1.DaemonSet{} }, convertExtensionsDaemonSet},
	{"extensions/v1beta1", "ReplicaSet", func() runtime.Object { return &extensionsv1beta1.ReplicaSet{} }, convertExtensionsReplicaSet},
	{"extensions/v1beta1", "Ingress", func() runtime.Object { return &extensionsv1beta1.Ingress{} }, convertExtensionsIngress},
	{"extensions/v1beta1", "NetworkPolicy", func() runtime.Object { return &extensionsv1beta1.NetworkPolicy{} }, convertExtensionsNetworkPolicy},
	{"networking.k8s.io/v1beta1", "Ingress", func() runtime.Object { return &extensionsv1beta1.Ingress{} }, convertExtensionsIngress},
	{"apps/v1beta1", "Deployment", func() runtime.Object { return &appsv1beta1.Deployment{} }, convertAppsV1beta1Deployment},
	{"apps/v1beta2", "Deployment", func() runtime.Object { return &appsv1beta2.Deployment{} }, convertAppsV1beta2Deployment},
	{"apps/v1beta2", "DaemonSet", func() runtime.Object { return &appsv1beta2.DaemonSet{} }, convertAppsV1beta2DaemonSet},
	{"apps/v1beta2", "ReplicaSet", func() runtime.Object { return &appsv1beta2.ReplicaSet{} }, convertAppsV1beta2ReplicaSet},
	{"batch/v1beta1", "CronJob", func() runtime.Object { return &batchv1beta1.CronJob{} }, convertBatchV1beta1CronJob},
	// batch/v2alpha1 CronJob has the same schema as batch/v1beta1 and is no
	// longer in k8s.io/api, so it is decoded with the batch/v1beta1 types.
	{"batch/v2alpha1", "CronJob", func() runtime.Object { return &batchv1beta1.CronJob{} }, convertBatchV1beta1CronJob},
}

// otherKind is a well-known kind that shoal does not run: ignored with a
// warning (only where ignoring it cannot change what runs) or refused.
type otherKind struct {
	// groups are the API groups the kind is known in ("" for the core
	// group); the same kind name in another group is a custom resource.
	groups  []string
	ignored bool
	message string
}

const rbacIgnored = "RBAC objects are ignored: shoal has no Kubernetes API for pods to call, so there is nothing to authorize"

// otherKinds lists the well-known kinds that shoal ignores or refuses, with
// the reason and, where there is one, what to use instead.
var otherKinds = map[string]otherKind{
	"Role":                {[]string{"rbac.authorization.k8s.io"}, true, rbacIgnored},
	"ClusterRole":         {[]string{"rbac.authorization.k8s.io"}, true, rbacIgnored},
	"RoleBinding":         {[]string{"rbac.authorization.k8s.io"}, true, rbacIgnored},
	"ClusterRoleBinding":  {[]string{"rbac.authorization.k8s.io"}, true, rbacIgnored},
	"PodDisruptionBudget": {[]string{"policy"}, true, "PodDisruptionBudget is ignored: shoal never evicts pods voluntarily (no drain, no autoscaler), so there is nothing to budget"},
	"PriorityClass":       {[]string{"scheduling.k8s.io"}, true, "PriorityClass is ignored: shoal does not preempt pods"},

	"StatefulSet":                    {[]string{"apps"}, false, "StatefulSet is not supported: use a Deployment with a PersistentVolumeClaim, or one Pod per member"},
	"PodSecurityPolicy":              {[]string{"policy", "extensions"}, false, "PodSecurityPolicy is not supported (Kubernetes removed it in 1.25): use shoal admission policies to restrict what a namespace may run"},
	"CustomResourceDefinition":       {[]string{"apiextensions.k8s.io"}, false, "CustomResourceDefinition is not supported: shoal has no API server to extend"},
	"HorizontalPodAutoscaler":        {[]string{"autoscaling"}, false, "HorizontalPodAutoscaler is not supported: shoal takes replica counts from Git only"},
	"EndpointSlice":                  {[]string{"discovery.k8s.io"}, false, "EndpointSlice is not supported: write an Endpoints object for a Service without a selector"},
	"Binding":                        {[]string{""}, false, "Binding is not supported: set spec.nodeName or spec.nodeSelector on the Pod instead"},
	"PodTemplate":                    {[]string{""}, false, "PodTemplate is not supported: put the template in a workload's spec.template"},
	"ValidatingWebhookConfiguration": {[]string{"admissionregistration.k8s.io"}, false, "ValidatingWebhookConfiguration is not supported: shoal has no API server to call webhooks"},
	"MutatingWebhookConfiguration":   {[]string{"admissionregistration.k8s.io"}, false, "MutatingWebhookConfiguration is not supported: shoal has no API server to call webhooks"},
	"APIService":                     {[]string{"apiregistration.k8s.io"}, false, "APIService is not supported: shoal has no API server to extend"},
	"Kustomization":                  {[]string{"kustomize.config.k8s.io"}, false, "Kustomization is not supported: shoal reads plain manifests; commit the output of `kustomize build` instead"},
	"Lease":                          {[]string{"coordination.k8s.io"}, false, "Lease is not supported: shoal has no API server"},
	"Event":                          {[]string{"", "events.k8s.io"}, false, "Event is not supported in manifests: shoal records its own events"},
	"VolumeAttachment":               {[]string{"storage.k8s.io"}, false, "VolumeAttachment is not supported: shoal has no CSI attacher"},
	"CSIDriver":                      {[]string{"storage.k8s.io"}, false, "CSIDriver is not supported: shoal has no CSI support"},
	"RuntimeClass":                   {[]string{"node.k8s.io"}, false, "RuntimeClass is not supported: shoal runs every container with its own libcontainer runtime"},
}

var (
	kindsByName = map[string]*kindInfo{}
	kindsByType = map[reflect.Type]*kindInfo{}
	legacyByGVK = map[string]*legacyInfo{}
)

func init() {
	for i := range kinds {
		k := &kinds[i]
		kindsByName[k.kind] = k
		kindsByType[reflect.TypeOf(k.newObj())] = k
	}
	for i := range legacyKinds {
		l := &legacyKinds[i]
		legacyByGVK[l.apiVersion+" "+l.kind] = l
	}
}

// IsNamespaced reports whether kind is one of the kinds shoal reads and
// lives in a namespace. It is false for cluster-scoped and unknown kinds.
func IsNamespaced(kind string) bool {
	k, ok := kindsByName[kind]
	return ok && k.namespaced
}

// NewObject returns an empty object of a kind shoal reads, in the current
// API version of that kind (*appsv1.Deployment for "Deployment"), to decode
// an object shoal stored itself; nil for any other kind.
func NewObject(kind string) runtime.Object {
	if k, ok := kindsByName[kind]; ok {
		return k.newObj()
	}
	return nil
}

// SupportedKinds returns the kinds shoal reads fully, sorted.
func SupportedKinds() []string {
	out := make([]string, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k.kind)
	}
	sort.Strings(out)
	return out
}

// resolveKind decides how to read an object of the given apiVersion and
// kind. It returns the type to decode into, the legacy conversion (nil for
// the current version), whether the kind is ignored (with the warning), or
// an error message when the object cannot be read.
func resolveKind(apiVersion, kind string) (k *kindInfo, legacy *legacyInfo, ignoreMsg string, errMsg string) {
	if cur, ok := kindsByName[kind]; ok {
		if cur.apiVersion == apiVersion {
			return cur, nil, "", ""
		}
		if l, ok := legacyByGVK[apiVersion+" "+kind]; ok {
			return cur, l, "", ""
		}
		return nil, nil, "", fmt.Sprintf("%s is not served as apiVersion %q: use apiVersion %q", kind, apiVersion, cur.apiVersion)
	}
	group := ""
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		group = apiVersion[:i]
	}
	if other, ok := otherKinds[kind]; ok && slices.Contains(other.groups, group) {
		if other.ignored {
			return nil, nil, other.message, ""
		}
		return nil, nil, "", other.message
	}
	return nil, nil, "", fmt.Sprintf("kind %s (apiVersion %s) is not supported by shoal: custom resources have no controller here; docs/SUPPORT.md lists the kinds shoal runs",
		kind, apiVersion)
}
