package bleveindex

import (
	"path/filepath"
	"testing"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/search"
)

// TestSegmentsWithoutSomeFields searches an index whose segments each lack
// fields the query names: a segment of one startup has no post fields, one
// of a post has no startup names. The passes read postings per segment and
// field, and a field a segment never saw must count as no match, not as the
// previous field's postings.
func TestSegmentsWithoutSomeFields(t *testing.T) {
	ix, err := Open(filepath.Join(t.TempDir(), "g1"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := t.Context()
	startup := search.Document{ID: search.StartupID("m1"), Type: search.TypeStartup, MemberID: "m1",
		Name: "Splitmode Cloudworks", NameEN: "Splitmode Cloudworks"}
	post := search.Document{ID: search.PostID("goblog", "gc"), Type: search.TypePost, Blog: "goblog", Slug: "gc",
		Title: "Getting to Go", Authors: []string{"Rick Hudson"}, Tags: []string{"gc"}, Body: "The garbage collector of Go, cloudworks aside."}
	// Two batches, two segments.
	if err := ix.Apply(ctx, search.Batch{Upserts: []search.Document{startup}, Checkpoint: events.Position{Commit: 1, Prepare: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Apply(ctx, search.Batch{Upserts: []search.Document{post}, Checkpoint: events.Position{Commit: 2, Prepare: 2}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"Splitmode Cloudworks", startup.ID},
		{"splitmod", startup.ID},   // prefix
		{"cloudwroks", startup.ID}, // typo
		{"garbage collector", post.ID},
		{"Hudson", post.ID},
	} {
		res, err := ix.Search(ctx, search.Query{Q: tc.q, Limit: 5, Facets: []string{"type", "tags"}})
		if err != nil {
			t.Fatalf("%q: %v", tc.q, err)
		}
		if len(res.Hits) == 0 || res.Hits[0].ID != tc.want {
			t.Errorf("%q: hits %v, want %s first", tc.q, hitIDs(res), tc.want)
		}
	}
}

func hitIDs(r search.Result) []string {
	var ids []string
	for _, h := range r.Hits {
		ids = append(ids, h.ID)
	}
	return ids
}
