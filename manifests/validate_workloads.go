package manifests

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// This file validates the workload controllers: ReplicationController,
// ReplicaSet, Deployment, DaemonSet (Kubernetes' core and apps validation),
// Job and CronJob (batch validation).

// validateReplicationController validates a ReplicationController on create.
func validateReplicationController(rc *corev1.ReplicationController) field.ErrorList {
	allErrs := validateObjectMeta(&rc.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateReplicationControllerSpec(&rc.Spec, field.NewPath("spec"))...)
}

// validateReplicationControllerSpec requires a non-empty selector matching
// the template labels, replicas >= 0 and a template that always restarts.
func validateReplicationControllerSpec(spec *corev1.ReplicationControllerSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))
	selector := labels.Set(spec.Selector).AsSelector()
	if selector.Empty() {
		allErrs = append(allErrs, field.Required(fldPath.Child("selector"), ""))
	}
	allErrs = append(allErrs, validateNonnegativeField(int64(int32Value(spec.Replicas, 0)), fldPath.Child("replicas"))...)

	tmplPath := fldPath.Child("template")
	if spec.Template == nil {
		return append(allErrs, field.Required(tmplPath, ""))
	}
	if !selector.Empty() && !selector.Matches(labels.Set(spec.Template.Labels)) {
		allErrs = append(allErrs, field.Invalid(tmplPath.Child("metadata", "labels"), spec.Template.Labels, selectorMismatchMsg))
	}
	allErrs = append(allErrs, validatePodTemplateSpec(spec.Template, tmplPath)...)
	return append(allErrs, validateAlwaysRestartingTemplate(&spec.Template.Spec, tmplPath.Child("spec"), "ReplicationController")...)
}

// validateAlwaysRestartingTemplate requires the restartPolicy Always of a
// long-running controller's template, and no activeDeadlineSeconds.
func validateAlwaysRestartingTemplate(spec *corev1.PodSpec, fldPath *field.Path, kind string) field.ErrorList {
	var allErrs field.ErrorList
	if spec.RestartPolicy != corev1.RestartPolicyAlways {
		allErrs = append(allErrs, notSupported(fldPath.Child("restartPolicy"), spec.RestartPolicy, corev1.RestartPolicyAlways))
	}
	if spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("activeDeadlineSeconds"), fmt.Sprintf("activeDeadlineSeconds in %s is not Supported", kind)))
	}
	return allErrs
}

// validateWorkloadSelector validates the label selector of a ReplicaSet,
// Deployment or DaemonSet: required, valid, not empty, and matching the
// template's labels. emptyMsg is the message for an empty selector.
func validateWorkloadSelector(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec, fldPath *field.Path, emptyMsg string) field.ErrorList {
	selPath := fldPath.Child("selector")
	if sel == nil {
		return field.ErrorList{field.Required(selPath, "")}
	}
	allErrs := validateLabelSelector(sel, selPath)
	if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
		allErrs = append(allErrs, field.Invalid(selPath, sel, emptyMsg))
	}
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return append(allErrs, field.Invalid(selPath, sel, "invalid label selector"))
	}
	if !selector.Empty() && !selector.Matches(labels.Set(tmpl.Labels)) {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("template", "metadata", "labels"), tmpl.Labels, selectorMismatchMsg))
	}
	return allErrs
}

