package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/spf13/cobra"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/nodeagent/podnet"
	"github.com/shoal-run/shoal/reconciler"
	"github.com/shoal-run/shoal/reconciler/placement"
	"github.com/shoal-run/shoal/reconciler/services"
)

// agentConfig is a cluster node's configuration; `shoal agent` binds its
// flags onto it and `shoal up` fills it for a one-node cluster.
type agentConfig struct {
	Name string
	// Bind and Advertise are the gossip addresses (host:port).
	Bind      string
	Advertise string
	// API is the listen address of the node's HTTP API.
	API  string
	Join []string
	// DataDir holds images, containers, the ledger and the last desired
	// state.
	DataDir        string
	Labels         map[string]string
	ClusterKeyFile string
	// TokenFile holds the API's bearer token; empty derives it from the
	// cluster key (APIToken).
	TokenFile string
	// NoToken serves the API without a token (`shoal up` on loopback).
	NoToken bool
	// Repo, Branch and Path name the desired state; only the leader reads
	// it.
	Repo, Branch, Path string
	RepoUser           string
	RepoPasswordFile   string
	// RepoSSHKeyFile and RepoKnownHostsFile authenticate an ssh --repo.
	RepoSSHKeyFile     string
	RepoKnownHostsFile string
	WebhookSecretFile  string
	GitPollInterval    time.Duration
	// Reconciler says whether this node may be elected.
	Reconciler bool
	// ClusterCIDR is cut into /24 pod CIDRs, one per node.
	ClusterCIDR   string
	NodeLostAfter time.Duration
	// ReplaceAfter is how long a node may be unreachable before the pods
	// controllers made on it run elsewhere.
	ReplaceAfter time.Duration
	// ServiceCIDR, NodePortRange, LBPool and ClusterDomain are the Service
	// networking configuration; they must be the same on every node.
	ServiceCIDR   string
	NodePortRange string
	LBPool        []string
	ClusterDomain string
	// IngressHTTP and IngressHTTPS are the ingress proxy's listen
	// addresses ("" turns one off); IngressClass the class it serves.
	IngressHTTP, IngressHTTPS string
	IngressClass              string
	// QueueBypass: when this node's agent is down (or cannot keep up),
	// the new connections of pods that NetworkPolicies select are
	// accepted instead of dropped (iptables NFQUEUE --queue-bypass).
	QueueBypass bool
	// Node-local parts, as for `shoal up`.
	Bridge       string
	CgroupParent string
	Mirrors      map[string]string
	Insecure     []string
	InitBinary   string
	PodPidsLimit int64
	// SpareSandboxes is how many pod sandboxes are kept made ahead.
	SpareSandboxes int
}

// defaultAgentConfig is what `shoal agent` uses when no flag says
// otherwise.
func defaultAgentConfig() agentConfig {
	host, _ := os.Hostname()
	return agentConfig{
		Name:            strings.ToLower(host),
		Bind:            "0.0.0.0:" + strconv.Itoa(gossip.DefaultPort),
		API:             "0.0.0.0:7947",
		DataDir:         "/var/lib/shoal",
		Branch:          "main",
		Path:            ".",
		GitPollInterval: 5 * time.Second,
		Reconciler:      true,
		ClusterCIDR:     "10.244.0.0/16",
		ServiceCIDR:     services.DefaultServiceCIDR.String(),
		SpareSandboxes:  podnet.DefaultSpares,
		NodePortRange:   fmt.Sprintf("%d-%d", services.DefaultNodePortRange.First, services.DefaultNodePortRange.Last),
		ClusterDomain:   services.DefaultClusterDomain,
		IngressHTTP:     "0.0.0.0:80",
		IngressHTTPS:    "0.0.0.0:443",
		IngressClass:    "shoal",
		NodeLostAfter:   placement.DefaultNodeLostAfter,
		ReplaceAfter:    reconciler.DefaultReplaceAfter,
		Bridge:          "shoal0",
	}
}

