package volumebinding

import (
	"cmp"
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/manifests"
)

// Annotations that mark a StorageClass as the default one.
const (
	DefaultClassAnnotation     = "storageclass.kubernetes.io/is-default-class"
	BetaDefaultClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
)

// BasePathParameter is the local-path StorageClass parameter naming the
// directory under which volumes are created on the node.
const BasePathParameter = "basePath"

// Reasons a claim stays Pending (the first ones are Kubernetes' own words).
const (
	ReasonWaitForConsumer = "waiting for first consumer to be created before binding"
	ReasonNoClass         = "no persistent volumes available for this claim and no storage class is set"
)

// volume is a Git volume with what Compute learns about it.
type volume struct {
	pv       *corev1.PersistentVolume
	capacity resource.Quantity
	class    string
	taken    bool // bound, released or given away in this Compute
}

type computer struct {
	in           Input
	plan         Plan
	classes      map[string]*storagev1.StorageClass
	defaultClass string
	vols         map[string]*volume
	bySize       []*volume // every Git volume, by capacity then name
	byClaimRef   map[types.NamespacedName][]*volume
	claims       map[types.NamespacedName]*corev1.PersistentVolumeClaim
	bound        map[types.NamespacedName]bool
	requested    map[string]types.NamespacedName // volume → first claim naming it in spec.volumeName
	names        map[string]bool                 // every volume name in use
}

// Compute decides the bindings, releases, provisionings and deletions that
// bring the ledger in line with the claims and volumes in Git. It is pure
// and deterministic; see the package documentation for the rules.
func Compute(in Input) Plan {
	c := &computer{
		in: in,
		plan: Plan{
			Pending:  map[types.NamespacedName]string{},
			Status:   make(map[string]corev1.PersistentVolumePhase, len(in.Volumes)),
			Messages: map[string]string{},
		},
		classes:    make(map[string]*storagev1.StorageClass, len(in.StorageClasses)),
		vols:       make(map[string]*volume, len(in.Volumes)),
		byClaimRef: map[types.NamespacedName][]*volume{},
		claims:     make(map[types.NamespacedName]*corev1.PersistentVolumeClaim, len(in.Claims)),
		bound:      make(map[types.NamespacedName]bool, len(in.Bindings)),
		requested:  map[string]types.NamespacedName{},
		names:      make(map[string]bool, len(in.Volumes)+len(in.Bindings)),
	}
	c.indexClasses()
	c.indexVolumes()
	for _, pvc := range in.Claims {
		c.claims[keyOf(pvc)] = pvc
	}
	c.applyLedger()

	claims := slices.Clone(in.Claims)
	slices.SortFunc(claims, func(a, b *corev1.PersistentVolumeClaim) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	for _, pvc := range claims {
		k := keyOf(pvc)
		if name := pvc.Spec.VolumeName; name != "" && !c.bound[k] {
			if _, dup := c.requested[name]; !dup {
				c.requested[name] = k
			}
		}
	}
	for _, pvc := range claims {
		if !c.bound[keyOf(pvc)] {
			c.bindClaim(pvc)
		}
	}
	slices.Sort(c.plan.Delete)
	return c.plan
}

func keyOf(pvc *corev1.PersistentVolumeClaim) types.NamespacedName {
	return types.NamespacedName{Namespace: pvc.Namespace, Name: pvc.Name}
}

func (c *computer) indexClasses() {
	var def *storagev1.StorageClass
	for _, sc := range c.in.StorageClasses {
		c.classes[sc.Name] = sc
		if sc.Annotations[DefaultClassAnnotation] != "true" && sc.Annotations[BetaDefaultClassAnnotation] != "true" {
			continue
		}
		if def == nil || sc.CreationTimestamp.After(def.CreationTimestamp.Time) ||
			(sc.CreationTimestamp.Equal(&def.CreationTimestamp) && sc.Name < def.Name) {
			def = sc
		}
	}
	if def != nil {
		c.defaultClass = def.Name
	}
}

func (c *computer) indexVolumes() {
	c.bySize = make([]*volume, 0, len(c.in.Volumes))
	for _, pv := range c.in.Volumes {
		v := &volume{pv: pv, capacity: pv.Spec.Capacity[corev1.ResourceStorage], class: pv.Spec.StorageClassName}
		c.vols[pv.Name] = v
		c.names[pv.Name] = true
		c.bySize = append(c.bySize, v)
		c.plan.Status[pv.Name] = corev1.VolumeAvailable
		if ref := pv.Spec.ClaimRef; ref != nil {
			k := types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}
			c.byClaimRef[k] = append(c.byClaimRef[k], v)
		}
	}
	bySize := func(a, b *volume) int {
		return cmp.Or(a.capacity.Cmp(b.capacity), cmp.Compare(a.pv.Name, b.pv.Name))
	}
	slices.SortFunc(c.bySize, bySize)
	for _, vs := range c.byClaimRef {
		slices.SortFunc(vs, bySize)
	}
}

