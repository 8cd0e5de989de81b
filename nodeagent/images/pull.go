package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerJobs is how many layers of one image are fetched and unpacked at once.
const layerJobs = 3

// PullOptions are the per-pull settings.
type PullOptions struct {
	// Keychain supplies credentials (KeychainFromDockerConfigJSON for a
	// pod's imagePullSecrets). nil pulls anonymously.
	Keychain authn.Keychain
	// Progress, when set, receives per-layer progress. Calls for one pull
	// are serialized (never concurrent) and come from the pulling
	// goroutines: the function must return quickly.
	Progress func(Progress)
}

// Progress reports on one layer of a pull.
type Progress struct {
	Ref   string // normalized reference being pulled
	Layer string // compressed layer digest, "sha256:..."
	Index int    // position of the layer in the image, 0 = base
	Count int    // number of layers in the image
	// Complete and Total count compressed bytes fetched from the registry.
	Complete, Total int64
	Done            bool // the layer is unpacked and in place
	Cached          bool // the layer was already in the store: nothing fetched
}

// Pull fetches ref from its registry (or the configured mirror), unpacks the
// layers not yet in the store and records the image under ref. ref is
// normalized as Docker does ("busybox" is "docker.io/library/busybox:latest");
// tags and digests are accepted; from a multi-platform index the store's
// platform is chosen. Pulling an image already present still asks the
// registry what the tag points at, but fetches only missing layers; a caller
// implementing "IfNotPresent" calls Get first.
//
// Pull blocks until the image is recorded, ctx is done or the pull fails.
// It is safe to pull concurrently, also the same image: a layer is fetched
// and unpacked once. Registry failures wrap ErrImageNotInRegistry,
// ErrUnauthorized or ErrRegistryUnreachable (as *PullError).
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (*Image, error) {
	r, err := parseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	start := time.Now()
	fetchRef, base, err := s.source(r)
	if err != nil {
		return nil, err
	}
	auth, credDesc, err := resolveAuth(opts.Keychain, fetchRef.Context())
	if err != nil {
		return nil, fmt.Errorf("images: pulling %q: credentials: %w", r.String(), err)
	}
	fail := func(err error) error {
		err = classify(err, base)
		var pe *PullError
		if errors.As(err, &pe) && pe.Kind == ErrUnauthorized {
			pe.Detail = credDesc
		}
		return err
	}
	log := s.log.With("ref", r.String())
	if base.Mirror != "" {
		log = log.With("mirror", base.Registry)
	}
	log.Info("pulling image")
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(auth),
		remote.WithPlatform(s.platform),
		remote.WithUserAgent("shoal"),
	}
	desc, err := remote.Get(fetchRef, ropts...)
	if err != nil {
		return nil, fail(err)
	}
	var img v1.Image
	indexDigest := ""
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fail(err)
		}
		img, err = s.chooseImage(idx)
		if errors.Is(err, errNoPlatform) {
			pe := base
			pe.Kind = ErrImageNotInRegistry
			pe.Detail = strings.TrimPrefix(err.Error(), errNoPlatform.Error()+": ")
			return nil, &pe
		}
		if err != nil {
			return nil, fail(err)
		}
		indexDigest = desc.Digest.String()
	} else {
		img, err = desc.Image()
		if err != nil {
			return nil, fail(err)
		}
	}
	gl, err := lockFile(s.lockPath(gcLock), true)
	if err != nil {
		return nil, err
	}
	defer gl.Unlock()
	imgs, err := s.store(ctx, []string{r.String()}, img, indexDigest, opts.Progress, true, fail)
	if err != nil {
		return nil, err
	}
	log.Info("image pulled", "digest", imgs[0].Digest, "took", time.Since(start).Round(time.Millisecond))
	return imgs[0], nil
}

// source returns the reference to fetch (on the mirror when one serves the
// registry) and the PullError template naming what is spoken to.
func (s *Store) source(r reference) (name.Reference, PullError, error) {
	base := PullError{Ref: r.String(), Registry: r.Registry}
	host, insecure := r.Registry, s.insecure[r.Registry]
	if m, ok := s.mirrors[r.Registry]; ok {
		host, insecure = m.host, m.insecure
		base.Registry, base.Mirror = m.host, r.Registry
	}
	var nopts []name.Option
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(host+"/"+r.Repository, nopts...)
	if err != nil {
		return nil, base, fmt.Errorf("images: %q on %s: %w", r.String(), host, err)
	}
	if r.Digest != "" {
		return repo.Digest(r.Digest), base, nil
	}
	return repo.Tag(r.Tag), base, nil
}

var errNoPlatform = errors.New("no matching platform")

