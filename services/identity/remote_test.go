package identity

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/infra/auth"
)

// remoteSite adds /elsewhere to the site: a page served as a service in
// another process serves it, knowing identity only by the keys on disk.
func remoteSite(t *testing.T) *site {
	s := newSite(t)
	v, err := auth.NewVerifier(DiskKeySet(s.dir, s.cfg.AccessTTL, slog.New(slog.DiscardHandler)),
		auth.VerifierConfig{Issuer: s.cfg.Issuer, Audience: s.cfg.Audience})
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := RemotePageSession(v)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := auth.FromContext(r.Context()); ok {
			fmt.Fprintf(w, "user:%s", p.UserID)
			return
		}
		fmt.Fprint(w, "anonymous")
	}))
	s.mu.Lock()
	inner := s.handler
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/elsewhere") {
			elsewhere.ServeHTTP(w, r)
			return
		}
		inner.ServeHTTP(w, r)
	})
	s.mu.Unlock()
	return s
}

func TestRemotePageSessionRenewsThroughIdentity(t *testing.T) {
	s := remoteSite(t)
	b := s.browser("en")
	if p := b.get("/elsewhere"); p.body != "anonymous" {
		t.Fatalf("before sign-up: %d %q", p.status, p.body)
	}
	b.signUp("remote@example.com", "Remote")
	p := b.get("/elsewhere")
	if !strings.HasPrefix(p.body, "user:") {
		t.Fatalf("signed in: %d %q, want the user", p.status, p.body)
	}
	user := p.body

	// The access cookie expires: the page goes through identity's renew
	// page and comes back to the same address, signed in.
	b.dropCookie(AccessCookieName)
	p = b.get("/elsewhere/list?page=2")
	if p.status != http.StatusSeeOther {
		t.Fatalf("expired access cookie: %d %q, want a 303 to renew", p.status, p.body)
	}
	loc, _ := url.Parse(p.header.Get("Location"))
	if loc.Path != PathRenew || loc.Query().Get("next") != "/elsewhere/list?page=2" {
		t.Fatalf("redirect to %s", p.header.Get("Location"))
	}
	p = b.follow(p)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/elsewhere/list?page=2" {
		t.Fatalf("renew: %d %s", p.status, p.header.Get("Location"))
	}
	if b.cookie(AccessCookieName) == nil {
		t.Fatal("renew set no access cookie")
	}
	if p = b.follow(p); p.body != user {
		t.Fatalf("back from renew: %q, want %q", p.body, user)
	}

	// A renewal that cannot help (here: just tried) shows the page
	// anonymous instead of sending the browser round in circles.
	b.dropCookie(AccessCookieName)
	if p = b.get("/elsewhere"); p.status != http.StatusOK || p.body != "anonymous" {
		t.Fatalf("second expiry within the guard: %d %q", p.status, p.body)
	}
	// A form posted with an expired cookie is never redirected: its body
	// would be lost.
	b.dropCookie(renewTriedCookie)
	if p = b.post("/elsewhere", url.Values{"x": {"1"}}); p.status != http.StatusOK || p.body != "anonymous" {
		t.Fatalf("post: %d %q", p.status, p.body)
	}
}

func TestRenewOnlyReturnsToThisSite(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		p := b.get(PathRenew + "?next=" + url.QueryEscape(next))
		if p.status != http.StatusSeeOther || p.header.Get("Location") != pathMe {
			t.Errorf("next=%s: %d to %q, want %s", next, p.status, p.header.Get("Location"), pathMe)
		}
	}
}

func TestDiskKeySetBeforeIdentityStarted(t *testing.T) {
	keys := DiskKeySet(t.TempDir(), 0, slog.New(slog.DiscardHandler))
	if _, err := keys.Keys(t.Context(), false); err == nil || !strings.Contains(err.Error(), "keys") {
		t.Fatalf("no keys dir: %v, want an error naming it", err)
	}
}