// validateReplicaSet validates a ReplicaSet on create.
func validateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	allErrs := validateObjectMeta(&rs.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	fldPath := field.NewPath("spec")
	spec := &rs.Spec
	allErrs = append(allErrs, validateNonnegativeField(int64(int32Value(spec.Replicas, 0)), fldPath.Child("replicas"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	allErrs = append(allErrs, validateWorkloadSelector(spec.Selector, &spec.Template, fldPath, "empty selector is invalid for deployment")...)
	allErrs = append(allErrs, validatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	return append(allErrs, validateAlwaysRestartingTemplate(&spec.Template.Spec, fldPath.Child("template", "spec"), "ReplicaSet")...)
}

// validateDeployment validates a Deployment on create.
func validateDeployment(d *appsv1.Deployment) field.ErrorList {
	allErrs := validateObjectMeta(&d.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateDeploymentSpec(&d.Spec, field.NewPath("spec"))...)
}

// validateDeploymentSpec validates replicas, selector, template, strategy and
// the rollout limits of a Deployment.
func validateDeploymentSpec(spec *appsv1.DeploymentSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateNonnegativeField(int64(int32Value(spec.Replicas, 0)), fldPath.Child("replicas"))
	allErrs = append(allErrs, validateWorkloadSelector(spec.Selector, &spec.Template, fldPath, "empty selector is invalid for deployment")...)
	allErrs = append(allErrs, validatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	allErrs = append(allErrs, validateAlwaysRestartingTemplate(&spec.Template.Spec, fldPath.Child("template", "spec"), "ReplicaSet")...)
	allErrs = append(allErrs, validateDeploymentStrategy(&spec.Strategy, fldPath.Child("strategy"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		allErrs = append(allErrs, validateNonnegativeField(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}
	if spec.ProgressDeadlineSeconds != nil {
		p := fldPath.Child("progressDeadlineSeconds")
		allErrs = append(allErrs, validateNonnegativeField(int64(*spec.ProgressDeadlineSeconds), p)...)
		if *spec.ProgressDeadlineSeconds <= spec.MinReadySeconds {
			allErrs = append(allErrs, field.Invalid(p, *spec.ProgressDeadlineSeconds, "must be greater than minReadySeconds"))
		}
	}
	return allErrs
}

// validateDeploymentStrategy validates the strategy: Recreate has no
// rollingUpdate; RollingUpdate has valid, not both zero, limits.
func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(fldPath.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")}
		}
		return nil
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		p := fldPath.Child("rollingUpdate")
		maxUnavailable, maxSurge := intOrZero(s.RollingUpdate.MaxUnavailable), intOrZero(s.RollingUpdate.MaxSurge)
		allErrs := validatePositiveIntOrPercent(maxUnavailable, p.Child("maxUnavailable"))
		allErrs = append(allErrs, validatePositiveIntOrPercent(maxSurge, p.Child("maxSurge"))...)
		if getIntOrPercentValue(maxUnavailable) == 0 && getIntOrPercentValue(maxSurge) == 0 {
			allErrs = append(allErrs, field.Invalid(p.Child("maxUnavailable"), maxUnavailable, "may not be 0 when `maxSurge` is 0"))
		}
		return append(allErrs, isNotMoreThan100Percent(maxUnavailable, p.Child("maxUnavailable"))...)
	default:
		return field.ErrorList{notSupported(fldPath.Child("type"), s.Type, appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType)}
	}
}

// intOrZero dereferences an IntOrString, a nil one being 0.
func intOrZero(v *intstr.IntOrString) intstr.IntOrString {
	if v == nil {
		return intstr.FromInt32(0)
	}
	return *v
}

// validatePositiveIntOrPercent requires an integer >= 0 or a percentage.
func validatePositiveIntOrPercent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch v.Type {
	case intstr.String:
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			allErrs = append(allErrs, field.Invalid(fldPath, v, msg))
		}
	case intstr.Int:
		allErrs = append(allErrs, validateNonnegativeField(int64(v.IntValue()), fldPath)...)
	default:
		allErrs = append(allErrs, field.Invalid(fldPath, v, "must be an integer or percentage (e.g '5%%')"))
	}
	return allErrs
}

// getPercentValue returns the number of a valid percentage.
func getPercentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}

// getIntOrPercentValue returns the number in an integer or a percentage.
func getIntOrPercentValue(v intstr.IntOrString) int {
	if n, ok := getPercentValue(v); ok {
		return n
	}
	return v.IntValue()
}

// isNotMoreThan100Percent rejects a percentage above 100%.
func isNotMoreThan100Percent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	if n, ok := getPercentValue(v); ok && n > 100 {
		return field.ErrorList{field.Invalid(fldPath, v, "must not be greater than 100%")}
	}
	return nil
}

// validateDaemonSet validates a DaemonSet on create.
func validateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	allErrs := validateObjectMeta(&ds.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	fldPath := field.NewPath("spec")
	spec := &ds.Spec
	allErrs = append(allErrs, validateWorkloadSelector(spec.Selector, &spec.Template, fldPath, "empty selector is invalid for daemonset")...)
	allErrs = append(allErrs, validatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)
	allErrs = append(allErrs, validateAlwaysRestartingTemplate(&spec.Template.Spec, fldPath.Child("template", "spec"), "DaemonSet")...)
	allErrs = append(allErrs, validateNonnegativeField(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	allErrs = append(allErrs, validateDaemonSetUpdateStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	if spec.RevisionHistoryLimit != nil {
		allErrs = append(allErrs, validateNonnegativeField(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}
	return allErrs
}

// validateDaemonSetUpdateStrategy validates the update strategy: OnDelete, or
// RollingUpdate where exactly one of maxUnavailable and maxSurge is non-zero.
func validateDaemonSetUpdateStrategy(s *appsv1.DaemonSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "")}
		}
		p := fldPath.Child("rollingUpdate")
		maxUnavailable, maxSurge := intOrZero(s.RollingUpdate.MaxUnavailable), intOrZero(s.RollingUpdate.MaxSurge)
		allErrs := validatePositiveIntOrPercent(maxUnavailable, p.Child("maxUnavailable"))
		allErrs = append(allErrs, validatePositiveIntOrPercent(maxSurge, p.Child("maxSurge"))...)
		allErrs = append(allErrs, isNotMoreThan100Percent(maxUnavailable, p.Child("maxUnavailable"))...)
		allErrs = append(allErrs, isNotMoreThan100Percent(maxSurge, p.Child("maxSurge"))...)
		hasUnavailable := getIntOrPercentValue(maxUnavailable) != 0
		hasSurge := getIntOrPercentValue(maxSurge) != 0
		switch {
		case hasUnavailable && hasSurge:
			allErrs = append(allErrs, field.Invalid(p.Child("maxSurge"), maxSurge, "may not be set when maxUnavailable is non-zero"))
		case !hasUnavailable && !hasSurge:
			allErrs = append(allErrs, field.Required(p.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
		}
		return allErrs
	default:
		return field.ErrorList{notSupported(fldPath.Child("type"), s.Type, appsv1.RollingUpdateDaemonSetStrategyType, appsv1.OnDeleteDaemonSetStrategyType)}
	}
}

// Limits of Job specs.
const (
	maxParallelismForIndexedJob              = 100000
	maxFailedIndexesForIndexedJob            = 100_000
	completionsSoftLimit                     = 100_000
	parallelismLimitForHighCompletions       = 10_000
	maxFailedIndexesLimitForHighCompletions  = 10_000
	maxPodFailurePolicyRules                 = 20
	maxPodFailurePolicyOnExitCodesValues     = 255
	maxPodFailurePolicyOnPodConditionsValues = 20
	maxManagedByLength                       = 63
	maxJobSuccessPolicySucceededIndexesLimit = 64 * 1024
	maxSuccessPolicyRule                     = 20
)

// validateJob validates a Job on create. A Job without manualSelector gets
// its selector (and the matching template labels) generated by the API
// server, so a missing selector is fine and a given one is an error; with
// manualSelector the selector is required and must match the template.
func validateJob(job *batchv1.Job) field.ErrorList {
	allErrs := validateObjectMeta(&job.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	fldPath := field.NewPath("spec")
	spec := &job.Spec
	selPath := fldPath.Child("selector")
	manual := spec.ManualSelector != nil && *spec.ManualSelector
	switch {
	case manual && spec.Selector == nil:
		allErrs = append(allErrs, field.Required(selPath, ""))
	case spec.Selector != nil:
		allErrs = append(allErrs, validateLabelSelector(spec.Selector, selPath)...)
		if !manual {
			allErrs = append(allErrs, field.Invalid(selPath, spec.Selector, "`selector` not auto-generated"))
		} else if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !selector.Matches(labels.Set(spec.Template.Labels)) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("template", "metadata", "labels"), spec.Template.Labels, selectorMismatchMsg))
		}
	}
	allErrs = append(allErrs, validateJobSpec(spec, fldPath)...)
	if spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion && spec.Completions != nil && *spec.Completions > 0 {
		// Indexed pods are named <job>-<index>: the largest must be a label.
		maximumPodHostname := fmt.Sprintf("%s-%d", job.Name, *spec.Completions-1)
		if len(validation.IsDNS1123Label(maximumPodHostname)) > 0 {
			allErrs = append(allErrs, field.Invalid(field.NewPath("metadata", "name"), job.Name, fmt.Sprintf("will not able to create pod with invalid DNS label: %s", maximumPodHostname)))
		}
	}
	return allErrs
}

// validateJobSpec validates the body of a Job spec (also the jobTemplate of a
// CronJob): counts and limits, completion mode, failure and success policies,
// and a pod template whose restartPolicy is OnFailure or Never.
func validateJobSpec(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	nonneg := func(v *int32, name string) {
		if v != nil {
			allErrs = append(allErrs, validateNonnegativeField(int64(*v), fldPath.Child(name))...)
		}
	}
	nonneg(spec.Parallelism, "parallelism")
	nonneg(spec.Completions, "completions")
	if spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, validateNonnegativeField(*spec.ActiveDeadlineSeconds, fldPath.Child("activeDeadlineSeconds"))...)
	}
	nonneg(spec.BackoffLimit, "backoffLimit")
	nonneg(spec.TTLSecondsAfterFinished, "ttlSecondsAfterFinished")
	nonneg(spec.BackoffLimitPerIndex, "backoffLimitPerIndex")
	if spec.MaxFailedIndexes != nil {
		nonneg(spec.MaxFailedIndexes, "maxFailedIndexes")
		if spec.BackoffLimitPerIndex == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
		}
	}
	if spec.ManagedBy != nil {
		allErrs = append(allErrs, validation.IsDomainPrefixedPath(fldPath.Child("managedBy"), *spec.ManagedBy)...)
		if len(*spec.ManagedBy) > maxManagedByLength {
			allErrs = append(allErrs, field.TooLong(fldPath.Child("managedBy"), "", maxManagedByLength))
		}
	}
	indexed := spec.CompletionMode != nil && *spec.CompletionMode == batchv1.IndexedCompletion
	if spec.CompletionMode != nil {
		if *spec.CompletionMode != batchv1.NonIndexedCompletion && *spec.CompletionMode != batchv1.IndexedCompletion {
			allErrs = append(allErrs, notSupported(fldPath.Child("completionMode"), *spec.CompletionMode, batchv1.NonIndexedCompletion, batchv1.IndexedCompletion))
		}
		if indexed {
			allErrs = append(allErrs, validateIndexedJobLimits(spec, fldPath)...)
		}
	}
	if !indexed {
		if spec.BackoffLimitPerIndex != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if spec.MaxFailedIndexes != nil {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "requires indexed completion mode"))
		}
	}
	if spec.PodFailurePolicy != nil {
		allErrs = append(allErrs, validatePodFailurePolicy(spec, fldPath.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil {
		if !indexed {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("successPolicy"), *spec.SuccessPolicy, "requires indexed completion mode"))
		} else {
			allErrs = append(allErrs, validateSuccessPolicy(spec, fldPath.Child("successPolicy"))...)
		}
	}
	if p := spec.PodReplacementPolicy; p != nil {
		if spec.PodFailurePolicy != nil {
			if *p != batchv1.Failed {
				allErrs = append(allErrs, notSupported(fldPath.Child("podReplacementPolicy"), *p, batchv1.Failed))
			}
		} else if *p != batchv1.Failed && *p != batchv1.TerminatingOrFailed {
			allErrs = append(allErrs, notSupported(fldPath.Child("podReplacementPolicy"), *p, batchv1.Failed, batchv1.TerminatingOrFailed))
		}
	}

	allErrs = append(allErrs, validatePodTemplateSpec(&spec.Template, fldPath.Child("template"))...)

	// The API server defaults an unset restartPolicy to Always, so Always and
	// "" get the same message.
	rpPath := fldPath.Child("template", "spec", "restartPolicy")
	switch rp := spec.Template.Spec.RestartPolicy; {
	case rp == corev1.RestartPolicyAlways || rp == "":
		allErrs = append(allErrs, field.Required(rpPath, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever)))
	case rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever:
		allErrs = append(allErrs, notSupported(rpPath, rp, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever))
	case spec.PodFailurePolicy != nil && rp != corev1.RestartPolicyNever:
		allErrs = append(allErrs, field.Invalid(rpPath, rp, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever)))
	}
	return allErrs
}

