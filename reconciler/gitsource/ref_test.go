package gitsource

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestLoadRef loads branches, tags, pull-request refs and commits by hash
// beside the followed branch, which stays as it was.
func TestLoadRef(t *testing.T) {
	r := newRig(t, "", "")
	main, _ := r.push(change{files: map[string]string{"pod.yaml": podWeb}, message: "web"})
	r.git("tag", "-a", "v1", "-m", "version 1")
	r.git("push", "-q", "origin", "v1")
	commit := func(file, content, msg string) string {
		if err := os.WriteFile(filepath.Join(r.work, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		r.git("add", "-A")
		r.git("commit", "-q", "-m", msg)
		return r.git("rev-parse", "HEAD")
	}
	r.git("checkout", "-q", "-b", "feature")
	feature := commit("api.yaml", podAPI, "add api")
	r.git("push", "-q", "origin", "feature")
	r.git("checkout", "-q", "-b", "broken", "main")
	broken := commit("pod.yaml", podBroken, "break web")
	r.git("push", "-q", "origin", "HEAD:refs/pull/7/head")
	r.git("checkout", "-q", "main")

	s := mustNew(t, r.config(t))
	ctx := ctxT(t)
	if _, _, err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref, wantRef, commit string
		objects              []string
	}{
		{"feature", "refs/heads/feature", feature, []string{"Pod/default/api", "Pod/default/web"}},
		{"refs/heads/feature", "refs/heads/feature", feature, []string{"Pod/default/api", "Pod/default/web"}},
		{"main", "refs/heads/main", main, []string{"Pod/default/web"}},
		{"v1", "refs/tags/v1", main, []string{"Pod/default/web"}},
		{feature[:10], feature[:10], feature, []string{"Pod/default/api", "Pod/default/web"}},
		{strings.ToUpper(main), strings.ToUpper(main), main, []string{"Pod/default/web"}},
	}
	for _, tt := range tests {
		rev, set, _, err := s.LoadRef(ctx, tt.ref)
		if err != nil {
			t.Errorf("LoadRef(%q): %v", tt.ref, err)
			continue
		}
		if rev.Ref != tt.wantRef || rev.Commit != tt.commit || rev.Message == "" {
			t.Errorf("LoadRef(%q) = %+v, want ref %s commit %s", tt.ref, rev, tt.wantRef, tt.commit)
		}
		if got := keys(set); !reflect.DeepEqual(got, tt.objects) {
			t.Errorf("LoadRef(%q) objects %v, want %v", tt.ref, got, tt.objects)
		}
	}

	// A ref that does not load says where, as a Sync does.
	rev, set, _, err := s.LoadRef(ctx, "pull/7/head")
	var le *LoadError
	if !errors.As(err, &le) || set != nil || rev.Commit != broken || rev.Ref != "refs/pull/7/head" ||
		!strings.Contains(err.Error(), "refs/pull/7/head") || !strings.Contains(err.Error(), "pod.yaml:4") {
		t.Errorf("LoadRef(pull/7/head) = %+v, %v; want a LoadError naming pod.yaml:4", rev, err)
	}

	for _, ref := range []string{"nope", "refs/heads/nope", "deadbeef", strings.Repeat("0", 40)} {
		if _, _, _, err := s.LoadRef(ctx, ref); !errors.Is(err, ErrRefNotFound) {
			t.Errorf("LoadRef(%q): %v, want ErrRefNotFound", ref, err)
		}
	}
	for _, ref := range []string{"", "a..b", "x:y", "-x", "a b"} {
		if _, _, _, err := s.LoadRef(ctx, ref); !errors.Is(err, ErrBadRef) {
			t.Errorf("LoadRef(%q): %v, want a refusal", ref, err)
		}
	}

	// The followed branch is untouched: unchanged, with main's objects.
	res, err := s.SyncResult(ctx)
	if err != nil || res.Outcome != Unchanged || res.Revision.Commit != main || !reflect.DeepEqual(keys(res.Set), []string{"Pod/default/web"}) {
		t.Errorf("sync after LoadRef = %v %+v, %v", res.Outcome, res.Revision, err)
	}
	if good, _ := s.LastGood(); good.Commit != main {
		t.Errorf("last good = %s, want main's %s", good.Commit, main)
	}

	// A Source that never synced loads a ref too (the clone is made).
	fresh := mustNew(t, r.config(t))
	if rev, _, _, err := fresh.LoadRef(ctx, feature[:7]); err != nil || rev.Commit != feature {
		t.Errorf("LoadRef on a fresh clone = %+v, %v", rev, err)
	}
}
