package reconciler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/policies/admission"
	"github.com/shoal-run/shoal/reconciler/events"
	"github.com/shoal-run/shoal/reconciler/gitsource"
	"github.com/shoal-run/shoal/reconciler/previews"
)

// Ledger keys of previews.
const (
	// PrefixPreview + id -> previews.Record JSON: one preview.
	PrefixPreview = "preview/"
	// KeyPreviewConfig -> PreviewConfigRecord JSON: the preview
	// configuration in force; absent before the leader first read it.
	KeyPreviewConfig = "previewconfig"
)

// ReasonPreviewRefused is the event reason of an object a preview does
// not run (see previews.Transform).
const ReasonPreviewRefused = "PreviewRefused"

// PreviewSource is what previews need of the Git source besides Source;
// *gitsource.Source implements it. With a Source that does not, the
// leader runs no previews.
type PreviewSource interface {
	ListRefs(ctx context.Context) ([]gitsource.Ref, error)
	LoadRefCommit(ctx context.Context, ref, commit string) (gitsource.Revision, *manifests.Set, error)
	ReadFile(commit, name string) ([]byte, error)
	ForgetRef(ref string) error
	RefsTriggered() <-chan struct{}
}

// PreviewConfigRecord is the preview configuration in force, as the
// leader last read it from the tracked branch.
type PreviewConfigRecord struct {
	// Commit is the tracked branch's commit it was read from.
	Commit string `json:"commit"`
	// File is the configuration's path; Enabled says whether the commit
	// has it (previews are off without it).
	File    string `json:"file"`
	Enabled bool   `json:"enabled"`
	// Refs, Domain, TTL and MaxPreviews are the configuration's, with
	// their defaults.
	Refs        []string `json:"refs,omitempty"`
	Domain      string   `json:"domain,omitempty"`
	TTL         string   `json:"ttl,omitempty"`
	MaxPreviews int      `json:"maxPreviews,omitempty"`
	// Error is why Commit's file does not load: the configuration read
	// before it stays in force (previews pause when there is none).
	Error string `json:"error,omitempty"`
}