// validateIndexedJobLimits applies the limits of Indexed Jobs.
func validateIndexedJobLimits(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if spec.Completions == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
	}
	if spec.Parallelism != nil && *spec.Parallelism > maxParallelismForIndexedJob {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("parallelism"), *spec.Parallelism,
			fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
	}
	if spec.Completions != nil && spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > *spec.Completions {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "must be less than or equal to completions"))
	}
	if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > maxFailedIndexesForIndexedJob {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, fmt.Sprintf("must be less than or equal to %d", maxFailedIndexesForIndexedJob)))
	}
	if spec.Completions != nil && *spec.Completions > completionsSoftLimit && spec.BackoffLimitPerIndex != nil {
		if spec.MaxFailedIndexes == nil {
			allErrs = append(allErrs, field.Required(fldPath.Child("maxFailedIndexes"), fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
		}
		if spec.Parallelism != nil && *spec.Parallelism > parallelismLimitForHighCompletions {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("parallelism"), *spec.Parallelism,
				fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", parallelismLimitForHighCompletions, completionsSoftLimit)))
		}
		if spec.MaxFailedIndexes != nil && *spec.MaxFailedIndexes > maxFailedIndexesLimitForHighCompletions {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes,
				fmt.Sprintf("must be less than or equal to %d when completions are above %d and used with backoff limit per index", maxFailedIndexesLimitForHighCompletions, completionsSoftLimit)))
		}
	}
	return allErrs
}

