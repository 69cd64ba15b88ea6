package blog

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/infra/auth"
)

// TestWritersJourney: a member creates a blog, writes a draft, publishes
// it, revises it; a stranger may not; the writer reads the history and a
// diff; readers see only the published revision.
func TestWritersJourney(t *testing.T) {
	f := newFixture(t)
	owner, stranger := f.tokens.mint(t, "u-owner"), f.tokens.mint(t, "u-stranger")
	call := func(method, path, token, body string, want int) *responseBody {
		t.Helper()
		w := f.do(method, path, token, strings.NewReader(body), "Content-Type", "application/json")
		if w.Code != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, w.Code, want, w.Body)
		}
		return &responseBody{w.Body.Bytes()}
	}
	call("POST", "/api/blog/blogs", owner, `{"name":"notes","title":"云上笔记"}`, http.StatusCreated)
	call("POST", "/api/blog/blogs", stranger, `{"name":"notes","title":"again"}`, http.StatusConflict)
	call("POST", "/api/blog/blogs", owner, `{"name":"collections","title":"x"}`, http.StatusUnprocessableEntity)
	call("POST", "/api/blog/blogs", owner, `{"name":"Bad Name","title":""}`, http.StatusUnprocessableEntity)

	// A draft is the writers' alone.
	saved := decode[Saved](t, call("POST", "/api/blog/blogs/notes/posts", owner,
		`{"slug":"disk","title":"磁盘抖动","markdown":"first draft","tags":["io"]}`, http.StatusCreated).b)
	if saved.Revision != 1 || saved.Published {
		t.Fatalf("draft saved as %+v", saved)
	}
	if w := f.do("GET", "/blog/notes/disk", "", nil); w.Code != http.StatusNotFound {
		t.Fatalf("a draft is on the post page: %d", w.Code)
	}
	call("POST", "/api/blog/blogs/notes/posts", owner, `{"slug":"disk","title":"x","markdown":"y"}`, http.StatusConflict)

	// Publishing the unchanged draft is no new revision.
	saved = decode[Saved](t, call("PUT", "/api/blog/blogs/notes/posts/disk", owner,
		`{"title":"磁盘抖动","markdown":"first draft","tags":["io"],"published":true}`, http.StatusOK).b)
	if saved.Revision != 1 || !saved.Published {
		t.Fatalf("published as %+v", saved)
	}
	saved = decode[Saved](t, call("PUT", "/api/blog/blogs/notes/posts/disk", owner,
		`{"title":"磁盘抖动","markdown":"second <script>alert(1)</script> [x](javascript:alert(2))","tags":["io","cloud"],"published":true}`, http.StatusOK).b)
	if saved.Revision != 2 {
		t.Fatalf("revised as %+v", saved)
	}
	call("PUT", "/api/blog/blogs/notes/posts/disk", stranger, `{"title":"x","markdown":"x","published":true}`, http.StatusForbidden)
	call("PUT", "/api/blog/blogs/notes/posts/disk", owner, `{"title":"x","markdown":"x","published":true,"base_revision":1}`, http.StatusConflict)
	call("GET", "/api/blog/blogs/notes/posts/disk/revisions", stranger, "", http.StatusForbidden)

	page := f.do("GET", "/blog/notes/disk", "", nil)
	if page.Code != 200 || !strings.Contains(page.Body.String(), "second") || strings.Contains(page.Body.String(), "first draft") {
		t.Fatalf("post page %d does not show the current revision", page.Code)
	}
	if strings.Contains(page.Body.String(), "<script>alert") || strings.Contains(page.Body.String(), "javascript:alert") {
		t.Fatal("the post page carries the writer's script")
	}

	revs := decode[struct {
		Revisions []RevisionInfo `json:"revisions"`
	}](t, call("GET", "/api/blog/blogs/notes/posts/disk/revisions", owner, "", http.StatusOK).b)
	if len(revs.Revisions) != 2 || revs.Revisions[0].Revision != 2 || !revs.Revisions[1].Public {
		t.Fatalf("revisions %+v", revs.Revisions)
	}
	d := decode[PostDiff](t, call("GET", "/api/blog/blogs/notes/posts/disk/diff?from=1&to=2", owner, "", http.StatusOK).b)
	if !strings.Contains(d.Unified, "-first draft") || !strings.Contains(d.Unified, "+second") {
		t.Fatalf("diff:\n%s", d.Unified)
	}
	call("GET", "/api/blog/blogs/notes/posts/disk/diff?from=1&to=9", owner, "", http.StatusUnprocessableEntity)

	// Too large a post is refused with the limit named.
	big := `{"slug":"big","title":"big","markdown":"` + strings.Repeat("x", MaxPostBytes+10) + `"}`
	if b := call("POST", "/api/blog/blogs/notes/posts", owner, big, http.StatusUnprocessableEntity); !strings.Contains(string(b.b), "960 KiB") {
		t.Fatalf("too large: %s", b.b)
	}

	// Unpublishing takes it away from readers; the history stays.
	call("PUT", "/api/blog/blogs/notes/posts/disk", owner, `{"title":"磁盘抖动","markdown":"second, unpublished","published":false}`, http.StatusOK)
	if w := f.do("GET", "/api/blog/blogs/notes/posts/disk", "", nil); w.Code != http.StatusNotFound {
		t.Fatalf("an unpublished post is still public: %d", w.Code)
	}

	// Co-authors write too.
	call("PUT", "/api/blog/blogs/notes/coauthors/u-co", owner, `{"name":"王小云"}`, http.StatusOK)
	call("PUT", "/api/blog/blogs/notes/coauthors/u-co", stranger, `{"name":"x"}`, http.StatusForbidden)
	co := f.tokens.mint(t, "u-co")
	call("POST", "/api/blog/blogs/notes/posts", co, `{"slug":"net","title":"网络","markdown":"text","published":true}`, http.StatusCreated)
}

