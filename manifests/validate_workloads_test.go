package manifests

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func webSelector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
}

// validDeployment returns a realistic Deployment in its defaulted form.
func validDeployment() *appsv1.Deployment {
	maxUnavailable, maxSurge := intstr.FromString("25%"), intstr.FromString("25%")
	return &appsv1.Deployment{
		ObjectMeta: meta("web"),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr[int32](3),
			Selector: webSelector(),
			Template: validPodTemplate(),
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge},
			},
			RevisionHistoryLimit:    ptr[int32](10),
			ProgressDeadlineSeconds: ptr[int32](600),
		},
	}
}

func validReplicaSet() *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: meta("web"),
		Spec:       appsv1.ReplicaSetSpec{Replicas: ptr[int32](2), Selector: webSelector(), Template: validPodTemplate()},
	}
}

func validReplicationController() *corev1.ReplicationController {
	tmpl := validPodTemplate()
	return &corev1.ReplicationController{
		ObjectMeta: meta("web"),
		Spec:       corev1.ReplicationControllerSpec{Replicas: ptr[int32](1), Selector: map[string]string{"app": "web"}, Template: &tmpl},
	}
}

func validDaemonSet() *appsv1.DaemonSet {
	maxUnavailable, maxSurge := intstr.FromInt32(1), intstr.FromInt32(0)
	return &appsv1.DaemonSet{
		ObjectMeta: meta("agent"),
		Spec: appsv1.DaemonSetSpec{
			Selector: webSelector(),
			Template: validPodTemplate(),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge},
			},
			RevisionHistoryLimit: ptr[int32](10),
		},
	}
}

// validJobSpec returns a Job spec as the API server defaults it, before it
// generates the selector.
func validJobSpec() batchv1.JobSpec {
	tmpl := validPodTemplate()
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	tmpl.Spec.Containers[0].ReadinessProbe = nil
	tmpl.Spec.Containers[0].LivenessProbe = nil
	return batchv1.JobSpec{
		Parallelism:          ptr[int32](1),
		Completions:          ptr[int32](1),
		BackoffLimit:         ptr[int32](6),
		CompletionMode:       ptr(batchv1.NonIndexedCompletion),
		Suspend:              ptr(false),
		PodReplacementPolicy: ptr(batchv1.TerminatingOrFailed),
		Template:             tmpl,
	}
}

func validJob() *batchv1.Job {
	return &batchv1.Job{ObjectMeta: meta("migrate"), Spec: validJobSpec()}
}

func validCronJob() *batchv1.CronJob {
	return &batchv1.CronJob{
		ObjectMeta: meta("nightly-report"),
		Spec: batchv1.CronJobSpec{
			Schedule:                   "30 2 * * *",
			TimeZone:                   ptr("Europe/Paris"),
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			Suspend:                    ptr(false),
			SuccessfulJobsHistoryLimit: ptr[int32](3),
			FailedJobsHistoryLimit:     ptr[int32](1),
			JobTemplate:                batchv1.JobTemplateSpec{Spec: validJobSpec()},
		},
	}
}

