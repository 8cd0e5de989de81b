package gitsource

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSyncClonesFetchesAndReportsUnchanged follows one repository through
// a clone, an unchanged head, a new commit and a restart on the same cache.
func TestSyncClonesFetchesAndReportsUnchanged(t *testing.T) {
	r := newRig(t, "", "")
	first, firstDate := r.push(change{files: map[string]string{"pod.yaml": podWeb}, message: "add web"})
	cfg := r.config(t)
	s := mustNew(t, cfg)
	ctx := ctxT(t)

	res, err := s.SyncResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != Cloned {
		t.Errorf("first sync outcome = %v, want cloned", res.Outcome)
	}
	want := Revision{Commit: first, Ref: "refs/heads/main", Author: "Test User <test@example.com>",
		Date: firstDate, Message: "add web"}
	if !res.Revision.Date.Equal(want.Date) {
		t.Errorf("date = %v, want %v", res.Revision.Date, want.Date)
	}
	res.Revision.Date = want.Date
	if res.Revision != want {
		t.Errorf("revision = %+v, want %+v", res.Revision, want)
	}
	if got := keys(res.Set); !reflect.DeepEqual(got, []string{"Pod/default/web"}) {
		t.Errorf("objects = %v", got)
	}

	res2, err := s.SyncResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Outcome != Unchanged || res2.Revision.Commit != first || res2.Set != res.Set {
		t.Errorf("second sync = %v %s, want unchanged %s with the same Set", res2.Outcome, res2.Revision.Short(), first[:12])
	}

	second, _ := r.push(change{
		files:   map[string]string{"api.yaml": podAPI},
		message: "add api\n\nwith a body",
		author:  "Ada Lovelace <ada@example.com>",
	})
	rev, set, err := s.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rev.Commit != second || rev.Author != "Ada Lovelace <ada@example.com>" || rev.Message != "add api\n\nwith a body" {
		t.Errorf("revision after push = %+v", rev)
	}
	if got := keys(set); !reflect.DeepEqual(got, []string{"Pod/default/api", "Pod/default/web"}) {
		t.Errorf("objects = %v", got)
	}
	if rev.String() != "main@sha1:"+second {
		t.Errorf("String() = %q", rev.String())
	}

	// A restarted reconciler reuses the clone: nothing to fetch.
	s2 := mustNew(t, cfg)
	res3, err := s2.SyncResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res3.Outcome != Cached || res3.Revision.Commit != second {
		t.Errorf("restart sync = %v %s, want cached %s", res3.Outcome, res3.Revision.Short(), second[:12])
	}
	third, _ := r.push(change{files: map[string]string{"api.yaml": ""}, message: "drop api"})
	res4, err := s2.SyncResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res4.Outcome != Fetched || res4.Revision.Commit != third || !reflect.DeepEqual(keys(res4.Set), []string{"Pod/default/web"}) {
		t.Errorf("after delete = %v %s %v", res4.Outcome, res4.Revision.Short(), keys(res4.Set))
	}
}

