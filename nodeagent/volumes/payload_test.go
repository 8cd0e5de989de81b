package volumes

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

// checkPayload compares a payload and an error with the expected ones.
func checkPayload(t *testing.T, got map[string]FileProjection, err error, want map[string]FileProjection, wantErr string, wantKind error) {
	t.Helper()
	if wantErr != "" {
		if err == nil || err.Error() != wantErr {
			t.Fatalf("error = %v, want %q", err, wantErr)
		}
		if wantKind != nil && !errors.Is(err, wantKind) {
			t.Fatalf("errors.Is(%v, %v) = false", err, wantKind)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if !maps.EqualFunc(got, want, func(a, b FileProjection) bool {
		return string(a.Data) == string(b.Data) && a.Mode == b.Mode && (a.FsUser == nil) == (b.FsUser == nil)
	}) {
		t.Fatalf("payload = %s, want %s", dump(got), dump(want))
	}
}

func dump(p map[string]FileProjection) string {
	keys := slices.Sorted(maps.Keys(p))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s:%q@%#o", k, p[k].Data, p[k].Mode))
	}
	return "{" + strings.Join(out, " ") + "}"
}

func fp(data string, mode int32) FileProjection {
	return FileProjection{Data: []byte(data), Mode: mode}
}

func TestConfigMapPayload(t *testing.T) {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "default"},
		Data:       map[string]string{"a.conf": "A", "b.conf": "B"},
		BinaryData: map[string][]byte{"bin": {0, 1, 2}},
	}
	tests := []struct {
		name     string
		src      corev1.ConfigMapVolumeSource
		cm       *corev1.ConfigMap
		want     map[string]FileProjection
		wantErr  string
		wantKind error
	}{
		{
			name: "all keys with the default mode",
			src:  corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}},
			cm:   cm,
			want: map[string]FileProjection{"a.conf": fp("A", 0o644), "b.conf": fp("B", 0o644), "bin": fp("\x00\x01\x02", 0o644)},
		},
		{
			name: "volume defaultMode wins over the fallback",
			src:  corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, DefaultMode: ptr[int32](0o400)},
			cm:   cm,
			want: map[string]FileProjection{"a.conf": fp("A", 0o400), "b.conf": fp("B", 0o400), "bin": fp("\x00\x01\x02", 0o400)},
		},
		{
			name: "items project listed keys only, item mode wins",
			src: corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
				DefaultMode:          ptr[int32](0o440),
				Items: []corev1.KeyToPath{
					{Key: "a.conf", Path: "etc/a.conf", Mode: ptr[int32](0o600)},
					{Key: "bin", Path: "data/bin"},
				},
			},
			cm:   cm,
			want: map[string]FileProjection{"etc/a.conf": fp("A", 0o600), "data/bin": fp("\x00\x01\x02", 0o440)},
		},
		{
			name:     "missing configmap",
			src:      corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}},
			wantErr:  `configmap "nope" not found`,
			wantKind: ErrNotFound,
		},
		{
			name: "missing optional configmap is empty",
			src:  corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Optional: ptr(true)},
			want: map[string]FileProjection{},
		},
		{
			name: "missing optional configmap with items is empty",
			src: corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Optional: ptr(true),
				Items: []corev1.KeyToPath{{Key: "a.conf", Path: "a"}}},
			want: map[string]FileProjection{},
		},
		{
			name: "missing key",
			src: corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
				Items: []corev1.KeyToPath{{Key: "a.conf", Path: "a"}, {Key: "c.conf", Path: "c"}}},
			cm:       cm,
			wantErr:  "configmap references non-existent config key: c.conf",
			wantKind: ErrMissingKey,
		},
		{
			name: "missing key of an optional configmap is skipped",
			src: corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Optional: ptr(true),
				Items: []corev1.KeyToPath{{Key: "a.conf", Path: "a"}, {Key: "c.conf", Path: "c"}}},
			cm:   cm,
			want: map[string]FileProjection{"a": fp("A", 0o644)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigMapPayload(&tt.src, tt.cm, DefaultMode)
			checkPayload(t, got, err, tt.want, tt.wantErr, tt.wantKind)
		})
	}
}

func TestSecretPayload(t *testing.T) {
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "default"},
		Data:       map[string][]byte{"user": []byte("admin"), "pass": []byte("old")},
		StringData: map[string]string{"pass": "new", "token": "t0k"},
	}
	tests := []struct {
		name     string
		src      corev1.SecretVolumeSource
		s        *corev1.Secret
		want     map[string]FileProjection
		wantErr  string
		wantKind error
	}{
		{
			name: "all keys, stringData merged and winning",
			src:  corev1.SecretVolumeSource{SecretName: "creds"},
			s:    sec,
			want: map[string]FileProjection{"user": fp("admin", 0o644), "pass": fp("new", 0o644), "token": fp("t0k", 0o644)},
		},
		{
			name: "defaultMode and item mode",
			src: corev1.SecretVolumeSource{SecretName: "creds", DefaultMode: ptr[int32](0o400), Items: []corev1.KeyToPath{
				{Key: "user", Path: "u"}, {Key: "token", Path: "auth/token", Mode: ptr[int32](0o600)}}},
			s:    sec,
			want: map[string]FileProjection{"u": fp("admin", 0o400), "auth/token": fp("t0k", 0o600)},
		},
		{
			name:     "missing secret",
			src:      corev1.SecretVolumeSource{SecretName: "nope"},
			wantErr:  `secret "nope" not found`,
			wantKind: ErrNotFound,
		},
		{
			name: "missing optional secret is empty",
			src:  corev1.SecretVolumeSource{SecretName: "nope", Optional: ptr(true)},
			want: map[string]FileProjection{},
		},
		{
			name:     "missing key",
			src:      corev1.SecretVolumeSource{SecretName: "creds", Items: []corev1.KeyToPath{{Key: "cert", Path: "c"}}},
			s:        sec,
			wantErr:  "secret references non-existent secret key: cert",
			wantKind: ErrMissingKey,
		},
		{
			name: "missing key of an optional secret is skipped",
			src: corev1.SecretVolumeSource{SecretName: "creds", Optional: ptr(true),
				Items: []corev1.KeyToPath{{Key: "cert", Path: "c"}, {Key: "user", Path: "u"}}},
			s:    sec,
			want: map[string]FileProjection{"u": fp("admin", 0o644)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SecretPayload(&tt.src, tt.s, DefaultMode)
			checkPayload(t, got, err, tt.want, tt.wantErr, tt.wantKind)
		})
	}
}

