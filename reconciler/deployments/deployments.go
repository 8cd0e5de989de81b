// Package deployments is the Deployment controller as a pure function:
// Compute(Input) Plan, with the clock in Input.Now.
//
// A Deployment runs its pods through ReplicaSets, one per pod template, as
// in Kubernetes: the ReplicaSet of the current template is named
// "<deployment>-<pod-template-hash>" and its pods carry the
// pod-template-hash label. shoal's ReplicaSets of a Deployment are not in
// Git: they are ledger records (Input.Sets, Plan.Put, Plan.Delete) holding
// each one's replica count, revision and template, so that an old template
// can still run while a rollout replaces it, and a new leader carries on a
// rollout where the old one was. Compute turns them into
// replicas.Controllers, which the ReplicaSet controller keeps.
//
// # Rules
//
//   - A new template gets a new ReplicaSet with the next revision; going
//     back to an earlier template revives that ReplicaSet with the next
//     revision (a rollback), as Kubernetes does.
//   - RollingUpdate: the new ReplicaSet grows while the total of all
//     replicas stays within replicas + maxSurge; old ReplicaSets (oldest
//     first) shrink, first by their pods that are not available, then as far
//     as the available pods of all ReplicaSets stay at least replicas -
//     maxUnavailable. Numbers and percentages as Kubernetes resolves them
//     (surge rounds up, unavailable down; both zero means one unavailable).
//     A pod is available when it has been Ready for minReadySeconds.
//   - Recreate: old ReplicaSets go to zero; the new one grows only when no
//     pod of an old one is reported any more.
//   - spec.paused: no new ReplicaSet is rolled out; replica counts still
//     follow spec.replicas, as a scaling event does.
//   - A scaling event (spec.replicas changed while a ReplicaSet that runs
//     was sized for another count) resizes the running ReplicaSets before
//     any rollout step, as Kubernetes' scale does: one running ReplicaSet
//     takes the new count; several (a rollout in progress) share the
//     change in proportion to their sizes against the maximum
//     (replicas + maxSurge) they were sized for, the leftover going to the
//     largest. A new ReplicaSet that is saturated has the old ones scaled
//     to zero instead.
//   - ReplicaSets scaled to zero are kept up to revisionHistoryLimit, the
//     oldest pruned first.
//
// The Progressing condition follows progressDeadlineSeconds; `shoal
// rollout` (package reconciler/rollout) reads and writes Git for history,
// undo, pause and resume.
package deployments

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shoal-run/shoal/reconciler/internal/memo"
	"github.com/shoal-run/shoal/reconciler/internal/names"
	"github.com/shoal-run/shoal/reconciler/internal/podstatus"
	"github.com/shoal-run/shoal/reconciler/replicas"
)

// HashLabel is the label Kubernetes puts on a Deployment's ReplicaSets and
// pods.
const HashLabel = "pod-template-hash"

// RevisionAnnotation numbers a Deployment's ReplicaSets.
const RevisionAnnotation = "deployment.kubernetes.io/revision"

// Set is the ledger record of one ReplicaSet of a Deployment.
type Set struct {
	Replicas int32 `json:"replicas"`
	Revision int64 `json:"revision"`
	// Template is the ReplicaSet's pod template: shared, never changed
	// (Compute gives a Set whose template changes a new one), so that a
	// caller that hands Compute the same records gives it the same
	// templates. Compute reads a nil one as an empty template.
	Template *corev1.PodTemplateSpec `json:"template"`
	Created  time.Time               `json:"created"`
	// Progress is when the rollout to this ReplicaSet last made progress
	// (its pods updated or available changed), and Seen the counts then,
	// "updated/available"; kept on the current ReplicaSet only.
	Progress time.Time `json:"progress,omitzero"`
	Seen     string    `json:"seen,omitempty"`
	// Desired and MaxReplicas are the Deployment's replicas and
	// replicas + maxSurge when this ReplicaSet was last sized, as
	// Kubernetes' desired-replicas and max-replicas annotations: a
	// running ReplicaSet whose Desired differs from spec.replicas marks a
	// scaling event. Zero is unknown (a record from before they were kept).
	Desired     int32 `json:"desired,omitempty"`
	MaxReplicas int32 `json:"maxReplicas,omitempty"`
}

