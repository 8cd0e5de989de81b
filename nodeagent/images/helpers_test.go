package images

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// testTime is the mtime of every entry of the test layers.
var testTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// tarEntry describes one entry of a test layer.
type tarEntry struct {
	name     string
	typ      byte
	body     []byte
	mode     int64
	uid, gid int
	link     string
	major    int64
	minor    int64
	xattrs   map[string]string
}

func dir(n string) tarEntry { return tarEntry{name: n, typ: tar.TypeDir, mode: 0o755} }
func file(n, body string) tarEntry {
	return tarEntry{name: n, typ: tar.TypeReg, body: []byte(body), mode: 0o644}
}
func symlink(n, target string) tarEntry {
	return tarEntry{name: n, typ: tar.TypeSymlink, link: target, mode: 0o777}
}

// tarBytes writes entries as a tar stream.
func tarBytes(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:     e.name,
			Typeflag: e.typ,
			Mode:     e.mode,
			Uid:      e.uid,
			Gid:      e.gid,
			Linkname: e.link,
			Devmajor: e.major,
			Devminor: e.minor,
			ModTime:  testTime,
			Size:     int64(len(e.body)),
			Format:   tar.FormatPAX,
		}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		for k, v := range e.xattrs {
			if hdr.PAXRecords == nil {
				hdr.PAXRecords = map[string]string{}
			}
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func layerOf(t testing.TB, entries ...tarEntry) v1.Layer {
	t.Helper()
	b := tarBytes(t, entries...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithCompressedCaching)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// fixture holds the test images; they are built once per test binary.
type fixture struct {
	baseLayer, whiteoutLayer, opaqueLayer v1.Layer
	// base: busybox and a few files. app: base + a layer deleting
	// /etc/hello + a layer replacing /data. other: a distinct one-layer image.
	base, app, other v1.Image
	// index: base for the running platform, other for s390x (or amd64 on s390x).
	index   v1.ImageIndex
	busybox []byte
}

var (
	fixtureOnce sync.Once
	fixtureVal  *fixture
)

func testImages(t testing.TB) *fixture {
	t.Helper()
	fixtureOnce.Do(func() { fixtureVal = buildFixture(t) })
	if fixtureVal == nil {
		t.Fatal("test images could not be built")
	}
	return fixtureVal
}

func buildFixture(t testing.TB) *fixture {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("the tests build a busybox image from /bin/busybox (Debian busybox-static): %v", err)
	}
	f := &fixture{busybox: bb}
	hello := file("etc/hello", "hello\n")
	hello.mode, hello.uid, hello.gid = 0o640, 1000, 1001
	hello.xattrs = map[string]string{"user.shoal": "test"}
	su := tarEntry{name: "bin/su", typ: tar.TypeReg, body: []byte("#!/bin/sh\n"), mode: 0o4755}
	f.baseLayer = layerOf(t,
		dir("./"),
		dir("bin/"),
		tarEntry{name: "bin/busybox", typ: tar.TypeReg, body: bb, mode: 0o755},
		symlink("bin/sh", "busybox"),
		symlink("bin/ls", "busybox"),
		symlink("bin/cat", "/bin/busybox"),
		su,
		dir("etc/"),
		hello,
		tarEntry{name: "etc/hello-link", typ: tar.TypeLink, link: "etc/hello"},
		dir("data/"),
		file("data/a", "a\n"),
		file("data/b", "b\n"),
		dir("dev/"),
		tarEntry{name: "dev/null", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3},
		tarEntry{name: "dev/fifo", typ: tar.TypeFifo, mode: 0o600},
		tarEntry{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
	)
	f.whiteoutLayer = layerOf(t,
		dir("etc/"),
		file("etc/.wh.hello", ""),
	)
	f.opaqueLayer = layerOf(t,
		dir("data/"),
		file("data/.wh..wh..opq", ""),
		file("data/c", "c\n"),
	)
	f.base = configure(t, mustAppend(t, empty.Image, f.baseLayer), v1.Config{
		Cmd: []string{"sh"},
		Env: []string{"GREETING=hi"}, // no PATH: the store adds the default
		Labels: map[string]string{
			"org.opencontainers.image.title": "busybox",
		},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "53/udp": {}},
		StopSignal:   "SIGQUIT",
	})
	f.app = configure(t, mustAppend(t, f.base, f.whiteoutLayer, f.opaqueLayer), v1.Config{
		Entrypoint: []string{"/bin/busybox"},
		Cmd:        []string{"cat", "/data/c"},
		Env:        []string{"PATH=/bin"},
		WorkingDir: "/data",
		User:       "1000:1000",
	})
	f.other = configure(t, mustAppend(t, empty.Image, layerOf(t, dir("other/"), file("other/x", "x"))), v1.Config{Cmd: []string{"x"}})
	otherArch := "s390x"
	if runtime.GOARCH == otherArch {
		otherArch = "amd64"
	}
	f.index = mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: f.other, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: otherArch}}},
		mutate.IndexAddendum{Add: f.base, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}}},
	)
	return f
}

