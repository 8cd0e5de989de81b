package pid1

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultDrain bounds how long the init keeps reading the command's output
// pipes after the command exited (a background process may hold them open).
const DefaultDrain = 250 * time.Millisecond

// Exit codes for a command that could not be started, as shells use them.
const (
	ExitNotFound      = 127
	ExitNotExecutable = 126
)

// Main runs the init: args are the arguments after the program name
// (os.Args[1:]), flags first, then "--" and the user's command. It returns
// the exit code the process must exit with (the caller calls os.Exit). It
// blocks until the command has exited.
func Main(args []string) int {
	fl := flag.NewFlagSet("shoal-init", flag.ContinueOnError)
	runDir := fl.String("run-dir", RunDir, "directory for the log and status files")
	readyFD := fl.Int("ready-fd", -1, "file descriptor to report start-up on, then close")
	drain := fl.Duration("drain", DefaultDrain, "how long to keep reading output after the command exited")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	in := &initProcess{runDir: *runDir, drain: *drain}
	if *readyFD >= 0 {
		// Not for the command: mark it close-on-exec before anything forks.
		syscall.CloseOnExec(*readyFD)
		in.ready = os.NewFile(uintptr(*readyFD), "ready")
	}
	return in.run(fl.Args())
}

type initProcess struct {
	runDir string
	drain  time.Duration
	ready  *os.File
	log    *LogWriter
}

// fail reports a command that never ran: handshake, log, status.
func (in *initProcess) fail(code int, started time.Time, format string, a ...any) int {
	msg := fmt.Sprintf(format, a...)
	if in.log != nil {
		_ = in.log.Record("stderr", false, []byte("shoal-init: "+msg))
	}
	_ = WriteStatus(in.runDir, Status{
		ExitCode:   code,
		StartedAt:  started,
		FinishedAt: time.Now(),
		Reason:     ReasonStartError,
		Message:    msg,
	})
	in.report(fmt.Sprintf("err %d %s", code, strings.ReplaceAll(msg, "\n", " ")))
	return code
}

func (in *initProcess) report(line string) {
	if in.ready == nil {
		return
	}
	_, _ = io.WriteString(in.ready, line+"\n")
	_ = in.ready.Close()
	in.ready = nil
}

func (in *initProcess) run(argv []string) int {
	// Orphans of the command's descendants come to us even without a PID
	// namespace of our own.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

	logFile, err := os.OpenFile(filepath.Join(in.runDir, LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return in.fail(ExitNotExecutable, time.Time{}, "open log: %v", err)
	}
	defer logFile.Close()
	in.log = NewLogWriter(logFile, nil)

	if len(argv) == 0 || argv[0] == "" {
		return in.fail(ExitNotFound, time.Time{}, "no command given")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return in.fail(lookupExitCode(err), time.Time{}, "%v", err)
	}

	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return in.fail(ExitNotExecutable, time.Time{}, "open %s: %v", os.DevNull, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return in.fail(ExitNotExecutable, time.Time{}, "pipe: %v", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return in.fail(ExitNotExecutable, time.Time{}, "pipe: %v", err)
	}

	// Signals are caught before the command exists; those arriving before
	// the pidfd is known wait in the channel.
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs, forwarded()...)

	pidfd := -1
	started := time.Now()
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{devNull.Fd(), outW.Fd(), errW.Fd()},
		Sys:   &syscall.SysProcAttr{PidFD: &pidfd},
	})
	devNull.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return in.fail(startExitCode(err), started, "exec %s: %v", argv[0], err)
	}
	in.report(fmt.Sprintf("ok %d %d", pid, started.UnixNano()))

	var copiers sync.WaitGroup
	for _, s := range []struct {
		name string
		r    *os.File
	}{{"stdout", outR}, {"stderr", errR}} {
		copiers.Add(1)
		go func() {
			defer copiers.Done()
			_ = in.log.Copy(s.name, s.r)
		}()
	}

	exited := make(chan syscall.WaitStatus, 1)
	go reap(pid, exited)

	var ws syscall.WaitStatus
forward:
	for {
		select {
		case sig := <-sigs:
			if pidfd >= 0 {
				_ = unix.PidfdSendSignal(pidfd, sig.(syscall.Signal), nil, 0)
			}
		case ws = <-exited:
			break forward
		}
	}
	signal.Stop(sigs)
	finished := time.Now()

	// The container ends with its command. As PID 1 of its namespace the
	// init takes the rest down now (the kernel would when it exits), so
	// that output pipes held by background processes close at once.
	if os.Getpid() == 1 {
		_ = syscall.Kill(-1, syscall.SIGKILL)
	}

	deadline := time.Now().Add(in.drain)
	_ = outR.SetReadDeadline(deadline)
	_ = errR.SetReadDeadline(deadline)
	copiers.Wait()
	outR.Close()
	errR.Close()

	st := Status{ExitCode: ws.ExitStatus(), StartedAt: started, FinishedAt: finished}
	if ws.Signaled() {
		st.Signal = int(ws.Signal())
		st.ExitCode = 128 + st.Signal
	}
	if err := WriteStatus(in.runDir, st); err != nil {
		_ = in.log.Record("stderr", false, []byte("shoal-init: write status: "+err.Error()))
	}
	return st.ExitCode
}

// reap waits for every child until the command (pid) has exited, and sends
// the command's status on exited. It keeps reaping orphans afterwards for
// as long as the process lives.
func reap(pid int, exited chan<- syscall.WaitStatus) {
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil { // ECHILD: nothing left to reap
			return
		}
		if wpid == pid {
			exited <- ws
		}
	}
}

// forwarded lists the signals the init passes on to the command: every
// catchable one except those the Go runtime or the init itself needs.
func forwarded() []os.Signal {
	sigs := []os.Signal{
		unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2,
		unix.SIGTERM, unix.SIGALRM, unix.SIGWINCH, unix.SIGCONT, unix.SIGTSTP,
		unix.SIGTTIN, unix.SIGTTOU, unix.SIGVTALRM, unix.SIGXCPU, unix.SIGXFSZ,
		unix.SIGPWR, unix.SIGSTKFLT, unix.SIGABRT,
	}
	for s := 34; s <= 64; s++ { // SIGRTMIN..SIGRTMAX (e.g. systemd's SIGRTMIN+3)
		sigs = append(sigs, syscall.Signal(s))
	}
	return sigs
}

func lookupExitCode(err error) int {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return ExitNotFound
	}
	return ExitNotExecutable
}

func startExitCode(err error) int {
	if errors.Is(err, syscall.ENOENT) {
		return ExitNotFound
	}
	return ExitNotExecutable
}
