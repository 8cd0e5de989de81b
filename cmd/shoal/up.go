package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shoal-run/shoal/examples"
	"github.com/shoal-run/shoal/gossip"
)

// upOptions are `shoal up`'s own flags; the rest bind onto the agent's
// configuration.
type upOptions struct {
	manifests string
	mirrors   []string
}

// newUpCommand is the one-machine shoal: a one-node cluster, through the
// same code as `shoal agent`, following a Git repository (a local one it
// creates when none is given).
func newUpCommand() *cobra.Command {
	cfg := defaultAgentConfig()
	cfg.API = "127.0.0.1:7947"
	cfg.Bind = "127.0.0.1:0"
	// On a workstation, ports 80 and 443 are often taken: the ingress
	// proxy listens on loopback ports of its own unless told otherwise.
	cfg.IngressHTTP, cfg.IngressHTTPS = "127.0.0.1:8480", "127.0.0.1:8443"
	var o upOptions
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a one-machine shoal (a one-node cluster) in the foreground",
		Long: `Up runs a one-machine shoal in the foreground: a one-node cluster, the same
code as "shoal agent". Its desired state is a Git repository: --repo, or, when
none is given, a local repository it creates in the data folder (seeded from
--manifests DIR, or from shoal's examples) and tells you how to clone, change
and push. A push is picked up within a second or two; a commit that does not
load is reported (shoal status) and changes nothing.

The node's API (--listen) serves the client commands (shoal get pods, logs,
exec, status, ...); on a loopback address it needs no token.

Ctrl-C stops the agent and leaves the pods running: the next "shoal up" on the
same --data-dir re-adopts them. "shoal down" stops and removes everything.
Needs root. The binary must be statically linked (make build), since it is
also each container's init.`,
		Example: `  sudo shoal up
  sudo shoal up --manifests ./deploy --registry-mirror docker.io=http://127.0.0.1:5000
  sudo shoal up --repo https://git.example.com/team/deploy.git --branch main --path apps --webhook-secret-file /etc/shoal/hook`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Repo != "" && o.manifests != "" {
				return fmt.Errorf("give either --repo or --manifests, not both")
			}
			m, insecure, err := parseMirrors(o.mirrors)
			if err != nil {
				return err
			}
			cfg.Mirrors = m
			cfg.Insecure = append(cfg.Insecure, insecure...)
			if err := prepareUp(&cfg, o, cmd.ErrOrStderr()); err != nil {
				return err
			}
			return runAgent(cmd.Context(), cfg, slog.Default())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.manifests, "manifests", "", "folder of manifests to seed the local repository with, when it is created (default: shoal's examples)")
	f.StringVar(&cfg.Repo, "repo", "", "Git repository of the desired state (https or ssh URL, or a local path); default: DATA-DIR/repo.git, created")
	f.StringVar(&cfg.Branch, "branch", cfg.Branch, "branch of the repository to follow")
	f.StringVar(&cfg.Path, "path", cfg.Path, "folder of the repository holding the manifests")
	f.StringVar(&cfg.RepoUser, "repo-user", "", "user name for an https --repo")
	f.StringVar(&cfg.RepoPasswordFile, "repo-password-file", "", "file holding the password or token for an https --repo")
	f.StringVar(&cfg.RepoSSHKeyFile, "repo-ssh-key-file", "", "private key (PEM) for an ssh --repo")
	f.StringVar(&cfg.RepoKnownHostsFile, "repo-known-hosts-file", "", "known_hosts file with the ssh --repo server's host key")
	f.StringVar(&cfg.WebhookSecretFile, "webhook-secret-file", "", "file holding the secret of the push webhook served at /webhook on the node's API (GitHub, Gitea and Gogs signatures)")
	f.DurationVar(&cfg.GitPollInterval, "git-poll-interval", 0, "how often the repository is checked for a new commit (default: 1s for a local repository, 5s otherwise)")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "where the node keeps images, containers, its repository and state")
	f.StringVar(&cfg.API, "listen", cfg.API, "address of the node's API")
	f.StringVar(&cfg.Name, "node-name", cfg.Name, "this node's name")
	f.StringVar(&cfg.ClusterCIDR, "cluster-cidr", cfg.ClusterCIDR, "address range of the pods; the node takes the first /24 of it")
	f.StringVar(&cfg.Bridge, "bridge", cfg.Bridge, "name of the pods' bridge")
	f.StringVar(&cfg.ServiceCIDR, "service-cidr", cfg.ServiceCIDR, "address range of Services' cluster IPs")
	f.StringVar(&cfg.IngressHTTP, "ingress-http", cfg.IngressHTTP, "listen address of the ingress proxy's HTTP side (empty: off)")
	f.StringVar(&cfg.IngressHTTPS, "ingress-https", cfg.IngressHTTPS, "listen address of the ingress proxy's HTTPS side (empty: off)")
	f.StringArrayVar(&o.mirrors, "registry-mirror", nil, "registry mirror as HOST=URL (repeatable), e.g. docker.io=http://127.0.0.1:5000")
	f.StringArrayVar(&cfg.Insecure, "insecure-registry", nil, "registry host spoken to over plain HTTP (repeatable)")
	f.StringVar(&cfg.InitBinary, "init-binary", "", "static container init (default: shoal-init beside this binary, else this binary)")
	f.Int64Var(&cfg.PodPidsLimit, "pod-pids-limit", 0, "most processes per container (the pids cgroup); 0: no limit")
	f.IntVar(&cfg.SpareSandboxes, "spare-sandboxes", cfg.SpareSandboxes, "pod sandboxes (namespaces, veth, address) kept made ahead so that a pod starts sooner; 0: none")
	return cmd
}

