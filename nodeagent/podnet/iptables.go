package podnet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/shoal-run/shoal/nodeagent/internal/netnsexec"
)

// chains are the nat-table chains a Network owns. Their names carry a hash of
// the bridge name, so two Networks in one namespace never share a chain.
type chains struct {
	hostPorts string // DNAT of hostPorts; jumped to from PREROUTING and OUTPUT for local destinations
	masq      string // masquerade; jumped to from POSTROUTING
}

func newChains(bridge string) chains {
	h := sha256.Sum256([]byte(bridge))
	x := strings.ToUpper(hex.EncodeToString(h[:4]))
	return chains{hostPorts: "SHOAL-POD-" + x, masq: "SHOAL-POD-" + x + "-MASQ"}
}

// jump is one rule in a built-in nat chain that leads into a chain of ours.
type jump struct {
	chain string
	args  []string
}

func (n *Network) jumps() []jump {
	tag := "shoal pod network " + n.cfg.Bridge
	toHostPorts := []string{"-m", "addrtype", "--dst-type", "LOCAL",
		"-m", "comment", "--comment", tag + ": hostPorts", "-j", n.chains.hostPorts}
	return []jump{
		{chain: "PREROUTING", args: toHostPorts},
		{chain: "OUTPUT", args: toHostPorts},
		{chain: "POSTROUTING", args: []string{"-m", "comment", "--comment", tag + ": masquerade", "-j", n.chains.masq}},
	}
}

// sandboxComment is the comment on every rule of sandbox id.
func sandboxComment(id, what string) string {
	return fmt.Sprintf("shoal sandbox %s: %s", id, what)
}

// renderRules returns the iptables-restore input that declares (and so
// flushes) both chains and fills them from recs. It is a pure function: the
// chains' content depends only on the configuration and the records.
func renderRules(cfg Config, ch chains, recs []*record) string {
	var b strings.Builder
	b.WriteString("*nat\n")
	fmt.Fprintf(&b, ":%s - [0:0]\n:%s - [0:0]\n", ch.hostPorts, ch.masq)
	for _, r := range recs {
		if !r.IP.IsValid() {
			continue
		}
		for _, hp := range r.HostPorts {
			proto := strings.ToLower(hp.Protocol)
			fmt.Fprintf(&b, "-A %s", ch.hostPorts)
			if hp.HostIP != "" {
				fmt.Fprintf(&b, " -d %s/32", hp.HostIP)
			}
			fmt.Fprintf(&b, " -p %s -m %s --dport %d -m comment --comment %q -j DNAT --to-destination %s:%d\n",
				proto, proto, hp.HostPort,
				sandboxComment(r.ID, fmt.Sprintf("hostPort %s/%d", proto, hp.HostPort)),
				r.IP, hp.ContainerPort)
		}
	}
	for _, r := range recs {
		if !r.IP.IsValid() || len(r.HostPorts) == 0 {
			continue
		}
		// A pod reaching itself through the node (its own hostPort) must
		// see another source, or it would answer itself directly and the
		// connection would never complete.
		fmt.Fprintf(&b, "-A %s -s %s/32 -d %s/32 -m comment --comment %q -j MASQUERADE\n",
			ch.masq, r.IP, r.IP, sandboxComment(r.ID, "hairpin"))
	}
	fmt.Fprintf(&b, "-A %s -s 127.0.0.0/8 -o %s -m comment --comment %q -j MASQUERADE\n",
		ch.masq, cfg.Bridge, "shoal: hostPort from localhost")
	fmt.Fprintf(&b, "-A %s -s %s -d %s -m comment --comment %q -j RETURN\n",
		ch.masq, cfg.PodCIDR, cfg.ClusterCIDR, "shoal: cluster traffic keeps its pod source")
	fmt.Fprintf(&b, "-A %s -s %s -m comment --comment %q -j MASQUERADE\n",
		ch.masq, cfg.PodCIDR, "shoal: pod traffic leaving the cluster")
	b.WriteString("COMMIT\n")
	return b.String()
}

// syncRules rewrites both chains from recs in one iptables-restore
// transaction (creating them when missing).
func (n *Network) syncRules(recs []*record) error {
	if err := n.run(renderRules(n.cfg, n.chains, recs), "iptables-restore", "-w", "--noflush"); err != nil {
		return fmt.Errorf("write iptables chains %s and %s: %w", n.chains.hostPorts, n.chains.masq, err)
	}
	return nil
}

// ensureJumps makes sure each jump into the chains exists exactly once.
// Setup calls it; the per-sandbox rule syncs only rewrite the chains.
func (n *Network) ensureJumps() error {
	for _, j := range n.jumps() {
		ok, err := n.ruleExists(j)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		args := append([]string{"-w", "-t", "nat", "-I", j.chain, "1"}, j.args...)
		if err := n.run("", "iptables", args...); err != nil {
			return fmt.Errorf("add iptables rule nat %s -> %s: %w", j.chain, j.args[len(j.args)-1], err)
		}
	}
	return nil
}

// ruleExists reports whether rule j is in its chain (iptables -C).
func (n *Network) ruleExists(j jump) (bool, error) {
	return netnsexec.RuleExists(n.cfg.NetNS, "nat", j.chain, j.args)
}

// removeRules deletes the jumps (every copy) and then both chains. Missing
// rules and chains are not errors.
func (n *Network) removeRules() error {
	var errs []error
	for _, j := range n.jumps() {
		for range 16 {
			ok, err := n.ruleExists(j)
			if err != nil {
				errs = append(errs, err)
				break
			}
			if !ok {
				break
			}
			args := append([]string{"-w", "-t", "nat", "-D", j.chain}, j.args...)
			if err := n.run("", "iptables", args...); err != nil {
				errs = append(errs, fmt.Errorf("delete iptables rule nat %s -> %s: %w", j.chain, j.args[len(j.args)-1], err))
				break
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...) // a chain still referenced cannot be deleted
	}
	// Declaring a chain creates or flushes it, so deleting right after works
	// whether or not it existed.
	payload := fmt.Sprintf("*nat\n:%[1]s - [0:0]\n:%[2]s - [0:0]\n-X %[1]s\n-X %[2]s\nCOMMIT\n", n.chains.hostPorts, n.chains.masq)
	if err := n.run(payload, "iptables-restore", "-w", "--noflush"); err != nil {
		return fmt.Errorf("delete iptables chains %s and %s: %w", n.chains.hostPorts, n.chains.masq, err)
	}
	return nil
}

// run executes a command in the node's network namespace, with stdin when
// not empty. The error names the command and carries its stderr; it wraps the
// *exec.ExitError.
func (n *Network) run(stdin, name string, args ...string) error {
	return inNetNS(n.cfg.NetNS, func() error {
		cmd := exec.Command(name, args...)
		if stdin != "" {
			cmd.Stdin = strings.NewReader(stdin)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return nil
	})
}
