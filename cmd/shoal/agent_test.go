package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoal-run/shoal/gossip"
)

func TestParseLabels(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"", map[string]string{}, ""},
		{"zone=b, disk=ssd,", map[string]string{"zone": "b", "disk": "ssd"}, ""},
		{"empty=", map[string]string{"empty": ""}, ""},
		{"zone", nil, "key=value"},
		{"=b", nil, "key=value"},
	}
	for _, tt := range tests {
		got, err := parseLabels(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseLabels(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("parseLabels(%q) = %v, %v", tt.in, got, err)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("parseLabels(%q)[%s] = %q, want %q", tt.in, k, got[k], v)
			}
		}
	}
}

func TestAgentConfigResolve(t *testing.T) {
	dir := t.TempDir()
	key, _ := gossip.GenerateKey()
	keyFile := filepath.Join(dir, "cluster.key")
	if err := gossip.WriteKeyFile(keyFile, key); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)

	base := func() agentConfig {
		c := defaultAgentConfig()
		c.Name, c.ClusterKeyFile = "n1", keyFile
		c.Bind, c.API = "10.0.0.5:7946", "0.0.0.0:7947"
		return c
	}
	tests := []struct {
		name  string
		mod   func(*agentConfig)
		err   string
		check func(*testing.T, *resolved, agentConfig)
	}{
		{"defaults", nil, "", func(t *testing.T, r *resolved, c agentConfig) {
			if r.advertise.String() != "10.0.0.5:7946" || r.apiAdvertise != "10.0.0.5:7947" || r.apiListen != "0.0.0.0:7947" {
				t.Errorf("addresses: advertise %s, api %s / %s", r.advertise, r.apiAdvertise, r.apiListen)
			}
			if r.token != APIToken(key) || c.CgroupParent != "/shoal/n1" || r.clusterCIDR.String() != "10.244.0.0/16" {
				t.Errorf("token %q, cgroup parent %q, cluster CIDR %s", r.token, c.CgroupParent, r.clusterCIDR)
			}
		}},
		{"advertise and token file", func(c *agentConfig) {
			c.Advertise, c.TokenFile, c.API = "192.168.1.9:8000", tokenFile, "127.0.0.1:9000"
		}, "", func(t *testing.T, r *resolved, c agentConfig) {
			if r.advertise.String() != "192.168.1.9:8000" || r.token != "s3cret" || r.apiAdvertise != "127.0.0.1:9000" {
				t.Errorf("got %s %q %s", r.advertise, r.token, r.apiAdvertise)
			}
		}},
		{"no token on loopback up", func(c *agentConfig) { c.NoToken = true }, "", func(t *testing.T, r *resolved, c agentConfig) {
			if r.token != "" {
				t.Errorf("token %q", r.token)
			}
		}},
		{"no key", func(c *agentConfig) { c.ClusterKeyFile = "" }, "shoal keygen", nil},
		{"missing key file", func(c *agentConfig) { c.ClusterKeyFile = filepath.Join(dir, "nope") }, "--cluster-key-file", nil},
		{"empty token file", func(c *agentConfig) { c.TokenFile = empty }, "is empty", nil},
		{"empty webhook secret", func(c *agentConfig) { c.WebhookSecretFile = empty }, "--webhook-secret-file", nil},
		{"bad bind", func(c *agentConfig) { c.Bind = "host.example:7946" }, "--bind", nil},
		{"bad port", func(c *agentConfig) { c.API = "10.0.0.5:http" }, "--api", nil},
		{"cluster CIDR too small", func(c *agentConfig) { c.ClusterCIDR = "10.1.2.0/25" }, "--cluster-cidr", nil},
		{"no name", func(c *agentConfig) { c.Name = "" }, "--name", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			if tt.mod != nil {
				tt.mod(&c)
			}
			r, err := c.resolve()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one naming %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, r, c)
		})
	}
}

func TestRepoURL(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ in, want string }{
		{"https://git.example.com/a.git", "https://git.example.com/a.git"},
		{"git@github.com:org/repo.git", "git@github.com:org/repo.git"},
		{dir, "file://" + dir},
		{"/srv/repo.git", "file:///srv/repo.git"},
	}
	for _, tt := range tests {
		if got := repoURL(tt.in); got != tt.want {
			t.Errorf("repoURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
