package manifests

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func validPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: metav1.NamespaceDefault, Labels: map[string]string{"app": "web"}},
		Spec:       validPodSpec(),
	}
}

func ctr0(p *corev1.Pod) *corev1.Container { return &p.Spec.Containers[0] }

func TestValidatePodContainers(t *testing.T) {
	runErrCases(t, validPod, []errCase[*corev1.Pod]{
		{name: "valid"},
		{name: "valid sidecar init container", mutate: func(p *corev1.Pod) {
			sidecar := validContainer("proxy")
			sidecar.Ports = nil
			sidecar.RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways)
			p.Spec.InitContainers = []corev1.Container{sidecar}
		}},
		{name: "containers required", mutate: func(p *corev1.Pod) { p.Spec.Containers = nil },
			want: []string{"spec.containers: Required value"}},
		{name: "container name required", mutate: func(p *corev1.Pod) { ctr0(p).Name = "" },
			want: []string{"spec.containers[0].name: Required value"}},
		{name: "container name not a label", mutate: func(p *corev1.Pod) { ctr0(p).Name = "web_server" },
			want: []string{`spec.containers[0].name: Invalid value: "web_server": ` + dns1123LabelMsg}},
		{name: "duplicate container names", mutate: func(p *corev1.Pod) {
			c := validContainer("web")
			c.Ports = nil
			p.Spec.Containers = append(p.Spec.Containers, c)
		}, want: []string{`spec.containers[1].name: Duplicate value: "web"`}},
		{name: "init container name clashes with container", mutate: func(p *corev1.Pod) {
			c := validContainer("web")
			c.Ports, c.ReadinessProbe, c.LivenessProbe = nil, nil, nil
			p.Spec.InitContainers = []corev1.Container{c}
		}, want: []string{`spec.initContainers[0].name: Duplicate value: "web"`}},
		{name: "image required", mutate: func(p *corev1.Pod) { ctr0(p).Image = "" },
			want: []string{"spec.containers[0].image: Required value"}},
		{name: "image with whitespace", mutate: func(p *corev1.Pod) { ctr0(p).Image = " nginx" },
			want: []string{`spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace`}},
		{name: "imagePullPolicy unknown", mutate: func(p *corev1.Pod) { ctr0(p).ImagePullPolicy = "Sometimes" },
			want: []string{`spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"`}},
		{name: "terminationMessagePolicy unknown", mutate: func(p *corev1.Pod) { ctr0(p).TerminationMessagePolicy = "Stdout" },
			want: []string{`spec.containers[0].terminationMessagePolicy: Unsupported value: "Stdout": supported values: "File", "FallbackToLogsOnError"`}},
		{name: "restartPolicy on regular container", mutate: func(p *corev1.Pod) { ctr0(p).RestartPolicy = ptr(corev1.ContainerRestartPolicyAlways) },
			want: []string{"spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"}},
		{name: "init container restartPolicy OnFailure", mutate: func(p *corev1.Pod) {
			c := validContainer("setup")
			c.Ports, c.ReadinessProbe, c.LivenessProbe = nil, nil, nil
			c.RestartPolicy = ptr[corev1.ContainerRestartPolicy]("OnFailure")
			p.Spec.InitContainers = []corev1.Container{c}
		}, want: []string{`spec.initContainers[0].restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`}},
		{name: "init container probe without restartPolicy", mutate: func(p *corev1.Pod) {
			c := validContainer("setup")
			c.Ports, c.LivenessProbe = nil, nil
			p.Spec.InitContainers = []corev1.Container{c}
		}, want: []string{"spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"}},
		{name: "ephemeral containers on create", mutate: func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
		}, want: []string{"spec.ephemeralContainers: Forbidden: cannot be set on create"}},
	})
}

func TestValidatePodPorts(t *testing.T) {
	runErrCases(t, validPod, []errCase[*corev1.Pod]{
		{name: "containerPort required", mutate: func(p *corev1.Pod) { ctr0(p).Ports[0].ContainerPort = 0 },
			want: []string{"spec.containers[0].ports[0].containerPort: Required value"}},
		{name: "containerPort out of range", mutate: func(p *corev1.Pod) { ctr0(p).Ports[0].ContainerPort = 65536 },
			want: []string{"spec.containers[0].ports[0].containerPort: Invalid value: 65536: " + portRangeMsg}},
		{name: "hostPort out of range", mutate: func(p *corev1.Pod) { ctr0(p).Ports[0].HostPort = -1 },
			want: []string{"spec.containers[0].ports[0].hostPort: Invalid value: -1: " + portRangeMsg}},
		{name: "port name too long and uppercase", mutate: func(p *corev1.Pod) { ctr0(p).Ports[0].Name = "HTTP-ADMIN-PORT-1" },
			want: []string{
				`spec.containers[0].ports[0].name: Invalid value: "HTTP-ADMIN-PORT-1": must be no more than 15 characters`,
				`spec.containers[0].ports[0].name: Invalid value: "HTTP-ADMIN-PORT-1": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`,
				`spec.containers[0].ports[0].name: Invalid value: "HTTP-ADMIN-PORT-1": must contain at least one letter (a-z)`,
			}},
		{name: "duplicate port name", mutate: func(p *corev1.Pod) {
			ctr0(p).Ports = append(ctr0(p).Ports, corev1.ContainerPort{Name: "http", ContainerPort: 8081, Protocol: corev1.ProtocolTCP})
		}, want: []string{`spec.containers[0].ports[1].name: Duplicate value: "http"`}},
		{name: "protocol unknown", mutate: func(p *corev1.Pod) { ctr0(p).Ports[0].Protocol = "ICMP" },
			want: []string{`spec.containers[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"`}},
		{name: "protocol required", mutate: func(p *corev1.Pod) { ctr0(p).Ports[0].Protocol = "" },
			want: []string{"spec.containers[0].ports[0].protocol: Required value"}},
		{name: "hostNetwork hostPort must match", mutate: func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			ctr0(p).Ports[0].HostPort = 80
		}, want: []string{"spec.containers[0].ports[0].hostPort: Invalid value: 80: must match `containerPort` when `hostNetwork` is true"}},
		{name: "hostNetwork pod hostPort unset", mutate: func(p *corev1.Pod) { p.Spec.HostNetwork = true },
			want: []string{"spec.containers[0].ports[0].hostPort: Invalid value: 0: must match `containerPort` when `hostNetwork` is true"}},
		{name: "duplicate host ports", mutate: func(p *corev1.Pod) {
			ctr0(p).Ports[0].HostPort = 8080
			c := validContainer("admin")
			c.Ports = []corev1.ContainerPort{{ContainerPort: 9000, HostPort: 8080, Protocol: corev1.ProtocolTCP}}
			p.Spec.Containers = append(p.Spec.Containers, c)
		}, want: []string{`spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"`}},
	})
}

