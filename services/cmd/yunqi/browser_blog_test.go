package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// blogCopy is what the writer's journey reads on the pages, per language.
type blogCopy struct {
	lang, draft, published, revised string
}

var blogJourneys = []blogCopy{
	{lang: "zh-CN", draft: "已存为草稿：读者看不到。", published: "已保存并发布：读者看到的是这一版。", revised: "第 1 版到第 2 版的改动"},
	{lang: "en", draft: "Saved as a draft: readers do not see it.", published: "Saved and published: readers see this revision.", revised: "Changes from revision 1 to 2"},
}

// TestBrowserWritersJourney: a member opens a blog from the writing page,
// writes a post, previews it (the script in it is gone), saves it as a
// draft that readers cannot see, publishes it, revises it, and compares
// the two revisions; the post page shows the new text with its tag and
// author linked. Once in each language.
func TestBrowserWritersJourney(t *testing.T) {
	browser := startBrowser(t)
	a := newTestApp(t, "")
	srv := httptest.NewServer(a.app.server)
	t.Cleanup(srv.Close)
	for i, c := range blogJourneys {
		t.Run(c.lang, func(t *testing.T) {
			tb := openTab(t, browser, srv.URL, "writer-"+c.lang, c.lang)
			email := "writer" + c.lang + "@example.com"
			name := []string{"王小云", "Ada Writer"}[i]
			tb.signUp(email, name)
			blog := []string{"yun-notes", "ada-notes"}[i]

			// Opening a blog needs a log-in, which the sign-up gave.
			tb.open("/blog/write/")
			tb.fill("#f-name", "Collections") // refused: not a name, and a word the pages use
			tb.fill("#f-title", "云上笔记")
			tb.clickAndWait(`form[action="/blog/write/"] button[type="submit"]`, "/blog/write/")
			if got := tb.text(".error-summary"); got == "" {
				t.Fatal("a bad blog name gave no error summary")
			}
			tb.fill("#f-name", blog)
			tb.clickAndWait(`form[action="/blog/write/"] button[type="submit"]`, "/blog/write/"+blog+"/")
			tb.step("blog-opened")

			tb.clickAndWait(`a[href="/blog/write/`+blog+`/new"]`, "/blog/write/"+blog+"/new")
			tb.fill("#f-slug", "disk-io")
			tb.fill("#f-title", "磁盘 IO 抖动")
			tb.fill("#f-markdown", "# 排查\n\nfirst draft of the jitter story <script>window.pwned=1</script>\n\n- iostat\n- vmstat\n")
			tb.fill("#f-tags", "存储, io")
			tb.clickAndWait(`button[value="preview"]`, "/blog/write/"+blog+"/new")
			if got := tb.text(".preview .post-body"); !strings.Contains(got, "first draft of the jitter story") {
				t.Fatalf("the preview shows %q", got)
			}
			if tb.eval(`String(!!document.querySelector(".preview script") || !!window.pwned)`) != "false" {
				t.Fatal("the preview carries the writer's script")
			}
			tb.step("preview")
			tb.clickAndWait(`button[value="save"]`, "/blog/write/"+blog+"/posts/disk-io")
			if got := tb.text(".notice, [role=status]"); !strings.Contains(got, c.draft) {
				t.Fatalf("after saving a draft the page says %q", got)
			}
			if w := a.do("GET", "/blog/"+blog+"/disk-io", "", ""); w.Code != 404 {
				t.Fatalf("a draft is on the post page: %d", w.Code)
			}

			// Publish, then revise.
			tb.run("tick published", chromedp.Click(chromedp.CSS(`#f-published`)))
			tb.clickAndWait(`button[value="save"]`, "/blog/write/"+blog+"/posts/disk-io")
			if got := tb.text("[role=status]"); !strings.Contains(got, c.published) {
				t.Fatalf("after publishing the page says %q", got)
			}
			tb.fill("#f-markdown", "# 排查\n\nsecond revision: the neighbours were busy too\n")
			tb.clickAndWait(`button[value="save"]`, "/blog/write/"+blog+"/posts/disk-io")
			tb.step("revised")

			tb.clickAndWait(`a[href$="/revisions"]`, "/blog/write/"+blog+"/posts/disk-io/revisions")
			if n := tb.eval(`String(document.querySelectorAll("table.revisions tbody tr").length)`); n != "2" {
				t.Fatalf("the history lists %s revisions", n)
			}
			tb.clickAndWait(`form[action$="/diff"] button[type="submit"]`, "/blog/write/"+blog+"/posts/disk-io/diff")
			if got := tb.text("h1"); got != c.revised {
				t.Fatalf("diff heading %q", got)
			}
			if del, ins := tb.text(".diff del"), tb.text(".diff ins"); !strings.Contains(del, "first draft") || !strings.Contains(ins, "second revision") {
				t.Fatalf("diff shows del %q, ins %q", del, ins)
			}
			tb.step("diff")

			tb.open("/blog/" + blog + "/disk-io")
			if got := tb.text(".post-body"); !strings.Contains(got, "second revision") || strings.Contains(got, "first draft") {
				t.Fatalf("the post page shows %q", got)
			}
			if got := tb.text(`.tags a[rel="tag"]`); got != "存储" {
				t.Errorf("first tag link %q", got)
			}
			if got := tb.text(`.post-meta a[rel="author"]`); got != name {
				t.Errorf("author link %q", got)
			}
			if tb.eval(`String(!!document.querySelector('link[rel="alternate"][type="application/atom+xml"]'))`) != "true" {
				t.Error("the post page names no Atom feed")
			}
			tb.step("post")
		})
	}
}

