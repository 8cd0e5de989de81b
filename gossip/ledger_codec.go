package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Ledger entries travel in memberlist user messages (broadcasts, large
// writes sent over TCP) and in push/pull state, in one binary form:
//
//	message  = kind (1 byte) | count (uvarint) | entry*
//	entry    = key (bytes) | value (bytes) | term (bytes) | seq (uvarint) | flags (1 byte, bit 0 = deleted)
//	bytes    = length (uvarint) | data
//
// kind is msgEntries; other kinds are reserved for later messages and
// ignored by this version.
const msgEntries byte = 1

var errCodec = errors.New("gossip: bad ledger message")

func encodeEntries(es []Entry) []byte {
	n := 1 + binary.MaxVarintLen64
	for _, e := range es {
		n += 4*binary.MaxVarintLen64 + 1 + len(e.Key) + len(e.Value) + len(e.Term)
	}
	b := make([]byte, 0, n)
	b = append(b, msgEntries)
	b = binary.AppendUvarint(b, uint64(len(es)))
	for _, e := range es {
		b = appendBytes(b, []byte(e.Key))
		b = appendBytes(b, e.Value)
		b = appendBytes(b, []byte(e.Term))
		b = binary.AppendUvarint(b, e.Seq)
		var flags byte
		if e.Deleted {
			flags |= 1
		}
		b = append(b, flags)
	}
	return b
}

func appendBytes(b, data []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

// decodeEntries parses a message; the entries do not alias b.
func decodeEntries(b []byte) ([]Entry, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", errCodec)
	}
	if b[0] != msgEntries {
		return nil, fmt.Errorf("%w: unknown kind %d", errCodec, b[0])
	}
	d := decoder{b: b[1:]}
	count := d.uvarint()
	if d.err == nil && count > uint64(len(d.b)) { // each entry takes at least one byte
		return nil, fmt.Errorf("%w: %d entries in %d bytes", errCodec, count, len(d.b))
	}
	es := make([]Entry, 0, count)
	for i := uint64(0); i < count && d.err == nil; i++ {
		var e Entry
		e.Key = string(d.bytes())
		e.Value = d.bytes()
		e.Term = Term(d.bytes())
		e.Seq = d.uvarint()
		flags := d.byte()
		e.Deleted = flags&1 != 0
		if e.Deleted {
			e.Value = nil
		} else if e.Value == nil {
			e.Value = []byte{}
		}
		es = append(es, e)
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errCodec, len(d.b))
	}
	return es, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad varint", errCodec)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: truncated", errCodec)
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]byte, n)
	copy(out, d.b[:n])
	d.b = d.b[n:]
	return out
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = fmt.Errorf("%w: truncated", errCodec)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}