func TestValidateDeployment(t *testing.T) {
	runErrCases(t, validDeployment, []errCase[*appsv1.Deployment]{
		{name: "valid", want: nil},
		{name: "valid recreate", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		}},
		{name: "negative replicas", mutate: func(d *appsv1.Deployment) { d.Spec.Replicas = ptr[int32](-1) },
			want: []string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "selector required", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = nil },
			want: []string{"spec.selector: Required value"}},
		{name: "empty selector", mutate: func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			want: []string{"spec.selector: Invalid value: {}: empty selector is invalid for deployment"}},
		{name: "invalid selector operator", mutate: func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near", Values: []string{"x"}}}
		}, want: []string{
			`spec.selector.matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator`,
			`spec.selector: Invalid value: {"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"Near","values":["x"]}]}: invalid label selector`,
		}},
		{name: "selector does not match template", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Labels = map[string]string{"app": "x"}
		}, want: []string{"spec.template.metadata.labels: Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`"}},
		{name: "template restartPolicy must be Always", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		}, want: []string{`spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`}},
		{name: "template activeDeadlineSeconds", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.ActiveDeadlineSeconds = ptr[int64](60)
		}, want: []string{"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"}},
		{name: "template image required", mutate: func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" },
			want: []string{"spec.template.spec.containers[0].image: Required value"}},
		{name: "template labels invalid", mutate: func(d *appsv1.Deployment) {
			d.Spec.Template.Labels["tier"] = "front end"
		}, want: []string{`spec.template.metadata.labels: Invalid value: "front end": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`}},
		{name: "recreate with rollingUpdate", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType },
			want: []string{"spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"}},
		{name: "unknown strategy type", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" },
			want: []string{`spec.strategy.type: Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"`}},
		{name: "rollingUpdate missing", mutate: func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate = nil },
			want: []string{"spec.strategy.rollingUpdate: Required value: this should be defaulted and never be nil"}},
		{name: "maxUnavailable negative", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(-1))
		}, want: []string{"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "maxSurge not a percent", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxSurge = ptr(intstr.FromString("ten"))
		}, want: []string{`spec.strategy.rollingUpdate.maxSurge: Invalid value: "ten": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`}},
		{name: "maxUnavailable above 100%", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromString("150%"))
		}, want: []string{`spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "150%": must not be greater than 100%`}},
		{name: "both zero", mutate: func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromString("0%"))
			d.Spec.Strategy.RollingUpdate.MaxSurge = ptr(intstr.FromInt32(0))
		}, want: []string{"spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"0%\": may not be 0 when `maxSurge` is 0"}},
		{name: "negative minReadySeconds", mutate: func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = -5 },
			want: []string{"spec.minReadySeconds: Invalid value: -5: must be greater than or equal to 0"}},
		{name: "negative revisionHistoryLimit", mutate: func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = ptr[int32](-1) },
			want: []string{"spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "progressDeadline not above minReady", mutate: func(d *appsv1.Deployment) {
			d.Spec.MinReadySeconds = 600
		}, want: []string{"spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds"}},
	})
}

func TestValidateReplicaSet(t *testing.T) {
	runErrCases(t, validReplicaSet, []errCase[*appsv1.ReplicaSet]{
		{name: "valid"},
		{name: "negative replicas", mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = ptr[int32](-2) },
			want: []string{"spec.replicas: Invalid value: -2: must be greater than or equal to 0"}},
		{name: "selector required", mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = nil },
			want: []string{"spec.selector: Required value"}},
		{name: "selector mismatch", mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Selector.MatchLabels["tier"] = "db" },
			want: []string{"spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`"}},
		{name: "restartPolicy Never", mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: []string{`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`}},
		{name: "activeDeadlineSeconds", mutate: func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.ActiveDeadlineSeconds = ptr[int64](5) },
			want: []string{"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported"}},
	})
}

func TestValidateReplicationController(t *testing.T) {
	runErrCases(t, validReplicationController, []errCase[*corev1.ReplicationController]{
		{name: "valid"},
		{name: "selector required", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Selector = nil },
			want: []string{"spec.selector: Required value"}},
		{name: "negative replicas", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Replicas = ptr[int32](-1) },
			want: []string{"spec.replicas: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "template required", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Template = nil },
			want: []string{"spec.template: Required value"}},
		{name: "selector mismatch", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Selector = map[string]string{"app": "api"} },
			want: []string{"spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`"}},
		{name: "restartPolicy OnFailure", mutate: func(rc *corev1.ReplicationController) {
			rc.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		}, want: []string{`spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`}},
		{name: "activeDeadlineSeconds", mutate: func(rc *corev1.ReplicationController) {
			rc.Spec.Template.Spec.ActiveDeadlineSeconds = ptr[int64](5)
		}, want: []string{"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicationController is not Supported"}},
		{name: "negative minReadySeconds", mutate: func(rc *corev1.ReplicationController) { rc.Spec.MinReadySeconds = -1 },
			want: []string{"spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"}},
	})
}

