package images

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Store is a node's image store below Config.Root.
//
// All methods are safe for concurrent use by many goroutines, and several
// processes may open the same Root at once (the agent pulling while
// `shoal image ls` reads): writers serialize on flock(2) locks below
// Root/locks and every metadata file is replaced by an atomic rename, so a
// reader never sees a torn file and needs no lock.
type Store struct {
	root     string
	log      *slog.Logger
	mirrors  map[string]mirror
	insecure map[string]bool
	platform v1.Platform

	mu      sync.Mutex
	flights map[string]*flight // layer unpacks in progress in this process, by diff ID
}

// Paths below Root.
const (
	refsFile   = "refs.json"
	imagesDir  = "images"
	layersDir  = "layers"
	locksDir   = "locks"
	tmpDir     = "tmp"
	storeLock  = "store.lock" // in locksDir: metadata writes (refs.json, images/)
	gcLock     = "gc.lock"    // in locksDir: shared by pulls/imports in flight, exclusive for GC
	recordFile = "image.json"
)

// Open validates cfg, creates the directories below cfg.Root and returns the
// store. Opening a Root that another process has open is safe. Open cleans
// leftovers of interrupted pulls when no pull is in flight.
func Open(cfg Config) (*Store, error) {
	mirrors, insecure, plat, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Store{
		root:     filepath.Clean(cfg.Root),
		log:      log.With("component", "images"),
		mirrors:  mirrors,
		insecure: insecure,
		platform: plat,
		flights:  map[string]*flight{},
	}
	for _, d := range []string{
		s.root,
		filepath.Join(s.root, imagesDir, "sha256"),
		filepath.Join(s.root, layersDir, "sha256"),
		filepath.Join(s.root, locksDir),
		filepath.Join(s.root, tmpDir),
	} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
	}
	// Lower dirs must be traversable by container users other than root.
	for _, d := range []string{s.root, filepath.Join(s.root, layersDir), filepath.Join(s.root, layersDir, "sha256")} {
		if err := os.Chmod(d, 0o711); err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
	}
	if gl, err := tryLockFile(s.lockPath(gcLock), false); err == nil && gl != nil {
		s.cleanTmp()
		gl.Unlock()
	}
	return s, nil
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) lockPath(name string) string { return filepath.Join(s.root, locksDir, name) }

// imageDir is Root/images/<algo>/<hex> for a manifest digest.
func (s *Store) imageDir(digest string) (string, error) {
	h, err := v1.NewHash(digest)
	if err != nil {
		return "", fmt.Errorf("bad image digest %q: %w", digest, err)
	}
	return filepath.Join(s.root, imagesDir, h.Algorithm, h.Hex), nil
}

// layerDir is Root/layers/<algo>/<hex> for a diff ID.
func (s *Store) layerDir(diffID v1.Hash) string {
	return filepath.Join(s.root, layersDir, diffID.Algorithm, diffID.Hex)
}

// imageRecord is Root/images/<algo>/<hex>/image.json.
type imageRecord struct {
	Digest      string   `json:"digest"`
	IndexDigest string   `json:"indexDigest,omitempty"`
	ID          string   `json:"id"`
	DiffIDs     []string `json:"diffIDs"`
	Size        int64    `json:"size"`
}

// refsDoc is Root/refs.json: normalized reference -> manifest digest.
type refsDoc struct {
	Version int               `json:"version"`
	Refs    map[string]string `json:"refs"`
}

func (s *Store) readRefs() (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(s.root, refsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	var d refsDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("images: %s: %w", filepath.Join(s.root, refsFile), err)
	}
	if d.Refs == nil {
		d.Refs = map[string]string{}
	}
	return d.Refs, nil
}

// updateRefs runs fn on the reference map under the store lock and writes
// the result atomically when fn returns nil.
func (s *Store) updateRefs(fn func(refs map[string]string) error) error {
	l, err := lockFile(s.lockPath(storeLock), false)
	if err != nil {
		return err
	}
	defer l.Unlock()
	refs, err := s.readRefs()
	if err != nil {
		return err
	}
	if err := fn(refs); err != nil {
		return err
	}
	b, err := json.MarshalIndent(refsDoc{Version: 1, Refs: refs}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.root, refsFile), b, 0o600)
}

// commit records an image: its metadata directory (written once, atomically)
// and the references that name it. The caller holds the GC lock shared, so
// the layers it unpacked cannot be collected before they are referenced.
func (s *Store) commit(refs []string, rec imageRecord, manifest, config []byte) error {
	dir, err := s.imageDir(rec.Digest)
	if err != nil {
		return err
	}
	recJSON, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return s.updateRefs(func(m map[string]string) error {
		if _, err := os.Stat(filepath.Join(dir, recordFile)); err != nil {
			if err := s.writeImageDir(dir, manifest, config, recJSON); err != nil {
				return fmt.Errorf("images: record %s: %w", rec.Digest, err)
			}
		}
		for _, r := range refs {
			if old, ok := m[r]; ok && old != rec.Digest {
				s.log.Info("reference moved", "ref", r, "from", old, "to", rec.Digest)
			}
			m[r] = rec.Digest
		}
		return nil
	})
}

