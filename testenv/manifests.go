package testenv

import "fmt"

// DeploymentYAML is a manifest of a one-replica Deployment named name,
// selecting and labelling its pods app=name, with annotations (flow-YAML
// pairs, "" for none) on the Deployment, whose pods run container (a
// flow-YAML container, e.g. `{name: c, image: busybox}`).
func DeploymentYAML(name, annotations, container string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, annotations: {%s}}
spec:
  replicas: 1
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      containers: [%s]
`, name, annotations, name, name, container)
}

// AdmissionYAML is an admission file (.shoal/admission.yaml) with one
// policy, baseline, over every namespace, with the rules given (block-YAML
// pairs such as "forbidHostPath: true"), one per line from line 7.
func AdmissionYAML(rules ...string) string {
	out := `apiVersion: shoal.run/v1alpha1
kind: AdmissionPolicy
policies:
- name: baseline
  namespaceSelector: {}
  rules:
`
	for _, r := range rules {
		out += "    " + r + "\n"
	}
	return out
}
