package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/shoal-run/shoal/manifests"
	"github.com/shoal-run/shoal/nodeagent/pods"
)

func loadSet(t *testing.T, yaml string) *manifests.Set {
	t.Helper()
	set, err := manifests.Load(fstest.MapFS{"m.yaml": {Data: []byte(yaml)}})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

const claimsYAML = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: shoal.run/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: small}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: HOSTPATH}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: static}
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 500Mi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: dynamic}
spec:
  storageClassName: local
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: toobig}
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Ti}}
---
apiVersion: v1
kind: Pod
metadata: {name: user}
spec:
  containers:
  - name: app
    image: busybox
    volumeMounts: [{name: a, mountPath: /a}, {name: b, mountPath: /b}]
  volumes:
  - {name: a, persistentVolumeClaim: {claimName: static}}
  - {name: b, persistentVolumeClaim: {claimName: dynamic}}
`

// TestLocalBinder binds a static hostPath volume, provisions a local-path
// one, explains an unsatisfiable claim, survives a restart (ledger file),
// and deletes the provisioned directory when its claim goes.
func TestLocalBinder(t *testing.T) {
	dir := t.TempDir()
	host := filepath.Join(dir, "host")
	yaml := strings.ReplaceAll(claimsYAML, "HOSTPATH", host)
	b, err := newLocalBinder(dir, "node-a", slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	claims := b.Sync(loadSet(t, yaml))
	if c := claims.Claim("default", "static"); c.Pending != "" || c.Path != host {
		t.Errorf("static claim = %+v", c)
	}
	dyn := claims.Claim("default", "dynamic")
	if dyn.Pending != "" || !strings.HasPrefix(dyn.Path, filepath.Join(dir, "local-path", "pvc-")) {
		t.Fatalf("dynamic claim = %+v", dyn)
	}
	if st, err := os.Stat(dyn.Path); err != nil || !st.IsDir() {
		t.Errorf("provisioned directory: %v", err)
	}
	if c := claims.Claim("default", "toobig"); !strings.HasPrefix(c.Pending, `persistentvolumeclaim "toobig" is not bound: `) {
		t.Errorf("unsatisfiable claim = %+v", c)
	}
	// A restarted node reads its ledger: same bindings, nothing new made.
	b2, err := newLocalBinder(dir, "node-a", slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	again := b2.Sync(loadSet(t, yaml))
	if c := again.Claim("default", "dynamic"); c.Path != dyn.Path {
		t.Errorf("after a restart the claim moved: %+v", c)
	}
	// The claim leaves Git: its Delete-policy volume goes.
	without := strings.Replace(yaml, "  - {name: b, persistentVolumeClaim: {claimName: dynamic}}\n", "", 1)
	without = strings.Replace(without, ", {name: b, mountPath: /b}", "", 1)
	i := strings.Index(without, "kind: PersistentVolumeClaim\nmetadata: {name: dynamic}")
	j := strings.Index(without[i:], "---")
	without = without[:i-len("apiVersion: v1\n")] + without[i+j+4:]
	final := b2.Sync(loadSet(t, without))
	if _, err := os.Stat(dyn.Path); !os.IsNotExist(err) {
		t.Errorf("provisioned directory not deleted: %v", err)
	}
	if c := final.Claim("default", "dynamic"); c.Pending == "" {
		t.Errorf("a claim that left Git still resolves: %+v", c)
	}
	var _ pods.Claims = final
}
