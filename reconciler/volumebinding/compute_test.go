package volumebinding

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

type want struct {
	bind      []Binding
	release   []Binding
	provision []string // volume names
	delete    []string
	forget    []Binding
	pending   map[types.NamespacedName]string
	status    map[string]corev1.PersistentVolumePhase // checked entries only
	messages  map[string]string                       // volume → substring
}

const (
	rwo  = corev1.ReadWriteOnce
	rwx  = corev1.ReadWriteMany
	rox  = corev1.ReadOnlyMany
	rwop = corev1.ReadWriteOncePod
)

var (
	available = corev1.VolumeAvailable
	boundP    = corev1.VolumeBound
	released  = corev1.VolumeReleased
)

func pending(kv ...string) map[types.NamespacedName]string {
	m := map[types.NamespacedName]string{}
	for i := 0; i < len(kv); i += 2 {
		m[key(kv[i])] = kv[i+1]
	}
	return m
}

func TestCompute(t *testing.T) {
	provA := ProvisionedName(key("a"), 0)
	tests := []struct {
		name string
		in   Input
		want want
	}{
		// smallest fit
		{
			name: "smallest volume that fits wins",
			in: Input{
				Volumes: vols(pv("v500m", "500Mi"), pv("v10", "10Gi"), pv("v5", "5Gi"), pv("v1", "1Gi")),
				Claims:  claims(pvc("a", "2Gi")),
			},
			want: want{bind: bindings(bound("a", "v5")), status: map[string]corev1.PersistentVolumePhase{
				"v5": boundP, "v10": available, "v1": available, "v500m": available}},
		},
		{
			name: "capacity equal to the request fits",
			in:   Input{Volumes: vols(pv("big", "4Gi"), pv("exact", "2Gi")), Claims: claims(pvc("a", "2048Mi"))},
			want: want{bind: bindings(bound("a", "exact"))},
		},
		{
			name: "ties break by volume name",
			in:   Input{Volumes: vols(pv("vb", "5Gi"), pv("vc", "5Gi"), pv("va", "5Gi")), Claims: claims(pvc("a", "1Gi"))},
			want: want{bind: bindings(bound("a", "va"))},
		},
		{
			name: "nothing big enough",
			in:   Input{Volumes: vols(pv("v1", "1Gi")), Claims: claims(pvc("a", "2Gi"))},
			want: want{pending: pending("a", ReasonNoClass), status: map[string]corev1.PersistentVolumePhase{"v1": available}},
		},
		// access modes
		{
			name: "access modes must be a superset",
			in: Input{
				Volumes: vols(pv("rwo", "1Gi"), pv("rwx", "5Gi", pvModes(rwo, rwx)), pv("rox", "2Gi", pvModes(rox))),
				Claims:  claims(pvc("a", "1Gi", pvcModes(rwx, rwo))),
			},
			want: want{bind: bindings(bound("a", "rwx"))},
		},
		{
			name: "no volume offers the access modes",
			in:   Input{Volumes: vols(pv("rwo", "1Gi")), Claims: claims(pvc("a", "1Gi", pvcModes(rwop)))},
			want: want{pending: pending("a", ReasonNoClass)},
		},
		{
			name: "volume modes must be equal",
			in:   Input{Volumes: vols(pv("fs", "1Gi"), pv("block", "5Gi", pvBlock)), Claims: claims(pvc("a", "1Gi", pvcBlock))},
			want: want{bind: bindings(bound("a", "block"))},
		},
		// classes
		{
			name: "same class name only",
			in: Input{
				Volumes:        vols(pv("none", "1Gi"), pv("slow", "1Gi", pvClass("slow")), pv("fast", "9Gi", pvClass("fast"))),
				Claims:         claims(pvc("a", "1Gi", pvcClass("fast"))),
				StorageClasses: classes(sc("fast", noProvisioner), sc("slow", noProvisioner)),
			},
			want: want{bind: bindings(bound("a", "fast"))},
		},
		{
			name: "explicit empty class matches only volumes without a class, even with a default class",
			in: Input{
				Volumes:        vols(pv("std", "1Gi", pvClass("standard")), pv("none", "9Gi")),
				Claims:         claims(pvc("a", "1Gi", pvcClass(""))),
				StorageClasses: classes(sc("standard", noProvisioner, scDefault)),
			},
			want: want{bind: bindings(bound("a", "none"))},
		},
		{
			name: "explicit empty class never provisions",
			in: Input{
				Volumes:        vols(pv("std", "1Gi", pvClass("standard"))),
				Claims:         claims(pvc("a", "1Gi", pvcClass(""))),
				StorageClasses: classes(sc("standard", localPath, scDefault)),
				ClaimNodes:     map[types.NamespacedName]string{key("a"): "n1"},
			},
			want: want{pending: pending("a", ReasonNoClass)},
		},
		{
			name: "nil class without a default class behaves like empty",
			in: Input{
				Volumes:        vols(pv("std", "1Gi", pvClass("standard")), pv("none", "9Gi")),
				Claims:         claims(pvc("a", "1Gi")),
				StorageClasses: classes(sc("standard", noProvisioner)),
			},
			want: want{bind: bindings(bound("a", "none"))},
		},
		{
			name: "nil class gets the default class",
			in: Input{
				Volumes:        vols(pv("none", "1Gi"), pv("std", "9Gi", pvClass("standard"))),
				Claims:         claims(pvc("a", "1Gi")),
				StorageClasses: classes(sc("other", noProvisioner), sc("standard", noProvisioner, scDefault)),
			},
			want: want{bind: bindings(bound("a", "std"))},
		},
		{
			name: "annotation value must be true",
			in: Input{
				Volumes: vols(pv("none", "1Gi"), pv("std", "9Gi", pvClass("standard"))),
				Claims:  claims(pvc("a", "1Gi")),
				StorageClasses: classes(sc("standard", noProvisioner, func(c *storageClass) {
					c.Annotations = map[string]string{DefaultClassAnnotation: "false"}
				})),
			},
			want: want{bind: bindings(bound("a", "none"))},
		},
		{
			name: "newest default class wins",
			in: Input{
				Volumes: vols(pv("old", "1Gi", pvClass("old")), pv("new", "9Gi", pvClass("new"))),
				Claims:  claims(pvc("a", "1Gi")),
				StorageClasses: classes(sc("old", noProvisioner, scDefault, scCreated(now.Add(-time.Hour))),
					sc("new", noProvisioner, scDefault, scCreated(now))),
			},
			want: want{bind: bindings(bound("a", "new"))},
		},
		{
			name: "default classes of the same age: first name wins",
			in: Input{
				Volumes:        vols(pv("vb", "1Gi", pvClass("b")), pv("va", "9Gi", pvClass("a"))),
				Claims:         claims(pvc("a", "1Gi")),
				StorageClasses: classes(sc("b", noProvisioner, scDefault), sc("a", noProvisioner, scDefault)),
			},
			want: want{bind: bindings(bound("a", "va"))},
		},
		{
			name: "class without a StorageClass object still binds static volumes",
			in:   Input{Volumes: vols(pv("v", "1Gi", pvClass("manual"))), Claims: claims(pvc("a", "1Gi", pvcClass("manual")))},
			want: want{bind: bindings(bound("a", "v"))},
		},
		{
			name: "class not found",
			in:   Input{Claims: claims(pvc("a", "1Gi", pvcClass("x")))},
			want: want{pending: pending("a", `storageclass.storage.k8s.io "x" not found`)},
		},
		{
			name: "class that does not provision",
			in:   Input{Claims: claims(pvc("a", "1Gi", pvcClass("s"))), StorageClasses: classes(sc("s", noProvisioner))},
			want: want{pending: pending("a", `no persistent volumes available for this claim, and storage class "s" does not provision volumes (provisioner "kubernetes.io/no-provisioner")`)},
		},
		// selector
		{
			name: "selector must match the volume's labels",
			in: Input{
				Volumes: vols(pv("plain", "1Gi"), pv("silver", "2Gi", pvLabels("tier", "silver")), pv("gold", "5Gi", pvLabels("tier", "gold", "zone", "a"))),
				Claims:  claims(pvc("a", "1Gi", pvcSelector("tier", "gold"))),
			},
			want: want{bind: bindings(bound("a", "gold"))},
		},
		{
			name: "selector matches nothing",
			in:   Input{Volumes: vols(pv("plain", "1Gi")), Claims: claims(pvc("a", "1Gi", pvcSelector("tier", "gold")))},
			want: want{pending: pending("a", ReasonNoClass)},
		},
		// spec.volumeName
		{
			name: "volumeName binds to that volume even when a smaller one fits",
			in:   Input{Volumes: vols(pv("small", "1Gi"), pv("big", "9Gi")), Claims: claims(pvc("a", "1Gi", pvcVolume("big")))},
			want: want{bind: bindings(bound("a", "big"))},
		},
		{
			name: "volumeName ignores the selector",
			in:   Input{Volumes: vols(pv("v", "1Gi")), Claims: claims(pvc("a", "1Gi", pvcVolume("v"), pvcSelector("tier", "gold")))},
			want: want{bind: bindings(bound("a", "v"))},
		},
		{
			name: "volumeName too small",
			in:   Input{Volumes: vols(pv("v", "1Gi"), pv("w", "9Gi")), Claims: claims(pvc("a", "2Gi", pvcVolume("v")))},
			want: want{pending: pending("a", `cannot bind to requested volume "v": requested PV is too small`)},
		},
		{
			name: "volumeName of another class",
			in:   Input{Volumes: vols(pv("v", "1Gi", pvClass("x"))), Claims: claims(pvc("a", "1Gi", pvcVolume("v")))},
			want: want{pending: pending("a", `cannot bind to requested volume "v": storageClassName does not match`)},
		},
		{
			name: "volumeName with incompatible access modes",
			in:   Input{Volumes: vols(pv("v", "1Gi")), Claims: claims(pvc("a", "1Gi", pvcVolume("v"), pvcModes(rwx)))},
			want: want{pending: pending("a", `cannot bind to requested volume "v": incompatible accessMode`)},
		},
		{
			name: "volumeName not found",
			in:   Input{Volumes: vols(pv("w", "1Gi")), Claims: claims(pvc("a", "1Gi", pvcVolume("v")))},
			want: want{pending: pending("a", `requested volume "v" not found`), status: map[string]corev1.PersistentVolumePhase{"w": available}},
		},
		{
			name: "volumeName already bound to another claim",
			in: Input{
				Volumes:  vols(pv("v", "1Gi"), pv("w", "1Gi")),
				Claims:   claims(pvc("a", "1Gi", pvcVolume("v")), pvc("b", "1Gi")),
				Bindings: bindings(bound("b", "v")),
			},
			want: want{pending: pending("a", `volume "v" already bound to a different claim`)},
		},
		{
			name: "volumeName of a volume pre-bound to another claim",
			in:   Input{Volumes: vols(pv("v", "1Gi", pvClaimRef("b"))), Claims: claims(pvc("a", "1Gi", pvcVolume("v")))},
			want: want{pending: pending("a", `volume "v" already bound to a different claim`), status: map[string]corev1.PersistentVolumePhase{"v": available}},
		},
		{
			name: "a volume named by a claim's volumeName is kept for it",
			in:   Input{Volumes: vols(pv("v", "1Gi")), Claims: claims(pvc("a", "1Gi"), pvc("b", "1Gi", pvcVolume("v")))},
			want: want{bind: bindings(bound("b", "v")), pending: pending("a", ReasonNoClass)},
		},
		{
			name: "two claims naming one volume: the first in order gets it",
			in:   Input{Volumes: vols(pv("v", "1Gi")), Claims: claims(pvc("b", "1Gi", pvcVolume("v")), pvc("a", "1Gi", pvcVolume("v")))},
			want: want{bind: bindings(bound("a", "v")), pending: pending("b", `volume "v" already bound to a different claim`)},
		},
		// spec.claimRef
		{
			name: "claimRef volume only binds to its claim",
			in:   Input{Volumes: vols(pv("v", "1Gi", pvClaimRef("b"))), Claims: claims(pvc("a", "1Gi"))},
			want: want{pending: pending("a", ReasonNoClass), status: map[string]corev1.PersistentVolumePhase{"v": available}},
		},
		{
			name: "claimRef volume wins over a smaller one and ignores class and selector",
			in: Input{
				Volumes: vols(pv("small", "1Gi", pvClass("x")), pv("ref", "9Gi", pvClaimRef("a"))),
				Claims:  claims(pvc("a", "1Gi", pvcClass("x"), pvcSelector("k", "v"))),
			},
			want: want{bind: bindings(bound("a", "ref"))},
		},
		{
			name: "claimRef volume too small is not bound",
			in:   Input{Volumes: vols(pv("ref", "1Gi", pvClaimRef("a")), pv("other", "9Gi")), Claims: claims(pvc("a", "2Gi"))},
			want: want{bind: bindings(bound("a", "other"))},
		},
		{
			name: "claimRef with a different UID does not match a claim with a UID",
			in: Input{
				Volumes: vols(pv("ref", "1Gi", pvClaimRef("a"), func(v *corev1.PersistentVolume) { v.Spec.ClaimRef.UID = "u1" })),
				Claims:  claims(pvc("a", "1Gi", func(c *corev1.PersistentVolumeClaim) { c.UID = "u2" })),
			},
			want: want{pending: pending("a", ReasonNoClass)},
		},
		// competition
		{
			name: "two claims compete for one volume: first by namespace/name wins",
			in:   Input{Volumes: vols(pv("v", "1Gi")), Claims: claims(pvc("b", "1Gi"), pvc("a", "1Gi"))},
			want: want{bind: bindings(bound("a", "v")), pending: pending("b", ReasonNoClass)},
		},
		{
			name: "two claims, two volumes: each gets its own",
			in:   Input{Volumes: vols(pv("v2", "2Gi"), pv("v1", "1Gi")), Claims: claims(pvc("b", "1Gi"), pvc("a", "1Gi"))},
			want: want{bind: bindings(bound("a", "v1"), bound("b", "v2"))},
		},
		{
			name: "namespace sorts before name",
			in: Input{
				Volumes: vols(pv("v", "1Gi")),
				Claims: claims(pvc("a", "1Gi"), func() *corev1.PersistentVolumeClaim {
					c := pvc("z", "1Gi")
					c.Namespace = "aaa"
					return c
				}()),
			},
			want: want{
				bind:    bindings(Binding{Claim: types.NamespacedName{Namespace: "aaa", Name: "z"}, Volume: "v"}),
				pending: pending("a", ReasonNoClass),
			},
		},
		// WaitForFirstConsumer
		{
			name: "WaitForFirstConsumer without a node waits",
			in: Input{
				Volumes:        vols(pv("v", "1Gi", pvClass("local"))),
				Claims:         claims(pvc("a", "1Gi", pvcClass("local"))),
				StorageClasses: classes(sc("local", noProvisioner, scWFFC)),
			},
			want: want{pending: pending("a", ReasonWaitForConsumer), status: map[string]corev1.PersistentVolumePhase{"v": available}},
		},
		{
			name: "WaitForFirstConsumer with a node takes a volume on that node",
			in: Input{
				Volumes: vols(pv("n1", "1Gi", pvClass("local"), pvOnNode(corev1.LabelHostname, "n1")),
					pv("n2", "1Gi", pvClass("local"), pvOnNode(corev1.LabelHostname, "n2")),
					pv("n2big", "5Gi", pvClass("local"), pvOnNode(corev1.LabelHostname, "n2"))),
				Claims:         claims(pvc("a", "1Gi", pvcClass("local"))),
				StorageClasses: classes(sc("local", noProvisioner, scWFFC)),
				ClaimNodes:     map[types.NamespacedName]string{key("a"): "n2"},
			},
			want: want{bind: bindings(bound("a", "n2"))},
		},
		{
			name: "WaitForFirstConsumer uses the node's labels",
			in: Input{
				Volumes:        vols(pv("za", "1Gi", pvClass("local"), pvOnNode("zone", "a")), pv("zb", "1Gi", pvClass("local"), pvOnNode("zone", "b"))),
				Claims:         claims(pvc("a", "1Gi", pvcClass("local"))),
				StorageClasses: classes(sc("local", noProvisioner, scWFFC)),
				ClaimNodes:     map[types.NamespacedName]string{key("a"): "n1"},
				NodeLabels:     map[string]map[string]string{"n1": {"zone": "b"}},
			},
			want: want{bind: bindings(bound("a", "zb"))},
		},
		{
			name: "WaitForFirstConsumer with a node and no volume there",
			in: Input{
				Volumes:        vols(pv("n1", "1Gi", pvClass("local"), pvOnNode(corev1.LabelHostname, "n1"))),
				Claims:         claims(pvc("a", "1Gi", pvcClass("local"))),
				StorageClasses: classes(sc("local", noProvisioner, scWFFC)),
				ClaimNodes:     map[types.NamespacedName]string{key("a"): "n2"},
			},
			want: want{pending: pending("a", `no persistent volume of storage class "local" is available for this claim on node "n2", and the class does not provision volumes (provisioner "kubernetes.io/no-provisioner")`)},
		},
		{
			name: "WaitForFirstConsumer binds a claimRef volume without a node",
			in: Input{
				Volumes:        vols(pv("v", "1Gi", pvClass("local"), pvClaimRef("a"))),
				Claims:         claims(pvc("a", "1Gi", pvcClass("local"))),
				StorageClasses: classes(sc("local", noProvisioner, scWFFC)),
			},
			want: want{bind: bindings(bound("a", "v"))},
		},
		{
			name: "Immediate ignores node affinity",
			in: Input{
				Volumes:        vols(pv("v", "1Gi", pvClass("s"), pvOnNode(corev1.LabelHostname, "n1"))),
				Claims:         claims(pvc("a", "1Gi", pvcClass("s"))),
				StorageClasses: classes(sc("s", noProvisioner)),
				ClaimNodes:     map[types.NamespacedName]string{key("a"): "n2"},
			},
			want: want{bind: bindings(bound("a", "v"))},
		},
		// local-path provisioning
		{
			name: "local-path Immediate still waits for a node",
			in:   Input{Claims: claims(pvc("a", "1Gi", pvcClass("lp"))), StorageClasses: classes(sc("lp", localPath))},
			want: want{pending: pending("a", ReasonWaitForConsumer)},
		},
		{
			name: "local-path provisions on the claim's node",
			in: Input{
				Claims:         claims(pvc("a", "1Gi", pvcClass("lp"))),
				StorageClasses: classes(sc("lp", localPath)),
				ClaimNodes:     map[types.NamespacedName]string{key("a"): "n1"},
			},
			want: want{
				bind:      bindings(Binding{Claim: key("a"), Volume: provA, Provisioned: true, Node: "n1", ReclaimPolicy: corev1.PersistentVolumeReclaimDelete}),
				provision: []string{provA},
				status:    map[string]corev1.PersistentVolumePhase{provA: boundP},
			},
		},
		{
			name: "local-path prefers a static volume that fits",
			in: Input{
				Volumes:        vols(pv("v", "1Gi", pvClass("lp"), pvOnNode(corev1.LabelHostname, "n1"))),
				Claims:         claims(pvc("a", "1Gi", pvcClass("lp"))),
				StorageClasses: classes(sc("lp", localPath, scWFFC)),
				ClaimNodes:     map[types.NamespacedName]string{key("a"): "n1"},
			},
			want: want{bind: bindings(bound("a", "v"))},
		},
		{
			name: "local-path default class for a claim without class",
			in: Input{
				Claims:         claims(pvc("a", "1Gi")),
				StorageClasses: classes(sc("lp", localPath, scDefault, scRetain)),
				ClaimNodes:     map[types.NamespacedName]string{key("a"): "n1"},
			},
			want: want{
				bind:      bindings(Binding{Claim: key("a"), Volume: provA, Provisioned: true, Node: "n1", ReclaimPolicy: corev1.PersistentVolumeReclaimRetain}),
				provision: []string{provA},
			},
		},
		{
			name: "local-path refuses shared access modes",
			in: Input{
				Claims:         claims(pvc("a", "1Gi", pvcClass("lp"), pvcModes(rwx))),
				StorageClasses: classes(sc("lp", localPath)),
				ClaimNodes:     map[types.NamespacedName]string{key("a"): "n1"},
			},
			want: want{pending: pending("a", `failed to provision volume with StorageClass "lp": local-path volumes are on one node and support only ReadWriteOnce and ReadWriteOncePod, not ReadWriteMany`)},
		},
		{
			name: "local-path refuses a selector",
			in: Input{
				Claims:         claims(pvc("a", "1Gi", pvcClass("lp"), pvcSelector("k", "v"))),
				StorageClasses: classes(sc("lp", localPath)),
				ClaimNodes:     map[types.NamespacedName]string{key("a"): "n1"},
			},
			want: want{pending: pending("a", `failed to provision volume with StorageClass "lp": claim.Spec.Selector is not supported for dynamic provisioning`)},
		},
		{
			name: "a provisioned name taken by a Released volume gets the next name",
			in: Input{
				Claims:         claims(pvc("a", "1Gi", pvcClass("lp"))),
				StorageClasses: classes(sc("lp", localPath)),
				ClaimNodes:     map[types.NamespacedName]string{key("a"): "n1"},
				Bindings:       bindings(Binding{Claim: key("a"), Volume: provA, Provisioned: true, Node: "n1", ReclaimPolicy: corev1.PersistentVolumeReclaimRetain, Released: true}),
			},
			want: want{
				bind: bindings(Binding{Claim: key("a"), Volume: ProvisionedName(key("a"), 1), Provisioned: true, Node: "n1",
					ReclaimPolicy: corev1.PersistentVolumeReclaimDelete}),
				provision: []string{ProvisionedName(key("a"), 1)},
				status:    map[string]corev1.PersistentVolumePhase{provA: released, ProvisionedName(key("a"), 1): boundP},
			},
		},
		// existing bindings
		{
			name: "an existing binding stays, without re-checking the claim",
			in: Input{
				Volumes:  vols(pv("v", "1Gi"), pv("w", "9Gi")),
				Claims:   claims(pvc("a", "5Gi")),
				Bindings: bindings(bound("a", "v")),
			},
			want: want{status: map[string]corev1.PersistentVolumePhase{"v": boundP, "w": available}},
		},
		{
			name: "claim gone, Retain: Release",
			in:   Input{Volumes: vols(pv("v", "1Gi")), Bindings: bindings(bound("a", "v"))},
			want: want{release: bindings(bound("a", "v")), status: map[string]corev1.PersistentVolumePhase{"v": released}},
		},
		{
			name: "claim gone, static volume with Delete: Release with a reason",
			in:   Input{Volumes: vols(pv("v", "1Gi", pvPolicy(corev1.PersistentVolumeReclaimDelete))), Bindings: bindings(bound("a", "v"))},
			want: want{
				release:  bindings(bound("a", "v")),
				status:   map[string]corev1.PersistentVolumePhase{"v": released},
				messages: map[string]string{"v": "shoal deletes only volumes its provisioner made"},
			},
		},
		{
			name: "claim gone, provisioned volume with Delete: Delete",
			in: Input{Bindings: bindings(Binding{Claim: key("a"), Volume: provA, Provisioned: true, Node: "n1",
				ReclaimPolicy: corev1.PersistentVolumeReclaimDelete})},
			want: want{delete: []string{provA}},
		},
		{
			name: "claim gone, provisioned volume with Retain: Release",
			in: Input{Bindings: bindings(Binding{Claim: key("a"), Volume: provA, Provisioned: true, Node: "n1",
				ReclaimPolicy: corev1.PersistentVolumeReclaimRetain})},
			want: want{
				release: bindings(Binding{Claim: key("a"), Volume: provA, Provisioned: true, Node: "n1", ReclaimPolicy: corev1.PersistentVolumeReclaimRetain}),
				status:  map[string]corev1.PersistentVolumePhase{provA: released},
			},
		},
		{
			name: "a Released volume is never rebound, not even to a claim of the same name",
			in: Input{
				Volumes:  vols(pv("v", "1Gi")),
				Claims:   claims(pvc("a", "1Gi"), pvc("b", "1Gi")),
				Bindings: bindings(Binding{Claim: key("a"), Volume: "v", Released: true}),
			},
			want: want{pending: pending("a", ReasonNoClass, "b", ReasonNoClass), status: map[string]corev1.PersistentVolumePhase{"v": released}},
		},
		{
			name: "a Released volume named by volumeName is not rebound",
			in: Input{
				Volumes:  vols(pv("v", "1Gi")),
				Claims:   claims(pvc("a", "1Gi", pvcVolume("v"))),
				Bindings: bindings(Binding{Claim: key("a"), Volume: "v", Released: true}),
			},
			want: want{pending: pending("a", `volume "v" already bound to a different claim`)},
		},
		{
			name: "bound volume left Git: the claim is lost, the binding kept",
			in:   Input{Volumes: vols(pv("w", "1Gi")), Claims: claims(pvc("a", "1Gi")), Bindings: bindings(bound("a", "v"))},
			want: want{
				pending: pending("a", `claim lost its persistent volume "v": the volume is no longer in Git`),
				status:  map[string]corev1.PersistentVolumePhase{"w": available},
			},
		},
		{
			name: "volume and claim both gone: forget",
			in:   Input{Bindings: bindings(bound("a", "v"))},
			want: want{forget: bindings(bound("a", "v"))},
		},
		{
			name: "Released volume left Git: forget",
			in:   Input{Bindings: bindings(Binding{Claim: key("a"), Volume: "v", Released: true})},
			want: want{forget: bindings(Binding{Claim: key("a"), Volume: "v", Released: true})},
		},
		{
			name: "conflicting ledger bindings: the first in order is kept, the rest forgotten",
			in: Input{
				Volumes:  vols(pv("v", "1Gi"), pv("w", "1Gi")),
				Claims:   claims(pvc("a", "1Gi"), pvc("b", "1Gi")),
				Bindings: bindings(bound("b", "v"), bound("a", "w"), bound("a", "v"), bound("a", "w")),
			},
			want: want{
				bind:   bindings(bound("b", "w")),
				forget: bindings(bound("a", "w"), bound("b", "v")),
				status: map[string]corev1.PersistentVolumePhase{"v": boundP, "w": boundP},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = now
			got := Compute(tt.in)
			check(t, got, tt.want)
			checkInvariants(t, tt.in, got)
			checkIdempotent(t, tt.in, got)
		})
	}
}