func TestValidatePodEnv(t *testing.T) {
	runErrCases(t, validPod, []errCase[*corev1.Pod]{
		{name: "relaxed env name is valid", mutate: func(p *corev1.Pod) { ctr0(p).Env[0].Name = "1st.setting-x" }},
		{name: "env name required", mutate: func(p *corev1.Pod) { ctr0(p).Env[0].Name = "" },
			want: []string{"spec.containers[0].env[0].name: Required value"}},
		{name: "env name with =", mutate: func(p *corev1.Pod) { ctr0(p).Env[0].Name = "A=B" },
			want: []string{`spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`}},
		{name: "valueFrom without source", mutate: func(p *corev1.Pod) { ctr0(p).Env[1].ValueFrom = &corev1.EnvVarSource{} },
			want: []string{"spec.containers[0].env[1].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"}},
		{name: "valueFrom with two sources", mutate: func(p *corev1.Pod) {
			ctr0(p).Env[1].ValueFrom.ConfigMapKeyRef = &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "k"}
		}, want: []string{"spec.containers[0].env[1].valueFrom: Invalid value: \"\": may not have more than one field specified at a time"}},
		{name: "value and valueFrom", mutate: func(p *corev1.Pod) { ctr0(p).Env[1].Value = "web-0" },
			want: []string{"spec.containers[0].env[1].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"}},
		{name: "fieldRef unsupported", mutate: func(p *corev1.Pod) { ctr0(p).Env[1].ValueFrom.FieldRef.FieldPath = "metadata.labels" },
			want: []string{`spec.containers[0].env[1].valueFrom.fieldRef.fieldPath: Unsupported value: "metadata.labels": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"`}},
		{name: "fieldRef unknown", mutate: func(p *corev1.Pod) { ctr0(p).Env[1].ValueFrom.FieldRef.FieldPath = "spec.hostname" },
			want: []string{`spec.containers[0].env[1].valueFrom.fieldRef.fieldPath: Invalid value: "spec.hostname": error converting fieldPath: field label not supported: spec.hostname`}},
		{name: "fieldRef label subscript valid", mutate: func(p *corev1.Pod) {
			ctr0(p).Env[1].ValueFrom.FieldRef.FieldPath = "metadata.labels['app']"
		}},
		{name: "secretKeyRef key required", mutate: func(p *corev1.Pod) { ctr0(p).Env[2].ValueFrom.SecretKeyRef.Key = "" },
			want: []string{"spec.containers[0].env[2].valueFrom.secretKeyRef.key: Required value"}},
		{name: "resourceFieldRef unsupported", mutate: func(p *corev1.Pod) {
			ctr0(p).Env[1].ValueFrom = &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.gpu"}}
		}, want: []string{`spec.containers[0].env[1].valueFrom.resourceFieldRef.resource: Unsupported value: "limits.gpu": supported values: "limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"`}},
		{name: "envFrom without source", mutate: func(p *corev1.Pod) { ctr0(p).EnvFrom = []corev1.EnvFromSource{{Prefix: "CFG_"}} },
			want: []string{"spec.containers[0].envFrom[0]: Invalid value: \"\": must specify one of: `configMapRef` or `secretRef`"}},
		{name: "envFrom name required", mutate: func(p *corev1.Pod) {
			ctr0(p).EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{}}}
		}, want: []string{"spec.containers[0].envFrom[0].configMapRef.name: Required value"}},
	})
}

