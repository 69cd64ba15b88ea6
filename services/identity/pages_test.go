package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/web"
)

func TestPagesStatusAndHeaders(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/", 200},
		{"/identity/signup", 200},
		{"/identity/login", 200},
		{"/identity/me", 303},
		{"/identity/", 303},
		{"/identity/people/not-an-id", 404},
		{"/identity/people/0193a000-0000-7000-8000-000000000000", 404},
		{"/identity/nowhere", 404},
		{"/nowhere", 404},
	} {
		p := b.get(tc.path)
		if p.status != tc.status {
			t.Errorf("GET %s = %d, want %d", tc.path, p.status, tc.status)
			continue
		}
		h := p.header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", tc.path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP allows inline code: %q", tc.path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("GET %s: headers %v", tc.path, h)
		}
		if tc.status == 404 {
			// The not-found page keeps the frame: skip link, navigation,
			// language control.
			for _, want := range []string{`class="skip-link"`, `<nav class="site-nav"`, `hreflang="zh-CN"`, "Page not found"} {
				if !p.has(want) {
					t.Errorf("GET %s: 404 page lacks %q", tc.path, want)
				}
			}
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("GET %s: 404 content type %q", tc.path, ct)
			}
		}
		if strings.Contains(p.body, "<script>") || strings.Contains(p.body, " style=") || strings.Contains(p.body, " onclick=") {
			t.Errorf("GET %s: inline script or style in the page", tc.path)
		}
	}
	if p := b.get("/identity/me"); p.header.Get("Location") != "/identity/login?next=%2Fidentity%2Fme" {
		t.Errorf("anonymous /identity/me redirects to %q", p.header.Get("Location"))
	}
	// API addresses keep their problem documents.
	p := b.get("/api/nowhere")
	if p.status != 404 || p.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("GET /api/nowhere = %d %s", p.status, p.header.Get("Content-Type"))
	}
	if p := b.get("/static/app.js"); p.status != 200 || !strings.Contains(p.header.Get("Content-Type"), "javascript") {
		t.Errorf("GET /static/app.js = %d %s", p.status, p.header.Get("Content-Type"))
	}
}

func TestPagesRefuseCrossOriginPosts(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	form := url.Values{"email": {"mallory@example.com"}, "password": {testPassword}, "display_name": {"Mallory"}}
	for _, h := range [][]string{
		{"Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
	} {
		p := b.post("/identity/signup", form, h...)
		if p.status != http.StatusForbidden {
			t.Fatalf("POST with %s: %s = %d, want 403", h[0], h[1], p.status)
		}
		if !p.has("Request refused") || !p.has(`class="skip-link"`) {
			t.Errorf("403 page:\n%s", p.body)
		}
	}
	if n := countEvents(t, s.store, "identity.UserRegistered"); n != 0 {
		t.Fatalf("a refused form still registered %d users", n)
	}
	// Log-out and the profile form are protected the same way.
	for _, path := range []string{"/identity/logout", "/identity/me", "/identity/login"} {
		if p := b.post(path, url.Values{}, "Sec-Fetch-Site", "cross-site"); p.status != http.StatusForbidden {
			t.Errorf("cross-site POST %s = %d", path, p.status)
		}
	}
	// The API's cookie endpoints too: another site cannot log a visitor
	// out or rotate their session.
	for _, tc := range []struct{ method, path string }{{"DELETE", "/api/identity/tokens"}, {"POST", "/api/identity/tokens/refresh"}} {
		p := b.do(tc.method, tc.path, nil, "Sec-Fetch-Site", "cross-site")
		if p.status != http.StatusForbidden || p.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("cross-site %s %s = %d %s", tc.method, tc.path, p.status, p.header.Get("Content-Type"))
		}
	}
	// The same form from this site's own page goes through.
	p := b.post("/identity/signup", form, "Sec-Fetch-Site", "same-origin", "Origin", s.srv.URL)
	if p.status != http.StatusSeeOther {
		t.Fatalf("same-origin sign-up = %d\n%s", p.status, p.body)
	}
}

