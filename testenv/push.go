package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// CommitFiles clones the cluster repository with the git command, writes
// files (path relative to the repository root → content; folders are
// made), commits them with msg and pushes to main (a real push: the
// post-receive hook tells the cluster). It returns the new commit.
func (c *Cluster) CommitFiles(ctx context.Context, files map[string]string, msg string) (string, error) {
	return c.commit(ctx, msg, func(work string) error {
		paths := make([]string, 0, len(files))
		for p := range files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			full, err := repoPath(work, p)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
}

// RemoveFiles is CommitFiles for removing paths (files or folders).
func (c *Cluster) RemoveFiles(ctx context.Context, paths []string, msg string) (string, error) {
	return c.commit(ctx, msg, func(work string) error {
		for _, p := range paths {
			full, err := repoPath(work, p)
			if err != nil {
				return err
			}
			if err := os.RemoveAll(full); err != nil {
				return err
			}
		}
		return nil
	})
}

// repoPath joins a repository-relative path to the work tree, refusing
// paths that leave it.
func repoPath(work, p string) (string, error) {
	clean := filepath.Clean("/" + p)
	if clean == "/" || strings.HasPrefix(clean, "/.git/") || clean == "/.git" {
		return "", fmt.Errorf("path %q: name a file in the repository", p)
	}
	return filepath.Join(work, clean), nil
}

// commit clones, lets change edit the work tree, commits everything and
// pushes to main.
func (c *Cluster) commit(ctx context.Context, msg string, change func(work string) error) (string, error) {
	tmp, err := os.MkdirTemp("", "shoal-rig-push-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	work := filepath.Join(tmp, "work")
	g := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-c", "user.name=shoal testenv", "-c", "user.email=testenv@shoal.invalid", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = tmp
		if _, err := os.Stat(work); err == nil {
			cmd.Dir = work
		}
		// A private HOME: the user's git configuration stays out.
		cmd.Env = append(cleanEnv(), "HOME="+tmp, "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return string(out), fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(c.redact(string(out))))
		}
		return string(out), nil
	}
	if _, err := g("clone", "--quiet", c.GitURL(), work); err != nil {
		return "", err
	}
	if _, err := g("rev-parse", "--verify", "--quiet", "HEAD"); err != nil {
		// An empty repository: start main.
		if _, err := g("symbolic-ref", "HEAD", "refs/heads/main"); err != nil {
			return "", err
		}
	}
	if err := change(work); err != nil {
		return "", err
	}
	if _, err := g("add", "--all"); err != nil {
		return "", err
	}
	if _, err := g("commit", "--quiet", "--allow-empty", "-m", msg); err != nil {
		return "", err
	}
	out, err := g("push", "--quiet", "origin", "HEAD:refs/heads/main")
	if err != nil {
		return "", err
	}
	if strings.Contains(out, "not announced") {
		c.log.Warn("push done, but the hook could not tell the cluster", "output", strings.TrimSpace(out))
	}
	sha, err := g("rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(sha), nil
}

// redact hides the rig's Git password in s.
func (c *Cluster) redact(s string) string {
	pw, err := readSecret(filepath.Join(c.dir, GitPasswordFile))
	if err != nil {
		return s
	}
	return strings.ReplaceAll(s, pw, "xxxxx")
}
