package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// testSite is the shell mounted on the server's router with one service
// page and a few handlers that fail.
func testSite(t *testing.T, session ...func(http.Handler) http.Handler) (*UI, http.Handler) {
	t.Helper()
	u, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := u.Load(serviceFS(map[string]string{
		"templates/form.html": `{{define "content"}}{{template "errorsummary" .Data}}
<form method="post">
{{template "field" (field .Data "email" (t "svc.email") "email" "email" "required" "hint" (t "svc.email_hint"))}}
{{template "field" (field .Data "password" (t "svc.password") "password" "new-password" "show" (t "form.show_password") "hide" (t "form.hide_password"))}}
</form>{{end}}`,
		"i18n/en.json":    `{"svc.email": "Email address", "svc.email_hint": "We never show it.", "svc.password": "Password", "svc.bad": "Enter a real address.", "svc.saved": "Saved."}`,
		"i18n/zh-CN.json": `{"svc.email": "电子邮箱", "svc.email_hint": "不会公开。", "svc.password": "密码", "svc.bad": "请输入真实的邮箱。", "svc.saved": "已保存。"}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httpserver.New(httpserver.Options{})
	r := srv.Router()
	r.Handle("/static/*", http.StripPrefix("/static/", Static()))
	r.Route("/svc", func(r chi.Router) {
		r.Use(u.Middleware)
		r.Use(session...)
		r.Get("/form", func(w http.ResponseWriter, r *http.Request) {
			f := NewForm()
			if r.URL.Query().Has("scoped") {
				f = NewFormIn("join")
			}
			if r.URL.Query().Has("bad") {
				f.Set("email", "nobody")
				f.Set("password", "secret-password")
				if r.URL.Query().Has("link") {
					f.FailLink("email", svc.Translator(LanguageOf(r)).T("svc.bad"), "See the other one", "/svc/other?a=1&b=2")
				} else {
					f.Fail("email", svc.Translator(LanguageOf(r)).T("svc.bad"))
				}
				f.Fail("", "general")
			}
			svc.Render(w, r, http.StatusOK, "form", Page{Title: "svc.email", Data: f})
		})
		r.Post("/form", func(w http.ResponseWriter, r *http.Request) {
			u.SetFlash(w, r, "svc.saved")
			http.Redirect(w, r, "/", http.StatusSeeOther)
		})
		r.Get("/fail", func(w http.ResponseWriter, r *http.Request) {
			u.Error(w, r, errors.New("dial tcp 10.1.2.3: password=hunter2"))
		})
		r.Get("/panic", func(w http.ResponseWriter, r *http.Request) {
			panic("the database password is hunter2")
		})
		r.Get("/missing", func(w http.ResponseWriter, r *http.Request) {
			svc.Render(w, r, http.StatusOK, "no-such-page", Page{})
		})
		r.NotFound(u.NotFound)
	})
	u.Mount(r, session...)
	return u, srv
}

func fetch(t *testing.T, h http.Handler, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var frame = []string{`<a class="skip-link" href="#main">`, `<main id="main"`, `<nav class="site-nav"`, `<nav class="lang-switch"`, `<footer`, `/static/style.css`}

func TestShellPages(t *testing.T) {
	_, h := testSite(t)
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/", 200, "What is on"},
		{"/nowhere", 404, "Page not found"},
		{"/svc/nowhere", 404, "Page not found"},
		{"/svc/form", 200, "Email address"},
	} {
		w := fetch(t, h, "GET", tc.path, "Accept-Language", "en")
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("GET %s = %d, want %d with %q", tc.path, w.Code, tc.status, tc.want)
		}
		for _, f := range frame {
			if !strings.Contains(w.Body.String(), f) {
				t.Errorf("GET %s: the page lacks the frame's %q", tc.path, f)
			}
		}
		if csp := w.Header().Get("Content-Security-Policy"); csp != ContentSecurityPolicy {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
		for _, h := range []string{"X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
			if w.Header().Get(h) == "" {
				t.Errorf("GET %s: no %s", tc.path, h)
			}
		}
	}
	w := fetch(t, h, "GET", "/api/nowhere")
	if w.Code != 404 || w.Header().Get("Content-Type") != httpserver.ProblemContentType {
		t.Errorf("GET /api/nowhere = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if w := fetch(t, h, "GET", "/static/app.js"); w.Code != 200 || !strings.Contains(w.Body.String(), "data-show-label") {
		t.Errorf("GET /static/app.js = %d", w.Code)
	}
}

func TestErrorPagesHideInternals(t *testing.T) {
	_, h := testSite(t)
	for _, path := range []string{"/svc/fail", "/svc/panic", "/svc/missing"} {
		for _, lang := range []string{"en", "zh-CN"} {
			w := fetch(t, h, "GET", path, "Accept-Language", lang, httpserver.RequestIDHeader, "req-42")
			body := w.Body.String()
			if w.Code != 500 {
				t.Fatalf("GET %s = %d", path, w.Code)
			}
			for _, secret := range []string{"hunter2", "10.1.2.3", "goroutine", "no-such-page"} {
				if strings.Contains(body, secret) {
					t.Errorf("GET %s: the 500 page shows %q", path, secret)
				}
			}
			if !strings.Contains(body, "req-42") || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
				t.Errorf("GET %s: the 500 page lacks the request id", path)
			}
			for _, f := range frame {
				if !strings.Contains(body, f) {
					t.Errorf("GET %s: the 500 page lacks the frame's %q", path, f)
				}
			}
		}
	}
	if w := fetch(t, h, "GET", "/svc/fail", "Accept-Language", "zh-CN"); !strings.Contains(w.Body.String(), "出错了") {
		t.Errorf("the Chinese 500 page:\n%s", w.Body)
	}
}

func TestCrossOriginProtection(t *testing.T) {
	_, h := testSite(t)
	for _, hdr := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		w := fetch(t, h, "POST", "/svc/form", hdr[0], hdr[1], "Accept-Language", "en")
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Request refused") {
			t.Errorf("POST with %s: %s = %d", hdr[0], hdr[1], w.Code)
		}
		if w.Header().Get("Set-Cookie") != "" {
			t.Errorf("a refused request still set a cookie")
		}
	}
	// Same-origin and non-browser posts pass.
	for _, hdr := range [][]string{{"Sec-Fetch-Site", "same-origin"}, {"X-None", "x"}} {
		if w := fetch(t, h, "POST", "/svc/form", hdr...); w.Code != http.StatusSeeOther {
			t.Errorf("POST with %v = %d", hdr, w.Code)
		}
	}
	// Protect guards JSON routes the same way, answering in JSON.
	api := Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	if w := fetch(t, api, "DELETE", "/api/x", "Sec-Fetch-Site", "cross-site"); w.Code != 403 || w.Header().Get("Content-Type") != httpserver.ProblemContentType {
		t.Errorf("Protect: cross-site DELETE = %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if w := fetch(t, api, "DELETE", "/api/x"); w.Code != 204 || w.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("Protect: plain DELETE = %d", w.Code)
	}
}

var (
	describedBy = regexp.MustCompile(`id="f-email"[^>]*aria-describedby="([^"]+)"`)
)

func TestFormWiring(t *testing.T) {
	_, h := testSite(t)
	w := fetch(t, h, "GET", "/svc/form?bad", "Accept-Language", "en")
	body := w.Body.String()
	for _, want := range []string{
		`<label for="f-email">Email address</label>`,
		`<p class="hint" id="f-email-hint">We never show it.</p>`,
		`<p class="field-error" id="f-email-error"><span class="visually-hidden">Error: </span>Enter a real address.</p>`,
		`aria-invalid="true"`,
		`value="nobody"`,
		`<a href="#f-email">Enter a real address.</a>`,
		`<li>general</li>`,
		`data-show-label="Show password"`,
		`There is a problem`,
		` required`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("form page lacks %q", want)
		}
	}
	if m := describedBy.FindStringSubmatch(body); m == nil || m[1] != "f-email-hint f-email-error" {
		t.Errorf("aria-describedby = %v", m)
	}
	if strings.Contains(body, "secret-password") {
		t.Error("a password came back into the page")
	}
	if strings.Count(body, `aria-invalid="true"`) != 1 {
		t.Error("a valid field is marked invalid")
	}
	w = fetch(t, h, "GET", "/svc/form", "Accept-Language", "zh-CN")
	if strings.Contains(w.Body.String(), "error-summary") || strings.Contains(w.Body.String(), "aria-invalid") {
		t.Error("a fresh form shows errors")
	}
	if !strings.Contains(w.Body.String(), `<label for="f-email">电子邮箱</label>`) {
		t.Error("the Chinese form is not in Chinese")
	}
}

