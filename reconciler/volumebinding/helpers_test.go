package volumebinding

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/shoal-run/shoal/manifests"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

const ns = "app"

func key(name string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: name} }

func ptr[T any](v T) *T { return &v }

type pvOpt func(*corev1.PersistentVolume)

func pv(name, size string, opts ...pvOpt) *corev1.PersistentVolume {
	v := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			VolumeMode:                    ptr(corev1.PersistentVolumeFilesystem),
		},
	}
	for _, o := range opts {
		o(v)
	}
	return v
}

func pvClass(c string) pvOpt { return func(v *corev1.PersistentVolume) { v.Spec.StorageClassName = c } }
func pvModes(m ...corev1.PersistentVolumeAccessMode) pvOpt {
	return func(v *corev1.PersistentVolume) { v.Spec.AccessModes = m }
}
func pvLabels(kv ...string) pvOpt {
	return func(v *corev1.PersistentVolume) {
		v.Labels = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			v.Labels[kv[i]] = kv[i+1]
		}
	}
}
func pvClaimRef(name string) pvOpt {
	return func(v *corev1.PersistentVolume) {
		v.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: ns, Name: name}
	}
}
func pvPolicy(p corev1.PersistentVolumeReclaimPolicy) pvOpt {
	return func(v *corev1.PersistentVolume) { v.Spec.PersistentVolumeReclaimPolicy = p }
}
func pvBlock(v *corev1.PersistentVolume) { v.Spec.VolumeMode = ptr(corev1.PersistentVolumeBlock) }

// pvOnNode pins the volume with nodeAffinity key In [values].
func pvOnNode(key string, values ...string) pvOpt {
	return func(v *corev1.PersistentVolume) {
		v.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: key, Operator: corev1.NodeSelectorOpIn, Values: values},
			}}},
		}}
	}
}

type pvcOpt func(*corev1.PersistentVolumeClaim)

func pvc(name, size string, opts ...pvcOpt) *corev1.PersistentVolumeClaim {
	c := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			},
			VolumeMode: ptr(corev1.PersistentVolumeFilesystem),
		},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func pvcClass(c string) pvcOpt {
	return func(v *corev1.PersistentVolumeClaim) { v.Spec.StorageClassName = ptr(c) }
}
func pvcModes(m ...corev1.PersistentVolumeAccessMode) pvcOpt {
	return func(v *corev1.PersistentVolumeClaim) { v.Spec.AccessModes = m }
}
func pvcSelector(kv ...string) pvcOpt {
	return func(v *corev1.PersistentVolumeClaim) {
		v.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{}}
		for i := 0; i < len(kv); i += 2 {
			v.Spec.Selector.MatchLabels[kv[i]] = kv[i+1]
		}
	}
}
func pvcVolume(name string) pvcOpt {
	return func(v *corev1.PersistentVolumeClaim) { v.Spec.VolumeName = name }
}
func pvcBlock(v *corev1.PersistentVolumeClaim) { v.Spec.VolumeMode = ptr(corev1.PersistentVolumeBlock) }

type scOpt func(*storagev1.StorageClass)

func sc(name, provisioner string, opts ...scOpt) *storagev1.StorageClass {
	c := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       provisioner,
		ReclaimPolicy:     ptr(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr(storagev1.VolumeBindingImmediate),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

const noProvisioner = "kubernetes.io/no-provisioner"

var localPath = manifests.LocalPathProvisioner

func scWFFC(c *storagev1.StorageClass) {
	c.VolumeBindingMode = ptr(storagev1.VolumeBindingWaitForFirstConsumer)
}
func scDefault(c *storagev1.StorageClass) {
	c.Annotations = map[string]string{DefaultClassAnnotation: "true"}
}
func scCreated(t time.Time) scOpt {
	return func(c *storagev1.StorageClass) { c.CreationTimestamp = metav1.NewTime(t) }
}
func scRetain(c *storagev1.StorageClass) { c.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRetain) }
func scBasePath(p string) scOpt {
	return func(c *storagev1.StorageClass) { c.Parameters = map[string]string{BasePathParameter: p} }
}

func bound(claim, volume string) Binding { return Binding{Claim: key(claim), Volume: volume} }

func vols(v ...*corev1.PersistentVolume) []*corev1.PersistentVolume             { return v }
func claims(c ...*corev1.PersistentVolumeClaim) []*corev1.PersistentVolumeClaim { return c }
func classes(c ...*storagev1.StorageClass) []*storagev1.StorageClass            { return c }
func bindings(b ...Binding) []Binding                                           { return b }

type storageClass = storagev1.StorageClass

// pinnedName is ProvisionedName(default/data, 0), computed independently.
const pinnedName = "pvc-d20db027-10d8-e9fb-40cd-54ac6dfe2af4"
