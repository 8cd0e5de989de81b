package images

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Annotations that name an image in an OCI layout's index.json.
const (
	annotationRefName       = "org.opencontainers.image.ref.name" // a tag ("v1") or a full reference
	annotationContainerName = "io.containerd.image.name"          // full reference (containerd, docker save ≥ 25)
)

// importEntry is one image found in an import source.
type importEntry struct {
	names       []string // normalized full references the source gives it
	tag         string   // a bare tag the source gives it (OCI ref.name "v1")
	img         v1.Image
	indexDigest string
}

// Import records the images of a local source, without a registry:
//
//   - an OCI image layout directory (umoci, skopeo "oci:DIR", buildah,
//     go-containerregistry's layout package), possibly holding several
//     images named by org.opencontainers.image.ref.name or
//     io.containerd.image.name annotations;
//   - a tar (optionally gzip-compressed) of such a layout (skopeo
//     "oci-archive:", docker save since Docker 25);
//   - a docker-archive tarball (docker save, skopeo "docker-archive:").
//
// An annotation that is a bare tag ("v1", as `oci:DIR:v1` writes it) names
// no repository. name is optional: when the source holds one image it names
// that image, overriding any name in the source (without a tag, the
// source's tag or "latest" is used); when it holds several, name must be a
// repository and each image keeps its tag under it. An image left without a
// name is an error that says to pass --name. From a multi-platform index the
// store's platform is chosen. Layers are verified against the diff IDs of
// the image config and unpacked once, as for Pull.
//
// Import returns one Image per recorded reference. It blocks until done or
// ctx is cancelled and is safe to run concurrently with anything else.
func (s *Store) Import(ctx context.Context, path string, name string) ([]*Image, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("images: import: %w", err)
	}
	gl, err := lockFile(s.lockPath(gcLock), true)
	if err != nil {
		return nil, err
	}
	defer gl.Unlock()

	var entries []importEntry
	kind := ""
	if fi.IsDir() {
		kind = "OCI layout"
		entries, err = s.readLayout(path)
	} else {
		var cleanup func()
		kind, entries, cleanup, err = s.readArchive(path)
		defer cleanup()
	}
	if err != nil {
		return nil, fmt.Errorf("images: import %s: %w", path, err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("images: import %s: the %s holds no image", path, kind)
	}
	if err := assignNames(entries, name); err != nil {
		return nil, fmt.Errorf("images: import %s: %w", path, err)
	}
	wrap := func(err error) error { return fmt.Errorf("images: import %s: %w", path, err) }
	var out []*Image
	for _, e := range entries {
		imgs, err := s.store(ctx, e.names, e.img, e.indexDigest, nil, false, wrap)
		if err != nil {
			return nil, err
		}
		for _, im := range imgs {
			s.log.Info("image imported", "ref", im.Ref, "digest", im.Digest, "from", path, "format", kind)
		}
		out = append(out, imgs...)
	}
	return out, nil
}

// readLayout lists the images of an OCI layout directory.
func (s *Store) readLayout(dir string) ([]importEntry, error) {
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		return nil, fmt.Errorf("not an OCI image layout (no index.json): %w", err)
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []importEntry
	for _, d := range im.Manifests {
		var e importEntry
		switch {
		case d.MediaType.IsImage():
			if e.img, err = idx.Image(d.Digest); err != nil {
				return nil, err
			}
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if e.img, err = s.chooseImage(child); err != nil {
				return nil, fmt.Errorf("index %s: %w", d.Digest, err)
			}
			e.indexDigest = d.Digest.String()
		default:
			s.log.Warn("import: skipping a descriptor that is not an image", "mediaType", d.MediaType, "digest", d.Digest.String())
			continue
		}
		n := d.Annotations[annotationContainerName]
		if n == "" {
			n = d.Annotations[annotationRefName]
		}
		switch {
		case n == "":
		case isTagOnly(n):
			e.tag = n
		default:
			r, err := parseReference(n)
			if err != nil {
				return nil, fmt.Errorf("image %s: annotation: %w", d.Digest, err)
			}
			e.names = []string{r.String()}
		}
		out = append(out, e)
	}
	return out, nil
}

