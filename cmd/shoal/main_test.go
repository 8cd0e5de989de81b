package main

import (
	"bytes"
	"path/filepath"

	"encoding/json"
	"errors"
	"github.com/shoal-run/shoal/gossip"
	"strings"
	"testing"
)

// run executes the shoal command line in-process and returns its output and
// exit code.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	var ee exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.code
	default:
		code = 2
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

func TestValidateText(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string // lines that must appear
	}{
		{
			name:     "good folder",
			args:     []string{"validate", "testdata/repo"},
			wantCode: 0,
			want: []string{
				"testdata/repo/apps/web.yaml:1: Deployment/shop/web: ok",
				"testdata/repo/apps/web.yaml:20: Service/shop/web: ok",
				"testdata/repo/rbac.yaml:1: Role/shop/reader: ignored",
				"  testdata/repo/rbac.yaml:2: Role/shop/reader: warning: RBAC objects are ignored: shoal has no Kubernetes API for pods to call, so there is nothing to authorize",
				"2 files, 3 objects: 2 ok, 0 with warnings, 1 ignored, 0 with errors",
			},
		},
		{
			name:     "warnings as errors",
			args:     []string{"validate", "--warnings-as-errors", "testdata/repo"},
			wantCode: 1,
		},
		{
			name:     "bad file and good file",
			args:     []string{"validate", "testdata/bad/pod.yaml", "testdata/repo/apps/web.yaml"},
			wantCode: 1,
			want: []string{
				"testdata/bad/pod.yaml:1: Pod/default/broken: error",
				`  testdata/bad/pod.yaml:9: Pod/default/broken: error: spec.containers[0].imagePullPolcy: unknown field "imagePullPolcy" (did you mean "imagePullPolicy"?)`,
				"2 files, 3 objects: 2 ok, 0 with warnings, 0 ignored, 1 with errors",
			},
		},
		{
			name:     "quiet prints problems only",
			args:     []string{"validate", "-q", "testdata/repo/apps"},
			wantCode: 0,
			want:     []string{"1 files, 2 objects: 2 ok, 0 with warnings, 0 ignored, 0 with errors"},
		},
		{
			name:     "missing path",
			args:     []string{"validate", "testdata/nope.yaml"},
			wantCode: 1,
			want:     []string{"testdata/nope.yaml: error: cannot read: no such file or directory"},
		},
		{
			name:     "bad output format",
			args:     []string{"validate", "-o", "xml", "testdata/repo"},
			wantCode: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := run(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			lines := strings.Split(out, "\n")
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					if l == w {
						found = true
					}
				}
				if !found {
					t.Errorf("missing line %q in output:\n%s", w, out)
				}
			}
			if tt.name == "quiet prints problems only" && strings.Contains(out, ": ok") {
				t.Errorf("quiet output lists ok objects:\n%s", out)
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	out, _, code := run(t, "validate", "-o", "json", "testdata/bad", "testdata/repo")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if rep.Summary.Objects != 4 || rep.Summary.Errors != 1 || rep.Summary.Ignored != 1 || rep.Summary.OK != 2 {
		t.Errorf("summary = %+v", rep.Summary)
	}
	var bad *jsonObject
	for i := range rep.Objects {
		if rep.Objects[i].Name == "broken" {
			bad = &rep.Objects[i]
		}
	}
	if bad == nil || bad.Verdict != "error" || len(bad.Diagnostics) != 1 {
		t.Fatalf("broken pod = %+v", bad)
	}
	d := bad.Diagnostics[0]
	if d.File != "testdata/bad/pod.yaml" || d.Line != 9 || d.Field != "spec.containers[0].imagePullPolcy" || d.Object != "Pod/default/broken" {
		t.Errorf("diagnostic = %+v", d)
	}
	if !strings.Contains(out, `"severity": "error"`) {
		t.Errorf("severity is not rendered as a word:\n%s", out)
	}
}

func TestUpRefusesAMissingManifestFolder(t *testing.T) {
	_, errOut, code := run(t, "up", "--manifests", "testdata/nope", "--data-dir", t.TempDir())
	if code != 2 || !strings.Contains(errOut, "--manifests") || !strings.Contains(errOut, "testdata/nope") {
		t.Errorf("code %d, stderr:\n%s", code, errOut)
	}
}

func TestDownNeedsANode(t *testing.T) {
	dir := t.TempDir()
	_, errOut, code := run(t, "down", "--data-dir", dir)
	if code != 2 || !strings.Contains(errOut, "no shoal node in "+dir) {
		t.Errorf("code %d, stderr:\n%s", code, errOut)
	}
}

func TestCompletion(t *testing.T) {
	out, _, code := run(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "__start_shoal") {
		t.Errorf("completion bash: code %d, %d bytes", code, len(out))
	}
}

func TestKeygen(t *testing.T) {
	out, _, code := run(t, "keygen")
	key, err := gossip.DecodeKey(strings.TrimSpace(out))
	if code != 0 || err != nil || len(key) != 32 {
		t.Fatalf("keygen printed %q (code %d): %v", out, code, err)
	}
	file := filepath.Join(t.TempDir(), "cluster.key")
	if _, _, code := run(t, "keygen", "--out", file); code != 0 {
		t.Fatalf("keygen --out: code %d", code)
	}
	if k, err := gossip.ReadKeyFile(file); err != nil || len(k) != 32 {
		t.Errorf("read back: %v", err)
	}
	if _, errOut, code := run(t, "keygen", "--out", file); code == 0 {
		t.Errorf("keygen overwrote an existing key file: %s", errOut)
	}
	// The token is derived from the key: the same key, the same token;
	// another key, another.
	tok, _, code := run(t, "keygen", "--print-token", file)
	k, _ := gossip.ReadKeyFile(file)
	if code != 0 || strings.TrimSpace(tok) != APIToken(k) || len(strings.TrimSpace(tok)) != 40 {
		t.Fatalf("keygen --print-token = %q (code %d), want %q", tok, code, APIToken(k))
	}
	if APIToken(k) == APIToken(key) {
		t.Fatal("two keys gave the same token")
	}
}
