package blog

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// bookSite is the fixture's service behind a router whose pages know the
// visitor: a stand-in for identity's page session that takes the access
// token from the Authorization header, as the API does.
type bookSite struct {
	*fixture
	h http.Handler
}

func newBookSite(t *testing.T) *bookSite {
	t.Helper()
	return bookSiteOf(t, newFixture(t))
}

// newBookSiteOn starts a second service on the log of another site's.
func newBookSiteOn(t *testing.T, other *fixture) *bookSite {
	t.Helper()
	return bookSiteOf(t, newFixtureOn(t, other.store, other.tokens))
}

func bookSiteOf(t *testing.T, f *fixture) *bookSite {
	t.Helper()
	ui, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := f.svc.Pages(ui)
	if err != nil {
		t.Fatal(err)
	}
	session := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				if p, err := f.tokens.verifier.Verify(r.Context(), tok); err == nil {
					r = r.WithContext(auth.WithPrincipal(r.Context(), p))
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httpserver.New(httpserver.Options{})
	f.svc.Mount(srv.Router())
	pages.Mount(srv.Router(), session)
	ui.Mount(srv.Router(), session)
	return &bookSite{fixture: f, h: srv}
}

// page sends a page request: a GET, or a form POST when form is set.
func (s *bookSite) page(method, path, token, lang string, form url.Values) *httptest.ResponseRecorder {
	s.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	r.Header.Set("Accept-Language", lang)
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w
}

// expect checks a page's status and that its body holds every want.
func (s *bookSite) expect(w *httptest.ResponseRecorder, status int, wants ...string) string {
	s.t.Helper()
	body := w.Body.String()
	if w.Code != status {
		s.t.Fatalf("status %d, want %d: %s", w.Code, status, body)
	}
	for _, want := range wants {
		if !strings.Contains(body, want) {
			s.t.Errorf("the page lacks %q", want)
		}
	}
	return body
}

func (s *bookSite) lacks(body string, unwanted ...string) {
	s.t.Helper()
	for _, u := range unwanted {
		if strings.Contains(body, u) {
			s.t.Errorf("the page has %q", u)
		}
	}
}

var versionField = regexp.MustCompile(`name="version" value="(\d+)"`)

// version is the chapter list's version a curate page was rendered at.
func (s *bookSite) version(body string) string {
	s.t.Helper()
	m := versionField.FindStringSubmatch(body)
	if m == nil {
		s.t.Fatal("the curate page carries no version")
	}
	return m[1]
}

// inOrder fails unless the wants appear in body in this order.
func inOrder(t *testing.T, body string, wants ...string) {
	t.Helper()
	at := 0
	for _, w := range wants {
		i := strings.Index(body[at:], w)
		if i < 0 {
			t.Fatalf("%q is missing or out of order (after %d)", w, at)
		}
		at += i + len(w)
	}
}

func testPNG(t testing.TB, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 30, 40))
	for x := range 30 {
		for y := range 40 {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestBookTemplatesLoad(t *testing.T) {
	f := newFixture(t)
	ui, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := f.svc.Pages(ui)
	if err != nil {
		t.Fatal(err)
	}
	if err := pages.book().load(); err != nil {
		t.Fatalf("the collection pages do not load: %v", err)
	}
	for _, key := range []string{"book.flash.created", "book.err.missing_chapter", "book.image.missing", "book.chapter.missing"} {
		for _, lang := range []string{"zh-CN", "en"} {
			if bookText(lang, key) == "" {
				t.Errorf("%s has no %s", lang, key)
			}
		}
	}
}

// TestCollectionPages curates a book through the pages, publishes it,
// reads it, revises a post and publishes again.
func TestCollectionPages(t *testing.T) {
	s := newBookSite(t)
	s.importFiles("book", map[string]string{
		"01.1.md": "# 1.1 One\n\nfirst text, with [the next](01.2.md#sec), [the same](/blog/book/01.2), [the outside](99.9.md), " +
			"[a file](../src/main.go) and [a place](#here).\n\n![a mac](images/1.1.mac.png?raw=true)\n\n<a id=\"here\"></a>end\n",
		"01.2.md": "# 1.2 Two\n\n## Sec\n\nsecond text\n",
		"02.1.md": "# 2.1 Three\n\nthird text; Third again. THIRD.\n",
		"99.9.md": "# Outside\n\nnot in the book\n",
	})
	org, member := s.tokens.mint(t, "u-org", auth.RoleOrganizer), s.tokens.mint(t, "u-member")

	// Anonymous visitors are sent to log in; members are refused.
	w := s.page("GET", "/blog/collections/gobook/curate", "", "en", nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/identity/login?next=%2Fblog%2Fcollections%2Fgobook%2Fcurate" {
		t.Fatalf("anonymous curate: %d → %q", w.Code, w.Header().Get("Location"))
	}
	s.expect(s.page("GET", "/blog/collections/", "", "zh-CN", nil), http.StatusOK, "<h1>文集</h1>", "还没有出版任何文集")
	body := s.expect(s.page("GET", "/blog/collections/", member, "en", nil), http.StatusOK, "No collection has been published yet")
	s.lacks(body, "Start a collection")

	// An organiser starts one; the form speaks the visitor's language.
	s.expect(s.page("GET", "/blog/collections/", org, "zh-CN", nil), http.StatusOK, "新建文集", `name="chapters"`)
	s.expect(s.page("POST", "/blog/collections/", org, "zh-CN", url.Values{"id": {"Bad Id"}, "title": {""}}),
		http.StatusUnprocessableEntity, "请用 1 到 64 个小写字母", "请填写这一项", `value="Bad Id"`)
	s.expect(s.page("POST", "/blog/collections/", org, "en", url.Values{"id": {"gobook"}, "title": {"x"}, "chapters": {"book/01.1\nnonsense"}}),
		http.StatusUnprocessableEntity, "Line 2: write the post as blog/slug.")
	s.expect(s.page("POST", "/blog/collections/", org, "en", url.Values{"id": {"gobook"}, "title": {"x"}, "chapters": {"book/01.1\nbook/01.1"}}),
		http.StatusUnprocessableEntity, "Line 2: book/01.1 is chapter 1 already.")
	w = s.page("POST", "/blog/collections/", org, "zh-CN", url.Values{"id": {"gobook"}, "title": {"Go Web 编程"}, "subtitle": {"用 Go 写网站"},
		"language": {"zh-CN"}, "preface": {"写在前面：先读 [第二节](01.2.md)。"},
		"chapters": {"book/01.1 | 第一部分\nbook/01.2 | 第一部分\nbook/02.1 | 第二部分\nbook/nope"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/blog/collections/gobook/curate" {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if c := w.Result().Cookies(); len(c) == 0 || c[0].Value != "book.flash.created" {
		t.Errorf("create sets no flash: %v", c)
	}
	s.expect(s.page("POST", "/blog/collections/", org, "en", url.Values{"id": {"gobook"}, "title": {"again"}}),
		http.StatusUnprocessableEntity, "There is a collection with this name already.", `href="/blog/collections/gobook/"`)

	// Before the first edition the book is its curators' alone.
	s.expect(s.page("GET", "/blog/collections/gobook/", "", "en", nil), http.StatusNotFound)
	body = s.expect(s.page("GET", "/blog/collections/gobook/", org, "en", nil), http.StatusOK,
		"this is the work in progress", "Chapter 4: book/nope", `href="/blog/collections/gobook/curate"`)
	inOrder(t, body, "第一部分", "1.1 One", "1.2 Two", "第二部分", "2.1 Three", "book/nope")
	s.expect(s.page("GET", "/blog/collections/gobook/curate", member, "en", nil), http.StatusForbidden, "Not your collection")

	// The missing chapter is named on the page and in the refusal.
	s.expect(s.page("GET", "/blog/collections/gobook/curate", org, "zh-CN", nil), http.StatusOK, "第 4 章：book/nope")
	s.expect(s.page("POST", "/blog/collections/gobook/publish", org, "zh-CN", url.Values{}), http.StatusUnprocessableEntity,
		"第 4 章 book/nope 不是已发布的文章")
	s.expect(s.page("POST", "/blog/collections/gobook/publish", org, "en", url.Values{}), http.StatusUnprocessableEntity,
		"Chapter 4, book/nope, is not a published post")

	// Reordering carries the version it was shown at; a stale one shows
	// the current order and changes nothing.
	body = s.expect(s.page("GET", "/blog/collections/gobook/curate", org, "en", nil), http.StatusOK)
	stale := s.version(body)
	w = s.page("POST", "/blog/collections/gobook/chapters", org, "en", url.Values{"version": {stale}, "action": {"remove"}, "blog": {"book"}, "slug": {"nope"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", w.Code, w.Body)
	}
	body = s.expect(s.page("POST", "/blog/collections/gobook/chapters", org, "en", url.Values{"version": {stale}, "action": {"up"}, "blog": {"book"}, "slug": {"02.1"}}),
		http.StatusConflict, "Someone changed the order of the chapters since you loaded this page; here is the current one.")
	inOrder(t, body, "1.1 One", "1.2 Two", "2.1 Three")
	s.lacks(body, "book/nope")
	s.expect(s.page("POST", "/blog/collections/gobook/chapters", org, "zh-CN", url.Values{"version": {stale}, "action": {"down"}, "blog": {"book"}, "slug": {"01.1"}}),
		http.StatusConflict, "有人改动了章节顺序；下面是现在的顺序")
	current := s.version(body)
	w = s.page("POST", "/blog/collections/gobook/chapters", org, "en", url.Values{"version": {current}, "action": {"up"}, "blog": {"book"}, "slug": {"02.1"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("up: %d %s", w.Code, w.Body)
	}
	body = s.expect(s.page("GET", "/blog/collections/gobook/curate", org, "en", nil), http.StatusOK)
	inOrder(t, body, "1.1 One", "2.1 Three", "1.2 Two")
	w = s.page("POST", "/blog/collections/gobook/chapters", org, "en", url.Values{"version": {s.version(body)}, "action": {"down"}, "blog": {"book"}, "slug": {"02.1"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("down: %d %s", w.Code, w.Body)
	}
	s.expect(s.page("POST", "/blog/collections/gobook/chapters", member, "en", url.Values{"version": {"0"}, "action": {"up"}, "blog": {"book"}, "slug": {"02.1"}}),
		http.StatusForbidden)
	if w := s.page("POST", "/blog/collections/gobook/chapters", "", "en", url.Values{"version": {"0"}}); w.Code != http.StatusSeeOther ||
		!strings.HasPrefix(w.Header().Get("Location"), "/identity/login?next=") {
		t.Fatalf("anonymous reorder: %d %q", w.Code, w.Header().Get("Location"))
	}

	// Adding a chapter names what is wrong with it, in place.
	body = s.expect(s.page("GET", "/blog/collections/gobook/curate", org, "en", nil), http.StatusOK)
	s.expect(s.page("POST", "/blog/collections/gobook/chapters", org, "en", url.Values{"version": {s.version(body)}, "action": {"add"}, "blog": {"book"}, "slug": {"01.2"}}),
		http.StatusUnprocessableEntity, "book/01.2 is chapter 2 already.")
	s.expect(s.page("POST", "/blog/collections/gobook/chapters", org, "zh-CN", url.Values{"version": {s.version(body)}, "action": {"add"}, "blog": {"Bad"}, "slug": {"x"}}),
		http.StatusUnprocessableEntity, "这不是博客的名称。")

	// The details, with a cover.
	cover, err := s.svc.UploadImage(bytes.NewReader(testPNG(t, color.RGBA{200, 30, 30, 255})))
	if err != nil {
		t.Fatal(err)
	}
	s.expect(s.page("POST", "/blog/collections/gobook/details", org, "en", url.Values{"title": {"Go Web 编程"}, "cover": {"nope.png"}, "language": {"zh-CN"}}),
		http.StatusUnprocessableEntity, "No uploaded image has this name.")
	w = s.page("POST", "/blog/collections/gobook/details", org, "en", url.Values{"title": {"Go Web 编程"}, "title_en": {"Go Web Programming"},
		"subtitle": {"用 Go 写网站"}, "language": {"zh-CN"}, "cover": {cover}, "preface": {"写在前面：先读 [第二节](01.2.md)。"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("details: %d %s", w.Code, w.Body)
	}

	w = s.page("POST", "/blog/collections/gobook/publish", org, "en", url.Values{})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/blog/collections/gobook/curate" {
		t.Fatalf("publish: %d %s", w.Code, w.Body)
	}

	// Readers see the edition: its table of contents by part, in order.
	body = s.expect(s.page("GET", "/blog/collections/gobook/", "", "zh-CN", nil), http.StatusOK,
		"<h1>Go Web 编程</h1>", "用 Go 写网站", `<h3 class="book-part">第一部分</h3>`, `<h3 class="book-part">第二部分</h3>`,
		`href="/blog/collections/gobook/editions/1/1"`, `href="/blog/collections/gobook/editions/1/book.epub"`,
		`href="/blog/collections/gobook/editions/1/print"`, `action="/blog/collections/gobook/search"`,
		`rel="alternate" type="application/atom&#43;xml"`, `href="/blog/collections/gobook/feed.atom"`, `href="/blog/collections/gobook/feed.rss"`,
		`<meta property="og:type" content="book">`, `<meta property="og:description" content="用 Go 写网站">`,
		`content="http://example.com/blog/collections/gobook/"`, `src="/blog/images/`+cover+`"`,
		`href="/blog/collections/gobook/editions/1/2" rel="nofollow">第二节</a>`, "第 1 版", `aria-current="page"`)
	inOrder(t, body, "第一部分", "1.1 One", "1.2 Two", "第二部分", "2.1 Three", "版本")
	s.lacks(body, "book/nope", "Curate this collection", "编排这本文集")
	s.expect(s.page("GET", "/blog/collections/gobook/", "", "en", nil), http.StatusOK, "<h1>Go Web Programming</h1>", "Edition 1", "Download EPUB")
	s.expect(s.page("GET", "/blog/collections/gobook/editions/9/", "", "en", nil), http.StatusNotFound)
	s.expect(s.page("GET", "/blog/collections/gobook/editions/x/", "", "en", nil), http.StatusNotFound)
	s.expect(s.page("GET", "/blog/collections/gobook/editions/1/4", "", "en", nil), http.StatusNotFound)
	s.expect(s.page("GET", "/blog/collections/gobook/editions/1/0", "", "en", nil), http.StatusNotFound)
	s.expect(s.page("GET", "/blog/collections/", "", "en", nil), http.StatusOK, `href="/blog/collections/gobook/"`, "edition 1", "3 chapters")

	// A chapter: its links lead to the chapters of this edition.
	body = s.expect(s.page("GET", "/blog/collections/gobook/editions/1/1", "", "en", nil), http.StatusOK,
		"<h1>1.1 One</h1>", "Chapter 1 of 3", "first text", `href="/blog/collections/gobook/editions/1/2#sec"`,
		`href="/blog/collections/gobook/editions/1/2"`, `href="/blog/book/99.9"`, `href="#here"`,
		`rel="next">1.2 Two →`, `href="/blog/book/01.1"`, `href="/blog/collections/gobook/editions/1/#contents"`,
		`class="missing-image"`, "本书未收录的图片：images/1.1.mac.png")
	s.lacks(body, `rel="prev"`, "src/main.go", `src="images/`)
	s.expect(s.page("GET", "/blog/collections/gobook/editions/1/2", "", "en", nil), http.StatusOK,
		`rel="prev">← 1.1 One`, `rel="next">2.1 Three →`)

	// A revised post changes the post, not the published edition.
	s.importFiles("book", map[string]string{"01.1.md": "# 1.1 One\n\nrevised text\n"})
	s.expect(s.page("GET", "/blog/book/01.1", "", "en", nil), http.StatusOK, "revised text")
	body = s.expect(s.page("GET", "/blog/collections/gobook/editions/1/1", "", "en", nil), http.StatusOK, "first text", "revision 1 of the post")
	s.lacks(body, "revised text")
	w = s.page("POST", "/blog/collections/gobook/publish", org, "zh-CN", url.Values{})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("publish 2: %d %s", w.Code, w.Body)
	}
	s.expect(s.page("GET", "/blog/collections/gobook/editions/2/1", "", "en", nil), http.StatusOK, "revised text", "revision 2 of the post")
	s.expect(s.page("GET", "/blog/collections/gobook/editions/1/1", "", "en", nil), http.StatusOK, "first text")
	body = s.expect(s.page("GET", "/blog/collections/gobook/editions/1/", "", "en", nil), http.StatusOK,
		"a newer edition exists", `<a href="/blog/collections/gobook/editions/1/" aria-current="page">Edition 1</a>`, `href="/blog/collections/gobook/editions/2/"`)
	body = s.expect(s.page("GET", "/blog/collections/gobook/", org, "en", nil), http.StatusOK, "Edition 2", "Curate this collection")
	s.lacks(body, "this is the work in progress")

	// Find in book searches the newest edition as published.
	s.expect(s.page("GET", "/blog/collections/gobook/search", "", "en", nil), http.StatusOK, `type="search"`, "Find in this book")
	body = s.expect(s.page("GET", "/blog/collections/gobook/search?q=third", "", "en", nil), http.StatusOK,
		"1 chapter contains “third”.", `href="/blog/collections/gobook/editions/2/3"`, "<mark>third</mark>", "<mark>Third</mark>", "<mark>THIRD</mark>")
	body = s.expect(s.page("GET", "/blog/collections/gobook/search?q=text+Two", "", "en", nil), http.StatusOK, "1 chapter contains")
	if !strings.Contains(body, `editions/2/2"`) {
		t.Error("a title word does not find its chapter")
	}
	body = s.expect(s.page("GET", "/blog/collections/gobook/search?q=TEXT", "", "zh-CN", nil), http.StatusOK, "有 3 章包含")
	s.expect(s.page("GET", "/blog/collections/gobook/search?q=first", "", "en", nil), http.StatusOK, "0 chapters contain")
	s.expect(s.page("GET", "/blog/collections/gobook/search?q="+strings.Repeat("长", 201), "", "zh-CN", nil), http.StatusUnprocessableEntity,
		"查找的内容最多 200 个字，现在有 201 个。", `aria-invalid="true"`)

	// The print view: the whole edition, with links within the page.
	body = s.expect(s.page("GET", "/blog/collections/gobook/print", "", "en", nil), http.StatusOK,
		`<html lang="zh-CN">`, `id="chapter-1"`, `id="chapter-3"`, `href="#chapter-2"`, "目录", "第 2 版", "revised text",
		`<h1 class="part-title" id="part-1">第一部分</h1>`, `id="c2-sec"`)
	s.lacks(body, "site-header")
	s.expect(s.page("GET", "/blog/collections/gobook/editions/1/print", "", "en", nil), http.StatusOK, `href="#c2-sec"`, "first text")

	// The EPUB of each edition.
	w = s.page("GET", "/blog/collections/gobook/book.epub", "", "en", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/epub+zip" ||
		w.Header().Get("Content-Disposition") != `attachment; filename="gobook-2.epub"` || w.Header().Get("ETag") == "" {
		t.Fatalf("epub: %d %v", w.Code, w.Header())
	}
	if !bytes.HasPrefix(w.Body.Bytes(), []byte("PK\x03\x04")) || !bytes.Contains(w.Body.Bytes()[:64], []byte("mimetypeapplication/epub+zip")) {
		t.Error("the EPUB does not start with its stored mimetype")
	}
	r := httptest.NewRequest("GET", "/blog/collections/gobook/book.epub", nil)
	r.Header.Set("If-None-Match", w.Header().Get("ETag"))
	again := httptest.NewRecorder()
	s.h.ServeHTTP(again, r)
	if again.Code != http.StatusNotModified {
		t.Errorf("a fresh ETag: %d", again.Code)
	}
	w = s.page("GET", "/blog/collections/gobook/editions/1/book.epub", "", "en", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Disposition") != `attachment; filename="gobook-1.epub"` ||
		!strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("edition 1 epub: %d %v", w.Code, w.Header())
	}

	// Uploaded images and the pages' stylesheet.
	w = s.page("GET", "/blog/images/"+cover, "", "en", nil)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/png" || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") ||
		w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("image: %d %v", w.Code, w.Header())
	}
	s.expect(s.page("GET", "/blog/images/"+strings.Repeat("0", 64)+".png", "", "en", nil), http.StatusNotFound)
	w = s.page("GET", bookCSSHref, "", "en", nil)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") || !strings.Contains(w.Body.String(), "string-set") {
		t.Fatalf("stylesheet: %d %v", w.Code, w.Header())
	}
}

// TestCollectionOfAMember: a member curates a book of their own blog, and
// nobody else's.
func TestCollectionOfAMember(t *testing.T) {
	s := newBookSite(t)
	ann, bob := s.tokens.mint(t, "u-ann"), s.tokens.mint(t, "u-bob")
	w := s.do("POST", "/api/blog/blogs", ann, strings.NewReader(`{"name":"notes","title":"Ann's notes"}`), "Content-Type", "application/json")
	if w.Code != http.StatusCreated {
		t.Fatalf("blog: %d %s", w.Code, w.Body)
	}
	w = s.do("POST", "/api/blog/blogs/notes/posts", ann, strings.NewReader(`{"slug":"one","title":"One","markdown":"text","published":true}`), "Content-Type", "application/json")
	if w.Code != http.StatusCreated {
		t.Fatalf("post: %d %s", w.Code, w.Body)
	}
	s.sync()
	w = s.page("POST", "/blog/collections/", ann, "en", url.Values{"id": {"anns"}, "title": {"Ann's book"}, "language": {"en"}, "chapters": {"notes/one"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("a member's collection: %d %s", w.Code, w.Body)
	}
	s.expect(s.page("GET", "/blog/collections/anns/curate", ann, "en", nil), http.StatusOK, "Curate “Ann&#39;s book”")
	s.expect(s.page("GET", "/blog/collections/anns/curate", bob, "en", nil), http.StatusForbidden)
	s.expect(s.page("GET", "/blog/collections/anns/", bob, "en", nil), http.StatusNotFound)
	s.expect(s.page("GET", "/blog/collections/", ann, "en", nil), http.StatusOK, "not published yet, 1 chapters in progress")
	s.expect(s.page("POST", "/blog/collections/", bob, "en", url.Values{"id": {"bobs"}, "title": {"Bob's"}, "chapters": {"notes/one"}}), http.StatusForbidden)
}

// TestFindInBook ranks title hits first, then by the number of hits, and
// marks the words of a snippet without letting the text's markup through.
func TestFindInBook(t *testing.T) {
	texts := []chapterText{}
	for i, c := range [][2]string{
		{"Cloud storage", "Disks <b>and</b> cloud disks."},
		{"Networks", "cloud cloud cloud storage."},
		{"Storage", "plain text"},
		{"云存储", "在云上存储数据，数据很多。"},
	} {
		texts = append(texts, chapterText{K: i + 1, Title: c[0], Text: c[1], title: foldCase(c[0]), text: foldCase(c[1])})
	}
	hits := findInBook(texts, "CLOUD storage")
	if len(hits) != 2 || hits[0].K != 1 || hits[1].K != 2 {
		t.Fatalf("hits %+v", hits)
	}
	if got := string(hits[0].Snippet); got != "Disks &lt;b&gt;and&lt;/b&gt; <mark>cloud</mark> disks." {
		t.Errorf("snippet %q", got)
	}
	if hits := findInBook(texts, "数据 云"); len(hits) != 1 || !strings.Contains(string(hits[0].Snippet), "<mark>数据</mark>") {
		t.Errorf("Chinese hits %+v", hits)
	}
	if hits := findInBook(texts, "   "); hits != nil {
		t.Errorf("an empty query finds %+v", hits)
	}
	long := strings.Repeat("字", 300) + "目标" + strings.Repeat("字", 300)
	h := findInBook([]chapterText{{K: 1, Title: "t", Text: long, title: "t", text: long}}, "目标")
	if s := string(h[0].Snippet); !strings.HasPrefix(s, "…") || !strings.HasSuffix(s, "…") || !strings.Contains(s, "<mark>目标</mark>") {
		t.Errorf("long snippet %q", s)
	}
}

// TestBookLinks resolves the forms a link between a book's posts takes.
func TestBookLinks(t *testing.T) {
	image := strings.Repeat("a", 64) + ".png"
	l := newBookLinks([]events.PublishedChapter{{Blog: "gobook-zh", Slug: "01.1"}, {Blog: "gobook-zh", Slug: "01.2"}},
		func(name string) bool { return name == image }, func(blog, slug string) bool { return slug == "preface" })
	for _, c := range []struct {
		href string
		want linkTarget
	}{
		{"01.2", linkTarget{Kind: linkChapter, Chapter: 2}},
		{"01.2.md", linkTarget{Kind: linkChapter, Chapter: 2}},
		{"../01.2.md#x", linkTarget{Kind: linkChapter, Chapter: 2, Fragment: "x"}},
		{"/blog/gobook-zh/01.2", linkTarget{Kind: linkChapter, Chapter: 2}},
		{"#y", linkTarget{Kind: linkSelf, Fragment: "y"}},
		{"preface", linkTarget{Kind: linkSite, Href: "/blog/gobook-zh/preface"}},
		{"images/1.1.mac.png?raw=true", linkTarget{}},
		{"nothere.md", linkTarget{}},
		{"../src/main.go", linkTarget{}},
		{"./", linkTarget{Kind: linkSite, Href: "/blog/gobook-zh/"}},
		{"../../etc", linkTarget{}},
		{"/blog/images/" + image, linkTarget{Kind: linkImage, Image: image}},
		{"https://golang.org/dl/", linkTarget{Kind: linkRemote, Href: "https://golang.org/dl/"}},
		{"//example.com/x", linkTarget{Kind: linkRemote, Href: "https://example.com/x"}},
		{"javascript:alert(1)", linkTarget{}},
		{"/conference/", linkTarget{Kind: linkSite, Href: "/conference/"}},
	} {
		if got := l.resolve(c.href, "gobook-zh", "01.1"); got != c.want {
			t.Errorf("%q: %+v, want %+v", c.href, got, c.want)
		}
	}
}