// Input is everything Compute needs; it is not modified.
type Input struct {
	// Deployments have distinct keys (as those of a manifests.Set).
	Deployments []*appsv1.Deployment
	// Sets are the ledger's ReplicaSets of each Deployment: deployment key
	// ("namespace/name") -> pod-template-hash -> record.
	Sets map[string]map[string]Set
	// Actual are the pods the nodes report.
	Actual []*corev1.Pod
	Now    time.Time
	// Memo, if set, is what Compute remembers across calls; it changes no
	// result. The Deployments must then be objects that never change
	// (those of a manifests.Set).
	Memo *Memo
}

// Memo is what Compute remembers across the leader's steps: what it
// derives from each Deployment alone (its key, template hash, maxSurge and
// maxUnavailable), and the reported pods indexed by ReplicaSet while the
// reports are the same objects. The zero Memo is ready to use; it is not safe for
// concurrent use.
type Memo struct {
	facts memo.Map[*appsv1.Deployment, facts]
	// actual and byRS are the last step's reported pods and their index
	// by ReplicaSet (reports are objects that never change).
	actual []*corev1.Pod
	byRS   map[rsName][]*corev1.Pod
}

// facts are what Compute derives from a Deployment alone.
type facts struct {
	key, hash          string // Key, TemplateHash of its template
	current            string // the current ReplicaSet's name, quoted
	surge, unavailable int32  // maxSurge and maxUnavailable for spec.replicas
}

func factsOf(d *appsv1.Deployment) facts {
	f := facts{key: Key(d), hash: TemplateHash(&d.Spec.Template)}
	f.current = strconv.Quote(d.Name + "-" + f.hash)
	f.surge, f.unavailable = surgeUnavailable(d)
	return f
}

// Plan is what Compute decided. Every map is non-nil.
type Plan struct {
	// Put are ReplicaSet records to write, Delete those to remove, as
	// deployment key -> hash.
	Put    map[string]map[string]Set
	Delete map[string][]string
	// Controllers are every ReplicaSet to keep, for replicas.Compute.
	Controllers []replicas.Controller
	// Status is each Deployment's status, by key.
	Status map[string]appsv1.DeploymentStatus
}

// Key is a Deployment's key in Input.Sets.
func Key(d *appsv1.Deployment) string { return d.Namespace + "/" + d.Name }