// validatePodFailurePolicy validates the rules of a pod failure policy.
func validatePodFailurePolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	rulesPath := fldPath.Child("rules")
	if len(spec.PodFailurePolicy.Rules) > maxPodFailurePolicyRules {
		allErrs = append(allErrs, field.TooMany(rulesPath, len(spec.PodFailurePolicy.Rules), maxPodFailurePolicyRules))
	}
	containerNames := map[string]bool{}
	for _, c := range spec.Template.Spec.Containers {
		containerNames[c.Name] = true
	}
	for _, c := range spec.Template.Spec.InitContainers {
		containerNames[c.Name] = true
	}
	actions := []batchv1.PodFailurePolicyAction{
		batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore,
	}
	for i, rule := range spec.PodFailurePolicy.Rules {
		rulePath := rulesPath.Index(i)
		actionPath := rulePath.Child("action")
		switch rule.Action {
		case "":
			allErrs = append(allErrs, field.Required(actionPath, fmt.Sprintf("valid values: %q", actions)))
		case batchv1.PodFailurePolicyActionFailIndex:
			if spec.BackoffLimitPerIndex == nil {
				allErrs = append(allErrs, field.Invalid(actionPath, rule.Action, "requires the backoffLimitPerIndex to be set"))
			}
		case batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore:
		default:
			allErrs = append(allErrs, field.NotSupported(actionPath, rule.Action, actions))
		}
		if rule.OnExitCodes != nil {
			allErrs = append(allErrs, validateOnExitCodes(rule.OnExitCodes, rulePath.Child("onExitCodes"), containerNames)...)
		}
		if len(rule.OnPodConditions) > 0 {
			allErrs = append(allErrs, validateOnPodConditions(rule.OnPodConditions, rulePath.Child("onPodConditions"))...)
		}
		if rule.OnExitCodes != nil && len(rule.OnPodConditions) > 0 {
			allErrs = append(allErrs, field.Invalid(rulePath, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
		}
		if rule.OnExitCodes == nil && len(rule.OnPodConditions) == 0 {
			allErrs = append(allErrs, field.Invalid(rulePath, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
		}
	}
	return allErrs
}

// validateOnExitCodes validates an exit-code requirement: known operator,
// existing container, 1-255 distinct ordered values, no 0 with In.
func validateOnExitCodes(req *batchv1.PodFailurePolicyOnExitCodesRequirement, fldPath *field.Path, containerNames map[string]bool) field.ErrorList {
	var allErrs field.ErrorList
	ops := []batchv1.PodFailurePolicyOnExitCodesOperator{batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn}
	switch req.Operator {
	case "":
		allErrs = append(allErrs, field.Required(fldPath.Child("operator"), fmt.Sprintf("valid values: %q", ops)))
	case batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn:
	default:
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("operator"), req.Operator, ops))
	}
	if req.ContainerName != nil && !containerNames[*req.ContainerName] {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("containerName"), *req.ContainerName, "must be one of the container or initContainer names in the pod template"))
	}
	valuesPath := fldPath.Child("values")
	if len(req.Values) == 0 {
		allErrs = append(allErrs, field.Invalid(valuesPath, req.Values, "at least one value is required"))
	} else if len(req.Values) > maxPodFailurePolicyOnExitCodesValues {
		allErrs = append(allErrs, field.TooMany(valuesPath, len(req.Values), maxPodFailurePolicyOnExitCodesValues))
	}
	ordered := true
	seen := map[int32]bool{}
	for j, v := range req.Values {
		if req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && v == 0 {
			allErrs = append(allErrs, field.Invalid(valuesPath.Index(j), v, "must not be 0 for the In operator"))
		}
		if seen[v] {
			allErrs = append(allErrs, field.Duplicate(valuesPath.Index(j), v))
		}
		seen[v] = true
		if j > 0 && req.Values[j-1] > v {
			ordered = false
		}
	}
	if !ordered {
		allErrs = append(allErrs, field.Invalid(valuesPath, req.Values, "must be ordered"))
	}
	return allErrs
}

