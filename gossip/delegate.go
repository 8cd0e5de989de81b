package gossip

import "github.com/hashicorp/memberlist"

// delegate implements memberlist's Delegate and EventDelegate for a Cluster.
// It is its own type so that these hooks stay out of Cluster's API.
//
// memberlist calls the event methods one at a time, holding its node lock,
// and the message methods from its receive loops: none of them may block or
// call back into memberlist.
type delegate struct{ c *Cluster }

var (
	_ memberlist.Delegate      = (*delegate)(nil)
	_ memberlist.EventDelegate = (*delegate)(nil)
)

// NodeMeta returns the encoded nodeMeta (at most a few hundred bytes: New
// limits APIAddr).
func (d *delegate) NodeMeta(limit int) []byte {
	d.c.mu.Lock()
	b := d.c.meta.encode()
	d.c.mu.Unlock()
	if len(b) > limit {
		d.c.log.Error("node metadata too large", "size", len(b), "limit", limit)
		return nil
	}
	return b
}

// NotifyMsg receives ledger entries sent by broadcast or over TCP.
func (d *delegate) NotifyMsg(b []byte) {
	if len(b) == 0 {
		return
	}
	entries, err := decodeEntries(b)
	if err != nil {
		d.c.log.Warn("dropping gossip message", "err", err)
		return
	}
	d.c.ledger.receive(entries)
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.c.queue.GetBroadcasts(overhead, limit)
}

// LocalState sends the whole ledger in a push/pull exchange.
func (d *delegate) LocalState(join bool) []byte {
	return encodeEntries(d.c.ledger.Snapshot())
}

// MergeRemoteState merges another member's whole ledger.
func (d *delegate) MergeRemoteState(b []byte, join bool) {
	if len(b) == 0 {
		return
	}
	entries, err := decodeEntries(b)
	if err != nil {
		d.c.log.Warn("dropping remote ledger state", "err", err)
		return
	}
	d.c.ledger.receive(entries)
}

func (d *delegate) NotifyJoin(n *memberlist.Node)   { d.c.update(n, false) }
func (d *delegate) NotifyUpdate(n *memberlist.Node) { d.c.update(n, false) }
func (d *delegate) NotifyLeave(n *memberlist.Node)  { d.c.update(n, true) }
