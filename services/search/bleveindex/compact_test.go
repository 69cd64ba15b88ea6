package bleveindex

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/search"
)

// filesHolding lists the files under dir whose bytes contain needle.
func filesHolding(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // a file the persister removed while we walked
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, needle) {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// TestCompactRemovesDeletedBytes writes a person's profile among other
// documents, deletes it and compacts: within 60 s no file of the index
// holds the person's name, whether the index was several segments or one.
func TestCompactRemovesDeletedBytes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		batches int  // the person's document and the others in as many batches
		alone   bool // the person's document is the index's only one
	}{{"several segments", 3, false}, {"one segment", 1, false}, {"the person alone", 1, true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "g1")
			ix, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			ctx := context.Background()
			name := []byte("Zhuangxiaoyu Erasable")
			person := search.Document{ID: search.DeveloperID("u-erased"), Type: search.TypeDeveloper, UserID: "u-erased",
				URL: "/identity/people/u-erased", Name: string(name), Summary: "writes about Zhuangxiaoyu storage", City: "杭州"}
			others := []search.Document{
				{ID: search.PostID("goblog", "gc"), Type: search.TypePost, Blog: "goblog", Slug: "gc", Title: "Getting to Go", Body: "The garbage collector."},
				{ID: search.DeveloperID("u-stays"), Type: search.TypeDeveloper, UserID: "u-stays", Name: "Lin Xiaoxi", City: "杭州"},
			}
			docs := append([]search.Document{person}, others...)
			if tc.alone {
				docs = docs[:1]
			}
			per := (len(docs) + tc.batches - 1) / tc.batches
			pos := uint64(0)
			for i := 0; i < len(docs); i += per {
				pos++
				if err := ix.Apply(ctx, search.Batch{Upserts: docs[i:min(i+per, len(docs))], Checkpoint: events.Position{Commit: pos, Prepare: pos}}); err != nil {
					t.Fatal(err)
				}
			}
			if len(filesHolding(t, dir, name)) == 0 {
				t.Fatal("no file of the index holds the name before the erasure: the test would prove nothing")
			}
			pos++
			if err := ix.Apply(ctx, search.Batch{Deletes: []string{person.ID}, Checkpoint: events.Position{Commit: pos, Prepare: pos}}); err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			// As the search projection does after an erasure: a pass now,
			// and more while the index persists what was in memory.
			for pass := 0; ; pass++ {
				if err := ix.Compact(cctx); err != nil {
					t.Fatalf("compact: %v", err)
				}
				held := filesHolding(t, dir, name)
				if len(held) == 0 {
					break
				}
				if cctx.Err() != nil {
					t.Fatalf("60 s and %d compactions after the deletion these files still hold the name: %v", pass+1, held)
				}
				time.Sleep(time.Second)
			}
			res, err := ix.Search(ctx, search.Query{Q: "杭州", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			want := others
			if tc.alone {
				want = nil
			}
			if tc.alone && len(res.Hits) != 0 || !tc.alone && (len(res.Hits) != 1 || res.Hits[0].ID != others[1].ID) {
				t.Errorf("after compacting, 杭州 finds %v, want the other developer alone (none when the person was alone)", hitIDs(res))
			}
			if n, _ := ix.Count(ctx); n != len(want) {
				t.Errorf("%d documents after compacting, want %d", n, len(want))
			}
			if cp, _ := ix.Checkpoint(ctx); cp != (events.Position{Commit: pos, Prepare: pos}) {
				t.Errorf("compacting moved the checkpoint to %v", cp)
			}
		})
	}
}
