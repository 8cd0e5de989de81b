package manifests

import (
	"reflect"
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
)

// Set is an immutable collection of loaded objects, indexed by kind,
// namespace and name. Nothing changes a Set after it is made, so it may be
// shared between goroutines without locks. The objects it hands out are
// shared too and must be treated as read-only.
type Set struct {
	all      []*Object // sorted by key
	byKey    map[Key]*Object
	byKind   map[string][]*Object // each sorted by namespace, name
	warnings Diagnostics
}

// newSet indexes objects, which must have distinct keys.
func newSet(objs []*Object, warnings Diagnostics) *Set {
	s := &Set{
		all:      append([]*Object(nil), objs...),
		byKey:    make(map[Key]*Object, len(objs)),
		byKind:   map[string][]*Object{},
		warnings: warnings,
	}
	sort.Slice(s.all, func(i, j int) bool { return s.all[i].Key.less(s.all[j].Key) })
	for _, o := range s.all {
		s.byKey[o.Key] = o
		s.byKind[o.Key.Kind] = append(s.byKind[o.Key.Kind], o)
	}
	return s
}

// NewSet makes a Set of already loaded objects (for example, objects a
// controller derives). It panics if two objects share a key: that is a bug
// in the caller, since Load reports duplicates as errors.
func NewSet(objs []*Object) *Set {
	seen := map[Key]bool{}
	for _, o := range objs {
		if seen[o.Key] {
			panic("manifests.NewSet: duplicate key " + o.Key.String())
		}
		seen[o.Key] = true
	}
	return newSet(objs, nil)
}

// Len returns the number of objects.
func (s *Set) Len() int { return len(s.all) }

// All returns every object, sorted by kind, namespace and name. The slice is
// a copy; the objects are shared.
func (s *Set) All() []*Object { return append([]*Object(nil), s.all...) }

// Kind returns the objects of one kind, sorted by namespace and name.
func (s *Set) Kind(kind string) []*Object { return append([]*Object(nil), s.byKind[kind]...) }

// InNamespace returns the objects of one kind in one namespace, sorted by
// name.
func (s *Set) InNamespace(kind, namespace string) []*Object {
	var out []*Object
	for _, o := range s.byKind[kind] {
		if o.Key.Namespace == namespace {
			out = append(out, o)
		}
	}
	return out
}

// Lookup returns the object with the given key.
func (s *Set) Lookup(k Key) (*Object, bool) {
	o, ok := s.byKey[k]
	return o, ok
}

// Get returns the typed object of the given kind, namespace ("" for
// cluster-scoped kinds) and name, or nil.
func (s *Set) Get(kind, namespace, name string) runtime.Object {
	if o, ok := s.byKey[Key{Kind: kind, Namespace: namespace, Name: name}]; ok {
		return o.Obj
	}
	return nil
}

// Warnings returns the warnings reported while loading.
func (s *Set) Warnings() Diagnostics { return append(Diagnostics(nil), s.warnings...) }

// Namespaces returns every namespace that an object of the set lives in or
// that a Namespace object declares, sorted.
func (s *Set) Namespaces() []string {
	seen := map[string]bool{}
	for _, o := range s.all {
		if o.Key.Namespace != "" {
			seen[o.Key.Namespace] = true
		}
		if o.Key.Kind == "Namespace" {
			seen[o.Key.Name] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Of returns the typed objects of the kind that T is, sorted by namespace
// and name: Of[*appsv1.Deployment](set). It panics if T is not one of the
// kinds shoal reads (a programming error).
func Of[T runtime.Object](s *Set) []T {
	var zero T
	k, ok := kindsByType[reflect.TypeOf(zero)]
	if !ok {
		panic("manifests.Of: " + reflect.TypeOf(zero).String() + " is not a kind shoal reads")
	}
	objs := s.byKind[k.kind]
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.Obj.(T))
	}
	return out
}
