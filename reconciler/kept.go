package reconciler

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/reconciler/events"
	"github.com/shoal-run/shoal/reconciler/prune"
)

// Event reasons of pruning.
const (
	// ReasonPruneSkipped: an object left Git and is kept, as its
	// annotation asks.
	ReasonPruneSkipped = "PruneSkipped"
	// ReasonFailedKeep: an object opts out of pruning but its record is
	// too large for the ledger, so it would be pruned with Git.
	ReasonFailedKeep = "FailedKeep"
)

// applied returns the commit in force with the objects kept though
// removed from Git (package prune) and without those its admission
// policies refuse (see load), and records the inventory's changes in the
// step's batch. The inventory is diffed only when the commit or the
// ledger's kept records changed (a ledger watch says so), so a step on an
// unchanged commit pays nothing for it.
func (t *term) applied(now time.Time) *manifests.Set {
	select {
	case <-t.keptWatch:
		t.keptDirty = true
	default:
	}
	if !t.keptDirty && t.keptFor == t.desired {
		return t.withKept
	}
	t.keptDirty, t.keptFor = false, t.desired
	plan := prune.Compute(prune.Input{
		Desired: t.desired, Commit: t.rev.Commit, Now: now,
		Records: readRecords[prune.Record](t.ledger, PrefixKept), MaxRecordSize: gossip.MaxValueSize,
	})
	// A refused object is in Git, so not removed from it, but it was not
	// applied: its record (if any) stays as it last ran.
	for _, r := range t.refused {
		delete(plan.Put, prune.RecordKey(r.Key))
	}
	writeRecords(t, PrefixKept, plan.Put, plan.Delete)
	ev := t.r.cfg.Events
	for _, key := range plan.Removed {
		o, _ := plan.Desired.Lookup(key)
		why := "its annotation"
		if m, ok := o.Obj.(metav1.Object); ok {
			why, _ = prune.OptOut(m.GetAnnotations())
		}
		msg := fmt.Sprintf("Removed from Git in commit %s, kept running as last applied (%s): %s removes it", t.rev.Short(), why, deleteCommand(key))
		t.log.Info("object removed from Git kept: it opts out of pruning", "object", key.String(), "commit", t.rev.Short(), "annotation", why)
		if ev != nil {
			ev.Record(eventObject(key), corev1.EventTypeNormal, ReasonPruneSkipped, msg)
		}
	}
	for key, size := range plan.TooLarge {
		msg := fmt.Sprintf("Opts out of pruning, but its record is %d bytes compressed and the ledger holds at most %d: it will be deleted when it leaves Git; make it smaller, or keep it in Git", size, gossip.MaxValueSize)
		t.log.Warn("object cannot be kept when it leaves Git", "object", key.String(), "bytes", size, "limit", gossip.MaxValueSize)
		if ev != nil {
			ev.Record(eventObject(key), corev1.EventTypeWarning, ReasonFailedKeep, msg)
		}
	}
	for rk, why := range plan.Invalid {
		t.log.Warn("kept object's record is unusable: it does not run", "key", PrefixKept+rk, "err", why)
	}
	t.withKept = plan.Desired
	if len(t.refused) > 0 {
		t.withKept = plan.Desired.Without(refusedKeys(t.refused)...)
	}
	return t.withKept
}

// deleteKept removes the record of an object kept though removed from Git,
// which then stops running. An object in Git is refused with ErrFromGit
// naming its file.
func (t *term) deleteKept(key manifests.Key) error {
	if o, ok := t.desired.Lookup(key); ok {
		then := ""
		if m, ok := o.Obj.(metav1.Object); ok {
			if why, out := prune.OptOut(m.GetAnnotations()); out {
				then = fmt.Sprintf(" (it opts out of pruning with %s, so it keeps running until %s after that)", why, deleteCommand(key))
			}
		}
		return fmt.Errorf("%w: %s is in Git at %s:%d: remove it there%s", ErrFromGit, key, o.Source.File, o.Source.Line, then)
	}
	rk := PrefixKept + prune.RecordKey(key)
	if _, ok := t.ledger.Get(rk); !ok {
		return fmt.Errorf("%w: no %s kept though removed from Git; objects in Git are deleted by removing them from the repository", ErrNotFound, key)
	}
	t.del(rk)
	t.flush()
	t.log.Info("kept object deleted: it stops running", "object", key.String())
	if ev := t.r.cfg.Events; ev != nil {
		ev.Record(eventObject(key), corev1.EventTypeNormal, "Deleted", "Deleted by shoal delete: it was kept though removed from Git")
	}
	return nil
}

// Kept returns the objects kept though removed from Git, sorted by key,
// without their objects: what `shoal status` lists. Every node holds the
// ledger, so any node can answer.
func Kept(l *gossip.Ledger) []prune.Record {
	var out []prune.Record
	for _, r := range readRecords[prune.Record](l, PrefixKept) {
		if !r.Removed.IsZero() {
			r.Object, r.Gzip = nil, nil
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key.String() < out[j].Key.String() })
	return out
}

// deleteCommand is the command that deletes a kept object.
func deleteCommand(key manifests.Key) string {
	cmd := "shoal delete " + strings.ToLower(key.Kind) + " " + key.Name
	if key.Namespace != "" && key.Namespace != "default" {
		cmd += " -n " + key.Namespace
	}
	return cmd
}

func eventObject(key manifests.Key) events.Object {
	return events.Object{Kind: key.Kind, Namespace: key.Namespace, Name: key.Name}
}
