package gitsource

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// CommitFS returns a read-only fs.FS over the tree of commit c: exactly what
// the commit holds, whatever the state of any working copy. Regular and
// executable files read as their blob; folders list their entries sorted by
// name; symbolic links and submodules are listed as irregular entries and
// cannot be opened. Every file's modification time is the committer date.
//
// The FS is safe for concurrent use (it serialises its reads of the object
// store), but the repository c was read from must not be written to (by a
// fetch) while the FS is in use. Files are read into memory when opened.
func CommitFS(c *object.Commit) (fs.FS, error) {
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("commit %s: tree: %w", c.Hash, err)
	}
	return &commitFS{root: t, mtime: c.Committer.When}, nil
}

type commitFS struct {
	mu    sync.Mutex // go-git trees and object stores are not goroutine-safe
	root  *object.Tree
	mtime time.Time
}

var (
	_ fs.ReadDirFS  = (*commitFS)(nil)
	_ fs.ReadFileFS = (*commitFS)(nil)
	_ fs.StatFS     = (*commitFS)(nil)
)

// lookup finds name's entry; the root "." is a folder with no entry.
func (f *commitFS) lookup(op, name string) (*object.TreeEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return &object.TreeEntry{Name: ".", Mode: filemode.Dir, Hash: f.root.Hash}, nil
	}
	e, err := f.root.FindEntry(name)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return e, nil
}

func (f *commitFS) info(name string, e *object.TreeEntry) (*fileInfo, error) {
	fi := &fileInfo{name: path.Base(name), mode: fileMode(e.Mode), mtime: f.mtime}
	if e.Mode.IsFile() && e.Mode != filemode.Symlink {
		blob, err := f.root.TreeEntryFile(e)
		if err != nil {
			return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
		}
		fi.size = blob.Size
	}
	return fi, nil
}

// Stat implements fs.StatFS.
func (f *commitFS) Stat(name string) (fs.FileInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return f.info(name, e)
}

// ReadFile implements fs.ReadFileFS.
func (f *commitFS) ReadFile(name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.lookup("read", name)
	if err != nil {
		return nil, err
	}
	return f.readBlob(name, e)
}

func (f *commitFS) readBlob(name string, e *object.TreeEntry) ([]byte, error) {
	switch {
	case e.Mode == filemode.Dir:
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	case e.Mode == filemode.Regular, e.Mode == filemode.Executable, e.Mode == filemode.Deprecated:
	default:
		return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("not a regular file (git mode %s)", e.Mode)}
	}
	file, err := f.root.TreeEntryFile(e)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	r, err := file.Reader()
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// ReadDir implements fs.ReadDirFS.
func (f *commitFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readDir(name)
}

func (f *commitFS) readDir(name string) ([]fs.DirEntry, error) {
	e, err := f.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if e.Mode != filemode.Dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	t := f.root
	if name != "." {
		if t, err = f.root.Tree(name); err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
		}
	}
	out := make([]fs.DirEntry, 0, len(t.Entries))
	for i := range t.Entries {
		ce := &t.Entries[i]
		fi, err := f.info(path.Join(name, ce.Name), ce)
		if err != nil {
			return nil, err
		}
		out = append(out, fs.FileInfoToDirEntry(fi))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// Open implements fs.FS. A file's content is read into memory at once.
func (f *commitFS) Open(name string) (fs.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, err := f.lookup("open", name)
	if err != nil {
		return nil, err
	}
	fi, err := f.info(name, e)
	if err != nil {
		return nil, err
	}
	if e.Mode == filemode.Dir {
		entries, err := f.readDir(name)
		if err != nil {
			return nil, err
		}
		return &dirFile{info: fi, entries: entries}, nil
	}
	data, err := f.readBlob(name, e)
	if err != nil {
		return nil, err
	}
	return &openFile{info: fi, Reader: bytes.NewReader(data)}, nil
}

func fileMode(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Dir:
		return fs.ModeDir | 0o555
	case filemode.Executable:
		return 0o555
	case filemode.Regular, filemode.Deprecated:
		return 0o444
	case filemode.Symlink:
		return fs.ModeSymlink | 0o444
	}
	return fs.ModeIrregular // submodule
}

type fileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (i *fileInfo) Name() string       { return i.name }
func (i *fileInfo) Size() int64        { return i.size }
func (i *fileInfo) Mode() fs.FileMode  { return i.mode }
func (i *fileInfo) ModTime() time.Time { return i.mtime }
func (i *fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *fileInfo) Sys() any           { return nil }

type openFile struct {
	info *fileInfo
	*bytes.Reader
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *openFile) Close() error               { return nil }

type dirFile struct {
	info    *fileInfo
	entries []fs.DirEntry
	off     int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Close() error               { return nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}

// ReadDir implements fs.ReadDirFile.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.off += n
	return rest[:n], nil
}