func check(t *testing.T, got Plan, w want) {
	t.Helper()
	eq := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
		}
	}
	eq("Bind", nilIfEmpty(got.Bind), nilIfEmpty(w.bind))
	eq("Release", nilIfEmpty(got.Release), nilIfEmpty(w.release))
	eq("Forget", nilIfEmpty(got.Forget), nilIfEmpty(w.forget))
	eq("Delete", nilIfEmpty(got.Delete), nilIfEmpty(w.delete))
	var names []string
	for _, p := range got.Provision {
		names = append(names, p.VolumeName)
	}
	eq("Provision", names, w.provision)
	if w.pending == nil {
		w.pending = map[types.NamespacedName]string{}
	}
	eq("Pending", got.Pending, w.pending)
	for v, phase := range w.status {
		if got.Status[v] != phase {
			t.Errorf("Status[%s] = %q, want %q", v, got.Status[v], phase)
		}
	}
	for v, sub := range w.messages {
		if !strings.Contains(got.Messages[v], sub) {
			t.Errorf("Messages[%s] = %q, want it to contain %q", v, got.Messages[v], sub)
		}
	}
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// checkInvariants: no volume and no claim bound twice, every Git volume has
// a phase, and a pending claim is not bound.
func checkInvariants(t *testing.T, in Input, p Plan) {
	t.Helper()
	ledger := p.Apply(in.Bindings)
	vols, cls := map[string]bool{}, map[types.NamespacedName]bool{}
	for _, b := range ledger {
		if vols[b.Volume] {
			t.Errorf("volume %s bound twice in %+v", b.Volume, ledger)
		}
		vols[b.Volume] = true
		if b.Released {
			continue
		}
		if cls[b.Claim] {
			t.Errorf("claim %s bound twice in %+v", b.Claim, ledger)
		}
		cls[b.Claim] = true
	}
	for _, v := range in.Volumes {
		if p.Status[v.Name] == "" {
			t.Errorf("volume %s has no phase", v.Name)
		}
	}
	for _, b := range p.Bind {
		if _, ok := p.Pending[b.Claim]; ok {
			t.Errorf("claim %s both bound and pending", b.Claim)
		}
	}
}

