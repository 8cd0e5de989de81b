package gossip

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/memberlist"
)

// DefaultPort is the gossip port (TCP and UDP) a node binds by default.
const DefaultPort = 7946

// Config is the configuration of one gossip member. Build it from
// DefaultLANConfig or LocalConfig and change what differs; New validates it
// and never modifies it.
type Config struct {
	// Name identifies the node in the cluster and must be unique. It is part
	// of the leader's Term.
	Name string

	// BindAddr and BindPort are where the node listens for gossip (UDP and
	// TCP on the same port). Port 0 picks a free port; Cluster.LocalMember
	// reports the chosen one.
	BindAddr string
	BindPort int

	// AdvertiseAddr and AdvertisePort are what other members use to reach
	// this node, when it differs from the bind address (NAT, 0.0.0.0). Empty
	// and 0 mean: derived from the bind address.
	AdvertiseAddr string
	AdvertisePort int

	// Join lists host:port addresses of existing members. New joins them and
	// fails if none of them can be joined. Empty starts a new cluster.
	Join []string

	// ClusterKey is the AES key (16, 24 or 32 bytes) that encrypts and
	// authenticates all gossip. It is required: every member must have the
	// same key, and a node with another key can neither join nor be joined.
	// See GenerateKey and ReadKeyFile.
	ClusterKey []byte

	// StartTime orders the members for the election: the eligible member
	// that started first leads. Zero means the time New is called. A node
	// that restarts gets a new start time, so it does not take the lead
	// back from the member that replaced it.
	StartTime time.Time

	// Eligible says whether this node may be elected reconciler.
	Eligible bool

	// APIAddr is the host:port of this node's HTTP API, announced to the
	// other members in the node metadata.
	APIAddr string

	// LedgerFile, if set, is where the ledger is saved after every change
	// and loaded from by New, so a restarted node starts from its last
	// ledger instead of an empty one.
	LedgerFile string

	// Logger receives the cluster's and memberlist's logs, with
	// component=gossip. Nil means slog.Default().
	Logger *slog.Logger

	// Memberlist holds the protocol timings (probe, gossip, push/pull and
	// suspicion intervals, TCP timeout). New copies it and overwrites the
	// name, addresses, encryption, delegates and logger. Nil means
	// memberlist.DefaultLANConfig().
	Memberlist *memberlist.Config
}

// DefaultLANConfig returns the configuration for a node on a local network:
// memberlist's LAN timings, all interfaces on DefaultPort, eligible for
// election. The cluster key must still be set.
func DefaultLANConfig(name string) *Config {
	return &Config{
		Name:       name,
		BindAddr:   "0.0.0.0",
		BindPort:   DefaultPort,
		Eligible:   true,
		Memberlist: memberlist.DefaultLANConfig(),
	}
}

// LocalConfig returns the configuration for members on one machine (tests,
// `shoal up`): 127.0.0.1 on a free port, eligible for election, and
// memberlist's local timings except for RetransmitMult, kept at the LAN
// value 4. With memberlist's local value 2, a burst of joins regularly left
// members unseen until a push/pull repaired it: 50 members on one machine
// took about 42 s to all see each other; with 4, typically 0.5-0.7 s
// (BenchmarkMembershipConvergence50), though a run where gossip misses a
// member still waits for push/pull (every 30 s at 50 members: memberlist
// scales the 15 s interval with the cluster size). The cluster key must
// still be set.
func LocalConfig(name string) *Config {
	ml := memberlist.DefaultLocalConfig()
	ml.RetransmitMult = 4
	return &Config{
		Name:       name,
		BindAddr:   "127.0.0.1",
		BindPort:   0,
		Eligible:   true,
		Memberlist: ml,
	}
}

// maxAPIAddr keeps the node metadata well inside memberlist's 512-byte limit.
const maxAPIAddr = 256

// ErrConfig is wrapped by every error New returns for an invalid Config.
var ErrConfig = errors.New("gossip: invalid config")

func (c *Config) validate() error {
	switch {
	case c.Name == "":
		return fmt.Errorf("%w: Name is empty", ErrConfig)
	case len(c.Name) > 128:
		return fmt.Errorf("%w: Name %.20q... is longer than 128 bytes", ErrConfig, c.Name)
	case len(c.APIAddr) > maxAPIAddr:
		return fmt.Errorf("%w: APIAddr is longer than %d bytes", ErrConfig, maxAPIAddr)
	case c.BindPort < 0 || c.BindPort > 65535:
		return fmt.Errorf("%w: BindPort %d out of range", ErrConfig, c.BindPort)
	case !c.StartTime.IsZero() && (c.StartTime.Year() < 1678 || c.StartTime.Year() > 2261):
		return fmt.Errorf("%w: StartTime %v cannot be held in Unix nanoseconds", ErrConfig, c.StartTime)
	case c.AdvertisePort < 0 || c.AdvertisePort > 65535:
		return fmt.Errorf("%w: AdvertisePort %d out of range", ErrConfig, c.AdvertisePort)
	}
	if len(c.ClusterKey) == 0 {
		return fmt.Errorf("%w: ClusterKey is empty (generate one with `shoal keygen`)", ErrConfig)
	}
	if err := memberlist.ValidateKey(c.ClusterKey); err != nil {
		return fmt.Errorf("%w: ClusterKey: %v", ErrConfig, err)
	}
	return nil
}
