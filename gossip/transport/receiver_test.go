package transport

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/shoal-run/shoal/gossip"
)

func TestReceiverTerms(t *testing.T) {
	n := startNode(t, "", termA)
	c := newClient(t, nil)
	ctx := t.Context()

	// A state from a term that is not this node's leader is refused, naming
	// both terms, and not retried.
	err := c.PushState(ctx, n.addr(), testState(termB, 1, 1))
	var se *StatusError
	if !errors.Is(err, ErrNotLeader) || !errors.As(err, &se) {
		t.Fatalf("push from B = %v, want ErrNotLeader", err)
	}
	if !strings.Contains(se.Message, string(termA)) || !strings.Contains(se.Message, string(termB)) {
		t.Fatalf("409 message %q does not name both terms", se.Message)
	}
	// The leader's state is accepted.
	if err := c.PushState(ctx, n.addr(), testState(termA, 5, 1)); err != nil {
		t.Fatalf("push from A: %v", err)
	}
	// No leader in view: refused.
	n.leader.Store(gossip.Term(""))
	if err := c.PushState(ctx, n.addr(), testState(termA, 6, 1)); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("push with no leader = %v, want ErrNotLeader", err)
	}
	// The view changes to B: B's first state is accepted whatever its
	// generation, and A is now refused.
	n.leader.Store(termB)
	if err := c.PushState(ctx, n.addr(), testState(termB, 1, 1)); err != nil {
		t.Fatalf("push from B after the change: %v", err)
	}
	if err := c.PushState(ctx, n.addr(), testState(termA, 7, 1)); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("push from A after the change = %v, want ErrNotLeader", err)
	}
	if got, want := n.applied(), []uint64{5, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("applied generations %v, want %v", got, want)
	}
	if st, _ := n.recv.State(); st.Term != termB {
		t.Fatalf("State().Term = %s, want %s", st.Term, termB)
	}
}

func TestReceiverGenerations(t *testing.T) {
	n := startNode(t, "", termA)
	c := newClient(t, nil)
	ctx := t.Context()
	for _, gen := range []uint64{2, 1, 2, 3, 0, 3} {
		if err := c.PushState(ctx, n.addr(), testState(termA, gen, int(gen))); err != nil {
			t.Fatalf("push generation %d: %v", gen, err)
		}
	}
	// Older ones are ignored (200 "stale"), the same one again is not
	// re-applied, newer ones are applied.
	if got, want := n.applied(), []uint64{2, 3}; !reflect.DeepEqual(got, want) {
		t.Fatalf("applied generations %v, want %v", got, want)
	}
	st, ok, err := c.FetchState(ctx, n.addr())
	if err != nil || !ok || st.Generation != 3 || len(st.Pods) != 3 {
		t.Fatalf("FetchState = gen %d, %d pods, %v, %v; want generation 3 with 3 pods", st.Generation, len(st.Pods), ok, err)
	}
}

func TestReceiverRefusesBadStates(t *testing.T) {
	n := startNode(t, "", termA)
	c := newClient(t, nil)
	ctx := t.Context()
	other := testState(termA, 1, 1)
	other.Node = "n2"
	if err := c.PushState(ctx, n.addr(), other); !errors.Is(err, ErrRejected) {
		t.Fatalf("push for another node = %v, want ErrRejected", err)
	}
	if err := c.PushState(ctx, n.addr(), testState("", 1, 1)); !errors.Is(err, ErrRejected) {
		t.Fatalf("push without term = %v, want ErrRejected", err)
	}
	if _, ok, err := c.FetchState(ctx, n.addr()); ok || err != nil {
		t.Fatalf("FetchState before any state = %v, %v; want none", ok, err)
	}
	if len(n.applied()) != 0 {
		t.Fatalf("applied %v", n.applied())
	}
}

func TestReceiverPersistsAcrossRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "desired.json")
	n := startNode(t, file, termA)
	c := newClient(t, nil)
	ctx := t.Context()
	want := testState(termA, 4, 3)
	if err := c.PushState(ctx, n.addr(), want); err != nil {
		t.Fatal(err)
	}
	n.srv.Close()

	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, want 0600 (it holds Secrets)", fi.Mode().Perm())
	}
	got, ok, err := LoadState(file)
	if err != nil || !ok {
		t.Fatalf("LoadState = %v, %v", ok, err)
	}
	if got.Term != want.Term || got.Generation != want.Generation || len(got.Pods) != 3 ||
		got.Pods[2].Name != "web-2" || got.Pods[2].Spec.NodeName != "n1" ||
		string(got.Secrets[0].Data["pw"]) != "hunter2" || string(got.Routes) != string(want.Routes) {
		t.Fatalf("LoadState = %+v, want what was pushed", got)
	}
	if _, ok, err := LoadState(filepath.Join(t.TempDir(), "none.json")); ok || err != nil {
		t.Fatalf("LoadState(missing) = %v, %v; want none, no error", ok, err)
	}

	// The restarted node starts from it, serves it, and does not re-apply
	// the same generation; the leader may then go on.
	n2 := startNode(t, file, termA)
	if st, ok := n2.recv.State(); !ok || st.Generation != 4 {
		t.Fatalf("State after restart = %v, %v", st.Generation, ok)
	}
	if st, ok, err := c.FetchState(ctx, n2.addr()); err != nil || !ok || st.Generation != 4 {
		t.Fatalf("FetchState after restart = %v, %v, %v", st.Generation, ok, err)
	}
	for _, gen := range []uint64{3, 4, 5} {
		if err := c.PushState(ctx, n2.addr(), testState(termA, gen, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if got := n2.applied(); !reflect.DeepEqual(got, []uint64{5}) {
		t.Fatalf("applied after restart %v, want [5]", got)
	}
	if st, _, _ := LoadState(file); st.Generation != 5 {
		t.Fatalf("persisted generation %d, want 5", st.Generation)
	}

	// A corrupt state file fails NewReceiver rather than starting empty.
	os.WriteFile(file, []byte("{"), 0o600)
	if _, err := NewReceiver(ReceiverConfig{ClusterKey: testKey, StateFile: file, Leader: func() (gossip.Term, bool) { return termA, true }}); err == nil {
		t.Fatal("NewReceiver with a corrupt state file: want an error")
	}
}

// TestReceiverPersistsBeforeApply: when Apply runs, the state is already
// on disk.
func TestReceiverPersistsBeforeApply(t *testing.T) {
	file := filepath.Join(t.TempDir(), "desired.json")
	var onDisk uint64
	r, err := NewReceiver(ReceiverConfig{
		ClusterKey: testKey, StateFile: file,
		Leader: func() (gossip.Term, bool) { return termA, true },
		Apply: func(st NodeState) {
			got, _, _ := LoadState(file)
			onDisk = got.Generation
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, r)
	if err := newClient(t, nil).PushState(t.Context(), srv, testState(termA, 9, 1)); err != nil {
		t.Fatal(err)
	}
	if onDisk != 9 {
		t.Fatalf("state on disk during Apply: generation %d, want 9", onDisk)
	}
}

func TestConfigValidation(t *testing.T) {
	leader := func() (gossip.Term, bool) { return termA, true }
	if _, err := NewReceiver(ReceiverConfig{Leader: leader}); err == nil {
		t.Error("NewReceiver without key: want an error")
	}
	if _, err := NewReceiver(ReceiverConfig{ClusterKey: testKey}); err == nil {
		t.Error("NewReceiver without Leader: want an error")
	}
	if _, err := NewStatusServer(StatusServerConfig{ClusterKey: testKey}); err == nil {
		t.Error("NewStatusServer without Report: want an error")
	}
	if _, err := NewClient(ClientConfig{}); err == nil {
		t.Error("NewClient without key: want an error")
	}
}
