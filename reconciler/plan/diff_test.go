package plan

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/shoal-run/shoal/manifests"
)

func load(t *testing.T, yaml string) *manifests.Set {
	t.Helper()
	if yaml == "" {
		return manifests.NewSet(nil)
	}
	set, err := manifests.Load(fstest.MapFS{"m.yaml": {Data: []byte(yaml)}})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return set
}

// deploy is a Deployment web with the given containers (YAML list items,
// indented for the template) and replicas.
func deploy(replicas, containers string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: ` + replicas + `
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
` + containers
}

const web = `      - name: web
        image: nginx:1.25
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
        ports: [{containerPort: 80}]
`

const sidecar = `      - name: log
        image: busybox
        args: [tail, -f, /log]
`

// render writes changes one per line: "op Kind ns/name" then
// "  op path: old -> new" for each field ("(hidden)" when redacted).
func renderChanges(cs []ObjectChange) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(string(c.Op) + " " + c.Kind + " " + c.Namespace + "/" + c.Name)
		if c.Note != "" {
			b.WriteString(" (" + c.Note + ")")
		}
		b.WriteString("\n")
		for _, f := range c.Fields {
			b.WriteString("  " + string(f.Op) + " " + f.Path + ":")
			if f.Redacted {
				b.WriteString(" (hidden)")
			}
			if f.Old != nil {
				b.WriteString(" " + string(f.Old))
			}
			if f.Old != nil && f.New != nil {
				b.WriteString(" ->")
			}
			if f.New != nil {
				b.WriteString(" " + string(f.New))
			}
			if f.Note != "" {
				b.WriteString(" [" + f.Note + "]")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestDiff(t *testing.T) {
	cm := func(name, data string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {" + data + "}\n"
	}
	secret := func(data string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {" + data + "}\n"
	}
	tests := []struct {
		name              string
		current, proposed string
		want              string
	}{
		{name: "no change", current: deploy("2", web) + "---\n" + cm("a", "k: v"), proposed: cm("a", "k: v") + "---\n" + deploy("2", web)},
		{name: "both empty"},
		{
			name:     "added and removed, sorted by kind, namespace and name",
			current:  cm("old", "k: v") + "---\n" + cm("keep", ""),
			proposed: cm("keep", "") + "---\n" + deploy("2", web) + "---\n" + cm("new", "k: v"),
			want:     "add ConfigMap default/new\nremove ConfigMap default/old\nadd Deployment shop/web\n",
		},
		{
			name:     "a scalar",
			current:  deploy("2", web),
			proposed: deploy("3", web),
			want:     "change Deployment shop/web\n  change spec.replicas: 2 -> 3\n",
		},
		{
			name:     "an image in a container matched by name",
			current:  deploy("2", web),
			proposed: deploy("2", strings.Replace(web, "nginx:1.25", "nginx:1.27", 1)),
			want:     "change Deployment shop/web\n  change spec.template.spec.containers[0].image: \"nginx:1.25\" -> \"nginx:1.27\"\n",
		},
		{
			name:     "a container added in front: matched by name, not index",
			current:  deploy("2", web),
			proposed: deploy("2", sidecar+web),
			want: "change Deployment shop/web\n" +
				`  add spec.template.spec.containers[0]: {"args":["tail","-f","/log"],"image":"busybox","imagePullPolicy":"Always","name":"log","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}` + "\n",
		},
		{
			name:     "a container removed",
			current:  deploy("2", web+sidecar),
			proposed: deploy("2", web),
			want: "change Deployment shop/web\n" +
				`  remove spec.template.spec.containers[1]: {"args":["tail","-f","/log"],"image":"busybox","imagePullPolicy":"Always","name":"log","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}` + "\n",
		},
		{
			name:     "containers reordered only",
			current:  deploy("2", web+sidecar),
			proposed: deploy("2", sidecar+web),
			want:     "change Deployment shop/web\n  change spec.template.spec.containers: [\"web\",\"log\"] -> [\"log\",\"web\"] [order]\n",
		},
		{
			name:     "env by name: one changed, one removed, one added",
			current:  deploy("2", web),
			proposed: deploy("2", strings.Replace(web, `{name: A, value: "1"}, {name: B, value: "2"}`, `{name: C, value: "3"}, {name: A, value: "9"}`, 1)),
			want: "change Deployment shop/web\n" +
				`  add spec.template.spec.containers[0].env[0]: {"name":"C","value":"3"}` + "\n" +
				`  change spec.template.spec.containers[0].env[1].value: "1" -> "9"` + "\n" +
				`  remove spec.template.spec.containers[0].env[1]: {"name":"B","value":"2"}` + "\n",
		},
		{
			name:     "ports without names matched by containerPort",
			current:  deploy("2", web),
			proposed: deploy("2", strings.Replace(web, "[{containerPort: 80}]", "[{containerPort: 443}, {containerPort: 80, hostPort: 8080}]", 1)),
			want: "change Deployment shop/web\n" +
				`  add spec.template.spec.containers[0].ports[0]: {"containerPort":443,"protocol":"TCP"}` + "\n" +
				`  add spec.template.spec.containers[0].ports[1].hostPort: 8080` + "\n",
		},
		{
			name:     "a list of plain values as a whole",
			current:  deploy("2", sidecar),
			proposed: deploy("2", strings.Replace(sidecar, "/log", "/var/log", 1)),
			want:     "change Deployment shop/web\n  change spec.template.spec.containers[0].args: [\"tail\",\"-f\",\"/log\"] -> [\"tail\",\"-f\",\"/var/log\"]\n",
		},
		{
			name:     "map keys that are not plain names",
			current:  cm("a", "k: v"),
			proposed: strings.Replace(cm("a", "k: v"), "{name: a}", `{name: a, labels: {app.kubernetes.io/name: a}}`, 1),
			want:     "change ConfigMap default/a\n  add metadata.labels: {\"app.kubernetes.io/name\":\"a\"}\n",
		},
		{
			name:     "a label added beside others",
			current:  strings.Replace(cm("a", ""), "{name: a}", `{name: a, labels: {x: "1"}}`, 1),
			proposed: strings.Replace(cm("a", ""), "{name: a}", `{name: a, labels: {x: "1", app.kubernetes.io/name: a}}`, 1),
			want:     "change ConfigMap default/a\n  add metadata.labels[\"app.kubernetes.io/name\"]: \"a\"\n",
		},
		{
			name:     "a Secret's values are never shown",
			current:  secret("password: hunter2, user: admin, old: x"),
			proposed: secret("password: s3cret, user: admin, token: t0k"),
			want:     "change Secret default/db\n  remove data.old: (hidden)\n  change data.password: (hidden)\n  add data.token: (hidden)\n",
		},
		{
			name:     "a Secret's data appearing names its keys only",
			current:  "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n",
			proposed: secret("password: hunter2"),
			want:     "change Secret default/db\n  add data.password: (hidden)\n",
		},
		{
			name:     "defaults both sides get are no change",
			current:  deploy("2", web),
			proposed: strings.Replace(deploy("2", web), "replicas: 2\n", "replicas: 2\n  revisionHistoryLimit: 10\n  strategy: {type: RollingUpdate}\n", 1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderChanges(Diff(load(t, tt.current), load(t, tt.proposed)))
			if got != tt.want {
				t.Errorf("Diff:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestDiffNeverCarriesSecretValues(t *testing.T) {
	cur := load(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata: {password: aHVudGVyMg==}\n")
	prop := load(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData: {password: s3cret-value}\n")
	data, err := json.Marshal(Diff(cur, prop))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"aHVudGVyMg", "hunter2", "s3cret", "czNjcmV0"} {
		if strings.Contains(string(data), v) {
			t.Errorf("the diff's JSON carries a secret value %q: %s", v, data)
		}
	}
	if !strings.Contains(string(data), `"path":"data.password","op":"change","redacted":true`) {
		t.Errorf("the diff does not say data.password changed: %s", data)
	}
}

func TestDiffAgainstNil(t *testing.T) {
	got := renderChanges(Diff(nil, load(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")))
	if got != "add ConfigMap default/a\n" {
		t.Errorf("Diff(nil, set) = %q", got)
	}
	if got := Diff(load(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"), nil); len(got) != 1 || got[0].Op != Remove || got[0].File != "m.yaml" || got[0].Line != 1 {
		t.Errorf("Diff(set, nil) = %+v", got)
	}
}
