package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/system"
	"golang.org/x/sys/unix"
)

// container is the runtime's handle on one container, made by Start or
// re-adopted from disk by get.
type container struct {
	r   *Runtime
	id  string
	dir string
	// meta is complete before the container is watched or published, and
	// read-only afterwards.
	meta meta

	// lc is libcontainer's handle; nil when libcontainer has no state (a
	// half-made or already destroyed container). Set before the container
	// is published, read-only afterwards.
	lc      *libcontainer.Container
	created bool        // libcontainer reported Created at adoption (init not exec'd)
	killed  atomic.Bool // this runtime sent SIGKILL

	// done is closed once the init has exited and final is recorded.
	done  chan struct{}
	once  sync.Once
	final State
}

func newContainer(r *Runtime, id string, m meta) *container {
	return &container{r: r, id: id, dir: r.containerDir(id), meta: m, done: make(chan struct{})}
}

// adopt rebuilds the handle of a container this Runtime did not start.
// Called with r.mu held; it does not block.
func (r *Runtime) adopt(id string) (*container, error) {
	dir := r.containerDir(id)
	var m meta
	if err := readJSON(filepath.Join(dir, specFile), &m); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("container %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	c := newContainer(r, id, m)
	var final State
	if err := readJSON(filepath.Join(dir, exitFile), &final); err == nil {
		c.lc, _ = libcontainer.Load(r.lcRoot, id)
		c.final = final
		c.once.Do(func() { close(c.done) })
		return c, nil
	}
	lc, err := libcontainer.Load(r.lcRoot, id)
	if err != nil {
		if !errors.Is(err, libcontainer.ErrNotExist) {
			return nil, fmt.Errorf("container %s: load: %w", id, err)
		}
		// No libcontainer state: Start died before creating it (or the
		// status file is all that is left).
		c.finish(nil)
		return c, nil
	}
	c.lc = lc
	st, err := lc.State()
	if err != nil {
		return nil, fmt.Errorf("container %s: state: %w", id, err)
	}
	status, err := lc.Status()
	if err != nil {
		return nil, fmt.Errorf("container %s: status: %w", id, err)
	}
	switch status {
	case libcontainer.Stopped:
		c.finish(reapPid(st.InitProcessPid, st.InitProcessStartTime))
	default:
		c.created = status == libcontainer.Created
		go c.watchPid(st.InitProcessPid, st.InitProcessStartTime)
	}
	r.log.Info("container re-adopted", "id", id, "status", status.String(), "pid", st.InitProcessPid)
	return c, nil
}

// state is the current state; it does not block.
func (c *container) state() State {
	select {
	case <-c.done:
		return c.final
	default:
	}
	st := State{ID: c.id, Status: Running, CreatedAt: c.meta.CreatedAt, StartedAt: c.meta.StartedAt}
	if c.created || c.meta.StartedAt.IsZero() {
		st.Status = Created
	}
	if c.lc != nil {
		if s, err := c.lc.State(); err == nil {
			st.Pid = s.InitProcessPid
		}
	}
	return st
}

func (c *container) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the container's init.
func (c *container) signal(sig syscall.Signal) error {
	if c.exited() || c.lc == nil {
		return fmt.Errorf("container %s: %w", c.id, ErrNotRunning)
	}
	if sig == syscall.SIGKILL {
		c.killed.Store(true)
	}
	if err := c.lc.Signal(sig); err != nil {
		if errors.Is(err, libcontainer.ErrNotRunning) || c.exited() {
			return fmt.Errorf("container %s: %w", c.id, ErrNotRunning)
		}
		return fmt.Errorf("container %s: signal %v: %w", c.id, sig, err)
	}
	return nil
}

// kill SIGKILLs a running container and waits (up to timeout) for the end
// to be recorded.
func (c *container) kill(timeout time.Duration) error {
	if c.exited() {
		return nil
	}
	if err := c.signal(syscall.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("container %s: still running %v after SIGKILL", c.id, timeout)
	}
}

// watchOwn waits for the init of a container this process started.
func (c *container) watchOwn(p *libcontainer.Process) {
	go func() {
		ps, _ := p.Wait()
		var ws *syscall.WaitStatus
		if ps != nil {
			if s, ok := ps.Sys().(syscall.WaitStatus); ok {
				ws = &s
			}
		}
		c.finish(ws)
	}()
}

// watchPid waits, without polling, for the exit of an init this process
// did not start: through a pidfd registered with Go's network poller. The
// start time guards against a recycled pid. If this process happens to be
// the init's parent (an agent that is a child subreaper), it reaps it and
// keeps its wait status.
func (c *container) watchPid(pid int, startTime uint64) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		c.finish(nil)
		return
	}
	if st, err := system.Stat(pid); err != nil || st.StartTime != startTime {
		unix.Close(fd)
		c.finish(nil)
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	ready := func(fd uintptr) bool {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
		return err == nil && n > 0
	}
	rc, err := f.SyscallConn()
	if err == nil {
		err = rc.Read(ready)
	}
	if err != nil { // not pollable through Go: block in poll(2) instead
		for {
			n, perr := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, -1)
			if n > 0 || (perr != nil && !errors.Is(perr, unix.EINTR)) {
				break
			}
		}
	}
	var ws *syscall.WaitStatus
	if rc != nil {
		_ = rc.Control(func(fd uintptr) { ws = reapPidfd(int(fd)) })
	}
	c.finish(ws)
}

