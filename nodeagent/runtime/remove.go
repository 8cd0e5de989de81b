package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/shoal-run/shoal/nodeagent/runtime/pid1"
)

// Remove deletes a container: it kills it if it runs, destroys its
// libcontainer state, unmounts its root, removes its cgroups and deletes
// Root/containers/<id> (except the log with KeepLogs). It is idempotent:
// removing an unknown or half-made container cleans what there is and
// returns nil.
func (r *Runtime) Remove(id string, opts RemoveOptions) error {
	if err := validateID(id); err != nil {
		return err
	}
	c, err := r.get(id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if c != nil {
		if err := c.kill(30 * time.Second); err != nil {
			return err
		}
	}
	if err := r.teardown(id, c, opts); err != nil {
		return err
	}
	r.mu.Lock()
	if r.containers[id] == c {
		delete(r.containers, id)
	}
	r.mu.Unlock()
	r.log.Info("container removed", "id", id, "keepLogs", opts.KeepLogs)
	return nil
}

// teardown removes everything of a container whose processes are gone.
func (r *Runtime) teardown(id string, c *container, opts RemoveOptions) error {
	var errs []error
	var lc *libcontainer.Container
	if c != nil {
		lc = c.lc
	}
	if lc == nil {
		l, err := libcontainer.Load(r.lcRoot, id)
		switch {
		case err == nil:
			lc = l
		case !errors.Is(err, libcontainer.ErrNotExist):
			errs = append(errs, fmt.Errorf("load: %w", err))
		}
	}
	if lc != nil {
		if err := lc.Destroy(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := removeCgroupDirs(path.Join(r.cfg.CgroupParent, id)); err != nil {
		errs = append(errs, fmt.Errorf("cgroups: %w", err))
	}
	dir := r.containerDir(id)
	if err := unmountAll(filepath.Join(dir, rootfsDir)); err != nil {
		// Never delete through a mounted root: the layers are shared.
		errs = append(errs, err)
		return fmt.Errorf("container %s: remove: %w", id, errors.Join(errs...))
	}
	if err := removeContainerDir(dir, opts.KeepLogs); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("container %s: remove: %w", id, errors.Join(errs...))
	}
	return nil
}

// removeContainerDir deletes dir, or all of it but shoal/log with keepLog.
func removeContainerDir(dir string, keepLog bool) error {
	if !keepLog {
		return os.RemoveAll(dir)
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if e.Name() == runDir {
			continue
		}
		errs = append(errs, os.RemoveAll(filepath.Join(dir, e.Name())))
	}
	run := filepath.Join(dir, runDir)
	entries, _ = os.ReadDir(run)
	for _, e := range entries {
		if e.Name() != pid1.LogFile {
			errs = append(errs, os.RemoveAll(filepath.Join(run, e.Name())))
		}
	}
	return errors.Join(errs...)
}