// TestScopedFormAndErrorLink: a scoped form's ids carry the scope
// everywhere they are used, and an error's link shows in the summary and
// by the field, outside the summary's link to the field.
func TestScopedFormAndErrorLink(t *testing.T) {
	_, h := testSite(t)
	body := fetch(t, h, "GET", "/svc/form?bad&scoped&link", "Accept-Language", "en").Body.String()
	for _, want := range []string{
		`<label for="f-join-email">Email address</label>`,
		`<p class="hint" id="f-join-email-hint">`,
		`<p class="field-error" id="f-join-email-error"><span class="visually-hidden">Error: </span>Enter a real address. <a href="/svc/other?a=1&amp;b=2">See the other one</a></p>`,
		`<input id="f-join-email" name="email"`,
		`aria-describedby="f-join-email-hint f-join-email-error"`,
		`<li><a href="#f-join-email">Enter a real address.</a> <a href="/svc/other?a=1&amp;b=2">See the other one</a></li>`,
		`<label for="f-join-password">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scoped form page lacks %q", want)
		}
	}
	if strings.Contains(body, `"f-email`) {
		t.Error("a scoped form has an unscoped id")
	}
}

func TestFlashAndVisitor(t *testing.T) {
	session := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Test-User") != "" {
				r = r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{UserID: "u1", DisplayName: r.Header.Get("X-Test-User")}))
			}
			next.ServeHTTP(w, r)
		})
	}
	_, h := testSite(t, session)
	w := fetch(t, h, "POST", "/svc/form")
	var flash string
	for _, c := range w.Result().Cookies() {
		if c.Name == flashCookie {
			flash = c.Name + "=" + c.Value
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				t.Errorf("flash cookie %+v", c)
			}
		}
	}
	home := fetch(t, h, "GET", "/", "Cookie", flash, "Accept-Language", "zh-CN")
	if !strings.Contains(home.Body.String(), `<div class="notice" role="status">已保存。</div>`) {
		t.Errorf("the flash does not show on the next page")
	}
	if !strings.Contains(home.Header().Get("Set-Cookie"), flashCookie+"=;") {
		t.Errorf("the flash is not cleared: %q", home.Header().Get("Set-Cookie"))
	}
	// A forged flash shows nothing.
	if w := fetch(t, h, "GET", "/", "Cookie", flashCookie+"=<script>"); strings.Contains(w.Body.String(), `class="notice"`) {
		t.Error("a forged flash cookie shows")
	}

	anon := fetch(t, h, "GET", "/", "Accept-Language", "en")
	if anon.Header().Get("Cache-Control") != "no-cache" || !strings.Contains(anon.Header().Get("Vary"), "Accept-Language") {
		t.Errorf("anonymous caching headers %v", anon.Header())
	}
	who := fetch(t, h, "GET", "/", "Accept-Language", "en", "X-Test-User", "杜勇 <b>")
	body := who.Body.String()
	if !strings.Contains(body, "Logged in as 杜勇 &lt;b&gt;") || !strings.Contains(body, `action="/identity/logout"`) {
		t.Errorf("the frame does not show the visitor")
	}
	if who.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("a page for a logged-in visitor may be cached: %q", who.Header().Get("Cache-Control"))
	}
}