// Compute rolls every Deployment one step toward its template.
func Compute(in Input) Plan {
	plan := Plan{Put: map[string]map[string]Set{}, Delete: map[string][]string{}, Status: make(map[string]appsv1.DeploymentStatus, len(in.Deployments))}
	// The reported pods of each ReplicaSet (read-only from here on; the
	// Memo keeps them while the reports are the same pods).
	var byRS map[rsName][]*corev1.Pod
	if in.Memo != nil && in.Memo.byRS != nil && slices.Equal(in.Memo.actual, in.Actual) {
		byRS = in.Memo.byRS
	} else {
		byRS = make(map[rsName][]*corev1.Pod, len(in.Deployments))
		for _, p := range in.Actual {
			if len(p.OwnerReferences) > 0 && p.OwnerReferences[0].Kind == "ReplicaSet" {
				k := rsName{p.Namespace, p.OwnerReferences[0].Name}
				byRS[k] = append(byRS[k], p)
			}
		}
		if in.Memo != nil {
			in.Memo.actual, in.Memo.byRS = slices.Clone(in.Actual), byRS
		}
	}
	var remembered *memo.Map[*appsv1.Deployment, facts]
	if in.Memo != nil {
		remembered = &in.Memo.facts
		defer remembered.EndStep()
	}
	plan.Controllers = make([]replicas.Controller, 0, len(in.Deployments))
	withSets := 0 // Deployments that have records in in.Sets
	// The step's copies of the records, in one allocation: a Deployment's
	// step changes its copies, never the input's.
	nsets := 0
	for _, sets := range in.Sets {
		nsets += len(sets)
	}
	copies := make([]Set, 0, nsets)
	c := &deployment{now: in.Now, byRS: byRS}
	for _, d := range in.Deployments {
		f := remembered.Get(d, func() facts { return factsOf(d) })
		had, ok := in.Sets[f.key]
		if ok {
			withSets++
		}
		// One deployment value and map serve every Deployment in turn:
		// nothing of a step outlives its turn but what the plan copies.
		c.d, c.facts, c.counted = d, f, c.counted[:0]
		if c.sets == nil {
			c.sets = make(map[string]*Set, len(had)+1)
		} else {
			clear(c.sets)
		}
		for h, s := range had {
			if s.Template == nil {
				s.Template = &corev1.PodTemplateSpec{}
			}
			if len(copies) < cap(copies) {
				copies = append(copies, s)
				c.sets[h] = &copies[len(copies)-1]
			} else {
				c.sets[h] = &s
			}
		}
		c.step()
		plan.Status[c.key] = c.status()
		for h, s := range c.sets {
			if old, ok := had[h]; !ok || !same(old, *s) {
				if plan.Put[c.key] == nil {
					plan.Put[c.key] = map[string]Set{}
				}
				plan.Put[c.key][h] = *s
			}
		}
		for h := range had {
			if _, ok := c.sets[h]; !ok {
				plan.Delete[c.key] = append(plan.Delete[c.key], h)
			}
		}
		sort.Strings(plan.Delete[c.key])
		for _, h := range sortedHashes(c.sets) {
			s := c.sets[h]
			plan.Controllers = append(plan.Controllers, replicas.Controller{
				Kind: "ReplicaSet", APIVersion: "apps/v1", Namespace: d.Namespace,
				Name: d.Name + "-" + h, Replicas: s.Replicas, Template: s.Template,
				MinReadySeconds: d.Spec.MinReadySeconds,
			})
		}
	}
	// Deployments gone from Git: their ReplicaSets go, and with them
	// their pods.
	if withSets == len(in.Sets) {
		return plan // every record is of a Deployment (whose keys are unique)
	}
	known := make(map[string]bool, len(in.Deployments))
	for _, d := range in.Deployments {
		known[Key(d)] = true
	}
	for key, sets := range in.Sets {
		if known[key] {
			continue
		}
		for h := range sets {
			plan.Delete[key] = append(plan.Delete[key], h)
		}
		sort.Strings(plan.Delete[key])
	}
	return plan
}

type deployment struct {
	d *appsv1.Deployment
	facts
	now  time.Time
	byRS map[rsName][]*corev1.Pod // reported pods by ReplicaSet
	// sets are the ReplicaSets as this step leaves them: copies of the
	// input's, or new ones.
	sets map[string]*Set
	// counted are the counts of the ReplicaSets counted so far.
	counted []hashCounts
}

// rsName is a ReplicaSet's namespace and name.
type rsName struct{ namespace, name string }

// counts are a ReplicaSet's reported pods.
type counts struct{ pods, ready, available int32 }

type hashCounts struct {
	hash string
	counts
}

func (c *deployment) replicas() int32 {
	if c.d.Spec.Replicas != nil {
		return *c.d.Spec.Replicas
	}
	return 1
}