func newAgentCommand() *cobra.Command {
	cfg := defaultAgentConfig()
	var mirrors []string
	var labels string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a cluster node: gossip, the elected reconciler, and this machine's pods",
		Long: `Agent runs one node of a shoal cluster in the foreground. Nodes find each
other by gossip (encrypted with the cluster key, made by "shoal keygen"); one
eligible node, the one that started first, is elected reconciler: it follows
the Git repository (--repo, --branch, --path; every node gets the flags, only
the leader uses them), places the pods on the nodes and sends each node its
desired state. Every node runs its own pods and keeps running its last
desired state when the leader or Git is gone.

The node's API (--api) serves the client commands (shoal get pods -A, get
nodes, status, logs, exec) for the whole cluster, the push webhook
(/webhook) and Prometheus metrics (/metrics). Its bearer token is the
content of --token-file, or derived from the cluster key when none is given
("shoal keygen --print-token" prints it).

Ctrl-C leaves the cluster and stops the agent; the pods keep running for the
next start to re-adopt ("shoal down --data-dir DIR" removes them).`,
		Example: `  shoal keygen > /etc/shoal/cluster.key
  sudo shoal agent --name n1 --cluster-key-file /etc/shoal/cluster.key \
      --repo https://git.example.com/ops/cluster.git --webhook-secret-file /etc/shoal/hook
  sudo shoal agent --name n2 --join 192.168.1.10:7946 --cluster-key-file /etc/shoal/cluster.key \
      --repo https://git.example.com/ops/cluster.git --labels zone=b,disk=ssd`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, insecure, err := parseMirrors(mirrors)
			if err != nil {
				return err
			}
			cfg.Mirrors = m
			cfg.Insecure = append(cfg.Insecure, insecure...)
			if cfg.Labels, err = parseLabels(labels); err != nil {
				return err
			}
			return runAgent(cmd.Context(), cfg, slog.Default())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Name, "name", cfg.Name, "this node's name, unique in the cluster (default: the host name)")
	f.StringVar(&cfg.Bind, "bind", cfg.Bind, "gossip address to listen on, host:port (TCP and UDP)")
	f.StringVar(&cfg.Advertise, "advertise", "", "gossip address the other nodes use, host:port (default: the bind address, or the first private address when binding to all)")
	f.StringVar(&cfg.API, "api", cfg.API, "listen address of the node's API")
	f.StringArrayVar(&cfg.Join, "join", nil, "address (host:port) of a member to join (repeatable); none starts a new cluster")
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "where the node keeps images, containers, the ledger and its desired state")
	f.StringVar(&labels, "labels", "", "node labels, k=v,k2=v2 (kubernetes.io/hostname is always set to --name)")
	f.StringVar(&cfg.ClusterKeyFile, "cluster-key-file", "", "file holding the cluster key (required; make one with shoal keygen)")
	f.StringVar(&cfg.TokenFile, "token-file", "", "file holding the API bearer token (default: derived from the cluster key)")
	f.StringVar(&cfg.Repo, "repo", "", "Git repository of the desired state (https, ssh, or a local path)")
	f.StringVar(&cfg.Branch, "branch", cfg.Branch, "branch of --repo to follow")
	f.StringVar(&cfg.Path, "path", cfg.Path, "folder of --repo holding the manifests")
	f.StringVar(&cfg.RepoUser, "repo-user", "", "user name for an https --repo")
	f.StringVar(&cfg.RepoPasswordFile, "repo-password-file", "", "file holding the password or token for an https --repo")
	f.StringVar(&cfg.RepoSSHKeyFile, "repo-ssh-key-file", "", "private key (PEM) for an ssh --repo")
	f.StringVar(&cfg.RepoKnownHostsFile, "repo-known-hosts-file", "", "known_hosts file with the ssh --repo server's host key (required with --repo-ssh-key-file)")
	f.StringVar(&cfg.WebhookSecretFile, "webhook-secret-file", "", "file holding the push webhook's secret (GitHub, Gitea, Gogs signatures); the webhook is served at /webhook on every node")
	f.DurationVar(&cfg.GitPollInterval, "git-poll-interval", cfg.GitPollInterval, "how often the leader checks the branch for a new commit")
	f.BoolVar(&cfg.Reconciler, "reconciler", cfg.Reconciler, "whether this node may be elected reconciler")
	f.StringVar(&cfg.ClusterCIDR, "cluster-cidr", cfg.ClusterCIDR, "address range of all pods; each node gets a /24 of it (must be the same on every node)")
	f.StringVar(&cfg.ServiceCIDR, "service-cidr", cfg.ServiceCIDR, "address range of Services' cluster IPs (must be the same on every node)")
	f.StringVar(&cfg.NodePortRange, "node-port-range", cfg.NodePortRange, "range of node ports, FIRST-LAST (must be the same on every node)")
	f.StringArrayVar(&cfg.LBPool, "lb-pool", nil, "addresses for LoadBalancer Services, as a CIDR on the node network (repeatable; must be the same on every node)")
	f.StringVar(&cfg.ClusterDomain, "cluster-domain", cfg.ClusterDomain, "DNS domain of the cluster")
	f.StringVar(&cfg.IngressHTTP, "ingress-http", cfg.IngressHTTP, "listen address of the ingress proxy's HTTP side (empty: off)")
	f.StringVar(&cfg.IngressHTTPS, "ingress-https", cfg.IngressHTTPS, "listen address of the ingress proxy's HTTPS side (empty: off)")
	f.StringVar(&cfg.IngressClass, "ingress-class", cfg.IngressClass, "ingress class served (Ingresses without a class are served too)")
	f.BoolVar(&cfg.QueueBypass, "queue-bypass", false, "NetworkPolicy enforcement when this agent is down or overloaded: accept the new connections of the pods policies select (fail open) instead of dropping them (fail closed, the default)")
	f.DurationVar(&cfg.NodeLostAfter, "node-lost-after", cfg.NodeLostAfter, "how long a node may be unreachable before its bare pods are reported failed")
	f.DurationVar(&cfg.ReplaceAfter, "pod-replace-after", cfg.ReplaceAfter, "how long a node may be unreachable before the pods of ReplicaSets, Deployments and Jobs on it run elsewhere")
	f.StringVar(&cfg.Bridge, "bridge", cfg.Bridge, "name of the pods' bridge")
	f.StringVar(&cfg.CgroupParent, "cgroup-parent", "", "cgroup under which the pods' cgroups live (default /shoal/NAME)")
	f.StringArrayVar(&mirrors, "registry-mirror", nil, "registry mirror as HOST=URL (repeatable), e.g. docker.io=http://10.0.0.1:5000")
	f.StringArrayVar(&cfg.Insecure, "insecure-registry", nil, "registry host spoken to over plain HTTP (repeatable)")
	f.StringVar(&cfg.InitBinary, "init-binary", "", "static container init (default: shoal-init beside this binary, else this binary)")
	f.Int64Var(&cfg.PodPidsLimit, "pod-pids-limit", 0, "most processes per container (the pids cgroup); 0: no limit")
	f.IntVar(&cfg.SpareSandboxes, "spare-sandboxes", cfg.SpareSandboxes, "pod sandboxes (namespaces, veth, address) kept made ahead so that a pod starts sooner; 0: none")
	return cmd
}

