package gossip

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// ErrJoin is wrapped by the error of a join that reached no member.
var ErrJoin = errors.New("gossip: could not join the cluster")

// Cluster is this node's membership in a gossip cluster: the member list,
// the election outcome in this node's view, and the ledger. All methods are
// safe for concurrent use.
type Cluster struct {
	name    string
	log     *slog.Logger
	ml      *memberlist.Memberlist
	queue   *memberlist.TransmitLimitedQueue
	ledger  *Ledger
	udpSize int

	mu       sync.Mutex
	meta     nodeMeta
	members  map[string]Member
	leaving  bool
	shutdown bool
	lead     Leadership
	watchers map[chan Leadership]struct{}
	// leaderChanges counts the changes of lead.Term (for the metrics).
	leaderChanges uint64
}

// New starts a member: it binds the gossip port, loads the ledger file if
// one is configured, and joins cfg.Join if set. It fails if the config is
// invalid, the port cannot be bound, or none of cfg.Join can be joined (see
// Join); on failure nothing is left running. New blocks for the join only.
func New(cfg *Config) (*Cluster, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "gossip", "node", cfg.Name)
	start := cfg.StartTime
	if start.IsZero() {
		start = time.Now()
	}

	base := cfg.Memberlist
	if base == nil {
		base = memberlist.DefaultLANConfig()
	}
	mlc := *base
	mlc.Name = cfg.Name
	mlc.BindAddr = cfg.BindAddr
	mlc.BindPort = cfg.BindPort
	mlc.AdvertiseAddr = cfg.AdvertiseAddr
	mlc.AdvertisePort = cfg.AdvertisePort
	if mlc.AdvertisePort == 0 {
		mlc.AdvertisePort = cfg.BindPort
	}
	keyring, err := memberlist.NewKeyring(nil, cfg.ClusterKey)
	if err != nil {
		return nil, fmt.Errorf("%w: ClusterKey: %v", ErrConfig, err)
	}
	mlc.SecretKey = nil
	mlc.Keyring = keyring
	mlc.GossipVerifyIncoming = true
	mlc.GossipVerifyOutgoing = true
	mlc.LogOutput = nil
	mlc.Logger = memberlistLogger(logger)

	c := &Cluster{
		name:     cfg.Name,
		log:      logger,
		meta:     nodeMeta{StartTime: start, Eligible: cfg.Eligible, APIAddr: cfg.APIAddr},
		udpSize:  mlc.UDPBufferSize,
		members:  map[string]Member{},
		watchers: map[chan Leadership]struct{}{},
	}
	c.queue = &memberlist.TransmitLimitedQueue{NumNodes: c.numLive, RetransmitMult: mlc.RetransmitMult}
	var store *ledgerFile
	if cfg.LedgerFile != "" {
		store = newLedgerFile(cfg.LedgerFile, logger)
	}
	c.ledger, err = newLedger(logger, store, c.currentTerm, c.spread)
	if err != nil {
		return nil, err
	}
	d := &delegate{c}
	mlc.Delegate = d
	mlc.Events = d

	c.ml, err = memberlist.Create(&mlc)
	if err != nil {
		c.ledger.close()
		return nil, fmt.Errorf("gossip: start member %s on %s: %w", cfg.Name,
			netJoin(cfg.BindAddr, cfg.BindPort), err)
	}
	self := c.LocalMember()
	logger.Info("gossip started", "addr", self.Addr, "eligible", cfg.Eligible, "term", self.Term())
	if len(cfg.Join) > 0 {
		if _, err := c.Join(cfg.Join...); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	return c, nil
}

func netJoin(host string, port int) string {
	return host + ":" + strconv.Itoa(port)
}

// Join contacts the given members (host:port) and merges their state
// (members and ledger) with this node's. It blocks until every address has
// been tried, and returns how many were reached. It fails, wrapping ErrJoin,
// only if none was: a member that was reached but has another cluster key
// refuses the connection, so the error cannot tell a wrong key from an
// unreachable member and says both.
func (c *Cluster) Join(addrs ...string) (int, error) {
	n, err := c.ml.Join(addrs)
	if n == 0 {
		if err == nil {
			err = errors.New("no address given")
		}
		return 0, fmt.Errorf("%w via %v: the cluster key is wrong or no member is reachable: %v", ErrJoin, addrs, err)
	}
	if err != nil {
		c.log.Warn("some join addresses failed", "joined", n, "err", err)
	}
	c.log.Info("joined cluster", "via", addrs, "reached", n)
	return n, nil
}

// Leave announces that this node leaves the cluster. This node stops
// leading at once (a WhileLeader function here is cancelled before anything
// is sent). It then announces, in its metadata, that it is leaving, so the
// others elect without it and list it as StateLeft rather than StateDead,
// and finally sends memberlist's leave message. Each of the two steps
// blocks until its message went out or timeout passes. After Leave, only
// Shutdown is useful. Leave after Shutdown returns ErrClosed.
func (c *Cluster) Leave(timeout time.Duration) error {
	c.mu.Lock()
	if c.shutdown {
		c.mu.Unlock()
		return ErrClosed
	}
	c.leaving = true
	c.meta.Leaving = true
	if self, ok := c.members[c.name]; ok {
		self.State = StateLeft
		c.members[c.name] = self
	}
	c.electLocked()
	c.mu.Unlock()
	if err := c.ml.UpdateNode(timeout); err != nil {
		c.log.Warn("announcing leave", "err", err)
	}
	if err := c.ml.Leave(timeout); err != nil {
		return fmt.Errorf("gossip: leave: %w", err)
	}
	return nil
}

