package blog

import (
	"archive/zip"
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/infra/auth"
)

const uploadPath = "/api/blog/blogs/progress/imports"

func TestUploadNeedsAnOrganizer(t *testing.T) {
	f := newFixture(t)
	body := func() (*strings.Reader, string) { return strings.NewReader("# A\n"), "text/markdown" }
	b, ct := body()
	if w := f.do("POST", uploadPath+"?filename=a.md", "", b, "Content-Type", ct); w.Code != http.StatusUnauthorized ||
		!strings.Contains(w.Header().Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("anonymous: %d %s", w.Code, w.Body)
	}
	for _, role := range []string{"", auth.RoleReviewer, auth.RoleJudge, auth.RoleGate} {
		b, ct := body()
		var roles []string
		if role != "" {
			roles = []string{role}
		}
		if w := f.do("POST", uploadPath+"?filename=a.md", f.tokens.mint(t, "u-"+role, roles...), b, "Content-Type", ct); w.Code != http.StatusForbidden {
			t.Errorf("member %s: %d %s", role, w.Code, w.Body)
		}
	}
	b, ct = body()
	if w := f.do("POST", uploadPath+"?filename=a.md", "not-a-token", b, "Content-Type", ct); w.Code != http.StatusUnauthorized {
		t.Errorf("bad token: %d", w.Code)
	}
	if n := len(allEvents(t, f.store)); n != 0 {
		t.Fatalf("refused uploads wrote %d events", n)
	}
	b, ct = body()
	w := f.do("POST", uploadPath+"?filename=a.md", f.tokens.mint(t, "org-1", auth.RoleOrganizer), b, "Content-Type", ct)
	if w.Code != http.StatusOK {
		t.Fatalf("organizer: %d %s", w.Code, w.Body)
	}
	if got := decode[Summary](t, w.Body.Bytes()); got.Imported != 1 || got.Blog != "progress" {
		t.Fatalf("summary = %+v", got)
	}
	evs := allEvents(t, f.store)
	if len(evs) != 1 || evs[0].Metadata.Actor != "org-1" || evs[0].Metadata.RequestID == "" {
		t.Fatalf("events = %+v", evs)
	}
}

func TestUploadAPI(t *testing.T) {
	f := newFixture(t)
	org := f.tokens.mint(t, "org-1", auth.RoleOrganizer)

	body, ct := multipartBody(t,
		[2]string{"posts/01.md", "---\ntitle: 磁盘IO抖动\ndate: 2013-10-24\nby: 杜勇\ntags: [io, 云]\nsummary: 第一篇\n---\n正文 <script>alert(1)</script>\n"},
		[2]string{"02.md", "# 数据库写入超时\n\n第二篇。\n"},
		[2]string{"redirect.md", "---\nredirect: /x\n---\n"},
		[2]string{"feed.xml", "not xml"},
		[2]string{"cnblogs.xml", rssFixture},
	)
	w := f.do("POST", uploadPath, org, body, "Content-Type", ct)
	if w.Code != http.StatusOK {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	sum := decode[Summary](t, w.Body.Bytes())
	if sum.Imported != 4 || sum.Skipped != 3 || outcomeOf(t, sum, "01").Source != "01.md" {
		t.Fatalf("summary = %+v", sum)
	}
	if o := outcomeOf(t, sum, "feed.xml"); !strings.Contains(o.Reason, "is not a feed") {
		t.Errorf("non-XML feed: %+v", o)
	}

	// The same upload again writes nothing.
	body, ct = multipartBody(t, [2]string{"02.md", "# 数据库写入超时\n\n第二篇。\n"})
	w = f.do("POST", uploadPath, org, body, "Content-Type", ct, "Idempotency-Key", "retry-1")
	if sum := decode[Summary](t, w.Body.Bytes()); w.Code != http.StatusOK || sum.Unchanged != 1 {
		t.Fatalf("again: %d %+v", w.Code, sum)
	}

	// A zip as the raw body.
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	zf, _ := zw.Create("book/03.md")
	zf.Write([]byte("# 第三篇\n"))
	zw.Close()
	w = f.do("POST", "/api/blog/blogs/book/imports?filename=book.zip", org, &zbuf, "Content-Type", "application/zip")
	if sum := decode[Summary](t, w.Body.Bytes()); w.Code != http.StatusOK || sum.Imported != 1 || sum.Posts[0].Source != "book.zip:book/03.md" {
		t.Fatalf("zip: %d %s", w.Code, w.Body)
	}

	for name, tc := range map[string]struct {
		path, ct, body string
		status         int
	}{
		"json body":       {uploadPath, "application/json", `{}`, http.StatusUnsupportedMediaType},
		"no files":        {uploadPath, "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x--\r\n", http.StatusUnprocessableEntity},
		"no parts":        {uploadPath, "multipart/form-data; boundary=x", "garbage", http.StatusUnprocessableEntity},
		"cut short":       {uploadPath, "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.md\"\r\n\r\nabc", http.StatusBadRequest},
		"no boundary":     {uploadPath, "multipart/form-data", "--x--", http.StatusBadRequest},
		"empty raw body":  {uploadPath, "application/xml", "", http.StatusUnprocessableEntity},
		"bad blog name":   {"/api/blog/blogs/Not.Valid/imports", "text/markdown", "# x", http.StatusUnprocessableEntity},
		"unknown subpath": {"/api/blog/blogs/x/nothing", "text/markdown", "# x", http.StatusNotFound},
	} {
		w := f.do("POST", tc.path, org, strings.NewReader(tc.body), "Content-Type", tc.ct)
		if w.Code != tc.status || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s %s, want %d problem", name, w.Code, w.Header().Get("Content-Type"), w.Body, tc.status)
		}
	}
	// A browser on another site may not upload with the visitor's token.
	w = f.do("POST", uploadPath+"?filename=a.md", org, strings.NewReader("# x"), "Content-Type", "text/markdown", "Sec-Fetch-Site", "cross-site")
	if w.Code != http.StatusForbidden {
		t.Errorf("cross-site upload: %d", w.Code)
	}

	small := newFixture(t, func(c *Config) { c.MaxUploadBytes = 1 << 10 })
	big := strings.Repeat("x", 2<<10)
	w = small.do("POST", uploadPath+"?filename=a.md", small.tokens.mint(t, "o", auth.RoleOrganizer), strings.NewReader(big), "Content-Type", "text/markdown")
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized upload: %d %s", w.Code, w.Body)
	}
}

