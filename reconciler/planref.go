package reconciler

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/policies/admission"
	"github.com/shoal-run/shoal/reconciler/gitsource"
	"github.com/shoal-run/shoal/reconciler/plan"
	"github.com/shoal-run/shoal/reconciler/previews"
	"github.com/shoal-run/shoal/reconciler/prune"
)

// RefLoader loads the manifests of any ref or commit without changing
// what the Source follows; *gitsource.Source implements it (LoadRef).
type RefLoader interface {
	LoadRef(ctx context.Context, ref string) (gitsource.Revision, *manifests.Set, *admission.Config, error)
}

// ErrNoRefLoader: the reconciler's Source cannot load other refs.
var ErrNoRefLoader = errors.New("this node's Git source cannot load other refs")

// planBase is what a plan compares with, taken from the leading term:
// the last step's Input, the commit in force, and the ledger's records
// that make a commit's desired state (kept objects, failed pods).
type planBase struct {
	in      Input
	desired *manifests.Set
	rev     gitsource.Revision
	kept    map[string]prune.Record
	failed  map[types.NamespacedName]failure
	// previews run beside any commit: the proposed desired state has
	// them too, as a step would merge them (see withPreviews).
	previews []*previews.Preview
	nodes    []netip.Addr
	cluster  netip.Prefix
}

// Plan says what deploying ref (a branch, tag, full ref name such as
// refs/pull/7/head, or commit hash; see gitsource.Source.LoadRef) instead
// of the commit in force would change: the objects added, changed (field
// by field) and removed, and the pods that would start, stop, be
// replaced or stay Pending once the rollouts it begins are done.
//
// It changes nothing: the ref is fetched beside the followed branch, and
// the pods come from Compute, pure, run on a copy of the last step's
// Input with the ref's desired state (its objects, plus those kept though
// removed from Git, less the pods failed with their node) over simulated
// steps (see settle) — for the commit in force too, so that both sides
// are compared once settled. No ledger record, push or event comes of it.
//
// It fails with ErrNotLeading on a node that does not lead or before the
// leader's first good commit, wraps gitsource.ErrRefNotFound for a ref
// the remote does not have, and returns the *gitsource.LoadError (every
// file:line) of a ref whose manifests do not load.
func (r *Reconciler) Plan(ctx context.Context, ref string) (plan.Result, error) {
	loader, ok := r.cfg.Source.(RefLoader)
	if !ok {
		return plan.Result{}, ErrNoRefLoader
	}
	if r.View().Term == "" {
		return plan.Result{}, ErrNotLeading
	}
	base, err := r.planBase(ctx)
	if err != nil {
		return plan.Result{}, err
	}
	began := time.Now()
	rev, set, cfg, err := loader.LoadRef(ctx, ref)
	if err != nil {
		return plan.Result{}, err
	}
	res := planAgainst(ctx, base, rev, set, cfg)
	res.Ref = ref
	r.log.Info("plan", "ref", ref, "commit", rev.Short(), "against", base.rev.Short(),
		"objects", len(res.Objects), "settled", res.Settled, "duration", time.Since(began).Round(time.Millisecond))
	return res, nil
}

// planBase asks the leading term for what a plan compares with.
func (r *Reconciler) planBase(ctx context.Context) (planBase, error) {
	ch := make(chan planBase, 1)
	err := r.request(ctx, request{do: func(t *term) error {
		if t.desired == nil || t.lastIn == nil {
			return fmt.Errorf("%w: the leader has not loaded the desired state yet", ErrNotLeading)
		}
		b := planBase{
			in: *t.lastIn, desired: t.desired, rev: t.rev,
			kept:   readRecords[prune.Record](t.ledger, PrefixKept),
			failed: readFailed(t.ledger),
			nodes:  t.pv.addrs, cluster: t.r.cfg.ClusterCIDR,
		}
		if out := t.pv.out.Load(); out != nil {
			b.previews = out.previews
		}
		ch <- b
		return nil
	}})
	if err != nil {
		return planBase{}, err
	}
	return <-ch, nil
}

// planAgainst compares the proposed commit (rev, set, its admission
// policies cfg) with base. It is pure but for ctx, which cuts the
// simulated steps short. As a step does, the objects admission refuses
// are left out of what would run; their changes carry the refusal as
// their Note.
func planAgainst(ctx context.Context, base planBase, rev gitsource.Revision, set *manifests.Set, cfg *admission.Config) plan.Result {
	refused := admission.Decide(set, cfg, admission.NamespacesOf(set))
	admitted := set
	if len(refused) > 0 {
		admitted = set.Without(refusedKeys(refused)...)
	}
	proposed := prune.Compute(prune.Input{
		Desired: admitted, Commit: rev.Commit, Now: base.in.Now,
		Records: base.kept, MaxRecordSize: gossip.MaxValueSize,
	}).Desired
	if len(base.failed) > 0 {
		proposed = withoutFailed(proposed, base.failed)
	}
	proposed, _ = previews.Merge(proposed, base.previews, base.nodes, base.cluster)
	curPlan, curIn, curSettled := settle(ctx, base.in)
	propIn := base.in
	propIn.Desired = proposed
	propPlan, propIn, propSettled := settle(ctx, propIn)

	objs := plan.Diff(base.desired, set)
	if objs == nil {
		objs = []plan.ObjectChange{}
	}
	why := map[manifests.Key]string{}
	for _, r := range refused {
		why[r.Key] = r.String()
	}
	for i, o := range objs {
		if msg, ok := why[o.Key()]; ok && o.Op != plan.Remove {
			objs[i].Note = "refused by admission, it would not run: " + msg
		}
	}
	for i, o := range objs {
		if o.Op != plan.Remove {
			continue
		}
		if kept, ok := proposed.Lookup(o.Key()); ok {
			why := "its annotation"
			if m, ok := kept.Obj.(metav1.Object); ok {
				why, _ = prune.OptOut(m.GetAnnotations())
			}
			objs[i].Note = fmt.Sprintf("kept running as last applied: it opts out of pruning (%s); %s removes it", why, deleteCommand(o.Key()))
		}
	}
	pods := plan.ComparePods(podSet(curPlan, curIn), podSet(propPlan, propIn))
	return plan.Result{
		Proposed: commitOf(rev),
		Current:  commitOf(base.rev),
		Objects:  objs,
		Pods:     pods,
		Settled:  curSettled && propSettled,
		Summary:  plan.Summarize(objs, pods),
	}
}

func commitOf(rev gitsource.Revision) plan.Commit {
	return plan.Commit{Ref: rev.Ref, Commit: rev.Commit, Message: firstLine(rev.Message), Author: rev.Author}
}
