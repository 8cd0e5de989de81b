package images

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func TestPull(t *testing.T) {
	requireRoot(t)
	f := testImages(t)
	reg := startRegistry(t)
	reg.push(t, "app:v1", f.app)
	reg.push(t, "library/busybox:1.36", f.base)
	reg.push(t, "multi:latest", f.index)
	mirror := startRegistry(t)
	mirror.push(t, "library/busybox:1.36", f.base)
	mirror.push(t, "team/tool:2", f.app)

	baseDigest, appDigest := digestOf(t, f.base), digestOf(t, f.app)
	tests := []struct {
		name       string
		cfg        func(*Config)
		ref        string
		wantRef    string
		wantDigest string
		wantIndex  string
		wantLayers int
	}{
		{name: "by tag", ref: reg.host + "/app:v1",
			wantRef: reg.host + "/app:v1", wantDigest: appDigest, wantLayers: 3},
		{name: "by digest", ref: reg.host + "/app@" + appDigest,
			wantRef: reg.host + "/app@" + appDigest, wantDigest: appDigest, wantLayers: 3},
		{name: "tag and digest keeps the digest", ref: reg.host + "/app:v1@" + appDigest,
			wantRef: reg.host + "/app@" + appDigest, wantDigest: appDigest, wantLayers: 3},
		{name: "index picks the running platform", ref: reg.host + "/multi",
			wantRef: reg.host + "/multi:latest", wantDigest: baseDigest, wantIndex: digestOf(t, f.index), wantLayers: 1},
		{name: "short name through a docker.io mirror (URL)", ref: "busybox:1.36",
			cfg:     func(c *Config) { c.Mirrors = map[string]string{"docker.io": "http://" + mirror.host} },
			wantRef: "docker.io/library/busybox:1.36", wantDigest: baseDigest, wantLayers: 1},
		{name: "index.docker.io mirror key, host-only value, Insecure", ref: "docker.io/team/tool:2",
			cfg: func(c *Config) {
				c.Mirrors = map[string]string{"index.docker.io": mirror.host}
				c.Insecure = []string{mirror.host}
			},
			wantRef: "docker.io/team/tool:2", wantDigest: appDigest, wantLayers: 3},
		{name: "mirror for a private registry", ref: "registry.example.com/library/busybox:1.36",
			cfg:     func(c *Config) { c.Mirrors = map[string]string{"registry.example.com": "http://" + mirror.host + "/"} },
			wantRef: "registry.example.com/library/busybox:1.36", wantDigest: baseDigest, wantLayers: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var edits []func(*Config)
			if tt.cfg != nil {
				edits = append(edits, tt.cfg)
			}
			s := newStore(t, edits...)
			var mu sync.Mutex
			var progress []Progress
			img, err := s.Pull(context.Background(), tt.ref, PullOptions{Progress: func(p Progress) {
				mu.Lock()
				progress = append(progress, p)
				mu.Unlock()
			}})
			if err != nil {
				t.Fatalf("Pull(%q): %v", tt.ref, err)
			}
			if img.Ref != tt.wantRef || img.Digest != tt.wantDigest || img.IndexDigest != tt.wantIndex {
				t.Errorf("Pull(%q) = ref %q digest %s index %q, want %q %s %q", tt.ref, img.Ref, img.Digest, img.IndexDigest, tt.wantRef, tt.wantDigest, tt.wantIndex)
			}
			if len(img.Layers) != tt.wantLayers {
				t.Errorf("Layers = %v, want %d", img.Layers, tt.wantLayers)
			}
			for _, l := range img.Layers {
				if fi, err := os.Stat(l); err != nil || !fi.IsDir() || !strings.HasPrefix(l, s.Root()+"/layers/sha256/") {
					t.Errorf("layer %s: not a directory below the store: %v", l, err)
				}
			}
			if !strings.HasPrefix(img.ID, "sha256:") || img.Size < int64(len(f.busybox)) || !img.Created.Equal(testTime) {
				t.Errorf("ID %q Size %d Created %v", img.ID, img.Size, img.Created)
			}
			got, err := s.Get(tt.wantRef)
			if err != nil || got.Digest != img.Digest {
				t.Errorf("Get(%q) = %v, %v", tt.wantRef, got, err)
			}
			// Every layer reported done, with its bytes.
			done := map[string]Progress{}
			for _, p := range progress {
				if p.Ref != tt.wantRef || p.Count != tt.wantLayers {
					t.Errorf("progress %+v: want ref %q, count %d", p, tt.wantRef, tt.wantLayers)
				}
				if p.Done {
					done[p.Layer] = p
				}
			}
			if len(done) != tt.wantLayers {
				t.Errorf("progress: %d layers done, want %d: %+v", len(done), tt.wantLayers, progress)
			}
			for _, p := range done {
				if p.Cached || p.Total <= 0 || p.Complete != p.Total {
					t.Errorf("final progress %+v: want Complete == Total > 0, not cached", p)
				}
			}
		})
	}
}

