package reconciler

import (
	"encoding/json"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/policies/admission"
	"github.com/shoal-run/shoal/reconciler/events"
	"github.com/shoal-run/shoal/reconciler/gitsource"
)

// Event reasons of admission.
const (
	// ReasonFailedAdmission: an admission policy refuses an object of the
	// commit in force; it does not run.
	ReasonFailedAdmission = "FailedAdmission"
	// ReasonFailedCreate: a LimitRange or ResourceQuota kept a controller
	// (or Git, for a bare pod) from creating a pod, as Kubernetes'
	// controllers report it.
	ReasonFailedCreate = "FailedCreate"
)

// PrefixRefused + ref -> RefusedRecord JSON: what the admission policies
// refuse in the commit in force of a tracked ref; absent when nothing.
const PrefixRefused = "refused/"

// RefusedRecord is the ledger's record of the objects the admission
// policies refuse in one commit, so that every node can show them.
type RefusedRecord struct {
	// Commit is the commit in force whose objects were refused.
	Commit string `json:"commit"`
	// Objects are the refusals, sorted by kind, namespace and name: as
	// many as a ledger value holds.
	Objects []admission.Refusal `json:"objects"`
	// Total counts every refused object, those left out of Objects too.
	Total int `json:"total"`
}

// Refused returns the record of what admission refuses in the commit in
// force of ref ("refs/heads/main"); false when it refuses nothing.
func Refused(l *gossip.Ledger, ref string) (RefusedRecord, bool) {
	return readRecord[RefusedRecord](l, PrefixRefused+ref)
}

// load makes a commit the one in force, with a new Memo: its objects are
// decided on once, under the admission policies the Source gives with it
// (the namespaces as the commit's Namespace objects label them; the
// previews are decided when the preview loop builds them, under the same
// policies), and each refusal is logged, recorded as a FailedAdmission
// event on its object and in the ledger (PrefixRefused) for shoal status.
// applied leaves the refused objects out of the desired state; the rest of
// the commit runs.
func (t *term) load(res gitsource.Result) {
	t.desired, t.rev, t.admission = res.Set, res.Revision, res.Admission
	t.memo = nil // a new commit: nothing derived from the last one is of use
	t.refused = admission.Decide(res.Set, res.Admission, admission.NamespacesOf(res.Set))
	t.log.Info("desired state loaded", "commit", res.Revision.Short(), "objects", res.Set.Len(),
		"refused", len(t.refused), "admission", admissionFile(res.Admission))
	ev := t.r.cfg.Events
	for _, r := range t.refused {
		t.log.Warn("object refused by admission: it does not run", "object", r.Key.String(), "file", r.Source.File,
			"line", r.Source.Line, "commit", res.Revision.Short(), "why", r.String())
		if ev != nil {
			ev.Record(eventObject(r.Key), corev1.EventTypeWarning, ReasonFailedAdmission, r.String())
		}
	}
	t.r.cfg.Metrics.setRefused(len(t.refused))
	key := PrefixRefused + res.Revision.Ref
	if len(t.refused) == 0 {
		t.del(key)
	} else {
		t.put(key, refusedRecord(res.Revision.Commit, t.refused, gossip.MaxValueSize))
	}
	t.flush()
}

// admissionFile names the file policies come from, for logs.
func admissionFile(cfg *admission.Config) string {
	if cfg == nil || cfg.File == "" {
		return "none"
	}
	return cfg.File
}

// refusedRecord encodes the refusals of commit as a RefusedRecord of at
// most max bytes, leaving out the last refusals when they do not fit.
func refusedRecord(commit string, refused []admission.Refusal, max int) []byte {
	rec := RefusedRecord{Commit: commit, Objects: refused, Total: len(refused)}
	for {
		data, _ := json.Marshal(rec)
		if len(data) <= max || len(rec.Objects) == 0 {
			return data
		}
		rec.Objects = rec.Objects[:len(rec.Objects)/2]
	}
}

// refusedKeys are the keys of refusals.
func refusedKeys(refused []admission.Refusal) []manifests.Key {
	out := make([]manifests.Key, len(refused))
	for i, r := range refused {
		out[i] = r.Key
	}
	return out
}

// recordAdmission reports what the LimitRanges and ResourceQuotas kept
// from being created this step: a FailedCreate event on each controller
// and each bare pod refused, once each time its message changes, as
// Kubernetes' controllers report "Error creating: ...".
func (t *term) recordAdmission(plan Plan) {
	t.r.cfg.Metrics.setForbidden(len(plan.FailedCreate) + len(plan.Forbidden))
	ev := t.r.cfg.Events
	for owner, msg := range plan.FailedCreate {
		if t.failedCreate[owner] == msg {
			continue
		}
		t.log.Warn("a controller cannot create a pod", "controller", owner, "err", msg)
		if ev != nil {
			parts := strings.SplitN(owner, "/", 3)
			if len(parts) == 3 {
				ev.Record(events.Object{Kind: parts[0], Namespace: parts[1], Name: parts[2]}, corev1.EventTypeWarning, ReasonFailedCreate, "Error creating: "+msg)
			}
		}
	}
	t.failedCreate = plan.FailedCreate
	for key, msg := range plan.Forbidden {
		if t.forbidden[key] == msg {
			continue
		}
		t.log.Warn("a bare pod of Git is refused by a LimitRange or ResourceQuota: it stays Pending", "pod", key.String(), "err", msg)
		if ev != nil {
			ev.Record(events.Object{Kind: "Pod", Namespace: key.Namespace, Name: key.Name}, corev1.EventTypeWarning, ReasonFailedCreate, "Error creating: "+msg)
		}
	}
	t.forbidden = plan.Forbidden
}

// forbiddenPod is a bare pod of Git that a LimitRange or ResourceQuota
// refuses, as the leader shows it: Pending, with the reason Forbidden and
// the API server's message.
func forbiddenPod(p *corev1.Pod, msg string) corev1.Pod {
	q := p.DeepCopy()
	q.Status = corev1.PodStatus{Phase: corev1.PodPending, Reason: ReasonForbidden, Message: msg,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: ReasonForbidden, Message: msg}}}
	return *q
}

// quotaObjects are the desired state's ResourceQuotas with the usage a
// step counted as their status (status.used lacks the hard resources shoal
// does not count), and its LimitRanges, each sorted by namespace and name.
func quotaObjects(set *manifests.Set, usage []admission.QuotaStatus) ([]corev1.ResourceQuota, []corev1.LimitRange) {
	if set == nil {
		return nil, nil
	}
	byKey := make(map[types.NamespacedName]admission.QuotaStatus, len(usage))
	for _, u := range usage {
		byKey[types.NamespacedName{Namespace: u.Namespace, Name: u.Name}] = u
	}
	var quotas []corev1.ResourceQuota
	for _, q := range manifests.Of[*corev1.ResourceQuota](set) {
		c := q.DeepCopy()
		u := byKey[types.NamespacedName{Namespace: q.Namespace, Name: q.Name}]
		c.Status = corev1.ResourceQuotaStatus{Hard: q.Spec.Hard.DeepCopy(), Used: corev1.ResourceList{}}
		for k, v := range u.Used {
			c.Status.Used[k] = v
		}
		quotas = append(quotas, *c)
	}
	var ranges []corev1.LimitRange
	for _, lr := range manifests.Of[*corev1.LimitRange](set) {
		ranges = append(ranges, *lr.DeepCopy())
	}
	sortObjects(quotas)
	sortObjects(ranges)
	return quotas, ranges
}
