package manifests

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	testDigest    = "sha256:7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa"
	testDigest512 = "sha512:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" +
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// ---- builders ---------------------------------------------------------------

// ctr returns a container as a manifest would write it: a name and an image.
func ctr(name, image string) corev1.Container {
	return corev1.Container{Name: name, Image: image}
}

// defaultedCtr returns c with the three defaults every container without
// probes, ports or env receives, using pull as the expected pull policy.
func defaultedCtr(c corev1.Container, pull corev1.PullPolicy) corev1.Container {
	c.ImagePullPolicy = pull
	c.TerminationMessagePath = "/dev/termination-log"
	c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	return c
}

// templateSpec returns the spec a pod template holding containers has after
// defaulting, the containers being given already defaulted.
func templateSpec(containers ...corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{
		Containers:                    containers,
		RestartPolicy:                 corev1.RestartPolicyAlways,
		TerminationGracePeriodSeconds: ptrTo[int64](30),
		DNSPolicy:                     corev1.DNSClusterFirst,
		SecurityContext:               &corev1.PodSecurityContext{},
		SchedulerName:                 "default-scheduler",
	}
}

// podSpec is templateSpec plus the Pod-only enableServiceLinks default.
func podSpec(containers ...corev1.Container) corev1.PodSpec {
	s := templateSpec(containers...)
	s.EnableServiceLinks = ptrTo(true)
	return s
}

// rl builds a resource list from name/quantity pairs.
func rl(pairs ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(pairs); i += 2 {
		l[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return l
}

func labelsApp(app string) map[string]string { return map[string]string{"app": app} }

func webTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labelsApp("web")},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{ctr("web", "nginx:1.27")}},
	}
}

func webTemplateDefaulted() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labelsApp("web")},
		Spec:       templateSpec(defaultedCtr(ctr("web", "nginx:1.27"), corev1.PullIfNotPresent)),
	}
}

func jobTemplate() corev1.PodTemplateSpec {
	t := webTemplate()
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	return t
}

func jobTemplateDefaulted() corev1.PodTemplateSpec {
	t := webTemplateDefaulted()
	t.Spec.RestartPolicy = corev1.RestartPolicyNever
	return t
}

// jobSpecDefaulted returns the spec of a Job holding jobTemplate after
// SetDefaults_Job, with completions and parallelism as given.
func jobSpecDefaulted(completions, parallelism *int32) batchv1.JobSpec {
	return batchv1.JobSpec{
		Completions:          completions,
		Parallelism:          parallelism,
		BackoffLimit:         ptrTo[int32](6),
		CompletionMode:       ptrTo(batchv1.NonIndexedCompletion),
		Suspend:              ptrTo(false),
		PodReplacementPolicy: ptrTo(batchv1.TerminatingOrFailed),
		ManualSelector:       ptrTo(false),
		Template:             jobTemplateDefaulted(),
	}
}

// ---- comparison -------------------------------------------------------------

// checkEqual fails t when got and want differ: quantities are compared by
// value, everything else exactly (a nil map or slice differs from an empty
// one). The failure shows a line diff of the two objects as JSON.
func checkEqual(t *testing.T, what string, got, want interface{}) {
	t.Helper()
	if equality.Semantic.DeepEqualWithNilDifferentFromEmpty(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	d := lineDiff(string(w), string(g))
	if d == "" {
		d = fmt.Sprintf("(JSON identical: nil versus empty map/slice, or pointer versus zero)\n got: %#v\nwant: %#v", got, want)
	}
	t.Errorf("%s: object differs (- want, + got):\n%s", what, d)
}

// lineDiff returns a minimal line diff of a and b ("-" lines only in a, "+"
// lines only in b, with up to three unchanged lines of context around each
// change and "..." for the lines skipped), or "" when a and b are equal.
func lineDiff(a, b string) string {
	if a == b {
		return ""
	}
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// lcs[i][j] is the length of the longest common subsequence of x[i:], y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var lines []string // each prefixed by "  ", "- " or "+ "
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			lines = append(lines, "  "+x[i])
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			lines = append(lines, "- "+x[i])
			i++
		default:
			lines = append(lines, "+ "+y[j])
			j++
		}
	}
	const context = 3
	keep := make([]bool, len(lines))
	for k, l := range lines {
		if !strings.HasPrefix(l, "  ") {
			for c := max(0, k-context); c <= min(len(lines)-1, k+context); c++ {
				keep[c] = true
			}
		}
	}
	var out strings.Builder
	skipped := false
	for k, l := range lines {
		if !keep[k] {
			skipped = true
			continue
		}
		if skipped {
			out.WriteString("  ...\n")
			skipped = false
		}
		out.WriteString(l + "\n")
	}
	if skipped {
		out.WriteString("  ...\n")
	}
	return out.String()
}

// runDefaultsCase applies setDefaults to a copy of in, checks the result
// against want, then applies it again and checks that nothing changed.
func runDefaultsCase(t *testing.T, in, want runtime.Object) {
	t.Helper()
	once := in.DeepCopyObject()
	setDefaults(once)
	checkEqual(t, "after one call", once, want)
	twice := once.DeepCopyObject()
	setDefaults(twice)
	checkEqual(t, "idempotence: second call changed the object", twice, once)
}

// ---- tests ------------------------------------------------------------------

func TestSetDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   runtime.Object
		want runtime.Object
	}{
		// Namespace and Node.
		{
			name: "namespace gets its metadata.name label",
			in:   &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}},
			want: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a",
				Labels: map[string]string{"kubernetes.io/metadata.name": "team-a"}}},
		},
		{
			name: "namespace metadata.name label overrides a wrong value and keeps others",
			in: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a",
				Labels: map[string]string{"kubernetes.io/metadata.name": "other", "tier": "x"}}},
			want: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a",
				Labels: map[string]string{"kubernetes.io/metadata.name": "team-a", "tier": "x"}}},
		},
		{
			name: "namespace without a name is left alone",
			in:   &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "team-"}},
			want: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "team-"}},
		},
		{
			name: "node is left alone",
			in:   &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{PodCIDR: "10.0.0.0/24"}},
			want: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{PodCIDR: "10.0.0.0/24"}},
		},

		// Pod.
		{
			name: "pod minimal",
			in:   &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("c", "nginx")}}},
			want: &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpec(defaultedCtr(ctr("c", "nginx"), corev1.PullAlways))},
		},
		{
			name: "pod explicit values are kept",
			in: &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{
				DNSPolicy:                     corev1.DNSDefault,
				RestartPolicy:                 corev1.RestartPolicyNever,
				TerminationGracePeriodSeconds: ptrTo[int64](0),
				SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: ptrTo(true)},
				SchedulerName:                 "custom",
				EnableServiceLinks:            ptrTo(false),
				Containers: []corev1.Container{{
					Name: "c", Image: "nginx", ImagePullPolicy: corev1.PullNever,
					TerminationMessagePath: "/tmp/msg", TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
				}},
			}},
			want: &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{
				DNSPolicy:                     corev1.DNSDefault,
				RestartPolicy:                 corev1.RestartPolicyNever,
				TerminationGracePeriodSeconds: ptrTo[int64](0),
				SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: ptrTo(true)},
				SchedulerName:                 "custom",
				EnableServiceLinks:            ptrTo(false),
				Containers: []corev1.Container{{
					Name: "c", Image: "nginx", ImagePullPolicy: corev1.PullNever,
					TerminationMessagePath: "/tmp/msg", TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
				}},
			}},
		},
		{
			name: "pod requests default from limits in containers and init containers",
			in: &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{
				InitContainers: []corev1.Container{{Name: "init", Image: "busybox:1.36",
					Resources: corev1.ResourceRequirements{Limits: rl("cpu", "250m")}}},
				Containers: []corev1.Container{
					{Name: "a", Image: "app:v1", Resources: corev1.ResourceRequirements{
						Limits: rl("cpu", "500m", "memory", "128Mi"), Requests: rl("cpu", "100m")}},
					{Name: "b", Image: "app:v1"},
					{Name: "c", Image: "app:v1", Resources: corev1.ResourceRequirements{Requests: rl("memory", "64Mi")}},
				},
			}},
			want: &corev1.Pod{ObjectMeta: meta("p"), Spec: func() corev1.PodSpec {
				s := podSpec(
					defaultedCtr(corev1.Container{Name: "a", Image: "app:v1", Resources: corev1.ResourceRequirements{
						Limits: rl("cpu", "500m", "memory", "128Mi"), Requests: rl("cpu", "100m", "memory", "128Mi")}},
						corev1.PullIfNotPresent),
					defaultedCtr(ctr("b", "app:v1"), corev1.PullIfNotPresent),
					defaultedCtr(corev1.Container{Name: "c", Image: "app:v1", Resources: corev1.ResourceRequirements{
						Requests: rl("memory", "64Mi")}}, corev1.PullIfNotPresent),
				)
				s.InitContainers = []corev1.Container{defaultedCtr(corev1.Container{Name: "init", Image: "busybox:1.36",
					Resources: corev1.ResourceRequirements{Limits: rl("cpu", "250m"), Requests: rl("cpu", "250m")}},
					corev1.PullIfNotPresent)}
				return s
			}()},
		},
		{
			name: "pod resources are rounded up to milli scale",
			in: &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{
				Overhead:   rl("cpu", "0.0001"),
				Resources:  &corev1.ResourceRequirements{Limits: rl("cpu", "1.0001"), Requests: rl("memory", "1Gi")},
				Containers: []corev1.Container{{Name: "c", Image: "app:v1", Resources: corev1.ResourceRequirements{Limits: rl("cpu", "1.0001")}}},
			}},
			want: &corev1.Pod{ObjectMeta: meta("p"), Spec: func() corev1.PodSpec {
				s := podSpec(defaultedCtr(corev1.Container{Name: "c", Image: "app:v1", Resources: corev1.ResourceRequirements{
					Limits: rl("cpu", "1001m"), Requests: rl("cpu", "1001m")}}, corev1.PullIfNotPresent))
				s.Overhead = rl("cpu", "1m")
				s.Resources = &corev1.ResourceRequirements{Limits: rl("cpu", "1001m"), Requests: rl("memory", "1Gi")}
				return s
			}()},
		},
		{
			name: "pod hostNetwork defaults host ports to container ports",
			in: &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{
				HostNetwork:    true,
				InitContainers: []corev1.Container{{Name: "i", Image: "app:v1", Ports: []corev1.ContainerPort{{ContainerPort: 9000}}}},
				Containers: []corev1.Container{{Name: "c", Image: "app:v1", Ports: []corev1.ContainerPort{
					{ContainerPort: 80},
					{ContainerPort: 443, HostPort: 8443},
					{ContainerPort: 53, Protocol: corev1.ProtocolUDP},
				}}},
			}},
			want: &corev1.Pod{ObjectMeta: meta("p"), Spec: func() corev1.PodSpec {
				s := podSpec(defaultedCtr(corev1.Container{Name: "c", Image: "app:v1", Ports: []corev1.ContainerPort{
					{ContainerPort: 80, HostPort: 80, Protocol: corev1.ProtocolTCP},
					{ContainerPort: 443, HostPort: 8443, Protocol: corev1.ProtocolTCP},
					{ContainerPort: 53, HostPort: 53, Protocol: corev1.ProtocolUDP},
				}}, corev1.PullIfNotPresent))
				s.HostNetwork = true
				s.InitContainers = []corev1.Container{defaultedCtr(corev1.Container{Name: "i", Image: "app:v1",
					Ports: []corev1.ContainerPort{{ContainerPort: 9000, HostPort: 9000, Protocol: corev1.ProtocolTCP}}},
					corev1.PullIfNotPresent)}
				return s
			}()},
		},
		{
			name: "pod without hostNetwork keeps host ports unset",
			in: &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "c", Image: "app:v1", Ports: []corev1.ContainerPort{{ContainerPort: 80}}}}}},
			want: &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpec(defaultedCtr(corev1.Container{Name: "c", Image: "app:v1",
				Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}}, corev1.PullIfNotPresent))},
		},
		{
			name: "pod volumes",
			in: &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{
				Containers: []corev1.Container{ctr("c", "app:v1")},
				Volumes: []corev1.Volume{
					{Name: "scratch"},
					{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
					{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
					{Name: "secret-mode", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptrTo[int32](0o400)}}},
					{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
						LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}}},
					{Name: "down", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
						{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
						{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.cpu"}},
					}}}},
					{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
						{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
							{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}},
						{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
						{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token2", ExpirationSeconds: ptrTo[int64](600)}},
						{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
					}}}},
					{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
					{Name: "host-dir", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data",
						Type: ptrTo(corev1.HostPathDirectory)}}},
					{Name: "pvc", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
					{Name: "eph", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
						VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: corev1.PersistentVolumeClaimSpec{
							AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
							Resources:   corev1.VolumeResourceRequirements{Requests: rl("storage", "1Gi")},
						}}}}},
					{Name: "img", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "registry.example.com/data"}}},
					{Name: "img-tag", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "registry.example.com/data:v2"}}},
					{Name: "rbd", VolumeSource: corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{CephMonitors: []string{"m"}, RBDImage: "i"}}},
					{Name: "iscsi", VolumeSource: corev1.VolumeSource{ISCSI: &corev1.ISCSIVolumeSource{TargetPortal: "t:3260", IQN: "iqn", Lun: 0}}},
					{Name: "azure", VolumeSource: corev1.VolumeSource{AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "d", DataDiskURI: "u"}}},
					{Name: "scaleio", VolumeSource: corev1.VolumeSource{ScaleIO: &corev1.ScaleIOVolumeSource{Gateway: "g", System: "s"}}},
				},
			}},
			want: &corev1.Pod{ObjectMeta: meta("p"), Spec: func() corev1.PodSpec {
				s := podSpec(defaultedCtr(ctr("c", "app:v1"), corev1.PullIfNotPresent))
				s.Volumes = []corev1.Volume{
					{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					{Name: "mem", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
					{Name: "secret", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptrTo[int32](0o644)}}},
					{Name: "secret-mode", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s", DefaultMode: ptrTo[int32](0o400)}}},
					{Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
						LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, DefaultMode: ptrTo[int32](0o644)}}},
					{Name: "down", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{DefaultMode: ptrTo[int32](0o644),
						Items: []corev1.DownwardAPIVolumeFile{
							{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}},
							{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "c", Resource: "limits.cpu"}},
						}}}},
					{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{DefaultMode: ptrTo[int32](0o644),
						Sources: []corev1.VolumeProjection{
							{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
								{Path: "name", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}}}},
							{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptrTo[int64](3600)}},
							{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token2", ExpirationSeconds: ptrTo[int64](600)}},
							{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
						}}}},
					{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log",
						Type: ptrTo(corev1.HostPathUnset)}}},
					{Name: "host-dir", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data",
						Type: ptrTo(corev1.HostPathDirectory)}}},
					{Name: "pvc", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
					{Name: "eph", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
						VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: corev1.PersistentVolumeClaimSpec{
							AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
							Resources:   corev1.VolumeResourceRequirements{Requests: rl("storage", "1Gi")},
							VolumeMode:  ptrTo(corev1.PersistentVolumeFilesystem),
						}}}}},
					{Name: "img", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "registry.example.com/data",
						PullPolicy: corev1.PullAlways}}},
					{Name: "img-tag", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "registry.example.com/data:v2",
						PullPolicy: corev1.PullIfNotPresent}}},
					{Name: "rbd", VolumeSource: corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{CephMonitors: []string{"m"}, RBDImage: "i",
						RBDPool: "rbd", RadosUser: "admin", Keyring: "/etc/ceph/keyring"}}},
					{Name: "iscsi", VolumeSource: corev1.VolumeSource{ISCSI: &corev1.ISCSIVolumeSource{TargetPortal: "t:3260", IQN: "iqn", Lun: 0,
						ISCSIInterface: "default"}}},
					{Name: "azure", VolumeSource: corev1.VolumeSource{AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "d", DataDiskURI: "u",
						CachingMode: ptrTo(corev1.AzureDataDiskCachingReadWrite), FSType: ptrTo("ext4"), ReadOnly: ptrTo(false),
						Kind: ptrTo(corev1.AzureSharedBlobDisk)}}},
					{Name: "scaleio", VolumeSource: corev1.VolumeSource{ScaleIO: &corev1.ScaleIOVolumeSource{Gateway: "g", System: "s",
						StorageMode: "ThinProvisioned", FSType: "xfs"}}},
				}
				return s
			}()},
		},
		{
			name: "pod probes, lifecycle handlers and env",
			in: &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "c", Image: "app:v1",
				LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
					HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)}}},
				ReadinessProbe: &corev1.Probe{PeriodSeconds: 5, FailureThreshold: 1, ProbeHandler: corev1.ProbeHandler{
					HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Scheme: corev1.URISchemeHTTPS, Port: intstr.FromString("http")}}},
				StartupProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}}},
				Lifecycle: &corev1.Lifecycle{
					PostStart: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)}},
					PreStop:   &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "5"}}},
				},
				Env: []corev1.EnvVar{
					{Name: "PLAIN", Value: "x"},
					{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
					{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}},
					{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}},
					{Name: "FILE", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{VolumeName: "v", Path: "p", Key: "k"}}},
				},
			}}}},
			want: &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpec(defaultedCtr(corev1.Container{
				Name: "c", Image: "app:v1",
				LivenessProbe: &corev1.Probe{TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
					ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Scheme: corev1.URISchemeHTTP,
						Port: intstr.FromInt32(8080)}}},
				ReadinessProbe: &corev1.Probe{TimeoutSeconds: 1, PeriodSeconds: 5, SuccessThreshold: 1, FailureThreshold: 1,
					ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Scheme: corev1.URISchemeHTTPS,
						Port: intstr.FromString("http")}}},
				StartupProbe: &corev1.Probe{TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
					ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090, Service: ptrTo("")}}},
				Lifecycle: &corev1.Lifecycle{
					PostStart: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Scheme: corev1.URISchemeHTTP,
						Port: intstr.FromInt32(8080)}},
					PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "5"}}},
				},
				Env: []corev1.EnvVar{
					{Name: "PLAIN", Value: "x"},
					{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}},
					{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}},
					{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}},
					{Name: "FILE", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{VolumeName: "v", Path: "p", Key: "k",
						Optional: ptrTo(false)}}},
				},
			}, corev1.PullIfNotPresent))},
		},
		{
			name: "pod ephemeral containers get container defaults",
			in: &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{
				Containers:          []corev1.Container{ctr("c", "app:v1")},
				EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", Image: "busybox"}}},
			}},
			want: &corev1.Pod{ObjectMeta: meta("p"), Spec: func() corev1.PodSpec {
				s := podSpec(defaultedCtr(ctr("c", "app:v1"), corev1.PullIfNotPresent))
				s.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
					Name: "dbg", Image: "busybox", ImagePullPolicy: corev1.PullAlways,
					TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile}}}
				return s
			}()},
		},

		// ReplicationController.
		{
			name: "replicationcontroller selector and labels from template; template gets no pod-only defaults",
			in: &corev1.ReplicationController{ObjectMeta: meta("rc"), Spec: corev1.ReplicationControllerSpec{
				Template: &corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labelsApp("web")},
					Spec: corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27",
						Ports:     []corev1.ContainerPort{{ContainerPort: 80}},
						Resources: corev1.ResourceRequirements{Limits: rl("cpu", "1")}}}},
				},
			}},
			want: &corev1.ReplicationController{
				ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "default", Labels: labelsApp("web")},
				Spec: corev1.ReplicationControllerSpec{
					Replicas: ptrTo[int32](1),
					Selector: labelsApp("web"),
					Template: &corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: labelsApp("web")},
						Spec: func() corev1.PodSpec {
							s := templateSpec(defaultedCtr(corev1.Container{Name: "web", Image: "nginx:1.27",
								Ports:     []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
								Resources: corev1.ResourceRequirements{Limits: rl("cpu", "1")}}, corev1.PullIfNotPresent))
							s.HostNetwork = true
							return s
						}(),
					},
				},
			},
		},
		{
			name: "replicationcontroller keeps its selector, labels and replicas",
			in: &corev1.ReplicationController{
				ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "default", Labels: map[string]string{"owner": "me"}},
				Spec: corev1.ReplicationControllerSpec{Replicas: ptrTo[int32](0), Selector: map[string]string{"app": "web", "track": "x"},
					Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "track": "x"}},
						Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("web", "nginx:1.27")}}}},
			},
			want: &corev1.ReplicationController{
				ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "default", Labels: map[string]string{"owner": "me"}},
				Spec: corev1.ReplicationControllerSpec{Replicas: ptrTo[int32](0), Selector: map[string]string{"app": "web", "track": "x"},
					Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "track": "x"}},
						Spec: templateSpec(defaultedCtr(ctr("web", "nginx:1.27"), corev1.PullIfNotPresent))}},
			},
		},
		{
			name: "replicationcontroller without template only gets replicas",
			in:   &corev1.ReplicationController{ObjectMeta: meta("rc")},
			want: &corev1.ReplicationController{ObjectMeta: meta("rc"), Spec: corev1.ReplicationControllerSpec{Replicas: ptrTo[int32](1)}},
		},
		{
			name: "replicationcontroller with empty, non-nil template labels copies them as empty maps",
			in: &corev1.ReplicationController{ObjectMeta: meta("rc"), Spec: corev1.ReplicationControllerSpec{
				Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("web", "nginx:1.27")}}}}},
			want: &corev1.ReplicationController{
				ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "default", Labels: map[string]string{}},
				Spec: corev1.ReplicationControllerSpec{
					Replicas: ptrTo[int32](1),
					Selector: map[string]string{},
					Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{}},
						Spec: templateSpec(defaultedCtr(ctr("web", "nginx:1.27"), corev1.PullIfNotPresent))}}},
		},
		{
			name: "replicationcontroller with template without labels leaves selector and labels unset",
			in: &corev1.ReplicationController{ObjectMeta: meta("rc"), Spec: corev1.ReplicationControllerSpec{
				Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{ctr("web", "nginx:1.27")}}}}},
			want: &corev1.ReplicationController{ObjectMeta: meta("rc"), Spec: corev1.ReplicationControllerSpec{
				Replicas: ptrTo[int32](1),
				Template: &corev1.PodTemplateSpec{Spec: templateSpec(defaultedCtr(ctr("web", "nginx:1.27"), corev1.PullIfNotPresent))}}},
		},

		// Service.
		{
			name: "service ClusterIP by default",
			in: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{Selector: labelsApp("web"), Ports: []corev1.ServicePort{
				{Name: "http", Port: 80},
				{Name: "named", Port: 8080, TargetPort: intstr.FromString("web")},
				{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(5353)},
				{Name: "empty-string", Port: 9090, TargetPort: intstr.FromString("")},
			}}},
			want: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{
				Selector: labelsApp("web"),
				Type:     corev1.ServiceTypeClusterIP,
				Ports: []corev1.ServicePort{
					{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)},
					{Name: "named", Port: 8080, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("web")},
					{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(5353)},
					{Name: "empty-string", Port: 9090, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(9090)},
				},
				SessionAffinity:       corev1.ServiceAffinityNone,
				InternalTrafficPolicy: ptrTo(corev1.ServiceInternalTrafficPolicyCluster),
			}},
		},
		{
			name: "service ClusterIP with externalIPs gets externalTrafficPolicy",
			in:   &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{ExternalIPs: []string{"192.0.2.1"}}},
			want: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{
				ExternalIPs:           []string{"192.0.2.1"},
				Type:                  corev1.ServiceTypeClusterIP,
				SessionAffinity:       corev1.ServiceAffinityNone,
				ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
				InternalTrafficPolicy: ptrTo(corev1.ServiceInternalTrafficPolicyCluster),
			}},
		},
		{
			name: "service NodePort",
			in:   &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort}},
			want: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{
				Type:                  corev1.ServiceTypeNodePort,
				SessionAffinity:       corev1.ServiceAffinityNone,
				ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyCluster,
				InternalTrafficPolicy: ptrTo(corev1.ServiceInternalTrafficPolicyCluster),
			}},
		},
		{
			name: "service LoadBalancer",
			in:   &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}},
			want: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{
				Type:                          corev1.ServiceTypeLoadBalancer,
				SessionAffinity:               corev1.ServiceAffinityNone,
				ExternalTrafficPolicy:         corev1.ServiceExternalTrafficPolicyCluster,
				InternalTrafficPolicy:         ptrTo(corev1.ServiceInternalTrafficPolicyCluster),
				AllocateLoadBalancerNodePorts: ptrTo(true),
			}},
		},
		{
			name: "service LoadBalancer keeps explicit policies",
			in: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
				ExternalTrafficPolicy:         corev1.ServiceExternalTrafficPolicyLocal,
				InternalTrafficPolicy:         ptrTo(corev1.ServiceInternalTrafficPolicyLocal),
				AllocateLoadBalancerNodePorts: ptrTo(false)}},
			want: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
				SessionAffinity:               corev1.ServiceAffinityNone,
				ExternalTrafficPolicy:         corev1.ServiceExternalTrafficPolicyLocal,
				InternalTrafficPolicy:         ptrTo(corev1.ServiceInternalTrafficPolicyLocal),
				AllocateLoadBalancerNodePorts: ptrTo(false)}},
		},
		{
			name: "service ExternalName gets no traffic policies",
			in:   &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}},
			want: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com",
				SessionAffinity: corev1.ServiceAffinityNone}},
		},
		{
			name: "service ClientIP affinity gets the default timeout",
			in:   &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{SessionAffinity: corev1.ServiceAffinityClientIP}},
			want: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{
				Type:            corev1.ServiceTypeClusterIP,
				SessionAffinity: corev1.ServiceAffinityClientIP,
				SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{
					TimeoutSeconds: ptrTo[int32](10800)}},
				InternalTrafficPolicy: ptrTo(corev1.ServiceInternalTrafficPolicyCluster),
			}},
		},
		{
			name: "service ClientIP affinity keeps an explicit timeout",
			in: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{SessionAffinity: corev1.ServiceAffinityClientIP,
				SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo[int32](60)}}}},
			want: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{
				Type:                  corev1.ServiceTypeClusterIP,
				SessionAffinity:       corev1.ServiceAffinityClientIP,
				SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo[int32](60)}},
				InternalTrafficPolicy: ptrTo(corev1.ServiceInternalTrafficPolicyCluster),
			}},
		},
		{
			name: "service without affinity drops a sessionAffinityConfig",
			in: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{
				SessionAffinityConfig: &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo[int32](60)}}}},
			want: &corev1.Service{ObjectMeta: meta("s"), Spec: corev1.ServiceSpec{
				Type:                  corev1.ServiceTypeClusterIP,
				SessionAffinity:       corev1.ServiceAffinityNone,
				InternalTrafficPolicy: ptrTo(corev1.ServiceInternalTrafficPolicyCluster),
			}},
		},

		// Endpoints, ConfigMap, Secret, ServiceAccount.
		{
			name: "endpoints ports get TCP",
			in: &corev1.Endpoints{ObjectMeta: meta("e"), Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}},
				Ports:     []corev1.EndpointPort{{Port: 80}, {Port: 53, Protocol: corev1.ProtocolUDP}},
			}}},
			want: &corev1.Endpoints{ObjectMeta: meta("e"), Subsets: []corev1.EndpointSubset{{
				Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}},
				Ports:     []corev1.EndpointPort{{Port: 80, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}},
			}}},
		},
		{
			name: "configmap nil data becomes empty",
			in:   &corev1.ConfigMap{ObjectMeta: meta("cm"), BinaryData: map[string][]byte{"b": {1}}},
			want: &corev1.ConfigMap{ObjectMeta: meta("cm"), Data: map[string]string{}, BinaryData: map[string][]byte{"b": {1}}},
		},
		{
			name: "configmap data kept",
			in:   &corev1.ConfigMap{ObjectMeta: meta("cm"), Data: map[string]string{"k": "v"}},
			want: &corev1.ConfigMap{ObjectMeta: meta("cm"), Data: map[string]string{"k": "v"}},
		},
		{
			name: "secret type Opaque",
			in:   &corev1.Secret{ObjectMeta: meta("s"), StringData: map[string]string{"k": "v"}},
			want: &corev1.Secret{ObjectMeta: meta("s"), StringData: map[string]string{"k": "v"}, Type: corev1.SecretTypeOpaque},
		},
		{
			name: "secret type kept",
			in:   &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeTLS},
			want: &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeTLS},
		},
		{
			name: "serviceaccount is left alone",
			in:   &corev1.ServiceAccount{ObjectMeta: meta("sa"), AutomountServiceAccountToken: ptrTo(false)},
			want: &corev1.ServiceAccount{ObjectMeta: meta("sa"), AutomountServiceAccountToken: ptrTo(false)},
		},

		// Storage objects.
		{
			name: "persistentvolume",
			in: &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}, Spec: corev1.PersistentVolumeSpec{
				Capacity:               rl("storage", "10Gi"),
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/mnt/data"}},
			}},
			want: &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}, Spec: corev1.PersistentVolumeSpec{
				Capacity: rl("storage", "10Gi"),
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/mnt/data",
					Type: ptrTo(corev1.HostPathUnset)}},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				VolumeMode:                    ptrTo(corev1.PersistentVolumeFilesystem),
			}},
		},
		{
			name: "persistentvolume explicit values and source defaults",
			in: &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}, Spec: corev1.PersistentVolumeSpec{
				Capacity:                      rl("storage", "0.5"),
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				VolumeMode:                    ptrTo(corev1.PersistentVolumeBlock),
				PersistentVolumeSource:        corev1.PersistentVolumeSource{RBD: &corev1.RBDPersistentVolumeSource{CephMonitors: []string{"m"}, RBDImage: "i", RadosUser: "u"}},
			}},
			want: &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}, Spec: corev1.PersistentVolumeSpec{
				Capacity:                      rl("storage", "500m"),
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				VolumeMode:                    ptrTo(corev1.PersistentVolumeBlock),
				PersistentVolumeSource: corev1.PersistentVolumeSource{RBD: &corev1.RBDPersistentVolumeSource{CephMonitors: []string{"m"}, RBDImage: "i",
					RBDPool: "rbd", RadosUser: "u", Keyring: "/etc/ceph/keyring"}},
			}},
		},
		{
			name: "persistentvolume iscsi, azureDisk and scaleIO sources",
			in: &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}, Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					ISCSI:     &corev1.ISCSIPersistentVolumeSource{TargetPortal: "t", IQN: "q", ISCSIInterface: "eth"},
					AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "d", DataDiskURI: "u", Kind: ptrTo(corev1.AzureManagedDisk)},
					ScaleIO:   &corev1.ScaleIOPersistentVolumeSource{Gateway: "g", System: "s", FSType: "ext4"},
				},
			}},
			want: &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv"}, Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					ISCSI: &corev1.ISCSIPersistentVolumeSource{TargetPortal: "t", IQN: "q", ISCSIInterface: "eth"},
					AzureDisk: &corev1.AzureDiskVolumeSource{DiskName: "d", DataDiskURI: "u", Kind: ptrTo(corev1.AzureManagedDisk),
						CachingMode: ptrTo(corev1.AzureDataDiskCachingReadWrite), FSType: ptrTo("ext4"), ReadOnly: ptrTo(false)},
					ScaleIO: &corev1.ScaleIOPersistentVolumeSource{Gateway: "g", System: "s", FSType: "ext4", StorageMode: "ThinProvisioned"},
				},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				VolumeMode:                    ptrTo(corev1.PersistentVolumeFilesystem),
			}},
		},
		{
			name: "persistentvolumeclaim",
			in: &corev1.PersistentVolumeClaim{ObjectMeta: meta("pvc"), Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: rl("storage", "1.0001")},
			}},
			want: &corev1.PersistentVolumeClaim{ObjectMeta: meta("pvc"), Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:   corev1.VolumeResourceRequirements{Requests: rl("storage", "1001m")},
				VolumeMode:  ptrTo(corev1.PersistentVolumeFilesystem),
			}},
		},
		{
			name: "storageclass",
			in:   &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: "example.com/p"},
			want: &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: "example.com/p",
				ReclaimPolicy: ptrTo(corev1.PersistentVolumeReclaimDelete), VolumeBindingMode: ptrTo(storagev1.VolumeBindingImmediate)},
		},
		{
			name: "storageclass explicit values kept",
			in: &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: "example.com/p",
				ReclaimPolicy: ptrTo(corev1.PersistentVolumeReclaimRetain), VolumeBindingMode: ptrTo(storagev1.VolumeBindingWaitForFirstConsumer)},
			want: &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: "example.com/p",
				ReclaimPolicy: ptrTo(corev1.PersistentVolumeReclaimRetain), VolumeBindingMode: ptrTo(storagev1.VolumeBindingWaitForFirstConsumer)},
		},

		// Quotas and limits.
		{
			name: "resourcequota hard limits are rounded",
			in: &corev1.ResourceQuota{ObjectMeta: meta("q"), Spec: corev1.ResourceQuotaSpec{
				Hard: rl("requests.cpu", "2.0005", "pods", "10")}},
			want: &corev1.ResourceQuota{ObjectMeta: meta("q"), Spec: corev1.ResourceQuotaSpec{
				Hard: rl("requests.cpu", "2001m", "pods", "10")}},
		},
		{
			name: "limitrange container item defaults",
			in: &corev1.LimitRange{ObjectMeta: meta("lr"), Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
				{Type: corev1.LimitTypeContainer,
					Max:     rl("cpu", "2", "memory", "1Gi"),
					Min:     rl("cpu", "100m", "ephemeral-storage", "1Mi"),
					Default: rl("memory", "512Mi")},
				{Type: corev1.LimitTypeContainer},
				{Type: corev1.LimitTypePod, Max: rl("cpu", "4")},
			}}},
			want: &corev1.LimitRange{ObjectMeta: meta("lr"), Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
				{Type: corev1.LimitTypeContainer,
					Max:            rl("cpu", "2", "memory", "1Gi"),
					Min:            rl("cpu", "100m", "ephemeral-storage", "1Mi"),
					Default:        rl("cpu", "2", "memory", "512Mi"),
					DefaultRequest: rl("cpu", "2", "memory", "512Mi", "ephemeral-storage", "1Mi")},
				{Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{}, DefaultRequest: corev1.ResourceList{}},
				{Type: corev1.LimitTypePod, Max: rl("cpu", "4")},
			}}},
		},

		// apps/v1.
		{
			name: "replicaset",
			in:   &appsv1.ReplicaSet{ObjectMeta: meta("rs"), Spec: appsv1.ReplicaSetSpec{Template: webTemplate()}},
			want: &appsv1.ReplicaSet{ObjectMeta: meta("rs"), Spec: appsv1.ReplicaSetSpec{Replicas: ptrTo[int32](1), Template: webTemplateDefaulted()}},
		},
		{
			name: "deployment",
			in:   &appsv1.Deployment{ObjectMeta: meta("d"), Spec: appsv1.DeploymentSpec{Template: webTemplate()}},
			want: &appsv1.Deployment{ObjectMeta: meta("d"), Spec: appsv1.DeploymentSpec{
				Replicas: ptrTo[int32](1),
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{
						MaxUnavailable: ptrTo(intstr.FromString("25%")), MaxSurge: ptrTo(intstr.FromString("25%"))}},
				RevisionHistoryLimit:    ptrTo[int32](10),
				ProgressDeadlineSeconds: ptrTo[int32](600),
				Template:                webTemplateDefaulted(),
			}},
		},
		{
			name: "deployment partial rolling update is completed",
			in: &appsv1.Deployment{ObjectMeta: meta("d"), Spec: appsv1.DeploymentSpec{Replicas: ptrTo[int32](3),
				Strategy: appsv1.DeploymentStrategy{RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ptrTo(intstr.FromInt32(1))}},
				Template: webTemplate()}},
			want: &appsv1.Deployment{ObjectMeta: meta("d"), Spec: appsv1.DeploymentSpec{
				Replicas: ptrTo[int32](3),
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDeployment{
						MaxUnavailable: ptrTo(intstr.FromString("25%")), MaxSurge: ptrTo(intstr.FromInt32(1))}},
				RevisionHistoryLimit:    ptrTo[int32](10),
				ProgressDeadlineSeconds: ptrTo[int32](600),
				Template:                webTemplateDefaulted(),
			}},
		},
		{
			name: "deployment Recreate gets no rolling update",
			in: &appsv1.Deployment{ObjectMeta: meta("d"), Spec: appsv1.DeploymentSpec{
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}, Template: webTemplate()}},
			want: &appsv1.Deployment{ObjectMeta: meta("d"), Spec: appsv1.DeploymentSpec{
				Replicas:                ptrTo[int32](1),
				Strategy:                appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
				RevisionHistoryLimit:    ptrTo[int32](10),
				ProgressDeadlineSeconds: ptrTo[int32](600),
				Template:                webTemplateDefaulted(),
			}},
		},
		{
			name: "daemonset",
			in:   &appsv1.DaemonSet{ObjectMeta: meta("ds"), Spec: appsv1.DaemonSetSpec{Template: webTemplate()}},
			want: &appsv1.DaemonSet{ObjectMeta: meta("ds"), Spec: appsv1.DaemonSetSpec{
				UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDaemonSet{
						MaxUnavailable: ptrTo(intstr.FromInt32(1)), MaxSurge: ptrTo(intstr.FromInt32(0))}},
				RevisionHistoryLimit: ptrTo[int32](10),
				Template:             webTemplateDefaulted(),
			}},
		},
		{
			name: "daemonset partial rolling update is completed",
			in: &appsv1.DaemonSet{ObjectMeta: meta("ds"), Spec: appsv1.DaemonSetSpec{
				UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptrTo(intstr.FromString("10%"))}},
				Template: webTemplate()}},
			want: &appsv1.DaemonSet{ObjectMeta: meta("ds"), Spec: appsv1.DaemonSetSpec{
				UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
					RollingUpdate: &appsv1.RollingUpdateDaemonSet{
						MaxUnavailable: ptrTo(intstr.FromString("10%")), MaxSurge: ptrTo(intstr.FromInt32(0))}},
				RevisionHistoryLimit: ptrTo[int32](10),
				Template:             webTemplateDefaulted(),
			}},
		},
		{
			name: "daemonset OnDelete gets no rolling update",
			in: &appsv1.DaemonSet{ObjectMeta: meta("ds"), Spec: appsv1.DaemonSetSpec{
				UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}, Template: webTemplate()}},
			want: &appsv1.DaemonSet{ObjectMeta: meta("ds"), Spec: appsv1.DaemonSetSpec{
				UpdateStrategy:       appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType},
				RevisionHistoryLimit: ptrTo[int32](10),
				Template:             webTemplateDefaulted(),
			}},
		},

		// batch/v1.
		{
			name: "job neither completions nor parallelism: both 1",
			in:   &batchv1.Job{ObjectMeta: meta("j"), Spec: batchv1.JobSpec{Template: jobTemplate()}},
			want: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default", Labels: labelsApp("web")},
				Spec: jobSpecDefaulted(ptrTo[int32](1), ptrTo[int32](1))},
		},
		{
			name: "job completions only: parallelism 1",
			in:   &batchv1.Job{ObjectMeta: meta("j"), Spec: batchv1.JobSpec{Completions: ptrTo[int32](5), Template: jobTemplate()}},
			want: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default", Labels: labelsApp("web")},
				Spec: jobSpecDefaulted(ptrTo[int32](5), ptrTo[int32](1))},
		},
		{
			name: "job parallelism only: completions stay unset",
			in:   &batchv1.Job{ObjectMeta: meta("j"), Spec: batchv1.JobSpec{Parallelism: ptrTo[int32](3), Template: jobTemplate()}},
			want: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default", Labels: labelsApp("web")},
				Spec: jobSpecDefaulted(nil, ptrTo[int32](3))},
		},
		{
			name: "job both set: kept, including zero",
			in: &batchv1.Job{ObjectMeta: meta("j"), Spec: batchv1.JobSpec{Completions: ptrTo[int32](4), Parallelism: ptrTo[int32](0),
				Template: jobTemplate()}},
			want: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default", Labels: labelsApp("web")},
				Spec: jobSpecDefaulted(ptrTo[int32](4), ptrTo[int32](0))},
		},
		{
			name: "job backoffLimitPerIndex makes backoffLimit max int32",
			in: &batchv1.Job{ObjectMeta: meta("j"), Spec: batchv1.JobSpec{Completions: ptrTo[int32](3),
				CompletionMode: ptrTo(batchv1.IndexedCompletion), BackoffLimitPerIndex: ptrTo[int32](2), Template: jobTemplate()}},
			want: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default", Labels: labelsApp("web")},
				Spec: func() batchv1.JobSpec {
					s := jobSpecDefaulted(ptrTo[int32](3), ptrTo[int32](1))
					s.CompletionMode = ptrTo(batchv1.IndexedCompletion)
					s.BackoffLimitPerIndex = ptrTo[int32](2)
					s.BackoffLimit = ptrTo[int32](math.MaxInt32)
					return s
				}()},
		},
		{
			name: "job podFailurePolicy: replacement policy Failed, condition status True",
			in: &batchv1.Job{ObjectMeta: meta("j"), Spec: batchv1.JobSpec{Template: jobTemplate(),
				PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
					{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
						{Type: corev1.DisruptionTarget}, {Type: "Custom", Status: corev1.ConditionFalse}}},
					{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
						Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
				}}}},
			want: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default", Labels: labelsApp("web")},
				Spec: func() batchv1.JobSpec {
					s := jobSpecDefaulted(ptrTo[int32](1), ptrTo[int32](1))
					s.PodReplacementPolicy = ptrTo(batchv1.Failed)
					s.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
						{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
							{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}, {Type: "Custom", Status: corev1.ConditionFalse}}},
						{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
							Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{42}}},
					}}
					return s
				}()},
		},
		{
			name: "job explicit values and labels kept",
			in: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default", Labels: map[string]string{"team": "a"}},
				Spec: batchv1.JobSpec{BackoffLimit: ptrTo[int32](0), Suspend: ptrTo(true), ManualSelector: ptrTo(true),
					Selector:             &metav1.LabelSelector{MatchLabels: labelsApp("web")},
					PodReplacementPolicy: ptrTo(batchv1.Failed), Template: jobTemplate()}},
			want: &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "default", Labels: map[string]string{"team": "a"}},
				Spec: func() batchv1.JobSpec {
					s := jobSpecDefaulted(ptrTo[int32](1), ptrTo[int32](1))
					s.BackoffLimit = ptrTo[int32](0)
					s.Suspend = ptrTo(true)
					s.ManualSelector = ptrTo(true)
					s.Selector = &metav1.LabelSelector{MatchLabels: labelsApp("web")}
					s.PodReplacementPolicy = ptrTo(batchv1.Failed)
					return s
				}()},
		},
		{
			name: "cronjob: job template spec is not job-defaulted, its pod template is",
			in: &batchv1.CronJob{ObjectMeta: meta("cj"), Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *",
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: jobTemplate(),
					PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
						{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
							{Type: corev1.DisruptionTarget}}}}}}}}},
			want: &batchv1.CronJob{ObjectMeta: meta("cj"), Spec: batchv1.CronJobSpec{Schedule: "*/5 * * * *",
				ConcurrencyPolicy:          batchv1.AllowConcurrent,
				Suspend:                    ptrTo(false),
				SuccessfulJobsHistoryLimit: ptrTo[int32](3),
				FailedJobsHistoryLimit:     ptrTo[int32](1),
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: jobTemplateDefaulted(),
					PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{
						{Action: batchv1.PodFailurePolicyActionIgnore, OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{
							{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}}}}}}}}},
		},
		{
			name: "cronjob explicit values kept",
			in: &batchv1.CronJob{ObjectMeta: meta("cj"), Spec: batchv1.CronJobSpec{Schedule: "@daily",
				ConcurrencyPolicy: batchv1.ForbidConcurrent, Suspend: ptrTo(true),
				SuccessfulJobsHistoryLimit: ptrTo[int32](0), FailedJobsHistoryLimit: ptrTo[int32](5),
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: jobTemplate()}}}},
			want: &batchv1.CronJob{ObjectMeta: meta("cj"), Spec: batchv1.CronJobSpec{Schedule: "@daily",
				ConcurrencyPolicy: batchv1.ForbidConcurrent, Suspend: ptrTo(true),
				SuccessfulJobsHistoryLimit: ptrTo[int32](0), FailedJobsHistoryLimit: ptrTo[int32](5),
				JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: jobTemplateDefaulted()}}}},
		},

		// networking/v1.
		{
			name: "ingress is left alone",
			in: &networkingv1.Ingress{ObjectMeta: meta("ing"), Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
				Host: "example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: "/", Backend: networkingv1.IngressBackend{
						Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}},
			want: &networkingv1.Ingress{ObjectMeta: meta("ing"), Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
				Host: "example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{Path: "/", Backend: networkingv1.IngressBackend{
						Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}},
		},
		{
			name: "networkpolicy ingress only",
			in: &networkingv1.NetworkPolicy{ObjectMeta: meta("np"), Spec: networkingv1.NetworkPolicySpec{
				Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{
					{Port: ptrTo(intstr.FromInt32(80))}, {Protocol: ptrTo(corev1.ProtocolUDP), Port: ptrTo(intstr.FromInt32(53))}}}}}},
			want: &networkingv1.NetworkPolicy{ObjectMeta: meta("np"), Spec: networkingv1.NetworkPolicySpec{
				Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{
					{Protocol: ptrTo(corev1.ProtocolTCP), Port: ptrTo(intstr.FromInt32(80))},
					{Protocol: ptrTo(corev1.ProtocolUDP), Port: ptrTo(intstr.FromInt32(53))}}}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}},
		},
		{
			name: "networkpolicy with egress rules",
			in: &networkingv1.NetworkPolicy{ObjectMeta: meta("np"), Spec: networkingv1.NetworkPolicySpec{
				Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: ptrTo(intstr.FromInt32(443))}}}}}},
			want: &networkingv1.NetworkPolicy{ObjectMeta: meta("np"), Spec: networkingv1.NetworkPolicySpec{
				Egress: []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{
					{Protocol: ptrTo(corev1.ProtocolTCP), Port: ptrTo(intstr.FromInt32(443))}}}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}}},
		},
		{
			name: "networkpolicy explicit policyTypes kept",
			in: &networkingv1.NetworkPolicy{ObjectMeta: meta("np"), Spec: networkingv1.NetworkPolicySpec{
				Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}},
			want: &networkingv1.NetworkPolicy{ObjectMeta: meta("np"), Spec: networkingv1.NetworkPolicySpec{
				Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}},
		},

		// Types setDefaults does not handle.
		{
			name: "statefulset is not handled",
			in:   &appsv1.StatefulSet{ObjectMeta: meta("ss"), Spec: appsv1.StatefulSetSpec{Template: webTemplate()}},
			want: &appsv1.StatefulSet{ObjectMeta: meta("ss"), Spec: appsv1.StatefulSetSpec{Template: webTemplate()}},
		},
		{
			name: "podtemplate is not handled",
			in:   &corev1.PodTemplate{ObjectMeta: meta("pt"), Template: webTemplate()},
			want: &corev1.PodTemplate{ObjectMeta: meta("pt"), Template: webTemplate()},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runDefaultsCase(t, tt.in, tt.want)
		})
	}
}

