package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/hashicorp/memberlist"
)

// State is a member's liveness as this node last heard it.
type State int

// The states of a member. memberlist announces joins, updates and
// departures, but not suspicion: Cluster.Members reports a suspected member
// as StateAlive until it is confirmed dead, and Elect treats both the same.
// Nor does it say whether a departed member failed or left: a member that
// leaves with Cluster.Leave first announces it in its metadata, and is
// StateLeft from then on; a member that departs without that is StateDead.
const (
	StateAlive State = iota
	StateSuspect
	StateDead
	StateLeft
)

func (s State) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Live reports whether a member in this state still counts as a member:
// alive or suspect.
func (s State) Live() bool { return s == StateAlive || s == StateSuspect }

// Member is one node of the cluster as this node sees it. It is a value:
// changing it changes nothing in the cluster.
type Member struct {
	Name      string
	Addr      netip.AddrPort // gossip address
	APIAddr   string         // host:port of the node's HTTP API
	StartTime time.Time
	Eligible  bool
	State     State
}

// Term returns the term this member would lead under.
func (m Member) Term() Term { return NewTerm(m.Name, m.StartTime) }

// nodeMeta is what a member announces in memberlist's node metadata. Encoded:
//
//	version (1 byte, 1) | flags (1 byte, bit 0 = eligible, bit 1 = leaving) |
//	start time (varint, Unix nanoseconds) | API address (the remaining bytes)
//
// That is at most 12 bytes plus the API address, well inside the 512-byte
// limit. A decoder ignores flag bits it does not know, so flags can be added
// without a new version.
type nodeMeta struct {
	StartTime time.Time
	Eligible  bool
	Leaving   bool // the node announced that it leaves
	APIAddr   string
}

const metaVersion = 1

func (m nodeMeta) encode() []byte {
	b := make([]byte, 0, 2+binary.MaxVarintLen64+len(m.APIAddr))
	var flags byte
	if m.Eligible {
		flags |= 1
	}
	if m.Leaving {
		flags |= 2
	}
	b = append(b, metaVersion, flags)
	b = binary.AppendVarint(b, m.StartTime.UnixNano())
	return append(b, m.APIAddr...)
}

var errMeta = errors.New("gossip: bad node metadata")

func decodeMeta(b []byte) (nodeMeta, error) {
	if len(b) < 3 {
		return nodeMeta{}, fmt.Errorf("%w: %d bytes", errMeta, len(b))
	}
	if b[0] != metaVersion {
		return nodeMeta{}, fmt.Errorf("%w: version %d", errMeta, b[0])
	}
	start, n := binary.Varint(b[2:])
	if n <= 0 {
		return nodeMeta{}, fmt.Errorf("%w: start time", errMeta)
	}
	return nodeMeta{
		Eligible:  b[1]&1 != 0,
		Leaving:   b[1]&2 != 0,
		StartTime: time.Unix(0, start),
		APIAddr:   string(b[2+n:]),
	}, nil
}

// memberOf copies what it needs from a memberlist node. It must be called
// where memberlist guarantees the node is not being changed (in an
// EventDelegate callback). The state is alive, or left if the metadata
// says the node is leaving; memberlist does not keep Node.State current.
func memberOf(n *memberlist.Node) (Member, error) {
	m := Member{Name: n.Name, State: StateAlive}
	if ip, ok := netip.AddrFromSlice(n.Addr); ok {
		m.Addr = netip.AddrPortFrom(ip.Unmap(), n.Port)
	}
	meta, err := decodeMeta(n.Meta)
	if err != nil {
		return m, err
	}
	m.StartTime, m.Eligible, m.APIAddr = meta.StartTime, meta.Eligible, meta.APIAddr
	if meta.Leaving {
		m.State = StateLeft
	}
	return m, nil
}