// Previews returns the ledger's preview records, sorted by ref, and the
// configuration record (zero when none). Every node holds the ledger, so
// any node answers.
func Previews(l *gossip.Ledger) ([]previews.Record, PreviewConfigRecord) {
	recs := readRecords[previews.Record](l, PrefixPreview)
	out := make([]previews.Record, 0, len(recs))
	for _, r := range recs {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	var cfg PreviewConfigRecord
	if e, ok := l.Get(KeyPreviewConfig); ok {
		_ = json.Unmarshal(e.Value, &cfg)
	}
	return out, cfg
}

// previewState joins the term's loop, which runs Lead's steps, and its
// preview loop (runPreviews), which does the Git work: the step publishes
// the commit in force, the preview loop the previews to run; each wakes
// the other.
type previewState struct {
	main   atomic.Pointer[mainCommit]
	mainCh chan struct{} // a new commit in force, for the preview loop
	out    atomic.Pointer[previewOutput]

	// The step's side: the commit last published, and the last merge
	// with its inputs.
	published *manifests.Set
	base      *manifests.Set
	from      *previewOutput
	nodes     string
	addrs     []netip.Addr // the nodes' addresses nodes stands for
	merged    *manifests.Set
}

// mainCommit is the commit in force and the admission policies it runs
// under, which previews run under too.
type mainCommit struct {
	set       *manifests.Set
	rev       gitsource.Revision
	admission *admission.Config
}

type previewOutput struct {
	previews []*previews.Preview
}

// startPreviews starts the preview loop when the Source follows refs.
func (t *term) startPreviews(ctx context.Context, wg *sync.WaitGroup) {
	src, ok := t.r.cfg.Source.(PreviewSource)
	if !ok {
		return
	}
	t.pv.mainCh = make(chan struct{}, 1)
	wg.Go(func() { t.runPreviews(ctx, src) })
}

// withPreviews returns base (the commit in force with its kept objects)
// with the running previews' objects and isolation policies, as Compute
// is to see them. It publishes a new commit in force to the preview loop.
// The merged Set is made again only when base, the previews or the
// nodes' addresses change, so an unchanged step pays nothing for it.
//
// It returns nil, so that the step acts on nothing, while the ledger
// records previews that run and the preview loop has not finished its
// first pass of the term: a new leader must not take their pods away
// until it has loaded them.
func (t *term) withPreviews(base *manifests.Set, members []gossip.Member) *manifests.Set {
	pv := &t.pv
	if pv.published != t.desired && t.desired != nil {
		pv.published = t.desired
		pv.main.Store(&mainCommit{set: t.desired, rev: t.rev, admission: t.admission})
		select {
		case pv.mainCh <- struct{}{}:
		default:
		}
	}
	out := pv.out.Load()
	if out == nil && pv.mainCh != nil && previewsRunning(t.ledger) {
		return nil
	}
	if out == nil || len(out.previews) == 0 {
		pv.merged = base
		return base
	}
	var addrs []netip.Addr
	for _, m := range members {
		addrs = append(addrs, m.Addr.Addr())
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	nodes := fmt.Sprint(addrs)
	if base == pv.base && out == pv.from && nodes == pv.nodes && pv.merged != nil {
		return pv.merged
	}
	merged, skipped := previews.Merge(base, out.previews, addrs, t.r.cfg.ClusterCIDR)
	for _, s := range skipped {
		t.log.Warn("preview object left out", "why", s)
	}
	pv.base, pv.from, pv.nodes, pv.addrs, pv.merged = base, out, nodes, addrs, merged
	return merged
}

// previewsRunning says whether the ledger records a preview that runs.
func previewsRunning(l *gossip.Ledger) bool {
	for _, r := range readRecords[previews.Record](l, PrefixPreview) {
		if r.State != previews.StateExpired && r.Commit != "" {
			return true
		}
	}
	return false
}

// inForce is the desired state of the last step: the commit in force,
// the objects kept though removed from it, and the previews.
func (t *term) inForce() *manifests.Set {
	if t.pv.merged != nil {
		return t.pv.merged
	}
	return t.withKept
}

// previewLoop is runPreviews' state.
type previewLoop struct {
	t   *term
	src PreviewSource
	// cfgCommit is the commit in force cfg was read from; cfgRead says
	// cfg is usable (false: paused).
	cfgCommit string
	cfg       *previews.Config
	cfgRead   bool
	built     map[string]*builtPreview // by preview id
	published []*previews.Preview
	listErr   string
}

// builtPreview is what the loop has of one preview.
type builtPreview struct {
	ref string
	// tried is the head last loaded (good or not) and err its error.
	tried, err string
	// set and rev are the last commit that loaded; preview is its
	// transform, for the commit in force forMain.
	set       *manifests.Set
	rev       gitsource.Revision
	triedGood bool
	preview   *previews.Preview
	forMain   string
}

// runPreviews is the term's preview loop: at once when a commit is in
// force, then every PollInterval, on a webhook (RefsTriggered) and on
// each new commit in force, it reads the preview configuration, lists
// the refs, loads the previews' heads, records each preview in the
// ledger and hands the step the previews to run.
func (t *term) runPreviews(ctx context.Context, src PreviewSource) {
	l := &previewLoop{t: t, src: src, built: map[string]*builtPreview{}}
	poll := t.r.cfg.Source.Config().PollInterval
	if poll <= 0 {
		poll = gitsource.DefaultConfig("").PollInterval
	}
	timer := time.NewTimer(poll)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-src.RefsTriggered():
		case <-t.pv.mainCh:
		}
		l.pass(ctx)
		timer.Reset(poll)
	}
}