// reapPid reaps pid (if it is this process's child, a zombie, and still the
// process that started at startTime) and returns its wait status.
func reapPid(pid int, startTime uint64) *syscall.WaitStatus {
	if pid <= 0 {
		return nil
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	if st, err := system.Stat(pid); err != nil || st.StartTime != startTime {
		return nil
	}
	return reapPidfd(fd)
}

// siginfoChld is the SIGCHLD layout of siginfo_t (x/sys hides it).
type siginfoChld struct {
	Signo, Errno, Code, _ int32
	Pid                   int32
	UID                   uint32
	Status                int32
	_                     [100]byte
}

// reapPidfd reaps the process of pidfd if it is this process's child.
func reapPidfd(pidfd int) *syscall.WaitStatus {
	var si siginfoChld
	err := unix.Waitid(unix.P_PIDFD, pidfd, (*unix.Siginfo)(unsafe.Pointer(&si)), unix.WEXITED|unix.WNOHANG, nil)
	if err != nil || si.Pid == 0 {
		return nil
	}
	var ws syscall.WaitStatus
	switch si.Code {
	case 1: // CLD_EXITED
		ws = syscall.WaitStatus(uint32(si.Status&0xff) << 8)
	case 2, 3: // CLD_KILLED, CLD_DUMPED
		ws = syscall.WaitStatus(uint32(si.Status & 0x7f))
	default:
		return nil
	}
	return &ws
}

// finish records the end of the container once: the final state (see
// exitState) goes to exit.json, then done is closed.
func (c *container) finish(ws *syscall.WaitStatus) {
	c.once.Do(func() {
		memDir := memoryCgroupDir(path.Join(c.r.cfg.CgroupParent, c.id))
		if c.lc != nil {
			if s, err := c.lc.State(); err == nil && s.CgroupPaths["memory"] != "" {
				memDir = s.CgroupPaths["memory"]
			}
		}
		c.final = exitState(c.id, c.meta, c.dir, ws, c.killed.Load(), oomKills(memDir), time.Now())
		if err := writeJSON(filepath.Join(c.dir, exitFile), c.final); err != nil {
			c.r.log.Warn("record exit", "id", c.id, "err", err)
		}
		c.r.log.Info("container exited", "id", c.id, "exitCode", c.final.ExitCode,
			"signal", int(c.final.Signal), "reason", c.final.Reason, "oomKilled", c.final.OOMKilled)
		close(c.done)
	})
}
