package api

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// previewCluster is a ClusterService with previews.
type previewCluster struct {
	*fakeCluster
	list PreviewList
}

func (p *previewCluster) Previews(context.Context) (*PreviewList, error) {
	if p.err != nil {
		return nil, p.err
	}
	l := p.list
	return &l, nil
}

func TestPreviews(t *testing.T) {
	want := PreviewList{
		Config: PreviewConfig{File: ".shoal/previews.yaml", Commit: "abc", Enabled: true, Refs: []string{"refs/heads/preview/*"}, Domain: "preview.example.test", TTL: "72h0m0s", MaxPreviews: 20},
		Items: []Preview{{ID: "preview-shop", Ref: "refs/heads/preview/shop", Head: "def", Commit: "def", Message: "try", State: "Active",
			Namespaces: []string{"preview-shop-shop"}, URLs: []string{"http://preview-shop.shop.preview.example.test"},
			Refused: []string{"Pod/shop/bad (a.yaml:1): refused"}, FirstSeen: statusTime, LastActivity: statusTime}},
	}
	_, c := startCluster(t, &fakeService{}, &previewCluster{fakeCluster: testCluster(), list: want}, "")
	got, err := c.Previews(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("got %+v\nwant %+v", *got, want)
	}

	// None yet: an empty list, not null.
	_, c = startCluster(t, &fakeService{}, &previewCluster{fakeCluster: testCluster()}, "")
	if got, err := c.Previews(context.Background()); err != nil || got.Items == nil || len(got.Items) != 0 {
		t.Errorf("empty: %+v, %v", got, err)
	}
	// A cluster service without previews, and no cluster at all.
	for _, cl := range []ClusterService{testCluster(), nil} {
		_, c = startCluster(t, &fakeService{}, cl, "")
		if _, err := c.Previews(context.Background()); !errors.Is(err, ErrNotFound) {
			t.Errorf("without previews: %v", err)
		}
	}
}
