package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"
)

// execDrain bounds how long Exec keeps copying output after the process
// exited (a background child may hold the pipe or terminal open).
const execDrain = 250 * time.Millisecond

// TermSize is a terminal size in character cells.
type TermSize struct {
	Width, Height uint16
}

// ExecSpec describes a process to run in a running container.
type ExecSpec struct {
	// Args is the command; Args[0] is looked up in the PATH of Env.
	Args []string
	// Env defaults (when nil) to the container's environment.
	Env []string
	// WorkingDir defaults to the container's.
	WorkingDir string
	// User defaults (when nil) to the container's user.
	User *User

	// TTY gives the process a new pseudo-terminal as its controlling
	// terminal and stdin/stdout/stderr: Stdin feeds the terminal, Stdout
	// receives everything it prints (Stderr is unused), Size is its first
	// size and every value on Resize resizes it.
	TTY    bool
	Size   TermSize
	Resize <-chan TermSize

	// Stdin, Stdout and Stderr may be nil (/dev/null). An *os.File is handed
	// to the process as it is; anything else goes through a pipe and a copy
	// in this process. Exec does not wait for Stdin to end: a Read still
	// blocked when the process has exited is the caller's to unblock.
	// When Stdout and Stderr are the same writer, both streams share one
	// pipe, so that it is written by one goroutine only.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Exec runs a process in a running container (also one re-adopted from an
// earlier agent) and blocks until it exits and its output is copied. It
// returns the process's exit code, 128+signal when a signal killed it.
// Cancelling ctx SIGKILLs the process and returns ctx.Err() with its exit
// code. A command missing in the container gives ErrCommandNotFound (exit
// code 127); a stopped container, ErrNotRunning.
func (r *Runtime) Exec(ctx context.Context, id string, e ExecSpec) (int, error) {
	c, err := r.get(id)
	if err != nil {
		return -1, err
	}
	if len(e.Args) == 0 || e.Args[0] == "" {
		return -1, fmt.Errorf("container %s: exec: %w: empty command", id, ErrInvalidSpec)
	}
	if c.exited() || c.lc == nil {
		return -1, fmt.Errorf("container %s: exec: %w", id, ErrNotRunning)
	}
	spec := c.meta.Spec
	env := e.Env
	if env == nil {
		env = spec.Env
	}
	env = (&ContainerSpec{Env: env}).env()
	user := spec.User
	if e.User != nil {
		user = *e.User
	}
	cwd := e.WorkingDir
	if cwd == "" {
		cwd = spec.workingDir()
	}
	proc := &libcontainer.Process{
		Args:             e.Args,
		Env:              env,
		UID:              int(user.UID),
		GID:              int(user.GID),
		AdditionalGroups: intSlice(user.AdditionalGIDs),
		Cwd:              cwd,
	}

	var sio execIO
	defer sio.closeAll()
	if e.TTY {
		parent, child, err := utils.NewSockPair("console")
		if err != nil {
			return -1, err
		}
		sio.consoleSocket = parent
		sio.closers = append(sio.closers, parent)
		sio.childEnds = append(sio.childEnds, child)
		proc.ConsoleSocket = child
		proc.ConsoleWidth, proc.ConsoleHeight = e.Size.Width, e.Size.Height
	} else if err := sio.setupPipes(proc, e); err != nil {
		return -1, err
	}

	if err := c.lc.Run(proc); err != nil {
		if msg := err.Error(); strings.Contains(msg, `exec: "`) &&
			(strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory")) {
			return 127, fmt.Errorf("container %s: exec %s: %w: %v", id, e.Args[0], ErrCommandNotFound, err)
		}
		if c.exited() || errors.Is(err, libcontainer.ErrNotRunning) {
			return -1, fmt.Errorf("container %s: exec: %w", id, ErrNotRunning)
		}
		return -1, fmt.Errorf("container %s: exec %s: %w", id, e.Args[0], err)
	}
	sio.afterStart()

	exited := make(chan struct{})
	if e.TTY {
		if err := sio.setupTTY(proc, e, exited); err != nil {
			_ = proc.Signal(unix.SIGKILL)
			_, _ = proc.Wait()
			return -1, fmt.Errorf("container %s: exec: console: %w", id, err)
		}
	}

	// Cancelling ctx kills the process (it would not end by itself).
	waitDone := make(chan struct{})
	cancelled := make(chan bool, 1)
	go func() {
		select {
		case <-ctx.Done():
			_ = proc.Signal(unix.SIGKILL)
			cancelled <- true
		case <-waitDone:
			cancelled <- false
		}
	}()
	ps, werr := proc.Wait()
	close(waitDone)
	close(exited)
	sio.drain()

	code := -1
	if ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			switch {
			case ws.Signaled():
				code = 128 + int(ws.Signal())
			case ws.Exited():
				code = ws.ExitStatus()
			}
		}
	}
	if <-cancelled {
		return code, ctx.Err()
	}
	if code < 0 && werr != nil {
		return code, fmt.Errorf("container %s: exec: wait: %w", id, werr)
	}
	return code, nil
}

