package blog

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"
)

// TestFeeds parses every kind of feed as a feed reader does, and checks
// what a subscriber relies on: newest first, absolute links that lead to
// the posts, ids that survive a revision, nothing unpublished, and
// conditional GETs.
func TestFeeds(t *testing.T) {
	f := newFixture(t)
	f.importFiles("goblog", map[string]string{
		"a.md": "---\ntitle: Older\ndate: 2020-01-01\nby: [Ada]\ntags: [go]\n---\nold text",
		"b.md": "---\ntitle: Newer\ndate: 2024-01-01\nby: [Ada, 杜勇]\ntags: [go, cloud]\n---\nnew text",
	})
	owner := f.tokens.mint(t, "u-owner")
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/blog/blogs", `{"name":"notes","title":"云上笔记"}`},
		{"POST", "/api/blog/blogs/notes/posts", `{"slug":"pub","title":"公开","markdown":"visible","tags":["go"],"published":true}`},
		{"POST", "/api/blog/blogs/notes/posts", `{"slug":"draft","title":"草稿","markdown":"secret draft"}`},
		{"POST", "/api/blog/collections", `{"id":"book","title":"书","chapters":[{"blog":"goblog","slug":"a"}]}`},
	} {
		tok := owner
		if strings.Contains(c.path, "collections") {
			tok = f.tokens.mint(t, "u-org", "organizer")
		}
		if w := f.do(c.method, c.path, tok, strings.NewReader(c.body), "Content-Type", "application/json"); w.Code != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", c.method, c.path, w.Code, w.Body)
		}
	}
	if w := f.do("POST", "/api/blog/collections/book/publish", f.tokens.mint(t, "u-org", "organizer"), nil); w.Code != 200 {
		t.Fatalf("publish: %d %s", w.Code, w.Body)
	}
	parser := gofeed.NewParser()
	get := func(path string, wantType gofeed.FeedType) *gofeed.Feed {
		t.Helper()
		w := f.do("GET", path, "", nil)
		if w.Code != 200 {
			t.Fatalf("%s: %d", path, w.Code)
		}
		if strings.Contains(w.Body.String(), "secret draft") {
			t.Fatalf("%s carries a draft", path)
		}
		feed, err := parser.ParseString(w.Body.String())
		if err != nil {
			t.Fatalf("%s does not parse: %v", path, err)
		}
		if got := gofeed.DetectFeedType(strings.NewReader(w.Body.String())); got != wantType {
			t.Fatalf("%s is feed type %v, want %v", path, got, wantType)
		}
		for _, it := range feed.Items {
			if !strings.HasPrefix(it.Link, "http://example.com/") {
				t.Errorf("%s: link %q is not absolute", path, it.Link)
			}
		}
		return feed
	}
	for _, format := range []struct {
		ext string
		typ gofeed.FeedType
	}{{"atom", gofeed.FeedTypeAtom}, {"rss", gofeed.FeedTypeRSS}} {
		site := get("/blog/feed."+format.ext, format.typ)
		if len(site.Items) != 3 || site.Items[0].Title != "公开" || site.Items[1].Title != "Newer" {
			t.Errorf("site feed %s: %d items, first %q", format.ext, len(site.Items), site.Items[0].Title)
		}
		blog := get("/blog/goblog/feed."+format.ext, format.typ)
		if len(blog.Items) != 2 || blog.Items[0].Title != "Newer" {
			t.Errorf("blog feed: %+v", blog.Items)
		}
		if tag := get("/blog/tags/cloud/feed."+format.ext, format.typ); len(tag.Items) != 1 {
			t.Errorf("tag feed: %d items", len(tag.Items))
		}
		if author := get("/blog/authors/杜勇/feed."+format.ext, format.typ); len(author.Items) != 1 {
			t.Errorf("author feed: %d items", len(author.Items))
		}
		if col := get("/blog/collections/book/feed."+format.ext, format.typ); len(col.Items) != 1 {
			t.Errorf("collection feed: %d items", len(col.Items))
		}
	}
	// The entry links lead to the posts.
	first := get("/blog/goblog/feed.atom", gofeed.FeedTypeAtom).Items[0]
	if w := f.do("GET", strings.TrimPrefix(first.Link, "http://example.com"), "", nil); w.Code != 200 {
		t.Errorf("entry link %s: %d", first.Link, w.Code)
	}
	// A revision keeps the id; the ETag changes with it.
	w := f.do("GET", "/blog/notes/feed.atom", "", nil)
	etag, id := w.Header().Get("ETag"), get("/blog/notes/feed.atom", gofeed.FeedTypeAtom).Items[0].GUID
	if w := f.do("GET", "/blog/notes/feed.atom", "", nil, "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", w.Code)
	}
	if w := f.do("GET", "/blog/notes/feed.atom", "", nil, "If-Modified-Since", w.Header().Get("Last-Modified")); w.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", w.Code)
	}
	if w := f.do("PUT", "/api/blog/blogs/notes/posts/pub", owner, strings.NewReader(`{"title":"公开","markdown":"visible, revised","published":true}`), "Content-Type", "application/json"); w.Code != 200 {
		t.Fatalf("revise: %d", w.Code)
	}
	if w := f.do("GET", "/blog/notes/feed.atom", "", nil, "If-None-Match", etag); w.Code != 200 {
		t.Errorf("after a revision If-None-Match answered %d", w.Code)
	}
	if got := get("/blog/notes/feed.atom", gofeed.FeedTypeAtom).Items[0]; got.GUID != id || !strings.Contains(got.Content, "revised") {
		t.Errorf("after a revision: id %q (was %q), content %q", got.GUID, id, got.Content)
	}
	if w := f.do("GET", "/blog/nope/feed.atom", "", nil); w.Code != 404 {
		t.Errorf("unknown blog feed: %d", w.Code)
	}

	// The sitemap lists public pages only; robots.txt points to it.
	w = f.do("GET", "/sitemap.xml", "", nil)
	var set struct {
		URLs []struct {
			Loc     string `xml:"loc"`
			LastMod string `xml:"lastmod"`
		} `xml:"url"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &set); err != nil || len(set.URLs) < 5 {
		t.Fatalf("sitemap: %v, %d urls", err, len(set.URLs))
	}
	for _, u := range set.URLs {
		if strings.Contains(u.Loc, "/draft") || strings.Contains(u.Loc, "/write/") {
			t.Errorf("sitemap lists %s", u.Loc)
		}
	}
	if !strings.Contains(w.Body.String(), "<lastmod>2024-") && !strings.Contains(w.Body.String(), "<lastmod>") {
		t.Error("sitemap has no lastmod")
	}
	if w := f.do("GET", "/robots.txt", "", nil); !strings.Contains(w.Body.String(), "Sitemap: http://example.com/sitemap.xml") {
		t.Errorf("robots.txt: %s", w.Body)
	}
}
