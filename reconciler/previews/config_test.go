package previews

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/manifests"
)

const head = "apiVersion: shoal.run/v1alpha1\nkind: PreviewConfig\n"

func TestParseDefaults(t *testing.T) {
	cfg, err := Parse(Path, []byte(head))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Refs, ",") != "refs/pull/*/head,refs/heads/preview/*" || cfg.TTL != DefaultTTL ||
		cfg.MaxPreviews != DefaultMaxPreviews || cfg.Domain != "" || cfg.File != Path {
		t.Errorf("defaults: %+v", cfg)
	}
	if cfg.Quota == nil || cfg.Quota.Hard.Pods().String() != "20" || cfg.LimitRange == nil || len(cfg.LimitRange.Limits) != 1 {
		t.Errorf("default quota %v, limit range %v", cfg.Quota, cfg.LimitRange)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		// want is "" for success, else every "line: text" expected among
		// the errors.
		want  []string
		check func(*testing.T, *Config)
	}{
		{name: "everything", body: head + `refs: [refs/heads/feature/*]
domain: preview.example.test.
ttl: 3d
maxPreviews: 2
quota: {hard: {pods: "5", requests.cpu: "1"}}
limitRange: {limits: [{type: Container, default: {cpu: 200m}}]}
`, check: func(t *testing.T, c *Config) {
			if c.Refs[0] != "refs/heads/feature/*" || c.Domain != "preview.example.test" || c.TTL != 72*time.Hour || c.MaxPreviews != 2 {
				t.Errorf("%+v", c)
			}
			if c.Quota.Hard.Pods().String() != "5" || c.LimitRange.Limits[0].Default.Cpu().String() != "200m" {
				t.Errorf("quota %v limits %v", c.Quota, c.LimitRange)
			}
		}},
		{name: "no quota nor limits", body: head + "quota: {}\nlimitRange: {}\nttl: 90m\n", check: func(t *testing.T, c *Config) {
			if c.Quota != nil || c.LimitRange != nil || c.TTL != 90*time.Minute {
				t.Errorf("%+v", c)
			}
		}},
		{name: "unknown field", body: head + "domian: x.test\n", want: []string{`3: `, `domian`, `domain`}},
		{name: "wrong kind", body: "apiVersion: shoal.run/v1alpha1\nkind: Previews\n", want: []string{`2: kind: "Previews" is not what this file holds`}},
		{name: "no version", body: "kind: PreviewConfig\n", want: []string{"apiVersion: required"}},
		{name: "bad patterns", body: head + "refs:\n- heads/preview/*\n- refs/heads/*/x/*\n- refs/heads/preview/*\n- refs/heads/preview/*\n",
			want: []string{`4: refs[0]: "heads/preview/*" is not a full ref name`, `5: refs[1]: "refs/heads/*/x/*" needs exactly one "*"`, `7: refs[3]: "refs/heads/preview/*" is also refs[2]`}},
		{name: "empty refs", body: head + "refs: []\n", want: []string{"3: refs: the list is empty"}},
		{name: "bad domain", body: head + "domain: Preview_Example\n", want: []string{`3: domain: "Preview_Example" is not a DNS domain`}},
		{name: "bad ttl", body: head + "ttl: soon\n", want: []string{`3: ttl: "soon" is not a duration`}},
		{name: "short ttl", body: head + "ttl: 30s\n", want: []string{"shorter than a minute"}},
		{name: "no previews allowed", body: head + "maxPreviews: 0\n", want: []string{"3: maxPreviews: 0: at least 1"}},
		{name: "wrong type", body: head + "maxPreviews: many\n", want: []string{"3: ", "maxPreviews"}},
		{name: "negative quota", body: head + "quota:\n  hard: {pods: \"-1\"}\n", want: []string{"4: quota.hard[pods]: -1 is negative"}},
		{name: "bad limit range", body: head + "limitRange:\n  limits:\n  - type: Node\n  - type: Container\n    default: {cpu: 100m}\n    defaultRequest: {cpu: 200m}\n",
			want: []string{`5: limitRange.limits[0].type: "Node"`, "8: limitRange.limits[1].defaultRequest[cpu]: 200m is more than default[cpu] 100m"}},
		{name: "two documents", body: head + "---\n" + head, want: []string{"expected one YAML document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse(Path, []byte(tt.body))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, cfg)
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			ds, ok := err.(manifests.Diagnostics)
			if !ok {
				t.Fatalf("err is %T, want manifests.Diagnostics", err)
			}
			for _, w := range tt.want {
				found := false
				for _, d := range ds {
					if strings.Contains(strings.Replace(d.String(), " error:", "", 1), w) && d.File == Path {
						found = true
					}
				}
				if !found {
					t.Errorf("no diagnostic with %q in:\n%v", w, ds)
				}
			}
		})
	}
}

func TestDefaultLimitRangeFitsDefaultQuota(t *testing.T) {
	lr, q := DefaultLimitRange(), DefaultQuota()
	if lr.Limits[0].Default.Cpu().Cmp(q.Hard[corev1.ResourceLimitsCPU]) > 0 {
		t.Error("one container's default cpu limit passes the quota")
	}
}
