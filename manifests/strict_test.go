package manifests

import (
	"strings"
	"testing"
)

type strictDoc struct {
	APIVersion string `json:"apiVersion"`
	Items      []struct {
		Name  string `json:"name"`
		Count int    `json:"count,omitempty"`
	} `json:"items"`
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string // the only diagnostic, as String(); "" for none
	}{
		{"valid", "apiVersion: v1\nitems:\n- name: a\n  count: 2\n", ""},
		{"comments and separator before", "# header\n---\napiVersion: v1\n", ""},
		{"unknown field", "apiVersion: v1\nitems:\n- name: a\n  cuont: 2\n",
			`f.yaml:4: error: items[0].cuont: unknown field "cuont" (did you mean "count"?)`},
		{"duplicate key", "apiVersion: v1\napiVersion: v2\n", "f.yaml:2: error: invalid YAML: "},
		{"wrong type", "apiVersion: v1\nitems:\n- name: a\n- name: b\n  count: many\n",
			`f.yaml:5: error: items[1].count: expected a whole number, got string "many"`},
		{"two documents", "apiVersion: v1\n---\napiVersion: v2\n",
			`f.yaml:3: error: expected one YAML document, found a second one`},
		{"empty", "# nothing\n", "f.yaml:1: error: the file is empty"},
		{"list", "- a\n- b\n", "f.yaml:1: error: expected a mapping of fields, got a list"},
		{"bad YAML", "apiVersion: v1\n  items: [\n", "f.yaml:2: error: invalid YAML: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v strictDoc
			ds := DecodeStrict("f.yaml", []byte(tt.data), &v)
			if tt.want == "" {
				if len(ds) != 0 {
					t.Fatalf("unexpected diagnostics: %v", ds)
				}
				return
			}
			if len(ds) != 1 || !strings.HasPrefix(ds[0].String(), tt.want) {
				t.Fatalf("got %q, want one starting %q", ds, tt.want)
			}
		})
	}
}

func TestLineOf(t *testing.T) {
	data := []byte("# c\napiVersion: v1\nitems:\n- name: a\n- name: b\n  count: 3\n")
	for path, want := range map[string]int{
		"apiVersion":     2,
		"items[1]":       5,
		"items[1].count": 6,
		"items[1].nope":  5,
		"items[7]":       3,
	} {
		if got := LineOf(data, path); got != want {
			t.Errorf("LineOf(%q) = %d, want %d", path, got, want)
		}
	}
	if got := LineOf([]byte("a: [\n"), "a"); got != 0 {
		t.Errorf("LineOf(invalid) = %d, want 0", got)
	}
}

func TestSetWithout(t *testing.T) {
	a := &Object{Key: Key{Kind: "Pod", Namespace: "default", Name: "a"}}
	b := &Object{Key: Key{Kind: "Pod", Namespace: "default", Name: "b"}}
	s := newSet([]*Object{a, b}, Diagnostics{{Severity: SeverityWarning, Message: "w"}})
	if got := s.Without(Key{Kind: "Pod", Namespace: "default", Name: "zzz"}); got != s {
		t.Fatal("Without an unknown key should return the same set")
	}
	got := s.Without(a.Key)
	if got.Len() != 1 || got.All()[0] != b || len(got.Warnings()) != 1 || s.Len() != 2 {
		t.Fatalf("Without(a) = %v objects, warnings %v; original %d", got.Len(), got.Warnings(), s.Len())
	}
}