func TestPullConfig(t *testing.T) {
	requireRoot(t)
	f := testImages(t)
	reg := startRegistry(t)
	s := newStore(t)
	base, err := s.Pull(context.Background(), reg.push(t, "base:1", f.base), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	app, err := s.Pull(context.Background(), reg.push(t, "app:1", f.app), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"default PATH added", base.Config.Env, []string{"GREETING=hi", "PATH=" + DefaultPath}},
		{"own PATH kept", app.Config.Env, []string{"PATH=/bin"}},
		{"cmd", base.Config.Cmd, []string{"sh"}},
		{"entrypoint", app.Config.Entrypoint, []string{"/bin/busybox"}},
		{"app cmd", app.Config.Cmd, []string{"cat", "/data/c"}},
		{"workdir", app.Config.WorkingDir, "/data"},
		{"user", app.Config.User, "1000:1000"},
		{"ports sorted", base.Config.ExposedPorts, []string{"53/udp", "8080/tcp"}},
		{"label", base.Config.Labels["org.opencontainers.image.title"], "busybox"},
		{"stop signal", base.Config.StopSignal, "SIGQUIT"},
		{"diff IDs", len(app.DiffIDs), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if fmt.Sprint(tt.got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestPullErrors(t *testing.T) {
	f := testImages(t)
	reg := startRegistry(t)
	reg.push(t, "app:v1", f.app)
	reg.push(t, "multi:latest", f.index)
	locked := startRegistry(t, withBasicAuth("alice", "s3cret"))
	locked.push(t, "private:v1", f.base)

	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	wrong, err := KeychainFromDockerConfigJSON([]byte(fmt.Sprintf(`{"auths":{%q:{"username":"alice","password":"nope"}}}`, locked.host)))
	if err != nil {
		t.Fatal(err)
	}
	otherHost, err := KeychainFromDockerConfigJSON([]byte(`{"auths":{"quay.io":{"username":"bob","password":"x"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		cfg      func(*Config)
		ref      string
		opts     PullOptions
		want     error
		contains []string
	}{
		{name: "unknown tag", ref: reg.host + "/app:v2", want: ErrImageNotInRegistry,
			contains: []string{`image "` + reg.host + `/app:v2" not found in registry ` + reg.host}},
		{name: "unknown repository", ref: reg.host + "/nope/app", want: ErrImageNotInRegistry,
			contains: []string{`image "` + reg.host + `/nope/app:latest" not found in registry ` + reg.host}},
		{name: "unknown digest", ref: reg.host + "/app@sha256:" + strings.Repeat("ab", 32), want: ErrImageNotInRegistry,
			contains: []string{"not found in registry " + reg.host}},
		{name: "no variant for the platform", ref: reg.host + "/multi:latest", want: ErrImageNotInRegistry,
			cfg:      func(c *Config) { c.Platform = "linux/riscv64" },
			contains: []string{"not found in registry", "no linux/riscv64 variant"}},
		{name: "unknown image through a mirror", ref: "nosuch:1", want: ErrImageNotInRegistry,
			cfg:      func(c *Config) { c.Mirrors = map[string]string{"docker.io": "http://" + reg.host} },
			contains: []string{`image "docker.io/library/nosuch:1" not found in registry ` + reg.host + " (mirror of docker.io)"}},
		{name: "401 without credentials", ref: locked.host + "/private:v1", want: ErrUnauthorized,
			contains: []string{locked.host + "/private:v1", "registry " + locked.host + " refused access", "no image pull secret given"}},
		{name: "401 with a secret for another registry", ref: locked.host + "/private:v1", want: ErrUnauthorized,
			opts:     PullOptions{Keychain: otherHost},
			contains: []string{"no image pull secret has an entry for " + locked.host}},
		{name: "401 with wrong credentials", ref: locked.host + "/private:v1", want: ErrUnauthorized,
			opts:     PullOptions{Keychain: wrong},
			contains: []string{`tried user "alice" from image pull secret #1 entry "` + locked.host + `"`}},
		{name: "connection refused", ref: closed + "/app:v1", want: ErrRegistryUnreachable,
			contains: []string{"registry " + closed + " unreachable", "connection refused"}},
		{name: "mirror down", ref: "busybox", want: ErrRegistryUnreachable,
			cfg:      func(c *Config) { c.Mirrors = map[string]string{"docker.io": "http://" + closed} },
			contains: []string{"registry " + closed + " (mirror of docker.io) unreachable", "docker.io/library/busybox:latest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var edits []func(*Config)
			if tt.cfg != nil {
				edits = append(edits, tt.cfg)
			}
			s := newStore(t, edits...)
			_, err := s.Pull(context.Background(), tt.ref, tt.opts)
			t.Logf("error: %v", err)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Pull(%q) = %v, want errors.Is %v", tt.ref, err, tt.want)
			}
			for _, sentinel := range []error{ErrNotFound, ErrImageNotInRegistry, ErrUnauthorized, ErrRegistryUnreachable} {
				if sentinel != tt.want && errors.Is(err, sentinel) {
					t.Errorf("error also matches %v", sentinel)
				}
			}
			var pe *PullError
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *PullError", err)
			}
			for _, c := range tt.contains {
				if !strings.Contains(err.Error(), c) {
					t.Errorf("error %q does not contain %q", err, c)
				}
			}
			if _, err := s.Get(tt.ref); !errors.Is(err, ErrNotFound) {
				t.Errorf("after a failed pull Get = %v, want ErrNotFound", err)
			}
		})
	}
	t.Run("connection refused keeps the syscall error", func(t *testing.T) {
		_, err := newStore(t).Pull(context.Background(), closed+"/app:v1", PullOptions{})
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("error %v does not wrap ECONNREFUSED", err)
		}
	})
	t.Run("cancelled context is not classified", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := newStore(t).Pull(ctx, reg.host+"/app:v1", PullOptions{})
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrRegistryUnreachable) {
			t.Errorf("Pull with a cancelled context = %v", err)
		}
	})
	t.Run("invalid reference", func(t *testing.T) {
		_, err := newStore(t).Pull(context.Background(), "Not/Valid:ref:x", PullOptions{})
		if err == nil || !strings.Contains(err.Error(), "invalid image reference") {
			t.Errorf("Pull of an invalid reference = %v", err)
		}
	})
}