// prepareUp fills the one-node cluster's configuration: a cluster key in
// the data folder (made on first start), no API token on loopback, and the
// local repository, created and announced when no --repo is given.
func prepareUp(cfg *agentConfig, o upOptions, out io.Writer) error {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return err
	}
	cfg.ClusterKeyFile = filepath.Join(cfg.DataDir, "cluster.key")
	if _, err := os.Stat(cfg.ClusterKeyFile); errors.Is(err, os.ErrNotExist) {
		key, err := gossip.GenerateKey()
		if err != nil {
			return err
		}
		if err := gossip.WriteKeyFile(cfg.ClusterKeyFile, key); err != nil {
			return err
		}
	}
	if ap, err := netip.ParseAddrPort(cfg.API); err == nil && ap.Addr().IsLoopback() {
		cfg.NoToken = true
	}
	if cfg.Repo != "" {
		if cfg.GitPollInterval == 0 {
			cfg.GitPollInterval = 5 * time.Second
		}
		return nil
	}
	repo := filepath.Join(cfg.DataDir, "repo.git")
	cfg.Repo = repo
	if cfg.GitPollInterval == 0 {
		cfg.GitPollInterval = time.Second
	}
	if _, err := os.Stat(repo); err == nil {
		if o.manifests != "" {
			fmt.Fprintf(out, "shoal up: %s already exists; --manifests is only used to create it\n", repo)
		}
		fmt.Fprintf(out, "shoal up: the desired state is the Git repository %s (branch %s)\n", repo, cfg.Branch)
		return nil
	}
	var src fs.FS = examples.FS
	from := "shoal's examples"
	if o.manifests != "" {
		if st, err := os.Stat(o.manifests); err != nil || !st.IsDir() {
			return fmt.Errorf("--manifests %s: not a folder", o.manifests)
		}
		src, from = os.DirFS(o.manifests), o.manifests
	}
	if _, err := seedRepo(repo, cfg.Branch, src, time.Now()); err != nil {
		return fmt.Errorf("create the local repository %s: %w", repo, err)
	}
	fmt.Fprintf(out, `shoal up: created the Git repository %[1]s (branch %[2]s) from %[3]s.
It is the desired state: change it and push, and this node follows.
  git clone %[1]s shoal-config && cd shoal-config
  (edit the manifests)
  git commit -am "my change" && git push
`, repo, cfg.Branch, from)
	return nil
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
