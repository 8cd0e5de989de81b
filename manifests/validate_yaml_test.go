package manifests

import (
	"strings"
	"testing"
)

// TestValidationThroughRead checks that validation errors, which carry
// Kubernetes field paths, reach the user with the right file line.
func TestValidationThroughRead(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{
			name: "selector that does not match the template",
			content: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: app
        image: busybox
`,
			want: []string{"x.yaml:10: Deployment/default/web: error: spec.template.metadata.labels: Invalid value: {\"app\":\"api\"}: `selector` does not match template `labels`"},
		},
		{
			name: "job with restartPolicy Always",
			content: `apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  template:
    spec:
      restartPolicy: Always
      containers:
      - name: app
        image: busybox
`,
			want: []string{`x.yaml:8: Job/default/once: error: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`},
		},
		{
			name: "deployment template with restartPolicy OnFailure",
			content: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      restartPolicy: OnFailure
      containers:
      - name: app
        image: busybox
`,
			want: []string{`x.yaml:12: Deployment/default/web: error: spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`},
		},
		{
			name: "bad cron schedule",
			content: `apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: "*/15 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: app
            image: busybox
`,
			want: []string{`x.yaml:6: CronJob/default/tick: error: spec.schedule: Invalid value: "*/15 * * *": expected exactly 5 fields, found 4: [*/15 * * *]`},
		},
		{
			name: "port out of range and a bad object name",
			content: `apiVersion: v1
kind: Service
metadata:
  name: Web_Frontend
spec:
  selector: {app: web}
  ports:
  - port: 70000
`,
			want: []string{
				`x.yaml:4: Service/default/Web_Frontend: error: metadata.name: Invalid value: "Web_Frontend": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
				`x.yaml:8: Service/default/Web_Frontend: error: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive`,
				// targetPort defaults to port, so Kubernetes reports it too.
				`x.yaml:8: Service/default/Web_Frontend: error: spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive`,
			},
		},
		{
			name: "bad label value points at the labels",
			content: `apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  labels:
    app.kubernetes.io/name: "not valid!"
data: {a: b}
`,
			want: []string{`x.yaml:5: ConfigMap/default/cfg: error: metadata.labels: Invalid value: "not valid!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diagStrings(readOne("x.yaml", tt.content).Diagnostics)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("diagnostics:\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

// TestSecretOverOneMiB: a Secret whose data exceeds 1 MiB is refused with
// Kubernetes' message.
func TestSecretOverOneMiB(t *testing.T) {
	big := strings.Repeat("QUFB", 1<<20/3+10) // base64 of more than 1 MiB
	res := readOne("s.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: big\ndata:\n  blob: "+big+"\n")
	got := diagStrings(res.Diagnostics)
	want := "s.yaml:5: Secret/default/big: error: data: Too long: may not be more than 1048576 bytes"
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
