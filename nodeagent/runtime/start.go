package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/shoal-run/shoal/nodeagent/runtime/pid1"
)

// Start creates and runs a container. It returns once the command has been
// started by the container's init, with the container Running. On any error
// nothing is left behind (the ID can be used again), except that an ID
// already in use gives ErrExists and touches nothing. A command missing
// from the root gives ErrCommandNotFound (ErrNotExecutable when it is not
// executable), found before anything runs. Cancelling ctx abandons the
// start and removes what was made.
func (r *Runtime) Start(ctx context.Context, spec ContainerSpec) (State, error) {
	if err := spec.validate(); err != nil {
		return State{}, err
	}
	if err := ctx.Err(); err != nil {
		return State{}, err
	}
	spec.Args = slices.Clone(spec.Args)
	id := spec.ID
	r.mu.Lock()
	if r.containers[id] != nil || r.starting[id] {
		r.mu.Unlock()
		return State{}, fmt.Errorf("container %s: %w", id, ErrExists)
	}
	r.starting[id] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.starting, id)
		r.mu.Unlock()
	}()

	dir := r.containerDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return State{}, fmt.Errorf("container %s: %w", id, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, specFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return State{}, fmt.Errorf("container %s: %w", id, ErrExists)
	}
	if err != nil {
		return State{}, fmt.Errorf("container %s: %w", id, err)
	}
	f.Close()
	if _, err := os.Stat(filepath.Join(r.lcRoot, id)); err == nil {
		os.Remove(filepath.Join(dir, specFile))
		return State{}, fmt.Errorf("container %s: %w (libcontainer state left over: Remove it)", id, ErrExists)
	}

	started := time.Now()
	c, pid, err := r.start(ctx, &spec)
	if err != nil {
		if terr := r.teardown(id, c, RemoveOptions{}); terr != nil {
			r.log.Warn("cleanup after failed start", "id", id, "err", terr)
		}
		return State{}, err
	}
	st := State{ID: id, Status: Running, Pid: pid, CreatedAt: c.meta.CreatedAt, StartedAt: c.meta.StartedAt}
	r.mu.Lock()
	r.containers[id] = c
	r.mu.Unlock()
	r.log.Info("container started", "id", id, "pid", pid, "took", time.Since(started))
	return st, nil
}

// start does Start's work after the ID is reserved and returns the init's
// host pid; the container it returns is what teardown must clean on error.
func (r *Runtime) start(ctx context.Context, spec *ContainerSpec) (*container, int, error) {
	id := spec.ID
	dir := r.containerDir(id)
	go warmCgroupMigration() // see there: overlaps a kernel wait with the work below
	c := newContainer(r, id, meta{Spec: *spec, CreatedAt: time.Now()})
	if err := writeJSON(filepath.Join(dir, specFile), c.meta); err != nil {
		return c, 0, fmt.Errorf("container %s: %w", id, err)
	}

	run := filepath.Join(dir, runDir)
	if err := os.MkdirAll(run, 0o700); err != nil {
		return c, 0, fmt.Errorf("container %s: %w", id, err)
	}
	for _, p := range []string{run, filepath.Join(run, pid1.LogFile)} {
		if err := os.Lchown(p, int(spec.User.UID), int(spec.User.GID)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return c, 0, fmt.Errorf("container %s: %w", id, err)
		}
	}
	os.Remove(filepath.Join(run, pid1.StatusFile)) // a kept run dir of an earlier container

	rootfs := spec.Rootfs
	if len(spec.Layers) > 0 {
		rootfs = filepath.Join(dir, rootfsDir)
		if err := mountOverlay(spec.Layers, filepath.Join(dir, upperDir), filepath.Join(dir, workDir), rootfs); err != nil {
			return c, 0, fmt.Errorf("container %s: %w", id, err)
		}
	} else if fi, err := os.Stat(rootfs); err != nil || !fi.IsDir() {
		return c, 0, fmt.Errorf("container %s: %w: rootfs %s is not a directory", id, ErrInvalidSpec, rootfs)
	}

	env := spec.env()
	if _, err := resolveCommand(rootfs, spec.Args[0], envValue(env, "PATH"), spec.workingDir(), spec.Mounts); err != nil {
		return c, 0, fmt.Errorf("container %s: %w", id, err)
	}

	cfg, err := r.libcontainerConfig(spec, rootfs, run)
	if err != nil {
		return c, 0, err
	}
	lc, err := libcontainer.Create(r.lcRoot, id, cfg)
	if err != nil {
		return c, 0, fmt.Errorf("container %s: create: %w", id, err)
	}
	c.lc = lc

	readyR, readyW, err := os.Pipe()
	if err != nil {
		return c, 0, err
	}
	defer readyR.Close()
	proc := &libcontainer.Process{
		Args:             append([]string{pid1.InitPath, "-ready-fd=3", "--"}, spec.Args...),
		Env:              env,
		UID:              int(spec.User.UID),
		GID:              int(spec.User.GID),
		AdditionalGroups: intSlice(spec.User.AdditionalGIDs),
		Cwd:              spec.workingDir(),
		ExtraFiles:       []*os.File{readyW},
		Init:             true,
	}
	err = lc.Run(proc)
	readyW.Close()
	if err != nil {
		return c, 0, fmt.Errorf("container %s: run: %w", id, err)
	}
	pid, _ := proc.Pid()

	// The init's report; EOF without one when it dies first.
	line := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(readyR, 4096))
		line <- strings.TrimSpace(string(b))
	}()
	var msg string
	select {
	case msg = <-line:
	case <-ctx.Done():
		_ = lc.Signal(unix.SIGKILL)
		c.watchOwn(proc)
		<-c.done
		return c, 0, fmt.Errorf("container %s: start: %w", id, ctx.Err())
	}
	if rest, ok := strings.CutPrefix(msg, "ok "); ok {
		if _, startedNs, ok := strings.Cut(rest, " "); ok {
			c.meta.StartedAt = time.Now()
			if ns, err := strconv.ParseInt(startedNs, 10, 64); err == nil {
				c.meta.StartedAt = time.Unix(0, ns)
			}
			err := writeJSON(filepath.Join(dir, specFile), c.meta)
			c.watchOwn(proc) // c.meta is final from here on
			if err != nil {
				_ = lc.Signal(unix.SIGKILL)
				<-c.done
				return c, 0, fmt.Errorf("container %s: %w", id, err)
			}
			return c, pid, nil
		}
	}
	c.watchOwn(proc)
	<-c.done // the init exits right after a failed start
	if rest, ok := strings.CutPrefix(msg, "err "); ok {
		code, text, _ := strings.Cut(rest, " ")
		switch code {
		case strconv.Itoa(pid1.ExitNotFound):
			return c, 0, fmt.Errorf("container %s: %w: %s", id, ErrCommandNotFound, text)
		case strconv.Itoa(pid1.ExitNotExecutable):
			return c, 0, fmt.Errorf("container %s: %w: %s", id, ErrNotExecutable, text)
		}
		return c, 0, fmt.Errorf("container %s: start: %s", id, text)
	}
	st := c.final
	return c, 0, fmt.Errorf("container %s: the init ended before starting the command (exit code %d, %s)", id, st.ExitCode, st.Message)
}

func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

func intSlice(u []uint32) []int {
	out := make([]int, len(u))
	for i, v := range u {
		out[i] = int(v)
	}
	return out
}
