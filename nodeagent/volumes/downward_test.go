package volumes

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "shop", UID: "8b3f-uid",
			Labels:      map[string]string{"tier": "front", "app": "web"},
			Annotations: map[string]string{"note": "say \"hi\"\nbye", "example.com/owner": "ops"},
		},
		Spec: corev1.PodSpec{
			ServiceAccountName: "builder",
			InitContainers: []corev1.Container{{
				Name: "setup",
				Resources: corev1.ResourceRequirements{
					Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
				},
			}},
			Containers: []corev1.Container{
				{
					Name: "app",
					Resources: corev1.ResourceRequirements{
						Limits: corev1.ResourceList{
							corev1.ResourceCPU:              resource.MustParse("1500m"),
							corev1.ResourceMemory:           resource.MustParse("1Gi"),
							corev1.ResourceEphemeralStorage: resource.MustParse("2Gi"),
						},
						Requests: corev1.ResourceList{
							corev1.ResourceCPU:    resource.MustParse("250m"),
							corev1.ResourceMemory: resource.MustParse("100Mi"),
						},
					},
				},
				{Name: "sidecar"}, // no resources at all
			},
		},
	}
}

func TestDownwardAPIPayload(t *testing.T) {
	allocatable := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("2"),
		corev1.ResourceMemory:           resource.MustParse("4Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("10Gi"),
	}
	field := func(path string) corev1.DownwardAPIVolumeFile {
		return corev1.DownwardAPIVolumeFile{Path: "f", FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	res := func(container, name, divisor string) corev1.DownwardAPIVolumeFile {
		sel := &corev1.ResourceFieldSelector{ContainerName: container, Resource: name}
		if divisor != "" {
			sel.Divisor = resource.MustParse(divisor)
		}
		return corev1.DownwardAPIVolumeFile{Path: "f", ResourceFieldRef: sel}
	}
	tests := []struct {
		name     string
		item     corev1.DownwardAPIVolumeFile
		podIP    string
		nodeName string
		want     string
		wantErr  string
	}{
		{name: "metadata.name", item: field("metadata.name"), want: "web"},
		{name: "metadata.namespace", item: field("metadata.namespace"), want: "shop"},
		{name: "metadata.uid", item: field("metadata.uid"), want: "8b3f-uid"},
		{name: "metadata.labels sorted key=quoted lines", item: field("metadata.labels"), want: "app=\"web\"\ntier=\"front\""},
		{name: "metadata.annotations quoted with escapes", item: field("metadata.annotations"),
			want: "example.com/owner=\"ops\"\nnote=\"say \\\"hi\\\"\\nbye\""},
		{name: "one label", item: field("metadata.labels['tier']"), want: "front"},
		{name: "absent label is empty", item: field("metadata.labels['nope']"), want: ""},
		{name: "one annotation", item: field("metadata.annotations['example.com/owner']"), want: "ops"},
		{name: "invalid label subscript", item: field("metadata.labels['bad key']"),
			wantErr: "invalid key subscript in metadata.labels['bad key']: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"},
		{name: "subscript on a scalar", item: field("metadata.name['x']"), wantErr: `fieldPath "metadata.name['x']" does not support subscript`},
		{name: "spec.nodeName from the node", item: field("spec.nodeName"), nodeName: "node-1", want: "node-1"},
		{name: "spec.serviceAccountName", item: field("spec.serviceAccountName"), want: "builder"},
		{name: "status.podIP", item: field("status.podIP"), podIP: "10.88.0.7", want: "10.88.0.7"},
		{name: "unsupported field", item: field("spec.hostname"), wantErr: "unsupported fieldPath: spec.hostname"},

		{name: "limits.cpu rounds up to cores", item: res("app", "limits.cpu", ""), want: "2"},
		{name: "limits.cpu in millicores", item: res("app", "limits.cpu", "1m"), want: "1500"},
		{name: "requests.cpu rounds up", item: res("app", "requests.cpu", ""), want: "1"},
		{name: "requests.cpu in millicores", item: res("app", "requests.cpu", "1m"), want: "250"},
		{name: "limits.memory in bytes", item: res("app", "limits.memory", ""), want: "1073741824"},
		{name: "limits.memory in Mi", item: res("app", "limits.memory", "1Mi"), want: "1024"},
		{name: "requests.memory in Mi", item: res("app", "requests.memory", "1Mi"), want: "100"},
		{name: "requests.memory divisor rounds up", item: res("app", "requests.memory", "1Gi"), want: "1"},
		{name: "limits.ephemeral-storage in Mi", item: res("app", "limits.ephemeral-storage", "1Mi"), want: "2048"},
		{name: "unset request defaults to the limit", item: res("app", "requests.ephemeral-storage", "1Gi"), want: "2"},
		{name: "unset limit reads as allocatable cpu", item: res("sidecar", "limits.cpu", "1m"), want: "2000"},
		{name: "unset limit reads as allocatable memory", item: res("sidecar", "limits.memory", "1Mi"), want: "4096"},
		{name: "unset request without limit is 0", item: res("sidecar", "requests.memory", ""), want: "0"},
		{name: "init container", item: res("setup", "limits.cpu", "1m"), want: "100"},
		{name: "unknown container", item: res("nope", "limits.cpu", ""), wantErr: "container nope not found"},
		{name: "unsupported resource", item: res("app", "limits.gpu", ""), wantErr: "unsupported container resource : limits.gpu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DownwardAPIPayload([]corev1.DownwardAPIVolumeFile{tt.item}, testPod(), tt.podIP, tt.nodeName, allocatable, DefaultMode)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if f, ok := got["f"]; !ok || string(f.Data) != tt.want || f.Mode != DefaultMode {
				t.Fatalf("payload = %s, want f:%q@0644", dump(got), tt.want)
			}
		})
	}
}

func TestDownwardAPIPayloadFallbacksModesAndErrors(t *testing.T) {
	pod := testPod()
	pod.Spec.NodeName = "from-spec"
	pod.Spec.ServiceAccountName = ""
	pod.Status.PodIP = "10.0.0.9"
	items := []corev1.DownwardAPIVolumeFile{
		{Path: "node", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}},
		{Path: "sa", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}, Mode: ptr[int32](0o600)},
		{Path: "./meta//ip", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}},
	}
	got, err := DownwardAPIPayload(items, pod, "", "", nil, 0o400)
	want := map[string]FileProjection{"node": fp("from-spec", 0o400), "sa": fp("default", 0o600), "meta/ip": fp("10.0.0.9", 0o400)}
	checkPayload(t, got, err, want, "", nil)

	items = append(items,
		corev1.DownwardAPIVolumeFile{Path: "x", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.hostname"}},
		corev1.DownwardAPIVolumeFile{Path: "y", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "ghost", Resource: "limits.cpu"}},
	)
	_, err = DownwardAPIPayload(items, pod, "", "", nil, 0o400)
	checkPayload(t, nil, err, nil, "[unsupported fieldPath: spec.hostname, container ghost not found]", ErrUnsupported)
}
