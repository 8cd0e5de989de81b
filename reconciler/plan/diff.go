// Package plan says what deploying one commit instead of another would
// change, as pure functions: Diff compares the objects of two loaded
// manifests.Sets field by field, and ComparePods the pods two plans of
// the leader run. The leader puts both in a Result (`shoal plan`).
//
// Both sides are loaded objects, which manifests has already converted to
// the current API version and defaulted the same way, so a default that
// both sides get is no change, and a field is changed only when the
// objects as they would run differ.
package plan

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/shoal-run/shoal/manifests"
)

// Op is what happens to an object or a field.
type Op string

// The ops of an ObjectChange and a FieldChange.
const (
	Add    Op = "add"
	Change Op = "change"
	Remove Op = "remove"
)

// ObjectChange is one object that deploying the proposed commit adds,
// changes or removes.
type ObjectChange struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Op        Op     `json:"op"`
	// File is where the object is in the proposed commit (in the current
	// one when it is removed), with its line.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Fields are the changes of a changed object, in path order; empty
	// for an added or removed one.
	Fields []FieldChange `json:"fields,omitempty"`
	// Note says more of the change, e.g. that a removed object keeps
	// running because it opts out of pruning (set by the leader).
	Note string `json:"note,omitempty"`
}

// Key returns the change's object key.
func (c ObjectChange) Key() manifests.Key {
	return manifests.Key{Kind: c.Kind, Namespace: c.Namespace, Name: c.Name}
}

// FieldChange is one field of a changed object.
type FieldChange struct {
	// Path names the field as Kubernetes field paths do:
	// "spec.template.spec.containers[0].image", map keys that are not
	// plain names in brackets: `metadata.labels["app.kubernetes.io/name"]`.
	// Items of lists Kubernetes merges by a key (containers, env, ports,
	// volumes, ...) are matched by that key, not their position, and
	// named by their index in the proposed list (the current one for a
	// removed item).
	Path string `json:"path"`
	Op   Op     `json:"op"`
	// Old and New are the field's JSON values (Old absent for an added
	// field, New for a removed one). A list whose items only moved has
	// Old and New the lists of their keys, and Note "order".
	Old json.RawMessage `json:"old,omitempty"`
	New json.RawMessage `json:"new,omitempty"`
	// Redacted says the values are withheld: a Secret's data. Old and New
	// are then absent whatever the Op.
	Redacted bool   `json:"redacted,omitempty"`
	Note     string `json:"note,omitempty"`
}

// NoteOrder is the Note of a list whose items only changed places.
const NoteOrder = "order"

