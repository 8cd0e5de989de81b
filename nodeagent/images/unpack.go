package images

import (
	"archive/tar"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// Whiteout names in OCI layers (image-spec layer.md).
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	// opaqueXattr marks an overlayfs directory whose lower contents are hidden.
	opaqueXattr = "trusted.overlay.opaque"
)

// flight is one layer unpack in progress in this process; concurrent
// callers for the same diff ID wait on done instead of unpacking again.
type flight struct {
	done chan struct{}
	size int64
	err  error
}

// layerRecord is Root/layers/<algo>/<hex>.json, written before the layer
// directory is renamed into place.
type layerRecord struct {
	DiffID string `json:"diffID"`
	Size   int64  `json:"size"`
}

// layerOpener returns the layer's uncompressed tar stream.
type layerOpener func() (io.ReadCloser, error)

// ensureLayer makes sure the layer with diffID is unpacked below
// Root/layers and returns its unpacked size and whether it was already
// there. Concurrent calls for one diff ID in this process share a single
// unpack (single flight); across processes a per-layer flock serializes
// them, and the final atomic rename makes a double unpack harmless anyway.
// It blocks until the layer is present, ctx is done or the unpack fails.
// The caller holds the GC lock shared.
func (s *Store) ensureLayer(ctx context.Context, diffID v1.Hash, open layerOpener) (size int64, cached bool, err error) {
	key := diffID.String()
	for {
		if size, ok := s.layerPresent(diffID); ok {
			return size, true, nil
		}
		s.mu.Lock()
		f, waiting := s.flights[key]
		if !waiting {
			f = &flight{done: make(chan struct{})}
			s.flights[key] = f
		}
		s.mu.Unlock()
		if waiting {
			select {
			case <-f.done:
			case <-ctx.Done():
				return 0, false, ctx.Err()
			}
			if f.err == nil {
				return f.size, true, nil
			}
			if (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) && ctx.Err() == nil {
				continue // the leader gave up, not us: try again
			}
			return 0, false, f.err
		}
		f.size, cached, f.err = s.unpackLayer(ctx, diffID, open)
		s.mu.Lock()
		delete(s.flights, key)
		s.mu.Unlock()
		close(f.done)
		return f.size, cached, f.err
	}
}

// layerPresent reports whether the layer directory exists and its size.
func (s *Store) layerPresent(diffID v1.Hash) (int64, bool) {
	dir := s.layerDir(diffID)
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return 0, false
	}
	b, err := os.ReadFile(dir + ".json")
	var rec layerRecord
	if err == nil && json.Unmarshal(b, &rec) == nil {
		return rec.Size, true
	}
	// The record is written before the directory appears, so it is missing
	// only if someone deleted it: recompute it.
	var size int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	if b, err := json.Marshal(layerRecord{DiffID: diffID.String(), Size: size}); err == nil {
		_ = writeFileAtomic(dir+".json", b, 0o600)
	}
	return size, true
}

// unpackLayer holds the per-layer file lock and unpacks into a temporary
// directory that is renamed to Root/layers/<algo>/<hex> once complete and
// verified against diffID.
func (s *Store) unpackLayer(ctx context.Context, diffID v1.Hash, open layerOpener) (int64, bool, error) {
	l, err := lockFile(s.lockPath("layer-"+diffID.Algorithm+"-"+diffID.Hex+".lock"), false)
	if err != nil {
		return 0, false, err
	}
	defer l.Unlock()
	if size, ok := s.layerPresent(diffID); ok {
		return size, true, nil // another process unpacked it while we waited
	}
	start := time.Now()
	tmp, err := os.MkdirTemp(filepath.Join(s.root, tmpDir), "layer-"+diffID.Hex[:12]+"-")
	if err != nil {
		return 0, false, err
	}
	defer os.RemoveAll(tmp) // no-op once renamed
	if err := os.Chmod(tmp, 0o755); err != nil {
		return 0, false, err
	}
	rc, err := open()
	if err != nil {
		return 0, false, err
	}
	defer rc.Close()
	h, err := v1.Hasher(diffID.Algorithm)
	if err != nil {
		return 0, false, fmt.Errorf("layer %s: %w", diffID, err)
	}
	r := io.TeeReader(&ctxReader{ctx: ctx, r: rc}, h)
	size, err := extract(r, tmp)
	if err != nil {
		return 0, false, fmt.Errorf("unpacking layer %s: %w", diffID, err)
	}
	// Read to the end: the hash covers the whole stream, and the registry
	// reader verifies the compressed digest only at EOF.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return 0, false, fmt.Errorf("reading layer %s: %w", diffID, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != diffID.Hex {
		return 0, false, fmt.Errorf("layer %s: content has digest %s:%s, not the diff ID the image config names", diffID, diffID.Algorithm, got)
	}
	rec, _ := json.Marshal(layerRecord{DiffID: diffID.String(), Size: size})
	final := s.layerDir(diffID)
	if err := os.MkdirAll(filepath.Dir(final), 0o711); err != nil {
		return 0, false, err
	}
	if err := writeFileAtomic(final+".json", rec, 0o600); err != nil {
		return 0, false, err
	}
	if err := syncFS(tmp); err != nil {
		return 0, false, err
	}
	if err := os.Rename(tmp, final); err != nil {
		if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
			return size, true, nil // someone else won the race; theirs is identical
		}
		return 0, false, err
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return 0, false, err
	}
	s.log.Debug("layer unpacked", "diffID", diffID.String(), "size", size, "took", time.Since(start))
	return size, false, nil
}