func TestPagesLanguage(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct{ accept, lang, text string }{
		{"en-GB,en;q=0.9", "en", "Log in"},
		{"zh-CN,zh;q=0.9,en;q=0.8", "zh-CN", "登录"},
		{"zh-TW", "zh-CN", "登录"},
		{"fr-FR", "en", "Log in"},
		{"", "zh-CN", "登录"},
	} {
		p := s.browser(tc.accept).get("/")
		if p.lang() != tc.lang || !p.has(tc.text) {
			t.Errorf("Accept-Language %q: page in %q, want %q with %q", tc.accept, p.lang(), tc.lang, tc.text)
		}
		if p.header.Get("Content-Language") != tc.lang {
			t.Errorf("Accept-Language %q: Content-Language %q", tc.accept, p.header.Get("Content-Language"))
		}
	}

	// The language control: a link that stores the choice and comes back.
	b := s.browser("zh-CN")
	p := b.get("/identity/login")
	if !p.has(`href="/identity/login?lang=en"`) {
		t.Fatalf("no English link on the Chinese page:\n%s", p.body)
	}
	p = b.get("/identity/login?lang=en")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/identity/login" {
		t.Fatalf("language switch = %d to %q", p.status, p.header.Get("Location"))
	}
	c := b.cookie(web.LanguageCookie)
	if c == nil || c.Value != "en" {
		t.Fatalf("language cookie = %v", c)
	}
	p = b.follow(p)
	if p.lang() != "en" || !p.has("Log in to Yunqi") {
		t.Fatalf("after switching, the page is in %q", p.lang())
	}
	// Remembered on every page, over the browser's Accept-Language.
	if p := b.get("/"); p.lang() != "en" {
		t.Errorf("home after switching: %q", p.lang())
	}
	if p := b.get("/nowhere"); p.lang() != "en" || !p.has("Page not found") {
		t.Errorf("404 after switching: %q", p.lang())
	}
	// An unknown language is ignored, not stored.
	if p := b.get("/?lang=fr"); p.status != 200 || b.cookie(web.LanguageCookie).Value != "en" {
		t.Errorf("?lang=fr: %d, cookie %v", p.status, b.cookie(web.LanguageCookie))
	}
	// Other query parameters survive the switch.
	if p := b.get("/identity/login?next=%2Fidentity%2Fme&lang=zh-CN"); p.header.Get("Location") != "/identity/login?next=%2Fidentity%2Fme" {
		t.Errorf("switch dropped the query: %q", p.header.Get("Location"))
	}
}

func TestSignUpFieldErrors(t *testing.T) {
	s := newSite(t)
	for _, tc := range []struct {
		lang     string
		messages []string
	}{
		{"en", []string{"There is a problem", "Enter an email address like name@example.com.", "The password must be at least 10 characters.", "Enter a display name."}},
		{"zh-CN", []string{"请先修正以下问题", "请输入有效的电子邮箱，例如 name@example.com。", "密码至少需要 10 个字符。", "请输入显示名称。"}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			b := s.browser(tc.lang)
			p := b.post("/identity/signup", url.Values{"email": {"not-an-address"}, "password": {"short-pw"}, "display_name": {"  "}})
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d", p.status)
			}
			for _, m := range tc.messages {
				if !p.has(m) {
					t.Errorf("page lacks %q", m)
				}
			}
			for _, id := range []string{"f-email", "f-password", "f-display-name"} {
				if !p.has(`<a href="#` + id + `">`) {
					t.Errorf("error summary does not link to #%s", id)
				}
				if !p.has(`id="` + id + `-error"`) {
					t.Errorf("no error paragraph for %s", id)
				}
			}
			if strings.Count(p.body, `aria-invalid="true"`) != 3 {
				t.Errorf("want 3 inputs marked aria-invalid")
			}
			if !strings.Contains(p.body, `id="f-email" name="email" type="email" value="not-an-address"`) {
				t.Errorf("the email typed is not kept")
			}
			if strings.Contains(p.body, "short-pw") {
				t.Errorf("the password came back in the page")
			}
			checkDescribedBy(t, p)
		})
	}
	b := s.browser("zh-CN")
	b.signUp("taken@example.com", "先到者")
	other := s.browser("zh-CN")
	p := other.post("/identity/signup", url.Values{"email": {"Taken@Example.com"}, "password": {testPassword}, "display_name": {"后到者"}})
	if p.status != http.StatusConflict || !p.has("这个电子邮箱已经注册过账号") {
		t.Errorf("taken address: %d", p.status)
	}
}