// TestImagePullPolicy covers every shape of image reference, through the
// container, init container, ephemeral container and image volume paths.
func TestImagePullPolicy(t *testing.T) {
	tests := []struct {
		name    string
		image   string
		wantTag string // what ParseImageName would return as the tag
		wantOK  bool   // whether the reference parses
		want    corev1.PullPolicy
	}{
		{name: "no tag", image: "nginx", wantTag: "latest", wantOK: true, want: corev1.PullAlways},
		{name: "latest tag", image: "nginx:latest", wantTag: "latest", wantOK: true, want: corev1.PullAlways},
		{name: "version tag", image: "nginx:1.2", wantTag: "1.2", wantOK: true, want: corev1.PullIfNotPresent},
		{name: "tag latest is case sensitive", image: "nginx:Latest", wantTag: "Latest", wantOK: true, want: corev1.PullIfNotPresent},
		{name: "tag merely containing latest", image: "nginx:latest-alpine", wantTag: "latest-alpine", wantOK: true, want: corev1.PullIfNotPresent},
		{name: "digest only", image: "nginx@" + testDigest, wantTag: "", wantOK: true, want: corev1.PullIfNotPresent},
		{name: "sha512 digest only", image: "nginx@" + testDigest512, wantTag: "", wantOK: true, want: corev1.PullIfNotPresent},
		{name: "latest tag and digest", image: "nginx:latest@" + testDigest, wantTag: "latest", wantOK: true, want: corev1.PullAlways},
		{name: "version tag and digest", image: "nginx:1.2@" + testDigest, wantTag: "1.2", wantOK: true, want: corev1.PullIfNotPresent},
		{name: "registry with port, no tag", image: "localhost:5000/app", wantTag: "latest", wantOK: true, want: corev1.PullAlways},
		{name: "registry with port and tag", image: "localhost:5000/app:v1", wantTag: "v1", wantOK: true, want: corev1.PullIfNotPresent},
		{name: "registry with port and latest tag", image: "localhost:5000/app:latest", wantTag: "latest", wantOK: true, want: corev1.PullAlways},
		{name: "registry with port and digest", image: "registry.example.com:443/team/app@" + testDigest, wantTag: "", wantOK: true, want: corev1.PullIfNotPresent},
		{name: "registry host, nested path, no tag", image: "ghcr.io/org/team/app", wantTag: "latest", wantOK: true, want: corev1.PullAlways},
		{name: "localhost registry without port", image: "localhost/app:2", wantTag: "2", wantOK: true, want: corev1.PullIfNotPresent},
		{name: "IPv6 registry", image: "[::1]:5000/app", wantTag: "latest", wantOK: true, want: corev1.PullAlways},
		{name: "docker hub user repo", image: "library/nginx:1.27", wantTag: "1.27", wantOK: true, want: corev1.PullIfNotPresent},
		{name: "legacy docker hub domain", image: "index.docker.io/nginx", wantTag: "latest", wantOK: true, want: corev1.PullAlways},
		{name: "single name with numeric tag", image: "foo:5000", wantTag: "5000", wantOK: true, want: corev1.PullIfNotPresent},
		{name: "empty image", image: "", wantOK: false, want: corev1.PullIfNotPresent},
		{name: "uppercase repository does not parse", image: "Nginx", wantOK: false, want: corev1.PullIfNotPresent},
		{name: "uppercase registry host parses", image: "Registry.Example.com/app", wantTag: "latest", wantOK: true, want: corev1.PullAlways},
		{name: "uppercase path under a registry does not parse", image: "registry.example.com/App:latest", wantOK: false, want: corev1.PullIfNotPresent},
		{name: "bad digest length does not parse", image: "nginx:latest@sha256:abc", wantOK: false, want: corev1.PullIfNotPresent},
		{name: "uppercase digest hex does not parse", image: "nginx:latest@" + strings.ToUpper(testDigest), wantOK: false, want: corev1.PullIfNotPresent},
		{name: "unknown digest algorithm does not parse", image: "nginx:latest@md5:0123456789abcdef0123456789abcdef", wantOK: false, want: corev1.PullIfNotPresent},
		{name: "64-hex identifier does not parse", image: strings.TrimPrefix(testDigest, "sha256:"), wantOK: false, want: corev1.PullIfNotPresent},
		{name: "surrounding space does not parse", image: " nginx", wantOK: false, want: corev1.PullIfNotPresent},
		{name: "double slash does not parse", image: "registry.example.com//app", wantOK: false, want: corev1.PullIfNotPresent},
		{name: "repository path too long does not parse", image: "example.com/" + strings.Repeat("a", 256), wantOK: false, want: corev1.PullIfNotPresent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tag, ok := imageTag(tt.image)
			if tag != tt.wantTag || ok != tt.wantOK {
				t.Errorf("imageTag(%q) = %q, %v; want %q, %v", tt.image, tag, ok, tt.wantTag, tt.wantOK)
			}
			in := &corev1.Pod{ObjectMeta: meta("p"), Spec: corev1.PodSpec{
				InitContainers:      []corev1.Container{ctr("i", tt.image)},
				Containers:          []corev1.Container{ctr("c", tt.image)},
				EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "e", Image: tt.image}}},
				Volumes:             []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: tt.image}}}},
			}}
			want := &corev1.Pod{ObjectMeta: meta("p"), Spec: podSpec(defaultedCtr(ctr("c", tt.image), tt.want))}
			want.Spec.InitContainers = []corev1.Container{defaultedCtr(ctr("i", tt.image), tt.want)}
			want.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(
				defaultedCtr(corev1.Container{Name: "e", Image: tt.image}, tt.want))}}
			want.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
				Image: &corev1.ImageVolumeSource{Reference: tt.image, PullPolicy: tt.want}}}}
			runDefaultsCase(t, in, want)
		})
	}
}