func TestValidatePodResources(t *testing.T) {
	runErrCases(t, validPod, []errCase[*corev1.Pod]{
		{name: "valid extended resource", mutate: func(p *corev1.Pod) {
			ctr0(p).Resources.Limits["nvidia.com/gpu"] = qty("1")
			ctr0(p).Resources.Requests["nvidia.com/gpu"] = qty("1")
		}},
		{name: "negative request", mutate: func(p *corev1.Pod) { ctr0(p).Resources.Requests[corev1.ResourceCPU] = qty("-100m") },
			want: []string{`spec.containers[0].resources.requests[cpu]: Invalid value: "-100m": must be greater than or equal to 0`}},
		{name: "request above limit", mutate: func(p *corev1.Pod) { ctr0(p).Resources.Requests[corev1.ResourceMemory] = qty("256Mi") },
			want: []string{`spec.containers[0].resources.requests: Invalid value: "256Mi": must be less than or equal to memory limit of 128Mi`}},
		{name: "unknown resource", mutate: func(p *corev1.Pod) { ctr0(p).Resources.Limits["gpu"] = qty("1") },
			want: []string{
				`spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified`,
				`spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers`,
			}},
		{name: "quota resource on container", mutate: func(p *corev1.Pod) { ctr0(p).Resources.Limits["pods"] = qty("1") },
			want: []string{`spec.containers[0].resources.limits[pods]: Invalid value: "pods": must be a standard resource for containers`}},
		{name: "extended resource needs limit", mutate: func(p *corev1.Pod) { ctr0(p).Resources.Requests["example.com/foo"] = qty("1") },
			want: []string{"spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources"}},
		{name: "extended resource request differs", mutate: func(p *corev1.Pod) {
			ctr0(p).Resources.Limits["example.com/foo"] = qty("2")
			ctr0(p).Resources.Requests["example.com/foo"] = qty("1")
		}, want: []string{`spec.containers[0].resources.requests: Invalid value: "1": must be equal to example.com/foo limit of 2`}},
		{name: "extended resource fractional", mutate: func(p *corev1.Pod) { ctr0(p).Resources.Limits["example.com/foo"] = qty("500m") },
			want: []string{`spec.containers[0].resources.limits[example.com/foo]: Invalid value: "500m": must be an integer`}},
	})
}

func TestValidatePodVolumes(t *testing.T) {
	runErrCases(t, validPod, []errCase[*corev1.Pod]{
		{name: "valid sources", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes,
				corev1.Volume{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr(qty("1Gi"))}}},
				corev1.Volume{Name: "certs", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "tls",
					Items: []corev1.KeyToPath{{Key: "tls.crt", Path: "certs/tls.crt", Mode: ptr[int32](0400)}}}}},
				corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
				corev1.Volume{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}}}}}},
				corev1.Volume{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
					{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr[int64](3600)}}}}}},
				corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log", Type: ptr(corev1.HostPathDirectory)}}},
			)
		}},
		{name: "volume name required", mutate: func(p *corev1.Pod) { p.Spec.Volumes[0].Name = ""; ctr0(p).VolumeMounts = nil },
			want: []string{"spec.volumes[0].name: Required value"}},
		{name: "volume name not a label", mutate: func(p *corev1.Pod) { p.Spec.Volumes[0].Name = "Config"; ctr0(p).VolumeMounts[0].Name = "Config" },
			want: []string{
				`spec.volumes[0].name: Invalid value: "Config": ` + dns1123LabelMsg,
				`spec.containers[0].volumeMounts[0].name: Not found: "Config"`,
			}},
		{name: "duplicate volume", mutate: func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, p.Spec.Volumes[0]) },
			want: []string{`spec.volumes[1].name: Duplicate value: "config"`}},
		{name: "no source", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{}
			ctr0(p).VolumeMounts = nil
		},
			want: []string{"spec.volumes[0]: Required value: must specify a volume type"}},
		{name: "two sources", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes[0].EmptyDir = &corev1.EmptyDirVolumeSource{}
			ctr0(p).VolumeMounts = nil
		},
			want: []string{"spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type"}},
		{name: "configMap name required", mutate: func(p *corev1.Pod) { p.Spec.Volumes[0].ConfigMap.Name = ""; ctr0(p).VolumeMounts = nil },
			want: []string{"spec.volumes[0].configMap.name: Required value"}},
		{name: "defaultMode too large", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes[0].ConfigMap.DefaultMode = ptr[int32](01000)
			ctr0(p).VolumeMounts = nil
		},
			want: []string{"spec.volumes[0].configMap.defaultMode: Invalid value: 512: must be a number between 0 and 0777 (octal), both inclusive"}},
		{name: "item path escapes", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes[0].ConfigMap.Items = []corev1.KeyToPath{{Key: "app.yaml", Path: "../app.yaml"}}
			ctr0(p).VolumeMounts = nil
		}, want: []string{`spec.volumes[0].configMap.items[0].path: Invalid value: "../app.yaml": must not contain '..'`}},
		{name: "item path absolute", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes[0].ConfigMap.Items = []corev1.KeyToPath{{Key: "app.yaml", Path: "/app.yaml"}}
			ctr0(p).VolumeMounts = nil
		}, want: []string{`spec.volumes[0].configMap.items[0].path: Invalid value: "/app.yaml": must be a relative path`}},
		{name: "hostPath type unknown", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data", Type: ptr[corev1.HostPathType]("Dir")}}
		}, want: []string{`spec.volumes[0].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"`}},
		{name: "secret name required", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}
		}, want: []string{"spec.volumes[0].secret.secretName: Required value"}},
		{name: "pvc claimName required", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{}}
		}, want: []string{"spec.volumes[0].persistentVolumeClaim.claimName: Required value"}},
		{name: "token expiration too short", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr[int64](60)}}}}}
		}, want: []string{"spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"}},
		{name: "emptyDir negative size", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr(qty("-1Gi"))}}
		}, want: []string{"spec.volumes[0].emptyDir.sizeLimit: Forbidden: SizeLimit field must be a valid resource quantity"}},
		{name: "ephemeral claim needs storage", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}}}}}
		}, want: []string{"spec.volumes[0].ephemeral.volumeClaimTemplate.spec.resources.requests[storage]: Required value"}},
	})
}