// applyLedger walks the current bindings: kept, released, deleted or
// forgotten.
func (c *computer) applyLedger() {
	bs := slices.Clone(c.in.Bindings)
	slices.SortStableFunc(bs, func(a, b Binding) int {
		return cmp.Or(cmp.Compare(a.Claim.Namespace, b.Claim.Namespace), cmp.Compare(a.Claim.Name, b.Claim.Name),
			cmp.Compare(a.Volume, b.Volume))
	})
	claimOf := map[string]types.NamespacedName{} // volume → claim of its kept binding
	for i, b := range bs {
		if i > 0 && bs[i-1].Claim == b.Claim && bs[i-1].Volume == b.Volume {
			continue // the same binding twice: one is enough
		}
		if _, dup := claimOf[b.Volume]; dup || (c.bound[b.Claim] && !b.Released) {
			c.plan.Forget = append(c.plan.Forget, b)
			continue
		}
		v := c.vols[b.Volume]
		if !b.Provisioned && v == nil {
			if _, ok := c.claims[b.Claim]; ok && !b.Released {
				// Kubernetes' Lost claim: keep the binding, so that the
				// volume coming back to Git restores it.
				c.bound[b.Claim] = true
				claimOf[b.Volume] = b.Claim
				c.names[b.Volume] = true
				c.plan.Pending[b.Claim] = fmt.Sprintf("claim lost its persistent volume %q: the volume is no longer in Git", b.Volume)
				continue
			}
			c.plan.Forget = append(c.plan.Forget, b)
			continue
		}
		claimOf[b.Volume] = b.Claim
		c.names[b.Volume] = true
		if v != nil {
			v.taken = true // also for a Git volume shadowed by a provisioned one
		}
		_, claimExists := c.claims[b.Claim]
		switch {
		case b.Released:
			c.plan.Status[b.Volume] = corev1.VolumeReleased
		case claimExists:
			c.bound[b.Claim] = true
			c.plan.Status[b.Volume] = corev1.VolumeBound
		case b.Provisioned && b.ReclaimPolicy == corev1.PersistentVolumeReclaimDelete:
			c.plan.Delete = append(c.plan.Delete, b.Volume)
			c.plan.Status[b.Volume] = corev1.VolumeReleased
		default:
			c.plan.Release = append(c.plan.Release, b)
			c.plan.Status[b.Volume] = corev1.VolumeReleased
			c.explainRelease(b, v)
		}
	}
}

func (c *computer) explainRelease(b Binding, v *volume) {
	policy := b.ReclaimPolicy
	if v != nil {
		policy = v.pv.Spec.PersistentVolumeReclaimPolicy
	}
	switch {
	case v != nil && policy == corev1.PersistentVolumeReclaimDelete:
		c.plan.Messages[b.Volume] = fmt.Sprintf("claim %s is gone; reclaim policy Delete is not applied because shoal deletes only volumes its provisioner made: the volume keeps its data and stays Released", b.Claim)
	case policy == corev1.PersistentVolumeReclaimRecycle:
		c.plan.Messages[b.Volume] = fmt.Sprintf("claim %s is gone; reclaim policy Recycle is not supported: the volume keeps its data and stays Released", b.Claim)
	case b.Provisioned && policy == "":
		c.plan.Messages[b.Volume] = fmt.Sprintf("claim %s is gone; the ledger has no reclaim policy for this volume, so it is kept (Retain)", b.Claim)
	}
}