func TestLanguageControl(t *testing.T) {
	_, h := testSite(t)
	w := fetch(t, h, "GET", "/svc/form?lang=en", "Accept-Language", "zh-CN")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/svc/form" {
		t.Fatalf("switch = %d %q", w.Code, w.Header().Get("Location"))
	}
	c := w.Result().Cookies()[0]
	if c.Name != LanguageCookie || c.Value != "en" || !c.HttpOnly || c.MaxAge < 30*24*3600 {
		t.Errorf("language cookie %+v", c)
	}
	w = fetch(t, h, "GET", "/svc/form", "Accept-Language", "zh-CN", "Cookie", LanguageCookie+"=en")
	if !strings.Contains(w.Body.String(), `<html lang="en">`) {
		t.Error("the cookie does not win over Accept-Language")
	}
	// The control marks the current language and links to the other.
	if !strings.Contains(w.Body.String(), `<a href="/svc/form?lang=zh-CN" hreflang="zh-CN" lang="zh-CN">中文</a>`) ||
		!strings.Contains(w.Body.String(), `hreflang="en" lang="en" aria-current="true">English</a>`) {
		t.Errorf("language control:\n%s", w.Body)
	}
	// The switch never sends anyone to another site.
	for _, path := range []string{"//evil.example/x?lang=en", "/\\evil.example?lang=en"} {
		w := fetch(t, h, "GET", path)
		if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
			t.Errorf("GET %s redirects to %q", path, loc)
		}
	}
	w = fetch(t, h, "GET", "//evil.example/x", "Accept-Language", "en")
	if strings.Contains(w.Body.String(), `href="//evil.example`) {
		t.Errorf("the language control links to another host")
	}
	// A bad cookie falls back to the header.
	w = fetch(t, h, "GET", "/", "Accept-Language", "en", "Cookie", LanguageCookie+"=xx")
	if !strings.Contains(w.Body.String(), `<html lang="en">`) {
		t.Error("a bad language cookie is trusted")
	}
}
