package identity

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// revocationsIn reads the AccessTokenRevoked events of the log.
func revocationsIn(t *testing.T, st events.Store) []events.AccessTokenRevoked {
	t.Helper()
	var out []events.AccessTokenRevoked
	after := events.Start
	for {
		evs, err := st.ReadAll(t.Context(), events.ReadAllOptions{After: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		for _, e := range evs {
			if e.Type != accessTokenRevokedType {
				continue
			}
			p, err := events.Types.Decode(e)
			if err != nil {
				t.Fatal(err)
			}
			if e.Stream != events.AccessTokenStream(p.(events.AccessTokenRevoked).JTI) || e.Metadata.Visibility != events.System {
				t.Errorf("revocation in %s, visibility %s", e.Stream, e.Metadata.Visibility)
			}
			out = append(out, p.(events.AccessTokenRevoked))
		}
		after = evs[len(evs)-1].Position
	}
}

func TestLogOutRevokesTheAccessToken(t *testing.T) {
	f := newFixture(t)
	id := f.signUp("ada@example.com", "Ada")
	s := f.logIn("ada@example.com")
	other := f.logIn("ada@example.com")
	if res := f.do("GET", "/api/identity/me", nil, bearer(s.access)); res.status != http.StatusOK {
		t.Fatalf("before log-out: %d", res.status)
	}
	if res := f.do("DELETE", "/api/identity/tokens", nil, bearer(s.access), withCookie(s.refresh)); res.status != http.StatusNoContent {
		t.Fatalf("log-out: %d %s", res.status, res.body)
	}
	res := f.do("GET", "/api/identity/me", nil, bearer(s.access))
	if p := problemOf(t, res, http.StatusUnauthorized); !strings.Contains(p.Detail, "revoked") ||
		!strings.Contains(res.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("after log-out: %+v %q", p, res.header.Get("WWW-Authenticate"))
	}
	// The same person's other session is not touched.
	if res := f.do("GET", "/api/identity/me", nil, bearer(other.access)); res.status != http.StatusOK {
		t.Errorf("another session's token: %d", res.status)
	}
	_, claims := jwtParts(t, s.access)
	revs := revocationsIn(t, f.store)
	if len(revs) != 1 || revs[0].JTI != claims["jti"] || revs[0].UserID != id ||
		revs[0].ExpiresAt.Unix() != int64(claims["exp"].(float64)) {
		t.Fatalf("revocations %+v for token %v", revs, claims)
	}
	// Logging out again, with the token alone, writes nothing more.
	if res := f.do("DELETE", "/api/identity/tokens", nil, bearer(s.access)); res.status != http.StatusNoContent {
		t.Fatalf("second log-out: %d", res.status)
	}
	if n := len(revocationsIn(t, f.store)); n != 1 {
		t.Errorf("%d revocations after logging out twice", n)
	}
	// A garbage bearer token is no reason to refuse a log-out.
	if res := f.do("DELETE", "/api/identity/tokens", nil, bearer("not.a.token"), withCookie(other.refresh)); res.status != http.StatusNoContent {
		t.Errorf("log-out with a garbage token: %d", res.status)
	}
	// A restarted identity rebuilds the list from the log.
	f.restart()
	if res := f.do("GET", "/api/identity/me", nil, bearer(s.access)); res.status != http.StatusUnauthorized {
		t.Errorf("after a restart the revoked token answers %d", res.status)
	}
}

func TestPageLogOutRevokesTheAccessCookie(t *testing.T) {
	s := newSite(t)
	b := s.browser("en")
	b.signUp("grace@example.com", "Grace")
	access := b.cookie(AccessCookieName)
	if access == nil {
		t.Fatal("no access cookie")
	}
	if p := b.post("/identity/logout", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("log-out: %d", p.status)
	}
	if res := s.do("GET", "/api/identity/me", nil, bearer(access.Value)); res.status != http.StatusUnauthorized {
		t.Errorf("the logged-out page's access token answers %d", res.status)
	}
	// A copy of the cookie kept elsewhere shows no one logged in.
	if p := s.browser("en").get("/identity/me", "Cookie", AccessCookieName+"="+access.Value); p.status != http.StatusSeeOther {
		t.Errorf("a page with the revoked cookie: %d", p.status)
	}
}

// Another process learns of a revocation from the log alone.
func TestRevocationsFollowTheLog(t *testing.T) {
	f := newFixture(t)
	f.signUp("ada@example.com", "Ada")
	s := f.logIn("ada@example.com")
	_, claims := jwtParts(t, s.access)
	jti := claims["jti"].(string)

	elsewhere := NewRevocations(f.openSecondStore(), f.clock.Now, nil)
	early, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := elsewhere.Revoked(early, jti); err == nil {
		t.Fatal("a list that has not read the log says it knows")
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); elsewhere.Run(ctx) }()
	defer func() { stop(); <-done }()
	if revoked, err := elsewhere.Revoked(t.Context(), jti); err != nil || revoked {
		t.Fatalf("before log-out: %v %v", revoked, err)
	}
	f.do("DELETE", "/api/identity/tokens", nil, bearer(s.access), withCookie(s.refresh))
	eventually(t, "the other process to deny the token", func() bool {
		revoked, err := elsewhere.Revoked(t.Context(), jti)
		return err == nil && revoked
	})
	if elsewhere.Ready(t.Context()) != nil {
		t.Error("caught up but not ready")
	}

	// Once the token has expired anyway, the entry goes.
	f.clock.Advance(f.cfg.Defaults().AccessTTL + revocationSlack + time.Minute)
	if revoked, _ := elsewhere.Revoked(t.Context(), jti); revoked {
		t.Error("an expired token is still listed as revoked")
	}
	elsewhere.add("another", f.clock.Now().Add(time.Minute))
	if n := elsewhere.size(); n != 1 {
		t.Errorf("%d entries after the expired one should have gone", n)
	}
}

func TestRevokeAccessIsIdempotentAndSkipsExpiredTokens(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	for range 2 {
		if err := f.svc.revokeAccess(t.Context(), "jti-a", "u", now.Add(time.Minute), writeInfo{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.revokeAccess(t.Context(), "jti-old", "u", now.Add(-time.Hour), writeInfo{}); err != nil {
		t.Fatal(err)
	}
	if revs := revocationsIn(t, f.store); len(revs) != 1 || revs[0].JTI != "jti-a" {
		t.Errorf("revocations %+v", revs)
	}
	if revoked, _ := f.svc.revocations.Revoked(t.Context(), "jti-a"); !revoked {
		t.Error("not denied in this process at once")
	}
	if err := f.svc.revokeAccess(t.Context(), "", "u", now.Add(time.Minute), writeInfo{}); err == nil {
		t.Error("revoked a token without a jti")
	}
	if !events.Types.Known(accessTokenRevokedType) {
		t.Errorf("%s is not the event's registered name", accessTokenRevokedType)
	}
}

// Every token identity issues has a jti, so every one can be revoked.
func TestIssuedTokensCarryAJTI(t *testing.T) {
	f := newFixture(t)
	f.signUp("ada@example.com", "Ada")
	seen := map[string]bool{}
	for range 3 {
		_, claims := jwtParts(t, f.logIn("ada@example.com").access)
		jti, _ := claims["jti"].(string)
		if jti == "" || seen[jti] {
			t.Fatalf("jti %q (seen %v)", jti, seen)
		}
		seen[jti] = true
	}
}

// BenchmarkVerify is the cost of checking an access token, with this
// process's deny list (holding 10,000 revoked tokens) and without.
func BenchmarkVerify(b *testing.B) {
	dir := b.TempDir()
	st, err := sqlitestore.Open(filepath.Join(dir, "events.db"), sqlitestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc, err := New(Config{DataDir: dir, Argon2: fastArgon2}, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go svc.Run(ctx)
	for i := range 10_000 {
		svc.revocations.add(fmt.Sprint("revoked-", i), time.Now().Add(10*time.Minute))
	}
	token, err := svc.issueAccessToken(User{ID: "0193a0b2-0000-7000-8000-000000000001", Roles: []string{"member"}})
	if err != nil {
		b.Fatal(err)
	}
	plain, err := auth.NewVerifier(svc.KeySet(), auth.VerifierConfig{Issuer: "yunqi", Audience: "yunqi"})
	if err != nil {
		b.Fatal(err)
	}
	for name, v := range map[string]*auth.Verifier{"deny list and lifetime": svc.verifier, "signature and claims only": plain} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := v.Verify(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
