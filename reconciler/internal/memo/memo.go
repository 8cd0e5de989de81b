// Package memo holds the caches the controllers and placement keep across
// the leader's steps (reconciler.Memo): values derived only from objects
// that never change once loaded, so that a step over an unchanged commit
// does not derive them again.
//
// A cache changes no result: whatever it holds, a caller gets the value
// its function would compute. The entries a step did not use are dropped
// when the step ends, so a cache holds what one step needs and no more.
// The nil cache remembers nothing; a cache is not safe for concurrent use.
package memo

// Map remembers values by key: the key must identify everything the value
// is derived from (a pointer to an object of a manifests.Set, which is
// never modified, or a comparable value).
type Map[K comparable, V any] struct {
	step uint64
	m    map[K]*entry[V]
}

type entry[V any] struct {
	v    V
	step uint64
}

// Get returns the value of k, computing it with f when the map does not
// hold it.
func (m *Map[K, V]) Get(k K, f func() V) V {
	if m == nil {
		return f()
	}
	if e, ok := m.m[k]; ok {
		e.step = m.step
		return e.v
	}
	if m.m == nil {
		m.m = map[K]*entry[V]{}
	}
	v := f()
	m.m[k] = &entry[V]{v: v, step: m.step}
	return v
}

// Len is the number of values held.
func (m *Map[K, V]) Len() int {
	if m == nil {
		return 0
	}
	return len(m.m)
}

// EndStep drops the values not asked for since the last EndStep.
func (m *Map[K, V]) EndStep() {
	if m == nil {
		return
	}
	for k, e := range m.m {
		if e.step != m.step {
			delete(m.m, k)
		}
	}
	m.step++
}