func (c *deployment) step() {
	hash := c.hash
	cur, ok := c.sets[hash]
	want := c.replicas()
	defer c.sized(want)
	if c.d.Spec.Paused && (!ok || cur.Revision < c.maxRevision()) && len(c.sets) > 0 {
		// A paused Deployment rolls nothing out; its running ReplicaSets
		// follow spec.replicas.
		c.scale(c.newest(), want)
		return
	}
	switch {
	case !ok:
		t := c.d.Spec.Template // its labels and annotations are replaced below, the rest shared
		t.Labels = withEntry(t.Labels, HashLabel, hash)
		cur = &Set{Template: &t, Created: c.now, Revision: c.maxRevision() + 1}
	case cur.Revision < c.maxRevision():
		cur.Revision = c.maxRevision() + 1 // a rollback revives it
	}
	if rev := strconv.FormatInt(cur.Revision, 10); cur.Template.Annotations[RevisionAnnotation] != rev {
		t := *cur.Template
		t.Annotations = withEntry(t.Annotations, RevisionAnnotation, rev)
		cur.Template = &t
	}
	c.sets[hash] = cur
	if c.scalingEvent(want) {
		// Resize first; the rollout goes on at the next step.
		c.scale(hash, want)
		c.prune(hash)
		return
	}

	if c.d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		oldPods := int32(0)
		for h, s := range c.sets {
			if h == hash {
				continue
			}
			oldPods += c.count(h).pods
			s.Replicas = 0
			c.sets[h] = s
		}
		if oldPods == 0 {
			cur.Replicas = want
		}
		c.sets[hash] = cur
	} else {
		cur.Replicas = c.rollingNew(cur.Replicas, want)
		c.sets[hash] = cur
		c.rollingOld(hash, want)
	}
	c.prune(hash)
}

// Reasons of the Progressing condition, as Kubernetes sets them.
const (
	ReasonNewReplicaSetAvailable   = "NewReplicaSetAvailable"
	ReasonReplicaSetUpdated        = "ReplicaSetUpdated"
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	ReasonPaused                   = "DeploymentPaused"
)

// status reports the rollout as Kubernetes does, and records progress on
// the current ReplicaSet: the Progressing condition turns False with
// ProgressDeadlineExceeded when neither its updated nor its available pods
// changed for progressDeadlineSeconds (default 600).
func (c *deployment) status() appsv1.DeploymentStatus {
	hash := c.hash
	var st appsv1.DeploymentStatus
	for h := range c.sets {
		n := c.count(h)
		st.Replicas += n.pods
		st.AvailableReplicas += n.available
		st.ReadyReplicas += n.ready
		if h == hash {
			st.UpdatedReplicas = n.pods
		}
	}
	want := c.replicas()
	st.UnavailableReplicas = max(0, want-st.AvailableReplicas)
	cur, ok := c.sets[hash]
	if !ok {
		return st
	}
	var buf [24]byte
	seen := strconv.AppendInt(buf[:0], int64(st.UpdatedReplicas), 10)
	seen = append(seen, '/')
	seen = strconv.AppendInt(seen, int64(c.count(hash).available), 10)
	if cur.Seen != string(seen) || cur.Progress.IsZero() {
		cur.Seen, cur.Progress = string(seen), c.now
		c.sets[hash] = cur
	}
	cond := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: "True",
		LastUpdateTime: metav1.NewTime(cur.Progress), LastTransitionTime: metav1.NewTime(cur.Progress)}
	deadline := int32(600)
	if c.d.Spec.ProgressDeadlineSeconds != nil {
		deadline = *c.d.Spec.ProgressDeadlineSeconds
	}
	done := st.UpdatedReplicas == want && c.count(hash).available >= want && st.Replicas == want
	switch {
	case c.d.Spec.Paused:
		cond.Status, cond.Reason, cond.Message = "Unknown", ReasonPaused, "Deployment is paused"
	case done:
		cond.Reason = ReasonNewReplicaSetAvailable
		cond.Message = "ReplicaSet " + c.current + " has successfully progressed."
	case !c.now.Before(cur.Progress.Add(time.Duration(deadline) * time.Second)):
		cond.Status, cond.Reason = "False", ReasonProgressDeadlineExceeded
		cond.Message = "ReplicaSet " + c.current + " has timed out progressing."
	default:
		cond.Reason = ReasonReplicaSetUpdated
		cond.Message = "ReplicaSet " + c.current + " is progressing."
	}
	avail := appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: "True", Reason: "MinimumReplicasAvailable",
		Message: "Deployment has minimum availability.", LastUpdateTime: metav1.NewTime(c.now), LastTransitionTime: metav1.NewTime(c.now)}
	if st.AvailableReplicas < want-c.unavailable {
		avail.Status, avail.Reason, avail.Message = "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."
	}
	st.Conditions = []appsv1.DeploymentCondition{avail, cond}
	return st
}

