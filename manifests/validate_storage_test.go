package manifests

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func validPersistentVolume() *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-data-1"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: qty("10Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              "local-disk",
			VolumeMode:                    ptr(corev1.PersistentVolumeFilesystem),
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				NFS: &corev1.NFSVolumeSource{Server: "nfs.example.com", Path: "/exports/data"},
			},
		},
	}
}

func localVolumeSource() corev1.PersistentVolumeSource {
	return corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/mnt/disks/ssd1"}}
}

func TestValidatePersistentVolume(t *testing.T) {
	runErrCases(t, validPersistentVolume, []errCase[*corev1.PersistentVolume]{
		{name: "valid"},
		{name: "valid local with node affinity", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.PersistentVolumeSource = localVolumeSource()
			pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-1"}}},
			}}}}
		}},
		{name: "namespace forbidden", mutate: func(pv *corev1.PersistentVolume) { pv.Namespace = "default" },
			want: []string{"metadata.namespace: Forbidden: not allowed on this type"}},
		{name: "capacity required", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.Capacity = nil },
			want: []string{"spec.capacity: Required value", `spec.capacity: Unsupported value: null: supported values: "storage"`}},
		{name: "capacity with cpu", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.Capacity[corev1.ResourceCPU] = qty("1") },
			want: []string{`spec.capacity: Unsupported value: {"cpu":"1","storage":"10Gi"}: supported values: "storage"`}},
		{name: "capacity zero", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.Capacity[corev1.ResourceStorage] = qty("0") },
			want: []string{`spec.capacity[storage]: Invalid value: "0": must be greater than zero`}},
		{name: "accessModes required", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.AccessModes = nil },
			want: []string{"spec.accessModes: Required value"}},
		{name: "accessMode unknown", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadWriteAll"}
		}, want: []string{`spec.accessModes: Unsupported value: "ReadWriteAll": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`}},
		{name: "ReadWriteOncePod with others", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadOnlyMany}
		}, want: []string{"spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"}},
		{name: "no source", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeSource = corev1.PersistentVolumeSource{} },
			want: []string{"spec: Required value: must specify a volume type"}},
		{name: "two sources", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.HostPath = &corev1.HostPathVolumeSource{Path: "/data"}
		}, want: []string{"spec.nfs: Forbidden: may not specify more than 1 volume type"}},
		{name: "nfs path relative", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.NFS.Path = "exports" },
			want: []string{`spec.nfs.path: Invalid value: "exports": must be an absolute path`}},
		{name: "local without node affinity", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeSource = localVolumeSource() },
			want: []string{"spec.nodeAffinity: Required value: Local volume requires node affinity"}},
		{name: "csi needs handle", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.PersistentVolumeSource = corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com"}}
		}, want: []string{"spec.csi.volumeHandle: Required value"}},
		{name: "reclaim policy unknown", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.PersistentVolumeReclaimPolicy = "Archive" },
			want: []string{`spec.persistentVolumeReclaimPolicy: Unsupported value: "Archive": supported values: "Delete", "Recycle", "Retain"`}},
		{name: "recycle hostPath root", mutate: func(pv *corev1.PersistentVolume) {
			pv.Spec.PersistentVolumeSource = corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}
			pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRecycle
		}, want: []string{"spec.persistentVolumeReclaimPolicy: Forbidden: may not be 'recycle' for a hostPath mount of '/'"}},
		{name: "volumeMode unknown", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.VolumeMode = ptr[corev1.PersistentVolumeMode]("Raw") },
			want: []string{`spec.volumeMode: Unsupported value: "Raw": supported values: "Block", "Filesystem"`}},
		{name: "storageClassName invalid", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.StorageClassName = "Fast_SSD" },
			want: []string{`spec.storageClassName: Invalid value: "Fast_SSD": ` + dns1123SubdomainMsg}},
	})
}

func validPersistentVolumeClaim() *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: meta("data"),
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: qty("5Gi")}},
			StorageClassName: ptr("standard"),
			VolumeMode:       ptr(corev1.PersistentVolumeFilesystem),
			Selector:         &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "data"}},
		},
	}
}

