package search_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/web"
)

// pagesFixture serves the API and the page, as serve mounts them.
func pagesFixture(t *testing.T) (*fixture, http.Handler) {
	t.Helper()
	f := newFixture(t)
	ui, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := f.svc.Pages(ui)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Handle("/static/*", http.StripPrefix("/static/", web.Static()))
	f.svc.Mount(r)
	pages.Mount(r)
	ui.Mount(r)
	var p events.Position
	p = f.appendPost(imported("gobook-zh-tw", "05.1", "5.1 database/sql 介面", "Go 沒有提供資料庫驅動，<script>alert(1)</script> 而是定義了標準介面。"), events.Public)
	p = f.appendPost(imported("goblog", "generics", "An Introduction To Generics", "Generics add type parameters to Go."), events.Public)
	f.wait(p)
	return f, r
}

func TestSearchPageWorksWithoutScript(t *testing.T) {
	_, h := pagesFixture(t)
	get := func(url, lang string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", url, nil)
		r.Header.Set("Accept-Language", lang)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get("/search/?q=数据库", "zh-CN")
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, "<em>資料庫</em>") || !strings.Contains(body, `href="/blog/gobook-zh-tw/05.1"`) {
		t.Fatalf("GET /search/?q=数据库 = %d:\n%s", w.Code, body)
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("a post's script tag reached the page unescaped")
	}
	if !strings.Contains(body, "共 1 条结果") || !strings.Contains(body, `aria-live="polite"`) {
		t.Error("the Chinese page lacks its count or live region")
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(body, "<script>\n") {
		t.Errorf("CSP %q", csp)
	}
	w = get("/search/?q=generic", "en")
	if body := w.Body.String(); !strings.Contains(body, "1 results") || !strings.Contains(body, "<em>Generics</em>") {
		t.Errorf("English page:\n%s", body)
	}
	// Facet links narrow by archive.
	if body := get("/search/?q=go&blog=goblog", "en").Body.String(); !strings.Contains(body, `aria-current="true"`) || strings.Contains(body, "05.1") {
		t.Errorf("blog facet:\n%s", body)
	}
	// A bad search is a 400 page that says why, not a crash.
	if w := get("/search/?q="+strings.Repeat("长", 2000), "zh-CN"); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "无法执行此搜索") {
		t.Errorf("overlong query: %d", w.Code)
	}
	for _, asset := range []string{"/search/search.js", "/search/search.css"} {
		if w := get(asset, "en"); w.Code != http.StatusOK || w.Body.Len() == 0 {
			t.Errorf("%s = %d", asset, w.Code)
		}
	}
}

