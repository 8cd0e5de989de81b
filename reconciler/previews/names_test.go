package previews

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestIDFor(t *testing.T) {
	tests := []struct {
		pattern, ref, want string
		noMatch            bool
	}{
		{pattern: "refs/pull/*/head", ref: "refs/pull/42/head", want: "pr-42"},
		{pattern: "refs/pull/*/head", ref: "refs/pull/42/merge", noMatch: true},
		{pattern: "refs/pull/*/head", ref: "refs/pull//head", noMatch: true},
		{pattern: "refs/heads/preview/*", ref: "refs/heads/preview/shop", want: "preview-shop"},
		{pattern: "refs/heads/preview/*", ref: "refs/heads/preview/Fix_Login.Page", want: "preview-fix-login-page"},
		{pattern: "refs/heads/preview/*", ref: "refs/heads/preview/team/a--b", want: "preview-team-a-b"},
		{pattern: "refs/heads/preview/*", ref: "refs/heads/preview/", noMatch: true},
		{pattern: "refs/heads/preview/*", ref: "refs/heads/main", noMatch: true},
		{pattern: "refs/heads/feature/*", ref: "refs/heads/feature/x", want: "feature-x"},
		{pattern: "refs/heads/*", ref: "refs/heads/x", want: "preview-x"},
		{pattern: "refs/previews/*", ref: "refs/previews/x", want: "previews-x"},
		{pattern: "refs/heads/preview/*", ref: "refs/heads/preview/__", want: "preview-" + hash6("refs/heads/preview/__")},
		{pattern: "refs/heads/preview/*", ref: "refs/heads/preview/" + strings.Repeat("long-name-", 6),
			want: "preview-long-name-long-" + hash6("refs/heads/preview/"+strings.Repeat("long-name-", 6))},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, ok := IDFor(tt.pattern, tt.ref)
			if ok == tt.noMatch || got != tt.want {
				t.Fatalf("IDFor(%q, %q) = %q, %v; want %q", tt.pattern, tt.ref, got, ok, tt.want)
			}
			if ok && (len(got) > MaxIDLength || len(validation.IsDNS1123Label(got)) > 0) {
				t.Errorf("%q is not a DNS label of at most %d characters", got, MaxIDLength)
			}
		})
	}
}

func TestMatchFirstPatternWins(t *testing.T) {
	c := &Config{Refs: []string{"refs/heads/preview/*", "refs/heads/*"}}
	if id, ok := c.Match("refs/heads/preview/a"); !ok || id != "preview-a" {
		t.Errorf("Match = %q, %v", id, ok)
	}
	if id, ok := c.Match("refs/heads/b"); !ok || id != "preview-b" {
		t.Errorf("Match = %q, %v", id, ok)
	}
	if _, ok := c.Match("refs/tags/v1"); ok {
		t.Error("a tag matched")
	}
}

func TestNamespace(t *testing.T) {
	long := strings.Repeat("n", 60)
	tests := []struct{ id, ns, want string }{
		{"pr-42", "shop", "pr-42-shop"},
		{"preview-shop", "default", "preview-shop-default"},
		{"pr-1", long, ("pr-1-" + long)[:56] + "-" + hash6("pr-1/"+long)},
	}
	for _, tt := range tests {
		got := Namespace(tt.id, tt.ns)
		if got != tt.want || len(validation.IsDNS1123Label(got)) > 0 {
			t.Errorf("Namespace(%q, %q) = %q (%v), want %q", tt.id, tt.ns, got, validation.IsDNS1123Label(got), tt.want)
		}
	}
	// Two long names that share their first 56 characters stay distinct.
	if Namespace("pr-1", long+"a") == Namespace("pr-1", long+"b") {
		t.Error("long namespaces collide")
	}
	// Stable.
	if Namespace("pr-1", long) != Namespace("pr-1", long) {
		t.Error("not stable")
	}
}

func TestAssignIDs(t *testing.T) {
	base := map[string]string{
		"refs/heads/preview/a.b": "preview-a-b",
		"refs/heads/preview/a-b": "preview-a-b",
		"refs/heads/preview/A_B": "preview-a-b",
		"refs/pull/7/head":       "pr-7",
	}
	// Nothing recorded: name order decides who gets the plain id.
	got := AssignIDs(base, nil)
	if got["refs/heads/preview/A_B"] != "preview-a-b" || got["refs/pull/7/head"] != "pr-7" {
		t.Errorf("ids %v", got)
	}
	seen := map[string]bool{}
	for ref, id := range got {
		if seen[id] {
			t.Errorf("id %s given twice", id)
		}
		seen[id] = true
		if ref != "refs/heads/preview/A_B" && id == "preview-a-b" {
			t.Errorf("%s got the taken id", ref)
		}
	}
	if got["refs/heads/preview/a.b"] != "preview-a-b-"+hash6("refs/heads/preview/a.b") {
		t.Errorf("hashed id %q", got["refs/heads/preview/a.b"])
	}
	// A recorded id never changes, even when a ref sorted before it comes.
	got = AssignIDs(base, map[string]string{"refs/heads/preview/a.b": "preview-a-b"})
	if got["refs/heads/preview/a.b"] != "preview-a-b" || got["refs/heads/preview/A_B"] == "preview-a-b" {
		t.Errorf("recorded id not kept: %v", got)
	}
}

func TestHost(t *testing.T) {
	tests := []struct{ host, want string }{
		{"shop.example.test", "pr-42.shop.preview.example.test"},
		{"example.test", "pr-42.example.preview.example.test"},
		{"*.shop.example.test", "*.pr-42.shop.preview.example.test"},
		{"", "pr-42.preview.example.test"},
	}
	for _, tt := range tests {
		if got := Host("pr-42", tt.host, "preview.example.test"); got != tt.want {
			t.Errorf("Host(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}

func hash6(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:3])
}
