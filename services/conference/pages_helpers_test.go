package conference

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// pageSite is the service's API and pages on one router, with a stand-in
// for identity's page session: a cookie holding an access token. Services
// never import each other, so the real one is exercised in the binary's
// tests (services/cmd/yunqi).
type pageSite struct {
	t      *testing.T
	svc    *Service
	pages  *Pages
	server http.Handler
	key    ed25519.PrivateKey
	kid    string
}

const testCookie = "yunqi_access"

func newPageSite(t *testing.T) *pageSite {
	t.Helper()
	return newPageSiteOn(t, openStore(t), t.TempDir())
}

// newPageSiteOn is a site on a given log and data directory, for tests
// that start a second process on the same data.
func newPageSiteOn(t *testing.T, store events.Store, dataDir string) *pageSite {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kid := auth.Thumbprint(pub)
	set := auth.JWKS{Keys: []auth.JWK{auth.Ed25519JWK(kid, pub)}}
	v, err := auth.NewVerifier(auth.KeySetFunc(func(context.Context) (auth.JWKS, error) { return set, nil }),
		auth.VerifierConfig{Issuer: "yunqi-test", Audience: "yunqi-test"})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{DataDir: dataDir, Verifier: v}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	ui, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := svc.Pages(ui)
	if err != nil {
		t.Fatal(err)
	}
	session := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c, err := r.Cookie(testCookie); err == nil {
				if p, err := v.Verify(r.Context(), c.Value); err == nil {
					r = r.WithContext(auth.WithPrincipal(r.Context(), p))
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httpserver.New(httpserver.Options{})
	svc.Mount(srv.Router())
	pages.Mount(srv.Router(), session)
	ui.Mount(srv.Router(), session)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); pages.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; svc.Close() })
	return &pageSite{t: t, svc: svc, pages: pages, server: srv, key: priv, kid: kid}
}

// token mints an access token for user, a member with roles besides.
func (s *pageSite) token(user, name string, roles ...string) string {
	s.t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "yunqi-test", Subject: user, Audience: jwt.ClaimStrings{"yunqi-test"},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		},
		Roles: append([]string{auth.RoleMember}, roles...),
		Name:  name,
	})
	tok.Header["kid"], tok.Header["typ"] = s.kid, auth.TokenType
	out, err := tok.SignedString(s.key)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// api calls the JSON API with a bearer token.
func (s *pageSite) api(method, path, token, body string) *httptest.ResponseRecorder {
	s.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	s.server.ServeHTTP(w, r)
	return w
}

// visitor is someone using the pages: their page session (empty for a
// stranger) and their browser's language.
type visitor struct {
	s     *pageSite
	token string
	lang  string
}

func (s *pageSite) visitor(token, lang string) *visitor {
	return &visitor{s: s, token: token, lang: lang}
}

type pageAnswer struct {
	status int
	header http.Header
	body   string
}

func (p pageAnswer) has(s string) bool { return strings.Contains(p.body, s) }

func (v *visitor) do(method, path string, form url.Values) pageAnswer {
	v.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("Accept-Language", v.lang)
	if v.token != "" {
		r.AddCookie(&http.Cookie{Name: testCookie, Value: v.token})
	}
	w := httptest.NewRecorder()
	v.s.server.ServeHTTP(w, r)
	return pageAnswer{status: w.Code, header: w.Header(), body: w.Body.String()}
}

func (v *visitor) get(path string) pageAnswer { return v.do("GET", path, nil) }

func (v *visitor) post(path string, form url.Values) pageAnswer { return v.do("POST", path, form) }

var (
	idAttr    = regexp.MustCompile(` id="([^"]+)"`)
	described = regexp.MustCompile(`aria-describedby="([^"]*)"`)
	formKey   = regexp.MustCompile(`name="form_key" value="([^"]+)"`)
)

// checkDescribedBy fails when an aria-describedby names an id the page
// does not have: an error tied to nothing is an error nobody hears.
func checkDescribedBy(t *testing.T, p pageAnswer) {
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