// fakeSource is a Source backed by maps keyed "namespace/name".
type fakeSource struct {
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
}

func (f fakeSource) ConfigMap(ns, name string) (*corev1.ConfigMap, bool) {
	cm, ok := f.configMaps[ns+"/"+name]
	return cm, ok
}

func (f fakeSource) Secret(ns, name string) (*corev1.Secret, bool) {
	s, ok := f.secrets[ns+"/"+name]
	return s, ok
}

func TestProjectedPayload(t *testing.T) {
	objects := fakeSource{
		configMaps: map[string]*corev1.ConfigMap{
			"shop/cfg":   {Data: map[string]string{"app.conf": "x=1", "shared": "from-cm"}},
			"other/cfg2": {Data: map[string]string{"wrong": "namespace"}},
		},
		secrets: map[string]*corev1.Secret{
			"shop/creds": {Data: map[string][]byte{"pass": []byte("s3cret"), "shared": []byte("from-secret")}},
		},
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Labels: map[string]string{"app": "web"}}}
	cmSrc := func(name string, optional bool, items ...corev1.KeyToPath) corev1.VolumeProjection {
		return corev1.VolumeProjection{ConfigMap: &corev1.ConfigMapProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Items: items, Optional: ptr(optional)}}
	}
	secSrc := func(name string, optional bool, items ...corev1.KeyToPath) corev1.VolumeProjection {
		return corev1.VolumeProjection{Secret: &corev1.SecretProjection{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Items: items, Optional: ptr(optional)}}
	}
	downSrc := corev1.VolumeProjection{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
		{Path: "name", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
		{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}, Mode: ptr[int32](0o600)},
	}}}
	tests := []struct {
		name     string
		src      corev1.ProjectedVolumeSource
		want     map[string]FileProjection
		wantErr  string
		wantKind error
	}{
		{
			name: "configMap, secret and downwardAPI combined, later sources win",
			src:  corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{cmSrc("cfg", false), secSrc("creds", false), downSrc}},
			want: map[string]FileProjection{
				"app.conf": fp("x=1", 0o644), "shared": fp("from-secret", 0o644), "pass": fp("s3cret", 0o644),
				"name": fp("web", 0o644), "labels": fp(`app="web"`, 0o600),
			},
		},
		{
			name: "volume defaultMode and item modes",
			src: corev1.ProjectedVolumeSource{DefaultMode: ptr[int32](0o440), Sources: []corev1.VolumeProjection{
				cmSrc("cfg", false, corev1.KeyToPath{Key: "app.conf", Path: "conf/app.conf"}),
				secSrc("creds", false, corev1.KeyToPath{Key: "pass", Path: "pass", Mode: ptr[int32](0o400)}),
			}},
			want: map[string]FileProjection{"conf/app.conf": fp("x=1", 0o440), "pass": fp("s3cret", 0o400)},
		},
		{
			name:    "objects are looked up in the pod's namespace",
			src:     corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{cmSrc("cfg2", false)}},
			wantErr: `configmap "cfg2" not found`, wantKind: ErrNotFound,
		},
		{
			name: "optional missing sources are empty",
			src:  corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{cmSrc("nope", true), secSrc("nope", true), downSrc}},
			want: map[string]FileProjection{"name": fp("web", 0o644), "labels": fp(`app="web"`, 0o600)},
		},
		{
			name: "errors of all sources are aggregated",
			src: corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				cmSrc("nope", false), secSrc("creds", false, corev1.KeyToPath{Key: "cert", Path: "c"})}},
			wantErr:  `[configmap "nope" not found, secret references non-existent secret key: cert]`,
			wantKind: ErrMissingKey,
		},
		{
			name: "serviceAccountToken",
			src: corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}},
			wantErr:  `projected source serviceAccountToken (path "token"): not supported on shoal nodes`,
			wantKind: ErrUnsupported,
		},
		{
			name: "clusterTrustBundle",
			src: corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Path: "ca.pem"}}}},
			wantErr:  `projected source clusterTrustBundle (path "ca.pem"): not supported on shoal nodes`,
			wantKind: ErrUnsupported,
		},
		{
			name: "podCertificate",
			src: corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{PodCertificate: &corev1.PodCertificateProjection{SignerName: "example.com/signer"}}}},
			wantErr:  `projected source podCertificate (signer "example.com/signer"): not supported on shoal nodes`,
			wantKind: ErrUnsupported,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ProjectedPayload(&tt.src, objects, pod, "10.0.0.5", "node-1", nil, DefaultMode)
			checkPayload(t, got, err, tt.want, tt.wantErr, tt.wantKind)
		})
	}
}
