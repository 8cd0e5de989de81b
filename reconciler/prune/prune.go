// Package prune decides what becomes of the objects that leave Git, as a
// pure function: Compute(Input) Plan, with the clock in Input.Now.
//
// Git is the only writer, so an object that disappears from the repository
// is deleted: the leader derives everything from the commit in force, and
// what the commit no longer has stops running. An object opts out with an
// annotation (OptOut): the leader then keeps an inventory record of it in
// the replicated ledger, the object as last applied, and when the object
// leaves Git it keeps running from that record until `shoal delete`
// removes the record. A commit that does not load never reaches Compute:
// it changes nothing, records included.
//
// # Rules
//
//   - An object of the commit that opts out has a record: its key, its
//     file, the object as loaded (defaulted, in the current API version),
//     and the commit that applied that version. The record is rewritten
//     only when the object or its file changes, not on every commit.
//   - An object of the commit that has a record and no longer opts out
//     loses its record: from then on it is pruned with Git.
//   - A record whose object is not in the commit is kept: its object joins
//     the desired set (Plan.Desired) as last applied. The first commit
//     without it marks the record Removed, and Plan.Removed lists it once,
//     for the leader to report.
//   - A kept object that comes back to Git is Git's again: its record is
//     rewritten from the commit (or dropped, without the annotation).
//   - A record the ledger cannot hold, even compressed, is not written
//     (Plan.TooLarge); an older record of the object is dropped, so that a
//     stale version never runs. Such an object is pruned with Git.
//   - A record that does not decode (corrupted, or of a kind this version
//     does not read) is left alone and not run (Plan.Invalid).
package prune

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/shoal-run/shoal/manifests"
)

// The annotations that opt an object out of pruning, with the value that
// does: shoal's own, and those of Flux and Argo CD, for repositories that
// migrate from them.
const (
	// Annotation "false" opts out (manifests.PruneAnnotation; the
	// manifests refuse any value but "true" and "false").
	Annotation = manifests.PruneAnnotation
	// FluxAnnotation "disabled" opts out, as in Flux's kustomize-controller.
	FluxAnnotation = "kustomize.toolkit.fluxcd.io/prune"
	// ArgoAnnotation is Argo CD's comma-separated sync options; the option
	// "Prune=false" opts out.
	ArgoAnnotation = "argocd.argoproj.io/sync-options"
)

// OptOut reports whether annotations opt their object out of pruning,
// and if so which annotation does, as "key: value" for messages.
func OptOut(annotations map[string]string) (string, bool) {
	if v := annotations[Annotation]; v == "false" {
		return Annotation + `: "false"`, true
	}
	if v := annotations[FluxAnnotation]; v == "disabled" {
		return FluxAnnotation + ": disabled", true
	}
	for _, opt := range strings.Split(annotations[ArgoAnnotation], ",") {
		if strings.TrimSpace(opt) == "Prune=false" {
			return ArgoAnnotation + ": Prune=false", true
		}
	}
	return "", false
}

// Record is the inventory record of an object that opts out of pruning:
// the ledger's value under its RecordKey.
type Record struct {
	Key manifests.Key `json:"key"`
	// File is the file of the repository the object was last read from.
	File string `json:"file"`
	// Commit is the commit that applied this version of the object, at
	// Applied.
	Commit  string    `json:"commit"`
	Applied time.Time `json:"applied"`
	// Removed is when the object left Git, in RemovedCommit; zero while it
	// is in Git.
	Removed       time.Time `json:"removed,omitzero"`
	RemovedCommit string    `json:"removedCommit,omitempty"`
	// Object is the object as last applied, as JSON; Gzip holds that JSON
	// compressed instead when the plain record would not fit the ledger.
	Object json.RawMessage `json:"object,omitempty"`
	Gzip   []byte          `json:"gzip,omitempty"`
}

// RecordKey is the ledger key of a record, under the leader's prefix:
// Kind/name or Kind/namespace/name.
func RecordKey(k manifests.Key) string { return k.String() }

// Input is everything Compute needs; it is not modified.
type Input struct {
	// Desired is the objects of the commit in force, Commit its hash.
	Desired *manifests.Set
	Commit  string
	// Records are the ledger's, by RecordKey.
	Records map[string]Record
	Now     time.Time
	// MaxRecordSize is the largest record, as JSON, the ledger holds (0:
	// no limit).
	MaxRecordSize int
}