// claimClass is the storage class a claim asks for, after the default.
func (c *computer) claimClass(pvc *corev1.PersistentVolumeClaim) string {
	if pvc.Spec.StorageClassName != nil {
		return *pvc.Spec.StorageClassName
	}
	return c.defaultClass
}

func (c *computer) bindClaim(pvc *corev1.PersistentVolumeClaim) {
	k := keyOf(pvc)
	className := c.claimClass(pvc)
	sc := c.classes[className]
	if className == "" {
		sc = nil
	}
	// A local-path volume is a directory on one node: it must be made (and
	// bound) on the node of the pod that uses it, so local-path classes
	// always wait for the first consumer.
	delay := sc != nil && (sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer ||
		sc.Provisioner == manifests.LocalPathProvisioner)
	node := c.in.ClaimNodes[k]

	if name := pvc.Spec.VolumeName; name != "" {
		c.bindRequested(pvc, name, className)
		return
	}
	if v := c.findMatch(pvc, className, delay, node); v != nil {
		c.bind(k, v)
		return
	}
	switch {
	case delay && node == "":
		c.plan.Pending[k] = ReasonWaitForConsumer
	case className == "":
		c.plan.Pending[k] = ReasonNoClass
	case sc == nil:
		c.plan.Pending[k] = fmt.Sprintf("storageclass.storage.k8s.io %q not found", className)
	case sc.Provisioner == manifests.LocalPathProvisioner:
		c.provision(pvc, sc, node)
	case delay:
		c.plan.Pending[k] = fmt.Sprintf("no persistent volume of storage class %q is available for this claim on node %q, and the class does not provision volumes (provisioner %q)", className, node, sc.Provisioner)
	default:
		c.plan.Pending[k] = fmt.Sprintf("no persistent volumes available for this claim, and storage class %q does not provision volumes (provisioner %q)", className, sc.Provisioner)
	}
}

func (c *computer) bind(k types.NamespacedName, v *volume) {
	v.taken = true
	c.bound[k] = true
	c.plan.Bind = append(c.plan.Bind, Binding{Claim: k, Volume: v.pv.Name})
	c.plan.Status[v.pv.Name] = corev1.VolumeBound
}

// bindRequested handles a claim with spec.volumeName.
func (c *computer) bindRequested(pvc *corev1.PersistentVolumeClaim, name, className string) {
	k := keyOf(pvc)
	v := c.vols[name]
	switch {
	case v == nil && c.names[name]:
		c.plan.Pending[k] = fmt.Sprintf("volume %q already bound to a different claim", name)
	case v == nil:
		c.plan.Pending[k] = fmt.Sprintf("requested volume %q not found", name)
	case v.taken || (v.pv.Spec.ClaimRef != nil && !claimRefMatches(v.pv.Spec.ClaimRef, pvc)):
		c.plan.Pending[k] = fmt.Sprintf("volume %q already bound to a different claim", name)
	default:
		if err := satisfies(v, pvc, className); err != "" {
			c.plan.Pending[k] = fmt.Sprintf("cannot bind to requested volume %q: %s", name, err)
			return
		}
		c.bind(k, v)
	}
}

// satisfies is Kubernetes' checkVolumeSatisfyClaim: "" when the volume fits.
func satisfies(v *volume, pvc *corev1.PersistentVolumeClaim, className string) string {
	req := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	switch {
	case v.capacity.Cmp(req) < 0:
		return "requested PV is too small"
	case v.class != className:
		return "storageClassName does not match"
	case volumeModeMismatch(pvc, v.pv):
		return "incompatible volumeMode"
	case !accessModesFit(pvc, v.pv):
		return "incompatible accessMode"
	}
	return ""
}