// Diff returns the objects that differ between current and proposed,
// sorted by kind, namespace and name: those only in proposed (Add), only
// in current (Remove), and in both with different content (Change, with
// its fields). A nil Set is an empty one. Top-level status is not
// compared (it is not what a manifest deploys). A Secret's stringData is
// compared as the data it becomes, and its values are never in the
// result: its fields say only that a key of data was added, changed or
// removed (Redacted).
func Diff(current, proposed *manifests.Set) []ObjectChange {
	cur, prop := objects(current), objects(proposed)
	keys := make([]manifests.Key, 0, len(cur)+len(prop))
	for k := range cur {
		keys = append(keys, k)
	}
	for k := range prop {
		if _, ok := cur[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	var out []ObjectChange
	for _, k := range keys {
		a, b := cur[k], prop[k]
		c := ObjectChange{Kind: k.Kind, Namespace: k.Namespace, Name: k.Name}
		switch {
		case a == nil:
			c.Op, c.File, c.Line = Add, b.Source.File, b.Source.Line
		case b == nil:
			c.Op, c.File, c.Line = Remove, a.Source.File, a.Source.Line
		default:
			c.Fields = Fields(a, b)
			if len(c.Fields) == 0 {
				continue
			}
			c.Op, c.File, c.Line = Change, b.Source.File, b.Source.Line
		}
		out = append(out, c)
	}
	return out
}

// Fields returns the field changes from a to b, two versions of one
// object (same key), in path order; none when they are the same.
func Fields(a, b *manifests.Object) []FieldChange {
	ja, errA := json.Marshal(a.Obj)
	jb, errB := json.Marshal(b.Obj)
	if errA == nil && errB == nil && bytes.Equal(ja, jb) {
		return nil
	}
	va, vb := generic(ja), generic(jb)
	delete(va, "status")
	delete(vb, "status")
	w := walker{secret: a.Key.Kind == "Secret"}
	if w.secret {
		secretData(va)
		secretData(vb)
	}
	w.walk(nil, va, vb)
	return w.out
}

// secretData folds a Secret's stringData into its data, as the API server
// does when it stores one: a value written either way is the same data.
func secretData(m map[string]any) {
	sd, ok := m["stringData"].(map[string]any)
	delete(m, "stringData")
	if !ok || len(sd) == 0 {
		return
	}
	data, _ := m["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		if s, ok := v.(string); ok {
			data[k] = base64.StdEncoding.EncodeToString([]byte(s))
		}
	}
	m["data"] = data
}

func objects(s *manifests.Set) map[manifests.Key]*manifests.Object {
	out := map[manifests.Key]*manifests.Object{}
	if s == nil {
		return out
	}
	for _, o := range s.All() {
		out[o.Key] = o
	}
	return out
}

func keyLess(a, b manifests.Key) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// generic decodes an object's JSON into maps, lists and json.Numbers.
func generic(data []byte) map[string]any {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var m map[string]any
	if d.Decode(&m) != nil || m == nil {
		return map[string]any{}
	}
	return m
}

// segment is one step of a path: a map key, or a list index.
type segment struct {
	key   string
	index int // -1 for a key
}

// render writes a path as Kubernetes field paths are written.
func render(path []segment) string {
	var b strings.Builder
	for _, s := range path {
		switch {
		case s.index >= 0:
			fmt.Fprintf(&b, "[%d]", s.index)
		case plainKey(s.key):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		default:
			b.WriteString("[" + strconv.Quote(s.key) + "]")
		}
	}
	return b.String()
}

// plainKey reports whether a map key can be written after a dot.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		case i > 0 && (r >= '0' && r <= '9' || r == '-'):
		default:
			return false
		}
	}
	return true
}

func with(path []segment, s segment) []segment {
	return append(path[:len(path):len(path)], s)
}

// walker collects the field changes of one object.
type walker struct {
	secret bool // a Secret: data values are withheld
	out    []FieldChange
}

// redacted reports whether values at path are withheld (stringData is
// folded into data before).
func (w *walker) redacted(path []segment) bool {
	return w.secret && len(path) > 0 && path[0].index < 0 && path[0].key == "data"
}

func (w *walker) add(path []segment, op Op, a, b any) {
	if w.redacted(path) {
		// Each key of a withheld map is its own change, so that the
		// result names every key without a value.
		if m, ok := pick(a, b).(map[string]any); ok && len(path) == 1 {
			for _, k := range sortedKeys(m) {
				w.out = append(w.out, FieldChange{Path: render(with(path, segment{key: k, index: -1})), Op: op, Redacted: true})
			}
			return
		}
		w.out = append(w.out, FieldChange{Path: render(path), Op: op, Redacted: true})
		return
	}
	c := FieldChange{Path: render(path), Op: op}
	if op != Add {
		c.Old = raw(a)
	}
	if op != Remove {
		c.New = raw(b)
	}
	w.out = append(w.out, c)
}

func pick(a, b any) any {
	if a != nil {
		return a
	}
	return b
}

