package svcproxy

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shoal-run/shoal/nodeagent/internal/netnsexec"
	"github.com/shoal-run/shoal/reconciler/services"
)

// Proxy routes the cluster's Services on one node. Create it with New; it
// is safe for concurrent use.
type Proxy struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	mu    sync.Mutex
	ready bool // Setup ran (and Teardown did not since)
	// chains are the owned chains known to exist, by table; nil when
	// unknown (they are then read with iptables-save).
	chains map[string]map[string]bool
	// written holds, by table and chain, a digest of the rules the last
	// successful Sync left in each chain; nil when unknown, which makes
	// the next Sync rewrite every chain.
	written  map[string]map[string]uint64
	lastFull time.Time
	// lastWritten counts the chains the last successful Sync rewrote.
	lastWritten int
	health      map[int32]*healthServer
}

// New validates cfg (filling the zero fields that have defaults) and
// returns a Proxy. It does not touch the system.
func New(cfg Config) (*Proxy, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Proxy{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "svcproxy", "node", cfg.NodeName),
		metrics: newMetrics(),
		health:  map[int32]*healthServer{},
	}, nil
}

// Config returns the validated configuration, defaults filled in.
func (p *Proxy) Config() Config { return p.cfg }

// jump is one rule of a built-in chain that leads into a chain of ours.
type jump struct {
	table, chain string
	args         []string
}

func (j jump) String() string { return j.table + " " + j.chain + " -> " + j.args[len(j.args)-1] }

// jumps are the rules Setup puts at the head of the built-in chains.
var jumps = []jump{
	{"nat", "PREROUTING", []string{"-m", "comment", "--comment", "shoal service portals", "-j", chainServices}},
	{"nat", "OUTPUT", []string{"-m", "comment", "--comment", "shoal service portals", "-j", chainServices}},
	{"nat", "POSTROUTING", []string{"-m", "comment", "--comment", "shoal service masquerade", "-j", chainPostrouting}},
	{"filter", "INPUT", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "shoal service refusals", "-j", chainServices}},
	{"filter", "FORWARD", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "shoal service refusals", "-j", chainServices}},
	{"filter", "OUTPUT", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", "shoal service refusals", "-j", chainServices}},
}

// Setup makes the node ready for Sync; it is idempotent and meant to run
// at every agent start. It creates the fixed chains that are missing
// (existing ones keep their rules, so Services stay routed across an
// agent restart), puts the jumps into them at the head of the built-in
// chains when they are not there yet, and sets Config.Interface to answer
// ARP only for its own addresses.
func (p *Proxy) Setup() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.setup()
}

func (p *Proxy) setup() error {
	existing, err := p.listChains()
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, table := range []string{"nat", "filter"} {
		fmt.Fprintf(&b, "*%s\n", table)
		for _, c := range fixedChains[table] {
			if !existing[table][c] {
				fmt.Fprintf(&b, ":%s - [0:0]\n", c)
				existing[table][c] = true
			}
		}
		b.WriteString("COMMIT\n")
	}
	if err := p.restore(b.String()); err != nil {
		return fmt.Errorf("create chains: %w", err)
	}
	for _, j := range jumps {
		if err := p.ensureJump(j); err != nil {
			return err
		}
	}
	if p.cfg.Interface != "" {
		if err := p.setupARP(); err != nil {
			return err
		}
	}
	p.chains, p.written, p.ready = existing, nil, true
	p.log.Info("service proxy set up", "chains", len(existing["nat"])+len(existing["filter"]))
	return nil
}

// fullSyncPeriod bounds the time between two Syncs that rewrite every
// chain, repairing chains someone else changed.
const fullSyncPeriod = time.Hour

// Sync makes the node route t: one iptables-restore transaction rewrites
// the chains of ours whose rules differ from what the last Sync wrote (all
// of them after Setup, after a failed Sync and once an hour) and deletes
// the ones t no longer needs; then the health-check servers and the
// announced load-balancer addresses follow t. Writing only what changed is
// kube-proxy's answer to iptables-restore's cost, which grows with the
// product of the rules and chains it writes (see the benchmark). Sync runs
// Setup first when it has not run. A nil t routes nothing. Errors of the
// three parts are joined; a failed transaction leaves the previous rules in
// place, and the next Sync starts again from what iptables holds.
func (p *Proxy) Sync(t *services.Table) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := time.Now()
	err := p.sync(t)
	p.metrics.observe(time.Since(start), err)
	return err
}

