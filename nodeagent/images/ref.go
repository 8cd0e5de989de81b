package images

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is how shoal writes Docker Hub's host in normalized references;
// go-containerregistry spells it "index.docker.io" on the wire.
const dockerHub = "docker.io"

// reference is a parsed image reference in shoal's normal form.
type reference struct {
	Registry   string // normalized host[:port]; "docker.io" for Docker Hub
	Repository string // path inside the registry, e.g. "library/busybox"
	Tag        string // "" when Digest is set
	Digest     string // "sha256:..." or ""
	explicit   bool   // the input named a tag or digest (not the implied "latest")
}

// String is the normalized reference: "docker.io/library/busybox:1.36" or
// "docker.io/library/busybox@sha256:...".
func (r reference) String() string {
	if r.Digest != "" {
		return r.Repo() + "@" + r.Digest
	}
	return r.Repo() + ":" + r.Tag
}

// Repo is "registry/repository".
func (r reference) Repo() string { return r.Registry + "/" + r.Repository }

// canonicalHost maps Docker Hub's aliases to "docker.io" and lower-cases
// nothing else (registry hosts are case-sensitive in references).
func canonicalHost(h string) string {
	switch h {
	case "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return dockerHub
	}
	return h
}

// parseReference normalizes s exactly as Docker does: a name without a
// registry is on docker.io, a one-component Docker Hub name is in
// "library/", and a name without tag or digest means ":latest". A reference
// with both tag and digest keeps the digest (the tag is informative only).
func parseReference(s string) (reference, error) {
	if s == "" {
		return reference{}, fmt.Errorf("empty image reference")
	}
	if strings.TrimSpace(s) != s {
		return reference{}, fmt.Errorf("invalid image reference %q: surrounding white space", s)
	}
	ref, err := name.ParseReference(s)
	if err != nil {
		return reference{}, fmt.Errorf("invalid image reference %q: %w", s, err)
	}
	r := reference{
		Registry:   canonicalHost(ref.Context().RegistryStr()),
		Repository: ref.Context().RepositoryStr(),
	}
	switch v := ref.(type) {
	case name.Digest:
		r.Digest = v.DigestStr()
		r.explicit = true
	case name.Tag:
		r.Tag = v.TagStr()
		// name.Tag fills in "latest"; find out whether the user wrote a tag.
		last := s[strings.LastIndex(s, "/")+1:]
		r.explicit = strings.Contains(last, ":")
	}
	return r, nil
}

// isTagOnly reports whether s is a bare tag ("v1", "latest") as OCI layouts
// write it in org.opencontainers.image.ref.name, rather than a full
// reference ("busybox:1.36", "example.com/app").
func isTagOnly(s string) bool {
	if s == "" || len(s) > 128 || strings.ContainsAny(s, "/:@") {
		return false
	}
	if _, err := name.NewTag("x:" + s); err != nil {
		return false
	}
	return true
}

// hexPrefix reports whether s is "sha256:<hex>" or bare hex of at least 12
// characters, and returns the hex part.
func hexPrefix(s string) (string, bool) {
	h := strings.TrimPrefix(s, "sha256:")
	if len(h) < 12 || len(h) > 64 {
		return "", false
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return h, true
}
