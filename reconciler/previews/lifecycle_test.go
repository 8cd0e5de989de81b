package previews

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSync(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	cfg := &Config{File: Path, Refs: DefaultRefs, TTL: time.Hour, MaxPreviews: 2}
	rec := func(id, ref, head string, first, last time.Time, st State) Record {
		r := Record{ID: id, Ref: ref, Head: head, Commit: head, FirstSeen: first, LastActivity: last, State: st}
		if st != StateExpired {
			r.Namespaces = []string{id + "-shop"}
		}
		return r
	}
	tests := []struct {
		name    string
		cfg     *Config
		heads   map[string]string
		records []Record
		now     time.Time
		// want: id -> "state head lastActivity-minutes-after-t0"; run and
		// deleted ids in order.
		want    map[string]string
		run     []string
		deleted []string
		errHas  map[string]string
	}{
		{name: "new refs", heads: map[string]string{"refs/pull/42/head": "a", "refs/heads/preview/shop": "b"}, now: t0,
			want: map[string]string{"pr-42": "Active a 0", "preview-shop": "Active b 0"}, run: []string{"preview-shop", "pr-42"}},
		{name: "ref gone", heads: map[string]string{},
			records: []Record{rec("pr-42", "refs/pull/42/head", "a", t0, t0, StateActive)}, now: t0.Add(time.Minute),
			want: map[string]string{}, deleted: []string{"pr-42"}},
		{name: "previews off", cfg: &Config{}, heads: map[string]string{"refs/pull/42/head": "a"},
			records: []Record{rec("pr-42", "refs/pull/42/head", "a", t0, t0, StateActive)}, now: t0,
			want: map[string]string{}, deleted: []string{"pr-42"}},
		{name: "unchanged", heads: map[string]string{"refs/pull/42/head": "a"},
			records: []Record{rec("pr-42", "refs/pull/42/head", "a", t0, t0, StateActive)}, now: t0.Add(59 * time.Minute),
			want: map[string]string{"pr-42": "Active a 0"}, run: []string{"pr-42"}},
		{name: "ttl passed", heads: map[string]string{"refs/pull/42/head": "a"},
			records: []Record{rec("pr-42", "refs/pull/42/head", "a", t0, t0, StateActive)}, now: t0.Add(time.Hour),
			want: map[string]string{"pr-42": "Expired a 0"}, errHas: map[string]string{"pr-42": "no new commit for 1h0m0s (ttl 1h0m0s"}},
		{name: "a new commit keeps it", heads: map[string]string{"refs/pull/42/head": "b"},
			records: []Record{rec("pr-42", "refs/pull/42/head", "a", t0, t0, StateActive)}, now: t0.Add(time.Hour),
			want: map[string]string{"pr-42": "Active b 60"}, run: []string{"pr-42"}},
		{name: "a new commit brings it back", heads: map[string]string{"refs/pull/42/head": "b"},
			records: []Record{rec("pr-42", "refs/pull/42/head", "a", t0, t0, StateExpired)}, now: t0.Add(5 * time.Hour),
			want: map[string]string{"pr-42": "Active b 300"}, run: []string{"pr-42"}},
		{name: "expired stays expired", heads: map[string]string{"refs/pull/42/head": "a"},
			records: []Record{rec("pr-42", "refs/pull/42/head", "a", t0, t0, StateExpired)}, now: t0.Add(5 * time.Hour),
			want: map[string]string{"pr-42": "Expired a 0"}},
		{name: "a failed one expires too", heads: map[string]string{"refs/pull/42/head": "a"},
			records: []Record{rec("pr-42", "refs/pull/42/head", "a", t0, t0, StateFailed)}, now: t0.Add(2 * time.Hour),
			want: map[string]string{"pr-42": "Expired a 0"}},
		{name: "at most MaxPreviews, the oldest first",
			heads: map[string]string{"refs/pull/1/head": "a", "refs/pull/2/head": "b", "refs/pull/3/head": "c"},
			records: []Record{rec("pr-3", "refs/pull/3/head", "c", t0, t0, StateActive),
				rec("pr-2", "refs/pull/2/head", "b", t0.Add(time.Minute), t0.Add(time.Minute), StateActive)}, now: t0.Add(2 * time.Minute),
			want: map[string]string{"pr-3": "Active c 0", "pr-2": "Active b 1", "pr-1": "Failed a 2"}, run: []string{"pr-3", "pr-2"},
			errHas: map[string]string{"pr-1": "waiting: 2 previews run already"}},
		{name: "a gone ref's id goes to a new ref", heads: map[string]string{"refs/heads/preview/a_b": "x"},
			records: []Record{rec("preview-a-b", "refs/heads/preview/a-b", "a", t0, t0, StateActive)}, now: t0.Add(time.Minute),
			want: map[string]string{"preview-a-b": "Active x 1"}, run: []string{"preview-a-b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			if tt.cfg != nil {
				c = tt.cfg
				if c.File == "" {
					c = nil
				}
			}
			in := SyncInput{Config: c, Heads: tt.heads, Records: map[string]Record{}, Now: tt.now}
			for _, r := range tt.records {
				in.Records[r.ID] = r
			}
			plan := Sync(in)
			got := map[string]string{}
			for id, r := range plan.Records {
				got[id] = string(r.State) + " " + r.Head + " " + strconv.Itoa(int(r.LastActivity.Sub(t0)/time.Minute))
				if r.ID != id {
					t.Errorf("record %s has id %s", id, r.ID)
				}
				if want, ok := tt.errHas[id]; ok && !strings.Contains(r.Error, want) {
					t.Errorf("%s error %q lacks %q", id, r.Error, want)
				}
				if r.State == StateExpired && len(r.Namespaces) > 0 {
					t.Errorf("%s expired with namespaces", id)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("records %v, want %v", got, tt.want)
			}
			for id, w := range tt.want {
				if got[id] != w {
					t.Errorf("%s = %q, want %q", id, got[id], w)
				}
			}
			var run []string
			for _, r := range plan.Run {
				run = append(run, r.ID)
			}
			if strings.Join(run, ",") != strings.Join(tt.run, ",") || strings.Join(plan.Delete, ",") != strings.Join(tt.deleted, ",") {
				t.Errorf("run %v deleted %v; want %v, %v", run, plan.Delete, tt.run, tt.deleted)
			}
		})
	}
}