// TestSearchAsYouTypeInABrowser types a Chinese and an English query into
// the page in Chromium and reads the results the script shows.
func TestSearchAsYouTypeInABrowser(t *testing.T) {
	exe := chromium(t)
	f, h := pagesFixture(t)
	f.wait(f.appendTo(events.CollectionStream("go-web"), book(2, "Go Web 编程", "从零开始的网站开发",
		events.PublishedChapter{Blog: "gobook", Slug: "01.1", Title: "环境配置", Authors: []string{"谢孟军"}}), events.Public))
	srv := httptest.NewServer(h)
	defer srv.Close()
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-dev-shm-usage", true))
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	waitFor := func(cond string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited in vain for %s (%v)", cond, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	hits := `document.querySelector("ol[data-search-hits]").innerText`
	do("open the page", chromedp.Navigate(srv.URL+"/search/"), chromedp.WaitVisible(css(`#search-q`)))
	do("type Chinese", chromedp.SendKeys(css(`#search-q`), "数据库"))
	waitFor(hits + `.includes("database/sql")`)
	zh, em := text(`ol[data-search-hits]`), text(`ol[data-search-hits] li .search-excerpt em`)
	do("clear", chromedp.Evaluate[chromedp.Void](`document.querySelector("#search-q").value = ""`))
	do("type English", chromedp.SendKeys(css(`#search-q`), "generic"))
	waitFor(hits + `.includes("Generics")`)
	en := text(`ol[data-search-hits]`)
	do("clear again", chromedp.Evaluate[chromedp.Void](`document.querySelector("#search-q").value = ""`))
	do("type a collection's English title", chromedp.SendKeys(css(`#search-q`), "golang"))
	waitFor(hits + `.includes("Building Web")`)
	book := text(`ol[data-search-hits]`)
	link, err := chromedp.Run(ctx, chromedp.AttributeValue(css(`ol[data-search-hits] li.search-hit-collection h2 a`), "href"))
	if err != nil {
		t.Fatal(err)
	}
	href := link.Value
	if !strings.Contains(book, "Go Web 编程 · Building Web Applications with Golang") || !strings.Contains(book, "谢孟军") ||
		!(strings.Contains(book, "edition 2") || strings.Contains(book, "第 2 版")) || !strings.Contains(book, "从零开始的网站开发") ||
		!strings.HasSuffix(href, "/blog/collections/go-web/") {
		t.Errorf("collection result %q, link %q", book, href)
	}
	if !strings.Contains(zh, "database/sql") || em != "資料庫" {
		t.Errorf("Chinese results %q, marked %q", zh, em)
	}
	if !strings.Contains(en, "Introduction To Generics") || strings.Contains(en, "database/sql") {
		t.Errorf("English results %q", en)
	}
}

// chromium finds the browser or skips the test; see the identity
// service's browser tests.
func chromium(t *testing.T) string {
	t.Helper()
	require := os.Getenv("YUNQI_REQUIRE_BROWSER") == "1"
	if testing.Short() && !require {
		t.Skip("browser tests are skipped under -short; YUNQI_REQUIRE_BROWSER=1 runs them")
	}
	for _, p := range []string{os.Getenv("YUNQI_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if st, err := os.Stat(p); p != "" && err == nil && !st.IsDir() {
			return p
		}
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if require {
		t.Fatal("no Chromium found, and YUNQI_REQUIRE_BROWSER=1 makes that a failure")
	}
	t.Skip("no Chromium found; install it with `apt-get install chromium` to run the browser tests")
	return ""
}

func TestSearchPageTypeTabsAndFacets(t *testing.T) {
	f, h := pagesFixture(t)
	f.appendTo(events.MemberStream("cnblogs"), events.MemberAdmitted{MemberID: "cnblogs", Tier: events.TierFounding, JoinedOn: "2013-10-24",
		Profile: events.StartupProfile{NameZH: "博客园", NameEN: "cnblogs", City: "杭州", Industry: "开发者社区"}}, events.Public)
	f.wait(f.appendTo(events.MemberStream("newco"), events.MemberAdmitted{MemberID: "newco", Tier: events.TierMember, JoinedOn: "2020-01-02",
		Profile: events.StartupProfile{NameZH: "新公司", City: "上海"}}, events.Public))
	get := func(url, lang string) string {
		r := httptest.NewRequest("GET", url, nil)
		r.Header.Set("Accept-Language", lang)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s = %d", url, w.Code)
		}
		return w.Body.String()
	}
	body := get("/search/?type=startup&q=bky", "zh-CN")
	for _, want := range []string{`href="/alliance/members/cnblogs"`, "博客园 · cnblogs", "创始成员", `aria-current="page">创业公司`, "会员级别"} {
		if !strings.Contains(body, want) {
			t.Errorf("startup tab lacks %q:\n%s", want, body)
		}
	}
	body = get("/search/?type=startup&city=%E4%B8%8A%E6%B5%B7", "en")
	if !strings.Contains(body, "/alliance/members/newco") || strings.Contains(body, "/alliance/members/cnblogs") || !strings.Contains(body, "Startups") {
		t.Errorf("a city facet on the startup tab:\n%s", body)
	}
	// Every type under one tab, with the kinds as a facet.
	body = get("/search/?q=%E5%8D%9A%E5%AE%A2", "en")
	if !strings.Contains(body, "/alliance/members/cnblogs") || !strings.Contains(body, "Kind") {
		t.Errorf("the all tab:\n%s", body)
	}
}