// checkIdempotent feeds the plan back into the ledger: the next plan must
// change nothing and report the same phases.
func checkIdempotent(t *testing.T, in Input, p Plan) {
	t.Helper()
	in.Bindings = p.Apply(in.Bindings)
	again := Compute(in)
	if !again.Empty() {
		t.Errorf("second Compute is not empty: %+v", again)
	}
	wantStatus := maps.Clone(p.Status)
	for _, v := range p.Delete {
		delete(wantStatus, v)
	}
	if !reflect.DeepEqual(again.Status, wantStatus) {
		t.Errorf("second Compute changed phases:\n got  %v\n want %v", again.Status, wantStatus)
	}
}

func TestProvisionDetails(t *testing.T) {
	in := Input{
		Claims:         claims(pvc("a", "3Gi", pvcClass("lp"), pvcModes(rwo, rwop))),
		StorageClasses: classes(sc("lp", localPath, scRetain, scBasePath("/data/volumes"))),
		ClaimNodes:     map[types.NamespacedName]string{key("a"): "n7"},
		Now:            now,
	}
	p := Compute(in)
	if len(p.Provision) != 1 {
		t.Fatalf("Provision = %+v, want one", p.Provision)
	}
	got := p.Provision[0]
	if got.Claim != key("a") || got.VolumeName != ProvisionedName(key("a"), 0) || got.Node != "n7" ||
		got.StorageClass != "lp" || got.ReclaimPolicy != corev1.PersistentVolumeReclaimRetain ||
		got.BasePath != "/data/volumes" || got.Capacity.String() != "3Gi" ||
		!slices.Equal(got.AccessModes, []corev1.PersistentVolumeAccessMode{rwo, rwop}) {
		t.Errorf("Provision = %+v", got)
	}
	// The plan must not share memory with the input.
	got.AccessModes[0] = rwx
	if in.Claims[0].Spec.AccessModes[0] != rwo {
		t.Error("Provision.AccessModes aliases the claim's")
	}
}

