package netpolicy

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/policies/network"
)

// copyLen is how much of each queued packet the kernel copies to the
// listener: the IPv4 header (at most 60 bytes) and the first 4 bytes of
// the transport header (the ports).
const copyLen = 64

// readBuffer is the queue socket's receive buffer: room for bursts of new
// connections while the listener is busy.
const readBuffer = 4 << 20

// Run binds the queue (Config.QueueNum, in Config.NetNS) and judges every
// packet queued to it until ctx ends, then unbinds; it returns nil then.
// It returns an error when the queue cannot be bound (another process
// holds it) or its socket fails for good; the caller may run it again.
//
// Each queued packet is the first of a new connection of a selected pod
// (or a retransmission of one not yet answered). Its IPv4 header and
// ports are read and the current policy set (the last Update) is asked
// for a Verdict:
//
//   - allowed: the packet goes back through the filter table's hook from
//     its start (NF_REPEAT) with Config.Mark added to its mark, so that the
//     node's other rules still see it; Chain then marks its connection,
//     and conntrack carries the rest of the connection without the queue;
//   - denied: it is dropped (NF_DROP). A TCP client sees no answer and
//     retries until its connect times out, as with most CNI plugins; a
//     reset would need a second pass through the rules and is not sent.
//
// Before the first Update, and for a packet that does not parse, the
// verdict is what the node does without a listener: drop, or accept with
// Config.Bypass. The callback never blocks: a verdict is a few lookups
// and one send on the socket.
func (e *Enforcer) Run(ctx context.Context) error {
	nsfd := 0
	if e.cfg.NetNS != "" {
		f, err := os.Open(e.cfg.NetNS)
		if err != nil {
			return fmt.Errorf("open network namespace %s: %w", e.cfg.NetNS, err)
		}
		defer f.Close()
		nsfd = int(f.Fd())
	}
	flags := uint32(nfqueue.NfQaCfgFlagGSO)
	if e.cfg.Bypass {
		flags |= nfqueue.NfQaCfgFlagFailOpen
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	failure := make(chan error, 1)
	errfn := func(err error) int {
		if ctx.Err() != nil {
			return 1
		}
		var oe *netlink.OpError
		switch {
		case errors.Is(err, unix.ENOBUFS):
			// The socket overflowed: the kernel dropped (or, with Bypass,
			// accepted) what it could not hand over.
			e.metrics.overruns.Inc()
			return 0
		case errors.As(err, &oe) && (oe.Timeout() || oe.Temporary()):
			return 0
		}
		select {
		case failure <- err:
		default:
		}
		cancel()
		return 1
	}
	var nf *nfqueue.Nfqueue
	for attempt := 1; ; attempt++ {
		var err error
		if nf, err = e.open(nsfd, flags); err != nil {
			return err
		}
		v := verdicter{e: e, nf: nf}
		err = nf.RegisterWithErrorFunc(ctx, v.handle, errfn)
		if err == nil {
			break
		}
		nf.Close()
		// Once the queue is bound, a packet can reach the socket before
		// the replies to the commands that configure it (go-nfqueue sends
		// them one by one): the library then sees a reply out of sequence.
		// That race is retried at once; the packets it caught were
		// dropped (or, with Bypass, accepted) with the socket.
		if !strings.Contains(err.Error(), "mismatched sequence") || attempt == bindAttempts {
			return fmt.Errorf("bind netfilter queue %d: %w", e.cfg.QueueNum, err)
		}
		e.log.Debug("queue bound while packets arrived; binding again", "attempt", attempt)
	}
	defer func() { cancel(); nf.Close() }() // the listener stops before its socket
	e.log.Info("network policy queue listening", "queue", e.cfg.QueueNum)
	<-ctx.Done()
	select {
	case err := <-failure:
		return fmt.Errorf("%w: %v", errStopped, err)
	default:
		return nil
	}
}

// bindAttempts is how many times Run binds the queue when packets race
// its configuration.
const bindAttempts = 5

// open opens the netfilter queue socket in the node's namespace (nsfd, 0
// for the agent's own).
func (e *Enforcer) open(nsfd int, flags uint32) (*nfqueue.Nfqueue, error) {
	nf, err := nfqueue.Open(&nfqueue.Config{
		NetNS:        nsfd,
		NfQueue:      e.cfg.QueueNum,
		MaxQueueLen:  e.cfg.QueueMaxLen,
		MaxPacketLen: copyLen,
		Copymode:     nfqueue.NfQnlCopyPacket,
		Flags:        flags,
		AfFamily:     unix.AF_INET,
		// No WriteTimeout: the kernel takes a verdict in the send itself,
		// and a deadline would cost a timer update per packet.
	})
	if err != nil {
		return nil, fmt.Errorf("open netfilter queue %d: %w", e.cfg.QueueNum, err)
	}
	if err := nf.Con.SetReadBuffer(readBuffer); err != nil {
		e.log.Warn("queue socket receive buffer", "error", err)
	}
	return nf, nil
}

// verdicter answers the packets of one bound queue.
type verdicter struct {
	e  *Enforcer
	nf *nfqueue.Nfqueue
}

// handle judges one queued packet; it is called from the queue's receive
// goroutine only.
func (v verdicter) handle(a nfqueue.Attribute) int {
	if a.PacketID == nil {
		return 0
	}
	e := v.e
	id := *a.PacketID
	var mark uint32
	if a.Mark != nil {
		mark = *a.Mark
	}
	if mark&e.cfg.Mark != 0 {
		// Accepted already and queued again: the chain does not match the
		// mark (changed by hand?). Accept for good rather than loop.
		v.send(id, nfqueue.NfAccept, 0)
		return 0
	}
	set := e.set.Load()
	var conn network.Conn
	ok := false
	if a.Payload != nil {
		conn, ok = parse(*a.Payload)
	}
	if set == nil || !ok {
		if e.cfg.Bypass {
			e.metrics.count("", accepted)
			v.send(id, nfqueue.NfRepeat, mark|e.cfg.Mark)
		} else {
			e.metrics.count("", dropped)
			v.send(id, nfqueue.NfDrop, 0)
		}
		return 0
	}
	// Counted before the verdict is sent: whoever sees the connection's
	// effect sees it counted.
	verdict := set.Verdict(conn)
	if verdict.Allowed {
		e.countAccepted(&verdict)
		v.send(id, nfqueue.NfRepeat, mark|e.cfg.Mark)
	} else {
		if e.drops.first(flowOf(a, conn), time.Now()) {
			e.countDropped(&verdict)
		}
		v.send(id, nfqueue.NfDrop, 0)
	}
	if e.debug {
		e.log.Debug("verdict", "reason", verdict.Reason())
	}
	return 0
}

// send sets a verdict; mark, when not zero, becomes the packet's mark.
func (v verdicter) send(id uint32, verdict int, mark uint32) {
	var err error
	if mark != 0 {
		err = v.nf.SetVerdictWithOption(id, verdict, nfqueue.WithMark(mark))
	} else {
		err = v.nf.SetVerdict(id, verdict)
	}
	if err != nil {
		v.e.metrics.verdictErrors.Inc()
		v.e.log.Debug("set verdict", "error", err)
	}
}

// countAccepted counts an allowed connection under each policy whose rule
// allowed one of its directions (once per policy), or under "" when none
// did (the pod's own node, itself, or a direction not isolated).
func (e *Enforcer) countAccepted(v *network.Verdict) {
	eg, in := v.Egress, v.Ingress
	switch {
	case eg.Outcome == network.ByRule && in.Outcome == network.ByRule && eg.Policy == in.Policy:
		e.metrics.count(eg.Policy.String(), accepted)
	case eg.Outcome == network.ByRule || in.Outcome == network.ByRule:
		for _, d := range []network.Decision{eg, in} {
			if d.Outcome == network.ByRule {
				e.metrics.count(d.Policy.String(), accepted)
			}
		}
	default:
		e.metrics.count("", accepted)
	}
}

// countDropped counts a denied connection under every policy that
// isolates a denying direction (once per policy).
func (e *Enforcer) countDropped(v *network.Verdict) {
	var seen [8]network.Ref
	n := 0
	for _, d := range []network.Decision{v.Egress, v.Ingress} {
		if d.Outcome != network.Denied {
			continue
		}
	next:
		for _, p := range d.Policies {
			for _, s := range seen[:n] {
				if s == p {
					continue next
				}
			}
			if n < len(seen) {
				seen[n] = p
				n++
			}
			e.metrics.count(p.String(), dropped)
		}
	}
}

// parse reads the connection of an IPv4 packet: addresses, protocol and
// destination port (TCP, UDP and SCTP; other protocols carry none). ok is
// false for anything but a whole IPv4 header, or a first fragment too
// short for the ports.
func parse(b []byte) (c network.Conn, ok bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return c, false
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl {
		return c, false
	}
	c.Src = netip.AddrFrom4([4]byte(b[12:16]))
	c.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	fragOffset := binary.BigEndian.Uint16(b[6:8]) & 0x1fff
	switch b[9] {
	case unix.IPPROTO_TCP:
		c.Protocol = corev1.ProtocolTCP
	case unix.IPPROTO_UDP:
		c.Protocol = corev1.ProtocolUDP
	case unix.IPPROTO_SCTP:
		c.Protocol = corev1.ProtocolSCTP
	case unix.IPPROTO_ICMP:
		c.Protocol = "ICMP"
		return c, true
	default:
		c.Protocol = corev1.Protocol(fmt.Sprintf("IP-%d", b[9]))
		return c, true
	}
	if fragOffset != 0 || len(b) < ihl+4 {
		return c, false
	}
	c.DstPort = binary.BigEndian.Uint16(b[ihl+2 : ihl+4])
	return c, true
}

// flow identifies a connection attempt: its addresses, protocol and
// ports.
type flow struct {
	src, dst     netip.Addr
	proto        corev1.Protocol
	sport, dport uint16
}

// flowOf is the flow of a queued packet whose connection is c.
func flowOf(a nfqueue.Attribute, c network.Conn) flow {
	f := flow{src: c.Src, dst: c.Dst, proto: c.Protocol, dport: c.DstPort}
	if a.Payload != nil {
		b := *a.Payload
		if ihl := int(b[0]&0x0f) * 4; c.DstPort != 0 && len(b) >= ihl+2 {
			f.sport = binary.BigEndian.Uint16(b[ihl : ihl+2])
		}
	}
	return f
}

// Memory of dropped flows: a TCP client retransmits its SYN for about two
// minutes (6 retries), a UDP client sends as long as it likes.
const (
	dropMemory    = 8192
	dropMemoryFor = 3 * time.Minute
)

// recent remembers flows for a while, up to a number of them. It is not
// safe for concurrent use.
type recent struct {
	max  int
	ttl  time.Duration
	seen map[flow]time.Time
}

func newRecent(max int, ttl time.Duration) *recent {
	return &recent{max: max, ttl: ttl, seen: map[flow]time.Time{}}
}

// first reports whether f was not seen within the memory time, and
// remembers it as seen now. When the memory is full, expired flows are
// forgotten, and all of them if none has expired (counts may then repeat).
func (r *recent) first(f flow, now time.Time) bool {
	if t, ok := r.seen[f]; ok && now.Sub(t) < r.ttl {
		r.seen[f] = now
		return false
	}
	if len(r.seen) >= r.max {
		for k, t := range r.seen {
			if now.Sub(t) >= r.ttl {
				delete(r.seen, k)
			}
		}
		if len(r.seen) >= r.max {
			clear(r.seen)
		}
	}
	r.seen[f] = now
	return true
}