// count returns the reported and available pods of ReplicaSet hash
// (counted once per step: the reports do not change during it).
func (c *deployment) count(hash string) counts {
	for _, hc := range c.counted {
		if hc.hash == hash {
			return hc.counts
		}
	}
	var out counts
	for _, p := range c.byRS[rsName{c.d.Namespace, c.d.Name + "-" + hash}] {
		if podstatus.Terminal(p) {
			continue
		}
		out.pods++
		if podstatus.Ready(p) {
			out.ready++
		}
		if podstatus.Available(p, time.Duration(c.d.Spec.MinReadySeconds)*time.Second, c.now) {
			out.available++
		}
	}
	c.counted = append(c.counted, hashCounts{hash, out})
	return out
}

// scalingEvent reports whether a running ReplicaSet was sized for another
// spec.replicas (Kubernetes' isScalingEvent).
func (c *deployment) scalingEvent(want int32) bool {
	for _, s := range c.sets {
		if s.Replicas > 0 && s.Desired != 0 && s.Desired != want {
			return true
		}
	}
	return false
}

// scale resizes the running ReplicaSets to a new spec.replicas, as
// Kubernetes' DeploymentController.scale: the one running ReplicaSet (or
// newest, the current one) takes it all; a saturated current one has the
// old ones scaled to zero; otherwise, for RollingUpdate, every running
// ReplicaSet takes a share of the change proportional to its size, and the
// rounding leftover goes to the largest.
func (c *deployment) scale(newest string, want int32) {
	var running []string
	for h, s := range c.sets {
		if s.Replicas > 0 {
			running = append(running, h)
		}
	}
	switch {
	case len(running) == 0:
		s := c.sets[newest]
		s.Replicas = want
		c.sets[newest] = s
		return
	case len(running) == 1:
		s := c.sets[running[0]]
		s.Replicas = want
		c.sets[running[0]] = s
		return
	}
	if cur, ok := c.sets[newest]; ok && cur.Replicas == want && cur.Desired == want && c.count(newest).available >= want {
		for _, h := range running {
			if h != newest {
				s := c.sets[h]
				s.Replicas = 0
				c.sets[h] = s
			}
		}
		return
	}
	if c.d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return
	}
	surge := c.surge
	allowed, total := int32(0), int32(0)
	if want > 0 {
		allowed = want + surge
	}
	for _, h := range running {
		total += c.sets[h].Replicas
	}
	toAdd := allowed - total
	if toAdd == 0 {
		return
	}
	// Largest first; on a tie, newer first when growing, older first when
	// shrinking (ReplicaSetsBySizeNewer / BySizeOlder).
	sort.Slice(running, func(i, j int) bool {
		a, b := c.sets[running[i]], c.sets[running[j]]
		if a.Replicas != b.Replicas {
			return a.Replicas > b.Replicas
		}
		if a.Revision != b.Revision {
			return (a.Revision > b.Revision) == (toAdd > 0)
		}
		return running[i] < running[j]
	})
	sizes := make([]int32, len(running))
	added := int32(0)
	for i, h := range running {
		s := c.sets[h]
		p := c.proportion(s, want, surge, total, toAdd, added)
		sizes[i] = s.Replicas + p
		added += p
	}
	sizes[0] = max(0, sizes[0]+toAdd-added)
	for i, h := range running {
		s := c.sets[h]
		s.Replicas = sizes[i]
		c.sets[h] = s
	}
}

