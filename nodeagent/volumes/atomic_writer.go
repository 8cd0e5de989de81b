package volumes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

const (
	maxFileNameLength = 255
	maxPathLength     = 4096

	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// FileProjection is the content, mode and optional owner of one file of a
// volume payload.
type FileProjection struct {
	Data []byte
	// Mode is the file's permission bits (e.g. 0644), applied regardless of
	// the umask.
	Mode int32
	// FsUser, when set, is the uid that owns the file (Chown needs root).
	FsUser *int64
}

// AtomicWriter projects a set of files into a target directory atomically,
// as the kubelet's atomic writer does.
//
// The real files live in a hidden timestamped directory
// "..2006_01_02_15_04_05.NNNNNNNNN"; "..data" is a symlink to it, and every
// top-level name of the payload is a symlink "NAME -> ..data/NAME". An
// update writes a complete new timestamped directory and then swaps "..data"
// with one rename(2), so a reader that resolves "..data" once (opens it as a
// directory, or os.OpenRoot) sees all files of one version. Readers that
// open two user-visible paths separately may straddle an update; consumers
// that need consistency watch "..data" (inotify) or pin it as above.
//
// Names starting with ".." are reserved for the writer. An AtomicWriter is
// not safe for concurrent use: the caller serializes Write calls for one
// directory.
type AtomicWriter struct {
	targetDir string
	log       *slog.Logger
}

// NewAtomicWriter returns a writer for targetDir, which must exist.
// logContext names the volume in log records (e.g. "default/web: config").
func NewAtomicWriter(targetDir, logContext string) (*AtomicWriter, error) {
	if _, err := os.Stat(targetDir); err != nil {
		return nil, fmt.Errorf("atomic writer: %w", err)
	}
	return &AtomicWriter{
		targetDir: targetDir,
		log:       slog.Default().With("component", "volumes", "volume", logContext),
	}, nil
}

// Write projects payload (relative path to file) into the target directory.
//
//  1. Every path is validated (see validatePath); an invalid payload
//     changes nothing and returns an error wrapping ErrInvalidPath.
//  2. "..data" is read to find the current timestamped directory.
//  3. If every file of the payload is present there with the same content,
//     mode and owner, and nothing else is, no new version is written (only
//     missing user-visible symlinks are re-created).
//  4. Otherwise the payload is written to a new timestamped directory;
//     setPerms, when not nil, is then called with that directory's name
//     relative to the target directory (e.g. to apply an fsGroup).
//  5. A symlink "..data_tmp" to the new directory is renamed over "..data"
//     (atomic), user-visible symlinks for new top-level names are created,
//     top-level names no longer in the payload are removed, and the old
//     timestamped directory is deleted.
//
// A failure before step 5 leaves the previous version in place.
func (w *AtomicWriter) Write(payload map[string]FileProjection, setPerms func(subPath string) error) error {
	// (1)
	clean, err := validatePayload(payload)
	if err != nil {
		w.log.Error("invalid payload", "err", err)
		return err
	}

	// (2)
	dataDirPath := filepath.Join(w.targetDir, dataDirName)
	oldTsDir, err := os.Readlink(dataDirPath)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("read data directory link %s: %w", dataDirPath, err)
		}
		oldTsDir = ""
	}
	oldTsPath := filepath.Join(w.targetDir, oldTsDir)

	// (3)
	var toRemove []string
	if oldTsDir != "" {
		toRemove, err = pathsToRemove(clean, oldTsPath)
		if err != nil {
			return fmt.Errorf("list old files in %s: %w", oldTsPath, err)
		}
		should, err := shouldWritePayload(clean, oldTsPath)
		if err != nil {
			return fmt.Errorf("compare payload with %s: %w", oldTsPath, err)
		}
		if !should && len(toRemove) == 0 {
			w.log.Debug("no update required", "dir", w.targetDir)
			// The data is current; make sure the user-visible links exist
			// (kubernetes/kubernetes#121472).
			return w.createUserVisibleFiles(clean)
		}
	}

	// (4)
	tsDir, err := w.newTimestampDir()
	if err != nil {
		return err
	}
	tsDirName := filepath.Base(tsDir)
	if err := writePayloadToDir(clean, tsDir); err != nil {
		_ = os.RemoveAll(tsDir)
		return err
	}
	if setPerms != nil {
		if err := setPerms(tsDirName); err != nil {
			_ = os.RemoveAll(tsDir)
			return fmt.Errorf("set permissions on %s: %w", tsDir, err)
		}
	}

	// (5)
	newDataDirPath := filepath.Join(w.targetDir, newDataDirName)
	_ = os.Remove(newDataDirPath) // a leftover of a crashed write
	if err := os.Symlink(tsDirName, newDataDirPath); err != nil {
		_ = os.RemoveAll(tsDir)
		return fmt.Errorf("create data directory link: %w", err)
	}
	if err := os.Rename(newDataDirPath, dataDirPath); err != nil {
		_ = os.Remove(newDataDirPath)
		_ = os.RemoveAll(tsDir)
		return fmt.Errorf("swap data directory link: %w", err)
	}
	w.log.Debug("wrote new version", "dir", w.targetDir, "version", tsDirName)

	if err := w.createUserVisibleFiles(clean); err != nil {
		return err
	}
	if err := w.removeUserVisiblePaths(toRemove); err != nil {
		return err
	}
	if oldTsDir != "" {
		if err := os.RemoveAll(oldTsPath); err != nil {
			return fmt.Errorf("remove old data directory %s: %w", oldTsPath, err)
		}
	}
	return nil
}