// parseLabels reads k=v,k2=v2.
func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--labels %q: use key=value pairs separated by commas", kv)
		}
		out[k] = v
	}
	return out, nil
}

// APIToken derives the API bearer token from the cluster key: whoever holds
// the key may use the API, and the token alone does not let anyone join
// the cluster or sign desired state.
func APIToken(clusterKey []byte) string {
	mac := hmac.New(sha256.New, clusterKey)
	mac.Write([]byte("shoal api token v1"))
	return hex.EncodeToString(mac.Sum(nil)[:20])
}

// resolved are the agent's addresses and secrets, read from its flags.
type resolved struct {
	key          []byte
	token        string
	webhook      []byte
	bind         netip.AddrPort
	advertise    netip.AddrPort
	apiListen    string
	apiAdvertise string
	clusterCIDR  netip.Prefix
	networking   reconciler.Networking
}

// resolve checks the configuration and reads its files.
func (c *agentConfig) resolve() (*resolved, error) {
	var r resolved
	var err error
	if c.Name == "" {
		return nil, errors.New("--name is empty")
	}
	if c.ClusterKeyFile == "" {
		return nil, errors.New("--cluster-key-file is required: make a key with `shoal keygen > cluster.key` and give every node the same file")
	}
	if r.key, err = gossip.ReadKeyFile(c.ClusterKeyFile); err != nil {
		return nil, fmt.Errorf("--cluster-key-file: %w", err)
	}
	r.token = APIToken(r.key)
	if c.NoToken {
		r.token = ""
	}
	if c.TokenFile != "" {
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		if r.token = strings.TrimSpace(string(b)); r.token == "" {
			return nil, fmt.Errorf("--token-file %s is empty", c.TokenFile)
		}
	}
	if c.WebhookSecretFile != "" {
		b, err := os.ReadFile(c.WebhookSecretFile)
		if err != nil {
			return nil, fmt.Errorf("--webhook-secret-file: %w", err)
		}
		if r.webhook = []byte(strings.TrimSpace(string(b))); len(r.webhook) == 0 {
			return nil, fmt.Errorf("--webhook-secret-file %s is empty", c.WebhookSecretFile)
		}
	}
	if r.bind, err = parseHostPort("--bind", c.Bind, gossip.DefaultPort); err != nil {
		return nil, err
	}
	r.advertise = r.bind
	if c.Advertise != "" {
		if r.advertise, err = parseHostPort("--advertise", c.Advertise, int(r.bind.Port())); err != nil {
			return nil, err
		}
	} else if r.bind.Addr().IsUnspecified() {
		ip, err := privateAddr()
		if err != nil {
			return nil, fmt.Errorf("--advertise is needed: %w", err)
		}
		r.advertise = netip.AddrPortFrom(ip, r.bind.Port())
	}
	api, err := parseHostPort("--api", c.API, 7947)
	if err != nil {
		return nil, err
	}
	r.apiListen = api.String()
	if api.Addr().IsUnspecified() {
		api = netip.AddrPortFrom(r.advertise.Addr(), api.Port())
	}
	r.apiAdvertise = api.String()
	if r.clusterCIDR, err = netip.ParsePrefix(c.ClusterCIDR); err != nil || !r.clusterCIDR.Addr().Is4() || r.clusterCIDR.Bits() > 24 {
		return nil, fmt.Errorf("--cluster-cidr %q: give an IPv4 range of /24 or larger, e.g. 10.244.0.0/16", c.ClusterCIDR)
	}
	if r.networking, err = c.networking(); err != nil {
		return nil, err
	}
	if c.CgroupParent == "" {
		c.CgroupParent = "/shoal/" + c.Name
	}
	return &r, nil
}

