package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shoal-run/shoal/nodeagent/images"
	"github.com/shoal-run/shoal/nodeagent/netpolicy"
	"github.com/shoal-run/shoal/nodeagent/podnet"
	"github.com/shoal-run/shoal/nodeagent/pods"
	"github.com/shoal-run/shoal/nodeagent/runtime"
	"github.com/shoal-run/shoal/nodeagent/svcproxy"
	corev1 "k8s.io/api/core/v1"
)

// nodeConfig is the node-local part of a node's configuration (images,
// runtime, pod network). The agent saves it in the data folder so that
// `shoal down` and `shoal image` find the same node.
type nodeConfig struct {
	DataDir     string `json:"dataDir"`
	Manifests   string `json:"manifests"`
	Listen      string `json:"listen"`
	NodeName    string `json:"nodeName"`
	PodCIDR     string `json:"podCIDR"`
	ClusterCIDR string `json:"clusterCIDR"`
	// ServiceCIDR is routed to the bridge for the service proxy ("" for
	// none).
	ServiceCIDR string `json:"serviceCIDR,omitempty"`
	Bridge      string `json:"bridge"`
	// CgroupParent is where the pods' cgroups live ("" means
	// /shoal/NodeName).
	CgroupParent string `json:"cgroupParent,omitempty"`
	// NodeIP is the node's address reported as the pods' hostIP (""
	// means the pod bridge's address).
	NodeIP       string            `json:"nodeIP,omitempty"`
	Mirrors      map[string]string `json:"mirrors,omitempty"`
	Insecure     []string          `json:"insecure,omitempty"`
	InitBinary   string            `json:"initBinary,omitempty"`
	PodPidsLimit int64             `json:"podPidsLimit,omitempty"`
	// QueueBypass makes NetworkPolicy enforcement fail open when the
	// agent is down (shoal agent --queue-bypass).
	QueueBypass bool `json:"queueBypass,omitempty"`
	// SpareSandboxes is podnet's Spares; nil: podnet.DefaultSpares.
	SpareSandboxes *int `json:"spareSandboxes,omitempty"`
	// Repo, Branch and RepoPath record the desired state the node follows.
	Repo     string `json:"repo,omitempty"`
	Branch   string `json:"branch,omitempty"`
	RepoPath string `json:"repoPath,omitempty"`
	// Event receives the pods' events (the agent's store); not saved.
	Event func(pod *corev1.Pod, eventType, reason, message string) `json:"-"`
	// ServiceEnv gives the pods' service-link variables (the agent's
	// routing table); not saved.
	ServiceEnv func(namespace string, links bool) []corev1.EnvVar `json:"-"`
	// Changed is told when a pod's status may have changed (the agent's
	// reporter); not saved.
	Changed func() `json:"-"`
	// ClusterDNS says the node serves the cluster DNS on its bridge
	// address (a cluster node does): pods with dnsPolicy ClusterFirst use
	// it, under ClusterDomain. Not saved.
	ClusterDNS    bool   `json:"-"`
	ClusterDomain string `json:"-"`
}

// defaultNodeConfig is the configuration of a node whose node.json does not
// say otherwise.
func defaultNodeConfig() nodeConfig {
	host, _ := os.Hostname()
	return nodeConfig{
		DataDir:     "/var/lib/shoal",
		Listen:      "127.0.0.1:7947",
		NodeName:    strings.ToLower(host),
		PodCIDR:     "10.244.0.0/24",
		ClusterCIDR: "10.244.0.0/16",
		Bridge:      "shoal0",
	}
}

func (c nodeConfig) path() string { return filepath.Join(c.DataDir, "node.json") }

// cgroupParent is the configured cgroup parent, or /shoal/NodeName.
func (c nodeConfig) cgroupParent() string {
	if c.CgroupParent != "" {
		return c.CgroupParent
	}
	return "/shoal/" + c.NodeName
}
func (c nodeConfig) pidFile() string { return filepath.Join(c.DataDir, "shoal.pid") }

// save writes the configuration for later commands.
func (c nodeConfig) save() error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(c.path(), data, 0o644)
}

// loadNodeConfig reads the configuration `shoal up` saved in dataDir.
func loadNodeConfig(dataDir string) (nodeConfig, error) {
	c := defaultNodeConfig()
	data, err := os.ReadFile(filepath.Join(dataDir, "node.json"))
	if err != nil {
		return c, fmt.Errorf("no shoal node in %s (%w): start one with `shoal up --data-dir %s` or `shoal agent --data-dir %s`", dataDir, err, dataDir, dataDir)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: %w", filepath.Join(dataDir, "node.json"), err)
	}
	c.DataDir = dataDir
	return c, nil
}

// nodeParts are a node's subsystems, made from its configuration.
type nodeParts struct {
	cfg    nodeConfig
	images *images.Store
	rt     *runtime.Runtime
	net    *podnet.Network
	mgr    *pods.Manager
	// proxy routes Services (kube-proxy's job) from the routing table.
	proxy *svcproxy.Proxy
	// netpol enforces NetworkPolicies on the node's pods from the
	// routing table's policy inputs.
	netpol *netpolicy.Enforcer
}

// openImages opens the node's image store.
func openImages(cfg nodeConfig, log *slog.Logger) (*images.Store, error) {
	ic := images.DefaultConfig(filepath.Join(cfg.DataDir, "images"))
	ic.Mirrors, ic.Insecure, ic.Logger = cfg.Mirrors, cfg.Insecure, log
	return images.Open(ic)
}