func TestProvisionedName(t *testing.T) {
	shape := regexp.MustCompile(`^pvc-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	a := ProvisionedName(key("a"), 0)
	tests := []struct {
		name  string
		claim types.NamespacedName
		n     int
		same  bool
	}{
		{"same claim, same name", key("a"), 0, true},
		{"other name", key("b"), 0, false},
		{"other namespace", types.NamespacedName{Namespace: "other", Name: "a"}, 0, false},
		{"namespace/name boundary", types.NamespacedName{Namespace: "ap", Name: "p/a"}, 0, false},
		{"next attempt", key("a"), 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ProvisionedName(tt.claim, tt.n)
			if !shape.MatchString(got) {
				t.Errorf("ProvisionedName = %q, not pvc-<uuid>", got)
			}
			if (got == a) != tt.same {
				t.Errorf("ProvisionedName(%v, %d) = %q; equal to %q: %v, want %v", tt.claim, tt.n, got, a, got == a, tt.same)
			}
		})
	}
	// Pinned: a change of the scheme would orphan every provisioned volume.
	if got, want := ProvisionedName(types.NamespacedName{Namespace: "default", Name: "data"}, 0), pinnedName; got != want {
		t.Errorf("ProvisionedName(default/data) = %q, want %q", got, want)
	}
}

// TestDeterministic shuffles the input: the plan must not change.
func TestDeterministic(t *testing.T) {
	in := bigInput(60, 60)
	want := Compute(in)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		shuffled := in
		shuffled.Volumes = slices.Clone(in.Volumes)
		shuffled.Claims = slices.Clone(in.Claims)
		shuffled.Bindings = slices.Clone(in.Bindings)
		r.Shuffle(len(shuffled.Volumes), func(i, j int) { shuffled.Volumes[i], shuffled.Volumes[j] = shuffled.Volumes[j], shuffled.Volumes[i] })
		r.Shuffle(len(shuffled.Claims), func(i, j int) { shuffled.Claims[i], shuffled.Claims[j] = shuffled.Claims[j], shuffled.Claims[i] })
		r.Shuffle(len(shuffled.Bindings), func(i, j int) {
			shuffled.Bindings[i], shuffled.Bindings[j] = shuffled.Bindings[j], shuffled.Bindings[i]
		})
		if got := Compute(shuffled); !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffle %d changed the plan", i)
		}
	}
	checkInvariants(t, in, want)
	checkIdempotent(t, in, want)
	if len(want.Bind) == 0 || len(want.Provision) == 0 || len(want.Release) == 0 || len(want.Pending) == 0 {
		t.Errorf("bigInput should exercise binding, provisioning, release and pending: %d %d %d %d",
			len(want.Bind), len(want.Provision), len(want.Release), len(want.Pending))
	}
}

func TestApply(t *testing.T) {
	p := Plan{
		Bind:    bindings(bound("new", "n")),
		Release: bindings(bound("gone", "r")),
		Delete:  []string{"d"},
		Forget:  bindings(bound("x", "f")),
	}
	ledger := bindings(bound("keep", "k"), bound("gone", "r"), Binding{Claim: key("old"), Volume: "d", Provisioned: true},
		bound("x", "f"), bound("keep", "k"), bound("static", "d"))
	got := p.Apply(ledger)
	want := bindings(bound("keep", "k"), Binding{Claim: key("gone"), Volume: "r", Released: true}, bound("static", "d"), bound("new", "n"))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Apply:\n got  %+v\n want %+v", got, want)
	}
	if ledger[1].Released {
		t.Error("Apply modified its input")
	}
}

// bigInput is a cluster of n volumes and m claims with a bit of everything.
func bigInput(n, m int) Input {
	in := Input{
		StorageClasses: classes(sc("std", noProvisioner, scDefault), sc("lp", localPath, scWFFC), sc("wffc", noProvisioner, scWFFC)),
		ClaimNodes:     map[types.NamespacedName]string{},
		Now:            now,
	}
	for i := range n {
		opts := []pvOpt{pvClass([]string{"std", "wffc", "", "std"}[i%4])}
		if i%4 == 1 {
			opts = append(opts, pvOnNode(corev1.LabelHostname, fmt.Sprintf("n%d", i%7)))
		}
		if i%5 == 0 {
			opts = append(opts, pvModes(rwo, rwx))
		}
		if i%11 == 0 {
			opts = append(opts, pvLabels("tier", "gold"))
		}
		in.Volumes = append(in.Volumes, pv(fmt.Sprintf("pv-%04d", i), fmt.Sprintf("%dGi", 1+i%13), opts...))
	}
	for i := range m {
		var opts []pvcOpt
		switch i % 6 {
		case 1:
			opts = append(opts, pvcClass("wffc"))
		case 2:
			opts = append(opts, pvcClass("lp"))
		case 3:
			opts = append(opts, pvcClass(""))
		case 4:
			opts = append(opts, pvcModes(rwx))
		}
		if i%17 == 0 {
			opts = append(opts, pvcSelector("tier", "gold"))
		}
		c := pvc(fmt.Sprintf("pvc-%04d", i), fmt.Sprintf("%dGi", 1+i%9), opts...)
		if i%3 != 0 {
			in.ClaimNodes[keyOf(c)] = fmt.Sprintf("n%d", i%7)
		}
		in.Claims = append(in.Claims, c)
	}
	// A tenth of the volumes are already bound, half of those to claims
	// that are gone.
	for i := 0; i < n; i += 10 {
		claim := fmt.Sprintf("gone-%04d", i)
		if i%20 == 0 && i < m {
			claim = fmt.Sprintf("pvc-%04d", i)
		}
		in.Bindings = append(in.Bindings, bound(claim, fmt.Sprintf("pv-%04d", i)))
	}
	return in
}

func BenchmarkCompute(b *testing.B) {
	in := bigInput(1000, 1000)
	b.ReportAllocs()
	for b.Loop() {
		Compute(in)
	}
}