// chooseImage picks the store's platform from an index (one level of nested
// indexes is searched too).
func (s *Store) chooseImage(idx v1.ImageIndex) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var seen []string
	var unlabelled []v1.Descriptor
	for _, m := range im.Manifests {
		switch {
		case m.MediaType.IsImage() && m.Platform != nil:
			p := m.Platform
			if p.OS == "unknown" { // attestations
				continue
			}
			seen = append(seen, platformString(*p))
			if p.OS == s.platform.OS && p.Architecture == s.platform.Architecture &&
				(s.platform.Variant == "" || p.Variant == s.platform.Variant) {
				return idx.Image(m.Digest)
			}
		case m.MediaType.IsImage():
			unlabelled = append(unlabelled, m)
		case m.MediaType.IsIndex():
			child, err := idx.ImageIndex(m.Digest)
			if err != nil {
				return nil, err
			}
			if img, err := s.chooseImage(child); err == nil {
				return img, nil
			} else if !errors.Is(err, errNoPlatform) {
				return nil, err
			}
		}
	}
	if len(unlabelled) == 1 && len(seen) == 0 {
		return idx.Image(unlabelled[0].Digest)
	}
	sort.Strings(seen)
	return nil, fmt.Errorf("%w: no %s variant in the index (it has: %s)", errNoPlatform,
		platformString(s.platform), strings.Join(seen, ", "))
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// store unpacks img's layers and records img under names; the common tail
// of Pull and Import. fetch selects the compressed (counted) stream, for
// registry layers, over the uncompressed one; wrap classifies errors. The
// caller holds the GC lock shared, from before the first layer is looked at
// until store returns, so GC cannot delete a layer the image is about to
// reference.
func (s *Store) store(ctx context.Context, names []string, img v1.Image, indexDigest string,
	progress func(Progress), fetch bool, wrap func(error) error) ([]*Image, error) {
	digest, err := img.Digest()
	if err != nil {
		return nil, wrap(err)
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return nil, wrap(err)
	}
	if mt, err := img.MediaType(); err == nil && !mt.IsImage() {
		return nil, fmt.Errorf("images: %s: unsupported manifest type %s", names[0], mt)
	}
	configName, err := img.ConfigName()
	if err != nil {
		return nil, wrap(err)
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, wrap(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, wrap(err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, wrap(err)
	}
	diffIDs := cf.RootFS.DiffIDs
	if len(diffIDs) != len(layers) {
		return nil, fmt.Errorf("images: %s: the manifest has %d layers but the config lists %d diff IDs", names[0], len(layers), len(diffIDs))
	}

	var pmu sync.Mutex
	report := func(p Progress) {
		if progress == nil {
			return
		}
		p.Ref, p.Count = names[0], len(layers)
		pmu.Lock()
		defer pmu.Unlock()
		progress(p)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sizes := make([]int64, len(layers))
	errs := make([]error, len(layers))
	sem := make(chan struct{}, layerJobs)
	var wg sync.WaitGroup
	for i, l := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			sizes[i], errs[i] = s.storeLayer(ctx, i, l, diffIDs[i], fetch, report)
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	// Report the first real error, not the cancellations it caused.
	var first error
	for _, e := range errs {
		if e != nil && !errors.Is(e, context.Canceled) {
			first = e
			break
		}
	}
	if first == nil {
		for _, e := range errs {
			if e != nil {
				first = e
				break
			}
		}
	}
	if first != nil {
		return nil, wrap(first)
	}
	var total int64
	seen := map[v1.Hash]bool{}
	for i, d := range diffIDs {
		if !seen[d] {
			total += sizes[i]
			seen[d] = true
		}
	}
	rec := imageRecord{
		Digest:      digest.String(),
		IndexDigest: indexDigest,
		ID:          configName.String(),
		Size:        total,
	}
	for _, d := range diffIDs {
		rec.DiffIDs = append(rec.DiffIDs, d.String())
	}
	if err := s.commit(names, rec, manifest, rawConfig); err != nil {
		return nil, err
	}
	out := make([]*Image, 0, len(names))
	for _, n := range names {
		im, err := s.load(n, rec.Digest)
		if err != nil {
			return nil, fmt.Errorf("images: %s: %w", n, err)
		}
		out = append(out, im)
	}
	return out, nil
}

// storeLayer makes one layer present, reporting progress.
func (s *Store) storeLayer(ctx context.Context, i int, l v1.Layer, diffID v1.Hash, fetch bool,
	report func(Progress)) (int64, error) {
	digest, err := l.Digest()
	if err != nil {
		return 0, err
	}
	var total int64
	if fetch {
		if total, err = l.Size(); err != nil {
			return 0, err
		}
	}
	p := Progress{Layer: digest.String(), Index: i, Total: total}
	open := l.Uncompressed
	if fetch {
		open = func() (io.ReadCloser, error) {
			cl, err := partial.CompressedToLayer(&countedLayer{l: l, count: func(done int64) {
				q := p
				q.Complete = done
				report(q)
			}})
			if err != nil {
				return nil, err
			}
			return cl.Uncompressed()
		}
	}
	size, cached, err := s.ensureLayer(ctx, diffID, open)
	if err != nil {
		return 0, err
	}
	p.Done, p.Cached = true, cached
	if !cached {
		p.Complete = total
	}
	report(p)
	return size, nil
}

// countedLayer is a compressed layer whose stream reports the bytes read.
// It deliberately does not embed v1.Layer: partial.CompressedToLayer must
// derive Uncompressed from our counted Compressed.
type countedLayer struct {
	l     v1.Layer
	count func(done int64)
}

func (c *countedLayer) Digest() (v1.Hash, error)            { return c.l.Digest() }
func (c *countedLayer) Size() (int64, error)                { return c.l.Size() }
func (c *countedLayer) MediaType() (types.MediaType, error) { return c.l.MediaType() }
func (c *countedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := c.l.Compressed()
	if err != nil {
		return nil, err
	}
	return &countingReader{rc: rc, count: c.count}, nil
}

// countingReader reports progress every 256 KiB and at EOF.
type countingReader struct {
	rc       io.ReadCloser
	count    func(done int64)
	n, shown int64
}

const progressStep = 256 << 10

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n += int64(n)
	if c.n-c.shown >= progressStep || (err == io.EOF && c.n != c.shown) {
		c.shown = c.n
		c.count(c.n)
	}
	return n, err
}

func (c *countingReader) Close() error { return c.rc.Close() }