// execIO owns the host side of an exec'd process's stdio.
type execIO struct {
	closers       []io.Closer // closed at the end
	childEnds     []io.Closer // closed once the process has them
	readers       []*os.File  // output read ends, drained after exit
	copiers       sync.WaitGroup
	background    sync.WaitGroup // goroutines using the terminal besides copiers
	consoleSocket *os.File       // receives the terminal's master end (TTY)
}

func (x *execIO) setupPipes(proc *libcontainer.Process, e ExecSpec) error {
	switch in := e.Stdin.(type) {
	case nil:
	case *os.File:
		proc.Stdin = in
	default:
		pr, pw, err := os.Pipe()
		if err != nil {
			return err
		}
		proc.Stdin = pr
		x.childEnds = append(x.childEnds, pr)
		x.closers = append(x.closers, pw)
		go func() {
			_, _ = io.Copy(pw, in)
			pw.Close() // EOF for the process
		}()
	}
	for i, o := range []struct {
		w   io.Writer
		dst *io.Writer
	}{{e.Stdout, &proc.Stdout}, {e.Stderr, &proc.Stderr}} {
		// One writer for both streams (as os/exec allows): one pipe, so that
		// only one goroutine ever writes to it.
		if i == 1 && e.Stderr != nil && sameWriter(e.Stdout, e.Stderr) {
			proc.Stderr = proc.Stdout
			continue
		}
		switch w := o.w.(type) {
		case nil:
		case *os.File:
			*o.dst = w
		default:
			pr, pw, err := os.Pipe()
			if err != nil {
				return err
			}
			*o.dst = pw
			x.childEnds = append(x.childEnds, pw)
			x.closers = append(x.closers, pr)
			x.readers = append(x.readers, pr)
			x.copiers.Add(1)
			go func() {
				defer x.copiers.Done()
				_, _ = io.Copy(w, pr)
			}()
		}
	}
	return nil
}

// setupTTY receives the terminal's master end from the container and
// starts copying and resizing.
func (x *execIO) setupTTY(proc *libcontainer.Process, e ExecSpec, exited <-chan struct{}) error {
	master, err := utils.RecvFile(x.consoleSocket)
	if err != nil {
		return err
	}
	// A non-blocking duplicate goes through Go's poller, so that the final
	// drain can have a deadline.
	fd, err := unix.Dup(int(master.Fd()))
	master.Close()
	if err != nil {
		return err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return err
	}
	m := os.NewFile(uintptr(fd), "pty-master")
	x.closers = append(x.closers, m)
	x.readers = append(x.readers, m)
	if e.Stdout != nil {
		x.copiers.Add(1)
		go func() {
			defer x.copiers.Done()
			_, _ = io.Copy(e.Stdout, m) // ends with EIO once the terminal is closed
		}()
	}
	if e.Stdin != nil {
		go func() { _, _ = io.Copy(m, e.Stdin) }()
	}
	if e.Resize != nil {
		rc, err := m.SyscallConn()
		if err != nil {
			return err
		}
		x.background.Add(1)
		go func() {
			defer x.background.Done()
			for {
				select {
				case sz, ok := <-e.Resize:
					if !ok {
						return
					}
					// Through the raw fd: m.Fd() would make the terminal blocking.
					_ = rc.Control(func(fd uintptr) {
						_ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Col: sz.Width, Row: sz.Height})
					})
				case <-exited:
					return
				}
			}
		}()
	}
	return nil
}

// afterStart closes this process's copies of the ends the child now holds.
func (x *execIO) afterStart() {
	for _, c := range x.childEnds {
		c.Close()
	}
	x.childEnds = nil
}

// drain waits for the output copies, giving up after execDrain.
func (x *execIO) drain() {
	deadline := time.Now().Add(execDrain)
	for _, r := range x.readers {
		_ = r.SetReadDeadline(deadline)
	}
	x.copiers.Wait()
}

func (x *execIO) closeAll() {
	x.background.Wait()
	for _, c := range x.childEnds {
		c.Close()
	}
	for _, c := range x.closers {
		c.Close()
	}
}

// sameWriter reports whether a and b are the same comparable writer.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false // not comparable
		}
	}()
	return a == b
}
