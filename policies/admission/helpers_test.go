package admission

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/shoal-run/shoal/manifests"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// loadSet loads YAML documents with the manifests package, so that tests
// see objects as the reconciler does: decoded, defaulted and validated.
func loadSet(t *testing.T, docs ...string) *manifests.Set {
	t.Helper()
	fsys := fstest.MapFS{"m.yaml": {Data: []byte(strings.Join(docs, "\n---\n"))}}
	set, err := manifests.Load(fsys)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return set
}

// loadOne loads one object.
func loadOne(t *testing.T, doc string) runtime.Object {
	t.Helper()
	all := loadSet(t, doc).All()
	if len(all) != 1 {
		t.Fatalf("want one object, got %d", len(all))
	}
	return all[0].Obj
}

func loadPod(t *testing.T, doc string) *corev1.Pod {
	t.Helper()
	return loadOne(t, doc).(*corev1.Pod)
}

// violationStrings renders violations for comparison.
func violationStrings(vs []Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}
