package identity

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// site is the whole web front of the binary as serve wires it: the server's
// router with the static files, the identity API, the identity pages and
// the shell (home page, not-found pages), over a real HTTP listener.
type site struct {
	*fixture
	ui  *web.UI
	srv *httptest.Server

	mu      sync.Mutex
	handler http.Handler
}

func newSite(t *testing.T, tune ...func(*Config)) *site {
	t.Helper()
	s := &site{fixture: newFixture(t, tune...)}
	s.build()
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		h := s.handler
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// build wires the router the way services/cmd/yunqi does.
func (s *site) build() {
	s.t.Helper()
	ui, err := web.New(web.Options{})
	if err != nil {
		s.t.Fatal(err)
	}
	pages, err := s.svc.Pages(ui)
	if err != nil {
		s.t.Fatal(err)
	}
	srv := httpserver.New(httpserver.Options{})
	r := srv.Router()
	r.Handle("/static/*", http.StripPrefix("/static/", web.Static()))
	s.svc.Mount(r)
	pages.Mount(r)
	ui.Mount(r, s.svc.PageSession)
	s.mu.Lock()
	s.ui, s.handler = ui, srv
	s.mu.Unlock()
}

// restart stops the service and the store and starts both again on the
// same files, as a restarted server would; browsers keep their cookies.
func (s *site) restart() {
	s.fixture.restart()
	s.build()
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see each 303.
type browser struct {
	t      *testing.T
	site   *site
	client *http.Client
	lang   string // Accept-Language
}

func (s *site) browser(lang string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &browser{t: s.t, site: s, lang: lang, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (p page) has(s string) bool { return strings.Contains(p.body, s) }

func (b *browser) do(method, path string, form url.Values, header ...string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.site.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(data)}
}

func (b *browser) get(path string, header ...string) page { return b.do("GET", path, nil, header...) }

func (b *browser) post(path string, form url.Values, header ...string) page {
	return b.do("POST", path, form, header...)
}

// follow GETs the page a 303 points to.
func (b *browser) follow(p page) page {
	b.t.Helper()
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("status %d, want a 303 redirect:\n%s", p.status, p.body)
	}
	return b.get(p.header.Get("Location"))
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.site.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// dropCookie forgets a cookie, as a browser does when it expires.
func (b *browser) dropCookie(name string) {
	u, _ := url.Parse(b.site.srv.URL)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: "", Path: "/", MaxAge: -1}})
}

func (b *browser) signUp(email, name string) page {
	b.t.Helper()
	p := b.post("/identity/signup", url.Values{"email": {email}, "password": {testPassword}, "display_name": {name}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/identity/me" {
		b.t.Fatalf("sign-up: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
	}
	return b.follow(p)
}

func (b *browser) logIn(email string) page {
	b.t.Helper()
	p := b.post("/identity/login", url.Values{"email": {email}, "password": {testPassword}})
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("log-in: %d\n%s", p.status, p.body)
	}
	return b.follow(p)
}

var (
	htmlLang  = regexp.MustCompile(`<html lang="([^"]+)">`)
	idAttr    = regexp.MustCompile(` id="([^"]+)"`)
	described = regexp.MustCompile(`aria-describedby="([^"]+)"`)
)

func (p page) lang() string {
	if m := htmlLang.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	return ""
}

// checkDescribedBy fails when an aria-describedby names an id the page
// does not have.
func checkDescribedBy(t *testing.T, p page) {
	t.Helper()
	ids := map[string]bool{}
	for _, m := range idAttr.FindAllStringSubmatch(p.body, -1) {
		ids[m[1]] = true
	}
	for _, m := range described.FindAllStringSubmatch(p.body, -1) {
		for _, id := range strings.Fields(m[1]) {
			if !ids[id] {
				t.Errorf("aria-describedby names %q, which is not on the page", id)
			}
		}
	}
}
