package images

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// fileLock is an flock(2) lock on a file below Root. flock locks belong to
// the open file description, so two fileLocks on the same path conflict
// whether they are held by two processes or two goroutines of one process.
// The kernel drops the lock when the process dies.
type fileLock struct{ f *os.File }

// lockFile takes an exclusive (or shared) lock on path, creating the file,
// and blocks until it is granted.
func lockFile(path string, shared bool) (*fileLock, error) {
	return lockFileHow(path, shared, false)
}

// tryLockFile is lockFile without blocking: it returns (nil, nil) when the
// lock is held elsewhere.
func tryLockFile(path string, shared bool) (*fileLock, error) {
	return lockFileHow(path, shared, true)
}

func lockFileHow(path string, shared, nonblock bool) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	how := unix.LOCK_EX
	if shared {
		how = unix.LOCK_SH
	}
	if nonblock {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if nonblock && errors.Is(err, unix.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// Unlock releases the lock. It is safe to call on a nil lock.
func (l *fileLock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	_ = l.f.Close()
	l.f = nil
}

// writeFileAtomic writes data to path so that a reader sees either the old
// or the new content, never a torn file, even across a crash: temp file in
// the same directory, fsync, rename, fsync of the directory.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

// syncDir fsyncs a directory so that a rename into it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