func TestPullWithPullSecret(t *testing.T) {
	requireRoot(t)
	f := testImages(t)
	locked := startRegistry(t, withBasicAuth("alice", "s3cret"))
	ref := locked.push(t, "private:v1", f.base)
	tests := []struct {
		name   string
		secret string
	}{
		{"dockerconfigjson username/password", fmt.Sprintf(`{"auths":{%q:{"username":"alice","password":"s3cret"}}}`, locked.host)},
		{"dockerconfigjson auth, https:// key", fmt.Sprintf(`{"auths":{"https://%s":{"auth":"YWxpY2U6czNjcmV0"}}}`, locked.host)},
		{"dockercfg (legacy) with path key", fmt.Sprintf(`{"%s/private":{"auth":"YWxpY2U6czNjcmV0","email":"a@example.com"}}`, locked.host)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc, err := KeychainFromDockerConfigJSON([]byte(`{"auths":{"quay.io":{"auth":"Ym9iOng="}}}`), []byte(tt.secret))
			if err != nil {
				t.Fatal(err)
			}
			img, err := newStore(t).Pull(context.Background(), ref, PullOptions{Keychain: kc})
			if err != nil {
				t.Fatalf("Pull with the secret: %v", err)
			}
			if img.Digest != digestOf(t, f.base) {
				t.Errorf("digest %s", img.Digest)
			}
		})
	}
}