// parseHostPort reads host:port (or a bare host, with def as the port).
func parseHostPort(flag, s string, def int) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, strconv.Itoa(def)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%s %q: give an IP address and port, e.g. 10.0.0.5:%d", flag, s, def)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%s %q: bad port", flag, s)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

// privateAddr returns the first private IPv4 address of this machine.
func privateAddr() (netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() && ip.IsPrivate() {
				return ip.Unmap(), nil
			}
		}
	}
	return netip.Addr{}, errors.New("no private IPv4 address found to advertise")
}

// gossipConfig builds the gossip member's configuration. The timings are
// memberlist's LAN ones with faster failure detection: a probe every
// 500ms and a suspicion of 4 probe intervals, so a dead leader is replaced
// within a few seconds on a LAN.
func (c *agentConfig) gossipConfig(r *resolved, log *slog.Logger) *gossip.Config {
	g := gossip.DefaultLANConfig(c.Name)
	g.BindAddr = r.bind.Addr().String()
	g.BindPort = int(r.bind.Port())
	g.AdvertiseAddr = r.advertise.Addr().String()
	g.AdvertisePort = int(r.advertise.Port())
	g.Join = c.Join
	g.ClusterKey = r.key
	g.Eligible = c.Reconciler
	g.APIAddr = r.apiAdvertise
	g.LedgerFile = filepath.Join(c.DataDir, "ledger.json")
	g.Logger = log
	ml := memberlist.DefaultLANConfig()
	ml.ProbeInterval = 500 * time.Millisecond
	ml.ProbeTimeout = 250 * time.Millisecond
	ml.GossipInterval = 100 * time.Millisecond
	g.Memberlist = ml
	return g
}