func TestValidatePodVolumeMounts(t *testing.T) {
	runErrCases(t, validPod, []errCase[*corev1.Pod]{
		{name: "valid subPath", mutate: func(p *corev1.Pod) { ctr0(p).VolumeMounts[0].SubPath = "web/app.yaml" }},
		{name: "mount of unknown volume", mutate: func(p *corev1.Pod) { ctr0(p).VolumeMounts[0].Name = "secrets" },
			want: []string{`spec.containers[0].volumeMounts[0].name: Not found: "secrets"`}},
		{name: "mountPath required", mutate: func(p *corev1.Pod) { ctr0(p).VolumeMounts[0].MountPath = "" },
			want: []string{"spec.containers[0].volumeMounts[0].mountPath: Required value"}},
		{name: "duplicate mountPath", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = append(ctr0(p).VolumeMounts, corev1.VolumeMount{Name: "config", MountPath: "/etc/web"})
		}, want: []string{`spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/etc/web": must be unique`}},
		{name: "subPath absolute", mutate: func(p *corev1.Pod) { ctr0(p).VolumeMounts[0].SubPath = "/app.yaml" },
			want: []string{`spec.containers[0].volumeMounts[0].subPath: Invalid value: "/app.yaml": must be a relative path`}},
		{name: "subPath with ..", mutate: func(p *corev1.Pod) { ctr0(p).VolumeMounts[0].SubPath = "a/../../etc" },
			want: []string{`spec.containers[0].volumeMounts[0].subPath: Invalid value: "a/../../etc": must not contain '..'`}},
		{name: "subPath and subPathExpr", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts[0].SubPath = "a"
			ctr0(p).VolumeMounts[0].SubPathExpr = "$(POD_NAME)"
		}, want: []string{`spec.containers[0].volumeMounts[0].subPathExpr: Invalid value: "$(POD_NAME)": subPathExpr and subPath are mutually exclusive`}},
		{name: "bidirectional propagation unprivileged", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts[0].MountPropagation = ptr(corev1.MountPropagationBidirectional)
		}, want: []string{"spec.containers[0].volumeMounts[0].mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers"}},
		{name: "recursiveReadOnly on writable mount", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts[0].ReadOnly = false
			ctr0(p).VolumeMounts[0].RecursiveReadOnly = ptr(corev1.RecursiveReadOnlyEnabled)
		}, want: []string{"spec.containers[0].volumeMounts[0].recursiveReadOnly: Forbidden: may only be specified when readOnly is true"}},
	})
}

func TestValidatePodProbesAndLifecycle(t *testing.T) {
	runErrCases(t, validPod, []errCase[*corev1.Pod]{
		{name: "valid lifecycle", mutate: func(p *corev1.Pod) {
			ctr0(p).Lifecycle = &corev1.Lifecycle{
				PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/warm"}}},
				PreStop:   &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}},
			}
		}},
		{name: "valid grpc startup probe", mutate: func(p *corev1.Pod) {
			ctr0(p).StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}},
				TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 30}
		}},
		{name: "probe without handler", mutate: func(p *corev1.Pod) { ctr0(p).LivenessProbe.ProbeHandler = corev1.ProbeHandler{} },
			want: []string{"spec.containers[0].livenessProbe: Required value: must specify a handler type"}},
		{name: "probe with two handlers", mutate: func(p *corev1.Pod) {
			ctr0(p).LivenessProbe.Exec = &corev1.ExecAction{Command: []string{"true"}}
		}, want: []string{"spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"}},
		{name: "liveness successThreshold", mutate: func(p *corev1.Pod) { ctr0(p).LivenessProbe.SuccessThreshold = 2 },
			want: []string{"spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"}},
		{name: "startup successThreshold", mutate: func(p *corev1.Pod) {
			ctr0(p).StartupProbe = ctr0(p).LivenessProbe.DeepCopy()
			ctr0(p).StartupProbe.SuccessThreshold = 3
		}, want: []string{"spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1"}},
		{name: "negative period", mutate: func(p *corev1.Pod) { ctr0(p).ReadinessProbe.PeriodSeconds = -10 },
			want: []string{"spec.containers[0].readinessProbe.periodSeconds: Invalid value: -10: must be greater than or equal to 0"}},
		{name: "readiness terminationGracePeriodSeconds", mutate: func(p *corev1.Pod) {
			ctr0(p).ReadinessProbe.TerminationGracePeriodSeconds = ptr[int64](10)
		}, want: []string{"spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 10: must not be set for readinessProbes"}},
		{name: "probe port name invalid", mutate: func(p *corev1.Pod) { ctr0(p).ReadinessProbe.HTTPGet.Port = intstr.FromString("Http") },
			want: []string{`spec.containers[0].readinessProbe.httpGet.port: Invalid value: "Http": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)`}},
		{name: "probe port number invalid", mutate: func(p *corev1.Pod) { ctr0(p).LivenessProbe.TCPSocket.Port = intstr.FromInt32(0) },
			want: []string{"spec.containers[0].livenessProbe.tcpSocket.port: Invalid value: 0: " + portRangeMsg}},
		{name: "httpGet scheme unknown", mutate: func(p *corev1.Pod) { ctr0(p).ReadinessProbe.HTTPGet.Scheme = "FTP" },
			want: []string{`spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"`}},
		{name: "httpGet path required", mutate: func(p *corev1.Pod) { ctr0(p).ReadinessProbe.HTTPGet.Path = "" },
			want: []string{"spec.containers[0].readinessProbe.httpGet.path: Required value"}},
		{name: "exec command required", mutate: func(p *corev1.Pod) {
			ctr0(p).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{}}}
		}, want: []string{"spec.containers[0].lifecycle.preStop.exec.command: Required value"}},
		{name: "sleep beyond grace period", mutate: func(p *corev1.Pod) {
			ctr0(p).Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 60}}}
		}, want: []string{"spec.containers[0].lifecycle.preStop.sleep: Invalid value: 60: must be non-negative and less than terminationGracePeriodSeconds (30)"}},
	})
}