// TestSyncPathAndBranch: Path limits what is read; a missing Path or
// branch is a stalled error.
func TestSyncPathAndBranch(t *testing.T) {
	r := newRig(t, "", "")
	// A broken file outside deploy/ proves only Path is read.
	commit, _ := r.push(change{files: map[string]string{
		"deploy/web.yaml":     podWeb,
		"deploy/sub/api.yaml": podAPI,
		"other/broken.yaml":   podBroken,
		"README.md":           "not a manifest",
	}, message: "layout"})

	tests := []struct {
		name     string
		path     string
		branch   string
		wantKeys []string
		wantErr  error
	}{
		{name: "sub-folder", path: "deploy", wantKeys: []string{"Pod/default/api", "Pod/default/web"}},
		{name: "trailing slash", path: "deploy/sub/", wantKeys: []string{"Pod/default/api"}},
		{name: "missing path", path: "nope", wantErr: ErrPathNotFound},
		{name: "path is a file", path: "deploy/web.yaml", wantErr: ErrPathNotFound},
		{name: "missing branch", path: "deploy", branch: "release", wantErr: ErrBranchNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := r.config(t)
			cfg.Path = tt.path
			if tt.branch != "" {
				cfg.Branch = tt.branch
			}
			rev, set, err := mustNew(t, cfg).Sync(ctxT(t))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !IsStalled(err) || IsTransient(err) || set != nil {
					t.Fatalf("err = %v (set %v), want stalled %v", err, set, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rev.Commit != commit || !reflect.DeepEqual(keys(set), tt.wantKeys) {
				t.Errorf("got %s %v, want %s %v", rev.Short(), keys(set), commit[:12], tt.wantKeys)
			}
		})
	}
}

// TestSyncBasicAuth: a server that wants credentials names the failure as
// authentication; the right ones work.
func TestSyncBasicAuth(t *testing.T) {
	r := newRig(t, "shoal", "s3cret")
	commit, _ := r.push(change{files: map[string]string{"pod.yaml": podWeb}, message: "add web"})
	tests := []struct {
		name     string
		user, pw string
		wantAuth bool
	}{
		{name: "no credentials", wantAuth: true},
		{name: "wrong password", user: "shoal", pw: "guess", wantAuth: true},
		{name: "right credentials", user: "shoal", pw: "s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := r.config(t)
			cfg.Auth = Auth{Username: tt.user, Password: tt.pw}
			rev, _, err := mustNew(t, cfg).Sync(ctxT(t))
			if tt.wantAuth {
				if !IsAuth(err) || IsTransient(err) || IsStalled(err) {
					t.Fatalf("err = %v, want an auth error", err)
				}
				if !strings.Contains(err.Error(), "authentication") || strings.Contains(err.Error(), tt.pw+"@") {
					t.Errorf("error %q should name authentication and hide credentials", err)
				}
				return
			}
			if err != nil || rev.Commit != commit {
				t.Fatalf("got %s, %v", rev.Short(), err)
			}
		})
	}
}

// TestSyncBrokenCommitKeepsLastGood: a commit that does not load is a
// LoadError naming the commit and file:line; the last good state stays; a
// fixed commit loads.
func TestSyncBrokenCommitKeepsLastGood(t *testing.T) {
	r := newRig(t, "", "")
	good, _ := r.push(change{files: map[string]string{"deploy/pod.yaml": podWeb}, message: "good"})
	cfg := r.config(t)
	cfg.Path = "deploy"
	s := mustNew(t, cfg)
	ctx := ctxT(t)
	if _, _, err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	broken, _ := r.push(change{files: map[string]string{"deploy/pod.yaml": podBroken}, message: "typo"})
	rev, set, err := s.Sync(ctx)
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want *LoadError", err)
	}
	if set != nil || rev.Commit != broken || le.Revision.Commit != broken || le.Revision.Message != "typo" {
		t.Errorf("rev %s set %v, LoadError revision %+v", rev.Short(), set, le.Revision)
	}
	if !IsStalled(err) || IsTransient(err) {
		t.Errorf("a LoadError must be stalled, not transient")
	}
	errs := le.Diagnostics.Errors()
	if len(errs) != 1 || errs[0].File != "deploy/pod.yaml" || errs[0].Line != 4 || !strings.Contains(errs[0].Message, "lables") {
		t.Fatalf("diagnostics = %v, want deploy/pod.yaml:4 about lables", le.Diagnostics)
	}
	for _, want := range []string{broken[:12], "deploy/pod.yaml:4: Pod/default/web: error:", "lables"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if lg, lset := s.LastGood(); lg.Commit != good || lset == nil {
		t.Errorf("LastGood = %s, want %s", lg.Short(), good[:12])
	}

	// The broken head is not read again, and still reported as broken.
	res, err := s.SyncResult(ctx)
	if res.Outcome != Unchanged || !errors.As(err, &le) || res.Set != nil {
		t.Errorf("re-sync of broken head = %v, %v", res.Outcome, err)
	}

	r.push(change{files: map[string]string{"deploy/pod.yaml": podWeb}, message: "fix properly"})
	rev, set, err = s.Sync(ctx)
	if err != nil || set == nil || rev.Message != "fix properly" {
		t.Fatalf("after fix: %s %v %v", rev.Short(), set, err)
	}
}

