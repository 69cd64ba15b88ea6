package blog

import (
	"net/http"
	"strings"
	"testing"
)

func TestPages(t *testing.T) {
	f := newFixture(t)
	page := func(path, lang string) (int, string) {
		t.Helper()
		w := f.do("GET", path, "", nil, "Accept-Language", lang)
		if ct := w.Header().Get("Content-Type"); w.Code < 300 && !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("%s: Content-Type %q", path, ct)
		}
		if w.Code == http.StatusOK && w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s: no Content-Security-Policy", path)
		}
		return w.Code, w.Body.String()
	}
	expect := func(path, lang string, status int, wants ...string) string {
		t.Helper()
		code, body := page(path, lang)
		if code != status {
			t.Fatalf("%s (%s): %d, want %d", path, lang, code, status)
		}
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("%s (%s) lacks %q", path, lang, want)
			}
		}
		return body
	}

	expect("/blog/", "zh-CN", 200, "博客文库", "还没有导入任何博客")
	expect("/blog/", "en", 200, "Blog archive", "No blog has been imported yet")

	files := map[string]string{
		"first.md": "---\ntitle: Go 1.22 is released!\ndate: 2024-02-06\nby:\n- Eli Bendersky\n- 杜勇\ntags: [release, 云]\nsummary: Loops.\n---\n\n" +
			"Text with {{code \"loop.go\"}}.\n\n<script>alert('page')</script>\n\n[next](second.md)\n",
		"second.md": "# 第二篇\n\n正文。\n",
	}
	for i := range 21 {
		files["p"+twoDigits(i)+".md"] = "---\ntitle: Old " + twoDigits(i) + "\ndate: 2010-01-" + twoDigits(i+1) + "\n---\nold\n"
	}
	f.importFiles("goblog", files)

	expect("/blog/", "zh-CN", 200, `href="/blog/goblog/"`, "23 篇文章", "最新文章", "2024年2月6日")
	expect("/blog/", "en", 200, "23 posts", "6 February 2024")

	body := expect("/blog/goblog/", "zh-CN", 200, "<h1>goblog</h1>", "第 1 页，共 2 页", `href="/blog/goblog/first"`, "作者：Eli Bendersky、杜勇",
		`href="/blog/goblog/?page=2" rel="next"`, "Loops.")
	if strings.Index(body, "Go 1.22 is released!") > strings.Index(body, "Old 20") {
		t.Error("the blog page is not newest first")
	}
	if strings.Contains(body, `rel="prev"`) {
		t.Error("the first page links to a newer page")
	}
	expect("/blog/goblog/?page=2", "en", 200, "page 2 of 2", `href="/blog/goblog/" rel="prev"`, "Old 00", "← Newer posts")
	expect("/blog/goblog/?page=3", "en", 404)
	expect("/blog/goblog/?page=x", "en", 404)
	expect("/blog/nope/", "en", 404)

	if w := f.do("GET", "/blog/goblog", "", nil); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/blog/goblog/" {
		t.Errorf("/blog/goblog: %d → %q", w.Code, w.Header().Get("Location"))
	}

	post := expect("/blog/goblog/first", "en", 200, "<title>Go 1.22 is released! · Yunqi</title>", "<h1>Go 1.22 is released!</h1>",
		`by <a href="/blog/authors/Eli%20Bendersky" rel="author">Eli Bendersky</a>, <a`, `rel="author">杜勇</a>`,
		`<time datetime="2024-02-06T00:00:00Z">6 February 2024</time>`, `rel="tag">release</a>`, `rel="tag">云</a>`,
		"{{code &#34;loop.go&#34;}}", `href="second"`, "Imported from", "<code>first.md</code>", `href="/blog/goblog/"`)
	if strings.Contains(post, "alert(") {
		t.Error("a script in a post reached its page")
	}
	expect("/blog/goblog/first", "zh-CN", 200, "作者：<a", "Eli Bendersky</a>、<a", "2024年2月6日", "导入自")
	second := expect("/blog/goblog/second", "zh-CN", 200, "<h1>第二篇</h1>", "正文。")
	if strings.Count(second, "第二篇</h1>") != 1 {
		t.Error("the title heading is shown twice")
	}
	expect("/blog/goblog/missing", "en", 404, "Page not found")

	f.importFiles("goblog", map[string]string{"second.md": "# 第二篇\n\n修订后的正文。\n"})
	expect("/blog/goblog/second", "en", 200, "修订后的正文。", "Last revised")
}
