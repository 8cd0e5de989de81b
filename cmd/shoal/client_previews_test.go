package main

import (
	"strings"
	"testing"
	"time"

	"github.com/shoal-run/shoal/nodeagent/api"
)

func TestWritePreviews(t *testing.T) {
	on := api.PreviewConfig{File: ".shoal/previews.yaml", Commit: "0123456789ab", Enabled: true, Refs: []string{"refs/heads/preview/*"}}
	items := []api.Preview{
		{ID: "preview-shop", Ref: "refs/heads/preview/shop", Commit: "1a2b3c4d5e6f", State: "Active",
			Namespaces: []string{"preview-shop-default", "preview-shop-shop"}, URLs: []string{"http://preview-shop.shop.preview.example.test"},
			Refused:   []string{"Pod/shop/bad (app.yaml:12): refused by admission: policy preview-strict, rule forbidHostPath"},
			Notes:     []string{"Service/shop/web: type NodePort made ClusterIP"},
			FirstSeen: testNow.Add(-5 * time.Minute)},
		{ID: "pr-7", Ref: "refs/pull/7/head", State: "Failed", Error: "commit 9f8e7d6c5b4a on refs/pull/7/head: manifests do not load:\n  app.yaml:3: error: x",
			FirstSeen: testNow.Add(-2 * time.Hour)},
		{ID: "pr-8", Ref: "refs/pull/8/head", Commit: "aaaaaaaaaaaa", State: "Expired", Error: "no new commit for 72h0m0s", FirstSeen: testNow.Add(-80 * time.Hour)},
	}
	tests := []struct {
		name string
		list api.PreviewList
		want string
	}{
		{name: "previews", list: api.PreviewList{Config: on, Items: items}, want: `
REF                      COMMIT   NAMESPACES                              URLS                                           STATE    AGE
refs/heads/preview/shop  1a2b3c4  preview-shop-default,preview-shop-shop  http://preview-shop.shop.preview.example.test  Active   5m
refs/pull/7/head         <none>   <none>                                  <none>                                         Failed   120m
refs/pull/8/head         aaaaaaa  <none>                                  <none>                                         Expired  3d8h

refs/heads/preview/shop:
  not run: Pod/shop/bad (app.yaml:12): refused by admission: policy preview-strict, rule forbidHostPath
  changed: Service/shop/web: type NodePort made ClusterIP

refs/pull/7/head:
  failed: commit 9f8e7d6c5b4a on refs/pull/7/head: manifests do not load:
      app.yaml:3: error: x

refs/pull/8/head:
  expired: no new commit for 72h0m0s
`},
		{name: "none", list: api.PreviewList{Config: on}, want: "\nNo previews.\n"},
		{name: "off", list: api.PreviewList{Config: api.PreviewConfig{File: ".shoal/previews.yaml"}}, want: "\nPreviews are off: the tracked branch has no .shoal/previews.yaml.\n"},
		{name: "not read yet", list: api.PreviewList{}, want: "\nNo previews.\n"},
		{name: "broken file", list: api.PreviewList{Config: api.PreviewConfig{File: ".shoal/previews.yaml", Commit: "0123456789ab", Enabled: true,
			Error: ".shoal/previews.yaml:3: error: ttl: \"soon\" is not a duration"}}, want: `
The tracked branch's .shoal/previews.yaml (commit 0123456) does not load; the configuration read before stays in force:
.shoal/previews.yaml:3: error: ttl: "soon" is not a duration

No previews.
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := writePreviews(&b, &tt.list, testNow); err != nil {
				t.Fatal(err)
			}
			if got := "\n" + b.String(); got != tt.want {
				t.Errorf("got:%s\nwant:%s", got, tt.want)
			}
		})
	}
}
