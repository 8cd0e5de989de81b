package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// benchTree makes files files of perFile objects each: a realistic mix of
// Deployments, Services, ConfigMaps, CronJobs and Ingresses, every one valid.
func benchTree(files, perFile int) map[string][]byte {
	out := map[string][]byte{}
	n := 0
	for f := 0; f < files; f++ {
		var b strings.Builder
		for i := 0; i < perFile; i++ {
			if i > 0 {
				b.WriteString("---\n")
			}
			name := fmt.Sprintf("app-%d", n)
			ns := fmt.Sprintf("team-%d", f%20)
			switch n % 5 {
			case 0:
				fmt.Fprintf(&b, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
  labels: {app: %[1]s, tier: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s, tier: web}
    spec:
      containers:
      - name: app
        image: registry.example.test/%[1]s:1.4.2
        args: ["--port=8080", "--log=json"]
        ports:
        - {name: http, containerPort: 8080}
        env:
        - {name: MODE, value: production}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {cpu: 500m, memory: 256Mi}
        readinessProbe:
          httpGet: {path: /ready, port: http}
        livenessProbe:
          tcpSocket: {port: 8080}
          initialDelaySeconds: 5
        volumeMounts:
        - {name: config, mountPath: /etc/app}
      volumes:
      - name: config
        configMap: {name: %[1]s-config}
`, name, ns)
			case 1:
				fmt.Fprintf(&b, `apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  selector: {app: %[1]s}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9090, targetPort: 9090}
`, name, ns)
			case 2:
				fmt.Fprintf(&b, `apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s-config
  namespace: %[2]s
data:
  app.conf: |
    listen = 8080
    workers = 4
  feature.flags: "a,b,c"
`, name, ns)
			case 3:
				fmt.Fprintf(&b, `apiVersion: batch/v1
kind: CronJob
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  schedule: "*/15 * * * *"
  concurrencyPolicy: Forbid
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: job
            image: busybox:1.36
            command: ["sh", "-c", "echo tick"]
`, name, ns)
			case 4:
				fmt.Fprintf(&b, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  rules:
  - host: %[1]s.example.test
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: %[1]s, port: {name: http}}
`, name, ns)
			}
			n++
		}
		out[fmt.Sprintf("team-%d/file-%d.yaml", f%20, f)] = []byte(b.String())
	}
	return out
}

func benchMapFS(files, perFile int) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range benchTree(files, perFile) {
		fsys[name] = &fstest.MapFile{Data: data}
	}
	return fsys
}

// BenchmarkLoad loads 5,000 objects from 500 files held in memory: the
// decoding, conversion, support check, defaulting, validation and indexing
// that every sync of the reconciler pays, without disk reads.
func BenchmarkLoad(b *testing.B) {
	fsys := benchMapFS(500, 10)
	set, err := Load(fsys)
	if err != nil {
		b.Fatal(err)
	}
	if set.Len() != 5000 {
		b.Fatalf("loaded %d objects, want 5000", set.Len())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Load(fsys); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/5000, "ns/object")
}

// BenchmarkLoadDisk is BenchmarkLoad from files on disk (after the first
// read they come from the page cache).
func BenchmarkLoadDisk(b *testing.B) {
	dir := b.TempDir()
	for name, data := range benchTree(500, 10) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	fsys := os.DirFS(dir)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		set, err := Load(fsys)
		if err != nil {
			b.Fatal(err)
		}
		if set.Len() != 5000 {
			b.Fatalf("loaded %d objects", set.Len())
		}
	}
}