func TestPagesJourney(t *testing.T) {
	s := newSite(t)
	b := s.browser("zh-CN")
	const email = "duyong@example.com"
	me := b.signUp(email, "杜勇")
	if !me.has("欢迎来到云栖") || !me.has("已登录：杜勇") || !me.has("你创建了账号。") || !me.has("你登录了。") {
		t.Fatalf("my Yunqi after sign-up:\n%s", me.body)
	}
	for _, name := range []string{RefreshCookieName, AccessCookieName} {
		c := b.cookie(name)
		if c == nil {
			t.Fatalf("no %s cookie after sign-up", name)
		}
	}
	// The flash shows once.
	if p := b.get("/identity/me"); p.has("欢迎来到云栖") {
		t.Error("the welcome notice shows twice")
	}

	// Publish the city only; the public page shows it and nothing else.
	p := b.post("/identity/me", url.Values{
		"display_name": {"杜勇"}, "city": {"杭州"}, "publish_city": {"on"},
		"bio":          {"存储工程师，暂不公开。"},
		"skills":       {"Go，分布式存储\nSQLite"},
		"link_label_0": {"博客"}, "link_url_0": {"https://example.com/duyong"},
	})
	me = b.follow(p)
	if !me.has("个人资料已保存") || !me.has("你更新了个人资料。") || !me.has(`value="杭州"`) {
		t.Fatalf("after saving:\n%s", me.body)
	}
	if !me.has("Go\n分布式存储\nSQLite") {
		t.Errorf("skills not split on full-width commas")
	}
	var id string
	for _, m := range strings.Split(me.body, `href="/identity/people/`)[1:] {
		id, _, _ = strings.Cut(m, `"`)
	}
	if id == "" {
		t.Fatal("no link to the public profile")
	}
	anon := s.browser("en")
	pub := anon.get("/identity/people/" + id)
	if pub.status != 200 || !pub.has("杭州") {
		t.Fatalf("public profile: %d\n%s", pub.status, pub.body)
	}
	for _, secret := range []string{email, "存储工程师", "分布式存储", "example.com/duyong", "杜勇"} {
		if pub.has(secret) {
			t.Errorf("public profile shows %q", secret)
		}
	}

	// The home page never shows an email, even to its owner.
	home := b.get("/")
	if home.has(email) || !home.has("已登录：杜勇") {
		t.Errorf("home page for a logged-in member:\n%s", home.body)
	}

	// Log out: both cookies go, and the session is over for real.
	refresh := b.cookie(RefreshCookieName)
	p = b.post("/identity/logout", url.Values{})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" {
		t.Fatalf("log-out = %d %q", p.status, p.header.Get("Location"))
	}
	if b.cookie(RefreshCookieName) != nil || b.cookie(AccessCookieName) != nil {
		t.Error("cookies left after log-out")
	}
	home = b.follow(p)
	if !home.has("你已退出登录") || home.has("已登录") {
		t.Errorf("home after log-out:\n%s", home.body)
	}
	res := s.do("POST", "/api/identity/tokens/refresh", nil, withCookie(refresh))
	if res.status != http.StatusUnauthorized {
		t.Errorf("the logged-out refresh token still works: %d", res.status)
	}

	// Log in again, with a wrong password first.
	p = b.post("/identity/login", url.Values{"email": {email}, "password": {"wrong password!"}})
	if p.status != http.StatusUnprocessableEntity || !p.has("电子邮箱或密码不正确") || !p.has(`value="duyong@example.com"`) {
		t.Fatalf("wrong password: %d\n%s", p.status, p.body)
	}
	p = b.post("/identity/login", url.Values{"email": {email}, "password": {testPassword}, "next": {"/identity/people/" + id}})
	if p.header.Get("Location") != "/identity/people/"+id {
		t.Errorf("log-in did not return to next: %q", p.header.Get("Location"))
	}
	me = b.get("/identity/me")
	if me.status != 200 || !me.has("你退出了登录。") || !me.has(email) {
		t.Errorf("my Yunqi after logging in again: %d", me.status)
	}
}