// openNode makes the node's parts without starting anything.
func openNode(cfg nodeConfig, log *slog.Logger) (*nodeParts, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("a shoal node runs containers and must run as root")
	}
	podCIDR, err := netip.ParsePrefix(cfg.PodCIDR)
	if err != nil {
		return nil, fmt.Errorf("--pod-cidr %q: %w", cfg.PodCIDR, err)
	}
	clusterCIDR, err := netip.ParsePrefix(cfg.ClusterCIDR)
	if err != nil {
		return nil, fmt.Errorf("--cluster-cidr %q: %w", cfg.ClusterCIDR, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	p := &nodeParts{cfg: cfg}
	if p.images, err = openImages(cfg, log); err != nil {
		return nil, err
	}
	initBin := cfg.InitBinary
	if initBin == "" {
		if initBin, err = defaultInitBinary(); err != nil {
			return nil, err
		}
	}
	p.rt, err = runtime.New(runtime.Config{
		Root:         filepath.Join(cfg.DataDir, "runtime"),
		CgroupParent: cfg.cgroupParent(),
		InitBinary:   initBin,
		Logger:       log,
	})
	if err != nil {
		return nil, err
	}
	nc := podnet.DefaultConfig(filepath.Join(cfg.DataDir, "podnet"), podCIDR)
	nc.Bridge, nc.ClusterCIDR, nc.Logger = cfg.Bridge, clusterCIDR, log
	if cfg.SpareSandboxes != nil {
		nc.Spares = *cfg.SpareSandboxes
	}
	if cfg.ServiceCIDR != "" {
		if nc.ServiceCIDR, err = netip.ParsePrefix(cfg.ServiceCIDR); err != nil {
			return nil, fmt.Errorf("--service-cidr %q: %w", cfg.ServiceCIDR, err)
		}
	}
	if p.net, err = podnet.New(nc); err != nil {
		return nil, err
	}
	nodeIP := cfg.NodeIP
	if nodeIP == "" {
		nodeIP = p.net.Gateway().String()
	}
	pc := svcproxy.DefaultConfig(cfg.NodeName, podCIDR)
	pc.ClusterCIDR, pc.Logger = clusterCIDR, log
	pc.Interface = interfaceOf(cfg.NodeIP)
	if p.proxy, err = svcproxy.New(pc); err != nil {
		return nil, err
	}
	npc := netpolicy.DefaultConfig(podCIDR)
	npc.Bypass, npc.Logger = cfg.QueueBypass, log
	if p.netpol, err = netpolicy.New(npc); err != nil {
		return nil, err
	}
	var dnsCfg pods.DNSConfig
	if cfg.ClusterDNS {
		dnsCfg.ClusterDNS = []string{p.net.Gateway().String()}
		dnsCfg.ClusterDomain = cfg.ClusterDomain
	}
	p.mgr, err = pods.NewManager(pods.Config{
		DNS:          dnsCfg,
		NodeName:     cfg.NodeName,
		NodeIP:       nodeIP,
		DataDir:      filepath.Join(cfg.DataDir, "agent"),
		PodPidsLimit: cfg.PodPidsLimit,
		Logger:       log,
		Event:        cfg.Event,
		ServiceEnv:   cfg.ServiceEnv,
		Changed:      cfg.Changed,
	}, p.rt, p.images, p.net)
	if err != nil {
		return nil, err
	}
	return p, nil
}

// runningPID returns the pid of the node running on cfg's data folder.
func runningPID(cfg nodeConfig) (int, bool) {
	data, err := os.ReadFile(cfg.pidFile())
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if err := syscall.Kill(pid, 0); err != nil {
		return 0, false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || !strings.Contains(filepath.Base(exe), "shoal") {
		return 0, false
	}
	return pid, true
}

// downNode stops a running node, stops and removes every pod it ran, and
// removes its network, cgroups and runtime state.
func downNode(ctx context.Context, cfg nodeConfig, log *slog.Logger) error {
	if pid, alive := runningPID(cfg); alive {
		log.Info("stopping the running node", "pid", pid)
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			return fmt.Errorf("stop node pid %d: %w", pid, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, alive := runningPID(cfg); !alive {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("node pid %d did not stop within 30s", pid)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	p, err := openNode(cfg, log)
	if err != nil {
		return err
	}
	if err := p.mgr.Restore(); err != nil {
		log.Warn("some pods could not be re-adopted; removing what is left", "error", err)
	}
	p.mgr.StopAll()
	var errs []error
	if states, err := p.rt.List(); err == nil {
		for _, st := range states {
			if err := p.rt.Remove(st.ID, runtime.RemoveOptions{}); err != nil {
				errs = append(errs, err)
			}
		}
	} else {
		errs = append(errs, err)
	}
	if err := p.netpol.Teardown(); err != nil {
		errs = append(errs, err)
	}
	if err := p.proxy.Teardown(); err != nil {
		errs = append(errs, err)
	}
	if err := p.net.Teardown(); err != nil {
		errs = append(errs, err)
	}
	if err := p.rt.PruneCgroupParent(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	log.Info("shoal node removed: containers, mounts, network namespaces, cgroups and rules are gone", "dataDir", cfg.DataDir)
	return nil
}

// defaultInitBinary picks the container init: shoal-init beside this binary
// when `make build` put it there (a 2 MB static program starts faster in
// every container than this one), else this binary itself, which carries the
// same init.
func defaultInitBinary() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	small := filepath.Join(filepath.Dir(self), "shoal-init")
	if st, err := os.Stat(small); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return small, nil
	}
	return self, nil
}

// interfaceOf returns the name of the interface that holds address ip
// ("" when none does, or ip is empty): the node's interface on the node
// network, where LoadBalancer addresses are announced.
func interfaceOf(ip string) string {
	want, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if got, ok := netip.AddrFromSlice(n.IP); ok && got.Unmap() == want {
					return ifc.Name
				}
			}
		}
	}
	return ""
}