// proportion is a running ReplicaSet's share of a scaling change, as
// Kubernetes' GetProportion: its size scaled from the maximum it was sized
// for (or the total running, when unknown) to replicas + maxSurge, bounded
// by what is left to add.
func (c *deployment) proportion(s *Set, want, surge, total, toAdd, added int32) int32 {
	if s.Replicas == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	var fraction int32
	if want == 0 {
		fraction = -s.Replicas
	} else {
		before := s.MaxReplicas
		if before == 0 {
			before = total
		}
		if before > 0 {
			fraction = int32(math.Round(float64(s.Replicas)*float64(want+surge)/float64(before))) - s.Replicas
		}
	}
	left := toAdd - added
	if toAdd > 0 {
		return min(fraction, left)
	}
	return max(fraction, left)
}

// sized marks the running ReplicaSets as sized for spec.replicas want.
func (c *deployment) sized(want int32) {
	surge := c.surge
	for h, s := range c.sets {
		if s.Replicas > 0 {
			s.Desired, s.MaxReplicas = want, want+surge
			c.sets[h] = s
		}
	}
}

// rollingNew grows (or shrinks) the new ReplicaSet within maxSurge.
func (c *deployment) rollingNew(n, want int32) int32 {
	if n >= want {
		return want
	}
	surge := c.surge
	total := int32(0)
	for _, s := range c.sets {
		total += s.Replicas
	}
	up := min(want+surge-total, want-n)
	if up > 0 {
		n += up
	}
	return n
}

// rollingOld shrinks the old ReplicaSets, oldest first, as Kubernetes'
// reconcileOldReplicaSets does: first their pods that are not available, as
// far as all replicas minus the new ReplicaSet's unavailable ones stay at
// least replicas - maxUnavailable; then available ones, as far as the
// available pods of all ReplicaSets stay at least that. Pods whose
// readiness the leader has not heard of yet count as unavailable, so a
// late report only slows a rollout down.
func (c *deployment) rollingOld(hash string, want int32) {
	minAvailable := want - c.unavailable
	all, availableAll := int32(0), int32(0)
	for h, s := range c.sets {
		all += s.Replicas
		availableAll += min(s.Replicas, c.count(h).available)
	}
	newUnavailable := max(0, c.sets[hash].Replicas-c.count(hash).available)
	maxCleanup := all - minAvailable - newUnavailable
	if maxCleanup <= 0 {
		return
	}
	old := c.oldest(hash)
	cleaned := int32(0)
	for _, h := range old {
		if cleaned >= maxCleanup {
			break
		}
		s := c.sets[h]
		a := min(s.Replicas, c.count(h).available)
		if s.Replicas == 0 || s.Replicas == a {
			continue
		}
		down := min(maxCleanup-cleaned, s.Replicas-a)
		s.Replicas -= down
		cleaned += down
		c.sets[h] = s
	}
	canDown := availableAll - minAvailable
	scaled := int32(0)
	for _, h := range old {
		if scaled >= canDown {
			break
		}
		s := c.sets[h]
		if s.Replicas == 0 {
			continue
		}
		down := min(s.Replicas, canDown-scaled)
		s.Replicas -= down
		scaled += down
		c.sets[h] = s
	}
}

// surgeUnavailable resolves a Deployment's maxSurge and maxUnavailable
// (defaults 25%) for its spec.replicas.
func surgeUnavailable(d *appsv1.Deployment) (int32, int32) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	quarter := intstr.FromString("25%")
	surgeV, unavV := &quarter, &quarter
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			surgeV = ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			unavV = ru.MaxUnavailable
		}
	}
	surge, err1 := intstr.GetScaledValueFromIntOrPercent(surgeV, int(want), true)
	unav, err2 := intstr.GetScaledValueFromIntOrPercent(unavV, int(want), false)
	if err1 != nil {
		surge = 0
	}
	if err2 != nil {
		unav = 0
	}
	if surge == 0 && unav == 0 {
		unav = 1
	}
	return int32(surge), int32(unav)
}

