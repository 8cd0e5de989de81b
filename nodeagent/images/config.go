package images

import (
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Config configures a Store. Build it with DefaultConfig and adjust.
type Config struct {
	// Root is the store's directory; everything lives below it. It must be
	// an absolute path on a filesystem that supports overlayfs lower dirs,
	// xattrs and device nodes (ext4, xfs).
	Root string
	// Mirrors maps a registry host to the mirror that serves it instead:
	// "docker.io" -> "http://127.0.0.1:5000". The key "index.docker.io"
	// is the same as "docker.io". The value is a host[:port] or a URL with
	// scheme http:// (plain HTTP) or https:// and no path. A mirror replaces
	// its registry: there is no fallback to the original, so a pull never
	// leaves the machine when the mirror is local. Images are recorded under
	// their original names.
	Mirrors map[string]string
	// Insecure lists registry hosts (host[:port]) spoken to over plain HTTP.
	// Loopback and RFC 1918 addresses are always allowed plain HTTP.
	Insecure []string
	// Platform chosen from multi-platform indexes, "os/arch[/variant]".
	// DefaultConfig sets the running platform.
	Platform string
	// Logger receives the store's logs; nil means slog.Default(). The store
	// adds component="images".
	Logger *slog.Logger
}

// DefaultConfig is the configuration of a node's store below root: no
// mirrors, the running platform, the default logger.
func DefaultConfig(root string) Config {
	return Config{
		Root:     root,
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// mirror is a parsed Config.Mirrors entry.
type mirror struct {
	host     string // host[:port] of the mirror
	insecure bool   // plain HTTP
}

// validate checks cfg and returns the parsed mirrors and platform.
func (cfg Config) validate() (map[string]mirror, map[string]bool, v1.Platform, error) {
	if cfg.Root == "" {
		return nil, nil, v1.Platform{}, fmt.Errorf("images: Config.Root is empty")
	}
	if !filepath.IsAbs(cfg.Root) {
		return nil, nil, v1.Platform{}, fmt.Errorf("images: Config.Root %q is not an absolute path", cfg.Root)
	}
	insecure := map[string]bool{}
	for _, h := range cfg.Insecure {
		h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(h, "http://"), "https://"), "/")
		if _, err := name.NewRegistry(h); err != nil || h == "" {
			return nil, nil, v1.Platform{}, fmt.Errorf("images: Config.Insecure: %q is not a registry host[:port]", h)
		}
		insecure[canonicalHost(h)] = true
	}
	mirrors := map[string]mirror{}
	for from, to := range cfg.Mirrors {
		key := canonicalHost(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(from, "https://"), "http://"), "/"))
		if _, err := name.NewRegistry(key); err != nil || key == "" {
			return nil, nil, v1.Platform{}, fmt.Errorf("images: Config.Mirrors: key %q is not a registry host[:port]", from)
		}
		m, err := parseMirror(to, insecure)
		if err != nil {
			return nil, nil, v1.Platform{}, fmt.Errorf("images: Config.Mirrors[%q]: %w", from, err)
		}
		mirrors[key] = m
	}
	p := cfg.Platform
	if p == "" {
		p = runtime.GOOS + "/" + runtime.GOARCH
	}
	plat, err := v1.ParsePlatform(p)
	if err != nil || plat.OS == "" || plat.Architecture == "" {
		return nil, nil, v1.Platform{}, fmt.Errorf("images: Config.Platform %q is not os/arch[/variant]", cfg.Platform)
	}
	return mirrors, insecure, *plat, nil
}

func parseMirror(s string, insecure map[string]bool) (mirror, error) {
	if s == "" {
		return mirror{}, fmt.Errorf("empty mirror")
	}
	if !strings.Contains(s, "://") {
		s = strings.TrimSuffix(s, "/")
		if _, err := name.NewRegistry(s); err != nil {
			return mirror{}, fmt.Errorf("%q is not a host[:port] or URL", s)
		}
		return mirror{host: s, insecure: insecure[s]}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return mirror{}, fmt.Errorf("%q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return mirror{}, fmt.Errorf("%q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return mirror{}, fmt.Errorf("%q: no host", s)
	}
	if u.Path != "" && u.Path != "/" && u.Path != "/v2" && u.Path != "/v2/" {
		return mirror{}, fmt.Errorf("%q: mirrors with a path are not supported", s)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return mirror{}, fmt.Errorf("%q: credentials, query and fragment are not allowed (give credentials through a pull secret)", s)
	}
	if _, err := name.NewRegistry(u.Host); err != nil {
		return mirror{}, fmt.Errorf("%q: %w", s, err)
	}
	return mirror{host: u.Host, insecure: u.Scheme == "http" || insecure[u.Host]}, nil
}