func TestValidatePodSpecFields(t *testing.T) {
	runErrCases(t, validPod, []errCase[*corev1.Pod]{
		{name: "restartPolicy unknown", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			want: []string{`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`}},
		{name: "restartPolicy required", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = "" },
			want: []string{"spec.restartPolicy: Required value"}},
		{name: "dnsPolicy unknown", mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = "Host" },
			want: []string{`spec.dnsPolicy: Unsupported value: "Host": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`}},
		{name: "dnsPolicy None needs dnsConfig", mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone },
			want: []string{"spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"}},
		{name: "terminationGracePeriodSeconds required", mutate: func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = nil },
			want: []string{"spec.terminationGracePeriodSeconds: Required value"}},
		{name: "terminationGracePeriodSeconds negative", mutate: func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr[int64](-1) },
			want: []string{"spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"}},
		{name: "activeDeadlineSeconds zero", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr[int64](0) },
			want: []string{"spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"}},
		{name: "nodeSelector invalid", mutate: func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk type": "ssd"} },
			want: []string{`spec.nodeSelector: Invalid value: "disk type": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		{name: "serviceAccountName invalid", mutate: func(p *corev1.Pod) { p.Spec.ServiceAccountName = "Deployer" },
			want: []string{`spec.serviceAccountName: Invalid value: "Deployer": ` + dns1123SubdomainMsg}},
		{name: "hostname invalid", mutate: func(p *corev1.Pod) { p.Spec.Hostname = "web.0" },
			want: []string{`spec.hostname: Invalid value: "web.0": must not contain dots`}},
		{name: "pod runAsUser negative", mutate: func(p *corev1.Pod) { p.Spec.SecurityContext.RunAsUser = ptr[int64](-1) },
			want: []string{"spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive"}},
		{name: "container runAsGroup negative", mutate: func(p *corev1.Pod) {
			ctr0(p).SecurityContext = &corev1.SecurityContext{RunAsGroup: ptr[int64](-5)}
		}, want: []string{"spec.containers[0].securityContext.runAsGroup: Invalid value: -5: must be between 0 and 2147483647, inclusive"}},
		{name: "privileged without escalation", mutate: func(p *corev1.Pod) {
			ctr0(p).SecurityContext = &corev1.SecurityContext{Privileged: ptr(true), AllowPrivilegeEscalation: ptr(false)}
		}, want: []string{"spec.containers[0].securityContext: Invalid value: {\"privileged\":true,\"allowPrivilegeEscalation\":false}: cannot set `allowPrivilegeEscalation` to false and `privileged` to true"}},
		{name: "seccomp localhost without profile", mutate: func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost}
		}, want: []string{"spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost"}},
		{name: "procMount Unmasked with host users", mutate: func(p *corev1.Pod) {
			ctr0(p).SecurityContext = &corev1.SecurityContext{ProcMount: ptr(corev1.UnmaskedProcMount)}
		}, want: []string{"spec.containers[0].securityContext.procMount: Invalid value: \"Unmasked\": `hostUsers` must be false to use `Unmasked`"}},
		{name: "sysctl invalid", mutate: func(p *corev1.Pod) {
			p.Spec.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "net..core", Value: "1"}}
		}, want: []string{`spec.securityContext.sysctls[0].name: Invalid value: "net..core": must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`}},
		{name: "net sysctl with host network", mutate: func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			ctr0(p).Ports[0].HostPort = 8080
			p.Spec.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}}
		}, want: []string{`spec.securityContext.sysctls[0].name: Invalid value: "net.core.somaxconn": may not be specified when 'hostNetwork' is true`}},
		{name: "shareProcessNamespace with hostPID", mutate: func(p *corev1.Pod) {
			p.Spec.HostPID = true
			p.Spec.ShareProcessNamespace = ptr(true)
		}, want: []string{"spec.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled"}},
		{name: "hostUsers false with hostNetwork", mutate: func(p *corev1.Pod) {
			p.Spec.HostUsers = ptr(false)
			p.Spec.HostNetwork = true
			ctr0(p).Ports[0].HostPort = 8080
		}, want: []string{"spec.hostNetwork: Forbidden: when `pod.Spec.HostUsers` is false"}},
		{name: "toleration without key needs Exists", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpEqual, Value: "x"}}
		}, want: []string{"spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\""}},
		{name: "toleration seconds needs NoExecute", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists,
				Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptr[int64](300)}}
		}, want: []string{"spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"}},
		{name: "toleration effect unknown", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists, Effect: "NoRun"}}
		}, want: []string{`spec.tolerations[0].effect: Unsupported value: "NoRun": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`}},
		{name: "node affinity needs terms", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{}}}
		}, want: []string{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term"}},
		{name: "pod anti-affinity needs topologyKey", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
				Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}}}}
		}, want: []string{
			"spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey: Required value: can not be empty",
			`spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey: Invalid value: "": name part must be non-empty`,
			`spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
		}},
		{name: "topology spread maxSkew", mutate: func(p *corev1.Pod) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 0, TopologyKey: "topology.kubernetes.io/zone",
				WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}
		}, want: []string{"spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero"}},
		{name: "priorityClassName invalid", mutate: func(p *corev1.Pod) { p.Spec.PriorityClassName = "High" },
			want: []string{`spec.priorityClassName: Invalid value: "High": ` + dns1123SubdomainMsg}},
		{name: "deletion cost not an integer", mutate: func(p *corev1.Pod) {
			p.Annotations = map[string]string{"controller.kubernetes.io/pod-deletion-cost": "+10"}
		}, want: []string{`metadata.annotations[controller.kubernetes.io/pod-deletion-cost]: Invalid value: "+10": must be a 32bit integer`}},
		{name: "os unknown", mutate: func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: "plan9"} },
			want: []string{`spec.os.name: Unsupported value: "plan9": supported values: "linux", "windows"`}},
	})
}

