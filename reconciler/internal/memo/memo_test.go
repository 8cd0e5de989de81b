package memo

import "testing"

func TestMap(t *testing.T) {
	calls := 0
	f := func() int { calls++; return calls }
	var m Map[string, int]
	if m.Get("a", f) != 1 || m.Get("a", f) != 1 || m.Get("b", f) != 2 {
		t.Fatal("Get computed a value it holds")
	}
	m.EndStep()
	m.Get("a", f) // "b" is not asked for in this step
	m.EndStep()
	if m.Len() != 1 || m.Get("a", f) != 1 || m.Get("b", f) != 3 {
		t.Fatalf("after a step without b: %d values, calls %d", m.Len(), calls)
	}
	var none *Map[string, int]
	if none.Get("a", f) != 4 || none.Get("a", f) != 5 || none.Len() != 0 {
		t.Fatal("the nil Map remembered")
	}
	none.EndStep()
}
