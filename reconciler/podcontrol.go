package reconciler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/gossip"
	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/reconciler/events"
	"github.com/shoal-run/shoal/reconciler/prune"
	"github.com/shoal-run/shoal/reconciler/services"
)

// PrefixQuarantine + "namespace/name" -> Quarantined JSON: a pod taken out
// of its controller, kept running until deleted.
const PrefixQuarantine = "quarantine/"

// QuarantineLabel marks a quarantined pod.
const QuarantineLabel = services.QuarantineLabel

// Quarantined is a pod `shoal quarantine` took out of its controller: it
// keeps running where it runs, as it was made, without its owner.
type Quarantined struct {
	Pod corev1.Pod `json:"pod"`
	// Released says its controller let it go (its labels stopped matching
	// the controller's selector) rather than shoal quarantine.
	Released bool `json:"released,omitempty"`
}

// Errors of quarantine and delete requests.
var (
	ErrNotLeading = errors.New("this node does not lead")
	// ErrNotFound: nothing that can be deleted (or quarantined) by that
	// name. ErrPodNotFound wraps it.
	ErrNotFound    = errors.New("not found")
	ErrPodNotFound = fmt.Errorf("pod %w", ErrNotFound)
	ErrFromGit     = errors.New("it comes from Git")
)

// request is a quarantine or delete asked of the leader, or, with do,
// any other request run in the term's loop.
type request struct {
	quarantine bool
	key        manifests.Key
	do         func(*term) error
	reply      chan error
}

// Quarantine takes a pod a controller made out of its controller: the
// controller makes a replacement, and the pod keeps running, labelled
// shoal.run/quarantined=true and without its ownerReference, until
// DeletePod. It fails with ErrNotLeading on a node that does not lead.
func (r *Reconciler) Quarantine(ctx context.Context, namespace, name string) error {
	return r.request(ctx, request{quarantine: true, key: manifests.Key{Kind: "Pod", Namespace: namespace, Name: name}})
}

// DeletePod deletes a pod that does not come from Git: a quarantined pod
// stops; a pod a controller made is replaced; a bare pod kept though
// removed from Git stops. A bare pod of the repository is refused with
// ErrFromGit (remove it from Git).
func (r *Reconciler) DeletePod(ctx context.Context, namespace, name string) error {
	return r.Delete(ctx, "Pod", namespace, name)
}

// Delete deletes an object that does not come from Git, of any kind the
// manifests read (namespace "" for cluster-scoped kinds). A Pod: see
// DeletePod. Any other object must be kept though removed from Git (it
// opts out of pruning, package prune): its record goes and it stops
// running. An object of the repository is refused with ErrFromGit naming
// its file; anything else is ErrNotFound. It fails with ErrNotLeading on a
// node that does not lead.
func (r *Reconciler) Delete(ctx context.Context, kind, namespace, name string) error {
	if manifests.NewObject(kind) == nil {
		return fmt.Errorf("%w: kind %s is not one shoal reads (%s)", ErrNotFound, kind, strings.Join(manifests.SupportedKinds(), ", "))
	}
	if !manifests.IsNamespaced(kind) {
		namespace = ""
	}
	return r.request(ctx, request{key: manifests.Key{Kind: kind, Namespace: namespace, Name: name}})
}

func (r *Reconciler) request(ctx context.Context, req request) error {
	req.reply = make(chan error, 1)
	select {
	case r.requests <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handle runs a request in the term's loop, under its term.
func (t *term) handle(req request) error {
	if req.do != nil {
		return req.do(t)
	}
	key := types.NamespacedName{Namespace: req.key.Namespace, Name: req.key.Name}
	path := key.Namespace + "/" + key.Name
	if t.desired == nil {
		return fmt.Errorf("%w: the leader has not loaded the desired state yet", ErrNotLeading)
	}
	if req.key.Kind != "Pod" {
		return t.deleteKept(req.key)
	}
	_, owned := t.ledger.Get(PrefixOwned + path)
	_, quarantined := t.ledger.Get(PrefixQuarantine + path)
	if req.quarantine {
		if quarantined {
			return nil
		}
		if !owned {
			if t.desired.Get("Pod", key.Namespace, key.Name) != nil {
				return fmt.Errorf("%w: pod %s is a bare pod of the repository, not made by a controller", ErrFromGit, path)
			}
			return fmt.Errorf("%w: no pod %s made by a ReplicaSet, ReplicationController or Deployment", ErrPodNotFound, path)
		}
		var pod *corev1.Pod
		for _, p := range t.lastPods {
			if p.Namespace == key.Namespace && p.Name == key.Name {
				pod = p.DeepCopy()
			}
		}
		if pod == nil {
			return fmt.Errorf("%w: pod %s is not in the leader's plan yet; try again", ErrPodNotFound, path)
		}
		pod.OwnerReferences = nil
		labels := map[string]string{}
		for k, v := range pod.Labels {
			labels[k] = v
		}
		labels[QuarantineLabel] = "true"
		pod.Labels = labels
		data, _ := json.Marshal(Quarantined{Pod: *pod})
		t.put(PrefixQuarantine+path, data)
		t.del(PrefixOwned + path)
		t.flush()
		t.log.Info("pod quarantined: out of its controller, kept running", "pod", path)
		if ev := t.r.cfg.Events; ev != nil {
			ev.Record(events.Object{Kind: "Pod", Namespace: key.Namespace, Name: key.Name}, corev1.EventTypeNormal,
				"Quarantined", "Taken out of its controller by shoal quarantine; it runs until shoal delete pod")
		}
		return nil
	}
	_, kept := t.ledger.Get(PrefixKept + prune.RecordKey(req.key))
	switch {
	case quarantined:
		t.del(PrefixQuarantine + path)
	case owned:
		t.del(PrefixOwned + path) // its controller replaces it
	case kept || t.desired.Get("Pod", key.Namespace, key.Name) != nil:
		return t.deleteKept(req.key)
	default:
		return fmt.Errorf("%w: no pod %s that can be deleted (controllers' pods, quarantined ones and bare pods kept though removed from Git can)", ErrPodNotFound, path)
	}
	t.flush()
	t.log.Info("pod deleted", "pod", path)
	return nil
}

// readQuarantined returns the quarantined pods.
func readQuarantined(l *gossip.Ledger) map[types.NamespacedName]corev1.Pod {
	out := map[types.NamespacedName]corev1.Pod{}
	for k, q := range byPod(readRecords[Quarantined](l, PrefixQuarantine)) {
		out[k] = q.Pod
	}
	return out
}