// walk compares a and b at path. A nil value is an absent one.
func (w *walker) walk(path []segment, a, b any) {
	switch {
	case a == nil && b == nil:
		return
	case a == nil:
		w.add(path, Add, nil, b)
		return
	case b == nil:
		w.add(path, Remove, a, nil)
		return
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := sortedKeys(x)
		for k := range y {
			if _, ok := x[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			w.walk(with(path, segment{key: k, index: -1}), x[k], y[k])
		}
		return
	case []any:
		y, ok := b.([]any)
		if !ok {
			break
		}
		w.list(path, x, y)
		return
	}
	if !reflect.DeepEqual(a, b) {
		w.add(path, Change, a, b)
	}
}

// list compares two lists: by their merge key when both have one, item
// by item when their items are maps, and as a whole when they hold plain
// values (args, command, finalizers, ...).
func (w *walker) list(path []segment, a, b []any) {
	if reflect.DeepEqual(a, b) {
		return
	}
	if key := mergeKey(path, a, b); key != "" {
		w.keyed(path, key, a, b)
		return
	}
	if !allMaps(a) || !allMaps(b) {
		w.add(path, Change, a, b)
		return
	}
	for i := range max(len(a), len(b)) {
		var x, y any
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		w.walk(with(path, segment{index: i}), x, y)
	}
}

// keyed compares two lists whose items are matched by key.
func (w *walker) keyed(path []segment, key string, a, b []any) {
	at := map[string]int{}
	for i, it := range a {
		at[keyOf(it, key)] = i
	}
	inB := map[string]bool{}
	same := true
	for j, it := range b {
		k := keyOf(it, key)
		inB[k] = true
		i, ok := at[k]
		if !ok {
			same = false
			w.walk(with(path, segment{index: j}), nil, it)
			continue
		}
		if !reflect.DeepEqual(a[i], it) {
			same = false
			w.walk(with(path, segment{index: j}), a[i], it)
		}
	}
	for i, it := range a {
		if !inB[keyOf(it, key)] {
			same = false
			w.walk(with(path, segment{index: i}), it, nil)
		}
	}
	if same {
		// Only the order changed.
		keys := func(l []any) []any {
			out := make([]any, len(l))
			for i, it := range l {
				out[i] = it.(map[string]any)[key]
			}
			return out
		}
		w.out = append(w.out, FieldChange{Path: render(path), Op: Change, Old: raw(keys(a)), New: raw(keys(b)), Note: NoteOrder})
	}
}

// mergeKeys are the keys Kubernetes' strategic merge matches list items
// by, by the list's field name, in order of preference: the first that
// every item of both lists has, with distinct values on each side, is
// used. Lists of other fields are matched by "name" when their items all
// have distinct names, else by position.
var mergeKeys = map[string][]string{
	"ports":         {"name", "containerPort", "port"},
	"volumeMounts":  {"mountPath"},
	"volumeDevices": {"devicePath"},
	"hostAliases":   {"ip"},
}

func mergeKey(path []segment, a, b []any) string {
	candidates := []string{"name"}
	if n := len(path); n > 0 && path[n-1].index < 0 {
		if ks, ok := mergeKeys[path[n-1].key]; ok {
			candidates = ks
		}
	}
	for _, k := range candidates {
		if distinct(a, k) && distinct(b, k) {
			return k
		}
	}
	return ""
}

// distinct reports whether every item of l is a map with a plain value
// at key, no two the same.
func distinct(l []any, key string) bool {
	seen := map[string]bool{}
	for _, it := range l {
		m, ok := it.(map[string]any)
		if !ok {
			return false
		}
		v, ok := m[key]
		if !ok {
			return false
		}
		switch v.(type) {
		case string, json.Number, bool:
		default:
			return false
		}
		k := keyOf(it, key)
		if seen[k] {
			return false
		}
		seen[k] = true
	}
	return true
}

func keyOf(it any, key string) string {
	return fmt.Sprint(it.(map[string]any)[key])
}

func allMaps(l []any) bool {
	for _, it := range l {
		if _, ok := it.(map[string]any); !ok {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// raw is v as JSON.
func raw(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return data
}
