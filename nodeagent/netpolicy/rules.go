package netpolicy

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/shoal-run/shoal/nodeagent/internal/netnsexec"
	"github.com/shoal-run/shoal/policies/network"
)

// Chain is the filter-table chain this package owns.
const Chain = "SHOAL-NETPOL"

// jumpArgs is the rule at the head of filter FORWARD that leads new
// connections into Chain.
var jumpArgs = []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "shoal network policy", "-j", Chain}

// Selected is one pod of this node that some policy isolates, with the
// directions its new connections are queued in.
type Selected struct {
	Pod             network.Ref
	IP              netip.Addr
	Ingress, Egress bool
}

// Render returns the iptables-restore input that declares (so flushes)
// Chain and fills it: packets the agent accepted mark their connection,
// connections so marked return, and new connections to (ingress) or from
// (egress) the selected pods go to the queue. It is a pure function: equal
// arguments give equal text. sel is written in its order.
func Render(cfg Config, sel []Selected) string {
	_ = cfg.validate()
	var b strings.Builder
	b.WriteString("*filter\n")
	fmt.Fprintf(&b, ":%s - [0:0]\n", Chain)
	mark := fmt.Sprintf("%#x/%#x", cfg.Mark, cfg.Mark)
	fmt.Fprintf(&b, "-A %s -m mark --mark %s -m comment --comment %q -j CONNMARK --or-mark %#x\n",
		Chain, mark, "shoal netpol: accepted by the agent", cfg.Mark)
	fmt.Fprintf(&b, "-A %s -m connmark --mark %s -m comment --comment %q -j RETURN\n",
		Chain, mark, "shoal netpol: connection accepted before")
	queue := fmt.Sprintf("-j NFQUEUE --queue-num %d", cfg.QueueNum)
	if cfg.Bypass {
		queue += " --queue-bypass"
	}
	for _, s := range sel {
		if s.Ingress {
			fmt.Fprintf(&b, "-A %s -d %s/32 -m comment --comment %q %s\n", Chain, s.IP, s.Pod.String()+" ingress", queue)
		}
		if s.Egress {
			fmt.Fprintf(&b, "-A %s -s %s/32 -m comment --comment %q %s\n", Chain, s.IP, s.Pod.String()+" egress", queue)
		}
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// restore applies payload with iptables-restore --noflush in the node's
// namespace.
func (e *Enforcer) restore(payload string) error {
	_, err := netnsexec.Run(e.cfg.NetNS, payload, "iptables-restore", "-w", "--noflush")
	return err
}

// chainExists reports whether Chain exists in the filter table.
func (e *Enforcer) chainExists() (bool, error) {
	out, err := netnsexec.Run(e.cfg.NetNS, "", "iptables-save", "-t", "filter")
	if err != nil {
		return false, fmt.Errorf("list iptables chains: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(line, ":"); ok {
			if f := strings.Fields(name); len(f) > 0 && f[0] == Chain {
				return true, nil
			}
		}
	}
	return false, nil
}

// jumpExists reports whether the jump is in filter FORWARD.
func (e *Enforcer) jumpExists() (bool, error) {
	return netnsexec.RuleExists(e.cfg.NetNS, "filter", "FORWARD", jumpArgs)
}

// setupRules creates Chain when it is missing (an existing one keeps its
// rules, so that pods stay enforced across an agent restart) and puts the
// jump at the head of filter FORWARD when it is not there.
func (e *Enforcer) setupRules() error {
	ok, err := e.chainExists()
	if err != nil {
		return err
	}
	if !ok {
		if err := e.restore(fmt.Sprintf("*filter\n:%s - [0:0]\nCOMMIT\n", Chain)); err != nil {
			return fmt.Errorf("create chain %s: %w", Chain, err)
		}
	}
	if ok, err = e.jumpExists(); err != nil || ok {
		return err
	}
	args := append([]string{"-w", "-t", "filter", "-I", "FORWARD", "1"}, jumpArgs...)
	if _, err := netnsexec.Run(e.cfg.NetNS, "", "iptables", args...); err != nil {
		return fmt.Errorf("add iptables rule filter FORWARD -> %s: %w", Chain, err)
	}
	return nil
}

// removeRules deletes every copy of the jump, then Chain. Missing rules
// and chains are not errors.
func (e *Enforcer) removeRules() error {
	for range 16 {
		ok, err := e.jumpExists()
		if err != nil {
			return err
		}
		if !ok {
			// Declaring flushes, so deleting right after works whether or
			// not the chain existed.
			if err := e.restore(fmt.Sprintf("*filter\n:%[1]s - [0:0]\n-X %[1]s\nCOMMIT\n", Chain)); err != nil {
				return fmt.Errorf("delete chain %s: %w", Chain, err)
			}
			return nil
		}
		args := append([]string{"-w", "-t", "filter", "-D", "FORWARD"}, jumpArgs...)
		if _, err := netnsexec.Run(e.cfg.NetNS, "", "iptables", args...); err != nil {
			return fmt.Errorf("delete iptables rule filter FORWARD -> %s: %w", Chain, err)
		}
	}
	return fmt.Errorf("delete iptables rule filter FORWARD -> %s: still there after 16 deletions", Chain)
}
