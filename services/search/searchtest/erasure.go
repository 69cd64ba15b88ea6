package searchtest

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
	"github.com/yunqi-town/yunqi/services/search"
)

// ErasureOptions configure RunErasure for a backend.
type ErasureOptions struct {
	// Open opens one generation's index, as search.Config.Open does.
	Open search.OpenIndex
	// OnDisk: the index lives in its directory, whose files must lose
	// the erased person's bytes within a minute (Bleve's segments keep
	// a deleted document's bytes until they are merged).
	OnDisk bool
}

// erasedName is the person erased in RunErasure; no other document
// carries it.
const erasedName = "庄小雨"

// RunErasure runs the search service on a log where a person has a
// profile, writes on a blog, is in a contest team's gallery entry and a
// collection's chapter, and is then erased: nothing found, shown or (for
// an index on disk) stored names them any more, while the documents that
// only named them (the post, the entry, the collection) stay without the
// name; later events that still carry the name do not bring it back, a
// deleted blog's posts leave the index, and a rebuild from the log agrees.
func RunErasure(t *testing.T, o ErasureOptions) {
	data := t.TempDir()
	store, err := sqlitestore.Open(filepath.Join(data, "events.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	dir := filepath.Join(data, "index")
	svc, err := search.New(search.Config{Dir: dir, Open: o.Open}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(rctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	put := func(stream string, payload any, vis events.Visibility) events.Position {
		t.Helper()
		ev, err := events.Types.New(payload, events.Metadata{Actor: events.ActorSystem, Visibility: vis, OccurredAt: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
		res, err := store.Append(ctx, stream, events.Any, ev)
		if err != nil {
			t.Fatal(err)
		}
		return res.Position
	}
	wait := func(p events.Position) {
		t.Helper()
		wctx, stop := context.WithTimeout(ctx, 90*time.Second)
		defer stop()
		if err := svc.WaitFor(wctx, p); err != nil {
			t.Fatalf("the index did not reach %s: %v", p, err)
		}
	}
	find := func(q string) search.Result {
		t.Helper()
		res, err := svc.Index().Search(ctx, search.Query{Q: q, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	authorsOf := func(q, typ string) []string {
		t.Helper()
		for _, h := range find(q).Hits {
			if h.Type == typ {
				return h.Authors
			}
		}
		t.Fatalf("q=%s finds no %s", q, typ)
		return nil
	}

	both := []events.GalleryMember{{MemberID: "u-ada"}, {MemberID: "u-bo"}}
	named := func(member, name string) events.GalleryMemberNamed {
		return events.GalleryMemberNamed{ContestID: "c", TeamID: "kites", MemberID: member, Personal: events.GalleryMemberPersonal{DisplayName: name}}
	}
	put(events.UserStream("u-ada"), events.ProfileUpdated{UserID: "u-ada", Personal: events.ProfileFields{DisplayName: erasedName, Bio: "云存储工程师"},
		Publish: events.ProfilePublish{DisplayName: true, Bio: true}}, events.Owner)
	put(events.UserStream("u-bo"), events.ProfileUpdated{UserID: "u-bo", Personal: events.ProfileFields{DisplayName: "Bo Lee", City: "杭州"},
		Publish: events.ProfilePublish{DisplayName: true, City: true}}, events.Owner)
	put(events.BlogStream("notes"), events.BlogCreated{Name: "notes", Title: "云上笔记", Owner: "u-ada", OwnerPersonal: events.OwnerPersonal{OwnerName: erasedName}}, events.Public)
	put(events.BlogStream("notes"), events.BlogCoauthorAdded{Blog: "notes", UserID: "u-bo", CoauthorPersonal: events.CoauthorPersonal{Name: "Bo Lee"}}, events.Public)
	disk := events.PostContent{Title: "磁盘抖动排查", Authors: []string{erasedName, "Bo Lee"}, Body: "diskjitterword 的排查过程", Tags: []string{"io"}}
	put(events.PostStream("notes", "disk"), events.PostPublished{Blog: "notes", Slug: "disk", Revision: 1, Published: time.Now().UTC(),
		Editor: "u-ada", EditorPersonal: events.EditorPersonal{EditorName: erasedName}, PostContent: disk}, events.Public)
	put(events.PostStream("notes", "net"), events.PostPublished{Blog: "notes", Slug: "net", Revision: 1, Published: time.Now().UTC(),
		Editor: "u-bo", EditorPersonal: events.EditorPersonal{EditorName: "Bo Lee"}, PostContent: events.PostContent{Title: "网络", Authors: []string{"Bo Lee"}, Body: "networkword"}}, events.Public)
	put(events.ContestStream("c"), events.EntryPublished{ContestID: "c", TeamID: "kites", TeamName: "Kites", Title: "风筝数据看板",
		Summary: "kiteword", Track: "data", Members: both, PublishedAt: time.Now().UTC(), Finalist: true}, events.Public)
	put(events.ContestStream("c"), named("u-ada", erasedName), events.Public)
	put(events.ContestStream("c"), named("u-bo", "Bo Lee"), events.Public)
	put(events.CollectionStream("book"), events.CollectionPublished{ID: "book", Edition: 1, Published: time.Now().UTC(),
		Chapters:          []events.PublishedChapter{{Blog: "notes", Slug: "disk", Title: "磁盘抖动排查", Revision: 1, Authors: disk.Authors}},
		CollectionDetails: events.CollectionDetails{Title: "进步集", Language: "zh-CN"}}, events.Public)
	put(events.BlogStream("gone"), events.BlogCreated{Name: "gone", Title: "要删的博客", Owner: "u-bo", OwnerPersonal: events.OwnerPersonal{OwnerName: "Bo Lee"}}, events.Public)
	wait(put(events.PostStream("gone", "p1"), events.PostPublished{Blog: "gone", Slug: "p1", Revision: 1, Published: time.Now().UTC(),
		Editor: "u-bo", EditorPersonal: events.EditorPersonal{EditorName: "Bo Lee"}, PostContent: events.PostContent{Title: "消失", Authors: []string{"Bo Lee"}, Body: "vanishword"}}, events.Public))

	if n := len(find(erasedName).Hits); n < 4 {
		t.Fatalf("before the erasure %s finds %d documents, want the profile, the post, the entry and the collection", erasedName, n)
	}
	if o.OnDisk && len(filesHolding(dir, []byte(erasedName))) == 0 {
		t.Fatal("no file of the index holds the name before the erasure: the test would prove nothing")
	}

	wait(put(events.BlogStream("gone"), events.BlogDeleted{Name: "gone"}, events.Public))
	if n := len(find("vanishword").Hits); n != 0 {
		t.Errorf("a deleted blog's post is still found")
	}

	wait(put(events.UserStream("u-ada"), events.AccountErased{UserID: "u-ada", By: events.ErasedBySelf}, events.Owner))
	// Later events that still carry the name: a co-author's revision
	// copying the old authors, a gallery name of the erased account (its
	// sealed name reads as null after the erasure; this log does not
	// seal), and a profile event of the erased account.
	put(events.ContestStream("c"), named("u-ada", erasedName), events.Public)
	disk.Body = "diskjitterword 的排查过程，第二稿"
	put(events.PostStream("notes", "disk"), events.PostRevised{Blog: "notes", Slug: "disk", Revision: 2, Editor: "u-bo", EditorPersonal: events.EditorPersonal{EditorName: "Bo Lee"},
		PostContent: disk}, events.Public)
	wait(put(events.UserStream("u-ada"), events.ProfileUpdated{UserID: "u-ada", Personal: events.ProfileFields{DisplayName: erasedName},
		Publish: events.ProfilePublish{DisplayName: true}}, events.Owner))

	check := func(what string) {
		t.Helper()
		for _, q := range []string{erasedName, "zhuangxiaoyu", "云存储工程师"} {
			if res := find(q); len(res.Hits) != 0 {
				t.Errorf("%s: q=%s finds %d documents", what, q, len(res.Hits))
			}
		}
		for _, tc := range []struct{ q, typ string }{{"diskjitterword", search.TypePost}, {"kiteword", search.TypeSubmission}, {"进步集", search.TypeCollection}} {
			if got := authorsOf(tc.q, tc.typ); !slices.Equal(got, []string{"Bo Lee"}) {
				t.Errorf("%s: the %s found by %s has authors %v, want Bo Lee alone", what, tc.typ, tc.q, got)
			}
		}
		if got := authorsOf("Bo Lee", search.TypeDeveloper); got != nil {
			t.Errorf("%s: a developer document has authors %v", what, got)
		}
		if len(find("vanishword").Hits) != 0 {
			t.Errorf("%s: a deleted blog's post is found", what)
		}
		if !o.OnDisk {
			return
		}
		deadline := time.Now().Add(time.Minute)
		for {
			held := filesHolding(dir, []byte(erasedName))
			if len(held) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: a minute after the erasure these index files still hold the name: %v", what, held)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	check("after the erasure")

	if err := svc.Rebuild(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("after a rebuild from the log")
}

// filesHolding lists the files under dir whose bytes contain needle.
func filesHolding(dir string, needle []byte) []string {
	var out []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // a file the index removed while we walked
		}
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, needle) {
			out = append(out, path)
		}
		return nil
	})
	return out
}
