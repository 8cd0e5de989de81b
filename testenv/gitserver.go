package testenv

import (
	"errors"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// GitHTTPBackend is where Debian's git package puts git-http-backend.
const GitHTTPBackend = "/usr/lib/git-core/git-http-backend"

// GitServer serves the bare repositories under Root over Git's smart HTTP
// protocol (git-http-backend behind net/http/cgi), with pushes enabled and,
// when User is set, HTTP basic authentication. It is the rig's Git remote.
type GitServer struct {
	Root string
	// User and Password, when User is not empty, are required of clients.
	User, Password string

	srv *http.Server
	ln  net.Listener
}

// StartGitServer listens on addr (127.0.0.1:0 for a free port) and serves
// root. Close stops it.
func StartGitServer(addr, root, user, password string) (*GitServer, error) {
	if _, err := os.Stat(GitHTTPBackend); err != nil {
		return nil, errors.New("git-http-backend missing: install Debian's git package")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	g := &GitServer{Root: root, User: user, Password: password, ln: ln}
	backend := &cgi.Handler{
		Path: GitHTTPBackend,
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	g.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.User != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != g.User || p != g.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="shoal test git"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		backend.ServeHTTP(w, r)
	})}
	go g.srv.Serve(ln)
	return g, nil
}

// URL returns the clone URL of the repository name (a folder under Root).
func (g *GitServer) URL(name string) string {
	return "http://" + g.ln.Addr().String() + "/" + strings.TrimPrefix(name, "/")
}

// Close stops the server.
func (g *GitServer) Close() error { return g.srv.Close() }

// InitBareRepo makes an empty bare repository name under root that accepts
// pushes over HTTP.
func InitBareRepo(root, name string) (string, error) {
	dir := filepath.Join(root, name)
	if out, err := exec.Command("git", "init", "--bare", "--initial-branch=main", dir).CombinedOutput(); err != nil {
		return "", errors.New(strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("git", "-C", dir, "config", "http.receivepack", "true").CombinedOutput(); err != nil {
		return "", errors.New(strings.TrimSpace(string(out)))
	}
	return dir, nil
}