// validateOnPodConditions validates pod-condition patterns: qualified types
// and a True, False or Unknown status.
func validateOnPodConditions(patterns []batchv1.PodFailurePolicyOnPodConditionsPattern, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(patterns) > maxPodFailurePolicyOnPodConditionsValues {
		allErrs = append(allErrs, field.TooMany(fldPath, len(patterns), maxPodFailurePolicyOnPodConditionsValues))
	}
	statuses := []corev1.ConditionStatus{corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown}
	for j, p := range patterns {
		pPath := fldPath.Index(j)
		allErrs = append(allErrs, validateQualifiedName(string(p.Type), pPath.Child("type"))...)
		switch p.Status {
		case "":
			allErrs = append(allErrs, field.Required(pPath.Child("status"), fmt.Sprintf("valid values: %q", statuses)))
		case corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown:
		default:
			allErrs = append(allErrs, field.NotSupported(pPath.Child("status"), p.Status, statuses))
		}
	}
	return allErrs
}

// validateSuccessPolicy validates the rules of an Indexed Job's success
// policy.
func validateSuccessPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	rulesPath := fldPath.Child("rules")
	rules := spec.SuccessPolicy.Rules
	if len(rules) == 0 {
		allErrs = append(allErrs, field.Required(rulesPath, "at least one rules must be specified when the successPolicy is specified"))
	}
	if len(rules) > maxSuccessPolicyRule {
		allErrs = append(allErrs, field.TooMany(rulesPath, len(rules), maxSuccessPolicyRule))
	}
	completions := int32Value(spec.Completions, 0)
	for i, rule := range rules {
		rulePath := rulesPath.Index(i)
		if rule.SucceededCount == nil && rule.SucceededIndexes == nil {
			allErrs = append(allErrs, field.Required(rulePath, "at least one of succeededCount or succeededIndexes must be specified"))
		}
		var totalIndexes int32
		if rule.SucceededIndexes != nil {
			p := rulePath.Child("succeededIndexes")
			if len(*rule.SucceededIndexes) > maxJobSuccessPolicySucceededIndexesLimit {
				allErrs = append(allErrs, field.TooLong(p, "", maxJobSuccessPolicySucceededIndexesLimit))
			}
			var err error
			if totalIndexes, err = validateIndexesFormat(*rule.SucceededIndexes, completions); err != nil {
				allErrs = append(allErrs, field.Invalid(p, *rule.SucceededIndexes, fmt.Sprintf("error parsing succeededIndexes: %s", err.Error())))
			}
		}
		if rule.SucceededCount != nil {
			p := rulePath.Child("succeededCount")
			allErrs = append(allErrs, validateNonnegativeField(int64(*rule.SucceededCount), p)...)
			if *rule.SucceededCount > completions {
				allErrs = append(allErrs, field.Invalid(p, *rule.SucceededCount, fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions)))
			}
			if rule.SucceededIndexes != nil && *rule.SucceededCount > totalIndexes {
				allErrs = append(allErrs, field.Invalid(p, *rule.SucceededCount, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", totalIndexes)))
			}
		}
	}
	return allErrs
}

