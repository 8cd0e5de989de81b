package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RepoName is the bare repository the rig's agents follow.
const RepoName = "cluster.git"

// serveInfo is DIR/serve.json: where the servers listen, written once
// both do.
type serveInfo struct {
	PID          int    `json:"pid"`
	GitAddr      string `json:"gitAddr"`
	RegistryAddr string `json:"registryAddr"`
}

// servers are the rig's Git remote and OCI registry, on the root
// namespace's lab address.
type servers struct {
	git      *GitServer
	registry *http.Server
	regAddr  string
}

// startServers starts the Git server (basic auth with the rig's user and
// password) and the registry (blobs on disk under DIR/registry), both on
// st.HostAddr with ports chosen by the kernel. logw gets the registry's
// request log.
func startServers(st *State, logw io.Writer) (*servers, error) {
	pw, err := readSecret(filepath.Join(st.Dir, GitPasswordFile))
	if err != nil {
		return nil, err
	}
	git, err := StartGitServer(net.JoinHostPort(st.HostAddr, "0"), st.GitRoot, st.GitUser, pw)
	if err != nil {
		return nil, fmt.Errorf("start Git server on %s: %w", st.HostAddr, err)
	}
	blobs := filepath.Join(st.Dir, "registry")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		git.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(st.HostAddr, "0"))
	if err != nil {
		git.Close()
		return nil, fmt.Errorf("start registry on %s: %w", st.HostAddr, err)
	}
	h := registry.New(registry.WithBlobHandler(registry.NewDiskBlobHandler(blobs)), registry.Logger(log.New(logw, "registry: ", log.LstdFlags)))
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return &servers{git: git, registry: srv, regAddr: ln.Addr().String()}, nil
}

func (s *servers) gitAddr() string { return s.git.ln.Addr().String() }

func (s *servers) Close() error {
	return errors.Join(s.git.Close(), s.registry.Close())
}

// Serve is `shoal testenv serve`: it runs the rig's Git server and
// registry until ctx ends, after writing where they listen to
// DIR/serve.json. `up` starts it as a daemon and waits for that file.
func Serve(ctx context.Context, dir string, logw io.Writer) error {
	st, err := LoadState(dir)
	if err != nil {
		return err
	}
	s, err := startServers(st, logw)
	if err != nil {
		return err
	}
	defer s.Close()
	info := serveInfo{PID: os.Getpid(), GitAddr: s.gitAddr(), RegistryAddr: s.regAddr}
	b, _ := json.Marshal(info)
	if err := writeFileAtomic(filepath.Join(dir, ServeFile), b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(logw, "serving git on %s and the registry on %s\n", info.GitAddr, info.RegistryAddr)
	<-ctx.Done()
	fmt.Fprintln(logw, "stopping")
	return nil
}

// checkServers returns nil when the Git server answers an authenticated
// ref advertisement of the cluster repository and the registry its
// catalog, each with the body it should.
func checkServers(ctx context.Context, gitAddr, regAddr, user, password string) error {
	c := &http.Client{Timeout: 2 * time.Second}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+gitAddr+"/"+RepoName+"/info/refs?service=git-upload-pack", nil)
	req.SetBasicAuth(user, password)
	if err := expectBody(c, req, "# service=git-upload-pack"); err != nil {
		return fmt.Errorf("git server: %w", err)
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://"+regAddr+"/v2/_catalog", nil)
	if err := expectBody(c, req, `"repositories"`); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}

func expectBody(c *http.Client, req *http.Request, want string) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
		return fmt.Errorf("%s %s: %s, body %q (want %q)", req.Method, req.URL.Redacted(), resp.Status, b, want)
	}
	return nil
}

// TestImages are the images preloaded into the rig's registry, by the
// name a docker.io mirror is asked for. testapp is there only when the
// rig knows a shoal source tree.
var TestImages = []string{"library/busybox:latest", "library/busybox:test", "library/testapp:test"}

// preloadRegistry pushes busybox (as :latest and :test) and, when
// moduleRoot is set, the test app to the registry at addr (plain HTTP).
func preloadRegistry(ctx context.Context, addr, moduleRoot string) ([]string, error) {
	bb, err := BusyboxImage()
	if err != nil {
		return nil, err
	}
	imgs := map[string]v1.Image{"library/busybox:latest": bb, "library/busybox:test": bb}
	if moduleRoot != "" {
		app, err := TestAppImage(ctx, moduleRoot)
		if err != nil {
			return nil, err
		}
		imgs["library/testapp:test"] = app
	}
	var pushed []string
	for _, n := range TestImages {
		img, ok := imgs[n]
		if !ok {
			continue
		}
		ref, err := name.NewTag(addr+"/"+n, name.Insecure)
		if err != nil {
			return pushed, err
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			return pushed, fmt.Errorf("push %s to the rig's registry: %w", ref, err)
		}
		pushed = append(pushed, n)
	}
	return pushed, nil
}
