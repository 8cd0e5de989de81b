package previews

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"
)

// State is a preview's state.
type State string

const (
	// StateActive: the preview runs its commit.
	StateActive State = "Active"
	// StateFailed: the preview cannot run its ref's head (Record.Error
	// says why); it runs its last good commit if it has one
	// (Record.Commit).
	StateFailed State = "Failed"
	// StateExpired: no new commit came within the TTL; nothing runs
	// until the next one.
	StateExpired State = "Expired"
)

// Record is the ledger's record of one preview, so that a new leader
// carries on where the last one was and the TTL survives leader changes.
type Record struct {
	ID  string `json:"id"`
	Ref string `json:"ref"`
	// Head is the ref's head commit last seen.
	Head string `json:"head"`
	// Commit is the commit the preview runs (the last that loaded); ""
	// when none did.
	Commit string `json:"commit,omitempty"`
	// Message is Commit's subject line.
	Message string `json:"message,omitempty"`
	// FirstSeen is when the ref was first seen; LastActivity when its
	// head last changed (a new commit was seen).
	FirstSeen    time.Time `json:"firstSeen"`
	LastActivity time.Time `json:"lastActivity"`
	State        State     `json:"state"`
	// Error says why the preview is Failed or Expired, or what is wrong
	// with its head while it runs an earlier commit.
	Error string `json:"error,omitempty"`
	// Namespaces and URLs are those the preview runs in and answers on.
	Namespaces []string `json:"namespaces,omitempty"`
	URLs       []string `json:"urls,omitempty"`
	// Refused are the objects left out, as Refusal.String gives them;
	// Notes the changes made to objects that run.
	Refused []string `json:"refused,omitempty"`
	Notes   []string `json:"notes,omitempty"`
}

// SyncInput is what Sync decides from.
type SyncInput struct {
	// Config is the tracked branch's configuration; nil turns previews
	// off.
	Config *Config
	// Heads are the remote's refs that Config.Match names (the tracked
	// branch excluded), with their head commits.
	Heads map[string]string
	// Records are the ledger's, by id.
	Records map[string]Record
	Now     time.Time
}

// SyncPlan is what Sync decided.
type SyncPlan struct {
	// Records are every preview's record after the pass, by id: those to
	// write are the ones that differ from the input's.
	Records map[string]Record
	// Delete are the ids of previews whose ref is gone (or all, previews
	// being off).
	Delete []string
	// Run are the previews to run, oldest first (FirstSeen, then ref):
	// their heads are to load (or their Commit kept when the head does
	// not load). The caller sets each one's outcome with Loaded.
	Run []Record
}

// Sync decides one pass over the previews: a new matching ref is recorded
// (id from AssignIDs, first seen and last active now, Active); a record
// whose ref is gone is deleted; a new head makes the preview active again
// from now (an Expired one included); an Active or Failed preview whose
// last activity is TTL ago or more expires; of the rest, the MaxPreviews
// oldest run and the others wait, Failed with a message, until one ends.
func Sync(in SyncInput) SyncPlan {
	plan := SyncPlan{Records: map[string]Record{}}
	if in.Config == nil {
		plan.Delete = slices.Sorted(maps.Keys(in.Records))
		return plan
	}
	recorded := map[string]string{}
	for id, r := range in.Records {
		if _, ok := in.Heads[r.Ref]; !ok {
			plan.Delete = append(plan.Delete, id)
			continue
		}
		recorded[r.Ref] = id
	}
	sort.Strings(plan.Delete)
	base := map[string]string{}
	for ref := range in.Heads {
		base[ref], _ = in.Config.Match(ref)
	}
	ids := AssignIDs(base, recorded)
	var live []Record
	for ref, head := range in.Heads {
		id := ids[ref]
		r, ok := in.Records[id]
		if !ok || r.Ref != ref {
			r = Record{ID: id, Ref: ref, Head: head, FirstSeen: in.Now, LastActivity: in.Now, State: StateActive}
		}
		if r.Head != head {
			r.Head, r.LastActivity = head, in.Now
			if r.State == StateExpired {
				r.State, r.Error = StateActive, ""
			}
		}
		if r.State != StateExpired && !in.Now.Before(r.LastActivity.Add(in.Config.TTL)) {
			r.State = StateExpired
			r.Error = fmt.Sprintf("no new commit for %s (ttl %s of %s): push to %s to bring it back",
				in.Now.Sub(r.LastActivity).Round(time.Second), in.Config.TTL, in.Config.File, r.Ref)
			r.Namespaces, r.URLs, r.Refused, r.Notes = nil, nil, nil, nil
		}
		plan.Records[id] = r
		if r.State != StateExpired {
			live = append(live, r)
		}
	}
	sort.Slice(live, func(i, j int) bool {
		if !live[i].FirstSeen.Equal(live[j].FirstSeen) {
			return live[i].FirstSeen.Before(live[j].FirstSeen)
		}
		return live[i].Ref < live[j].Ref
	})
	for i, r := range live {
		if i < in.Config.MaxPreviews {
			plan.Run = append(plan.Run, r)
			continue
		}
		r.State = StateFailed
		r.Error = fmt.Sprintf("waiting: %d previews run already (maxPreviews in %s); it starts when one of them ends", in.Config.MaxPreviews, in.Config.File)
		r.Namespaces, r.URLs, r.Refused, r.Notes = nil, nil, nil, nil
		plan.Records[r.ID] = r
	}
	// A gone ref's id may have gone to a new ref in the same pass.
	plan.Delete = slices.DeleteFunc(plan.Delete, func(id string) bool { _, ok := plan.Records[id]; return ok })
	return plan
}

// Outcome is what running a preview's head came to.
type Outcome struct {
	// Preview is what runs (the head's, or the last good commit's when
	// the head does not load); nil when nothing does.
	Preview *Preview
	// Message is the subject line of the commit that runs.
	Message string
	// Err is why the head does not run ("" when it does).
	Err string
}

// Loaded returns r with the outcome of running its head: Active with what
// runs, or Failed with the error (still listing what runs, the last good
// commit, if anything does).
func Loaded(r Record, o Outcome) Record {
	r.State, r.Error = StateActive, ""
	if o.Err != "" {
		r.State, r.Error = StateFailed, o.Err
	}
	r.Namespaces, r.URLs, r.Refused, r.Notes = nil, nil, nil, nil
	if p := o.Preview; p != nil {
		r.Commit, r.Message = p.Commit, o.Message
		r.Namespaces, r.URLs, r.Notes = p.Mapped(), p.URLs, p.Notes
		for _, x := range p.Refused {
			r.Refused = append(r.Refused, x.String())
		}
	}
	return r
}
