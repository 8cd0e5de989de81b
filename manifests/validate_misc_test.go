package manifests

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validNamespace() *corev1.Namespace {
	return &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "payments", Labels: map[string]string{"team": "payments"}},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
	}
}

func TestValidateNamespace(t *testing.T) {
	runErrCases(t, validNamespace, []errCase[*corev1.Namespace]{
		{name: "valid"},
		{name: "name required", mutate: func(n *corev1.Namespace) { n.Name = "" },
			want: []string{"metadata.name: Required value: name or generateName is required"}},
		{name: "name not a label", mutate: func(n *corev1.Namespace) { n.Name = "Payments" },
			want: []string{`metadata.name: Invalid value: "Payments": ` + dns1123LabelMsg}},
		{name: "bad spec finalizer", mutate: func(n *corev1.Namespace) { n.Spec.Finalizers = []corev1.FinalizerName{"cleanup"} },
			want: []string{`spec.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor is it fully qualified`}},
	})
}

func TestValidateServiceAccount(t *testing.T) {
	base := func() *corev1.ServiceAccount { return &corev1.ServiceAccount{ObjectMeta: meta("deployer")} }
	runErrCases(t, base, []errCase[*corev1.ServiceAccount]{
		{name: "valid"},
		{name: "name invalid", mutate: func(sa *corev1.ServiceAccount) { sa.Name = "Deployer" },
			want: []string{`metadata.name: Invalid value: "Deployer": ` + dns1123SubdomainMsg}},
	})
}

func validNode() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1.example.com", Labels: map[string]string{"kubernetes.io/hostname": "node-1"}},
		Spec: corev1.NodeSpec{
			PodCIDR:  "10.244.1.0/24",
			PodCIDRs: []string{"10.244.1.0/24", "fd00:10:244:1::/64"},
			Taints:   []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}},
		},
	}
}

