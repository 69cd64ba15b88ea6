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