// validateIndexesFormat parses "1,3-5,7" style index lists below completions
// and returns how many indexes they cover.
func validateIndexesFormat(indexes string, completions int32) (int32, error) {
	if indexes == "" {
		return 0, nil
	}
	var last *int32
	var total int32
	for _, interval := range strings.Split(indexes, ",") {
		x, y, err := parseIndexInterval(interval, completions)
		if err != nil {
			return 0, err
		}
		if last != nil && *last >= x {
			return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", *last, x)
		}
		total += y - x + 1
		last = &y
	}
	return total, nil
}

// parseIndexInterval parses "x" or "x-y".
func parseIndexInterval(interval string, completions int32) (int32, int32, error) {
	limits := strings.Split(interval, "-")
	if len(limits) > 2 {
		return 0, 0, fmt.Errorf("the fragment %q violates the requirement that an index interval can have at most two parts separated by '-'", interval)
	}
	x, err := strconv.Atoi(limits[0])
	if err != nil {
		return 0, 0, fmt.Errorf("cannot convert string to integer for index: %q", limits[0])
	}
	if x >= int(completions) {
		return 0, 0, fmt.Errorf("too large index: %q", limits[0])
	}
	if len(limits) == 1 {
		return int32(x), int32(x), nil
	}
	y, err := strconv.Atoi(limits[1])
	if err != nil {
		return 0, 0, fmt.Errorf("cannot convert string to integer for index: %q", limits[1])
	}
	if y >= int(completions) {
		return 0, 0, fmt.Errorf("too large index: %q", limits[1])
	}
	if x >= y {
		return 0, 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", x, y)
	}
	return int32(x), int32(y), nil
}