func TestLogInNextIsLocal(t *testing.T) {
	for next, want := range map[string]string{
		"":                       "/identity/me",
		"/identity/people/x?a=1": "/identity/people/x?a=1",
		"//evil.example/":        "/identity/me",
		"https://evil.example/":  "/identity/me",
		"/\\evil.example":        "/identity/me",
		"javascript:alert(1)":    "/identity/me",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestProfileFormErrors(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	b.signUp("links@example.com", "Link Person")
	p := b.post("/identity/me", url.Values{
		"display_name": {"Link Person"}, "city": {strings.Repeat("杭", maxCity+1)},
		"link_label_0": {"ok"}, "link_url_0": {"https://example.com"},
		"link_label_1": {"bad"}, "link_url_1": {"javascript:alert(1)"},
		"link_url_2": {"https://user:pw@example.com"},
	})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", p.status)
	}
	for _, want := range []string{
		"The city must be at most 64 characters.",
		"The address of link 2 must start with https:// or http://.",
		"The address of link 3 must not contain a user name or password.",
		`<a href="#f-link-url-1">`, `<a href="#f-city">`,
		`value="javascript:alert(1)"`,
	} {
		if !p.has(want) {
			t.Errorf("profile errors lack %q", want)
		}
	}
	checkDescribedBy(t, p)
}

// Every rule the backend can break has a message in both languages.
func TestEveryValidationRuleIsTranslated(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n+1) }
	var errs []FieldError
	collect := func(err error) {
		if v, ok := err.(*ValidationError); ok {
			errs = append(errs, v.Fields...)
		}
	}
	for _, in := range []signUpInput{
		{}, {Email: "nope", Password: "short", DisplayName: "a\x00b"},
		{Email: "a@example.com", Password: long(maxPasswordBytes), DisplayName: long(maxDisplayName), Lang: "fr"},
		{Email: "duyong@example.com", Password: "duyong12345", DisplayName: "杜勇"},
		{Email: "a@example.com", Password: "qwertyuiop", DisplayName: "x"},
		{Email: "a@example.com", Password: "aaaaaaaaaaaaaa", DisplayName: "x"},
		{Email: "a@example.com", Password: "Password2024!", DisplayName: "x"},
	} {
		_, err := in.validate()
		collect(err)
	}
	for _, in := range []emailChangeInput{{}, {Email: "nope", Password: long(maxPasswordBytes)}} {
		_, err := in.validate()
		collect(err)
	}
	_, err := replayUser(registered).chooseLanguage("fr")
	collect(err)
	skills := make([]string, maxSkills+1)
	for i := range skills {
		skills[i] = fmt.Sprint("s", i)
	}
	links := make([]events.ProfileLink, maxLinks+1)
	for i := range links {
		links[i] = events.ProfileLink{URL: "https://example.com"}
	}
	for _, d := range []profileDoc{
		{DisplayName: "", Bio: long(maxBio), City: long(maxCity), Skills: skills, Links: links},
		{DisplayName: "\x01", Bio: "\x01", City: "\x01", Skills: []string{long(maxSkill), "\x01"}, Links: []events.ProfileLink{
			{Label: long(maxLinkLabel), URL: ""}, {Label: "\x01", URL: "https://a.example"},
			{URL: "https://" + long(maxLinkURLBytes)}, {URL: "%zz"}, {URL: "ftp://a.example"}, {URL: "https://"},
			{URL: "https://u:p@a.example"}, {URL: "https://a.example/a b"},
		}},
	} {
		_, err := d.validate()
		collect(err)
	}
	rules := map[string]bool{}
	for _, fe := range errs {
		rules[fe.format] = true
		for _, l := range web.Languages {
			tr := mustPages(t).t.Translator(l)
			_, msg := invalidMessage(tr, fe)
			if msg == tr.T("identity.invalid.other") || strings.Contains(msg, "{") || strings.Contains(msg, "[identity.") {
				t.Errorf("%s: %s %q (%s) has no proper message: %q", l, fe.Field, fe.format, fe.Message, msg)
			}
		}
	}
	for format := range ruleKeys {
		if !rules[format] {
			t.Errorf("no test input breaks the rule %q", format)
		}
	}
}

