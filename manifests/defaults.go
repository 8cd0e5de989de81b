package manifests

import (
	"math"
	"reflect"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file reproduces, field by field, the defaulting the Kubernetes API
// server runs on a freshly created object: the hand-written SetDefaults_*
// functions of k8s.io/kubernetes/pkg/apis/{core,apps,batch,networking,storage}/v1
// (defaults.go), the declarative "+default=" markers of the k8s.io/api types,
// and the traversal of zz_generated.defaults.go that decides which of those
// functions reach which nested struct. Helpers are named after the function
// they mirror.
//
// Deliberately left out, because they are not defaulting of a manifest:
//   - status fields (PersistentVolume and PersistentVolumeClaim phase Pending,
//     Namespace phase Active, Node allocatable, LoadBalancer ingress ipMode):
//     the server owns status and ignores what a manifest says about it;
//   - values filled in by registry strategies and allocators rather than by
//     defaulting (Namespace spec.finalizers ["kubernetes"], Service clusterIP,
//     ipFamilies and ipFamilyPolicy, nodePorts, Job selector and controller-uid
//     labels, metadata.uid and creationTimestamp);
//   - pod-level resources defaulting (spec.resources requests and limits
//     aggregated from the containers), which the server applies only behind
//     the PodLevelResources feature gate (alpha in Kubernetes 1.32 and 1.33,
//     beta from 1.34), and only for Pods that set spec.resources.
//
// Everything else applies unconditionally, including the behaviour behind
// feature gates that are on by default in current releases (Job
// podReplacementPolicy) and the image-volume pull policy, which only matters
// when a manifest uses image volumes and therefore the ImageVolume gate.

// setDefaults mirrors the Kubernetes API server's defaulting for creation: it
// fills in, in place, every field the server would fill in when obj is created
// from a manifest. Values the manifest set are kept, except where the server's
// defaulting itself overrides them: resource quantities are rounded up to milli
// scale, a Namespace's kubernetes.io/metadata.name label is forced to its name,
// and a Service without ClientIP affinity loses its sessionAffinityConfig. It
// handles pointers to these current-version types:
//
//   - core/v1: Namespace, Node, Pod, ReplicationController, Service, Endpoints,
//     ConfigMap, Secret, PersistentVolume, PersistentVolumeClaim, ResourceQuota,
//     LimitRange, ServiceAccount;
//   - apps/v1: ReplicaSet, Deployment, DaemonSet;
//   - batch/v1: Job, CronJob;
//   - networking/v1: Ingress, NetworkPolicy;
//   - storage/v1: StorageClass.
//
// Any other type, and a nil pointer of a handled type, is left untouched.
//
// setDefaults is idempotent: calling it twice is the same as calling it once.
// Every default is either applied only to a field that is still unset, with a
// value that counts as set, or forces a value that a second call finds already
// in place (the namespace name label, a dropped sessionAffinityConfig, resource
// quantities already at milli scale). Labels copied from a pod template are
// copies: setDefaults never makes two fields share a map.
func setDefaults(obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Namespace:
		if o != nil {
			defaultNamespace(o)
		}
	case *corev1.Node:
		// Node defaulting (SetDefaults_NodeStatus and the status resource
		// lists) only touches status, which a manifest does not control.
	case *corev1.Pod:
		if o != nil {
			defaultPod(o)
		}
	case *corev1.ReplicationController:
		if o != nil {
			defaultReplicationController(o)
		}
	case *corev1.Service:
		if o != nil {
			defaultService(o)
		}
	case *corev1.Endpoints:
		if o != nil {
			defaultEndpoints(o)
		}
	case *corev1.ConfigMap:
		if o != nil {
			defaultConfigMap(o)
		}
	case *corev1.Secret:
		if o != nil {
			defaultSecret(o)
		}
	case *corev1.PersistentVolume:
		if o != nil {
			defaultPersistentVolume(o)
		}
	case *corev1.PersistentVolumeClaim:
		if o != nil {
			defaultPersistentVolumeClaimSpec(&o.Spec)
		}
	case *corev1.ResourceQuota:
		if o != nil {
			roundResourceList(o.Spec.Hard)
		}
	case *corev1.LimitRange:
		if o != nil {
			defaultLimitRange(o)
		}
	case *corev1.ServiceAccount:
		// The API server defines no defaults for ServiceAccount.
	case *appsv1.ReplicaSet:
		if o != nil {
			defaultReplicaSet(o)
		}
	case *appsv1.Deployment:
		if o != nil {
			defaultDeployment(o)
		}
	case *appsv1.DaemonSet:
		if o != nil {
			defaultDaemonSet(o)
		}
	case *batchv1.Job:
		if o != nil {
			defaultJob(o)
		}
	case *batchv1.CronJob:
		if o != nil {
			defaultCronJob(o)
		}
	case *networkingv1.Ingress:
		// networking/v1 defines no defaults for Ingress; in particular
		// pathType is required, not defaulted, in v1.
	case *networkingv1.NetworkPolicy:
		if o != nil {
			defaultNetworkPolicy(o)
		}
	case *storagev1.StorageClass:
		if o != nil {
			defaultStorageClass(o)
		}
	}
}

