package gossip

import (
	"strings"
	"testing"
	"time"
)

func TestNodeMetaRoundTrip(t *testing.T) {
	tests := []nodeMeta{
		{StartTime: time.Unix(0, 0)},
		{StartTime: time.Unix(0, 1_700_000_000_123_456_789), Eligible: true, APIAddr: "10.0.0.1:7443"},
		{StartTime: time.Unix(0, -5), APIAddr: "[fe80::1]:1", Leaving: true},
		{StartTime: time.Unix(1<<33, 0), Eligible: true, APIAddr: strings.Repeat("x", maxAPIAddr)},
	}
	for _, m := range tests {
		b := m.encode()
		if len(b) > 512 {
			t.Errorf("%+v: %d bytes, over memberlist's 512-byte limit", m, len(b))
		}
		got, err := decodeMeta(b)
		if err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		if !got.StartTime.Equal(m.StartTime) || got.Eligible != m.Eligible || got.Leaving != m.Leaving || got.APIAddr != m.APIAddr {
			t.Errorf("round trip of %+v = %+v", m, got)
		}
	}
	if n := len(nodeMeta{StartTime: time.Now(), Eligible: true, APIAddr: "10.0.0.1:7443"}.encode()); n > 24 {
		t.Errorf("typical metadata takes %d bytes, want it compact", n)
	}
}

func TestNodeMetaBad(t *testing.T) {
	for _, b := range [][]byte{nil, {1}, {2, 0, 0}, {1, 0, 0x80}} {
		if _, err := decodeMeta(b); err == nil {
			t.Errorf("decodeMeta(%v) succeeded", b)
		}
	}
}