func TestValidateDaemonSet(t *testing.T) {
	runErrCases(t, validDaemonSet, []errCase[*appsv1.DaemonSet]{
		{name: "valid"},
		{name: "valid OnDelete", mutate: func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
		}},
		{name: "valid surge", mutate: func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(0))
			ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptr(intstr.FromString("10%"))
		}},
		{name: "selector required", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.Selector = nil },
			want: []string{"spec.selector: Required value"}},
		{name: "empty selector", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.Selector = &metav1.LabelSelector{} },
			want: []string{"spec.selector: Invalid value: {}: empty selector is invalid for daemonset"}},
		{name: "selector mismatch", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.Template.Labels = map[string]string{"app": "agent"} },
			want: []string{"spec.template.metadata.labels: Invalid value: {\"app\":\"agent\"}: `selector` does not match template `labels`"}},
		{name: "restartPolicy Never", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: []string{`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`}},
		{name: "activeDeadlineSeconds", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.ActiveDeadlineSeconds = ptr[int64](5) },
			want: []string{"spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported"}},
		{name: "unknown update strategy", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.Type = "Surge" },
			want: []string{`spec.updateStrategy.type: Unsupported value: "Surge": supported values: "RollingUpdate", "OnDelete"`}},
		{name: "rollingUpdate missing", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.RollingUpdate = nil },
			want: []string{"spec.updateStrategy.rollingUpdate: Required value"}},
		{name: "both non-zero", mutate: func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptr(intstr.FromInt32(1))
		}, want: []string{"spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero"}},
		{name: "both zero", mutate: func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(0))
		}, want: []string{"spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0"}},
		{name: "maxSurge above 100%", mutate: func(ds *appsv1.DaemonSet) {
			ds.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr(intstr.FromInt32(0))
			ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptr(intstr.FromString("101%"))
		}, want: []string{`spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: "101%": must not be greater than 100%`}},
		{name: "negative minReadySeconds", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.MinReadySeconds = -1 },
			want: []string{"spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "negative revisionHistoryLimit", mutate: func(ds *appsv1.DaemonSet) { ds.Spec.RevisionHistoryLimit = ptr[int32](-3) },
			want: []string{"spec.revisionHistoryLimit: Invalid value: -3: must be greater than or equal to 0"}},
	})
}

