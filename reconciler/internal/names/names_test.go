package names

import (
	"strings"
	"testing"
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