// findMatch is Kubernetes' findBestMatchForClaim: a volume pre-bound to the
// claim by claimRef, or the smallest free volume that fits.
func (c *computer) findMatch(pvc *corev1.PersistentVolumeClaim, className string, delay bool, node string) *volume {
	k := keyOf(pvc)
	req := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	var nodeLabels labels.Set
	if delay && node != "" {
		nodeLabels = c.nodeLabels(node)
	}
	basic := func(v *volume) bool {
		return !v.taken && v.capacity.Cmp(req) >= 0 && !volumeModeMismatch(pvc, v.pv) && accessModesFit(pvc, v.pv) &&
			(nodeLabels == nil || nodeAffinityAdmits(v.pv, node, nodeLabels))
	}
	for _, v := range c.byClaimRef[k] {
		if claimRefMatches(v.pv.Spec.ClaimRef, pvc) && basic(v) {
			return v
		}
	}
	if delay && node == "" {
		return nil
	}
	var selector labels.Selector
	if pvc.Spec.Selector != nil {
		s, err := metav1.LabelSelectorAsSelector(pvc.Spec.Selector)
		if err != nil {
			return nil // validation refuses such selectors; match nothing
		}
		selector = s
	}
	start := sort.Search(len(c.bySize), func(i int) bool { return c.bySize[i].capacity.Cmp(req) >= 0 })
	for _, v := range c.bySize[start:] {
		if v.taken || v.pv.Spec.ClaimRef != nil || v.class != className {
			continue
		}
		if owner, ok := c.requested[v.pv.Name]; ok && owner != k {
			continue
		}
		if selector != nil && !selector.Matches(labels.Set(v.pv.Labels)) {
			continue
		}
		if basic(v) {
			return v
		}
	}
	return nil
}

func (c *computer) nodeLabels(node string) labels.Set {
	set := labels.Set{}
	for k, v := range c.in.NodeLabels[node] {
		set[k] = v
	}
	if _, ok := set[corev1.LabelHostname]; !ok {
		set[corev1.LabelHostname] = node
	}
	return set
}

func (c *computer) provision(pvc *corev1.PersistentVolumeClaim, sc *storagev1.StorageClass, node string) {
	k := keyOf(pvc)
	fail := func(why string) {
		c.plan.Pending[k] = fmt.Sprintf("failed to provision volume with StorageClass %q: %s", sc.Name, why)
	}
	if pvc.Spec.Selector != nil {
		fail("claim.Spec.Selector is not supported for dynamic provisioning")
		return
	}
	if pvc.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		fail("local-path volumes support only volumeMode Filesystem")
		return
	}
	for _, m := range pvc.Spec.AccessModes {
		if m != corev1.ReadWriteOnce && m != corev1.ReadWriteOncePod {
			fail(fmt.Sprintf("local-path volumes are on one node and support only ReadWriteOnce and ReadWriteOncePod, not %s", m))
			return
		}
	}
	name := ""
	for i := 0; ; i++ {
		if name = ProvisionedName(k, i); !c.names[name] {
			break
		}
	}
	c.names[name] = true
	policy := corev1.PersistentVolumeReclaimDelete // Kubernetes' default for classes
	if sc.ReclaimPolicy != nil {
		policy = *sc.ReclaimPolicy
	}
	c.plan.Provision = append(c.plan.Provision, Provision{
		Claim:         k,
		VolumeName:    name,
		Node:          node,
		Capacity:      pvc.Spec.Resources.Requests[corev1.ResourceStorage].DeepCopy(),
		AccessModes:   slices.Clone(pvc.Spec.AccessModes),
		StorageClass:  sc.Name,
		ReclaimPolicy: policy,
		BasePath:      sc.Parameters[BasePathParameter],
	})
	c.plan.Bind = append(c.plan.Bind, Binding{Claim: k, Volume: name, Provisioned: true, Node: node, ReclaimPolicy: policy})
	c.plan.Status[name] = corev1.VolumeBound
	c.bound[k] = true
}
