package main

import (
	"os"
	"path/filepath"
	"strings"
)

// repoURL turns a local repository path given to --repo into a file://
// URL; URLs and scp-like addresses pass unchanged.
func repoURL(s string) string {
	if strings.Contains(s, "://") {
		return s
	}
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
		if abs, err := filepath.Abs(s); err == nil {
			return "file://" + abs
		}
	}
	if _, err := os.Stat(s); err == nil {
		if abs, err := filepath.Abs(s); err == nil {
			return "file://" + abs
		}
	}
	return s
}
