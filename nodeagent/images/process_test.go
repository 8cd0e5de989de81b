package images

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// helperEnv makes the test binary act as a second shoal process on a store
// (see TestHelperProcess).
const helperEnv = "SHOAL_IMAGES_HELPER"

// TestHelperProcess is not a test: run by TestSeparateProcesses with
// SHOAL_IMAGES_HELPER=<op> it opens the store at $ROOT and pulls $REF
// (op "pull") or lists the store (op "list"), printing one line per image.
func TestHelperProcess(t *testing.T) {
	op := os.Getenv(helperEnv)
	if op == "" {
		t.Skip("helper process for TestSeparateProcesses")
	}
	s, err := Open(DefaultConfig(os.Getenv("ROOT")))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	switch op {
	case "pull":
		img, err := s.Pull(context.Background(), os.Getenv("REF"), PullOptions{})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(img.Ref, img.Digest)
	case "list":
		list, err := s.List()
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		for _, img := range list {
			fmt.Println(img.Ref, img.Digest)
		}
	}
	os.Exit(0)
}

func helper(t *testing.T, root, op, ref string) (string, error) {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+op, "ROOT="+root, "REF="+ref)
	var stderr strings.Builder
	cmd.Stderr = &stderr // the store's logs
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("helper %s: %v: %s%s", op, err, out, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// TestSeparateProcesses pulls one image from three processes at once into one
// Root (each layer is fetched once: flock, not just the in-process single
// flight), and lists from yet another process.
func TestSeparateProcesses(t *testing.T) {
	requireRoot(t)
	f := testImages(t)
	reg := startRegistry(t)
	ref := reg.push(t, "app:v1", f.app)
	s := newStore(t)
	want := ref + " " + digestOf(t, f.app)

	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]error, 3)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = helper(t, s.Root(), "pull", ref)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, errs[2] = s.Pull(context.Background(), ref, PullOptions{})
	}()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("pull %d: %v", i, err)
		}
	}
	for _, o := range outs {
		if o != "" && o != want {
			t.Errorf("helper printed %q, want %q", o, want)
		}
	}
	for i, l := range []string{digestOf(t, f.baseLayer), digestOf(t, f.whiteoutLayer), digestOf(t, f.opaqueLayer)} {
		if n := reg.blobGets(l); n != 1 {
			t.Errorf("layer %d fetched %d times by three processes, want 1", i, n)
		}
	}
	if n := len(layerDirs(t, s)); n != 3 {
		t.Errorf("%d layer directories, want 3", n)
	}
	out, err := helper(t, s.Root(), "list", "")
	if err != nil || out != want {
		t.Errorf("list from another process = %q, %v; want %q", out, err, want)
	}
}