// TestValidatePodTemplateOnlyRules checks the rules that differ between Pods
// and pod templates.
func TestValidatePodTemplateOnlyRules(t *testing.T) {
	d := validDeployment()
	d.Spec.Template.Spec.HostNetwork = true // hostPort 0 is allowed in templates
	d.Spec.Template.Spec.Containers[0].Image = " web:1"
	checkErrors(t, d, nil)

	d = validDeployment()
	d.Spec.Template.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
	checkErrors(t, d, []string{"spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template"})
}

func TestValidatePodSchedulingAndMore(t *testing.T) {
	zone := "topology.kubernetes.io/zone"
	webSel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	runErrCases(t, validPod, []errCase[*corev1.Pod]{
		{name: "valid affinity and spread", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{
				NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}}},
					MatchFields:      []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"node-9"}}},
				}}}},
				PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
					LabelSelector: webSel, TopologyKey: zone, MatchLabelKeys: []string{"pod-template-hash"}}}},
			}
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: zone,
				WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: webSel, MinDomains: ptr[int32](2)}}
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/quota"}}
		}},
		{name: "preemptionPolicy unknown", mutate: func(p *corev1.Pod) { p.Spec.PreemptionPolicy = ptr[corev1.PreemptionPolicy]("Sometimes") },
			want: []string{`spec.preemptionPolicy: Unsupported value: "Sometimes": supported values: "PreemptLowerPriority", "Never"`}},
		{name: "node field selector key", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.uid", Operator: corev1.NodeSelectorOpIn, Values: []string{"x"}}}}}}}}
		}, want: []string{`spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key: Invalid value: "metadata.uid": not a valid field selector key`}},
		{name: "node selector Gt needs one value", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "cpus", Operator: corev1.NodeSelectorOpGt, Values: []string{"4", "8"}}}}}}}}
		}, want: []string{"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified single value when `operator` is 'Lt' or 'Gt'"}},
		{name: "preferred weight out of range", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{Weight: 0}}}}
		}, want: []string{"spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100"}},
		{name: "match and mismatch label keys overlap", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: webSel, TopologyKey: zone, MatchLabelKeys: []string{"tenant"}, MismatchLabelKeys: []string{"tenant"}}}}}
		}, want: []string{`spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys[0]: Invalid value: "tenant": exists in both matchLabelKeys and mismatchLabelKeys`}},
		{name: "match label keys without selector", mutate: func(p *corev1.Pod) {
			p.Spec.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				TopologyKey: zone, MatchLabelKeys: []string{"tenant"}}}}}
		}, want: []string{"spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys: Forbidden: must not be specified when labelSelector is not set"}},
		{name: "spread constraints repeated", mutate: func(p *corev1.Pod) {
			c := corev1.TopologySpreadConstraint{MaxSkew: 1, TopologyKey: zone, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: webSel}
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{c, c}
		}, want: []string{`spec.topologySpreadConstraints[0]: Duplicate value: "{topology.kubernetes.io/zone, DoNotSchedule}"`}},
		{name: "minDomains needs DoNotSchedule", mutate: func(p *corev1.Pod) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: zone,
				WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: webSel, MinDomains: ptr[int32](2)}}
		}, want: []string{"spec.topologySpreadConstraints[0].minDomains: Invalid value: 2: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway"}},
		{name: "spread matchLabelKeys without selector", mutate: func(p *corev1.Pod) {
			p.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: zone,
				WhenUnsatisfiable: corev1.DoNotSchedule, MatchLabelKeys: []string{"pod-template-hash"}}}
		}, want: []string{"spec.topologySpreadConstraints[0].matchLabelKeys: Forbidden: must not be specified when labelSelector is not set"}},
		{name: "schedulingGates duplicate", mutate: func(p *corev1.Pod) {
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/quota"}, {Name: "example.com/quota"}}
		}, want: []string{`spec.schedulingGates[1].name: Duplicate value: "example.com/quota"`}},
		{name: "nodeName with schedulingGates", mutate: func(p *corev1.Pod) {
			p.Spec.NodeName = "node-1"
			p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/quota"}}
		}, want: []string{"spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared"}},
		{name: "readinessGate invalid", mutate: func(p *corev1.Pod) {
			p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "ready now"}}
		}, want: []string{`spec.readinessGates[0].conditionType: Invalid value: "ready now": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		{name: "hostAlias IP invalid", mutate: func(p *corev1.Pod) {
			p.Spec.HostAliases = []corev1.HostAlias{{IP: "10.0.0", Hostnames: []string{"db.local"}}}
		}, want: []string{`spec.hostAliases[0].ip: Invalid value: "10.0.0": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`}},
		{name: "dnsConfig None without nameservers", mutate: func(p *corev1.Pod) {
			p.Spec.DNSPolicy = corev1.DNSNone
			p.Spec.DNSConfig = &corev1.PodDNSConfig{Searches: []string{"svc.cluster.local"}}
		}, want: []string{"spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None"}},
		{name: "dnsConfig limits", mutate: func(p *corev1.Pod) {
			p.Spec.DNSConfig = &corev1.PodDNSConfig{
				Nameservers: []string{"1.1.1.1", "8.8.8.8", "9.9.9.9", "1.0.0.1"},
				Searches:    []string{"Corp.example.com"},
				Options:     []corev1.PodDNSConfigOption{{Name: ""}},
			}
		}, want: []string{
			`spec.dnsConfig.nameservers: Invalid value: ["1.1.1.1","8.8.8.8","9.9.9.9","1.0.0.1"]: must not have more than 3 nameservers`,
			`spec.dnsConfig.searches[0]: Invalid value: "Corp.example.com": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*')`,
			"spec.dnsConfig.options[0]: Required value: must not be empty",
		}},
		{name: "mirror pod annotation without nodeName", mutate: func(p *corev1.Pod) {
			p.Annotations = map[string]string{"kubernetes.io/config.mirror": "abc"}
		}, want: []string{`metadata.annotations[kubernetes.io/config.mirror]: Invalid value: "abc": must set spec.nodeName if mirror pod annotation is set`}},
	})
}