func TestValidateJob(t *testing.T) {
	runErrCases(t, validJob, []errCase[*batchv1.Job]{
		{name: "valid"},
		{name: "valid manual selector", mutate: func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr(true)
			j.Spec.Selector = webSelector()
		}},
		{name: "valid indexed", mutate: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr[int32](5)
			j.Spec.Parallelism = ptr[int32](2)
			j.Spec.BackoffLimitPerIndex = ptr[int32](1)
			j.Spec.MaxFailedIndexes = ptr[int32](2)
		}},
		{name: "restartPolicy Always", mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			want: []string{`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`}},
		{name: "restartPolicy unknown", mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "Sometimes" },
			want: []string{
				`spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`,
				`spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "OnFailure", "Never"`,
			}},
		{name: "negative parallelism", mutate: func(j *batchv1.Job) { j.Spec.Parallelism = ptr[int32](-1) },
			want: []string{"spec.parallelism: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "negative completions", mutate: func(j *batchv1.Job) { j.Spec.Completions = ptr[int32](-1) },
			want: []string{"spec.completions: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "negative backoffLimit", mutate: func(j *batchv1.Job) { j.Spec.BackoffLimit = ptr[int32](-1) },
			want: []string{"spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "negative activeDeadlineSeconds", mutate: func(j *batchv1.Job) { j.Spec.ActiveDeadlineSeconds = ptr[int64](-10) },
			want: []string{"spec.activeDeadlineSeconds: Invalid value: -10: must be greater than or equal to 0"}},
		{name: "negative ttlSecondsAfterFinished", mutate: func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = ptr[int32](-1) },
			want: []string{"spec.ttlSecondsAfterFinished: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "unknown completionMode", mutate: func(j *batchv1.Job) { j.Spec.CompletionMode = ptr[batchv1.CompletionMode]("Ordered") },
			want: []string{`spec.completionMode: Unsupported value: "Ordered": supported values: "NonIndexed", "Indexed"`}},
		{name: "indexed without completions", mutate: func(j *batchv1.Job) {
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Completions = nil
		}, want: []string{"spec.completions: Required value: when completion mode is Indexed"}},
		{name: "backoffLimitPerIndex needs indexed", mutate: func(j *batchv1.Job) { j.Spec.BackoffLimitPerIndex = ptr[int32](1) },
			want: []string{"spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode"}},
		{name: "indexed pod hostname too long", mutate: func(j *batchv1.Job) {
			j.Name = strings.Repeat("j", 62)
			j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
			j.Spec.Completions = ptr[int32](10)
		}, want: []string{`metadata.name: Invalid value: "` + strings.Repeat("j", 62) + `": will not able to create pod with invalid DNS label: ` + strings.Repeat("j", 62) + `-9`}},
		{name: "selector without manualSelector", mutate: func(j *batchv1.Job) { j.Spec.Selector = webSelector() },
			want: []string{"spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\"}}: `selector` not auto-generated"}},
		{name: "manualSelector without selector", mutate: func(j *batchv1.Job) { j.Spec.ManualSelector = ptr(true) },
			want: []string{"spec.selector: Required value"}},
		{name: "manual selector mismatch", mutate: func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptr(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "batch"}}
		}, want: []string{"spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`"}},
		{name: "podFailurePolicy needs Never", mutate: func(j *batchv1.Job) {
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:      batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}},
			}}}
		}, want: []string{`spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`}},
		{name: "podFailurePolicy rule checks", mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: "Retry", OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr("sidecar"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{3, 0, 3}}},
				{Action: batchv1.PodFailurePolicyActionIgnore},
			}}
		}, want: []string{
			`spec.podFailurePolicy.rules[0].action: Unsupported value: "Retry": supported values: "Count", "FailIndex", "FailJob", "Ignore"`,
			`spec.podFailurePolicy.rules[0].onExitCodes.containerName: Invalid value: "sidecar": must be one of the container or initContainer names in the pod template`,
			"spec.podFailurePolicy.rules[0].onExitCodes.values[1]: Invalid value: 0: must not be 0 for the In operator",
			"spec.podFailurePolicy.rules[0].onExitCodes.values[2]: Duplicate value: 3",
			"spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: [3,0,3]: must be ordered",
			"spec.podFailurePolicy.rules[1]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
		}},
		{name: "successPolicy needs indexed", mutate: func(j *batchv1.Job) {
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededCount: ptr[int32](1)}}}
		}, want: []string{`spec.successPolicy: Invalid value: {"rules":[{"succeededCount":1}]}: requires indexed completion mode`}},
		{name: "podReplacementPolicy unknown", mutate: func(j *batchv1.Job) {
			j.Spec.PodReplacementPolicy = ptr[batchv1.PodReplacementPolicy]("Never")
		}, want: []string{`spec.podReplacementPolicy: Unsupported value: "Never": supported values: "Failed", "TerminatingOrFailed"`}},
		{name: "template validated", mutate: func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Name = "Migrate" },
			want: []string{`spec.template.spec.containers[0].name: Invalid value: "Migrate": ` + dns1123LabelMsg}},
	})
}