// TestSetDefaultsToleratesNil checks that nil objects of handled types and a
// nil interface are ignored rather than dereferenced.
func TestSetDefaultsToleratesNil(t *testing.T) {
	objs := []runtime.Object{
		nil,
		(*corev1.Namespace)(nil), (*corev1.Node)(nil), (*corev1.Pod)(nil), (*corev1.ReplicationController)(nil),
		(*corev1.Service)(nil), (*corev1.Endpoints)(nil), (*corev1.ConfigMap)(nil), (*corev1.Secret)(nil),
		(*corev1.PersistentVolume)(nil), (*corev1.PersistentVolumeClaim)(nil), (*corev1.ResourceQuota)(nil),
		(*corev1.LimitRange)(nil), (*corev1.ServiceAccount)(nil),
		(*appsv1.ReplicaSet)(nil), (*appsv1.Deployment)(nil), (*appsv1.DaemonSet)(nil),
		(*batchv1.Job)(nil), (*batchv1.CronJob)(nil),
		(*networkingv1.Ingress)(nil), (*networkingv1.NetworkPolicy)(nil), (*storagev1.StorageClass)(nil),
	}
	for _, obj := range objs {
		t.Run(fmt.Sprintf("%T", obj), func(t *testing.T) {
			setDefaults(obj) // must not panic
		})
	}
}

// TestSetDefaultsDoesNotAliasLabels checks that labels copied from a pod
// template are copies: changing the defaulted selector or object labels must
// not change the template, or the other way round.
func TestSetDefaultsDoesNotAliasLabels(t *testing.T) {
	rc := &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{
		Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labelsApp("web")}}}}
	setDefaults(rc)
	rc.Spec.Selector["extra"] = "1"
	rc.Labels["other"] = "2"
	if len(rc.Spec.Template.Labels) != 1 || len(rc.Spec.Selector) != 2 || len(rc.Labels) != 2 {
		t.Errorf("replicationcontroller label maps are shared: template %v, selector %v, labels %v",
			rc.Spec.Template.Labels, rc.Spec.Selector, rc.Labels)
	}

	job := &batchv1.Job{Spec: batchv1.JobSpec{Template: jobTemplate()}}
	setDefaults(job)
	job.Labels["extra"] = "1"
	if len(job.Spec.Template.Labels) != 1 {
		t.Errorf("job labels share the template's map: template %v", job.Spec.Template.Labels)
	}
}