// maxCronJobNameLength leaves room for the 11-character suffix the CronJob
// controller appends to name its Jobs (Job names are DNS-1035 labels).
const maxCronJobNameLength = validation.DNS1035LabelMaxLength - 11

// validTimeZoneCharacters is the form of one component of an IANA time zone
// name.
var validTimeZoneCharacters = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

// validateCronJob validates a CronJob on create.
func validateCronJob(cj *batchv1.CronJob) field.ErrorList {
	allErrs := validateObjectMeta(&cj.ObjectMeta, true, nameIsDNSSubdomain, field.NewPath("metadata"))
	allErrs = append(allErrs, validateCronJobSpec(&cj.Spec, field.NewPath("spec"))...)
	if len(cj.Name) > maxCronJobNameLength {
		allErrs = append(allErrs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, mustBeNoMoreThan(maxCronJobNameLength)))
	}
	return allErrs
}

// validateCronJobSpec validates the schedule (with ParseCronSchedule, the
// parser the scheduler uses), the time zone, the concurrency policy, the
// limits and the job template.
func validateCronJobSpec(spec *batchv1.CronJobSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	schedPath := fldPath.Child("schedule")
	scheduleOK := false
	if spec.Schedule == "" {
		allErrs = append(allErrs, field.Required(schedPath, ""))
	} else {
		errs := validateScheduleFormat(spec.Schedule, schedPath)
		allErrs = append(allErrs, errs...)
		scheduleOK = len(errs) == 0
	}
	if spec.StartingDeadlineSeconds != nil {
		allErrs = append(allErrs, validateNonnegativeField(*spec.StartingDeadlineSeconds, fldPath.Child("startingDeadlineSeconds"))...)
	}
	tzErrs := validateTimeZone(spec.TimeZone, fldPath.Child("timeZone"))
	allErrs = append(allErrs, tzErrs...)
	if scheduleOK && len(tzErrs) == 0 {
		// Both parts are valid on their own; the scheduler parses them
		// together, and so does validation, so that the two cannot disagree.
		if _, err := ParseCronSchedule(spec.Schedule, spec.TimeZone); err != nil {
			allErrs = append(allErrs, field.Invalid(schedPath, spec.Schedule, cronReason(err)))
		}
	}
	switch spec.ConcurrencyPolicy {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
	case "":
		allErrs = append(allErrs, field.Required(fldPath.Child("concurrencyPolicy"), ""))
	default:
		allErrs = append(allErrs, notSupported(fldPath.Child("concurrencyPolicy"), spec.ConcurrencyPolicy, batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent))
	}
	allErrs = append(allErrs, validateJobTemplateSpec(&spec.JobTemplate, fldPath.Child("jobTemplate"))...)
	if spec.SuccessfulJobsHistoryLimit != nil {
		allErrs = append(allErrs, validateNonnegativeField(int64(*spec.SuccessfulJobsHistoryLimit), fldPath.Child("successfulJobsHistoryLimit"))...)
	}
	if spec.FailedJobsHistoryLimit != nil {
		allErrs = append(allErrs, validateNonnegativeField(int64(*spec.FailedJobsHistoryLimit), fldPath.Child("failedJobsHistoryLimit"))...)
	}
	return allErrs
}