func TestValidateCronJob(t *testing.T) {
	runErrCases(t, validCronJob, []errCase[*batchv1.CronJob]{
		{name: "valid"},
		{name: "valid descriptor without time zone", mutate: func(cj *batchv1.CronJob) {
			cj.Spec.Schedule = "@hourly"
			cj.Spec.TimeZone = nil
		}},
		{name: "valid @every", mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "@every 90m" }},
		{name: "schedule required", mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "" },
			want: []string{"spec.schedule: Required value"}},
		{name: "schedule unparseable", mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "*/5 * * *" },
			want: []string{`spec.schedule: Invalid value: "*/5 * * *": expected exactly 5 fields, found 4: [*/5 * * *]`}},
		{name: "schedule out of range", mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "61 * * * *" },
			want: []string{`spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61`}},
		{name: "TZ in schedule with timeZone", mutate: func(cj *batchv1.CronJob) { cj.Spec.Schedule = "TZ=UTC 0 * * * *" },
			want: []string{`spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`}},
		{name: "CRON_TZ in schedule", mutate: func(cj *batchv1.CronJob) {
			cj.Spec.TimeZone = nil
			cj.Spec.Schedule = "CRON_TZ=Asia/Tokyo 0 * * * *"
		}, want: []string{`spec.schedule: Invalid value: "CRON_TZ=Asia/Tokyo 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`}},
		{name: "empty timeZone", mutate: func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr("") },
			want: []string{`spec.timeZone: Invalid value: "": timeZone must be nil or non-empty string`}},
		{name: "unknown timeZone", mutate: func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr("Mars/Olympus") },
			want: []string{`spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus`}},
		{name: "malformed timeZone", mutate: func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr("Europe/../Paris") },
			want: []string{`spec.timeZone: Invalid value: "Europe/../Paris": unknown time zone Europe/../Paris`}},
		{name: "Local timeZone", mutate: func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr("Local") },
			want: []string{`spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones`}},
		{name: "concurrencyPolicy unknown", mutate: func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = "Queue" },
			want: []string{`spec.concurrencyPolicy: Unsupported value: "Queue": supported values: "Allow", "Forbid", "Replace"`}},
		{name: "concurrencyPolicy required", mutate: func(cj *batchv1.CronJob) { cj.Spec.ConcurrencyPolicy = "" },
			want: []string{"spec.concurrencyPolicy: Required value"}},
		{name: "negative startingDeadlineSeconds", mutate: func(cj *batchv1.CronJob) { cj.Spec.StartingDeadlineSeconds = ptr[int64](-1) },
			want: []string{"spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "negative history limits", mutate: func(cj *batchv1.CronJob) {
			cj.Spec.SuccessfulJobsHistoryLimit = ptr[int32](-1)
			cj.Spec.FailedJobsHistoryLimit = ptr[int32](-2)
		}, want: []string{
			"spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
			"spec.failedJobsHistoryLimit: Invalid value: -2: must be greater than or equal to 0",
		}},
		{name: "name too long", mutate: func(cj *batchv1.CronJob) { cj.Name = strings.Repeat("c", 53) },
			want: []string{`metadata.name: Invalid value: "` + strings.Repeat("c", 53) + `": must be no more than 52 characters`}},
		{name: "job template restartPolicy", mutate: func(cj *batchv1.CronJob) {
			cj.Spec.JobTemplate.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
		}, want: []string{`spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`}},
		{name: "job template selector", mutate: func(cj *batchv1.CronJob) { cj.Spec.JobTemplate.Spec.Selector = webSelector() },
			want: []string{"spec.jobTemplate.spec.selector: Invalid value: {\"matchLabels\":{\"app\":\"web\"}}: `selector` will be auto-generated"}},
		{name: "job template manualSelector", mutate: func(cj *batchv1.CronJob) { cj.Spec.JobTemplate.Spec.ManualSelector = ptr(true) },
			want: []string{`spec.jobTemplate.spec.manualSelector: Unsupported value: true: supported values: "nil", "false"`}},
		{name: "job template counts", mutate: func(cj *batchv1.CronJob) { cj.Spec.JobTemplate.Spec.BackoffLimit = ptr[int32](-1) },
			want: []string{"spec.jobTemplate.spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"}},
	})
}