// prune drops ReplicaSets at zero beyond revisionHistoryLimit.
func (c *deployment) prune(current string) {
	limit := int32(10)
	if c.d.Spec.RevisionHistoryLimit != nil {
		limit = *c.d.Spec.RevisionHistoryLimit
	}
	var idle []string
	for h, s := range c.sets {
		if h != current && s.Replicas == 0 && c.count(h).pods == 0 {
			idle = append(idle, h)
		}
	}
	sort.Slice(idle, func(i, j int) bool { return c.sets[idle[i]].Revision < c.sets[idle[j]].Revision })
	for len(idle) > int(limit) {
		delete(c.sets, idle[0])
		idle = idle[1:]
	}
}

func (c *deployment) maxRevision() int64 {
	var m int64
	for _, s := range c.sets {
		m = max(m, s.Revision)
	}
	return m
}

func (c *deployment) newest() string {
	best, rev := "", int64(-1)
	for h, s := range c.sets {
		if s.Revision > rev {
			best, rev = h, s.Revision
		}
	}
	return best
}

// oldest lists the ReplicaSets other than current, by revision.
func (c *deployment) oldest(current string) []string {
	var out []string
	for h := range c.sets {
		if h != current {
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return c.sets[out[i]].Revision < c.sets[out[j]].Revision })
	return out
}

// TemplateHash is a short, stable hash of a pod template, as the
// pod-template-hash label (Kubernetes uses FNV-32a of the template too).
func TemplateHash(t *corev1.PodTemplateSpec) string { return names.TemplateHash(t) }

// same reports whether two records of one ReplicaSet (one template hash)
// are equal: its template changes only in the revision annotation.
func same(a, b Set) bool {
	return a.Replicas == b.Replicas && a.Revision == b.Revision && a.Seen == b.Seen && a.Progress.Equal(b.Progress) &&
		a.Desired == b.Desired && a.MaxReplicas == b.MaxReplicas &&
		a.Template.Annotations[RevisionAnnotation] == b.Template.Annotations[RevisionAnnotation]
}

func sortedHashes(m map[string]*Set) []string {
	out := make([]string, 0, len(m))
	for h := range m {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

// withEntry returns a copy of m with k set to v.
func withEntry(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// ReplicaSet is the API object of ReplicaSet hash of Deployment d, as the
// Kubernetes Deployment controller makes it: named
// "<deployment>-<hash>", labelled like its template, the Deployment's
// selector with the pod-template-hash label added, the revision
// annotation, a controller ownerReference to d (ownerUID), and the record's
// replicas and creation time. Its status is left for the caller (the
// ReplicaSet controller counts the pods).
func ReplicaSet(d *appsv1.Deployment, ownerUID types.UID, hash string, s Set) appsv1.ReplicaSet {
	yes := true
	rs := appsv1.ReplicaSet{
		TypeMeta: metav1.TypeMeta{Kind: "ReplicaSet", APIVersion: "apps/v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: d.Name + "-" + hash, Namespace: d.Namespace,
			Labels:            withEntry(s.Template.Labels, HashLabel, hash),
			Annotations:       map[string]string{RevisionAnnotation: fmt.Sprint(s.Revision)},
			CreationTimestamp: metav1.NewTime(s.Created),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: ownerUID,
				Controller: &yes, BlockOwnerDeletion: &yes,
			}},
		},
	}
	replicas := s.Replicas
	rs.Spec.Replicas = &replicas
	rs.Spec.MinReadySeconds = d.Spec.MinReadySeconds
	rs.Spec.Template = *s.Template.DeepCopy()
	sel := &metav1.LabelSelector{}
	if d.Spec.Selector != nil {
		sel = d.Spec.Selector.DeepCopy()
	}
	sel.MatchLabels = withEntry(sel.MatchLabels, HashLabel, hash)
	rs.Spec.Selector = sel
	return rs
}