func TestReadAPI(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"undated.md": "# No date\n",
		"evil.md":    "---\ntitle: Evil\ndate: 2020-01-01\n---\n<script>alert(1)</script><a href=\"javascript:x()\">x</a>\n\n**bold**\n",
	}
	for i := range 25 {
		files[string(rune('a'+i))+".md"] = "---\ntitle: Post " + string(rune('A'+i)) + "\ndate: 2024-01-" + twoDigits(i+1) + "\nby: [Ada, 杜勇]\ntags: [go]\nsummary: about " + string(rune('A'+i)) + "\n---\nbody\n"
	}
	f.importFiles("goblog", files)
	f.importFiles("gobook-zh", map[string]string{"01.1.md": "# 1.1 安装\n", "01.0.md": "# 1 环境\n"})

	w := f.do("GET", "/api/blog/blogs", "", nil)
	blogs := decode[blogsResponse](t, w.Body.Bytes())
	if w.Code != 200 || blogs.Total != 2 || blogs.Blogs[0].Name != "goblog" || blogs.Blogs[1].Name != "gobook-zh" || blogs.Blogs[0].Posts != 27 {
		t.Fatalf("blogs: %d %s", w.Code, w.Body)
	}

	w = f.do("GET", "/api/blog/blogs/goblog/posts?limit=10&offset=0", "", nil)
	page := decode[postsResponse](t, w.Body.Bytes())
	if w.Code != 200 || page.Total != 27 || len(page.Posts) != 10 || page.Posts[0].Slug != "y" || page.Posts[1].Slug != "x" {
		t.Fatalf("first page: %d %s", w.Code, w.Body)
	}
	p := page.Posts[0]
	if p.Title != "Post Y" || len(p.Authors) != 2 || p.Tags[0] != "go" || p.Summary != "about Y" || p.Source != "y.md" || p.Revision != 1 {
		t.Errorf("post info = %+v", p)
	}
	w = f.do("GET", "/api/blog/blogs/goblog/posts?limit=10&offset=20", "", nil)
	page = decode[postsResponse](t, w.Body.Bytes())
	if len(page.Posts) != 7 || page.Posts[5].Slug != "evil" || page.Posts[6].Slug != "undated" {
		t.Fatalf("last page (undated last): %s", w.Body)
	}
	w = f.do("GET", "/api/blog/blogs/goblog/posts?offset=100", "", nil)
	if page := decode[postsResponse](t, w.Body.Bytes()); w.Code != 200 || len(page.Posts) != 0 || page.Posts == nil {
		t.Errorf("past the end: %d %s", w.Code, w.Body)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "offset=-1"} {
		if w := f.do("GET", "/api/blog/blogs/goblog/posts?"+q, "", nil); w.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", q, w.Code)
		}
	}
	if w := f.do("GET", "/api/blog/blogs/nope/posts", "", nil); w.Code != http.StatusNotFound {
		t.Errorf("unknown blog: %d", w.Code)
	}

	w = f.do("GET", "/api/blog/blogs/goblog/posts/evil", "", nil)
	post := decode[postResponse](t, w.Body.Bytes())
	if w.Code != 200 || post.Title != "Evil" || post.Format != "markdown" || !strings.Contains(string(post.HTML), "<strong>bold</strong>") ||
		strings.Contains(string(post.HTML), "script") || strings.Contains(string(post.HTML), "javascript") {
		t.Fatalf("post: %d %s", w.Code, w.Body)
	}
	for _, path := range []string{"/api/blog/blogs/goblog/posts/missing", "/api/blog/blogs/gobook-zh/posts/y", "/api/blog/blogs/nope/posts/y"} {
		if w := f.do("GET", path, "", nil); w.Code != http.StatusNotFound || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d", path, w.Code)
		}
	}

	// A revision shows in the lists and the post.
	f.importFiles("goblog", map[string]string{"evil.md": "---\ntitle: Evil, revised\ndate: 2020-01-01\n---\nnow harmless\n"})
	w = f.do("GET", "/api/blog/blogs/goblog/posts/evil", "", nil)
	if post := decode[postResponse](t, w.Body.Bytes()); post.Title != "Evil, revised" || post.Revision != 2 || !strings.Contains(string(post.HTML), "now harmless") {
		t.Errorf("revised post: %s", w.Body)
	}
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + string(rune('0'+n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}