var (
	pagesOnce sync.Once
	pagesOnly *Pages
	pagesErr  error
)

// mustPages parses the identity pages without a service, for tests that
// only translate.
func mustPages(t *testing.T) *Pages {
	t.Helper()
	pagesOnce.Do(func() {
		ui, err := web.New(web.Options{})
		if err != nil {
			pagesErr = err
			return
		}
		pagesOnly, pagesErr = (&Service{}).Pages(ui)
	})
	if pagesErr != nil {
		t.Fatal(pagesErr)
	}
	return pagesOnly
}

func TestTimelineShowsNoStaff(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	b.signUp("judge@example.com", "Judge Person")
	const staff = "organiser-5f2c"
	if _, err := GrantRole(context.Background(), s.store, s.svc.claims, "judge@example.com", "judge", staff); err != nil {
		t.Fatal(err)
	}
	var me page
	eventually(t, "the grant in the timeline", func() bool {
		me = b.get("/identity/me")
		return me.has("You were given the role contest judge.")
	})
	if me.has(staff) {
		t.Errorf("the timeline names the staff member who granted the role")
	}
	if !me.has("contest judge") || !me.has("member") {
		t.Errorf("roles not listed")
	}
	// Dates are in the page's language.
	zh := s.browser("zh-CN")
	zh.logIn("judge@example.com")
	p := zh.get("/identity/me")
	if !p.has(fmt.Sprintf("%d年", time.Now().In(web.DisplayZone).Year())) || !p.has("你获得了角色：大赛评委。") {
		t.Errorf("Chinese timeline:\n%s", p.body)
	}
}

func TestPageSessionSurvivesRestart(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	b.signUp("restart@example.com", "Restart")
	s.restart()
	if p := b.get("/identity/me"); p.status != 200 || !p.has("Logged in as Restart") {
		t.Fatalf("after a restart: %d", p.status)
	}
	// With the access cookie expired, the refresh cookie logs the visitor
	// in again transparently, and rotates.
	before := b.cookie(RefreshCookieName).Value
	b.dropCookie(AccessCookieName)
	s.restart()
	p := b.get("/identity/me")
	if p.status != 200 || !p.has("Logged in as Restart") {
		t.Fatalf("refresh after restart: %d", p.status)
	}
	if b.cookie(AccessCookieName) == nil || b.cookie(RefreshCookieName).Value == before {
		t.Error("the page session did not hand out fresh cookies")
	}
}

