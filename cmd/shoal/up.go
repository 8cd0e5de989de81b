package main

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// newUpCommand is the one-machine shoal: a node agent running the Pods of a
// folder of manifests, re-read when files change.
func newUpCommand() *cobra.Command {
	cfg := defaultNodeConfig()
	var mirrors []string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a one-machine shoal node in the foreground",
		Long: `Up runs a one-machine shoal node in the foreground: its node agent runs the
Pods of a folder of manifests in real containers, and re-reads the folder when
a file changes (a change that does not load is reported and changes nothing).
The node's API serves the client commands (shoal get pods, logs, exec, ...).

Ctrl-C stops the agent and leaves the pods running: the next "shoal up" on the
same --data-dir re-adopts them. "shoal down" stops and removes everything.
Needs root. The binary must be statically linked (make build), since it is
also each container's init.`,
		Example: `  sudo shoal up --manifests ./deploy
  sudo shoal up --manifests ./deploy --registry-mirror docker.io=http://127.0.0.1:5000
  sudo shoal up --repo https://git.example.com/team/deploy.git --branch main --path apps --webhook-secret-file /etc/shoal/hook`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Repo != "" && cmd.Flags().Changed("manifests") {
				return fmt.Errorf("give either --repo or --manifests, not both")
			}
			m, insecure, err := parseMirrors(mirrors)
			if err != nil {
				return err
			}
			cfg.Mirrors = m
			cfg.Insecure = append(cfg.Insecure, insecure...)
			return runNode(cmd.Context(), cfg, slog.Default())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Manifests, "manifests", cfg.Manifests, "folder of manifests to run (when no --repo is given)")
	f.StringVar(&cfg.Repo, "repo", "", "Git repository of the desired state (https or ssh URL, or a local path); replaces --manifests")
	f.StringVar(&cfg.Branch, "branch", "main", "branch of --repo to follow")
	f.StringVar(&cfg.RepoPath, "path", ".", "folder of --repo holding the manifests")
	f.StringVar(&cfg.RepoUser, "repo-user", "", "user name for an https --repo")
	f.StringVar(&cfg.RepoPasswordFile, "repo-password-file", "", "file holding the password or token for an https --repo")
	f.StringVar(&cfg.WebhookSecretFile, "webhook-secret-file", "", "file holding the secret of the push webhook served at /webhook on the node's API (GitHub, Gitea and Gogs signatures)")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "where the node keeps images, containers and state")
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address of the node's API")
	f.StringVar(&cfg.NodeName, "node-name", cfg.NodeName, "this node's name")
	f.StringVar(&cfg.PodCIDR, "pod-cidr", cfg.PodCIDR, "address range of this node's pods")
	f.StringVar(&cfg.ClusterCIDR, "cluster-cidr", cfg.ClusterCIDR, "address range of all pods (not masqueraded)")
	f.StringVar(&cfg.Bridge, "bridge", cfg.Bridge, "name of the pods' bridge")
	f.StringArrayVar(&mirrors, "registry-mirror", nil, "registry mirror as HOST=URL (repeatable), e.g. docker.io=http://127.0.0.1:5000")
	f.StringArrayVar(&cfg.Insecure, "insecure-registry", nil, "registry host spoken to over plain HTTP (repeatable)")
	f.StringVar(&cfg.InitBinary, "init-binary", "", "static container init (default: shoal-init beside this binary, else this binary)")
	f.Int64Var(&cfg.PodPidsLimit, "pod-pids-limit", 0, "most processes per container (the pids cgroup); 0: no limit")
	return cmd
}

// parseMirrors reads HOST=URL pairs; a mirror URL of plain http:// makes
// its host insecure.
func parseMirrors(pairs []string) (map[string]string, []string, error) {
	if len(pairs) == 0 {
		return nil, nil, nil
	}
	out := map[string]string{}
	var insecure []string
	for _, p := range pairs {
		host, url, ok := strings.Cut(p, "=")
		if !ok || host == "" || url == "" {
			return nil, nil, fmt.Errorf("--registry-mirror %q: use HOST=URL, e.g. docker.io=http://127.0.0.1:5000", p)
		}
		out[host] = url
		if strings.HasPrefix(url, "http://") {
			insecure = append(insecure, strings.TrimPrefix(strings.TrimSuffix(url, "/"), "http://"))
		}
	}
	return out, insecure, nil
}

func newDownCommand() *cobra.Command {
	dataDir := defaultNodeConfig().DataDir
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the one-machine node and remove everything it made",
		Long: `Down stops the node running on --data-dir (if it runs), stops every pod it ran
(preStop hooks and grace periods apply), and removes every container, mount,
network namespace, cgroup and rule the node made. Images stay.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadNodeConfig(dataDir)
			if err != nil {
				return err
			}
			return downNode(cmd.Context(), cfg, slog.Default())
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", dataDir, "the node's data folder")
	return cmd
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print shoal's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "shoal", version())
		},
	}
}

// buildVersion is set at link time by the Makefile
// (-ldflags "-X main.buildVersion=...").
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
