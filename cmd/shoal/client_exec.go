package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/shoal-run/shoal/nodeagent/api"
	"github.com/spf13/cobra"
)

// execOptions are the flags of `shoal exec`.
type execOptions struct {
	connectOptions
	container string
	stdin     bool
	tty       bool
}

func newExecCommand() *cobra.Command {
	var o execOptions
	cmd := &cobra.Command{
		Use:   "exec POD [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]",
		Short: "Run a command in a container",
		Long: `Exec runs a command in a running container of a pod (its only container
unless -c names one), as kubectl exec does. -i sends this terminal's input
to it; -i -t gives it a terminal: yours is put in raw mode (keys, Ctrl-C
included, go to the command) and its size follows yours.

Exec exits with the command's exit status.`,
		Example: `  shoal exec web-7d4b9c-x2x9k -- ls /usr/share/nginx/html
  shoal exec -it web-7d4b9c-x2x9k -- sh
  echo hello | shoal exec -i -n shop cart-0 -c app -- cat`,
		Args: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			switch {
			case len(args) == 0 || dash == 0:
				return errors.New("exec needs a pod: shoal exec POD -- COMMAND [ARG...]")
			case dash == -1 && len(args) > 1:
				return fmt.Errorf("put the command after --: shoal exec %s -- %s", args[0], args[1])
			case dash > 1:
				return fmt.Errorf("exec takes one pod, got %q: put the command after --", args[:dash])
			case len(args) < 2:
				return fmt.Errorf("exec needs a command: shoal exec %s -- COMMAND [ARG...]", args[0])
			}
			return nil
		},
	}
	o.bindPod(cmd, o.run)
	f := cmd.Flags()
	f.StringVarP(&o.container, "container", "c", "", "container to run the command in (default: the pod's only container)")
	f.BoolVarP(&o.stdin, "stdin", "i", false, "send standard input to the command")
	f.BoolVarP(&o.tty, "tty", "t", false, "give the command a terminal (with -i, when standard input is one)")
	return cmd
}

func (o *execOptions) run(cmd *cobra.Command, pod string, command []string) error {
	opts := api.ExecOptions{
		Container: o.container,
		Command:   command,
		Stdout:    cmd.OutOrStdout(),
		Stderr:    cmd.ErrOrStderr(),
	}
	in := cmd.InOrStdin()
	if o.stdin {
		opts.Stdin = in
	}
	// As kubectl: a terminal only with -i -t and when stdin is one.
	fd, isTerm := terminalFd(in)
	if o.tty && o.stdin {
		if isTerm {
			opts.TTY = true
		} else {
			fmt.Fprintln(cmd.ErrOrStderr(), "Unable to use a TTY - input is not a terminal or the right kind of file")
		}
	}
	c, err := o.client()
	if err != nil {
		return err
	}
	if opts.TTY {
		restore, err := makeRaw(fd)
		if err != nil {
			return fmt.Errorf("putting the terminal in raw mode: %w", err)
		}
		defer restore()
		resize := make(chan api.TermSize, 1)
		stop := watchTerminalSize(fd, resize)
		defer stop()
		opts.Resize = resize
	}
	ctx := cmd.Context()
	code, err := c.Exec(ctx, o.namespace, pod, opts)
	switch {
	case err != nil && ctx.Err() != nil:
		return exitError{code: interrupted}
	case err != nil:
		return err
	case code != 0:
		return exitError{code: code}
	}
	return nil
}

// terminalFd returns the descriptor of r when it is a terminal. (It does
// not use f.Fd, which would turn the file to blocking mode, so that closing
// it could no longer interrupt a read.)
func terminalFd(r io.Reader) (int, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return -1, false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, false
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1, false
	}
	return fd, isTerminal(fd)
}

// watchTerminalSize sends the terminal's size on ch now and after every
// SIGWINCH, replacing a size not taken yet, until stop is called.
func watchTerminalSize(fd int, ch chan api.TermSize) (stop func()) {
	send := func() {
		s, err := terminalSize(fd)
		if err != nil {
			return
		}
		for {
			select {
			case ch <- s:
				return
			default:
			}
			select {
			case <-ch:
			default:
			}
		}
	}
	send()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-sig:
				send()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
		<-exited
	}
}
