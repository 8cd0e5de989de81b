package manifests

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	appsv1beta2 "k8s.io/api/apps/v1beta2"
	batchv1 "k8s.io/api/batch/v1"
	batchv1beta1 "k8s.io/api/batch/v1beta1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	sigsjson "sigs.k8s.io/json"
)

// Conversions from older API versions.
//
// Each one first applies the defaults that the API server applied to the
// version as written (they differ between versions: an extensions/v1beta1
// Deployment surges by 1 pod, not 25%, and keeps every old ReplicaSet), so
// that the converted object behaves as it did on the cluster it was written
// for. Then it maps the fields to the current version through their JSON
// form, strictly: a field with no place in the current version is an error
// naming it, never dropped.

// convertVia renders old as JSON, lets transform rename fields in the
// generic form, and decodes the result strictly into into. Fields left over
// are reported as losses.
func convertVia(old, into runtime.Object, apiVersion, kind string, transform func(m map[string]any) []fieldProblem) (runtime.Object, []fieldProblem) {
	js, err := json.Marshal(old)
	if err != nil {
		return nil, []fieldProblem{{message: fmt.Sprintf("cannot convert to %s: %v", apiVersion, err)}}
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, []fieldProblem{{message: fmt.Sprintf("cannot convert to %s: %v", apiVersion, err)}}
	}
	var problems []fieldProblem
	if transform != nil {
		problems = transform(m)
	}
	m["apiVersion"] = apiVersion
	m["kind"] = kind
	js, err = json.Marshal(m)
	if err != nil {
		return nil, append(problems, fieldProblem{message: fmt.Sprintf("cannot convert to %s: %v", apiVersion, err)})
	}
	strict, err := sigsjson.UnmarshalStrict(js, into)
	if err != nil {
		return nil, append(problems, fieldProblem{message: fmt.Sprintf("cannot convert to %s: %v", apiVersion, err)})
	}
	for _, se := range strict {
		p := se.Error()
		if fe, ok := se.(sigsjson.FieldError); ok {
			p = fe.FieldPath()
		}
		problems = append(problems, fieldProblem{path: p,
			message: fmt.Sprintf("has no equivalent in %s %s and would be lost: remove it, or rewrite the object for %s", apiVersion, kind, apiVersion)})
	}
	return into, problems
}

// defaultSelectorFromTemplate applies the old versions' rule: a missing
// selector selects the template's labels, and missing object labels are the
// template's labels.
func defaultSelectorFromTemplate(meta *metav1.ObjectMeta, selector **metav1.LabelSelector, templateLabels map[string]string) {
	if templateLabels == nil {
		return
	}
	if *selector == nil {
		*selector = &metav1.LabelSelector{MatchLabels: copyLabels(templateLabels)}
	}
	if len(meta.Labels) == 0 {
		meta.Labels = copyLabels(templateLabels)
	}
}

func rollbackProblem(set bool) []fieldProblem {
	if !set {
		return nil
	}
	return []fieldProblem{{path: "spec.rollbackTo",
		message: "has no equivalent in apps/v1 (rollbacks are done by changing the template): remove it; with shoal, `shoal rollout undo` rewrites the manifest"}}
}

func convertExtensionsDeployment(obj runtime.Object) (runtime.Object, []fieldProblem) {
	d := obj.(*extensionsv1beta1.Deployment)
	problems := rollbackProblem(d.Spec.RollbackTo != nil)
	d.Spec.RollbackTo = nil
	defaultSelectorFromTemplate(&d.ObjectMeta, &d.Spec.Selector, d.Spec.Template.Labels)
	if d.Spec.Replicas == nil {
		d.Spec.Replicas = ptrTo[int32](1)
	}
	s := &d.Spec.Strategy
	if s.Type == "" {
		s.Type = extensionsv1beta1.RollingUpdateDeploymentStrategyType
	}
	if s.Type == extensionsv1beta1.RollingUpdateDeploymentStrategyType || s.RollingUpdate != nil {
		if s.RollingUpdate == nil {
			s.RollingUpdate = &extensionsv1beta1.RollingUpdateDeployment{}
		}
		if s.RollingUpdate.MaxUnavailable == nil {
			v := intstr.FromInt32(1)
			s.RollingUpdate.MaxUnavailable = &v
		}
		if s.RollingUpdate.MaxSurge == nil {
			v := intstr.FromInt32(1)
			s.RollingUpdate.MaxSurge = &v
		}
	}
	// MaxInt32 means "unset" in extensions/v1beta1: no deadline, keep every
	// old ReplicaSet.
	if d.Spec.ProgressDeadlineSeconds == nil {
		d.Spec.ProgressDeadlineSeconds = ptrTo[int32](math.MaxInt32)
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = ptrTo[int32](math.MaxInt32)
	}
	out, more := convertVia(d, &appsv1.Deployment{}, "apps/v1", "Deployment", nil)
	return out, append(problems, more...)
}