// validatePayload validates every path and returns a copy of the payload
// with cleaned paths.
func validatePayload(payload map[string]FileProjection) (map[string]FileProjection, error) {
	clean := make(map[string]FileProjection, len(payload))
	for p, content := range payload {
		if err := validatePath(p); err != nil {
			return nil, err
		}
		clean[filepath.Clean(p)] = content
	}
	return clean, nil
}

// validatePath rejects a path that is empty, absolute, longer than 4096
// bytes, has an element ".." or longer than 255 bytes, or starts with "..".
// The messages are the kubelet's.
func validatePath(p string) error {
	if p == "" {
		return newError(ErrInvalidPath, "invalid path: must not be empty: %q", p)
	}
	if filepath.IsAbs(p) {
		return newError(ErrInvalidPath, "invalid path: must be relative path: %s", p)
	}
	if len(p) > maxPathLength {
		return newError(ErrInvalidPath, "invalid path: must be less than or equal to %d characters", maxPathLength)
	}
	items := strings.Split(p, string(os.PathSeparator))
	for _, item := range items {
		if item == ".." {
			return newError(ErrInvalidPath, "invalid path: must not contain '..': %s", p)
		}
		if len(item) > maxFileNameLength {
			return newError(ErrInvalidPath, "invalid path: filenames must be less than or equal to %d characters", maxFileNameLength)
		}
	}
	if strings.HasPrefix(items[0], "..") && len(items[0]) > 2 {
		return newError(ErrInvalidPath, "invalid path: must not start with '..': %s", p)
	}
	return nil
}

// shouldWritePayload reports whether any file of payload is missing from
// tsDir or differs in content, mode or owner. (The kubelet compares content
// only; shoal also rewrites on a changed mode or owner.)
func shouldWritePayload(payload map[string]FileProjection, tsDir string) (bool, error) {
	for p, fp := range payload {
		full := filepath.Join(tsDir, p)
		info, err := os.Lstat(full)
		if errors.Is(err, fs.ErrNotExist) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if !info.Mode().IsRegular() || info.Mode().Perm() != os.FileMode(fp.Mode).Perm() {
			return true, nil
		}
		if fp.FsUser != nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok && int64(st.Uid) != *fp.FsUser {
				return true, nil
			}
		}
		onDisk, err := os.ReadFile(full)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(onDisk, fp.Data) {
			return true, nil
		}
	}
	return false, nil
}

// pathsToRemove walks the current version and returns, sorted, the paths
// (files and directories) that are neither in payload nor a parent
// directory of a payload path.
func pathsToRemove(payload map[string]FileProjection, oldTsDir string) ([]string, error) {
	keep := make(map[string]bool)
	for p := range payload {
		for sub := p; sub != "." && sub != ""; sub = filepath.Dir(sub) {
			keep[sub] = true
		}
	}
	var remove []string
	err := filepath.WalkDir(oldTsDir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(oldTsDir, path)
		if err != nil {
			return err
		}
		if rel != "." && !keep[rel] {
			remove = append(remove, rel)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(remove)
	return remove, nil
}

// newTimestampDir creates "..<UTC time>.<random digits>" in the target
// directory with mode 0755, whatever the umask.
func (w *AtomicWriter) newTimestampDir() (string, error) {
	tsDir, err := os.MkdirTemp(w.targetDir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return "", fmt.Errorf("create timestamped directory in %s: %w", w.targetDir, err)
	}
	// 0755 lets group and other traverse the tree; MkdirTemp used 0700.
	if err := os.Chmod(tsDir, 0o755); err != nil {
		_ = os.RemoveAll(tsDir)
		return "", fmt.Errorf("chmod %s: %w", tsDir, err)
	}
	return tsDir, nil
}

// writePayloadToDir writes every file of payload below dir, creating parent
// directories, with exact modes and, where set, owners.
func writePayloadToDir(payload map[string]FileProjection, dir string) error {
	for p, fp := range payload {
		full := filepath.Join(dir, p)
		mode := os.FileMode(fp.Mode).Perm()
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("create directory for %s: %w", p, err)
		}
		if err := os.WriteFile(full, fp.Data, mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		// WriteFile's mode is filtered by the umask; the payload's is not.
		if err := os.Chmod(full, mode); err != nil {
			return fmt.Errorf("chmod %s: %w", p, err)
		}
		if fp.FsUser != nil {
			if err := os.Chown(full, int(*fp.FsUser), -1); err != nil {
				return fmt.Errorf("chown %s: %w", p, err)
			}
		}
	}
	return nil
}

// createUserVisibleFiles creates "NAME -> ..data/NAME" for every top-level
// name of the payload that has no link yet. For "a/b/c" the link is
// "a -> ..data/a".
func (w *AtomicWriter) createUserVisibleFiles(payload map[string]FileProjection) error {
	for p := range payload {
		top, _, _ := strings.Cut(p, string(os.PathSeparator))
		visible := filepath.Join(w.targetDir, top)
		if _, err := os.Readlink(visible); err != nil && errors.Is(err, fs.ErrNotExist) {
			if err := os.Symlink(filepath.Join(dataDirName, top), visible); err != nil {
				return fmt.Errorf("create link %s: %w", visible, err)
			}
		}
	}
	return nil
}

// removeUserVisiblePaths removes the top-level links among paths; nested
// paths disappear with the old timestamped directory.
func (w *AtomicWriter) removeUserVisiblePaths(paths []string) error {
	var errs []error
	for _, p := range paths {
		if strings.Contains(p, string(os.PathSeparator)) {
			continue
		}
		if err := os.Remove(filepath.Join(w.targetDir, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			w.log.Error("prune old user-visible path", "path", p, "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
