package pods

import (
	"errors"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// mapConfig is a ConfigSource over fixed maps.
type mapConfig struct {
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func (m mapConfig) ConfigMap(ns, name string) (*corev1.ConfigMap, bool) {
	c, ok := m.cms[ns+"/"+name]
	return c, ok
}

func (m mapConfig) Secret(ns, name string) (*corev1.Secret, bool) {
	s, ok := m.secrets[ns+"/"+name]
	return s, ok
}

func boolPtr(b bool) *bool { return &b }

func TestEnv(t *testing.T) {
	cfg := mapConfig{
		cms:     map[string]*corev1.ConfigMap{"shop/app": {Data: map[string]string{"MODE": "prod", "bad-name=": "x", "1X": "y"}}},
		secrets: map[string]*corev1.Secret{"shop/db": {Data: map[string][]byte{"password": []byte("s3cret")}}},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "shop", UID: "u-1", Labels: map[string]string{"app": "web", "tier": "a b"}},
		Spec:       corev1.PodSpec{ServiceAccountName: "runner"},
	}
	container := &corev1.Container{
		Name: "app",
		Resources: corev1.ResourceRequirements{
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi"), corev1.ResourceCPU: resource.MustParse("500m")},
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
		},
		EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}}}},
		Env: []corev1.EnvVar{
			{Name: "GREETING", Value: "hi $(POD)"}, // POD not defined yet: kept
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "URL", Value: "http://$(POD_IP):8080/$(MODE)"},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "URL2", Value: "http://$(POD_IP)"},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "SA", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}},
			{Name: "MEM_MI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "CPU_M", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}}},
			{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
			{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
			{Name: "OPTIONAL", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "k", Optional: boolPtr(true)}}},
			{Name: "MODE", Value: "override"},
		},
	}
	env, warnings, err := Env(EnvInput{Pod: pod, Container: container, PodIP: "10.244.1.5", NodeName: "n1", Config: cfg,
		ServiceEnv: []corev1.EnvVar{{Name: "WEB_SERVICE_HOST", Value: "10.96.0.10"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var names []string
	for _, e := range env {
		got[e.Name] = e.Value
		names = append(names, e.Name)
	}
	want := map[string]string{
		"WEB_SERVICE_HOST": "10.96.0.10", "MODE": "override", "GREETING": "hi $(POD)", "POD": "web-1",
		"URL": "http://$(POD_IP):8080/prod", "POD_IP": "10.244.1.5", "URL2": "http://10.244.1.5", "APP": "web",
		"SA": "runner", "MEM_MI": "128", "CPU_M": "250", "CPU": "1", "PASSWORD": "s3cret",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("env:\n got %v\nwant %v", got, want)
	}
	if names[0] != "WEB_SERVICE_HOST" || names[1] != "MODE" {
		t.Errorf("order = %v", names)
	}
	if len(warnings) != 1 || warnings[0] != "keys [1X, bad-name=] from the EnvFrom configMap shop/app were skipped since they are considered invalid environment variable names" {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestEnvMissingReferences(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	cfg := mapConfig{cms: map[string]*corev1.ConfigMap{"ns/cm": {Data: map[string]string{"a": "1"}}}}
	tests := []struct {
		name string
		env  corev1.EnvVar
		from *corev1.EnvFromSource
		want string
	}{
		{"missing configmap", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Key: "a"}}}, nil, `configmap "gone" not found`},
		{"missing key", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "b"}}}, nil, "couldn't find key b in ConfigMap ns/cm"},
		{"missing secret", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "a"}}}, nil, `secret "s" not found`},
		{"missing envFrom secret", corev1.EnvVar{}, &corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}}, `secret "s" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &corev1.Container{Name: "c"}
			if tt.env.Name != "" {
				c.Env = []corev1.EnvVar{tt.env}
			}
			if tt.from != nil {
				c.EnvFrom = []corev1.EnvFromSource{*tt.from}
			}
			_, _, err := Env(EnvInput{Pod: pod, Container: c, Config: cfg})
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Message != tt.want {
				t.Errorf("err = %v, want ConfigError %q", err, tt.want)
			}
		})
	}
}
