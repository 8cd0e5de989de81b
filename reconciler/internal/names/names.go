// Package names makes the names and identities of the objects controllers
// make: deterministic, so that every leader makes the same ones.
package names

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"reflect"
	"slices"
	"strings"

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
	var s [32]byte
	hex.Encode(s[:], sum[:16])
	var out [36]byte
	copy(out[0:8], s[0:8])
	copy(out[9:13], s[8:12])
	copy(out[14:18], s[12:16])
	copy(out[19:23], s[16:20])
	copy(out[24:36], s[20:32])
	out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
	return types.UID(out[:])
}

// Pod makes pod name in namespace from a controller's template, owned by
// the controller (a controller ownerReference with kind, apiVersion, name
// and the UID of its key "Kind/namespace/name"). The pod shares the
// template's labels, annotations and everything its spec refers to (its
// spec is a shallow copy): like every pod of a plan, it is read-only, and
// the template must not change while the pod is used.
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
		Spec: t.Spec,
	}
}

// PodCache remembers the pods made from controllers' templates across the
// leader's steps, by owner (a key of type K) and pod name, while the
// owner's template stays equal: the same pointer, or reflect.DeepEqual
// (compared once per owner and step). The pods a step did not ask for are
// dropped by EndStep. The nil cache remembers nothing; a cache is not safe
// for concurrent use.
type PodCache[K comparable] struct {
	step   uint64
	owners map[K]*podOwner
}

type podOwner struct {
	template *corev1.PodTemplateSpec
	step     uint64 // the last step that asked for a pod of this owner
	pods     map[string]*cachedPod
}

type cachedPod struct {
	pod  *corev1.Pod
	step uint64
}

// Pod returns pod name of owner made from template t: the pod make
// returns, or the one it returned before for a template equal to t. owner
// must identify everything else make's pod depends on (its kind, API
// version, namespace and name, and what the caller adds); t and the pods
// must not change while they are cached.
func (c *PodCache[K]) Pod(owner K, t *corev1.PodTemplateSpec, name string, make func() *corev1.Pod) *corev1.Pod {
	if c == nil {
		return make()
	}
	if c.owners == nil {
		c.owners = map[K]*podOwner{}
	}
	o := c.owners[owner]
	switch {
	case o == nil:
		o = &podOwner{template: t, pods: map[string]*cachedPod{}}
		c.owners[owner] = o
	case o.template == t:
	case reflect.DeepEqual(o.template, t):
		o.template = t // later calls of this step compare pointers
	default:
		o.template, o.pods = t, map[string]*cachedPod{}
	}
	o.step = c.step
	if p, ok := o.pods[name]; ok {
		p.step = c.step
		return p.pod
	}
	p := make()
	o.pods[name] = &cachedPod{pod: p, step: c.step}
	return p
}

// EndStep drops the owners and pods not asked for since the last EndStep.
func (c *PodCache[K]) EndStep() {
	if c == nil {
		return
	}
	for key, o := range c.owners {
		if o.step != c.step {
			delete(c.owners, key)
			continue
		}
		for name, p := range o.pods {
			if p.step != c.step {
				delete(o.pods, name)
			}
		}
	}
	c.step++
}

// SortPods sorts pods by namespace and name, the order the controllers'
// plans list them in.
func SortPods(pods []*corev1.Pod) {
	slices.SortFunc(pods, func(a, b *corev1.Pod) int {
		if x := strings.Compare(a.Namespace, b.Namespace); x != 0 {
			return x
		}
		return strings.Compare(a.Name, b.Name)
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