// validateScheduleFormat parses the schedule on its own and rejects time
// zones written into it: on create, Kubernetes requires the timeZone field.
func validateScheduleFormat(schedule string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if _, err := ParseCronSchedule(schedule, nil); err != nil {
		allErrs = append(allErrs, field.Invalid(fldPath, schedule, cronReason(err)))
	}
	if strings.Contains(schedule, "TZ") {
		allErrs = append(allErrs, field.Invalid(fldPath, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
	}
	return allErrs
}

// cronReason returns the parser's reason for rejecting a schedule, without
// the schedule itself (the field error shows it already).
func cronReason(err error) string {
	var cerr *CronScheduleError
	if errors.As(err, &cerr) {
		return cerr.Err.Error()
	}
	return err.Error()
}

// validateTimeZone requires a non-empty, explicit IANA time zone that this
// process can load.
func validateTimeZone(tz *string, fldPath *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(fldPath, tz, "timeZone must be nil or non-empty string")}
	}
	for _, part := range strings.Split(*tz, "/") {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZoneCharacters.MatchString(part) {
			return field.ErrorList{field.Invalid(fldPath, tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var allErrs field.ErrorList
	if strings.EqualFold(*tz, "Local") {
		allErrs = append(allErrs, field.Invalid(fldPath, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		allErrs = append(allErrs, field.Invalid(fldPath, tz, err.Error()))
	}
	return allErrs
}

// validateJobTemplateSpec validates a CronJob's job template: a Job spec
// whose selector the API server generates for each Job.
func validateJobTemplateSpec(tmpl *batchv1.JobTemplateSpec, fldPath *field.Path) field.ErrorList {
	allErrs := validateJobSpec(&tmpl.Spec, fldPath.Child("spec"))
	if tmpl.Spec.Selector != nil {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("spec", "selector"), tmpl.Spec.Selector, "`selector` will be auto-generated"))
	}
	if tmpl.Spec.ManualSelector != nil && *tmpl.Spec.ManualSelector {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("spec", "manualSelector"), tmpl.Spec.ManualSelector, []string{"nil", "false"}))
	}
	return allErrs
}
