package pods

import (
	"reflect"
	"testing"
)

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "alpha", "B": "", "EMPTY_NAME": "x"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"$(A)", "alpha"},
		{"x$(A)y$(A)", "xalphayalpha"},
		{"$(B)", ""},
		{"$(UNSET)", "$(UNSET)"},
		{"$$(A)", "$(A)"},
		{"$$$(A)", "$alpha"},
		{"$A", "$A"},
		{"$", "$"},
		{"$(A", "$(A"},
		{"$()", "$()"},
		{"cost: 5$", "cost: 5$"},
	}
	for _, tt := range tests {
		if got := Expand(tt.in, lookup); got != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestArgv(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "PORT" {
			return "8080", true
		}
		return "", false
	}
	ep, cmd := []string{"/entry"}, []string{"--default"}
	tests := []struct {
		name          string
		command, args []string
		want          []string
	}{
		{"image defaults", nil, nil, []string{"/entry", "--default"}},
		{"args replace CMD", nil, []string{"--port=$(PORT)"}, []string{"/entry", "--port=8080"}},
		{"command replaces ENTRYPOINT and drops CMD", []string{"/bin/sh", "-c"}, nil, []string{"/bin/sh", "-c"}},
		{"command and args", []string{"/app"}, []string{"$(PORT)", "$(NOPE)"}, []string{"/app", "8080", "$(NOPE)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Argv(tt.command, tt.args, ep, cmd, env); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Argv = %q, want %q", got, tt.want)
			}
		})
	}
}
