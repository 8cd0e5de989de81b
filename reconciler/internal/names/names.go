// Package names makes the names and identities of the objects controllers
// make: deterministic, so that every leader makes the same ones.
package names

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// alphabet is the Kubernetes name generator's: no vowels, no characters
// that look alike.
const alphabet = "bcdfghjklmnpqrstvwxz2456789"

// Suffix returns five characters of that alphabet derived from seed, as in
// "web-7c2xk".
func Suffix(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	out := make([]byte, 5)
	for i := range out {
		out[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(out)
}

// ControllerUID is the identity of a controller object from Git, which has
// no server-made UID: derived from its "Kind/namespace/name" key.
func ControllerUID(key string) types.UID {
	sum := sha256.Sum256([]byte("shoal controller " + key))
	s := fmt.Sprintf("%x", sum[:16])
	return types.UID(s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32])
}

// Pod makes pod name in namespace from a controller's template, owned by
// the controller (a controller ownerReference with kind, apiVersion, name
// and the UID of its key "Kind/namespace/name"). The template's labels and
// annotations are shared, its spec copied.
func Pod(t *corev1.PodTemplateSpec, namespace, name, apiVersion, kind, owner string) *corev1.Pod {
	yes := true
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: namespace,
			Labels: t.Labels, Annotations: t.Annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: apiVersion, Kind: kind, Name: owner,
				UID:        ControllerUID(kind + "/" + namespace + "/" + owner),
				Controller: &yes, BlockOwnerDeletion: &yes,
			}},
		},
		Spec: *t.Spec.DeepCopy(),
	}
}

// SortPods sorts pods by namespace and name, the order the controllers'
// plans list them in.
func SortPods(pods []*corev1.Pod) {
	sort.Slice(pods, func(i, j int) bool {
		if pods[i].Namespace != pods[j].Namespace {
			return pods[i].Namespace < pods[j].Namespace
		}
		return pods[i].Name < pods[j].Name
	})
}

// TemplateHash is a short, stable hash of a pod template, as the
// pod-template-hash label (Kubernetes uses FNV-32a of the template too).
func TemplateHash(t *corev1.PodTemplateSpec) string {
	data, _ := json.Marshal(t)
	h := fnv.New32a()
	h.Write(data)
	v := h.Sum32()
	out := make([]byte, 0, 10)
	for i := 0; i < 10; i++ {
		out = append(out, alphabet[v%uint32(len(alphabet))])
		v /= uint32(len(alphabet))
		if v == 0 {
			break
		}
	}
	return string(out)
}
