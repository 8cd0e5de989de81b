package main

import (
	"strings"
	"testing"
)

// TestTestenvVerbsArguments checks the rig verbs' argument handling; the
// verbs themselves are thin wrappers tested in package testenv.
func TestTestenvVerbsArguments(t *testing.T) {
	t.Setenv("SHOAL_TESTENV_DIR", "")
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"exec without dash", []string{"testenv", "exec", "--dir", empty, "node1", "ip"}, 2, "usage: shoal testenv exec"},
		{"exec without command", []string{"testenv", "exec", "--dir", empty, "node1", "--"}, 2, "usage: shoal testenv exec"},
		{"kill without dir", []string{"testenv", "kill", "node1"}, 2, "give --dir DIR"},
		{"kill without rig", []string{"testenv", "kill", "--dir", empty, "node1"}, 2, "no test rig in " + empty},
		{"down without rig is fine", []string{"testenv", "down", "--dir", empty}, 0, "no test rig"},
		{"hook never fails", []string{"testenv", "hook", "--dir", empty}, 0, "warning: no test rig"},
		{"bad wait mode", []string{"testenv", "up", "--dir", empty, "--wait", "soon"}, 2, "--wait"},
		{"bad label", []string{"testenv", "up", "--dir", empty, "--label", "zone=b"}, 2, "NODE:KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := run(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Errorf("code %d, stderr %q; want code %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

func TestTestenvDirFromEnv(t *testing.T) {
	t.Setenv("SHOAL_TESTENV_DIR", "/tmp/some rig")
	if d, err := rigDir(""); err != nil || d != "/tmp/some rig" {
		t.Errorf("rigDir = %q, %v", d, err)
	}
	if d, _ := rigDir("/x"); d != "/x" {
		t.Errorf("--dir does not win over the environment: %q", d)
	}
	if pw := gitPassword("http://shoal:s3cret@10.250.1.1:4000/cluster.git"); pw != "s3cret" {
		t.Errorf("gitPassword = %q", pw)
	}
}