func mustAppend(t testing.TB, base v1.Image, ls ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(base, ls...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func configure(t testing.TB, img v1.Image, c v1.Config) v1.Image {
	t.Helper()
	img, err := mutate.Config(img, c)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.CreatedAt(img, v1.Time{Time: testTime})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// testRegistry is an in-process registry on a real 127.0.0.1 listener.
type testRegistry struct {
	host  string // 127.0.0.1:PORT
	user  string // basic auth user, "" for none
	pass  string
	mu    sync.Mutex
	blobs map[string]int // GETs per blob digest
	gets  atomic.Int64
}

type regOption func(*testRegistry)

func withBasicAuth(user, pass string) regOption {
	return func(r *testRegistry) { r.user, r.pass = user, pass }
}

func startRegistry(t testing.TB, opts ...regOption) *testRegistry {
	t.Helper()
	r := &testRegistry{blobs: map[string]int{}}
	for _, o := range opts {
		o(r)
	}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.user != "" {
			u, p, ok := req.BasicAuth()
			if !ok || u != r.user || p != r.pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="shoal-test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": "UNAUTHORIZED", "message": "authentication required"}}})
				return
			}
		}
		if req.Method == http.MethodGet {
			if i := strings.Index(req.URL.Path, "/blobs/sha256:"); i >= 0 {
				r.mu.Lock()
				r.blobs[req.URL.Path[i+len("/blobs/"):]]++
				r.mu.Unlock()
			}
		}
		h.ServeHTTP(w, req)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // https probes of the plain-HTTP server
	srv.Start()
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// blobGets returns how often the registry served the blob.
func (r *testRegistry) blobGets(digest string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.blobs[digest]
}

func (r *testRegistry) auth() remote.Option {
	if r.user == "" {
		return remote.WithAuth(authn.Anonymous)
	}
	return remote.WithAuth(&authn.Basic{Username: r.user, Password: r.pass})
}

// push writes img (or an index) to repo:tag on the registry and returns
// "host/repo:tag".
func (r *testRegistry) push(t testing.TB, repoTag string, x any) string {
	t.Helper()
	ref, err := name.ParseReference(r.host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	switch v := x.(type) {
	case v1.Image:
		err = remote.Write(ref, v, r.auth())
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, v, r.auth())
	default:
		t.Fatalf("push %T", x)
	}
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return r.host + "/" + repoTag
}

// newStore opens a store below a fresh temporary directory.
func newStore(t testing.TB, edit ...func(*Config)) *Store {
	t.Helper()
	cfg := DefaultConfig(filepath.Join(t.TempDir(), "images"))
	for _, e := range edit {
		e(&cfg)
	}
	return openStore(t, cfg)
}

func openStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// requireRoot skips tests that create device nodes, chown files or set
// trusted.* xattrs.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("unpacking layers needs root (mknod, chown, trusted.* xattrs); run the tests as root")
	}
}

// layerDirs lists the unpacked layer directories of a store.
func layerDirs(t testing.TB, s *Store) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.Root(), layersDir, "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}
