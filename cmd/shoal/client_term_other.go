//go:build !linux

package main

import (
	"errors"

	"github.com/shoal-run/shoal/nodeagent/api"
)

// Terminals are handled on Linux only; elsewhere exec never allocates one.

func isTerminal(int) bool { return false }

func makeRaw(int) (func() error, error) {
	return nil, errors.New("raw terminal mode is supported on Linux only")
}

func terminalSize(int) (api.TermSize, error) {
	return api.TermSize{}, errors.New("terminal size is supported on Linux only")
}