// TestCollectionJourney: an organiser curates posts into a collection,
// publishes editions pinned to revisions, and a stale reorder is refused
// with the current order.
func TestCollectionJourney(t *testing.T) {
	f := newFixture(t)
	f.importFiles("book", map[string]string{"01.1.md": "# 1.1 One\n\nfirst", "01.2.md": "# 1.2 Two\n\nsecond"})
	org, member := f.tokens.mint(t, "u-org", auth.RoleOrganizer), f.tokens.mint(t, "u-m")
	call := func(method, path, token, body string, want int) []byte {
		t.Helper()
		w := f.do(method, path, token, strings.NewReader(body), "Content-Type", "application/json")
		if w.Code != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, w.Code, want, w.Body)
		}
		return w.Body.Bytes()
	}
	call("POST", "/api/blog/collections", member, `{"id":"b","title":"x","chapters":[{"blog":"book","slug":"01.1"}]}`, http.StatusForbidden)
	call("POST", "/api/blog/collections", org, `{"id":"b","title":"x","chapters":[{"blog":"book","slug":"01.1"},{"blog":"book","slug":"01.1"}]}`, http.StatusUnprocessableEntity)
	call("POST", "/api/blog/collections", org, `{"id":"b","title":"Go Web 编程","chapters":[{"blog":"book","slug":"01.2"},{"blog":"book","slug":"01.1"},{"blog":"book","slug":"nope"}]}`, http.StatusCreated)
	if w := f.do("GET", "/api/blog/collections/b", "", nil); w.Code != http.StatusNotFound {
		t.Fatalf("an unpublished collection is public: %d", w.Code)
	}
	if b := call("POST", "/api/blog/collections/b/publish", org, `{}`, http.StatusUnprocessableEntity); !strings.Contains(string(b), "chapter 3") {
		t.Fatalf("publish with a missing chapter: %s", b)
	}
	v := decode[CollectionView](t, call("GET", "/api/blog/collections/b", org, "", http.StatusOK))
	if v.Draft == nil || len(v.Draft.Missing) != 1 || v.Draft.Missing[0].Chapter != 3 {
		t.Fatalf("draft %+v", v.Draft)
	}
	stale := v.Draft.Version
	call("PUT", "/api/blog/collections/b/chapters", org, `{"version":`+itoa(int(stale))+`,"chapters":[{"blog":"book","slug":"01.1"},{"blog":"book","slug":"01.2"}]}`, http.StatusOK)
	if b := call("PUT", "/api/blog/collections/b/chapters", org, `{"version":`+itoa(int(stale))+`,"chapters":[]}`, http.StatusConflict); !strings.Contains(string(b), `"current"`) {
		t.Fatalf("stale reorder: %s", b)
	}
	ed := decode[struct {
		Edition int `json:"edition"`
	}](t, call("POST", "/api/blog/collections/b/publish", org, `{}`, http.StatusOK))
	if ed.Edition != 1 {
		t.Fatalf("edition %d", ed.Edition)
	}
	f.importFiles("book", map[string]string{"01.1.md": "# 1.1 One\n\nfirst, revised", "01.2.md": "# 1.2 Two\n\nsecond"})
	v = decode[CollectionView](t, call("GET", "/api/blog/collections/b", "", "", http.StatusOK))
	if v.Edition != 1 || len(v.Chapters) != 2 || v.Chapters[0].Slug != "01.1" || v.Chapters[0].Revision != 1 || v.Draft != nil {
		t.Fatalf("collection %+v", v)
	}
	call("POST", "/api/blog/collections/b/publish", org, ``, http.StatusOK)
	v = decode[CollectionView](t, call("GET", "/api/blog/collections/b", "", "", http.StatusOK))
	if v.Edition != 2 || v.Chapters[0].Revision != 2 {
		t.Fatalf("edition 2 %+v", v)
	}
	call("GET", "/api/blog/collections/b/editions/1", "", "", http.StatusOK)
}

type responseBody struct{ b []byte }

func itoa(n int) string { return strconv.Itoa(n) }

// TestEditorTakesLongPosts: the editor's form carries a post far above
// the 4 KiB the reading pages allow.
func TestEditorTakesLongPosts(t *testing.T) {
	f := newFixture(t)
	w := f.do("POST", "/blog/write/notes/new", "", strings.NewReader("markdown="+strings.Repeat("x", 200<<10)), "Content-Type", "application/x-www-form-urlencoded")
	if w.Code == http.StatusRequestEntityTooLarge {
		t.Fatalf("a 200 KiB editor form was refused as too large")
	}
	if w := f.do("GET", "/blog/", "", strings.NewReader(strings.Repeat("x", 8<<10))); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a reading page took an 8 KiB body: %d", w.Code)
	}
}