// Plan is what Compute decided. Every map is non-nil.
type Plan struct {
	// Desired is Input.Desired with the kept objects added, or
	// Input.Desired itself when none is kept: a new Set, the commit's is
	// never changed.
	Desired *manifests.Set
	// Put and Delete are the records to write and remove, by RecordKey.
	Put    map[string]Record
	Delete []string
	// Kept are the records of the objects kept though removed from Git,
	// as they will be after Put, sorted by key.
	Kept []Record
	// Removed are the objects that left Git with this commit and are kept,
	// sorted: each is reported once.
	Removed []manifests.Key
	// TooLarge are objects that opt out but whose record the ledger cannot
	// hold, with the size of the record compressed.
	TooLarge map[manifests.Key]int
	// Invalid are records that do not decode, by RecordKey, with why.
	Invalid map[string]string
}

// Compute diffs the commit's objects against the inventory records; see
// the package documentation for the rules.
func Compute(in Input) Plan {
	p := Plan{Desired: in.Desired, Put: map[string]Record{}, TooLarge: map[manifests.Key]int{}, Invalid: map[string]string{}}
	for _, o := range in.Desired.All() {
		rk := RecordKey(o.Key)
		old, had := in.Records[rk]
		if !optsOut(o) {
			if had {
				p.Delete = append(p.Delete, rk)
			}
			continue
		}
		data, err := json.Marshal(o.Obj)
		if err != nil { // the typed objects of a Set always marshal
			p.Invalid[rk] = "object does not marshal: " + err.Error()
			continue
		}
		if had && old.Removed.IsZero() && old.File == o.Source.File {
			if prev, err := old.object(); err == nil && bytes.Equal(prev, data) {
				continue
			}
		}
		rec := Record{Key: o.Key, File: o.Source.File, Commit: in.Commit, Applied: in.Now.UTC(), Object: data}
		if size, ok := fit(&rec, in.MaxRecordSize); !ok {
			p.TooLarge[o.Key] = size
			if had {
				p.Delete = append(p.Delete, rk)
			}
			continue
		}
		p.Put[rk] = rec
	}
	var kept []*manifests.Object
	for _, rk := range sortedKeys(in.Records) {
		rec := in.Records[rk]
		if _, inGit := in.Desired.Lookup(rec.Key); inGit {
			continue
		}
		obj, err := rec.decode(rk)
		if err != nil {
			p.Invalid[rk] = err.Error()
			continue
		}
		if rec.Removed.IsZero() {
			rec.Removed, rec.RemovedCommit = in.Now.UTC(), in.Commit
			p.Put[rk] = rec
			p.Removed = append(p.Removed, rec.Key)
		}
		p.Kept = append(p.Kept, rec)
		kept = append(kept, &manifests.Object{Key: rec.Key, Source: manifests.Source{File: rec.File}, Obj: obj})
	}
	sort.Strings(p.Delete)
	if len(kept) > 0 {
		p.Desired = manifests.NewSet(append(in.Desired.All(), kept...))
	}
	return p
}

// optsOut reports whether an object carries an opt-out annotation.
func optsOut(o *manifests.Object) bool {
	m, ok := o.Obj.(metav1.Object)
	if !ok {
		return false
	}
	_, out := OptOut(m.GetAnnotations())
	return out
}

// fit makes rec fit in max bytes of JSON, compressing its object if it
// must; it returns the record's size and whether it fits. The size counts
// the fields that mark the record removed, so that marking it later still
// fits.
func fit(rec *Record, max int) (int, bool) {
	size := func() int {
		probe := *rec
		probe.Removed, probe.RemovedCommit = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), strings.Repeat("f", 64)
		data, _ := json.Marshal(probe)
		return len(data)
	}
	if n := size(); max <= 0 || n <= max {
		return n, true
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(rec.Object)
	_ = zw.Close()
	rec.Object, rec.Gzip = nil, buf.Bytes()
	n := size()
	return n, n <= max
}

// object returns the record's object as JSON, uncompressed.
func (r Record) object() ([]byte, error) {
	if r.Gzip == nil {
		return r.Object, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.Gzip))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// decode returns the record's typed object; rk is the record's ledger key,
// which must be its key's.
func (r Record) decode(rk string) (runtime.Object, error) {
	if rk != RecordKey(r.Key) {
		return nil, fmt.Errorf("record of %s is stored under %s", r.Key, rk)
	}
	obj := manifests.NewObject(r.Key.Kind)
	if obj == nil {
		return nil, fmt.Errorf("%s: kind %s is not one this version of shoal reads", r.Key, r.Key.Kind)
	}
	data, err := r.object()
	if err == nil {
		err = json.Unmarshal(data, obj)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: the object as last applied does not decode: %v", r.Key, err)
	}
	if m := obj.(metav1.Object); m.GetName() != r.Key.Name || m.GetNamespace() != r.Key.Namespace {
		return nil, fmt.Errorf("%s: the object as last applied is named %s/%s", r.Key, m.GetNamespace(), m.GetName())
	}
	return obj, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