// syncFS flushes the filesystem holding path (one syncfs(2)), so a layer
// renamed into place is complete on disk even after a crash.
func syncFS(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Syncfs(fd)
}

// ctxReader fails reads once ctx is done, so a cancelled pull stops between
// two reads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// extract unpacks the tar stream r into the empty directory root and returns
// the sum of regular file sizes. It never writes outside root: entry names
// with ".." components are refused, and so is an entry whose parent path
// runs through a symlink. OCI whiteouts become overlayfs whiteouts: ".wh.X"
// becomes a 0:0 character device X, ".wh..wh..opq" marks its directory with
// trusted.overlay.opaque=y. Owners, modes (with setuid/setgid/sticky),
// symlinks, hard links within the layer, device nodes, FIFOs, xattrs and
// modification times are preserved. Requires root (CAP_CHOWN, CAP_MKNOD,
// CAP_SYS_ADMIN for trusted.* xattrs).
func extract(r io.Reader, root string) (int64, error) {
	x := &extractor{root: root, dirs: map[string]bool{"": true}}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		if err := x.entry(hdr, tr); err != nil {
			return 0, fmt.Errorf("%q: %w", hdr.Name, err)
		}
	}
	// Directory times last: creating children changes them.
	for i := len(x.dirTimes) - 1; i >= 0; i-- {
		dt := x.dirTimes[i]
		if err := setTimes(dt.path, dt.atime, dt.mtime); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
	}
	return x.size, nil
}

type extractor struct {
	root     string
	size     int64
	dirs     map[string]bool // relative paths known to be real directories
	dirTimes []dirTime
}

type dirTime struct {
	path         string
	atime, mtime time.Time
}

// cleanName turns a tar entry name into a path relative to the layer root
// ("" for the root itself) and refuses ".." components.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("NUL byte in name")
	}
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", fmt.Errorf("path traversal (\"..\") refused")
		}
	}
	p := path.Clean("/" + name)
	return strings.TrimPrefix(p, "/"), nil
}

// parent makes sure every directory above rel exists as a real directory
// (not a symlink) inside root, creating missing ones, and returns the
// absolute path of rel's parent.
func (x *extractor) parent(rel string) (string, error) {
	dir := path.Dir(rel)
	if dir == "." {
		dir = ""
	}
	if x.dirs[dir] {
		return filepath.Join(x.root, dir), nil
	}
	cur := ""
	for _, c := range strings.Split(dir, "/") {
		cur = path.Join(cur, c)
		if x.dirs[cur] {
			continue
		}
		abs := filepath.Join(x.root, cur)
		fi, err := os.Lstat(abs)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(abs, 0o755); err != nil {
				return "", err
			}
		case err != nil:
			return "", err
		case fi.Mode()&fs.ModeSymlink != 0:
			return "", fmt.Errorf("refusing to write through symlink %q", cur)
		case !fi.IsDir():
			return "", fmt.Errorf("parent %q is not a directory", cur)
		}
		x.dirs[cur] = true
	}
	return filepath.Join(x.root, dir), nil
}

