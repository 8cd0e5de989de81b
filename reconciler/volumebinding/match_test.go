package volumebinding

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestNodeAffinityAdmits(t *testing.T) {
	req := func(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
	}
	withTerms := func(terms ...corev1.NodeSelectorTerm) *corev1.VolumeNodeAffinity {
		return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: terms}}
	}
	expr := func(r ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: r}
	}
	node := labels.Set{corev1.LabelHostname: "n1", "zone": "a", "disks": "4"}
	tests := []struct {
		name     string
		affinity *corev1.VolumeNodeAffinity
		want     bool
	}{
		{"no affinity", nil, true},
		{"no required selector", &corev1.VolumeNodeAffinity{}, true},
		{"no terms admit nothing", withTerms(), false},
		{"empty term admits nothing", withTerms(corev1.NodeSelectorTerm{}), false},
		{"In", withTerms(expr(req(corev1.LabelHostname, corev1.NodeSelectorOpIn, "n0", "n1"))), true},
		{"In other", withTerms(expr(req(corev1.LabelHostname, corev1.NodeSelectorOpIn, "n2"))), false},
		{"NotIn", withTerms(expr(req("zone", corev1.NodeSelectorOpNotIn, "b"))), true},
		{"NotIn missing label", withTerms(expr(req("rack", corev1.NodeSelectorOpNotIn, "b"))), true},
		{"Exists", withTerms(expr(req("zone", corev1.NodeSelectorOpExists))), true},
		{"DoesNotExist", withTerms(expr(req("zone", corev1.NodeSelectorOpDoesNotExist))), false},
		{"Gt", withTerms(expr(req("disks", corev1.NodeSelectorOpGt, "3"))), true},
		{"Lt", withTerms(expr(req("disks", corev1.NodeSelectorOpLt, "3"))), false},
		{"Gt not a number", withTerms(expr(req("zone", corev1.NodeSelectorOpGt, "3"))), false},
		{"requirements are ANDed", withTerms(expr(req("zone", corev1.NodeSelectorOpIn, "a"), req(corev1.LabelHostname, corev1.NodeSelectorOpIn, "n2"))), false},
		{"terms are ORed", withTerms(expr(req("zone", corev1.NodeSelectorOpIn, "b")), expr(req("zone", corev1.NodeSelectorOpIn, "a"))), true},
		{"matchFields metadata.name", withTerms(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
			req("metadata.name", corev1.NodeSelectorOpIn, "n1")}}), true},
		{"matchFields other field", withTerms(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
			req("spec.x", corev1.NodeSelectorOpIn, "n1")}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := pv("v", "1Gi")
			v.Spec.NodeAffinity = tt.affinity
			if got := nodeAffinityAdmits(v, "n1", node); got != tt.want {
				t.Errorf("nodeAffinityAdmits = %v, want %v", got, tt.want)
			}
		})
	}
}
