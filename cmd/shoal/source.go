package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/nodeagent/desired"
	"github.com/shoal-run/shoal/reconciler/gitsource"
)

// gitPollInterval is how often a node checks its repository's branch for a
// new commit (a webhook makes it check at once).
var gitPollInterval = 5 * time.Second

// nodeSource is where a one-machine node reads its desired state from.
type nodeSource interface {
	// Run calls apply with each new desired state until ctx ends.
	Run(ctx context.Context, apply func(*manifests.Set)) error
	// Describe names the source for logs.
	Describe() string
}

// desiredSource builds the node's source: a Git repository when --repo is
// given (with the webhook handler when a secret is configured), a folder
// otherwise.
func desiredSource(cfg nodeConfig, log *slog.Logger) (nodeSource, http.Handler, error) {
	if cfg.Repo == "" {
		f, err := desired.NewFolderSource(desired.FolderConfig{Dir: cfg.Manifests, Interval: time.Second, Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("--manifests: %w", err)
		}
		return folderSource{f, cfg.Manifests}, nil, nil
	}
	gc := gitsource.DefaultConfig(repoURL(cfg.Repo))
	if cfg.Branch != "" {
		gc.Branch = cfg.Branch
	}
	if cfg.RepoPath != "" {
		gc.Path = cfg.RepoPath
	}
	gc.CacheDir = filepath.Join(cfg.DataDir, "git")
	gc.PollInterval = gitPollInterval
	gc.Logger = log
	if cfg.RepoUser != "" || cfg.RepoPasswordFile != "" {
		gc.Auth.Username = cfg.RepoUser
		if cfg.RepoPasswordFile != "" {
			pw, err := os.ReadFile(cfg.RepoPasswordFile)
			if err != nil {
				return nil, nil, fmt.Errorf("--repo-password-file: %w", err)
			}
			gc.Auth.Password = strings.TrimSpace(string(pw))
		}
	}
	s, err := gitsource.New(gc)
	if err != nil {
		return nil, nil, fmt.Errorf("--repo: %w", err)
	}
	var hook http.Handler
	if cfg.WebhookSecretFile != "" {
		secret, err := os.ReadFile(cfg.WebhookSecretFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--webhook-secret-file: %w", err)
		}
		secret = []byte(strings.TrimSpace(string(secret)))
		if len(secret) == 0 {
			return nil, nil, errors.New("--webhook-secret-file is empty")
		}
		hook = gitsource.WebhookHandler(secret, func(string) { s.Trigger() })
	}
	return gitSource{s, gc, log}, hook, nil
}

type folderSource struct {
	*desired.FolderSource
	dir string
}

func (f folderSource) Describe() string { return "folder " + f.dir }

type gitSource struct {
	src *gitsource.Source
	cfg gitsource.Config
	log *slog.Logger
}

func (g gitSource) Describe() string {
	return fmt.Sprintf("git %s branch %s path %s", g.cfg.URL, g.cfg.Branch, g.cfg.Path)
}

// Run applies each new good commit; a commit that does not load is logged
// with its diagnostics and changes nothing.
func (g gitSource) Run(ctx context.Context, apply func(*manifests.Set)) error {
	return g.src.Run(ctx, func(rev gitsource.Revision, set *manifests.Set) {
		g.log.Info("desired state from git", "revision", rev.String(), "author", rev.Author, "message", firstLine(rev.Message), "objects", set.Len())
		apply(set)
	}, func(rev gitsource.Revision, err error) {
		g.log.Error("git sync failed; the last good state stays in force", "revision", rev.String(), "error", err)
	})
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return first
}

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