func TestValidatePersistentVolumeClaim(t *testing.T) {
	runErrCases(t, validPersistentVolumeClaim, []errCase[*corev1.PersistentVolumeClaim]{
		{name: "valid"},
		{name: "valid snapshot data source", mutate: func(c *corev1.PersistentVolumeClaim) {
			c.Spec.DataSource = &corev1.TypedLocalObjectReference{APIGroup: ptr("snapshot.storage.k8s.io"), Kind: "VolumeSnapshot", Name: "nightly"}
		}},
		{name: "accessModes required", mutate: func(c *corev1.PersistentVolumeClaim) { c.Spec.AccessModes = nil },
			want: []string{"spec.accessModes: Required value: at least 1 access mode is required"}},
		{name: "storage request required", mutate: func(c *corev1.PersistentVolumeClaim) { c.Spec.Resources.Requests = nil },
			want: []string{"spec.resources.requests[storage]: Required value"}},
		{name: "storage request zero", mutate: func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Resources.Requests[corev1.ResourceStorage] = qty("0")
		}, want: []string{`spec.resources.requests[storage]: Invalid value: "0": must be greater than zero`}},
		{name: "selector invalid", mutate: func(c *corev1.PersistentVolumeClaim) {
			c.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn}}
		}, want: []string{"spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"}},
		{name: "storageClassName invalid", mutate: func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = ptr("Fast") },
			want: []string{`spec.storageClassName: Invalid value: "Fast": ` + dns1123SubdomainMsg}},
		{name: "data source kind in core group", mutate: func(c *corev1.PersistentVolumeClaim) {
			c.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "Snapshot", Name: "nightly"}
		}, want: []string{`spec.dataSource: Invalid value: "Snapshot": must be 'PersistentVolumeClaim' when referencing the default apiGroup`}},
		{name: "data source and ref differ", mutate: func(c *corev1.PersistentVolumeClaim) {
			c.Spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "a"}
			c.Spec.DataSourceRef = &corev1.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "b"}
		}, want: []string{"spec.dataSource: Invalid value: must match dataSourceRef"}},
	})
}

func validStorageClass() *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "fast"},
		Provisioner:       "ebs.csi.aws.com",
		Parameters:        map[string]string{"type": "gp3"},
		ReclaimPolicy:     ptr(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr(storagev1.VolumeBindingWaitForFirstConsumer),
		AllowedTopologies: []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{
			{Key: "topology.kubernetes.io/zone", Values: []string{"eu-west-1a", "eu-west-1b"}},
		}}},
	}
}

func TestValidateStorageClass(t *testing.T) {
	runErrCases(t, validStorageClass, []errCase[*storagev1.StorageClass]{
		{name: "valid"},
		{name: "provisioner required", mutate: func(s *storagev1.StorageClass) { s.Provisioner = "" },
			want: []string{"provisioner: Required value"}},
		{name: "provisioner invalid", mutate: func(s *storagev1.StorageClass) { s.Provisioner = "ebs csi" },
			want: []string{`provisioner: Invalid value: "ebs csi": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		{name: "reclaimPolicy Recycle", mutate: func(s *storagev1.StorageClass) { s.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRecycle) },
			want: []string{`reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"`}},
		{name: "volumeBindingMode required", mutate: func(s *storagev1.StorageClass) { s.VolumeBindingMode = nil },
			want: []string{"volumeBindingMode: Required value"}},
		{name: "volumeBindingMode unknown", mutate: func(s *storagev1.StorageClass) {
			s.VolumeBindingMode = ptr[storagev1.VolumeBindingMode]("Lazy")
		}, want: []string{`volumeBindingMode: Unsupported value: "Lazy": supported values: "Immediate", "WaitForFirstConsumer"`}},
		{name: "empty parameter key", mutate: func(s *storagev1.StorageClass) { s.Parameters[""] = "x" },
			want: []string{`parameters: Invalid value: "": field can not be empty.`}},
		{name: "topology values required", mutate: func(s *storagev1.StorageClass) {
			s.AllowedTopologies[0].MatchLabelExpressions[0].Values = nil
		}, want: []string{"allowedTopologies[0].matchLabelExpressions[0].values: Required value"}},
		{name: "duplicate topology terms", mutate: func(s *storagev1.StorageClass) {
			s.AllowedTopologies = append(s.AllowedTopologies, s.AllowedTopologies[0])
		}, want: []string{`allowedTopologies[1].matchLabelExpressions: Duplicate value: ""`}},
		{name: "namespace forbidden", mutate: func(s *storagev1.StorageClass) { s.Namespace = "default" },
			want: []string{"metadata.namespace: Forbidden: not allowed on this type"}},
	})
}

func TestValidatePersistentVolumeCSI(t *testing.T) {
	base := func() *corev1.PersistentVolume {
		pv := validPersistentVolume()
		pv.Spec.PersistentVolumeSource = corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{
			Driver: "ebs.csi.aws.com", VolumeHandle: "vol-0123",
			NodePublishSecretRef: &corev1.SecretReference{Name: "ebs-creds", Namespace: "kube-system"},
		}}
		return pv
	}
	runErrCases(t, base, []errCase[*corev1.PersistentVolume]{
		{name: "valid"},
		{name: "secret namespace required", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.CSI.NodePublishSecretRef.Namespace = "" },
			want: []string{"spec.csi.nodePublishSecretRef.namespace: Required value"}},
		{name: "driver too long", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.CSI.Driver = strings.Repeat("d", 64) },
			want: []string{"spec.csi.driver: Too long: may not be more than 63 bytes"}},
		{name: "volumeAttributesClassName needs a name", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.VolumeAttributesClassName = ptr("") },
			want: []string{"spec.volumeAttributesClassName: Required value: an empty string is disallowed"}},
		{name: "nodeAffinity required terms", mutate: func(pv *corev1.PersistentVolume) { pv.Spec.NodeAffinity = &corev1.VolumeNodeAffinity{} },
			want: []string{"spec.nodeAffinity.required: Required value: must specify required node constraints"}},
	})
}