func TestLayerSharing(t *testing.T) {
	requireRoot(t)
	f := testImages(t)
	reg := startRegistry(t)
	s := newStore(t)
	base, err := s.Pull(context.Background(), reg.push(t, "base:1", f.base), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cached []bool
	app, err := s.Pull(context.Background(), reg.push(t, "app:1", f.app), PullOptions{Progress: func(p Progress) {
		if p.Done {
			cached = append(cached, p.Cached)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if app.Layers[0] != base.Layers[0] {
		t.Fatalf("base layer not shared: %s vs %s", app.Layers[0], base.Layers[0])
	}
	if n := len(layerDirs(t, s)); n != 3 {
		t.Errorf("%d layer directories, want 3 (base shared)", n)
	}
	if got := reg.blobGets(digestOf(t, f.baseLayer)); got != 1 {
		t.Errorf("base layer fetched %d times, want 1", got)
	}
	if slices.Index(cached, true) < 0 || slices.Index(cached, false) < 0 {
		t.Errorf("progress cached flags %v: want the base cached, the others not", cached)
	}
	var a, b syscall.Stat_t
	if err := syscall.Stat(filepath.Join(base.Layers[0], "bin/busybox"), &a); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(filepath.Join(app.Layers[0], "bin/busybox"), &b); err != nil {
		t.Fatal(err)
	}
	if a.Ino != b.Ino || a.Dev != b.Dev {
		t.Errorf("bin/busybox inodes differ: %d vs %d", a.Ino, b.Ino)
	}
	if app.Size <= base.Size {
		t.Errorf("app size %d <= base size %d", app.Size, base.Size)
	}
}

// TestConcurrentPulls pulls one image from many goroutines through two
// stores on one Root (as two processes would): every layer is fetched and
// unpacked once and every pull succeeds.
func TestConcurrentPulls(t *testing.T) {
	requireRoot(t)
	f := testImages(t)
	reg := startRegistry(t)
	ref := reg.push(t, "app:v1", f.app)
	s1 := newStore(t)
	s2 := openStore(t, DefaultConfig(s1.Root()))

	const perStore = 6
	var wg sync.WaitGroup
	errs := make(chan error, 2*perStore)
	digests := make(chan string, 2*perStore)
	for i := 0; i < 2*perStore; i++ {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			img, err := s.Pull(context.Background(), ref, PullOptions{})
			if err != nil {
				errs <- err
				return
			}
			digests <- img.Digest
		}()
	}
	wg.Wait()
	close(errs)
	close(digests)
	for err := range errs {
		t.Error(err)
	}
	for d := range digests {
		if d != digestOf(t, f.app) {
			t.Errorf("digest %s", d)
		}
	}
	for i, l := range []string{digestOf(t, f.baseLayer), digestOf(t, f.whiteoutLayer), digestOf(t, f.opaqueLayer)} {
		if n := reg.blobGets(l); n != 1 {
			t.Errorf("layer %d fetched %d times, want 1", i, n)
		}
	}
	if n := len(layerDirs(t, s1)); n != 3 {
		t.Errorf("%d layer directories, want 3", n)
	}
	if ents, _ := os.ReadDir(filepath.Join(s1.Root(), tmpDir)); len(ents) != 0 {
		t.Errorf("temporary entries left: %v", ents)
	}
	list, err := s2.List()
	if err != nil || len(list) != 1 {
		t.Errorf("List = %v, %v", list, err)
	}
}
