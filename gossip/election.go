package gossip

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Elect returns the member that every node with the same view elects as
// reconciler: among the eligible, live (alive or suspect) members, the one
// with the earliest start time, the smaller name breaking ties. ok is false
// if no member qualifies. Elect is pure and does not modify members.
//
// Suspect members stay candidates on purpose: memberlist does not announce
// suspicion (so views could not agree on it), a suspect member always still
// sees itself alive, and dropping a leader at every missed probe would make
// leadership flap. A suspect leader is replaced when it is declared dead.
func Elect(members []Member) (leader Member, ok bool) {
	for _, m := range members {
		if !m.Eligible || !m.State.Live() {
			continue
		}
		if !ok || before(m, leader) {
			leader, ok = m, true
		}
	}
	return leader, ok
}

// before orders candidates: earlier start first, then smaller name.
func before(a, b Member) bool {
	if !a.StartTime.Equal(b.StartTime) {
		return a.StartTime.Before(b.StartTime)
	}
	return a.Name < b.Name
}

// Term names one leadership: "name@start", start being the leader's start
// time in Unix nanoseconds. A node restart gives a new term. Everything a
// leader writes or sends carries its term, and a node acts only on the term
// of the leader in its own view.
type Term string

// NewTerm returns the term of the member name that started at start.
func NewTerm(name string, start time.Time) Term {
	return Term(name + "@" + strconv.FormatInt(start.UnixNano(), 10))
}

// Parse splits a term into the leader's name and start time. The name may
// itself contain '@': the start time follows the last one.
func (t Term) Parse() (name string, start time.Time, err error) {
	i := strings.LastIndexByte(string(t), '@')
	if i <= 0 {
		return "", time.Time{}, fmt.Errorf("gossip: term %q: want name@unixnano", string(t))
	}
	ns, err := strconv.ParseInt(string(t[i+1:]), 10, 64)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("gossip: term %q: bad start time: %w", string(t), err)
	}
	return string(t[:i]), time.Unix(0, ns), nil
}

// Compare orders terms like Elect orders their leaders (start time, then
// name): -1 if t sorts before u, 0 if equal, +1 after. A term that does not
// parse sorts before every valid term, and invalid terms compare as strings.
func (t Term) Compare(u Term) int {
	tn, ts, terr := t.Parse()
	un, us, uerr := u.Parse()
	switch {
	case terr != nil && uerr != nil:
		return strings.Compare(string(t), string(u))
	case terr != nil:
		return -1
	case uerr != nil:
		return 1
	}
	if c := ts.Compare(us); c != 0 {
		return c
	}
	return strings.Compare(tn, un)
}

// Leadership is the outcome of the election in one node's view.
type Leadership struct {
	// Leader is the elected member; meaningful only if Term is not empty.
	Leader Member
	// Term is the leader's term, or "" when no member is eligible.
	Term Term
	// Self is true when this node is the leader.
	Self bool
}