// forget drops rel and everything below it from the directory cache.
func (x *extractor) forget(rel string) {
	for d := range x.dirs {
		if d == rel || strings.HasPrefix(d, rel+"/") {
			delete(x.dirs, d)
		}
	}
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	base := path.Base(rel)
	if rel != "" && strings.HasPrefix(base, whiteoutPrefix) {
		pdir, err := x.parent(rel)
		if err != nil {
			return err
		}
		switch {
		case base == whiteoutOpaque:
			return unix.Lsetxattr(pdir, opaqueXattr, []byte("y"), 0)
		case strings.HasPrefix(base, whiteoutMeta):
			return nil // other AUFS metadata (.wh..wh.plnk, ...): meaningless here
		}
		victim := base[len(whiteoutPrefix):]
		if victim == "" || victim == "." || victim == ".." {
			return fmt.Errorf("bad whiteout")
		}
		abs := filepath.Join(pdir, victim)
		if err := os.RemoveAll(abs); err != nil {
			return err
		}
		x.forget(path.Join(path.Dir(rel), victim))
		return unix.Mknod(abs, unix.S_IFCHR, int(unix.Mkdev(0, 0)))
	}

	abs := filepath.Join(x.root, rel)
	if rel == "" {
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("layer root is not a directory")
		}
		return x.meta(abs, hdr, true)
	}
	if _, err := x.parent(rel); err != nil {
		return err
	}
	if fi, err := os.Lstat(abs); err == nil {
		if !(fi.IsDir() && hdr.Typeflag == tar.TypeDir) {
			if err := os.RemoveAll(abs); err != nil {
				return err
			}
			x.forget(rel)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	perm := uint32(hdr.Mode) & 0o7777
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(abs, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		x.dirs[rel] = true
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return err
		}
		n, err := io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		x.size += n
	case tar.TypeSymlink:
		if err := os.Symlink(hdr.Linkname, abs); err != nil {
			return err
		}
	case tar.TypeLink:
		trel, err := cleanName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link target: %w", err)
		}
		if trel == "" {
			return fmt.Errorf("hard link to the layer root")
		}
		tparent, err := x.parent(trel)
		if err != nil {
			return fmt.Errorf("hard link target: %w", err)
		}
		target := filepath.Join(tparent, path.Base(trel))
		fi, err := os.Lstat(target)
		if err != nil {
			return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
		}
		if fi.IsDir() {
			return fmt.Errorf("hard link to directory %q", hdr.Linkname)
		}
		return os.Link(target, abs) // shares the target's inode and metadata
	case tar.TypeChar:
		if err := unix.Mknod(abs, unix.S_IFCHR|perm, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))); err != nil {
			return err
		}
	case tar.TypeBlock:
		if err := unix.Mknod(abs, unix.S_IFBLK|perm, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))); err != nil {
			return err
		}
	case tar.TypeFifo:
		if err := unix.Mkfifo(abs, perm); err != nil {
			return err
		}
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return nil // unknown entry types are skipped, as Docker does
	}
	return x.meta(abs, hdr, hdr.Typeflag == tar.TypeDir)
}

// meta applies owner, mode, xattrs and times. chown comes before chmod
// because chown clears the setuid and setgid bits.
func (x *extractor) meta(abs string, hdr *tar.Header, isDir bool) error {
	if err := os.Lchown(abs, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeSymlink {
		if err := unix.Fchmodat(unix.AT_FDCWD, abs, uint32(hdr.Mode)&0o7777, 0); err != nil {
			return err
		}
	}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok {
			continue
		}
		if err := unix.Lsetxattr(abs, name, []byte(v), 0); err != nil {
			// An xattr the filesystem or kernel refuses (a security.*
			// label, say) does not make the image unusable.
			if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EOPNOTSUPP) {
				continue
			}
			return fmt.Errorf("xattr %s: %w", name, err)
		}
	}
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	if isDir {
		x.dirTimes = append(x.dirTimes, dirTime{path: abs, atime: atime, mtime: hdr.ModTime})
		return nil
	}
	return setTimes(abs, atime, hdr.ModTime)
}

// setTimes sets access and modification times without following symlinks.
func setTimes(abs string, atime, mtime time.Time) error {
	ts := []unix.Timespec{timespec(atime), timespec(mtime)}
	return unix.UtimesNanoAt(unix.AT_FDCWD, abs, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Sec: 0, Nsec: unix.UTIME_OMIT}
	}
	return unix.NsecToTimespec(t.UnixNano())
}
