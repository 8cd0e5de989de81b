package svcproxy

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/shoal-run/shoal/nodeagent/internal/netnsexec"
)

// inNetNS runs fn on an OS thread that has joined the network namespace at
// path (see netnsexec.Do).
func inNetNS(path string, fn func() error) error { return netnsexec.Do(path, fn) }

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
// when not empty, and returns its stdout (see netnsexec.Run).
func run(nsPath, stdin, name string, args ...string) ([]byte, error) {
	return netnsexec.Run(nsPath, stdin, name, args...)
}