func TestLoaded(t *testing.T) {
	r := Record{ID: "pr-1", Ref: "refs/pull/1/head", Head: "b", Commit: "a", State: StateActive, URLs: []string{"http://old"}}
	p := &Preview{ID: "pr-1", Commit: "b", Namespaces: map[string]string{"shop": "pr-1-shop"}, URLs: []string{"http://new"},
		Refused: []Refusal{{Message: "no"}}}
	got := Loaded(r, Outcome{Preview: p, Message: "fix"})
	if got.State != StateActive || got.Commit != "b" || got.Message != "fix" || got.URLs[0] != "http://new" || got.Namespaces[0] != "pr-1-shop" || len(got.Refused) != 1 {
		t.Errorf("loaded %+v", got)
	}
	// The head does not load: Failed, the last good one still runs.
	got = Loaded(got, Outcome{Preview: p, Message: "fix", Err: "commit c does not load"})
	if got.State != StateFailed || got.Commit != "b" || got.Error != "commit c does not load" || len(got.Namespaces) != 1 {
		t.Errorf("failed %+v", got)
	}
	// Nothing ever loaded.
	got = Loaded(Record{ID: "pr-2", Head: "c"}, Outcome{Err: "no"})
	if got.State != StateFailed || got.Commit != "" || got.Namespaces != nil || got.URLs != nil {
		t.Errorf("never loaded %+v", got)
	}
}
