package gitsource

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Auth holds the credentials for the remote. Set at most one of the two
// kinds: Username/Password (HTTP basic auth, for http and https URLs; a
// token goes in Password) or SSHPrivateKey with SSHKnownHosts (for ssh URLs).
type Auth struct {
	// Username and Password are HTTP basic-auth credentials.
	Username, Password string
	// SSHUser is the ssh login, "git" when empty.
	SSHUser string
	// SSHPrivateKey is a PEM-encoded private key.
	SSHPrivateKey []byte
	// SSHKeyPassphrase decrypts SSHPrivateKey when it is encrypted.
	SSHKeyPassphrase string
	// SSHKnownHosts is the content of a known_hosts file; it is required
	// with SSHPrivateKey: a host key is always verified.
	SSHKnownHosts []byte
}

func (a Auth) isSSH() bool  { return len(a.SSHPrivateKey) > 0 }
func (a Auth) isHTTP() bool { return a.Username != "" || a.Password != "" }

// Config configures a Source. Make one with DefaultConfig and change what
// differs; New validates it.
type Config struct {
	// URL is the remote repository: http(s)://, ssh:// or scp-like
	// user@host:path, or file:// (tests).
	URL string
	// Branch is the branch whose head is the desired state ("main").
	Branch string
	// Path is the folder inside the repository holding the manifests, slash
	// separated and relative to the repository root ("." for all of it).
	Path string
	// CacheDir is the folder under which the local clone lives, one
	// sub-folder per repository URL. It is created when missing. Two
	// Sources must not share a CacheDir for the same URL.
	CacheDir string
	// Auth holds the credentials; the zero value means anonymous.
	Auth Auth
	// PollInterval is how often Run lists the remote refs (5s).
	PollInterval time.Duration
	// MaxBackoff caps Run's exponential back-off after errors (1 minute).
	MaxBackoff time.Duration
	// Timeout bounds each network operation (ref listing, fetch) (1 minute).
	Timeout time.Duration
	// Logger receives the Source's logs, with component="gitsource".
	// Nil means slog.Default().
	Logger *slog.Logger
	// Observe, if set, is called by Run after every sync with how long it
	// took and its error (nil for success, including "unchanged"), for
	// metrics. It must not block.
	Observe func(d time.Duration, err error)
}

// DefaultConfig returns a Config for url with branch "main", the whole
// repository as Path, a 5s PollInterval and a 1 minute back-off cap. The
// caller must still set CacheDir.
func DefaultConfig(url string) Config {
	return Config{
		URL:          url,
		Branch:       "main",
		Path:         ".",
		PollInterval: 5 * time.Second,
		MaxBackoff:   time.Minute,
		Timeout:      time.Minute,
	}
}

// withDefaults fills zero fields with DefaultConfig's values.
func (c Config) withDefaults() Config {
	d := DefaultConfig(c.URL)
	if c.Branch == "" {
		c.Branch = d.Branch
	}
	if c.Path == "" {
		c.Path = d.Path
	}
	if c.PollInterval <= 0 {
		c.PollInterval = d.PollInterval
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = d.MaxBackoff
	}
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every problem of the Config (after defaults), joined.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	scheme := ""
	switch {
	case c.URL == "":
		errs = append(errs, errors.New("gitsource: URL is required"))
	case strings.Contains(c.URL, "://"):
		u, err := url.Parse(c.URL)
		if err != nil {
			errs = append(errs, fmt.Errorf("gitsource: URL: %v", err))
			break
		}
		scheme = u.Scheme
		switch scheme {
		case "http", "https", "ssh", "file", "git":
		default:
			errs = append(errs, fmt.Errorf("gitsource: URL scheme %q: want http, https, ssh, git or file", scheme))
		}
		if u.User != nil {
			if _, has := u.User.Password(); has {
				errs = append(errs, errors.New("gitsource: URL must not hold a password: use Auth"))
			}
		}
	case strings.Contains(c.URL, ":"):
		scheme = "ssh" // scp-like user@host:path
	default:
		errs = append(errs, fmt.Errorf("gitsource: URL %q is not a URL", c.URL))
	}
	if strings.ContainsAny(c.Branch, " ~^:?*[\\") || strings.HasPrefix(c.Branch, "-") ||
		strings.HasPrefix(c.Branch, "refs/") || strings.Contains(c.Branch, "..") {
		errs = append(errs, fmt.Errorf("gitsource: Branch %q is not a branch name (give it without refs/heads/)", c.Branch))
	}
	if !fs.ValidPath(cleanPath(c.Path)) {
		errs = append(errs, fmt.Errorf("gitsource: Path %q must be a clean slash-separated folder inside the repository", c.Path))
	}
	if c.CacheDir == "" {
		errs = append(errs, errors.New("gitsource: CacheDir is required"))
	}
	if c.Auth.isSSH() && c.Auth.isHTTP() {
		errs = append(errs, errors.New("gitsource: Auth: set either basic-auth credentials or an ssh key, not both"))
	}
	if c.Auth.isSSH() && len(c.Auth.SSHKnownHosts) == 0 {
		errs = append(errs, errors.New("gitsource: Auth: an ssh key needs SSHKnownHosts (host keys are always verified)"))
	}
	if c.Auth.isSSH() && scheme != "" && scheme != "ssh" {
		errs = append(errs, fmt.Errorf("gitsource: Auth: an ssh key cannot be used with a %s URL", scheme))
	}
	if c.Auth.isHTTP() && scheme != "" && scheme != "http" && scheme != "https" {
		errs = append(errs, fmt.Errorf("gitsource: Auth: basic auth cannot be used with a %s URL", scheme))
	}
	return errors.Join(errs...)
}

// cleanPath turns a configured Path into an fs.FS path: no trailing slash,
// "." for the root.
func cleanPath(p string) string {
	p = strings.TrimSuffix(strings.TrimPrefix(p, "./"), "/")
	if p == "" {
		return "."
	}
	return p
}