// pass is one round of the preview loop. The first of a term hands the
// step its previews (none when it cannot read them) whatever happens, so
// that the step does not wait for them any longer; a later one that
// cannot read the configuration or list the refs leaves everything as it
// was.
func (l *previewLoop) pass(ctx context.Context) {
	m := l.t.pv.main.Load()
	if m == nil || ctx.Err() != nil {
		return // nothing in force yet: the records stay as they are
	}
	defer func() {
		if l.t.pv.out.Load() == nil && ctx.Err() == nil {
			l.publish(nil)
		}
	}()
	if !l.config(m) {
		return
	}
	ledger := l.t.ledger
	records := readRecords[previews.Record](ledger, PrefixPreview)
	heads := map[string]string{}
	if l.cfg != nil {
		refs, err := l.src.ListRefs(ctx)
		if err != nil {
			if ctx.Err() == nil && err.Error() != l.listErr {
				l.t.log.Warn("previews: cannot list the repository's refs; previews stay as they are", "err", err)
			}
			l.listErr = err.Error()
			return
		}
		l.listErr = ""
		for _, r := range refs {
			if _, ok := l.cfg.Match(r.Name); ok && r.Name != m.rev.Ref {
				heads[r.Name] = r.Commit
			}
		}
	}
	plan := previews.Sync(previews.SyncInput{Config: l.cfg, Heads: heads, Records: records, Now: l.t.r.cfg.Now()})
	var run []*previews.Preview
	outcomes := map[string]previews.Outcome{}
	for _, r := range plan.Run {
		o := l.run(ctx, r, m)
		if ctx.Err() != nil {
			return
		}
		outcomes[r.ID] = o
		if o.Preview != nil {
			run = append(run, o.Preview)
		}
	}
	conflicts := previews.Conflicts(m.set.Namespaces(), run)
	run = slices.DeleteFunc(run, func(p *previews.Preview) bool { _, bad := conflicts[p.ID]; return bad })
	for _, r := range plan.Run {
		o := outcomes[r.ID]
		if msg, bad := conflicts[r.ID]; bad {
			o = previews.Outcome{Err: msg}
		}
		plan.Records[r.ID] = previews.Loaded(r, o)
	}
	var b gossip.Batch
	for id, r := range plan.Records {
		data, _ := json.Marshal(r)
		if e, ok := ledger.Get(PrefixPreview + id); ok && bytes.Equal(e.Value, data) {
			continue
		}
		if b.Put == nil {
			b.Put = map[string][]byte{}
		}
		b.Put[PrefixPreview+id] = data
		old := records[id]
		if old.State != r.State || old.Commit != r.Commit || old.Error != r.Error {
			l.t.log.Info("preview", "ref", r.Ref, "id", id, "state", r.State, "commit", short(r.Commit), "namespaces", r.Namespaces, "urls", r.URLs, "err", r.Error)
		}
	}
	for _, id := range plan.Delete {
		b.Delete = append(b.Delete, PrefixPreview+id)
		ref := records[id].Ref
		l.t.log.Info("preview removed: its ref is gone, or previews are off", "ref", ref, "id", id)
		if err := l.src.ForgetRef(ref); err != nil {
			l.t.log.Warn("previews: forgetting a ref", "ref", ref, "err", err)
		}
		delete(l.built, id)
	}
	for id := range l.built {
		if _, ok := plan.Records[id]; !ok {
			delete(l.built, id)
		}
	}
	if len(b.Put) > 0 || len(b.Delete) > 0 {
		if err := ledger.Apply(l.t.term, b); err != nil {
			l.t.log.Warn("previews: ledger", "err", err)
		}
	}
	if !slices.Equal(run, l.published) || l.t.pv.out.Load() == nil {
		l.publish(run)
	}
}

// publish hands the step the previews to run, and wakes it.
func (l *previewLoop) publish(run []*previews.Preview) {
	l.published = run
	l.t.pv.out.Store(&previewOutput{previews: run})
	select {
	case l.t.wake <- struct{}{}:
	default:
	}
}