func TestValidatePodSecurityAndDevices(t *testing.T) {
	runErrCases(t, validPod, []errCase[*corev1.Pod]{
		{name: "valid security settings", mutate: func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{
				RunAsUser: ptr[int64](1000), RunAsGroup: ptr[int64](1000), FSGroup: ptr[int64](2000), SupplementalGroups: []int64{3000},
				SeccompProfile:  &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr("k8s-web")},
				Sysctls:         []corev1.Sysctl{{Name: "net.ipv4.ip_local_port_range", Value: "1024 65535"}, {Name: "kernel/shm_rmid_forced", Value: "1"}},
			}
			ctr0(p).SecurityContext = &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr(false), ReadOnlyRootFilesystem: ptr(true), RunAsNonRoot: ptr(true),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_BIND_SERVICE"}},
			}
		}},
		{name: "appArmor Localhost without profile", mutate: func(p *corev1.Pod) {
			p.Spec.SecurityContext.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost}
		}, want: []string{"spec.securityContext.appArmorProfile.localhostProfile: Required value: must be set when AppArmor type is Localhost"}},
		{name: "appArmor type unknown", mutate: func(p *corev1.Pod) {
			ctr0(p).SecurityContext = &corev1.SecurityContext{AppArmorProfile: &corev1.AppArmorProfile{Type: "Strict"}}
		}, want: []string{`spec.containers[0].securityContext.appArmorProfile.type: Unsupported value: "Strict": supported values: "Localhost", "RuntimeDefault", "Unconfined"`}},
		{name: "seccomp type unknown", mutate: func(p *corev1.Pod) {
			ctr0(p).SecurityContext = &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: "Audit"}}
		}, want: []string{`spec.containers[0].securityContext.seccompProfile.type: Unsupported value: "Audit": supported values: "Localhost", "RuntimeDefault", "Unconfined"`}},
		{name: "CAP_SYS_ADMIN without escalation", mutate: func(p *corev1.Pod) {
			ctr0(p).SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false),
				Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"CAP_SYS_ADMIN"}}}
		}, want: []string{"spec.containers[0].securityContext: Invalid value: {\"capabilities\":{\"add\":[\"CAP_SYS_ADMIN\"]},\"allowPrivilegeEscalation\":false}: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"}},
		{name: "fsGroupChangePolicy unknown", mutate: func(p *corev1.Pod) {
			p.Spec.SecurityContext.FSGroupChangePolicy = ptr[corev1.PodFSGroupChangePolicy]("Never")
		}, want: []string{`spec.securityContext.fsGroupChangePolicy: Unsupported value: "Never": supported values: "Always", "OnRootMismatch"`}},
		{name: "ipc sysctl with hostIPC", mutate: func(p *corev1.Pod) {
			p.Spec.HostIPC = true
			p.Spec.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "kernel.shmmax", Value: "1"}}
		}, want: []string{`spec.securityContext.sysctls[0].name: Invalid value: "kernel.shmmax": may not be specified when 'hostIPC' is true`}},
		{name: "duplicate sysctl", mutate: func(p *corev1.Pod) {
			p.Spec.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1"}, {Name: "net.core.somaxconn", Value: "2"}}
		}, want: []string{`spec.securityContext.sysctls[1].name: Duplicate value: "net.core.somaxconn"`}},
		{name: "volumeDevice on a configMap volume", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeDevices = []corev1.VolumeDevice{{Name: "config", DevicePath: "/dev/xvda"}}
		}, want: []string{
			`spec.containers[0].volumeDevices[0].name: Invalid value: "config": can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode`,
			`spec.containers[0].volumeDevices[0].name: Invalid value: "config": must not already exist in volumeMounts`,
			`spec.containers[0].volumeMounts[0].name: Invalid value: "config": must not already exist in volumeDevices`,
		}},
		{name: "resizePolicy unknown resource", mutate: func(p *corev1.Pod) {
			ctr0(p).ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: "gpu", RestartPolicy: corev1.NotRequired}}
		}, want: []string{`spec.containers[0].resizePolicy: Unsupported value: "gpu": supported values: "cpu", "memory"`}},
		{name: "resizePolicy restart with restartPolicy Never", mutate: func(p *corev1.Pod) {
			p.Spec.RestartPolicy = corev1.RestartPolicyNever
			ctr0(p).ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceMemory, RestartPolicy: corev1.RestartContainer}}
		}, want: []string{"spec.containers[0].resizePolicy: Invalid value: \"RestartContainer\": must be 'NotRequired' when `restartPolicy` is 'Never'"}},
		{name: "resourceFieldRef divisor", mutate: func(p *corev1.Pod) {
			ctr0(p).Env[1].ValueFrom = &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu", Divisor: qty("1Mi")}}
		}, want: []string{`spec.containers[0].env[1].valueFrom.resourceFieldRef.divisor: Invalid value: "limits.cpu": only divisor's values 1m and 1 are supported with the cpu resource`}},
		{name: "envFrom secret name invalid", mutate: func(p *corev1.Pod) {
			ctr0(p).EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "DB"}}}}
		}, want: []string{`spec.containers[0].envFrom[0].secretRef.name: Invalid value: "DB": ` + dns1123SubdomainMsg}},
	})
}

