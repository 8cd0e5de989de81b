package manifests

import (
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzRead feeds arbitrary bytes to the decoder as a YAML and as a JSON
// file. Read must never panic, and its result must be consistent: every
// diagnostic names the file, and a result without errors makes a Set with
// exactly the loaded objects. Seeds: the compatibility corpus and a few
// hand-made edge cases.
func FuzzRead(f *testing.F) {
	if dir, ok := compatDir(); ok {
		_ = fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && isManifestFile(p) {
				if data, err := fs.ReadFile(os.DirFS(dir), p); err == nil {
					f.Add(data)
				}
			}
			return nil
		})
	}
	for _, seed := range []string{
		"", "---\n---\n", "null", "[]", "{}", "kind: List\napiVersion: v1\nitems: [1, {}, {kind: Pod}]\n",
		"a: &x {b: 1}\nc: *x\n<<: *x\n", goodPod, goodPod + "  volumes: [{name: v, hostPath: null}]\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: '!!!'}\n",
		"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items: [{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}]\n",
		`{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": "3"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"f.yaml", "f.json"} {
			res := Read(Input{FS: fstest.MapFS{name: {Data: data}}})
			for _, d := range res.Diagnostics {
				if d.File != name {
					t.Fatalf("diagnostic for file %q, want %q: %s", d.File, name, d)
				}
				if d.Message == "" {
					t.Fatalf("diagnostic without a message: %+v", d)
				}
			}
			loaded := 0
			for _, o := range res.Objects {
				if o.Object != nil {
					loaded++
					if o.Diagnostics.HasErrors() {
						t.Fatalf("object %s loaded despite errors", o.Key)
					}
				}
			}
			set, err := res.Set()
			if res.Diagnostics.HasErrors() != (err != nil) {
				t.Fatalf("Set error %v, but HasErrors %v", err, res.Diagnostics.HasErrors())
			}
			if err == nil && set.Len() != loaded {
				t.Fatalf("Set has %d objects, %d loaded", set.Len(), loaded)
			}
			if err != nil && !strings.Contains(err.Error(), name) {
				t.Fatalf("error does not name the file: %v", err)
			}
		}
	})
}