func TestValidateNode(t *testing.T) {
	runErrCases(t, validNode, []errCase[*corev1.Node]{
		{name: "valid"},
		{name: "name invalid", mutate: func(n *corev1.Node) { n.Name = "Node_1" },
			want: []string{`metadata.name: Invalid value: "Node_1": ` + dns1123SubdomainMsg}},
		{name: "taint effect unknown", mutate: func(n *corev1.Node) { n.Spec.Taints[0].Effect = "NoRun" },
			want: []string{`spec.taints[0].effect: Unsupported value: "NoRun": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"`}},
		{name: "taint effect required", mutate: func(n *corev1.Node) { n.Spec.Taints[0].Effect = "" },
			want: []string{"spec.taints[0].effect: Required value"}},
		{name: "taint key invalid", mutate: func(n *corev1.Node) { n.Spec.Taints[0].Key = "dedicated node" },
			want: []string{`spec.taints[0].key: Invalid value: "dedicated node": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		{name: "duplicate taint", mutate: func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, n.Spec.Taints[0]) },
			want: []string{`spec.taints[1]: Duplicate value: {"key":"dedicated","value":"gpu","effect":"NoSchedule"}: taints must be unique by key and effect pair`}},
		{name: "podCIDR invalid", mutate: func(n *corev1.Node) { n.Spec.PodCIDR = "10.244.1.0"; n.Spec.PodCIDRs = nil },
			want: []string{`spec.podCIDR: Invalid value: "10.244.1.0": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`}},
		{name: "podCIDRs same family", mutate: func(n *corev1.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/24", "10.245.1.0/24"} },
			want: []string{`spec.podCIDRs: Invalid value: ["10.244.1.0/24","10.245.1.0/24"]: may specify no more than one CIDR for each IP family`}},
	})
}

func validConfigMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: meta("web-config"),
		Data:       map[string]string{"app.yaml": "listen: :8080\n", "LOG_LEVEL": "info"},
		BinaryData: map[string][]byte{"logo.png": {0x89, 0x50, 0x4e, 0x47}},
	}
}

func TestValidateConfigMap(t *testing.T) {
	runErrCases(t, validConfigMap, []errCase[*corev1.ConfigMap]{
		{name: "valid"},
		{name: "key invalid", mutate: func(c *corev1.ConfigMap) { c.Data["app config"] = "x" },
			want: []string{`data[app config]: Invalid value: "app config": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`}},
		{name: "key starting with ..", mutate: func(c *corev1.ConfigMap) { c.BinaryData["..data"] = []byte("x") },
			want: []string{`binaryData[..data]: Invalid value: "..data": must not start with '..'`}},
		{name: "key in data and binaryData", mutate: func(c *corev1.ConfigMap) { c.BinaryData["app.yaml"] = []byte("x") },
			want: []string{`data[app.yaml]: Invalid value: "app.yaml": duplicate of key present in binaryData`}},
		{name: "too large", mutate: func(c *corev1.ConfigMap) {
			c.Data["big"] = strings.Repeat("x", 1024*1024-10)
		}, want: []string{"data: Too long: may not be more than 1048576 bytes"}},
	})
}

func validSecret() *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: meta("db"),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"password": []byte("s3cr3t")},
		StringData: map[string]string{"username": "app"},
	}
}

func TestValidateSecret(t *testing.T) {
	runErrCases(t, validSecret, []errCase[*corev1.Secret]{
		{name: "valid"},
		{name: "custom type is free-form", mutate: func(s *corev1.Secret) { s.Type = "example.com/api-key" }},
		{name: "valid dockerconfigjson", mutate: func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeDockerConfigJson
			s.Data = map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}
		}},
		{name: "valid tls from stringData", mutate: func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeTLS
			s.Data = nil
			s.StringData = map[string]string{"tls.crt": "cert", "tls.key": "key"}
		}},
		{name: "key invalid", mutate: func(s *corev1.Secret) { s.Data["pass word"] = nil },
			want: []string{`data[pass word]: Invalid value: "pass word": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`}},
		{name: "stringData key invalid", mutate: func(s *corev1.Secret) { s.StringData["."] = "x" },
			want: []string{`stringData[.]: Invalid value: ".": must not be '.'`}},
		{name: "too large", mutate: func(s *corev1.Secret) { s.StringData["big"] = strings.Repeat("x", 1024*1024) },
			want: []string{"data: Too long: may not be more than 1048576 bytes"}},
		{name: "dockerconfigjson missing", mutate: func(s *corev1.Secret) { s.Type = corev1.SecretTypeDockerConfigJson },
			want: []string{"data[.dockerconfigjson]: Required value"}},
		{name: "dockerconfigjson not JSON", mutate: func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeDockerConfigJson
			s.Data[corev1.DockerConfigJsonKey] = []byte("{auths")
		}, want: []string{`data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": invalid character 'a' looking for beginning of object key string`}},
		{name: "dockercfg missing", mutate: func(s *corev1.Secret) { s.Type = corev1.SecretTypeDockercfg },
			want: []string{"data[.dockercfg]: Required value"}},
		{name: "tls missing keys", mutate: func(s *corev1.Secret) { s.Type = corev1.SecretTypeTLS },
			want: []string{"data[tls.crt]: Required value", "data[tls.key]: Required value"}},
		{name: "basic-auth missing both", mutate: func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeBasicAuth
			s.Data, s.StringData = nil, nil
		}, want: []string{"data[username]: Required value", "data[password]: Required value"}},
		{name: "basic-auth with username only", mutate: func(s *corev1.Secret) {
			s.Type = corev1.SecretTypeBasicAuth
			s.Data = nil
		}},
		{name: "ssh-auth missing key", mutate: func(s *corev1.Secret) { s.Type = corev1.SecretTypeSSHAuth },
			want: []string{"data[ssh-privatekey]: Required value"}},
		{name: "service-account-token needs annotation", mutate: func(s *corev1.Secret) { s.Type = corev1.SecretTypeServiceAccountToken },
			want: []string{"metadata.annotations[kubernetes.io/service-account.name]: Required value"}},
	})
}

func validResourceQuota() *corev1.ResourceQuota {
	return &corev1.ResourceQuota{
		ObjectMeta: meta("compute"),
		Spec: corev1.ResourceQuotaSpec{
			Hard: corev1.ResourceList{
				corev1.ResourceRequestsCPU:     qty("4"),
				corev1.ResourceLimitsMemory:    qty("8Gi"),
				corev1.ResourcePods:            qty("20"),
				"requests.nvidia.com/gpu":      qty("2"),
				corev1.ResourceRequestsStorage: qty("100Gi"),
			},
		},
	}
}

func TestValidateResourceQuota(t *testing.T) {
	runErrCases(t, validResourceQuota, []errCase[*corev1.ResourceQuota]{
		{name: "valid"},
		{name: "valid scopes", mutate: func(rq *corev1.ResourceQuota) {
			rq.Spec.Hard = corev1.ResourceList{corev1.ResourcePods: qty("10"), corev1.ResourceRequestsCPU: qty("2")}
			rq.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotBestEffort}
		}},
		{name: "negative hard", mutate: func(rq *corev1.ResourceQuota) { rq.Spec.Hard[corev1.ResourceRequestsCPU] = qty("-1") },
			want: []string{`spec.hard[requests.cpu]: Invalid value: "-1": must be greater than or equal to 0`}},
		{name: "fractional pods", mutate: func(rq *corev1.ResourceQuota) { rq.Spec.Hard[corev1.ResourcePods] = qty("1500m") },
			want: []string{`spec.hard[pods]: Invalid value: "1500m": must be an integer`}},
		{name: "unknown resource", mutate: func(rq *corev1.ResourceQuota) { rq.Spec.Hard["gpus"] = qty("1") },
			want: []string{
				`spec.hard[gpus]: Invalid value: "gpus": must be a standard resource type or fully qualified`,
				`spec.hard[gpus]: Invalid value: "gpus": must be a standard resource for quota`,
			}},
		{name: "unknown scope", mutate: func(rq *corev1.ResourceQuota) {
			rq.Spec.Hard = corev1.ResourceList{corev1.ResourcePods: qty("10")}
			rq.Spec.Scopes = []corev1.ResourceQuotaScope{"Idle"}
		}, want: []string{`spec.scopes: Invalid value: ["Idle"]: unsupported scope`}},
		{name: "scope not for resource", mutate: func(rq *corev1.ResourceQuota) {
			rq.Spec.Hard = corev1.ResourceList{corev1.ResourceRequestsCPU: qty("1")}
			rq.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}
		}, want: []string{`spec.scopes: Invalid value: ["BestEffort"]: unsupported scope applied to resource`}},
		{name: "conflicting scopes", mutate: func(rq *corev1.ResourceQuota) {
			rq.Spec.Hard = corev1.ResourceList{corev1.ResourcePods: qty("10")}
			rq.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating}
		}, want: []string{`spec.scopes: Invalid value: ["Terminating","NotTerminating"]: conflicting scopes`}},
		{name: "scopeSelector operator", mutate: func(rq *corev1.ResourceQuota) {
			rq.Spec.Hard = corev1.ResourceList{corev1.ResourcePods: qty("10")}
			rq.Spec.ScopeSelector = &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
				{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn},
			}}
		}, want: []string{"spec.scopeSelector.matchExpressions[0].values: Required value: must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"}},
	})
}

