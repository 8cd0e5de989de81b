package gitsource

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// TestRefs lists, loads and forgets refs other than the tracked branch:
// a branch and a pull-request ref pushed like GitHub's.
func TestRefs(t *testing.T) {
	r := newRig(t, "", "")
	main, _ := r.push(change{files: map[string]string{"deploy/pod.yaml": podWeb, "deploy/.shoal/previews.yaml": "x: 1\n"}, message: "main"})
	r.git("checkout", "-q", "-b", "preview/shop")
	shop, _ := r.push(change{files: map[string]string{"deploy/api.yaml": podAPI}, message: "shop preview\n\nbody"})
	r.git("push", "-q", "origin", "HEAD:refs/heads/preview/shop", "HEAD:refs/pull/7/head")
	broken, _ := r.push(change{files: map[string]string{"deploy/api.yaml": podBroken}, message: "broken"})
	r.git("push", "-q", "origin", "HEAD:refs/heads/preview/broken")

	cfg := r.config(t)
	cfg.Path = "deploy"
	s := mustNew(t, cfg)
	ctx := ctxT(t)

	refs, err := s.ListRefs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ref := range refs {
		got = append(got, ref.Name+"="+ref.Commit[:7])
	}
	// push() pushes the local main, which stayed where it was.
	want := "refs/heads/main=" + main[:7] + " refs/heads/preview/broken=" + broken[:7] + " refs/heads/preview/shop=" + shop[:7] + " refs/pull/7/head=" + shop[:7]
	if strings.Join(got, " ") != want {
		t.Fatalf("refs %s, want %s", strings.Join(got, " "), want)
	}

	// A ref's commit loads before anything else was synced (the clone is
	// made), with the ref in its Revision.
	rev, set, err := s.LoadRefCommit(ctx, "refs/pull/7/head", shop)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Ref != "refs/pull/7/head" || rev.Commit != shop || rev.Message != "shop preview\n\nbody" || strings.Join(keys(set), " ") != "Pod/default/api Pod/default/web" {
		t.Errorf("rev %+v, objects %v", rev, keys(set))
	}
	// The same commit of another ref needs no fetch.
	if _, set, err := s.LoadRefCommit(ctx, "refs/heads/preview/shop", shop); err != nil || set.Len() != 2 {
		t.Fatalf("second ref: %v", err)
	}
	// A commit that does not load.
	_, set, err = s.LoadRefCommit(ctx, "refs/heads/preview/broken", broken)
	var le *LoadError
	if !errors.As(err, &le) || set != nil || le.Revision.Ref != "refs/heads/preview/broken" || !strings.Contains(err.Error(), "deploy/api.yaml:4") {
		t.Fatalf("broken: %v", err)
	}
	// A commit the ref does not hold.
	if _, _, err := s.LoadRefCommit(ctx, "refs/heads/preview/shop", main[:39]+"0"); err == nil || !strings.Contains(err.Error(), "the ref moved") {
		t.Errorf("a commit the ref lacks: %v", err)
	}
	if _, _, err := s.LoadRefCommit(ctx, "refs/heads/preview/shop", "main"); err == nil {
		t.Error("a name taken for a commit")
	}

	// Files beside the manifests, read from a commit of the clone.
	data, err := s.ReadFile(main, ".shoal/previews.yaml")
	if err != nil || string(data) != "x: 1\n" {
		t.Errorf("ReadFile = %q, %v", data, err)
	}
	if _, err := s.ReadFile(main, ".shoal/none.yaml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}

	// The clone keeps the refs it loaded until forgotten.
	if _, err := s.repo.Reference(localRef("refs/pull/7/head"), true); err != nil {
		t.Errorf("the clone does not keep the ref: %v", err)
	}
	if err := s.ForgetRef("refs/pull/7/head"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.repo.Reference(localRef("refs/pull/7/head"), true); err == nil {
		t.Error("forgotten ref still there")
	}
	if err := s.ForgetRef("refs/pull/8/head"); err != nil {
		t.Errorf("forgetting an unknown ref: %v", err)
	}

	// Trigger signals the refs' loop.
	s.Trigger()
	select {
	case <-s.RefsTriggered():
	default:
		t.Error("Trigger did not signal RefsTriggered")
	}
}