// config reads the preview configuration of the commit in force when it
// changed, and records it in the ledger. It returns false when previews must pause: the file does
// not load and no earlier commit of this term gave one.
func (l *previewLoop) config(m *mainCommit) bool {
	if l.cfgCommit == m.rev.Commit {
		return l.cfgRead
	}
	l.cfgCommit = m.rev.Commit
	rec := PreviewConfigRecord{Commit: m.rev.Commit, File: previews.Path}
	data, err := l.src.ReadFile(m.rev.Commit, previews.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.cfg, l.cfgRead = nil, true
	case err != nil:
		rec.Error = err.Error()
	default:
		cfg, perr := previews.Parse(previews.Path, data)
		if perr != nil {
			rec.Error = perr.Error()
			break
		}
		l.cfg, l.cfgRead = cfg, true
		rec.Enabled = true
		rec.Refs, rec.Domain, rec.TTL, rec.MaxPreviews = cfg.Refs, cfg.Domain, cfg.TTL.String(), cfg.MaxPreviews
	}
	if rec.Error != "" {
		l.t.log.Warn("previews: the configuration does not load; the one read before stays in force (previews pause when there is none)",
			"commit", m.rev.Short(), "err", rec.Error)
		if l.cfg != nil {
			rec.Enabled = true
			rec.Refs, rec.Domain, rec.TTL, rec.MaxPreviews = l.cfg.Refs, l.cfg.Domain, l.cfg.TTL.String(), l.cfg.MaxPreviews
		}
	}
	data, _ = json.Marshal(rec)
	if e, ok := l.t.ledger.Get(KeyPreviewConfig); !ok || !bytes.Equal(e.Value, data) {
		if err := l.t.ledger.Put(l.t.term, KeyPreviewConfig, data); err != nil {
			l.t.log.Warn("previews: ledger", "err", err)
		}
	}
	return l.cfgRead
}

// run loads a preview's head when it is new, and returns what runs.
func (l *previewLoop) run(ctx context.Context, r previews.Record, m *mainCommit) previews.Outcome {
	b := l.built[r.ID]
	if b == nil || b.ref != r.Ref {
		b = &builtPreview{ref: r.Ref}
		l.built[r.ID] = b
	}
	if b.tried != r.Head {
		rev, set, err := l.src.LoadRefCommit(ctx, r.Ref, r.Head)
		switch {
		case err == nil:
			b.tried, b.err, b.set, b.rev, b.preview = r.Head, "", set, rev, nil
		case gitsource.IsStalled(err):
			b.tried, b.err = r.Head, limit(err.Error())
		default:
			// Fetching failed: try again next pass; meanwhile what ran runs.
			if ctx.Err() == nil {
				l.t.log.Warn("previews: fetching a preview's head failed; retrying", "ref", r.Ref, "err", err)
			}
			if b.set == nil {
				return previews.Outcome{Err: limit("fetching " + short(r.Head) + ": " + err.Error())}
			}
		}
	}
	if b.set == nil && r.Commit != "" && r.Commit != r.Head && !b.triedGood {
		// A new leader: bring back the last commit that loaded.
		b.triedGood = true
		if rev, set, err := l.src.LoadRefCommit(ctx, r.Ref, r.Commit); err == nil {
			b.set, b.rev = set, rev
		}
	}
	if b.set == nil {
		return previews.Outcome{Err: b.err}
	}
	if b.preview == nil || b.forMain != m.rev.Commit {
		b.preview = previews.Transform(b.set, previews.Spec{ID: r.ID, Ref: r.Ref, Commit: b.rev.Commit, Config: l.cfg,
			Admission: m.admission, ClusterCIDR: l.t.r.cfg.ClusterCIDR})
		b.forMain = m.rev.Commit
		l.report(b.preview)
	}
	return previews.Outcome{Preview: b.preview, Message: firstLine(b.rev.Message), Err: b.err}
}

// report logs and records as events what a preview does not run.
func (l *previewLoop) report(p *previews.Preview) {
	for _, x := range p.Refused {
		l.t.log.Warn("preview object refused: it does not run", "ref", p.Ref, "commit", short(p.Commit), "object", x.Key.String(), "why", x.Message)
		if ev := l.t.r.cfg.Events; ev != nil {
			ns := x.Key.Namespace
			if ns != "" {
				ns = p.Namespaces[ns]
			}
			ev.Record(events.Object{Kind: x.Key.Kind, Namespace: ns, Name: x.Key.Name}, corev1.EventTypeWarning, ReasonPreviewRefused,
				fmt.Sprintf("Not run in preview %s (%s, commit %s): %s", p.ID, p.Ref, short(p.Commit), x.Message))
		}
	}
}

// limit cuts an error message to what a ledger record should hold.
func limit(s string) string {
	if len(s) > 4<<10 {
		return s[:4<<10] + "\n(truncated)"
	}
	return s
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