func (p *Proxy) sync(t *services.Table) error {
	if !p.ready {
		if err := p.setup(); err != nil {
			return err
		}
	}
	if p.chains == nil {
		existing, err := p.listChains()
		if err != nil {
			return err
		}
		p.chains = existing
	}
	rs := render(t, p.cfg.NodeName, p.cfg)
	want := rs.chainSet()
	stale := map[string][]string{}
	for table, have := range p.chains {
		for c := range have {
			if !want[table][c] {
				stale[table] = append(stale[table], c)
			}
		}
		sort.Strings(stale[table])
	}
	hashes := map[string]map[string]uint64{"nat": rs.nat.hashes(), "filter": rs.filter.hashes()}
	full := p.written == nil || time.Since(p.lastFull) > fullSyncPeriod
	rewrite := map[string]map[string]bool{}
	written := 0
	for table, hs := range hashes {
		rewrite[table] = map[string]bool{}
		for c, h := range hs {
			if old, ok := p.written[table][c]; full || !ok || old != h {
				rewrite[table][c] = true
				written++
			}
		}
	}
	changed := func(table, chain string) bool { return rewrite[table][chain] }
	var errs []error
	var err error
	if written > 0 || len(stale["nat"])+len(stale["filter"]) > 0 {
		err = p.restore(rs.text(changed, stale))
	}
	if err != nil {
		p.chains, p.written = nil, nil
		errs = append(errs, fmt.Errorf("write service rules: %w", err))
	} else {
		p.chains, p.written, p.lastWritten = want, hashes, written
		if full {
			p.lastFull = time.Now()
		}
		p.metrics.rules(rs.nat.count, rs.filter.count)
		p.log.Debug("service rules written", "full", full, "natRules", rs.nat.count, "filterRules", rs.filter.count,
			"chains", len(want["nat"])+len(want["filter"]), "writtenChains", written, "deletedChains", len(stale["nat"])+len(stale["filter"]))
	}
	if err := p.syncHealth(t); err != nil {
		errs = append(errs, err)
	}
	if err := p.syncAnnounced(t); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Teardown removes everything Setup and Sync made: the health-check
// servers, the announced addresses, the jumps and every chain of ours. It
// keeps going after an error and returns all errors joined; calling it
// again finishes what failed. The ARP sysctls of Config.Interface stay as
// they are. A Sync after Teardown sets up again.
func (p *Proxy) Teardown() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	p.stopHealth()
	if err := p.syncAnnounced(nil); err != nil {
		errs = append(errs, err)
	}
	for _, j := range jumps {
		if err := p.removeJump(j); err != nil {
			errs = append(errs, err)
		}
	}
	p.ready, p.chains, p.written = false, nil, nil
	if len(errs) > 0 {
		return errors.Join(errs...) // a chain still referenced cannot be deleted
	}
	existing, err := p.listChains()
	if err != nil {
		return err
	}
	var b strings.Builder
	n := 0
	for _, table := range []string{"nat", "filter"} {
		names := make([]string, 0, len(existing[table]))
		for c := range existing[table] {
			names = append(names, c)
		}
		sort.Strings(names)
		n += len(names)
		fmt.Fprintf(&b, "*%s\n", table)
		// Declaring flushes, so that no chain of ours still jumps to the
		// chain being deleted.
		for _, c := range names {
			fmt.Fprintf(&b, ":%s - [0:0]\n", c)
		}
		for _, c := range names {
			fmt.Fprintf(&b, "-X %s\n", c)
		}
		b.WriteString("COMMIT\n")
	}
	if err := p.restore(b.String()); err != nil {
		return fmt.Errorf("delete service chains: %w", err)
	}
	p.log.Info("service proxy torn down", "deletedChains", n)
	return nil
}

// listChains returns the owned chains that exist, by table (read with
// iptables-save). Both tables have an entry.
func (p *Proxy) listChains() (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	for _, table := range []string{"nat", "filter"} {
		text, err := run(p.cfg.NetNS, "", "iptables-save", "-t", table)
		if err != nil {
			return nil, fmt.Errorf("list iptables chains: %w", err)
		}
		out[table] = map[string]bool{}
		for _, line := range strings.Split(string(text), "\n") {
			if name, ok := strings.CutPrefix(line, ":"); ok {
				if f := strings.Fields(name); len(f) > 0 && ownedChain(table, f[0]) {
					out[table][f[0]] = true
				}
			}
		}
	}
	return out, nil
}

var restoreLine = regexp.MustCompile(`line (\d+) failed`)

// restore applies payload with iptables-restore --noflush. When
// iptables-restore names a failing line, the error quotes it.
func (p *Proxy) restore(payload string) error {
	_, err := run(p.cfg.NetNS, payload, "iptables-restore", "-w", "--noflush")
	if err == nil {
		return nil
	}
	if m := restoreLine.FindStringSubmatch(err.Error()); m != nil {
		if n, _ := strconv.Atoi(m[1]); n > 0 {
			lines := strings.Split(payload, "\n")
			if n <= len(lines) {
				return fmt.Errorf("%w (line %d: %s)", err, n, lines[n-1])
			}
		}
	}
	return err
}

// ensureJump makes sure j is in its chain (inserting it first when not).
func (p *Proxy) ensureJump(j jump) error {
	ok, err := p.jumpExists(j)
	if err != nil || ok {
		return err
	}
	args := append([]string{"-w", "-t", j.table, "-I", j.chain, "1"}, j.args...)
	if _, err := run(p.cfg.NetNS, "", "iptables", args...); err != nil {
		return fmt.Errorf("add iptables rule %s: %w", j, err)
	}
	return nil
}

// jumpExists reports whether j is in its chain (iptables -C).
func (p *Proxy) jumpExists(j jump) (bool, error) {
	return netnsexec.RuleExists(p.cfg.NetNS, j.table, j.chain, j.args)
}

// removeJump deletes every copy of j.
func (p *Proxy) removeJump(j jump) error {
	for range 16 {
		ok, err := p.jumpExists(j)
		if err != nil || !ok {
			return err
		}
		args := append([]string{"-w", "-t", j.table, "-D", j.chain}, j.args...)
		if _, err := run(p.cfg.NetNS, "", "iptables", args...); err != nil {
			return fmt.Errorf("delete iptables rule %s: %w", j, err)
		}
	}
	return fmt.Errorf("delete iptables rule %s: still there after 16 deletions", j)
}
