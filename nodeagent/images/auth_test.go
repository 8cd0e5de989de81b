package images

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestKeychainMatching(t *testing.T) {
	secret1 := []byte(`{"auths":{
		"https://index.docker.io/v1/": {"auth": "aHViOmh1YnB3"},
		"registry.example.com":        {"username": "reg", "password": "p1"},
		"registry.example.com/team":   {"username": "team", "password": "p2"},
		"*.corp.example":              {"username": "wild", "password": "p3"},
		"localhost:5000":              {"username": "local", "password": "p4"},
		"token.example":               {"identitytoken": "tok"},
		"empty.example":               {}
	}}`)
	secret2 := []byte(`{
		"https://legacy.example/v1/": {"auth": "b2xkOm9sZHB3", "email": "x@example.com"},
		"registry.example.com":       {"username": "second", "password": "p5"}
	}`)
	kc, err := KeychainFromDockerConfigJSON(secret1, secret2)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref      string
		wantUser string // "" means anonymous
		wantTok  string
	}{
		{ref: "busybox", wantUser: "hub"},
		{ref: "docker.io/library/busybox", wantUser: "hub"},
		{ref: "index.docker.io/user/app", wantUser: "hub"},
		{ref: "registry.example.com/other/app", wantUser: "reg"}, // first secret wins over the second
		{ref: "registry.example.com/team/app", wantUser: "team"}, // path match is more specific
		{ref: "registry.example.com/team", wantUser: "team"},
		{ref: "registry.example.com/teamx/app", wantUser: "reg"}, // a path prefix matches whole components
		{ref: "a.corp.example/x", wantUser: "wild"},
		{ref: "a.b.corp.example/x"}, // "*" is one label
		{ref: "localhost:5000/app", wantUser: "local"},
		{ref: "localhost:5001/app"}, // ports must match
		{ref: "localhost/app"},
		{ref: "legacy.example/app", wantUser: "old"},
		{ref: "token.example/app", wantTok: "tok"},
		{ref: "empty.example/app"}, // entries without credentials are ignored
		{ref: "quay.io/x/y"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			ref, err := name.ParseReference(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			a, err := kc.Resolve(ref.Context())
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantUser == "" && tt.wantTok == "" {
				if a != authn.Anonymous {
					t.Errorf("Resolve = %v, want anonymous", a)
				}
				return
			}
			cfg, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Username != tt.wantUser || cfg.IdentityToken != tt.wantTok {
				t.Errorf("Resolve = user %q token %q, want %q %q", cfg.Username, cfg.IdentityToken, tt.wantUser, tt.wantTok)
			}
		})
	}
}

func TestKeychainErrors(t *testing.T) {
	tests := []struct {
		name, secret, wantErr string
	}{
		{"not JSON", `{`, "secret #1: not a docker config JSON"},
		{"auths not an object", `{"auths": 3}`, `"auths"`},
		{"entry not an object", `{"auths": {"a.io": "x"}}`, `entry "a.io"`},
		{"auth not base64", `{"auths": {"a.io": {"auth": "%%%"}}}`, "not base64"},
		{"auth without colon", `{"auths": {"a.io": {"auth": "dXNlcg=="}}}`, "user:password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := KeychainFromDockerConfigJSON([]byte(tt.secret))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