func validLimitRange() *corev1.LimitRange {
	return &corev1.LimitRange{
		ObjectMeta: meta("defaults"),
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{
			{
				Type:           corev1.LimitTypeContainer,
				Min:            corev1.ResourceList{corev1.ResourceCPU: qty("50m"), corev1.ResourceMemory: qty("32Mi")},
				Max:            corev1.ResourceList{corev1.ResourceCPU: qty("2"), corev1.ResourceMemory: qty("2Gi")},
				Default:        corev1.ResourceList{corev1.ResourceCPU: qty("500m"), corev1.ResourceMemory: qty("256Mi")},
				DefaultRequest: corev1.ResourceList{corev1.ResourceCPU: qty("100m"), corev1.ResourceMemory: qty("128Mi")},
			},
			{Type: corev1.LimitTypePersistentVolumeClaim, Max: corev1.ResourceList{corev1.ResourceStorage: qty("50Gi")}},
		}},
	}
}

func TestValidateLimitRange(t *testing.T) {
	runErrCases(t, validLimitRange, []errCase[*corev1.LimitRange]{
		{name: "valid"},
		{name: "unknown type", mutate: func(lr *corev1.LimitRange) { lr.Spec.Limits[0].Type = "Node" },
			want: []string{`spec.limits[0].type: Invalid value: "Node": must be a standard limit type or fully qualified`}},
		{name: "duplicate type", mutate: func(lr *corev1.LimitRange) {
			lr.Spec.Limits[1].Type = corev1.LimitTypeContainer
			lr.Spec.Limits[1].Max = nil
		},
			want: []string{`spec.limits[1].type: Duplicate value: "Container"`}},
		{name: "min above max", mutate: func(lr *corev1.LimitRange) { lr.Spec.Limits[0].Min[corev1.ResourceCPU] = qty("3") },
			want: []string{
				`spec.limits[0].min[cpu]: Invalid value: "3": min value 3 is greater than max value 2`,
				`spec.limits[0].defaultRequest[cpu]: Invalid value: "100m": min value 3 is greater than default request value 100m`,
				`spec.limits[0].default[cpu]: Invalid value: "3": min value 3 is greater than default value 500m`,
			}},
		{name: "defaultRequest above default", mutate: func(lr *corev1.LimitRange) { lr.Spec.Limits[0].DefaultRequest[corev1.ResourceMemory] = qty("512Mi") },
			want: []string{`spec.limits[0].defaultRequest[memory]: Invalid value: "512Mi": default request value 512Mi is greater than default limit value 256Mi`}},
		{name: "default above max", mutate: func(lr *corev1.LimitRange) { lr.Spec.Limits[0].Default[corev1.ResourceMemory] = qty("4Gi") },
			want: []string{`spec.limits[0].default[memory]: Invalid value: "2Gi": default value 4Gi is greater than max value 2Gi`}},
		{name: "ratio below 1", mutate: func(lr *corev1.LimitRange) {
			lr.Spec.Limits[0].MaxLimitRequestRatio = corev1.ResourceList{corev1.ResourceCPU: qty("500m")}
		}, want: []string{`spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "500m": ratio 500m is less than 1`}},
		{name: "default on Pod type", mutate: func(lr *corev1.LimitRange) { lr.Spec.Limits[0].Type = corev1.LimitTypePod },
			want: []string{
				"spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'",
				"spec.limits[0].defaultRequest: Forbidden: may not be specified when `type` is 'Pod'",
			}},
		{name: "PVC without storage bounds", mutate: func(lr *corev1.LimitRange) { lr.Spec.Limits[1].Max = nil },
			want: []string{"spec.limits[1].limits: Required value: either minimum or maximum storage value is required, but neither was provided"}},
		{name: "container resource unknown", mutate: func(lr *corev1.LimitRange) { lr.Spec.Limits[0].Max["storage"] = qty("1Gi") },
			want: []string{`spec.limits[0].max[storage]: Invalid value: "storage": must be a standard resource for containers`}},
	})
}