// nodeConfigOf is the one-machine configuration `shoal down` and `shoal
// image` read from the data folder, for an agent's parts.
func (c *agentConfig) nodeConfigOf(podCIDR string) nodeConfig {
	n := defaultNodeConfig()
	n.DataDir, n.NodeName, n.PodCIDR, n.ClusterCIDR = c.DataDir, c.Name, podCIDR, c.ClusterCIDR
	n.ServiceCIDR = c.ServiceCIDR
	n.Bridge, n.CgroupParent, n.Mirrors, n.Insecure = c.Bridge, c.CgroupParent, c.Mirrors, c.Insecure
	n.InitBinary, n.PodPidsLimit, n.Listen = c.InitBinary, c.PodPidsLimit, c.API
	spares := c.SpareSandboxes
	n.SpareSandboxes = &spares
	n.Repo, n.Branch, n.RepoPath = c.Repo, c.Branch, c.Path
	n.QueueBypass = c.QueueBypass
	return n
}

// waitCtx waits for ch or ctx.
func waitCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// networking reads the Service networking flags.
func (c *agentConfig) networking() (reconciler.Networking, error) {
	var n reconciler.Networking
	var err error
	if n.ServiceCIDR, err = netip.ParsePrefix(c.ServiceCIDR); err != nil || !n.ServiceCIDR.Addr().Is4() || n.ServiceCIDR.Bits() > 28 {
		return n, fmt.Errorf("--service-cidr %q: give an IPv4 range of /28 or larger, e.g. 10.96.0.0/12", c.ServiceCIDR)
	}
	n.ServiceCIDR = n.ServiceCIDR.Masked()
	first, last, ok := strings.Cut(c.NodePortRange, "-")
	a, err1 := strconv.ParseUint(first, 10, 16)
	b, err2 := strconv.ParseUint(last, 10, 16)
	if !ok || err1 != nil || err2 != nil || a == 0 || a > b {
		return n, fmt.Errorf("--node-port-range %q: give FIRST-LAST, e.g. 30000-32767", c.NodePortRange)
	}
	n.NodePortRange = services.PortRange{First: int32(a), Last: int32(b)}
	for _, s := range c.LBPool {
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Addr().Is4() {
			return n, fmt.Errorf("--lb-pool %q: give an IPv4 CIDR on the node network, e.g. 192.168.1.240/28", s)
		}
		n.LoadBalancerPool = append(n.LoadBalancerPool, p.Masked())
	}
	n.ClusterDomain = strings.TrimSuffix(c.ClusterDomain, ".")
	if n.ClusterDomain == "" {
		return n, errors.New("--cluster-domain: give a DNS domain, e.g. cluster.local")
	}
	return n, nil
}