// TestErrorClassification: network and server failures are transient,
// never stalled.
func TestErrorClassification(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL + "/site.git"
	closed.Close()
	tests := []struct {
		name          string
		handler       http.HandlerFunc
		url           string
		wantTransient bool
		wantStalled   bool
	}{
		{name: "connection refused", url: closedURL, wantTransient: true},
		{name: "server 500", handler: func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, wantTransient: true},
		{name: "server 503", handler: func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "later", http.StatusServiceUnavailable)
		}, wantTransient: true},
		{name: "repository not found", handler: func(w http.ResponseWriter, r *http.Request) {
			http.NotFound(w, r)
		}, wantStalled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			if tt.handler != nil {
				srv := httptest.NewServer(tt.handler)
				defer srv.Close()
				u = srv.URL + "/site.git"
			}
			cfg := DefaultConfig(u)
			cfg.CacheDir = t.TempDir()
			cfg.Timeout = 10 * time.Second
			cfg.Logger = testLogger(t)
			_, set, err := mustNew(t, cfg).Sync(ctxT(t))
			if err == nil || set != nil {
				t.Fatalf("want an error, got set %v", set)
			}
			if IsTransient(err) != tt.wantTransient || IsStalled(err) != tt.wantStalled || IsAuth(err) {
				t.Errorf("err %v: transient=%v stalled=%v auth=%v", err, IsTransient(err), IsStalled(err), IsAuth(err))
			}
		})
	}

	// An empty repository waits for its first commit.
	r := newRig(t, "", "")
	_, _, err := mustNew(t, r.config(t)).Sync(ctxT(t))
	if !errors.Is(err, ErrEmptyRepository) || !IsStalled(err) {
		t.Errorf("empty repository: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := func(c *Config) {}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{name: "defaults", mutate: ok},
		{name: "no url", mutate: func(c *Config) { c.URL = "" }, wantErr: "URL is required"},
		{name: "bad scheme", mutate: func(c *Config) { c.URL = "ftp://x/y" }, wantErr: "scheme"},
		{name: "password in url", mutate: func(c *Config) { c.URL = "https://u:p@h/r" }, wantErr: "password"},
		{name: "scp-like url", mutate: func(c *Config) { c.URL = "git@example.com:org/repo.git" }},
		{name: "full ref as branch", mutate: func(c *Config) { c.Branch = "refs/heads/main" }, wantErr: "Branch"},
		{name: "absolute path", mutate: func(c *Config) { c.Path = "/deploy" }, wantErr: "Path"},
		{name: "escaping path", mutate: func(c *Config) { c.Path = "../x" }, wantErr: "Path"},
		{name: "dot slash path", mutate: func(c *Config) { c.Path = "./deploy/" }},
		{name: "no cache dir", mutate: func(c *Config) { c.CacheDir = "" }, wantErr: "CacheDir"},
		{name: "ssh key without known_hosts", mutate: func(c *Config) {
			c.URL = "ssh://git@h/r"
			c.Auth.SSHPrivateKey = []byte("key")
		}, wantErr: "SSHKnownHosts"},
		{name: "both auth kinds", mutate: func(c *Config) {
			c.Auth = Auth{Username: "u", SSHPrivateKey: []byte("k"), SSHKnownHosts: []byte("h")}
		}, wantErr: "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig("https://example.com/org/repo.git")
			c.CacheDir = t.TempDir()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := New(c); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if _, err := New(c); err == nil {
				t.Fatal("New accepted an invalid Config")
			}
		})
	}
}
