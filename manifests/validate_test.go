package manifests

import (
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// errCase is one table case: a mutation of a valid object and the exact
// errors (field.Error.Error()) validateObject must report, in any order. A
// nil want means the mutated object is valid.
type errCase[T runtime.Object] struct {
	name   string
	mutate func(T)
	want   []string
}

// runErrCases validates base() mutated by each case and compares the errors.
func runErrCases[T runtime.Object](t *testing.T, base func() T, cases []errCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := base()
			if tc.mutate != nil {
				tc.mutate(obj)
			}
			checkErrors(t, obj, tc.want)
		})
	}
}

// checkErrors compares the errors of validateObject(obj) with want, ignoring
// order.
func checkErrors(t *testing.T, obj runtime.Object, want []string) {
	t.Helper()
	var got []string
	for _, e := range validateObject(obj) {
		got = append(got, e.Error())
	}
	sort.Strings(got)
	want = append([]string(nil), want...)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors mismatch\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func ptr[T any](v T) *T { return &v }

func qty(s string) resource.Quantity { return resource.MustParse(s) }

// Messages of the apimachinery format checks, used in many expectations.
const (
	dns1123LabelMsg     = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
	dns1123SubdomainMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
	dns1035LabelMsg     = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
	portRangeMsg        = "must be between 1 and 65535, inclusive"
)

// meta returns the metadata of a namespaced object as defaulting leaves it.
func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceDefault}
}

// validContainer returns a container in its defaulted form.
func validContainer(name string) corev1.Container {
	return corev1.Container{
		Name:  name,
		Image: "registry.example.com/web:1.4.2",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
		Env: []corev1.EnvVar{
			{Name: "LOG_LEVEL", Value: "info"},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
			{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
		},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: qty("100m"), corev1.ResourceMemory: qty("64Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: qty("500m"), corev1.ResourceMemory: qty("128Mi")},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/web", ReadOnly: true}},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: "/healthz", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}},
			TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler:   corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}},
			TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
		},
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		ImagePullPolicy:          corev1.PullIfNotPresent,
	}
}

// validPodSpec returns a realistic PodSpec in its defaulted form.
func validPodSpec() corev1.PodSpec {
	return corev1.PodSpec{
		Containers: []corev1.Container{validContainer("web")},
		Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web-config"}, DefaultMode: ptr[int32](0644)}}}},
		RestartPolicy:                 corev1.RestartPolicyAlways,
		TerminationGracePeriodSeconds: ptr[int64](30),
		DNSPolicy:                     corev1.DNSClusterFirst,
		SecurityContext:               &corev1.PodSecurityContext{},
		SchedulerName:                 corev1.DefaultSchedulerName,
		EnableServiceLinks:            ptr(true),
	}
}

// validPodTemplate returns a pod template labelled app=web.
func validPodTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       validPodSpec(),
	}
}

func TestValidateObjectUnknownType(t *testing.T) {
	if errs := validateObject(&corev1.PodTemplate{}); errs != nil {
		t.Errorf("unknown type: got %v, want nil", errs)
	}
	if errs := validateObject(nil); errs != nil {
		t.Errorf("nil object: got %v, want nil", errs)
	}
}

// TestValidateObjectMeta covers the metadata rules, through Deployments
// (DNS-1123 subdomain names), Services (DNS-1035 labels) and Namespaces
// (DNS-1123 labels, cluster-scoped).
func TestValidateObjectMeta(t *testing.T) {
	long := strings.Repeat("a", 64)
	runErrCases(t, validDeployment, []errCase[*appsv1.Deployment]{
		{name: "valid", want: nil},
		{name: "dotted name is a valid subdomain", mutate: func(d *appsv1.Deployment) { d.Name = "web.v2" }},
		{name: "name required", mutate: func(d *appsv1.Deployment) { d.Name = "" },
			want: []string{"metadata.name: Required value: name or generateName is required"}},
		{name: "name not a subdomain", mutate: func(d *appsv1.Deployment) { d.Name = "Web_1" },
			want: []string{`metadata.name: Invalid value: "Web_1": ` + dns1123SubdomainMsg}},
		{name: "namespace required", mutate: func(d *appsv1.Deployment) { d.Namespace = "" },
			want: []string{"metadata.namespace: Required value"}},
		{name: "namespace not a label", mutate: func(d *appsv1.Deployment) { d.Namespace = "team.a" },
			want: []string{`metadata.namespace: Invalid value: "team.a": must not contain dots`}},
		{name: "label key invalid", mutate: func(d *appsv1.Deployment) { d.Labels = map[string]string{"bad key": "x"} },
			want: []string{`metadata.labels: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		{name: "label value too long", mutate: func(d *appsv1.Deployment) { d.Labels = map[string]string{"app": long} },
			want: []string{`metadata.labels: Invalid value: "` + long + `": must be no more than 63 bytes`}},
		{name: "annotation key invalid", mutate: func(d *appsv1.Deployment) { d.Annotations = map[string]string{"example.com/": "x"} },
			want: []string{`metadata.annotations: Invalid value: "example.com/": name part must be non-empty`,
				`metadata.annotations: Invalid value: "example.com/": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		{name: "annotations too large", mutate: func(d *appsv1.Deployment) {
			d.Annotations = map[string]string{"big": strings.Repeat("x", 256*1024)}
		}, want: []string{"metadata.annotations: Too long: may not be more than 262144 bytes"}},
		{name: "unqualified finalizer", mutate: func(d *appsv1.Deployment) { d.Finalizers = []string{"cleanup"} },
			want: []string{`metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified`}},
		{name: "standard and qualified finalizers", mutate: func(d *appsv1.Deployment) {
			d.Finalizers = []string{"foregroundDeletion", "example.com/cleanup"}
		}},
		{name: "prune opt-out", mutate: func(d *appsv1.Deployment) { d.Annotations = map[string]string{PruneAnnotation: "false"} }},
		{name: "prune value not a boolean", mutate: func(d *appsv1.Deployment) { d.Annotations = map[string]string{PruneAnnotation: "no"} },
			want: []string{`metadata.annotations[shoal.run/prune]: Invalid value: "no": must be "false" (keep the object running when it leaves Git, until shoal delete) or "true" (the default: delete it with Git)`}},
	})
}

func TestValidateObjectMetaNameRules(t *testing.T) {
	svc := validService()
	svc.Name = "1web"
	checkErrors(t, svc, []string{`metadata.name: Invalid value: "1web": ` + dns1035LabelMsg})

	ns := validNamespace()
	ns.Name = "web.prod"
	checkErrors(t, ns, []string{`metadata.name: Invalid value: "web.prod": must not contain dots`})

	ns = validNamespace()
	ns.Namespace = "default"
	checkErrors(t, ns, []string{"metadata.namespace: Forbidden: not allowed on this type"})
}
