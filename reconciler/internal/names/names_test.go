package names

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSuffixAndUID(t *testing.T) {
	a, b := Suffix("ReplicaSet/default/web#1"), Suffix("ReplicaSet/default/web#2")
	if len(a) != 5 || a == b || a != Suffix("ReplicaSet/default/web#1") {
		t.Fatalf("suffixes %q %q", a, b)
	}
	for _, c := range a + b {
		if !strings.ContainsRune(alphabet, c) {
			t.Fatalf("%q has %q, outside the alphabet", a+b, c)
		}
	}
	u := ControllerUID("ReplicaSet/default/web")
	if len(u) != 36 || u != ControllerUID("ReplicaSet/default/web") || u == ControllerUID("ReplicaSet/default/api") {
		t.Fatalf("uid %q", u)
	}
}

// TestControllerUIDFormat pins the UID's form: the first 16 bytes of the
// key's SHA-256 in hex, dashed as a UUID.
func TestControllerUIDFormat(t *testing.T) {
	sum := sha256.Sum256([]byte("shoal controller ReplicaSet/default/web"))
	s := fmt.Sprintf("%x", sum[:16])
	want := s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
	if got := ControllerUID("ReplicaSet/default/web"); string(got) != want {
		t.Fatalf("ControllerUID = %s, want %s", got, want)
	}
}

func TestPodCache(t *testing.T) {
	tmpl := func(image string) *corev1.PodTemplateSpec {
		return &corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}},
		}
	}
	v1 := tmpl("web:1")
	made := 0
	pod := func(c *PodCache[string], t *corev1.PodTemplateSpec, name string) *corev1.Pod {
		return c.Pod("ReplicaSet/default/web", t, name, func() *corev1.Pod {
			made++
			return Pod(t, "default", name, "apps/v1", "ReplicaSet", "web")
		})
	}
	var c PodCache[string]
	a := pod(&c, v1, "web-a")
	tests := []struct {
		name     string
		template *corev1.PodTemplateSpec
		pod      string
		same     bool // the cached pod comes back
	}{
		{"the same template", v1, "web-a", true},
		{"an equal template", tmpl("web:1"), "web-a", true},
		{"another name", v1, "web-b", false},
		{"another template", tmpl("web:2"), "web-a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c PodCache[string]
			first := pod(&c, v1, "web-a")
			before := made
			got := pod(&c, tt.template, tt.pod)
			if (got == first) != tt.same || (made == before) != tt.same {
				t.Fatalf("same pod %v, made %d, want same %v", got == first, made-before, tt.same)
			}
			if got.Spec.Containers[0].Image != tt.template.Spec.Containers[0].Image || got.Name != tt.pod {
				t.Fatalf("pod %s runs %s", got.Name, got.Spec.Containers[0].Image)
			}
		})
	}
	// A step that does not ask for a pod drops it.
	c.EndStep()
	c.EndStep()
	if pod(&c, v1, "web-a") == a {
		t.Fatal("a pod no step asked for was kept")
	}
	// The nil cache makes every pod.
	var none *PodCache[string]
	if pod(none, v1, "web-a") == pod(none, v1, "web-a") {
		t.Fatal("the nil cache kept a pod")
	}
}