// readArchive opens a tar (or tar.gz) and reads it as an OCI layout or as a
// docker-archive, whichever it is. An OCI layout tar is extracted below
// Root/tmp (the caller holds the GC lock shared, so GC leaves it alone);
// cleanup removes it and must be called when the entries are no longer read.
func (s *Store) readArchive(path string) (kind string, entries []importEntry, cleanup func(), err error) {
	cleanup = func() {}
	opener := func() (io.ReadCloser, error) { return openMaybeGzip(path) }
	rc, err := opener()
	if err != nil {
		return "", nil, cleanup, err
	}
	members := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rc.Close()
			return "", nil, cleanup, fmt.Errorf("not an OCI layout tar or docker-archive: %w", err)
		}
		members[strings.TrimPrefix(hdr.Name, "./")] = true
	}
	rc.Close()
	switch {
	case members["index.json"] && members["oci-layout"]:
		dir, err := os.MkdirTemp(filepath.Join(s.root, tmpDir), "import-")
		if err != nil {
			return "", nil, cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		rc, err := opener()
		if err != nil {
			return "", nil, cleanup, err
		}
		err = extractPlain(rc, dir)
		rc.Close()
		if err != nil {
			return "", nil, cleanup, err
		}
		entries, err := s.readLayout(dir)
		return "OCI layout tar", entries, cleanup, err
	case members["manifest.json"]:
		entries, err := readDockerArchive(opener)
		return "docker-archive", entries, cleanup, err
	}
	return "", nil, cleanup, fmt.Errorf("neither an OCI layout tar (no index.json and oci-layout) nor a docker-archive (no manifest.json)")
}

func readDockerArchive(opener tarball.Opener) ([]importEntry, error) {
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, err
	}
	var out []importEntry
	for i, d := range m {
		var e importEntry
		if len(d.RepoTags) == 0 {
			if len(m) > 1 {
				return nil, fmt.Errorf("image #%d of %d has no RepoTags; untagged images are supported only in a one-image archive", i+1, len(m))
			}
			if e.img, err = tarball.Image(opener, nil); err != nil {
				return nil, err
			}
			out = append(out, e)
			continue
		}
		for _, t := range d.RepoTags {
			r, err := parseReference(t)
			if err != nil {
				return nil, fmt.Errorf("image #%d: RepoTags: %w", i+1, err)
			}
			e.names = append(e.names, r.String())
		}
		tag, err := name.NewTag(d.RepoTags[0])
		if err != nil {
			return nil, fmt.Errorf("image #%d: RepoTags: %w", i+1, err)
		}
		if e.img, err = tarball.Image(opener, &tag); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// assignNames applies the caller's name to the entries (see Import) and
// checks that every image ends up named, and no name twice.
func assignNames(entries []importEntry, nameOpt string) error {
	if nameOpt != "" {
		nr, err := parseReference(nameOpt)
		if err != nil {
			return fmt.Errorf("--name: %w", err)
		}
		if len(entries) == 1 {
			e := &entries[0]
			switch {
			case nr.explicit:
				e.names = []string{nr.String()}
			default:
				tag := e.tag
				if tag == "" {
					tag = tagOf(e.names)
				}
				if tag == "" {
					tag = "latest"
				}
				e.names = []string{nr.Repo() + ":" + tag}
			}
		} else {
			if nr.explicit {
				return fmt.Errorf("--name %q has a tag or digest but the source holds %d images; give only a repository and each image keeps its tag", nameOpt, len(entries))
			}
			for i := range entries {
				e := &entries[i]
				tag := e.tag
				if tag == "" {
					tag = tagOf(e.names)
				}
				if tag == "" {
					return fmt.Errorf("image #%d of %d has no tag to put under %q", i+1, len(entries), nr.Repo())
				}
				e.names = []string{nr.Repo() + ":" + tag}
			}
		}
	}
	seen := map[string]int{}
	for i, e := range entries {
		if len(e.names) == 0 {
			hint := ""
			if e.tag != "" {
				hint = fmt.Sprintf(" (only the tag %q, no repository)", e.tag)
			}
			return fmt.Errorf("image #%d of %d has no name%s: pass --name", i+1, len(entries), hint)
		}
		for _, n := range e.names {
			if j, dup := seen[n]; dup && j != i {
				return fmt.Errorf("images #%d and #%d are both named %q", j+1, i+1, n)
			}
			seen[n] = i
		}
	}
	return nil
}

// tagOf returns the tag of the first tagged reference in names.
func tagOf(names []string) string {
	for _, n := range names {
		if r, err := parseReference(n); err == nil && r.Tag != "" {
			return r.Tag
		}
	}
	return ""
}

// openMaybeGzip opens path, transparently decompressing gzip.
func openMaybeGzip(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	magic, err := br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{zr, f}, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{br, f}, nil
}

// extractPlain unpacks the regular files and directories of a layout tar
// into dir, refusing names that leave it. Nothing else (links, devices) has
// a place in an OCI layout.
func extractPlain(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rel, err := cleanName(hdr.Name)
		if err != nil {
			return fmt.Errorf("%q: %w", hdr.Name, err)
		}
		if rel == "" {
			continue
		}
		abs := filepath.Join(dir, rel)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(abs, 0o700); err != nil {
				return err
			}
		case tar.TypeReg, tar.TypeRegA:
			if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
				return err
			}
			f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
