// Package netnsexec runs code and commands inside a network namespace
// given by the path of its file, for the node agent's packages that
// program a node's network (podnet, svcproxy, netpolicy).
package netnsexec

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"

	"github.com/vishvananda/netns"
)

// Do runs fn on an OS thread that has joined the network namespace at path
// (the caller's own when path is empty, without a thread switch). The
// thread is locked for fn and discarded afterwards, so no other goroutine
// ever runs in that namespace. Sockets made by fn stay in the namespace and
// may be used from any goroutine; processes started by fn (os/exec)
// inherit it.
func Do(path string, fn func() error) error {
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

// Run executes a command in the network namespace at path (see Do), with
// stdin when not empty, and returns its stdout. The error names the
// command and carries its stderr; it wraps the *exec.ExitError.
func Run(path, stdin, name string, args ...string) ([]byte, error) {
	var out []byte
	err := Do(path, func() error {
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

// RuleExists reports whether an iptables rule (args, as given to -A) is in
// chain of table, in the network namespace at path (iptables -C). A rule
// whose target chain does not exist is not there.
func RuleExists(path, table, chain string, args []string) (bool, error) {
	_, err := Run(path, "", "iptables", append([]string{"-w", "-t", table, "-C", chain}, args...)...)
	if err == nil {
		return true, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return false, nil
	}
	// Exit code 2 with "Chain ... does not exist": the target chain is gone.
	if strings.Contains(err.Error(), "does not exist") {
		return false, nil
	}
	return false, fmt.Errorf("check iptables rule %s %s -> %s: %w", table, chain, args[len(args)-1], err)
}
