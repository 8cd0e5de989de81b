package svcproxy

import (
	"bytes"
	"fmt"
	"os/exec"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// inNetNS runs fn on an OS thread that has joined the network namespace at
// path (the caller's own when path is empty, without a thread switch). The
// thread is locked for fn and discarded afterwards, so no other goroutine
// ever runs in that namespace. Sockets made by fn stay in the namespace and
// may be used from any goroutine; processes started by fn (os/exec)
// inherit it.
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread leaves the process with this goroutine.
		runtime.LockOSThread()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			errc <- fmt.Errorf("open network namespace %s: %w", path, err)
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("join network namespace %s: %w", path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// handleAt returns a netlink handle in the network namespace at path (the
// caller's own when empty).
func handleAt(path string) (*netlink.Handle, error) {
	if path == "" {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, fmt.Errorf("open netlink: %w", err)
		}
		return h, nil
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("open netlink in network namespace %s: %w", path, err)
	}
	return h, nil
}

// run executes a command in the network namespace at nsPath, with stdin
// when not empty, and returns its stdout. The error names the command and
// carries its stderr; it wraps the *exec.ExitError.
func run(nsPath, stdin, name string, args ...string) ([]byte, error) {
	var out []byte
	err := inNetNS(nsPath, func() error {
		cmd := exec.Command(name, args...)
		if stdin != "" {
			cmd.Stdin = strings.NewReader(stdin)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		out = stdout.Bytes()
		return nil
	})
	return out, err
}