func TestValidatePodVolumeSourcesMore(t *testing.T) {
	runErrCases(t, validPod, []errCase[*corev1.Pod]{
		{name: "valid csi and image volumes", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes,
				corev1.Volume{Name: "secrets-store", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "secrets-store.csi.k8s.io"}}},
				corev1.Volume{Name: "models", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "registry.example.com/models:1", PullPolicy: corev1.PullIfNotPresent}}})
		}},
		{name: "csi driver required", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{}}
		}, want: []string{"spec.volumes[0].csi.driver: Required value", `spec.volumes[0].csi.driver: Invalid value: "": ` + dns1123SubdomainMsg}},
		{name: "image volume reference required in a Pod", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{Image: &corev1.ImageVolumeSource{PullPolicy: corev1.PullAlways}}
		}, want: []string{"spec.volumes[0].image.reference: Required value"}},
		{name: "subPath on image volume", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "r/m:1", PullPolicy: corev1.PullAlways}}
			ctr0(p).VolumeMounts[0].SubPath = "x"
		}, want: []string{`spec.containers[0].volumeMounts[0].subPath: Invalid value: "x": not allowed in image volume sources`}},
		{name: "projected source with two kinds", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{
				Secret:    &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "a"}},
				ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "b"}},
			}}}}
		}, want: []string{"spec.volumes[0].projected.sources[0]: Forbidden: may not specify more than 1 volume type per source"}},
		{name: "projected duplicate paths", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "a"}, Items: []corev1.KeyToPath{{Key: "k", Path: "conf"}}}},
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "b"}, Items: []corev1.KeyToPath{{Key: "k", Path: "conf"}}}},
			}}}
		}, want: []string{`spec.volumes[0].projected: Invalid value: "b": conflicting duplicate paths`}},
		{name: "downward API file without reference", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{Path: "labels"}}}}
		}, want: []string{"spec.volumes[0].downwardAPI.items[0]: Required value: one of fieldRef and resourceFieldRef is required"}},
		{name: "downward API resource needs container", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}}}}
		}, want: []string{"spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName: Required value"}},
		{name: "nfs server required", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Path: "/exports"}}
		}, want: []string{"spec.volumes[0].nfs.server: Required value"}},
		{name: "gitRepo repository required", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{GitRepo: &corev1.GitRepoVolumeSource{Directory: "../x"}}
		}, want: []string{"spec.volumes[0].gitRepo.repository: Required value", `spec.volumes[0].gitRepo.directory: Invalid value: "../x": must not contain '..'`}},
		{name: "mount of PVC created for ephemeral volume", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes,
				corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
					Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
						Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: qty("1Gi")}}}}}}},
				corev1.Volume{Name: "again", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "web-0-scratch"}}})
		}, want: []string{`spec.volumes[2].persistentVolumeClaim.claimName: Invalid value: "web-0-scratch": must not reference a PVC that gets created for an ephemeral volume`}},
		{name: "ephemeral claim template metadata", mutate: func(p *corev1.Pod) {
			ctr0(p).VolumeMounts = nil
			p.Spec.Volumes[0].VolumeSource = corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
				ObjectMeta: metav1.ObjectMeta{Name: "scratch"},
				Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: qty("1Gi")}}}}}}
		}, want: []string{"spec.volumes[0].ephemeral.volumeClaimTemplate.metadata.name: Forbidden: cannot be set"}},
	})
}