func convertAppsV1beta1Deployment(obj runtime.Object) (runtime.Object, []fieldProblem) {
	d := obj.(*appsv1beta1.Deployment)
	problems := rollbackProblem(d.Spec.RollbackTo != nil)
	d.Spec.RollbackTo = nil
	defaultSelectorFromTemplate(&d.ObjectMeta, &d.Spec.Selector, d.Spec.Template.Labels)
	if d.Spec.Replicas == nil {
		d.Spec.Replicas = ptrTo[int32](1)
	}
	s := &d.Spec.Strategy
	if s.Type == "" {
		s.Type = appsv1beta1.RollingUpdateDeploymentStrategyType
	}
	if s.Type == appsv1beta1.RollingUpdateDeploymentStrategyType {
		if s.RollingUpdate == nil {
			s.RollingUpdate = &appsv1beta1.RollingUpdateDeployment{}
		}
		if s.RollingUpdate.MaxUnavailable == nil {
			v := intstr.FromString("25%")
			s.RollingUpdate.MaxUnavailable = &v
		}
		if s.RollingUpdate.MaxSurge == nil {
			v := intstr.FromString("25%")
			s.RollingUpdate.MaxSurge = &v
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = ptrTo[int32](2)
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		d.Spec.ProgressDeadlineSeconds = ptrTo[int32](600)
	}
	out, more := convertVia(d, &appsv1.Deployment{}, "apps/v1", "Deployment", nil)
	return out, append(problems, more...)
}

// apps/v1beta2 already has apps/v1's defaults and required selectors.
func convertAppsV1beta2Deployment(obj runtime.Object) (runtime.Object, []fieldProblem) {
	return convertVia(obj.(*appsv1beta2.Deployment), &appsv1.Deployment{}, "apps/v1", "Deployment", nil)
}

func convertAppsV1beta2DaemonSet(obj runtime.Object) (runtime.Object, []fieldProblem) {
	return convertVia(obj.(*appsv1beta2.DaemonSet), &appsv1.DaemonSet{}, "apps/v1", "DaemonSet", nil)
}

func convertAppsV1beta2ReplicaSet(obj runtime.Object) (runtime.Object, []fieldProblem) {
	return convertVia(obj.(*appsv1beta2.ReplicaSet), &appsv1.ReplicaSet{}, "apps/v1", "ReplicaSet", nil)
}

func convertExtensionsDaemonSet(obj runtime.Object) (runtime.Object, []fieldProblem) {
	d := obj.(*extensionsv1beta1.DaemonSet)
	var problems []fieldProblem
	if d.Spec.TemplateGeneration != 0 {
		problems = append(problems, fieldProblem{path: "spec.templateGeneration", warning: true,
			message: "is set by the API server and has no equivalent in apps/v1: ignored"})
		d.Spec.TemplateGeneration = 0
	}
	defaultSelectorFromTemplate(&d.ObjectMeta, &d.Spec.Selector, d.Spec.Template.Labels)
	// extensions/v1beta1 DaemonSets were updated only when their pods were
	// deleted by hand.
	if d.Spec.UpdateStrategy.Type == "" {
		d.Spec.UpdateStrategy.Type = extensionsv1beta1.OnDeleteDaemonSetStrategyType
	}
	if d.Spec.UpdateStrategy.Type == extensionsv1beta1.RollingUpdateDaemonSetStrategyType {
		if d.Spec.UpdateStrategy.RollingUpdate == nil {
			d.Spec.UpdateStrategy.RollingUpdate = &extensionsv1beta1.RollingUpdateDaemonSet{}
		}
		if d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable == nil {
			v := intstr.FromInt32(1)
			d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = &v
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = ptrTo[int32](10)
	}
	out, more := convertVia(d, &appsv1.DaemonSet{}, "apps/v1", "DaemonSet", nil)
	return out, append(problems, more...)
}

func convertExtensionsReplicaSet(obj runtime.Object) (runtime.Object, []fieldProblem) {
	r := obj.(*extensionsv1beta1.ReplicaSet)
	defaultSelectorFromTemplate(&r.ObjectMeta, &r.Spec.Selector, r.Spec.Template.Labels)
	if r.Spec.Replicas == nil {
		r.Spec.Replicas = ptrTo[int32](1)
	}
	return convertVia(r, &appsv1.ReplicaSet{}, "apps/v1", "ReplicaSet", nil)
}

func convertExtensionsNetworkPolicy(obj runtime.Object) (runtime.Object, []fieldProblem) {
	return convertVia(obj.(*extensionsv1beta1.NetworkPolicy), &networkingv1.NetworkPolicy{}, "networking.k8s.io/v1", "NetworkPolicy", nil)
}

func convertBatchV1beta1CronJob(obj runtime.Object) (runtime.Object, []fieldProblem) {
	return convertVia(obj.(*batchv1beta1.CronJob), &batchv1.CronJob{}, "batch/v1", "CronJob", nil)
}

// convertExtensionsIngress maps an extensions/v1beta1 or
// networking.k8s.io/v1beta1 Ingress to networking.k8s.io/v1: spec.backend
// becomes spec.defaultBackend, serviceName/servicePort become
// service.name/service.port.number (or .name), and paths without a pathType
// get ImplementationSpecific, the old versions' default.
func convertExtensionsIngress(obj runtime.Object) (runtime.Object, []fieldProblem) {
	ing := obj.(*extensionsv1beta1.Ingress)
	for i := range ing.Spec.Rules {
		if ing.Spec.Rules[i].HTTP == nil {
			continue
		}
		for j := range ing.Spec.Rules[i].HTTP.Paths {
			p := &ing.Spec.Rules[i].HTTP.Paths[j]
			if p.PathType == nil {
				t := extensionsv1beta1.PathTypeImplementationSpecific
				p.PathType = &t
			}
		}
	}
	return convertVia(ing, &networkingv1.Ingress{}, "networking.k8s.io/v1", "Ingress", func(m map[string]any) []fieldProblem {
		spec, _ := m["spec"].(map[string]any)
		if spec == nil {
			return nil
		}
		if b, ok := spec["backend"].(map[string]any); ok {
			spec["defaultBackend"] = convertIngressBackend(b)
			delete(spec, "backend")
		}
		rules, _ := spec["rules"].([]any)
		for _, r := range rules {
			rm, _ := r.(map[string]any)
			http, _ := rm["http"].(map[string]any)
			paths, _ := http["paths"].([]any)
			for _, p := range paths {
				pm, _ := p.(map[string]any)
				if b, ok := pm["backend"].(map[string]any); ok {
					pm["backend"] = convertIngressBackend(b)
				}
			}
		}
		return nil
	})
}

// convertIngressBackend rewrites a v1beta1 backend map in v1 form.
func convertIngressBackend(b map[string]any) map[string]any {
	out := map[string]any{}
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "serviceName", "servicePort":
		default:
			out[k] = b[k]
		}
	}
	name, hasName := b["serviceName"]
	port, hasPort := b["servicePort"]
	if hasName || hasPort {
		svc := map[string]any{}
		if hasName {
			svc["name"] = name
		}
		if hasPort {
			switch p := port.(type) {
			case string:
				svc["port"] = map[string]any{"name": p}
			default:
				svc["port"] = map[string]any{"number": p}
			}
		}
		out["service"] = svc
	}
	return out
}