// TestBrowserCuratorJourney: a member who owns a blog makes a collection
// of two of its posts, adds a third chapter on the curation page,
// publishes the edition there, and reads the book chapter by chapter,
// forwards and back; a later edit of a post does not change the edition.
// Once in each language.
func TestBrowserCuratorJourney(t *testing.T) {
	browser := startBrowser(t)
	a := newTestApp(t, "")
	srv := httptest.NewServer(a.app.server)
	t.Cleanup(srv.Close)
	for i, lang := range []string{"zh-CN", "en"} {
		t.Run(lang, func(t *testing.T) {
			email := "curator" + lang + "@example.com"
			a.signUp(email, []string{"编者", "Curator"}[i])
			tok, _ := a.logIn(email)
			blog, book := []string{"cn-notes", "en-notes"}[i], []string{"cn-book", "en-book"}[i]
			call := func(method, path, body string) {
				t.Helper()
				if w := a.do(method, path, tok, body); w.Code >= 300 {
					t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
				}
			}
			call("POST", "/api/blog/blogs", `{"name":"`+blog+`","title":"云上笔记"}`)
			for _, p := range [][2]string{{"one", "第一章 磁盘"}, {"two", "第二章 网络"}, {"three", "第三章 缓存"}} {
				call("POST", "/api/blog/blogs/"+blog+"/posts", `{"slug":"`+p[0]+`","title":"`+p[1]+`","markdown":"text of `+p[0]+`","published":true}`)
			}
			call("POST", "/api/blog/collections", `{"id":"`+book+`","title":"进步集","chapters":[{"blog":"`+blog+`","slug":"one"},{"blog":"`+blog+`","slug":"two"}]}`)

			tb := openTab(t, browser, srv.URL, "curator-"+lang, lang)
			tb.logInAt("/blog/collections/"+book+"/curate", email)
			add := `form:has(input[name="action"][value="add"])`
			tb.fill(add+` input[name="blog"]`, blog)
			tb.fill(add+` input[name="slug"]`, "three")
			tb.clickAndWait(add+` button[type="submit"]`, "/blog/collections/"+book+"/")
			if n := tb.eval(`String(document.querySelectorAll('input[name="action"][value="remove"]').length)`); n != "3" {
				t.Fatalf("after adding, the curation page lists %s chapters", n)
			}
			tb.step("curated")
			tb.clickAndWait(`form[action$="/publish"] button[type="submit"]`, "/blog/collections/"+book+"/")
			tb.step("published")

			// A later edit does not change the book.
			call("PUT", "/api/blog/blogs/"+blog+"/posts/one", `{"title":"第一章 磁盘","markdown":"rewritten after the book","published":true}`)

			tb.open("/blog/collections/" + book + "/")
			tb.clickAndWait(`nav a[href$="/editions/1/1"], a[href$="/editions/1/1"]`, "/blog/collections/"+book+"/editions/1/1")
			if got := tb.text("main"); !strings.Contains(got, "text of one") || strings.Contains(got, "rewritten") {
				t.Fatalf("chapter 1 shows %q, not its pinned revision", got)
			}
			tb.clickAndWait(`a[rel="next"]`, "/blog/collections/"+book+"/editions/1/2")
			tb.clickAndWait(`a[rel="next"]`, "/blog/collections/"+book+"/editions/1/3")
			if got := tb.text("main"); !strings.Contains(got, "text of three") {
				t.Fatalf("chapter 3 shows %q", got)
			}
			if tb.eval(`String(!!document.querySelector('a[rel="next"]'))`) != "false" {
				t.Error("the last chapter links to a next one")
			}
			tb.clickAndWait(`a[rel="prev"]`, "/blog/collections/"+book+"/editions/1/2")
			tb.step("chapter-2")
			if w := a.do("GET", "/blog/collections/"+book+"/book.epub", "", ""); w.Code != 200 || w.Header().Get("Content-Type") != "application/epub+zip" {
				t.Errorf("book.epub: %d %s", w.Code, w.Header().Get("Content-Type"))
			}
		})
	}
}
