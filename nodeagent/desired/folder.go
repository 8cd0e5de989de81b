// Package desired gives a node its desired state. A Source delivers whole
// manifest Sets, each replacing the last; the node converges to the newest
// one and keeps running it when the source fails. The folder source serves
// `shoal up --manifests DIR`; the cluster's transport plugs into the same
// seam.
package desired

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shoal-run/shoal/manifests"
)

// Source delivers desired states.
type Source interface {
	// Run calls apply with every new desired state until ctx ends. apply is
	// called from one goroutine at a time. Run returns ctx.Err() when ctx
	// ends, or an error that stops the source for good.
	Run(ctx context.Context, apply func(*manifests.Set)) error
}

// FolderConfig configures a FolderSource.
type FolderConfig struct {
	// Dir holds the manifests (read as manifests.Load reads a tree).
	Dir string
	// Interval is how often the folder is checked for changes.
	Interval time.Duration
	Logger   *slog.Logger
}

// DefaultFolderConfig checks dir every second.
func DefaultFolderConfig(dir string) FolderConfig {
	return FolderConfig{Dir: dir, Interval: time.Second, Logger: slog.Default()}
}

// FolderSource reads a folder of manifests and delivers it again whenever a
// file changes. A version that fails to load is reported (Status) and
// changes nothing: the last good state stays in force.
type FolderSource struct {
	cfg FolderConfig

	mu      sync.Mutex
	status  Status
	lastSum string
}

// Status is what a source last did.
type Status struct {
	// Applied is when the state in force was delivered (zero before any).
	Applied time.Time
	// Digest identifies the files of the state in force.
	Digest string
	// Error is the last failure to load, cleared by the next good load.
	Error error
}

// NewFolderSource checks the configuration.
func NewFolderSource(cfg FolderConfig) (*FolderSource, error) {
	if cfg.Dir == "" {
		return nil, errors.New("desired: folder source needs a folder")
	}
	st, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, errors.New("desired: " + cfg.Dir + " is not a folder")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = cfg.Logger.With("component", "desired", "dir", cfg.Dir)
	return &FolderSource{cfg: cfg}, nil
}

// Status returns what the source last did.
func (f *FolderSource) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

// Run implements Source.
func (f *FolderSource) Run(ctx context.Context, apply func(*manifests.Set)) error {
	t := time.NewTicker(f.cfg.Interval)
	defer t.Stop()
	for {
		f.check(apply)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// check loads the folder when its files changed since the last check.
func (f *FolderSource) check(apply func(*manifests.Set)) {
	fsys := os.DirFS(f.cfg.Dir)
	sum, err := treeDigest(fsys)
	if err != nil {
		f.fail(err)
		return
	}
	f.mu.Lock()
	same := sum == f.lastSum
	f.mu.Unlock()
	if same {
		return
	}
	res := manifests.Read(manifests.Input{FS: fsys, Name: f.cfg.Dir})
	set, err := res.Set()
	f.mu.Lock()
	f.lastSum = sum
	f.mu.Unlock()
	if err != nil {
		f.fail(err)
		return
	}
	for _, w := range set.Warnings() {
		f.cfg.Logger.Warn("manifest warning", "diagnostic", w.String())
	}
	f.mu.Lock()
	f.status = Status{Applied: time.Now(), Digest: sum}
	f.mu.Unlock()
	f.cfg.Logger.Info("desired state loaded", "objects", set.Len(), "digest", sum[:12])
	apply(set)
}

func (f *FolderSource) fail(err error) {
	f.mu.Lock()
	f.status.Error = err
	f.mu.Unlock()
	f.cfg.Logger.Error("desired state not loaded; the last good state stays in force", "error", err)
}

// treeDigest hashes the names, sizes, modes and contents of the manifest
// files in fsys, so that any change is seen and nothing else triggers a
// reload.
func treeDigest(fsys fs.FS) (string, error) {
	var names []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		switch strings.ToLower(path.Ext(p)) {
		case ".yaml", ".yml", ".json":
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return "", err
		}
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(data)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