// ptrTo returns a pointer to a fresh copy of v.
func ptrTo[T any](v T) *T { return &v }

// copyLabels returns a copy of m that is nil exactly when m is nil, so that a
// defaulted label map never aliases the map it was copied from.
func copyLabels(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// roundResourceList mirrors SetDefaults_ResourceList: every quantity in rl is
// rounded up to milli scale (1.0001 becomes 1001m). A nil list is left nil.
func roundResourceList(rl corev1.ResourceList) {
	for name, q := range rl {
		q.RoundUp(-3)
		rl[name] = q
	}
}

// ---- core/v1: objects ------------------------------------------------------

// defaultNamespace mirrors SetDefaults_Namespace: a named namespace carries
// the label kubernetes.io/metadata.name=<name>, overwriting any other value the
// manifest gave that label. A namespace without a name (generateName only) is
// left alone. The "kubernetes" finalizer the server puts in spec.finalizers is
// added by the namespace registry strategy, not by defaulting, and is not
// reproduced here.
func defaultNamespace(ns *corev1.Namespace) {
	if ns.Name == "" {
		return
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

// defaultPod mirrors SetObjectDefaults_Pod: the Pod-only defaults of
// SetDefaults_Pod (requests from limits, enableServiceLinks, host ports under
// hostNetwork) followed by the defaults every PodSpec receives.
func defaultPod(pod *corev1.Pod) {
	// SetDefaults_Pod. These three defaults apply to Pods only, never to pod
	// templates: requests from limits always have; host ports have since
	// Kubernetes 1.28 (kubernetes/kubernetes#117696, behind the deprecated
	// DefaultHostNetworkHostPortsInPodTemplates gate, off by default).
	defaultRequestsFromLimits(pod.Spec.Containers)
	defaultRequestsFromLimits(pod.Spec.InitContainers)
	if pod.Spec.EnableServiceLinks == nil {
		pod.Spec.EnableServiceLinks = ptrTo(corev1.DefaultEnableServiceLinks)
	}
	if pod.Spec.HostNetwork {
		defaultHostNetworkPorts(pod.Spec.Containers)
		defaultHostNetworkPorts(pod.Spec.InitContainers)
	}
	defaultPodSpec(&pod.Spec)
}

// defaultRequestsFromLimits gives every container that has limits a request
// equal to the limit for each resource it has a limit but no request for
// (part of SetDefaults_Pod). A container with limits but a nil request list
// gets a new list.
func defaultRequestsFromLimits(containers []corev1.Container) {
	for i := range containers {
		res := &containers[i].Resources
		if res.Limits == nil {
			continue
		}
		if res.Requests == nil {
			res.Requests = make(corev1.ResourceList, len(res.Limits))
		}
		for name, limit := range res.Limits {
			if _, ok := res.Requests[name]; !ok {
				res.Requests[name] = limit.DeepCopy()
			}
		}
	}
}

// defaultHostNetworkPorts mirrors defaultHostNetworkPorts: with host
// networking every container port without a hostPort gets hostPort =
// containerPort.
func defaultHostNetworkPorts(containers []corev1.Container) {
	for i := range containers {
		for j := range containers[i].Ports {
			p := &containers[i].Ports[j]
			if p.HostPort == 0 {
				p.HostPort = p.ContainerPort
			}
		}
	}
}

// defaultReplicationController mirrors SetObjectDefaults_ReplicationController:
// replicas 1; when the pod template has labels (even an empty, non-nil map),
// an empty selector and empty object labels are copied from them; and the pod
// template, when present, receives the PodSpec defaults.
func defaultReplicationController(rc *corev1.ReplicationController) {
	if rc.Spec.Template != nil && rc.Spec.Template.Labels != nil {
		labels := rc.Spec.Template.Labels
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = copyLabels(labels)
		}
		if len(rc.Labels) == 0 {
			rc.Labels = copyLabels(labels)
		}
	}
	if rc.Spec.Replicas == nil {
		rc.Spec.Replicas = ptrTo[int32](1)
	}
	if rc.Spec.Template != nil {
		defaultPodSpec(&rc.Spec.Template.Spec)
	}
}

// defaultService mirrors SetDefaults_Service, in its order:
//   - sessionAffinity None; with None any sessionAffinityConfig is dropped,
//     with ClientIP a missing clientIP timeout becomes 10800 seconds;
//   - type ClusterIP;
//   - each port: protocol TCP, targetPort = port when targetPort is 0 or "";
//   - externalTrafficPolicy Cluster when the service is externally accessible
//     (NodePort, LoadBalancer, or ClusterIP with externalIPs);
//   - internalTrafficPolicy Cluster for ClusterIP, NodePort and LoadBalancer
//     (not ExternalName);
//   - allocateLoadBalancerNodePorts true for LoadBalancer.
func defaultService(svc *corev1.Service) {
	spec := &svc.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	if spec.SessionAffinity == corev1.ServiceAffinityNone {
		spec.SessionAffinityConfig = nil
	}
	if spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		cfg := spec.SessionAffinityConfig
		if cfg == nil || cfg.ClientIP == nil || cfg.ClientIP.TimeoutSeconds == nil {
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{
				ClientIP: &corev1.ClientIPConfig{
					TimeoutSeconds: ptrTo(corev1.DefaultClientIPServiceAffinitySeconds),
				},
			}
		}
	}
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	externallyAccessible := spec.Type == corev1.ServiceTypeLoadBalancer ||
		spec.Type == corev1.ServiceTypeNodePort ||
		(spec.Type == corev1.ServiceTypeClusterIP && len(spec.ExternalIPs) > 0)
	if externallyAccessible && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if spec.InternalTrafficPolicy == nil {
		switch spec.Type {
		case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
			spec.InternalTrafficPolicy = ptrTo(corev1.ServiceInternalTrafficPolicyCluster)
		}
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer && spec.AllocateLoadBalancerNodePorts == nil {
		spec.AllocateLoadBalancerNodePorts = ptrTo(true)
	}
}

// defaultEndpoints mirrors SetDefaults_Endpoints: every subset port without a
// protocol gets TCP.
func defaultEndpoints(ep *corev1.Endpoints) {
	for i := range ep.Subsets {
		for j := range ep.Subsets[i].Ports {
			p := &ep.Subsets[i].Ports[j]
			if p.Protocol == "" {
				p.Protocol = corev1.ProtocolTCP
			}
		}
	}
}

// defaultConfigMap mirrors SetDefaults_ConfigMap: a nil data map becomes an
// empty one. binaryData is not defaulted.
func defaultConfigMap(cm *corev1.ConfigMap) {
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
}

// defaultSecret mirrors SetDefaults_Secret: type Opaque.
func defaultSecret(s *corev1.Secret) {
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
}

// defaultPersistentVolume mirrors SetObjectDefaults_PersistentVolume, without
// status: persistentVolumeReclaimPolicy Retain, volumeMode Filesystem,
// capacity rounded to milli scale, and the source-specific defaults of
// hostPath, rbd, iscsi, azureDisk and scaleIO.
func defaultPersistentVolume(pv *corev1.PersistentVolume) {
	spec := &pv.Spec
	if spec.PersistentVolumeReclaimPolicy == "" {
		spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if spec.VolumeMode == nil {
		spec.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
	}
	roundResourceList(spec.Capacity)
	src := &spec.PersistentVolumeSource
	if src.HostPath != nil {
		defaultHostPath(src.HostPath)
	}
	if src.RBD != nil {
		defaultRBD(&src.RBD.RBDPool, &src.RBD.RadosUser, &src.RBD.Keyring)
	}
	if src.ISCSI != nil {
		defaultISCSIInterface(&src.ISCSI.ISCSIInterface)
	}
	if src.AzureDisk != nil {
		defaultAzureDisk(src.AzureDisk)
	}
	if src.ScaleIO != nil {
		defaultScaleIO(&src.ScaleIO.StorageMode, &src.ScaleIO.FSType)
	}
}

// defaultPersistentVolumeClaimSpec mirrors SetDefaults_PersistentVolumeClaimSpec
// plus the resource rounding the generated defaulter adds: volumeMode
// Filesystem, resources.limits and resources.requests rounded to milli scale.
// It is used for PersistentVolumeClaims and for ephemeral volume claim
// templates alike.
func defaultPersistentVolumeClaimSpec(spec *corev1.PersistentVolumeClaimSpec) {
	if spec.VolumeMode == nil {
		spec.VolumeMode = ptrTo(corev1.PersistentVolumeFilesystem)
	}
	roundResourceList(spec.Resources.Limits)
	roundResourceList(spec.Resources.Requests)
}

// defaultLimitRange applies defaultLimitRangeItem to every item and then
// rounds all five of its resource lists to milli scale.
func defaultLimitRange(lr *corev1.LimitRange) {
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		defaultLimitRangeItem(item)
		roundResourceList(item.Max)
		roundResourceList(item.Min)
		roundResourceList(item.Default)
		roundResourceList(item.DefaultRequest)
		roundResourceList(item.MaxLimitRequestRatio)
	}
}

// defaultLimitRangeItem mirrors SetDefaults_LimitRangeItem. Only items of type
// Container are defaulted: default and defaultRequest become non-nil maps; a
// resource with a max but no default gets default = max; a resource with a
// default but no defaultRequest gets defaultRequest = default; and a resource
// that still has no defaultRequest but has a min gets defaultRequest = min.
func defaultLimitRangeItem(item *corev1.LimitRangeItem) {
	if item.Type != corev1.LimitTypeContainer {
		return
	}
	if item.Default == nil {
		item.Default = corev1.ResourceList{}
	}
	if item.DefaultRequest == nil {
		item.DefaultRequest = corev1.ResourceList{}
	}
	for name, q := range item.Max {
		if _, ok := item.Default[name]; !ok {
			item.Default[name] = q.DeepCopy()
		}
	}
	for name, q := range item.Default {
		if _, ok := item.DefaultRequest[name]; !ok {
			item.DefaultRequest[name] = q.DeepCopy()
		}
	}
	for name, q := range item.Min {
		if _, ok := item.DefaultRequest[name]; !ok {
			item.DefaultRequest[name] = q.DeepCopy()
		}
	}
}

// ---- core/v1: pod spec ------------------------------------------------------

// defaultPodSpec mirrors SetDefaults_PodSpec together with everything the
// generated defaulter applies beneath a PodSpec. It is what every PodSpec
// receives, in a Pod and in every pod template alike:
//   - dnsPolicy ClusterFirst, restartPolicy Always, securityContext {},
//     terminationGracePeriodSeconds 30, schedulerName default-scheduler;
//   - defaultVolume for every volume;
//   - defaultContainer for every init, regular and ephemeral container;
//   - overhead and pod-level resources rounded to milli scale.
//
// It does not set enableServiceLinks, requests from limits or host ports:
// Kubernetes applies those to Pods only (see defaultPod).
func defaultPodSpec(spec *corev1.PodSpec) {
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		spec.TerminationGracePeriodSeconds = ptrTo[int64](corev1.DefaultTerminationGracePeriodSeconds)
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}
	for i := range spec.Volumes {
		defaultVolume(&spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		defaultContainer(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		defaultContainer(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		// SetDefaults_EphemeralContainer treats the common part as a Container.
		defaultContainer((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	roundResourceList(spec.Overhead)
	if spec.Resources != nil {
		roundResourceList(spec.Resources.Limits)
		roundResourceList(spec.Resources.Requests)
	}
}

// defaultContainer mirrors SetDefaults_Container and the defaults of the
// structs nested in a container:
//   - imagePullPolicy from the image (see pullPolicyForImage);
//   - terminationMessagePath /dev/termination-log, terminationMessagePolicy File;
//   - ports: protocol TCP;
//   - env: valueFrom.fieldRef.apiVersion v1, valueFrom.fileKeyRef.optional false;
//   - resources.limits and resources.requests rounded to milli scale;
//   - liveness, readiness and startup probes: defaultProbe;
//   - lifecycle postStart and preStop: defaultHTTPGet on their httpGet.
func defaultContainer(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = pullPolicyForImage(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		from := c.Env[i].ValueFrom
		if from == nil {
			continue
		}
		if from.FieldRef != nil {
			defaultObjectFieldSelector(from.FieldRef)
		}
		if from.FileKeyRef != nil && from.FileKeyRef.Optional == nil {
			from.FileKeyRef.Optional = ptrTo(false)
		}
	}
	roundResourceList(c.Resources.Limits)
	roundResourceList(c.Resources.Requests)
	defaultProbe(c.LivenessProbe)
	defaultProbe(c.ReadinessProbe)
	defaultProbe(c.StartupProbe)
	if c.Lifecycle != nil {
		if c.Lifecycle.PostStart != nil {
			defaultHTTPGet(c.Lifecycle.PostStart.HTTPGet)
		}
		if c.Lifecycle.PreStop != nil {
			defaultHTTPGet(c.Lifecycle.PreStop.HTTPGet)
		}
	}
}

// defaultProbe mirrors SetDefaults_Probe and the defaults of its handler:
// timeoutSeconds 1, periodSeconds 10, successThreshold 1, failureThreshold 3
// (each when 0), httpGet path "/" and scheme HTTP, grpc service "". A nil
// probe is left nil.
func defaultProbe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	defaultHTTPGet(p.HTTPGet)
	if p.GRPC != nil && p.GRPC.Service == nil {
		p.GRPC.Service = ptrTo("")
	}
}

// defaultHTTPGet mirrors SetDefaults_HTTPGetAction: path "/" and scheme HTTP.
// A nil action is left nil.
func defaultHTTPGet(a *corev1.HTTPGetAction) {
	if a == nil {
		return
	}
	if a.Path == "" {
		a.Path = "/"
	}
	if a.Scheme == "" {
		a.Scheme = corev1.URISchemeHTTP
	}
}

// defaultObjectFieldSelector mirrors SetDefaults_ObjectFieldSelector:
// apiVersion v1.
func defaultObjectFieldSelector(s *corev1.ObjectFieldSelector) {
	if s.APIVersion == "" {
		s.APIVersion = "v1"
	}
}

// defaultVolume mirrors SetDefaults_Volume and the defaults of the volume
// sources:
//   - a volume with no source at all becomes an emptyDir {};
//   - image: pullPolicy from the reference, as for a container's image;
//   - hostPath: type "" (a pointer to HostPathUnset);
//   - secret, configMap, downwardAPI, projected: defaultMode 0644;
//   - downwardAPI items (also inside projected): fieldRef.apiVersion v1;
//   - projected serviceAccountToken: expirationSeconds 3600;
//   - rbd, iscsi, azureDisk, scaleIO: their declared defaults;
//   - ephemeral: the claim template spec as defaultPersistentVolumeClaimSpec.
func defaultVolume(v *corev1.Volume) {
	src := &v.VolumeSource
	if allPtrFieldsNil(src) {
		*src = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
	}
	if src.Image != nil && src.Image.PullPolicy == "" {
		src.Image.PullPolicy = pullPolicyForImage(src.Image.Reference)
	}
	if src.HostPath != nil {
		defaultHostPath(src.HostPath)
	}
	if src.Secret != nil && src.Secret.DefaultMode == nil {
		src.Secret.DefaultMode = ptrTo(corev1.SecretVolumeSourceDefaultMode)
	}
	if src.ConfigMap != nil && src.ConfigMap.DefaultMode == nil {
		src.ConfigMap.DefaultMode = ptrTo(corev1.ConfigMapVolumeSourceDefaultMode)
	}
	if src.DownwardAPI != nil {
		if src.DownwardAPI.DefaultMode == nil {
			src.DownwardAPI.DefaultMode = ptrTo(corev1.DownwardAPIVolumeSourceDefaultMode)
		}
		defaultDownwardAPIFiles(src.DownwardAPI.Items)
	}
	if src.Projected != nil {
		defaultProjected(src.Projected)
	}
	if src.RBD != nil {
		defaultRBD(&src.RBD.RBDPool, &src.RBD.RadosUser, &src.RBD.Keyring)
	}
	if src.ISCSI != nil {
		defaultISCSIInterface(&src.ISCSI.ISCSIInterface)
	}
	if src.AzureDisk != nil {
		defaultAzureDisk(src.AzureDisk)
	}
	if src.ScaleIO != nil {
		defaultScaleIO(&src.ScaleIO.StorageMode, &src.ScaleIO.FSType)
	}
	if src.Ephemeral != nil && src.Ephemeral.VolumeClaimTemplate != nil {
		defaultPersistentVolumeClaimSpec(&src.Ephemeral.VolumeClaimTemplate.Spec)
	}
}

// allPtrFieldsNil reports whether every pointer field of the struct s points
// to is nil, as k8s.io/utils/ptr.AllPtrFieldsNil does; SetDefaults_Volume uses
// it to recognise a volume that names no source, whatever sources the API
// version has.
func allPtrFieldsNil(s *corev1.VolumeSource) bool {
	v := reflect.ValueOf(s).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			return false
		}
	}
	return true
}

// defaultProjected mirrors SetDefaults_ProjectedVolumeSource and the defaults
// of its sources: defaultMode 0644, downwardAPI items' fieldRef.apiVersion v1,
// serviceAccountToken expirationSeconds 3600.
func defaultProjected(p *corev1.ProjectedVolumeSource) {
	if p.DefaultMode == nil {
		p.DefaultMode = ptrTo(corev1.ProjectedVolumeSourceDefaultMode)
	}
	for i := range p.Sources {
		s := &p.Sources[i]
		if s.DownwardAPI != nil {
			defaultDownwardAPIFiles(s.DownwardAPI.Items)
		}
		if s.ServiceAccountToken != nil && s.ServiceAccountToken.ExpirationSeconds == nil {
			s.ServiceAccountToken.ExpirationSeconds = ptrTo[int64](3600)
		}
	}
}

// defaultDownwardAPIFiles gives every downward API file that selects a field
// the fieldRef apiVersion v1. resourceFieldRef (and its divisor) has no
// defaults.
func defaultDownwardAPIFiles(items []corev1.DownwardAPIVolumeFile) {
	for i := range items {
		if items[i].FieldRef != nil {
			defaultObjectFieldSelector(items[i].FieldRef)
		}
	}
}

// defaultHostPath mirrors SetDefaults_HostPathVolumeSource: a nil type becomes
// a pointer to "" (HostPathUnset, no check before mounting).
func defaultHostPath(h *corev1.HostPathVolumeSource) {
	if h.Type == nil {
		h.Type = ptrTo(corev1.HostPathUnset)
	}
}

// defaultRBD applies the declared defaults of RBDVolumeSource and
// RBDPersistentVolumeSource: pool "rbd", user "admin", keyring
// "/etc/ceph/keyring".
func defaultRBD(pool, user, keyring *string) {
	if *pool == "" {
		*pool = "rbd"
	}
	if *user == "" {
		*user = "admin"
	}
	if *keyring == "" {
		*keyring = "/etc/ceph/keyring"
	}
}

// defaultISCSIInterface applies the declared default of ISCSIVolumeSource and
// ISCSIPersistentVolumeSource: iscsiInterface "default".
func defaultISCSIInterface(iface *string) {
	if *iface == "" {
		*iface = "default"
	}
}

// defaultAzureDisk applies the declared defaults of AzureDiskVolumeSource:
// cachingMode ReadWrite, fsType ext4, readOnly false, kind Shared.
func defaultAzureDisk(a *corev1.AzureDiskVolumeSource) {
	if a.CachingMode == nil {
		a.CachingMode = ptrTo(corev1.AzureDataDiskCachingReadWrite)
	}
	if a.FSType == nil {
		a.FSType = ptrTo("ext4")
	}
	if a.ReadOnly == nil {
		a.ReadOnly = ptrTo(false)
	}
	if a.Kind == nil {
		a.Kind = ptrTo(corev1.AzureSharedBlobDisk)
	}
}

// defaultScaleIO applies the declared defaults of ScaleIOVolumeSource and
// ScaleIOPersistentVolumeSource: storageMode ThinProvisioned, fsType xfs.
func defaultScaleIO(storageMode, fsType *string) {
	if *storageMode == "" {
		*storageMode = "ThinProvisioned"
	}
	if *fsType == "" {
		*fsType = "xfs"
	}
}

// ---- image references -------------------------------------------------------

// pullPolicyForImage returns the pull policy SetDefaults_Container gives a
// container whose imagePullPolicy is empty: Always when the image's tag is
// "latest", IfNotPresent otherwise. The tag is read as
// k8s.io/kubernetes/pkg/util/parsers.ParseImageName reads it: a reference with
// neither tag nor digest ("nginx", "localhost:5000/app") means ":latest"; a
// digest without a tag ("nginx@sha256:…") has no tag; a reference with both
// keeps its tag ("nginx:latest@sha256:…" is Always). A reference that does not
// parse yields no tag, hence IfNotPresent, as on the server, which ignores the
// parse error.
func pullPolicyForImage(image string) corev1.PullPolicy {
	if tag, ok := imageTag(image); ok && tag == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// The grammar of github.com/distribution/reference, which the server uses to
// parse images. The compiled expressions are read-only.
const (
	refAlphanumeric        = `[a-z0-9]+`
	refSeparator           = `(?:[._]|__|[-]+)`
	refDomainNameComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	refOptionalPort        = `(?::[0-9]+)?`
	refTag                 = `[\w][\w.-]{0,127}`
	refDigest              = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}`
	refIPv6Address         = `\[(?:[a-fA-F0-9:]+)\]`
	refDomainName          = refDomainNameComponent + `(?:\.` + refDomainNameComponent + `)*`
	refHost                = `(?:` + refDomainName + `|` + refIPv6Address + `)`
	refDomainAndPort       = refHost + refOptionalPort
	refPathComponent       = refAlphanumeric + `(?:` + refSeparator + refAlphanumeric + `)*`
	refRemoteName          = refPathComponent + `(?:/` + refPathComponent + `)*`
	refName                = `(?:` + refDomainAndPort + `/)?` + refRemoteName

	// refMaxPathLength is reference.RepositoryNameTotalLengthMax.
	refMaxPathLength = 255
)

var (
	referenceRegexp    = regexp.MustCompile(`^(` + refName + `)(?::(` + refTag + `))?(?:@(` + refDigest + `))?$`)
	anchoredNameRegexp = regexp.MustCompile(`^(?:(` + refDomainAndPort + `)/)?(` + refRemoteName + `)$`)
	identifierRegexp   = regexp.MustCompile(`^[a-f0-9]{64}$`)
)

// imageTag returns the tag ParseImageName finds in image, with ok false when
// image is not a valid reference. It follows reference.ParseNormalizedNamed:
// a 64-hex identifier is refused, a familiar name gets the docker.io domain
// and library/ prefix, the repository must be lowercase, and the digest must
// be a well-formed sha256, sha384 or sha512 digest. A valid reference with
// neither tag nor digest has tag "latest".
func imageTag(image string) (tag string, ok bool) {
	if identifierRegexp.MatchString(image) {
		return "", false
	}
	domain, remainder := splitDockerDomain(image)
	remote := remainder
	if i := strings.IndexByte(remainder, ':'); i >= 0 {
		remote = remainder[:i]
	}
	if strings.ToLower(remote) != remote {
		return "", false
	}
	m := referenceRegexp.FindStringSubmatch(domain + "/" + remainder)
	if m == nil {
		return "", false
	}
	path := m[1]
	if nm := anchoredNameRegexp.FindStringSubmatch(m[1]); nm != nil {
		path = nm[2]
	}
	if len(path) > refMaxPathLength {
		return "", false
	}
	tag, digest := m[2], m[3]
	if digest != "" && !validDigest(digest) {
		return "", false
	}
	if tag == "" && digest == "" {
		tag = "latest"
	}
	return tag, true
}

// validDigest reports whether d, already matching the reference grammar's
// digest pattern, passes go-digest's validation: a known algorithm and a
// lowercase hex value of exactly that algorithm's length.
func validDigest(d string) bool {
	alg, hex, found := strings.Cut(d, ":")
	if !found {
		return false
	}
	if len(hex) != digestHexLength(alg) {
		return false
	}
	for _, r := range hex {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// digestHexLength returns the hex length of a digest algorithm the server can
// verify (go-digest with crypto/sha256 and crypto/sha512 linked in), and -1
// for any other algorithm.
func digestHexLength(alg string) int {
	switch alg {
	case "sha256":
		return 64
	case "sha384":
		return 96
	case "sha512":
		return 128
	}
	return -1
}

// splitDockerDomain mirrors reference.splitDockerDomain: it splits name into a
// registry domain and the rest, defaulting the domain to docker.io (and
// prefixing single-component Docker Hub names with library/). The first
// component is a domain when it is "localhost", contains "." or ":", or has
// uppercase letters.
func splitDockerDomain(name string) (domain, remainder string) {
	const defaultDomain = "docker.io"
	maybeDomain, maybeRemainder, found := strings.Cut(name, "/")
	if !found {
		return defaultDomain, "library/" + name
	}
	switch {
	case maybeDomain == "localhost":
		domain, remainder = maybeDomain, maybeRemainder
	case maybeDomain == "index.docker.io":
		domain, remainder = defaultDomain, maybeRemainder
	case strings.ContainsAny(maybeDomain, ".:"):
		domain, remainder = maybeDomain, maybeRemainder
	case strings.ToLower(maybeDomain) != maybeDomain:
		domain, remainder = maybeDomain, maybeRemainder
	default:
		domain, remainder = defaultDomain, name
	}
	if domain == defaultDomain && !strings.ContainsRune(remainder, '/') {
		remainder = "library/" + remainder
	}
	return domain, remainder
}

// ---- apps/v1 ----------------------------------------------------------------

// defaultReplicaSet mirrors SetObjectDefaults_ReplicaSet: replicas 1 and the
// PodSpec defaults on the template.
func defaultReplicaSet(rs *appsv1.ReplicaSet) {
	if rs.Spec.Replicas == nil {
		rs.Spec.Replicas = ptrTo[int32](1)
	}
	defaultPodSpec(&rs.Spec.Template.Spec)
}

// defaultDeployment mirrors SetObjectDefaults_Deployment: replicas 1; strategy
// RollingUpdate; for RollingUpdate, maxUnavailable and maxSurge 25% each when
// missing (a Recreate strategy is left alone); revisionHistoryLimit 10;
// progressDeadlineSeconds 600; and the PodSpec defaults on the template.
func defaultDeployment(d *appsv1.Deployment) {
	spec := &d.Spec
	if spec.Replicas == nil {
		spec.Replicas = ptrTo[int32](1)
	}
	if spec.Strategy.Type == "" {
		spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if spec.Strategy.RollingUpdate == nil {
			spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		ru := spec.Strategy.RollingUpdate
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = ptrTo(intstr.FromString("25%"))
		}
		if ru.MaxSurge == nil {
			ru.MaxSurge = ptrTo(intstr.FromString("25%"))
		}
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptrTo[int32](10)
	}
	if spec.ProgressDeadlineSeconds == nil {
		spec.ProgressDeadlineSeconds = ptrTo[int32](600)
	}
	defaultPodSpec(&spec.Template.Spec)
}

// defaultDaemonSet mirrors SetObjectDefaults_DaemonSet: updateStrategy
// RollingUpdate; for RollingUpdate, maxUnavailable 1 and maxSurge 0 when
// missing (OnDelete is left alone); revisionHistoryLimit 10; and the PodSpec
// defaults on the template.
func defaultDaemonSet(ds *appsv1.DaemonSet) {
	spec := &ds.Spec
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		ru := spec.UpdateStrategy.RollingUpdate
		if ru.MaxUnavailable == nil {
			ru.MaxUnavailable = ptrTo(intstr.FromInt32(1))
		}
		if ru.MaxSurge == nil {
			ru.MaxSurge = ptrTo(intstr.FromInt32(0))
		}
	}
	if spec.RevisionHistoryLimit == nil {
		spec.RevisionHistoryLimit = ptrTo[int32](10)
	}
	defaultPodSpec(&spec.Template.Spec)
}

// ---- batch/v1 ---------------------------------------------------------------

// defaultJob mirrors SetObjectDefaults_Job. SetDefaults_Job first:
//   - completions and parallelism both 1 when both are unset; otherwise only
//     parallelism defaults to 1 (a work-queue job keeps completions unset);
//   - backoffLimit 6, or 2147483647 when backoffLimitPerIndex is set;
//   - object labels copied from the pod template labels when the object has
//     none and the template's are non-nil;
//   - completionMode NonIndexed, suspend false;
//   - podReplacementPolicy Failed when podFailurePolicy is set, else
//     TerminatingOrFailed (JobPodReplacementPolicy, on by default since 1.29
//     and GA since 1.34);
//   - manualSelector false (since Kubernetes 1.29, kubernetes/kubernetes#120206).
//
// Then the defaults of every JobSpec (defaultJobSpecNested).
func defaultJob(job *batchv1.Job) {
	spec := &job.Spec
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = ptrTo[int32](1)
		spec.Parallelism = ptrTo[int32](1)
	}
	if spec.Parallelism == nil {
		spec.Parallelism = ptrTo[int32](1)
	}
	if spec.BackoffLimit == nil {
		if spec.BackoffLimitPerIndex != nil {
			spec.BackoffLimit = ptrTo[int32](math.MaxInt32)
		} else {
			spec.BackoffLimit = ptrTo[int32](6)
		}
	}
	if spec.Template.Labels != nil && len(job.Labels) == 0 {
		job.Labels = copyLabels(spec.Template.Labels)
	}
	if spec.CompletionMode == nil {
		spec.CompletionMode = ptrTo(batchv1.NonIndexedCompletion)
	}
	if spec.Suspend == nil {
		spec.Suspend = ptrTo(false)
	}
	if spec.PodReplacementPolicy == nil {
		if spec.PodFailurePolicy != nil {
			spec.PodReplacementPolicy = ptrTo(batchv1.Failed)
		} else {
			spec.PodReplacementPolicy = ptrTo(batchv1.TerminatingOrFailed)
		}
	}
	if spec.ManualSelector == nil {
		spec.ManualSelector = ptrTo(false)
	}
	defaultJobSpecNested(spec)
}

// defaultJobSpecNested applies the defaults a JobSpec receives wherever it
// appears, in a Job or in a CronJob's jobTemplate: the PodSpec defaults on its
// template, and status True on every podFailurePolicy onPodConditions pattern
// without a status (SetDefaults_PodFailurePolicyOnPodConditionsPattern). The
// JobSpec's own fields are defaulted by SetDefaults_Job, which the server runs
// on Jobs only.
func defaultJobSpecNested(spec *batchv1.JobSpec) {
	if spec.PodFailurePolicy != nil {
		for i := range spec.PodFailurePolicy.Rules {
			patterns := spec.PodFailurePolicy.Rules[i].OnPodConditions
			for j := range patterns {
				if patterns[j].Status == "" {
					patterns[j].Status = corev1.ConditionTrue
				}
			}
		}
	}
	defaultPodSpec(&spec.Template.Spec)
}

// defaultCronJob mirrors SetObjectDefaults_CronJob: concurrencyPolicy Allow,
// suspend false, successfulJobsHistoryLimit 3, failedJobsHistoryLimit 1, and
// defaultJobSpecNested on jobTemplate.spec. The server does not run
// SetDefaults_Job on the job template, so completions, parallelism,
// backoffLimit and the other Job-level fields stay as written; they are
// defaulted on each Job when the controller creates it.
func defaultCronJob(cj *batchv1.CronJob) {
	spec := &cj.Spec
	if spec.ConcurrencyPolicy == "" {
		spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if spec.Suspend == nil {
		spec.Suspend = ptrTo(false)
	}
	if spec.SuccessfulJobsHistoryLimit == nil {
		spec.SuccessfulJobsHistoryLimit = ptrTo[int32](3)
	}
	if spec.FailedJobsHistoryLimit == nil {
		spec.FailedJobsHistoryLimit = ptrTo[int32](1)
	}
	defaultJobSpecNested(&spec.JobTemplate.Spec)
}

// ---- networking/v1 and storage/v1 -------------------------------------------

// defaultNetworkPolicy mirrors SetObjectDefaults_NetworkPolicy: an empty
// policyTypes becomes [Ingress], plus Egress when egress rules are present;
// every ingress and egress port without a protocol gets TCP
// (SetDefaults_NetworkPolicyPort).
func defaultNetworkPolicy(np *networkingv1.NetworkPolicy) {
	spec := &np.Spec
	if len(spec.PolicyTypes) == 0 {
		spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(spec.Egress) != 0 {
			spec.PolicyTypes = append(spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	for i := range spec.Ingress {
		defaultNetworkPolicyPorts(spec.Ingress[i].Ports)
	}
	for i := range spec.Egress {
		defaultNetworkPolicyPorts(spec.Egress[i].Ports)
	}
}

// defaultNetworkPolicyPorts mirrors SetDefaults_NetworkPolicyPort on each
// port: a nil protocol becomes TCP.
func defaultNetworkPolicyPorts(ports []networkingv1.NetworkPolicyPort) {
	for i := range ports {
		if ports[i].Protocol == nil {
			ports[i].Protocol = ptrTo(corev1.ProtocolTCP)
		}
	}
}

// defaultStorageClass mirrors SetDefaults_StorageClass: reclaimPolicy Delete,
// volumeBindingMode Immediate.
func defaultStorageClass(sc *storagev1.StorageClass) {
	if sc.ReclaimPolicy == nil {
		sc.ReclaimPolicy = ptrTo(corev1.PersistentVolumeReclaimDelete)
	}
	if sc.VolumeBindingMode == nil {
		sc.VolumeBindingMode = ptrTo(storagev1.VolumeBindingImmediate)
	}
}
