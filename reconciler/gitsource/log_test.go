package gitsource

import (
	"errors"
	"testing"
)

func TestLog(t *testing.T) {
	r := newRig(t, "", "")
	c1, _ := r.push(change{files: map[string]string{"deploy/web.yaml": podWeb}, message: "add web"})
	c2, _ := r.push(change{files: map[string]string{"deploy/api.yaml": podAPI}, message: "add api"})
	c3, _ := r.push(change{files: map[string]string{"deploy/web.yaml": podWeb + "  restartPolicy: Always\n"}, message: "web restarts"})
	c4, _ := r.push(change{files: map[string]string{"README.md": "docs"}, message: "docs"})

	s := mustNew(t, r.config(t))
	ctx := ctxT(t)
	if _, err := s.Log(ctx, "deploy/web.yaml", 0); !errors.Is(err, ErrNotCloned) {
		t.Fatalf("Log before Sync: %v, want ErrNotCloned", err)
	}
	if _, _, err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		path  string
		limit int
		want  []string
	}{
		{name: "one file", path: "deploy/web.yaml", want: []string{c3, c1}},
		{name: "limit", path: "deploy/web.yaml", limit: 1, want: []string{c3}},
		{name: "folder", path: "deploy", want: []string{c3, c2, c1}},
		{name: "whole repository", path: ".", want: []string{c4, c3, c2, c1}},
		{name: "untouched path", path: "nope.yaml", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			revs, err := s.Log(ctx, tt.path, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rv := range revs {
				got = append(got, rv.Commit)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d commits %v, want %v", len(got), got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("commit %d = %s, want %s", i, got[i][:12], tt.want[i][:12])
				}
			}
		})
	}
	revs, _ := s.Log(ctx, "deploy/web.yaml", 1)
	if len(revs) == 1 && (revs[0].Message != "web restarts" || revs[0].Author != "Test User <test@example.com>") {
		t.Errorf("revision fields: %+v", revs[0])
	}
}
