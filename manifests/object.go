package manifests

import (
	"k8s.io/apimachinery/pkg/runtime"
)

// Key identifies an object in a Set: its kind (as in the manifest's "kind",
// e.g. "Deployment"), namespace ("" for cluster-scoped kinds) and name. Every
// kind shoal reads has a unique kind name across API groups, so the group is
// not part of the key.
type Key struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String renders the key as Kind/name or Kind/namespace/name.
func (k Key) String() string {
	name := k.Name
	if name == "" {
		name = "(unnamed)"
	}
	kind := k.Kind
	if kind == "" {
		kind = "(no kind)"
	}
	if k.Namespace == "" {
		return kind + "/" + name
	}
	return kind + "/" + k.Namespace + "/" + name
}

// less orders keys by kind, namespace, then name.
func (k Key) less(o Key) bool {
	if k.Kind != o.Kind {
		return k.Kind < o.Kind
	}
	if k.Namespace != o.Namespace {
		return k.Namespace < o.Namespace
	}
	return k.Name < o.Name
}

// Source says where an object was read from.
type Source struct {
	// File is the file's name as given to Read (the Input's Name joined with
	// the path inside its file system).
	File string `json:"file"`
	// Line is the 1-based line where the object's document (or List item)
	// starts.
	Line int `json:"line"`
	// APIVersion is the apiVersion as written, which differs from the
	// object's when it was converted from an older version.
	APIVersion string `json:"apiVersion"`
}

// Object is one loaded object: decoded strictly, converted to the current API
// version, defaulted and validated.
//
// Obj is a pointer to the k8s.io/api type of the current version (for
// example *appsv1.Deployment). It is shared by everyone holding the Set and
// must be treated as read-only; DeepCopyObject it before changing anything.
type Object struct {
	Key    Key
	Source Source
	Obj    runtime.Object
}