// Shutdown stops gossip without a goodbye (others will find this node dead
// by probing; call Leave first for a clean exit), closes the leadership and
// ledger watch channels, cancels WhileLeader functions, and saves the ledger
// file one last time. It is idempotent and returns the save error, if any.
func (c *Cluster) Shutdown() error {
	c.mu.Lock()
	if c.shutdown {
		c.mu.Unlock()
		return nil
	}
	c.shutdown = true
	c.lead = Leadership{}
	for ch := range c.watchers {
		close(ch)
	}
	clear(c.watchers)
	c.mu.Unlock()

	err := c.ml.Shutdown()
	if lerr := c.ledger.close(); lerr != nil {
		err = errors.Join(err, lerr)
	}
	c.log.Info("gossip stopped")
	return err
}

// Name returns this node's name.
func (c *Cluster) Name() string { return c.name }

// LocalMember returns this node as the others see it.
func (c *Cluster) LocalMember() Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[c.name]
}

// Members returns every member this node has heard of, this node included,
// sorted by name: live ones and those that died or left (until they come
// back under the same name). States are as memberlist last announced them;
// see State.
func (c *Cluster) Members() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Member, 0, len(c.members))
	for _, m := range c.members {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// NumLive returns the number of live members, this node included.
func (c *Cluster) NumLive() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.numLiveLocked()
}

func (c *Cluster) numLive() int { return c.NumLive() }

func (c *Cluster) numLiveLocked() int {
	n := 0
	for _, m := range c.members {
		if m.State.Live() {
			n++
		}
	}
	return n
}

// Ledger returns the cluster's replicated ledger.
func (c *Cluster) Ledger() *Ledger { return c.ledger }

// update records what memberlist announced about a node and re-runs the
// election. Called from the EventDelegate, under memberlist's node lock: it
// must not call back into memberlist.
func (c *Cluster) update(n *memberlist.Node, departed bool) {
	m, err := memberOf(n)
	if err != nil {
		c.log.Warn("member with unreadable metadata, not eligible", "member", n.Name, "err", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shutdown {
		return
	}
	if m.Name == c.name && c.leaving {
		m.State = StateLeft
	}
	if departed && m.State != StateLeft {
		m.State = StateDead
		if old, ok := c.members[m.Name]; ok && old.State == StateLeft {
			m.State = StateLeft
		}
	}
	if old, ok := c.members[m.Name]; !ok || old.State != m.State {
		c.log.Info("member "+m.State.String(), "member", m.Name, "addr", m.Addr)
	}
	c.members[m.Name] = m
	c.electLocked()
}

// electLocked recomputes the leadership and tells the watchers if it
// changed. Never blocks.
func (c *Cluster) electLocked() {
	var l Leadership
	if leader, ok := Elect(c.memberListLocked()); ok {
		l = Leadership{Leader: leader, Term: leader.Term(), Self: leader.Name == c.name}
	}
	if l.Term == c.lead.Term && l.Self == c.lead.Self {
		c.lead = l
		return
	}
	c.log.Info("leader changed", "leader", l.Leader.Name, "term", l.Term, "self", l.Self, "previous", c.lead.Term)
	if l.Term != c.lead.Term {
		c.leaderChanges++
	}
	c.lead = l
	for ch := range c.watchers {
		sendLatest(ch, l)
	}
}

func (c *Cluster) memberListLocked() []Member {
	out := make([]Member, 0, len(c.members))
	for _, m := range c.members {
		out = append(out, m)
	}
	return out
}

// sendLatest puts l in ch (capacity 1), replacing an unread value. Only one
// goroutine may send at a time (callers hold c.mu).
func sendLatest(ch chan Leadership, l Leadership) {
	select {
	case <-ch:
	default:
	}
	ch <- l
}

// spread sends ledger entries to the other members: small ones by gossip
// broadcast (each to a few members per round, retransmitted a few times),
// larger ones that do not fit in a gossip packet directly over TCP to every
// live member, in the background.
func (c *Cluster) spread(entries []Entry) {
	var large []Entry
	for _, e := range entries {
		msg := encodeEntries([]Entry{e})
		if len(msg) <= c.maxBroadcast() {
			c.queue.QueueBroadcast(&entryBroadcast{key: e.Key, msg: msg})
			continue
		}
		large = append(large, e)
	}
	if len(large) == 0 {
		return
	}
	msg := encodeEntries(large)
	var to []*memberlist.Node
	for _, m := range c.Members() {
		if m.Name != c.name && m.State.Live() {
			to = append(to, &memberlist.Node{Name: m.Name, Addr: m.Addr.Addr().AsSlice(), Port: m.Addr.Port()})
		}
	}
	go func() {
		for _, n := range to {
			if err := c.ml.SendReliable(n, msg); err != nil {
				c.log.Warn("sending ledger entries", "member", n.Name, "err", err)
			}
		}
	}()
}

// maxBroadcast is the largest ledger message sent by gossip: what fits in
// a packet with room for memberlist's own headers and encryption.
func (c *Cluster) maxBroadcast() int {
	return max(c.udpSize-200, 256)
}

// entryBroadcast is one ledger entry in the broadcast queue; a newer write
// of the same key replaces it.
type entryBroadcast struct {
	key string
	msg []byte
}

func (b *entryBroadcast) Name() string    { return "ledger/" + b.key }
func (b *entryBroadcast) Message() []byte { return b.msg }
func (b *entryBroadcast) Finished()       {}
func (b *entryBroadcast) Invalidates(o memberlist.Broadcast) bool {
	nb, ok := o.(memberlist.NamedBroadcast)
	return ok && nb.Name() == b.Name()
}