func (s *Store) writeImageDir(dir string, manifest, config, rec []byte) error {
	tmp, err := os.MkdirTemp(filepath.Join(s.root, tmpDir), "image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for name, b := range map[string][]byte{"manifest.json": manifest, "config.json": config, recordFile: rec} {
		f, err := os.OpenFile(filepath.Join(tmp, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = f.Write(b)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		return err
	}
	// A directory left by a crash without image.json is replaced.
	if _, err := os.Stat(dir); err == nil {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// load reads the image recorded under a manifest digest and names it ref.
func (s *Store) load(ref, digest string) (*Image, error) {
	dir, err := s.imageDir(digest)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, recordFile))
	if err != nil {
		return nil, err
	}
	var rec imageRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("images: %s: %w", filepath.Join(dir, recordFile), err)
	}
	cb, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cb))
	if err != nil {
		return nil, fmt.Errorf("images: %s: %w", filepath.Join(dir, "config.json"), err)
	}
	img := &Image{
		Ref:         ref,
		Digest:      rec.Digest,
		IndexDigest: rec.IndexDigest,
		ID:          rec.ID,
		DiffIDs:     rec.DiffIDs,
		Config:      imageConfigFrom(cf),
		Size:        rec.Size,
		Created:     cf.Created.Time,
	}
	// Keep each layer once, at its topmost position.
	seen := map[string]bool{}
	for i := len(rec.DiffIDs) - 1; i >= 0; i-- {
		d := rec.DiffIDs[i]
		if seen[d] {
			continue
		}
		seen[d] = true
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, fmt.Errorf("images: image %s: bad diff ID %q", rec.Digest, d)
		}
		img.Layers = append(img.Layers, s.layerDir(h))
	}
	for i, j := 0, len(img.Layers)-1; i < j; i, j = i+1, j-1 {
		img.Layers[i], img.Layers[j] = img.Layers[j], img.Layers[i]
	}
	return img, nil
}

// Get returns the image named ref. ref is a reference in any form Docker
// accepts ("busybox", "docker.io/library/busybox:1.36",
// "busybox@sha256:..."), or a manifest digest, config digest (image ID) or
// index digest, whole or as a prefix of at least 12 hex digits, with or
// without "sha256:". An image absent from the store is an error wrapping
// ErrNotFound; a prefix matching several images is an error too.
// Get does not block on writers.
func (s *Store) Get(ref string) (*Image, error) {
	refs, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	img, _, err := s.resolve(ref, refs)
	return img, err
}