func TestPageRefreshUnderConcurrency(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	b.signUp("tabs@example.com", "Tabs")
	b.dropCookie(AccessCookieName)
	refresh := b.cookie(RefreshCookieName)

	// Several tabs come back at once with the same refresh token.
	var wg sync.WaitGroup
	results := make([]int, 6)
	for i := range results {
		wg.Go(func() {
			tab := s.browser("en")
			u, _ := url.Parse(s.srv.URL)
			tab.client.Jar.SetCookies(u, []*http.Cookie{refresh})
			p := tab.get("/identity/me")
			if p.has("Logged in as Tabs") {
				results[i] = p.status
			}
		})
	}
	wg.Wait()
	for i, st := range results {
		if st != 200 {
			t.Errorf("tab %d was not recognised (%d)", i, st)
		}
	}
	if n := countEvents(t, s.store, "identity.SessionRevoked"); n != 0 {
		t.Fatalf("concurrent tabs ended the session as reuse (%d revocations)", n)
	}
	if n := countEvents(t, s.store, "identity.SessionRefreshed"); n != 1 {
		t.Errorf("%d rotations for one expired access cookie, want 1", n)
	}
	// Once the grace is over, presenting the old token is reuse again.
	res := s.do("POST", "/api/identity/tokens/refresh", map[string]string{"refresh_token": refresh.Value})
	if res.status != http.StatusUnauthorized {
		t.Errorf("API refresh with the rotated token: %d", res.status)
	}
}

func TestPagesRateLimit(t *testing.T) {
	for _, tc := range []struct{ lang, login, signup string }{
		{"en", "Please try again in 1 minute.", "Please try again in 1 hour."},
		{"zh-CN", "请 1 分钟后再试", "请 1 小时后再试"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			s := newSite(t, func(c *Config) {
				c.LogInPerAddress = RateLimit{Requests: 2, Window: time.Minute}
				c.SignUpPerAddress = RateLimit{Requests: 1, Window: time.Hour}
			})
			b := s.browser(tc.lang)
			b.signUp("limit@example.com", "Limit")
			var p page
			for range 3 {
				p = b.post("/identity/login", url.Values{"email": {"limit@example.com"}, "password": {"not the password"}})
			}
			if p.status != http.StatusTooManyRequests || !p.has(tc.login) || p.header.Get("Retry-After") != "60" {
				t.Errorf("log-in limit: %d %q\n%s", p.status, p.header.Get("Retry-After"), p.body)
			}
			if !p.has(`value="limit@example.com"`) {
				t.Errorf("the email typed is not kept on the rate-limit page")
			}
			p = b.post("/identity/signup", url.Values{"email": {"other@example.com"}, "password": {testPassword}, "display_name": {"X"}})
			if p.status != http.StatusTooManyRequests || !p.has(tc.signup) {
				t.Errorf("sign-up limit: %d\n%s", p.status, p.body)
			}
			// The API draws on the same allowance as the pages.
			res := s.do("POST", "/api/identity/tokens", map[string]string{"email": "limit@example.com", "password": testPassword},
				fromAddress("127.0.0.1:1"))
			if res.status != http.StatusTooManyRequests {
				t.Errorf("API log-in from the same address: %d", res.status)
			}
		})
	}
}

func TestHomeFigures(t *testing.T) {
	s := newSite(t)
	for lang, want := range map[string][]string{
		"en":    {"22,000", "24 October 2013", "2009", "What is on"},
		"zh-CN": {"2.2万", "2013年10月24日", "2009", "这里有什么"},
	} {
		p := s.browser(lang).get("/")
		for _, w := range want {
			if !p.has(w) {
				t.Errorf("%s home page lacks %q", lang, w)
			}
		}
	}
}

func TestPersonPageHidesUnpublished(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	b.signUp("quiet@example.com", "Quiet")
	var id string
	res := s.do("POST", "/api/identity/tokens", map[string]string{"email": "quiet@example.com", "password": testPassword})
	var tok tokenResponse
	json.Unmarshal(res.body, &tok)
	me := s.do("GET", "/api/identity/me", nil, bearer(tok.AccessToken))
	var m meResponse
	me.decode(t, &m)
	id = m.ID
	if p := s.browser("en").get("/identity/people/" + id); p.status != 404 || p.has("Quiet") {
		t.Errorf("a profile with nothing published: %d", p.status)
	}
}
