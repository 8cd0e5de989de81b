package images

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Keychain holds the credentials of Kubernetes image pull secrets and
// resolves them for a repository the way the kubelet does. It is immutable
// and safe for concurrent use.
type Keychain struct {
	entries []credEntry // most specific first
}

var _ authn.Keychain = (*Keychain)(nil)

type credEntry struct {
	key    string // as written in the secret
	host   string // canonical host[:port], may contain "*" labels
	path   string // repository path prefix, "" for the whole registry
	secret int    // index of the secret it came from
	cfg    authn.AuthConfig
}

// dockerConfigEntry is one registry entry of .dockerconfigjson / .dockercfg.
type dockerConfigEntry struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	Email         string `json:"email,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// KeychainFromDockerConfigJSON builds a keychain from the data of image pull
// secrets: each is either the content of a kubernetes.io/dockerconfigjson
// secret's .dockerconfigjson ({"auths": {"host": {...}}}) or of the older
// kubernetes.io/dockercfg .dockercfg ({"host": {...}}). An entry gives
// "username"/"password", or "auth" (base64 of "user:password"), or an
// identity/registry token.
//
// Keys are matched as the kubelet matches them: a scheme ("https://") and a
// "/v1/" or "/v2/" suffix are ignored; a key with a path only matches
// repositories below that path; "*" matches one DNS label
// ("*.example.com"); a port must match exactly; "docker.io",
// "index.docker.io" and "registry-1.docker.io" are one registry. When
// several keys match, the most specific one wins (longest path, then the
// earlier secret).
func KeychainFromDockerConfigJSON(secrets ...[]byte) (*Keychain, error) {
	kc := &Keychain{}
	for i, data := range secrets {
		var top map[string]json.RawMessage
		if err := json.Unmarshal(data, &top); err != nil {
			return nil, fmt.Errorf("image pull secret #%d: not a docker config JSON: %w", i+1, err)
		}
		raw := top
		if a, ok := top["auths"]; ok {
			raw = nil
			if err := json.Unmarshal(a, &raw); err != nil {
				return nil, fmt.Errorf("image pull secret #%d: \"auths\": %w", i+1, err)
			}
		}
		for key, msg := range raw {
			var e dockerConfigEntry
			if err := json.Unmarshal(msg, &e); err != nil {
				return nil, fmt.Errorf("image pull secret #%d: entry %q: %w", i+1, key, err)
			}
			cfg := authn.AuthConfig{
				Username:      e.Username,
				Password:      e.Password,
				IdentityToken: e.IdentityToken,
				RegistryToken: e.RegistryToken,
			}
			if e.Auth != "" {
				dec, err := base64.StdEncoding.DecodeString(e.Auth)
				if err != nil {
					return nil, fmt.Errorf("image pull secret #%d: entry %q: \"auth\" is not base64: %w", i+1, key, err)
				}
				u, p, ok := strings.Cut(string(dec), ":")
				if !ok {
					return nil, fmt.Errorf("image pull secret #%d: entry %q: \"auth\" is not base64 of user:password", i+1, key)
				}
				cfg.Username, cfg.Password = u, p
			}
			if cfg == (authn.AuthConfig{}) {
				continue
			}
			host, p, err := parseCredKey(key)
			if err != nil {
				return nil, fmt.Errorf("image pull secret #%d: entry %q: %w", i+1, key, err)
			}
			kc.entries = append(kc.entries, credEntry{key: key, host: host, path: p, secret: i, cfg: cfg})
		}
	}
	sort.SliceStable(kc.entries, func(i, j int) bool {
		a, b := kc.entries[i], kc.entries[j]
		if len(a.path) != len(b.path) {
			return len(a.path) > len(b.path)
		}
		if wa, wb := strings.Contains(a.host, "*"), strings.Contains(b.host, "*"); wa != wb {
			return !wa
		}
		if a.secret != b.secret {
			return a.secret < b.secret
		}
		return a.key < b.key
	})
	return kc, nil
}

// parseCredKey splits a secret key into canonical host and path prefix.
func parseCredKey(key string) (host, p string, err error) {
	v := key
	if !strings.Contains(v, "://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", "", err
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("no registry host")
	}
	p = u.Path
	if strings.HasPrefix(p, "/v1/") || strings.HasPrefix(p, "/v2/") || p == "/v1" || p == "/v2" {
		p = p[3:]
	}
	p = strings.Trim(path.Clean("/"+p), "/")
	return canonicalHost(strings.ToLower(u.Host)), p, nil
}

// Resolve implements authn.Keychain. target is a repository
// ("host/path/name") or a registry ("host").
func (k *Keychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	host, repo, _ := strings.Cut(target.String(), "/")
	if reg := target.RegistryStr(); reg != "" && strings.HasPrefix(target.String(), reg) {
		host = reg
		repo = strings.TrimPrefix(strings.TrimPrefix(target.String(), reg), "/")
	}
	host = canonicalHost(strings.ToLower(host))
	for _, e := range k.entries {
		if !hostMatch(e.host, host) {
			continue
		}
		if e.path != "" && repo != e.path && !strings.HasPrefix(repo, e.path+"/") {
			continue
		}
		return &secretAuth{
			Authenticator: authn.FromConfig(e.cfg),
			desc:          fmt.Sprintf("tried user %q from image pull secret #%d entry %q", e.cfg.Username, e.secret+1, e.key),
		}, nil
	}
	return authn.Anonymous, nil
}

// hostMatch matches host[:port] against a pattern whose labels may be "*".
func hostMatch(pattern, host string) bool {
	ph, pp, _ := strings.Cut(pattern, ":")
	hh, hp, _ := strings.Cut(host, ":")
	if pp != hp {
		return false
	}
	pl, hl := strings.Split(ph, "."), strings.Split(hh, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if ok, _ := path.Match(pl[i], hl[i]); !ok {
			return false
		}
	}
	return true
}

// secretAuth is an authenticator that knows where it came from, for error
// messages.
type secretAuth struct {
	authn.Authenticator
	desc string
}

// resolveAuth picks the credentials for repo and describes them for an
// unauthorized error ("which credentials were tried").
func resolveAuth(kc authn.Keychain, repo authn.Resource) (authn.Authenticator, string, error) {
	if kc == nil {
		return authn.Anonymous, "no credentials tried: no image pull secret given", nil
	}
	a, err := kc.Resolve(repo)
	if err != nil {
		return nil, "", err
	}
	if a == nil || a == authn.Anonymous {
		return authn.Anonymous, fmt.Sprintf("no credentials tried: no image pull secret has an entry for %s", canonicalHost(repo.RegistryStr())), nil
	}
	if sa, ok := a.(*secretAuth); ok {
		return sa.Authenticator, sa.desc, nil
	}
	if cfg, err := a.Authorization(); err == nil && cfg.Username != "" {
		return a, fmt.Sprintf("tried user %q", cfg.Username), nil
	}
	return a, "tried the keychain's credentials", nil
}