// resolve finds ref and returns the image and the references naming it that
// Remove would delete.
func (s *Store) resolve(ref string, refs map[string]string) (*Image, []string, error) {
	if !strings.HasPrefix(ref, "sha256:") {
		if r, err := parseReference(ref); err == nil {
			norm := r.String()
			if d, ok := refs[norm]; ok {
				img, err := s.load(norm, d)
				if errors.Is(err, fs.ErrNotExist) {
					return nil, nil, &notFoundError{ref: ref} // collected while we read
				}
				if err != nil {
					return nil, nil, fmt.Errorf("images: %s: %w", norm, err)
				}
				return img, []string{norm}, nil
			}
			if r.Digest != "" {
				// repo@digest of an image pulled by tag from that repository.
				var names []string
				var digest string
				for n, d := range refs {
					if !strings.HasPrefix(n, r.Repo()+":") && !strings.HasPrefix(n, r.Repo()+"@") {
						continue
					}
					img, err := s.load(n, d)
					if err != nil {
						continue
					}
					if img.Digest == r.Digest || img.IndexDigest == r.Digest {
						names = append(names, n)
						digest = d
					}
				}
				if len(names) > 0 {
					sort.Strings(names)
					img, err := s.load(norm, digest)
					if err != nil {
						return nil, nil, err
					}
					return img, names, nil
				}
			}
		} else if _, ok := hexPrefix(ref); !ok {
			return nil, nil, fmt.Errorf("images: %w", err)
		}
	}
	hex, ok := hexPrefix(ref)
	if !ok {
		return nil, nil, &notFoundError{ref: ref}
	}
	// By digest or ID prefix.
	byDigest := map[string][]string{}
	for n, d := range refs {
		byDigest[d] = append(byDigest[d], n)
	}
	var found []*Image
	for d, names := range byDigest {
		sort.Strings(names)
		img, err := s.load(names[0], d)
		if err != nil {
			s.log.Warn("unreadable image record", "digest", d, "err", err)
			continue
		}
		for _, c := range []string{img.Digest, img.ID, img.IndexDigest} {
			if c != "" && strings.HasPrefix(strings.TrimPrefix(c, "sha256:"), hex) {
				found = append(found, img)
				break
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, nil, &notFoundError{ref: ref}
	case 1:
		return found[0], byDigest[found[0].Digest], nil
	}
	var ds []string
	for _, f := range found {
		ds = append(ds, f.Ref+" ("+f.Digest+")")
	}
	sort.Strings(ds)
	return nil, nil, fmt.Errorf("images: %q matches several images: %s; give more digits", ref, strings.Join(ds, ", "))
}

// List returns one Image per reference, sorted by Ref. It does not block on
// writers.
func (s *Store) List() ([]Image, error) {
	refs, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	out := make([]Image, 0, len(refs))
	for n, d := range refs {
		img, err := s.load(n, d)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed while we read
		}
		if err != nil {
			return nil, fmt.Errorf("images: %s: %w", n, err)
		}
		out = append(out, *img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out, nil
}

// Remove deletes a reference, named as Get accepts it. Named by reference,
// only that reference goes; named "repo@digest" (an image pulled by tag),
// the references of that repository to the image go; named by digest or ID,
// every reference to the image goes. Then images and layers no longer referenced are deleted,
// unless a pull or import is in flight (in any process): their garbage
// waits for the next Remove or GC. A reference that is not in the store is
// an error wrapping ErrNotFound.
//
// The store does not know about containers: the caller must not remove an
// image whose layers are mounted.
func (s *Store) Remove(ref string) error {
	var removed []string
	err := s.updateRefs(func(refs map[string]string) error {
		_, names, err := s.resolve(ref, refs)
		if err != nil {
			return err
		}
		for _, n := range names {
			delete(refs, n)
		}
		removed = names
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("image removed", "refs", removed)
	return s.gc(false)
}

// GC deletes images no reference names and layers no image uses, and the
// leftovers of interrupted pulls. It waits for pulls and imports in flight
// (in any process) to finish, and blocks them while it runs.
func (s *Store) GC() error { return s.gc(true) }

func (s *Store) gc(wait bool) error {
	var gl *fileLock
	var err error
	if wait {
		gl, err = lockFile(s.lockPath(gcLock), false)
	} else {
		gl, err = tryLockFile(s.lockPath(gcLock), false)
	}
	if err != nil {
		return err
	}
	if gl == nil {
		s.log.Info("garbage collection deferred: a pull or import is in flight")
		return nil
	}
	defer gl.Unlock()

	var doomed []string
	var images, layers int
	err = func() error {
		ml, err := lockFile(s.lockPath(storeLock), false)
		if err != nil {
			return err
		}
		defer ml.Unlock()
		refs, err := s.readRefs()
		if err != nil {
			return err
		}
		live := map[string]bool{}
		for _, d := range refs {
			live[d] = true
		}
		liveLayers := map[string]bool{}
		imgRoot := filepath.Join(s.root, imagesDir)
		algos, err := os.ReadDir(imgRoot)
		if err != nil {
			return err
		}
		for _, a := range algos {
			ents, err := os.ReadDir(filepath.Join(imgRoot, a.Name()))
			if err != nil {
				return err
			}
			for _, e := range ents {
				digest := a.Name() + ":" + e.Name()
				dir := filepath.Join(imgRoot, a.Name(), e.Name())
				if !live[digest] {
					doomed = append(doomed, dir)
					images++
					continue
				}
				b, err := os.ReadFile(filepath.Join(dir, recordFile))
				if err != nil {
					return fmt.Errorf("images: gc: image %s: %w (no layer collected)", digest, err)
				}
				var rec imageRecord
				if err := json.Unmarshal(b, &rec); err != nil {
					return fmt.Errorf("images: gc: image %s: %w (no layer collected)", digest, err)
				}
				for _, d := range rec.DiffIDs {
					liveLayers[d] = true
				}
			}
		}
		layRoot := filepath.Join(s.root, layersDir)
		algos, err = os.ReadDir(layRoot)
		if err != nil {
			return err
		}
		for _, a := range algos {
			ents, err := os.ReadDir(filepath.Join(layRoot, a.Name()))
			if err != nil {
				return err
			}
			for _, e := range ents {
				hex := strings.TrimSuffix(e.Name(), ".json")
				if liveLayers[a.Name()+":"+hex] {
					continue
				}
				doomed = append(doomed, filepath.Join(layRoot, a.Name(), e.Name()))
				if e.IsDir() {
					layers++
					doomed = append(doomed, s.lockPath("layer-"+a.Name()+"-"+hex+".lock"))
				}
			}
		}
		// Make the doomed entries vanish atomically before the slow delete.
		for i, p := range doomed {
			if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
				t, err := os.MkdirTemp(filepath.Join(s.root, tmpDir), "gc-")
				if err != nil {
					return err
				}
				if err := os.Rename(p, filepath.Join(t, "x")); err != nil {
					return err
				}
				doomed[i] = t
			}
		}
		return nil
	}()
	for _, p := range doomed {
		if rerr := os.RemoveAll(p); rerr != nil && err == nil {
			err = fmt.Errorf("images: gc: %w", rerr)
		}
	}
	s.cleanTmp()
	if images > 0 || layers > 0 {
		s.log.Info("garbage collected", "images", images, "layers", layers)
	}
	return err
}

// cleanTmp removes everything in Root/tmp. The caller holds the GC lock
// exclusively, so no pull or import is using it.
func (s *Store) cleanTmp() {
	dir := filepath.Join(s.root, tmpDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			s.log.Warn("cannot clean temporary entry", "path", filepath.Join(dir, e.Name()), "err", err)
		}
	}
}
