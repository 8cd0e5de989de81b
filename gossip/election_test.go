package gossip

import (
	"testing"
	"time"
)

func TestElect(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := func(name string, start int, eligible bool, state State) Member {
		return Member{Name: name, StartTime: t0.Add(time.Duration(start) * time.Second), Eligible: eligible, State: state}
	}
	tests := []struct {
		name    string
		members []Member
		want    string // "" = none
	}{
		{"empty", nil, ""},
		{"earliest start", []Member{m("b", 2, true, StateAlive), m("c", 1, true, StateAlive), m("a", 3, true, StateAlive)}, "c"},
		{"ineligible skipped", []Member{m("a", 1, false, StateAlive), m("b", 2, true, StateAlive)}, "b"},
		{"dead skipped", []Member{m("a", 1, true, StateDead), m("b", 2, true, StateAlive)}, "b"},
		{"left skipped", []Member{m("a", 1, true, StateLeft), m("b", 2, true, StateAlive)}, "b"},
		{"suspect stays", []Member{m("a", 1, true, StateSuspect), m("b", 2, true, StateAlive)}, "a"},
		{"tie by name", []Member{m("n2", 1, true, StateAlive), m("n10", 1, true, StateAlive), m("n3", 1, true, StateAlive)}, "n10"},
		{"none eligible", []Member{m("a", 1, false, StateAlive), m("b", 0, true, StateDead)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Elect(tt.members)
			if tt.want == "" {
				if ok {
					t.Fatalf("elected %s, want nobody", got.Name)
				}
				return
			}
			if !ok || got.Name != tt.want {
				t.Fatalf("elected %q (ok=%v), want %q", got.Name, ok, tt.want)
			}
			// The same view in another order elects the same member.
			rev := make([]Member, len(tt.members))
			for i, m := range tt.members {
				rev[len(rev)-1-i] = m
			}
			if again, _ := Elect(rev); again.Name != got.Name {
				t.Fatalf("reversed order elected %q", again.Name)
			}
		})
	}
}

func TestTerm(t *testing.T) {
	start := time.Unix(1_700_000_000, 42)
	for _, name := range []string{"node-1", "a@b", "x"} {
		term := NewTerm(name, start)
		gotName, gotStart, err := term.Parse()
		if err != nil || gotName != name || !gotStart.Equal(start) {
			t.Errorf("Parse(%q) = %q, %v, %v", term, gotName, gotStart, err)
		}
	}
	if got := NewTerm("n1", start); got != "n1@1700000000000000042" {
		t.Errorf("term = %q", got)
	}
	for _, bad := range []Term{"", "n1", "@5", "n1@", "n1@x"} {
		if _, _, err := bad.Parse(); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestTermCompare(t *testing.T) {
	tests := []struct {
		a, b Term
		want int
	}{
		{"a@1", "a@1", 0},
		{"z@1", "a@2", -1}, // start time first
		{"a@10", "b@9", 1},
		{"a@5", "b@5", -1}, // then name
		{"bad", "a@1", -1}, // invalid sorts first
		{"a@1", "", 1},
	}
	for _, tt := range tests {
		if got := tt.a.Compare(tt.b); got != tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := tt.b.Compare(tt.a); got != -tt.want {
			t.Errorf("Compare(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}