func TestValidateJobPolicies(t *testing.T) {
	indexed := func(j *batchv1.Job) {
		j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
		j.Spec.Completions = ptr[int32](5)
	}
	runErrCases(t, validJob, []errCase[*batchv1.Job]{
		{name: "valid success policy", mutate: func(j *batchv1.Job) {
			indexed(j)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr("0,2-4"), SucceededCount: ptr[int32](3)}}}
		}},
		{name: "valid pod failure policy", mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}},
				{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{ContainerName: ptr("web"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1, 42}}},
			}}
		}},
		{name: "pod condition status required and operator required", mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget}}},
				{Action: batchv1.PodFailurePolicyActionCount, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Values: []int32{1}}},
			}}
		}, want: []string{
			`spec.podFailurePolicy.rules[0].onPodConditions[0].status: Required value: valid values: ["False" "True" "Unknown"]`,
			`spec.podFailurePolicy.rules[1].onExitCodes.operator: Required value: valid values: ["In" "NotIn"]`,
		}},
		{name: "FailIndex needs backoffLimitPerIndex", mutate: func(j *batchv1.Job) {
			j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
			j.Spec.PodReplacementPolicy = ptr(batchv1.Failed)
			j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
				{Action: batchv1.PodFailurePolicyActionFailIndex, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{Operator: batchv1.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{0}}},
			}}
		}, want: []string{`spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set`}},
		{name: "success policy rules required", mutate: func(j *batchv1.Job) {
			indexed(j)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{}
		}, want: []string{"spec.successPolicy.rules: Required value: at least one rules must be specified when the successPolicy is specified"}},
		{name: "success policy indexes out of order", mutate: func(j *batchv1.Job) {
			indexed(j)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr("3-1")}}}
		}, want: []string{`spec.successPolicy.rules[0].succeededIndexes: Invalid value: "3-1": error parsing succeededIndexes: non-increasing order, previous: 3, current: 1`}},
		{name: "success policy count too large", mutate: func(j *batchv1.Job) {
			indexed(j)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{SucceededIndexes: ptr("0-1"), SucceededCount: ptr[int32](9)}}}
		}, want: []string{
			"spec.successPolicy.rules[0].succeededCount: Invalid value: 9: must be less than or equal to 5 (the number of specified completions)",
			"spec.successPolicy.rules[0].succeededCount: Invalid value: 9: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)",
		}},
		{name: "success policy rule empty", mutate: func(j *batchv1.Job) {
			indexed(j)
			j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: []batchv1.SuccessPolicyRule{{}}}
		}, want: []string{"spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified"}},
		{name: "indexed parallelism limit", mutate: func(j *batchv1.Job) {
			indexed(j)
			j.Spec.Parallelism = ptr[int32](100001)
		}, want: []string{"spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 when completion mode is Indexed"}},
		{name: "maxFailedIndexes above completions", mutate: func(j *batchv1.Job) {
			indexed(j)
			j.Spec.BackoffLimitPerIndex = ptr[int32](1)
			j.Spec.MaxFailedIndexes = ptr[int32](9)
		}, want: []string{"spec.maxFailedIndexes: Invalid value: 9: must be less than or equal to completions"}},
		{name: "maxFailedIndexes needs backoffLimitPerIndex", mutate: func(j *batchv1.Job) {
			indexed(j)
			j.Spec.MaxFailedIndexes = ptr[int32](1)
		}, want: []string{"spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified"}},
		{name: "managedBy not domain-prefixed", mutate: func(j *batchv1.Job) { j.Spec.ManagedBy = ptr("kueue") },
			want: []string{`spec.managedBy: Invalid value: "kueue": must be a domain-prefixed path (such as "acme.io/foo")`}},
	})
}
