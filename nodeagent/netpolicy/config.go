package netpolicy

import (
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"net/netip"
)

// ErrInvalid marks a Config that can never work.
var ErrInvalid = errors.New("netpolicy: invalid")

// Defaults.
const (
	// DefaultQueueNum is the NFQUEUE number new connections are queued to.
	DefaultQueueNum uint16 = 100
	// DefaultMark is the packet and connection mark bit that says "the
	// agent accepted this connection". It must not be a bit another
	// program of the node uses (the service proxy's masquerade mark is
	// 0x4000).
	DefaultMark uint32 = 0x10000
	// DefaultQueueMaxLen is how many packets the kernel holds awaiting a
	// verdict before it drops new ones (or accepts them, with Bypass).
	DefaultQueueMaxLen uint32 = 4096
)

// Config describes one node's network policy enforcement.
type Config struct {
	// NetNS is the path of the node's network namespace file: the rules
	// and the queue's socket live there. Empty means the agent's own
	// network namespace.
	NetNS string
	// PodCIDR is this node's pod range: only pods with an address in it
	// get queue rules on this node. Required.
	PodCIDR netip.Prefix
	// QueueNum is the NFQUEUE number (DefaultQueueNum when zero). Each
	// network namespace has its own queues.
	QueueNum uint16
	// Bypass adds --queue-bypass to the queue rules and asks the kernel to
	// accept what overflows the queue: when no listener is bound (the
	// agent is down or starting) or it cannot keep up, new connections
	// of selected pods are accepted instead of dropped. The default,
	// false, fails closed.
	Bypass bool
	// Mark is the single bit marking packets and connections the agent
	// accepted (DefaultMark when zero).
	Mark uint32
	// QueueMaxLen is the kernel's queue length (DefaultQueueMaxLen when
	// zero).
	QueueMaxLen uint32
	// Logger receives the component's logs (component=netpolicy).
	Logger *slog.Logger
}

// DefaultConfig returns the configuration of a node with pod range
// podCIDR, in the agent's own network namespace, failing closed, with the
// default queue, mark and logger.
func DefaultConfig(podCIDR netip.Prefix) Config {
	return Config{PodCIDR: podCIDR, QueueNum: DefaultQueueNum, Mark: DefaultMark, QueueMaxLen: DefaultQueueMaxLen, Logger: slog.Default()}
}

// validate fills the zero fields that have defaults and checks the rest.
func (c *Config) validate() error {
	if c.QueueNum == 0 {
		c.QueueNum = DefaultQueueNum
	}
	if c.Mark == 0 {
		c.Mark = DefaultMark
	}
	if c.QueueMaxLen == 0 {
		c.QueueMaxLen = DefaultQueueMaxLen
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if !c.PodCIDR.IsValid() || !c.PodCIDR.Addr().Is4() || c.PodCIDR.Masked() != c.PodCIDR {
		return fmt.Errorf("%w config: PodCIDR %q must be a masked IPv4 prefix", ErrInvalid, c.PodCIDR)
	}
	if bits.OnesCount32(c.Mark) != 1 {
		return fmt.Errorf("%w config: Mark %#x must have exactly one bit set", ErrInvalid, c.Mark)
	}
	return nil
}
