package admission

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// podYAML makes a Pod manifest whose spec is body (indented by two).
func podYAML(body string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n" + body
}

const mainContainer = "  containers:\n  - name: main\n    image: ghcr.io/acme/app:1\n"

func TestCheckRules(t *testing.T) {
	tests := []struct {
		name  string
		rules Rules
		spec  string   // pod spec body
		want  []string // violations, as String()
	}{
		// forbidHostPath
		{"hostPath refused", Rules{ForbidHostPath: true},
			mainContainer + "  volumes:\n  - name: cache\n    emptyDir: {}\n  - name: data\n    hostPath: {path: /var/lib/data}\n",
			[]string{`policy p, rule forbidHostPath: spec.volumes[1].hostPath: volume "data" mounts the node's path "/var/lib/data", which policy p forbids: use an emptyDir or a PersistentVolumeClaim`}},
		{"emptyDir allowed", Rules{ForbidHostPath: true},
			mainContainer + "  volumes:\n  - name: cache\n    emptyDir: {}\n", nil},
		{"hostPath allowed without the rule", Rules{ForbidPrivileged: true},
			mainContainer + "  volumes:\n  - name: data\n    hostPath: {path: /data}\n", nil},

		// forbidPrivileged
		{"privileged refused", Rules{ForbidPrivileged: true},
			"  initContainers:\n  - name: setup\n    image: busybox\n    securityContext: {privileged: true}\n" + mainContainer,
			[]string{`policy p, rule forbidPrivileged: spec.initContainers[0].securityContext.privileged: init container "setup" is privileged, which policy p forbids: remove securityContext.privileged, and add only the capabilities it needs`}},
		{"privileged false allowed", Rules{ForbidPrivileged: true},
			mainContainer + "    securityContext: {privileged: false}\n", nil},

		// forbidHostNamespaces
		{"host namespaces refused", Rules{ForbidHostNamespaces: true},
			"  hostPID: true\n  hostIPC: true\n" + mainContainer,
			[]string{
				`policy p, rule forbidHostNamespaces: spec.hostPID: hostPID: true shares the node's process namespace with the pod, which policy p forbids: remove hostPID`,
				`policy p, rule forbidHostNamespaces: spec.hostIPC: hostIPC: true shares the node's IPC namespace with the pod, which policy p forbids: remove hostIPC`,
			}},
		{"host network refused", Rules{ForbidHostNamespaces: true},
			"  hostNetwork: true\n" + mainContainer,
			[]string{`policy p, rule forbidHostNamespaces: spec.hostNetwork: hostNetwork: true shares the node's network with the pod, which policy p forbids: remove hostNetwork`}},
		{"pod network allowed", Rules{ForbidHostNamespaces: true}, mainContainer, nil},

		// forbidAddedCapabilities
		{"added capability refused", Rules{ForbidAddedCapabilities: true, AllowedCapabilities: []string{"NET_BIND_SERVICE"}},
			mainContainer + "    securityContext:\n      capabilities:\n        add: [CAP_NET_BIND_SERVICE, NET_ADMIN]\n        drop: [ALL]\n",
			[]string{`policy p, rule forbidAddedCapabilities: spec.containers[0].securityContext.capabilities.add[1]: container "main" adds capability NET_ADMIN, which policy p forbids (only NET_BIND_SERVICE may be added): remove it`}},
		{"no capability may be added", Rules{ForbidAddedCapabilities: true},
			mainContainer + "    securityContext:\n      capabilities:\n        add: [SYS_TIME]\n",
			[]string{`policy p, rule forbidAddedCapabilities: spec.containers[0].securityContext.capabilities.add[0]: container "main" adds capability SYS_TIME, which policy p forbids (none may be added): remove it`}},
		{"allowed capability and drops pass", Rules{ForbidAddedCapabilities: true, AllowedCapabilities: []string{"CAP_NET_BIND_SERVICE"}},
			mainContainer + "    securityContext:\n      capabilities:\n        add: [NET_BIND_SERVICE]\n        drop: [ALL]\n", nil},

		// forbidHostPorts
		{"host port refused", Rules{ForbidHostPorts: true},
			mainContainer + "    ports:\n    - containerPort: 8080\n    - containerPort: 80\n      hostPort: 8081\n",
			[]string{`policy p, rule forbidHostPorts: spec.containers[0].ports[1].hostPort: container "main" binds port 8081 on the node (hostPort), which policy p forbids: remove hostPort and reach the pod through a Service`}},
		{"container port allowed", Rules{ForbidHostPorts: true},
			mainContainer + "    ports:\n    - containerPort: 8080\n", nil},

		// allowedRegistries
		{"registry refused", Rules{AllowedRegistries: []string{"ghcr.io/acme", "docker.io/library"}},
			"  containers:\n  - name: a\n    image: nginx:1.27\n  - name: b\n    image: quay.io/evil/miner@sha256:0000000000000000000000000000000000000000000000000000000000000000\n  - name: c\n    image: ghcr.io/acmecorp/app\n  - name: d\n    image: bitnami/redis\n",
			[]string{
				`policy p, rule allowedRegistries: spec.containers[1].image: container "b" runs image "quay.io/evil/miner@sha256:0000000000000000000000000000000000000000000000000000000000000000" (quay.io/evil/miner), which is not from a registry policy p allows (ghcr.io/acme, docker.io/library): use an image from one of them, or add its registry to the policy`,
				`policy p, rule allowedRegistries: spec.containers[2].image: container "c" runs image "ghcr.io/acmecorp/app" (ghcr.io/acmecorp/app), which is not from a registry policy p allows (ghcr.io/acme, docker.io/library): use an image from one of them, or add its registry to the policy`,
				`policy p, rule allowedRegistries: spec.containers[3].image: container "d" runs image "bitnami/redis" (docker.io/bitnami/redis), which is not from a registry policy p allows (ghcr.io/acme, docker.io/library): use an image from one of them, or add its registry to the policy`,
			}},
		{"registries allowed", Rules{AllowedRegistries: []string{"ghcr.io/acme/", "docker.io", "localhost:5000"}},
			"  containers:\n  - name: a\n    image: nginx\n  - name: b\n    image: GHCR.io/acme/app:2\n  - name: c\n    image: localhost:5000/x/y:3\n  - name: d\n    image: index.docker.io/bitnami/redis\n", nil},

		// requireLimits
		{"limits required", Rules{RequireLimits: []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}},
			"  containers:\n  - name: main\n    image: busybox\n    resources:\n      limits: {cpu: 500m}\n  - name: side\n    image: busybox\n    resources:\n      limits: {cpu: 100m, memory: 64Mi}\n",
			[]string{`policy p, rule requireLimits: spec.containers[0].resources.limits[memory]: container "main" has no memory limit, which policy p requires: set resources.limits.memory (or a default in a LimitRange of the namespace)`}},
		{"requests are not limits", Rules{RequireLimits: []corev1.ResourceName{corev1.ResourceCPU}},
			"  containers:\n  - name: main\n    image: busybox\n    resources:\n      requests: {cpu: 500m}\n",
			[]string{`policy p, rule requireLimits: spec.containers[0].resources.limits[cpu]: container "main" has no cpu limit, which policy p requires: set resources.limits.cpu (or a default in a LimitRange of the namespace)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := loadOne(t, podYAML(tt.spec))
			got := violationStrings(Check(Policy{Name: "p", Rules: tt.rules}, obj))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			for _, v := range Check(Policy{Name: "p", Rules: tt.rules}, obj) {
				if v.Policy != "p" || v.Rule == "" || v.Field == "" {
					t.Errorf("incomplete violation %+v", v)
				}
			}
		})
	}
}

// TestCheckWorkloads checks that every pod-making kind is checked at the
// path of its pod template, and that other kinds pass.
func TestCheckWorkloads(t *testing.T) {
	tmpl := func(indent string) string {
		lines := []string{
			"template:",
			"  metadata:",
			"    labels: {app: a}",
			"  spec:",
			"    restartPolicy: OnFailure",
			"    containers:",
			"    - name: main",
			"      image: busybox",
			"      securityContext: {privileged: true}",
		}
		return indent + strings.Join(lines, "\n"+indent) + "\n"
	}
	always := strings.Replace(tmpl("  "), "OnFailure", "Always", 1)
	tests := []struct {
		doc  string
		want string // field of the one violation, "" for none
	}{
		{podYAML("  containers:\n  - name: main\n    image: busybox\n    securityContext: {privileged: true}\n"), "spec.containers[0].securityContext.privileged"},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {app: a}}\n" + always, "spec.template.spec.containers[0].securityContext.privileged"},
		{"apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: r}\nspec:\n  selector: {matchLabels: {app: a}}\n" + always, "spec.template.spec.containers[0].securityContext.privileged"},
		{"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: ds}\nspec:\n  selector: {matchLabels: {app: a}}\n" + always, "spec.template.spec.containers[0].securityContext.privileged"},
		{"apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\nspec:\n  selector: {app: a}\n" + always, "spec.template.spec.containers[0].securityContext.privileged"},
		{"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n" + tmpl("  "), "spec.template.spec.containers[0].securityContext.privileged"},
		{"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: cj}\nspec:\n  schedule: '*/5 * * * *'\n  jobTemplate:\n    spec:\n" + tmpl("      "), "spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged"},
		{"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n", ""},
	}
	p := Policy{Name: "p", Rules: Rules{ForbidPrivileged: true}}
	for _, tt := range tests {
		obj := loadOne(t, tt.doc)
		vs := Check(p, obj)
		kind := obj.GetObjectKind().GroupVersionKind().Kind
		if tt.want == "" {
			if len(vs) != 0 {
				t.Errorf("%s: got %v", kind, vs)
			}
			continue
		}
		if len(vs) != 1 || vs[0].Field != tt.want || vs[0].Rule != RuleForbidPrivileged {
			t.Errorf("%s: got %v, want one at %s", kind, vs, tt.want)
		}
	}
	if _, _, ok := PodSpecOf(&corev1.ReplicationController{}); ok {
		t.Error("PodSpecOf: a ReplicationController without a template has no pod spec")
	}
	var none runtime.Object = &corev1.Service{}
	if Check(p, none) != nil {
		t.Error("Check on a Service")
	}
}

func TestPreviewStrict(t *testing.T) {
	pod := loadOne(t, podYAML("  hostNetwork: true\n  containers:\n  - name: main\n    image: nginx\n    ports:\n    - containerPort: 80\n    securityContext:\n      privileged: true\n      capabilities: {add: [NET_BIND_SERVICE, SYS_ADMIN]}\n  volumes:\n  - name: h\n    hostPath: {path: /}\n"))
	var rules []string
	for _, v := range Check(PreviewStrict(), pod) {
		rules = append(rules, v.Rule+" "+v.Field)
	}
	want := []string{
		"forbidHostNamespaces spec.hostNetwork",
		"forbidHostPath spec.volumes[0].hostPath",
		"forbidPrivileged spec.containers[0].securityContext.privileged",
		"forbidAddedCapabilities spec.containers[0].securityContext.capabilities.add[1]",
		"forbidHostPorts spec.containers[0].ports[0].hostPort", // hostNetwork defaults hostPort to containerPort
		"requireLimits spec.containers[0].resources.limits[cpu]",
		"requireLimits spec.containers[0].resources.limits[memory]",
	}
	if !slices.Equal(rules, want) {
		t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(rules, "\n  "), strings.Join(want, "\n  "))
	}
	ok := loadOne(t, podYAML("  containers:\n  - name: main\n    image: nginx\n    resources:\n      limits: {cpu: 100m, memory: 64Mi}\n"))
	if vs := Check(PreviewStrict(), ok); vs != nil {
		t.Errorf("a plain pod with limits: %v", vs)
	}
}

func TestSplitImage(t *testing.T) {
	tests := []struct{ image, host, repo string }{
		{"nginx", "docker.io", "library/nginx"},
		{"nginx:1.27", "docker.io", "library/nginx"},
		{"bitnami/redis:7", "docker.io", "bitnami/redis"},
		{"docker.io/library/nginx", "docker.io", "library/nginx"},
		{"index.docker.io/x/y", "docker.io", "x/y"},
		{"ghcr.io/acme/app@sha256:abc", "ghcr.io", "acme/app"},
		{"localhost:5000/app:tag", "localhost:5000", "app"},
		{"localhost/app", "localhost", "app"},
		{"Registry.Example.com:443/team/app:v1", "registry.example.com:443", "team/app"},
	}
	for _, tt := range tests {
		if h, r := splitImage(tt.image); h != tt.host || r != tt.repo {
			t.Errorf("splitImage(%q) = %q, %q; want %q, %q", tt.image, h, r, tt.host, tt.repo)
		}
	}
}
