package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

func TestSignUpAndLogIn(t *testing.T) {
	f := newFixture(t)
	id := f.signUp("DuYong@Example.com", "杜勇")

	res := f.do("POST", "/api/identity/tokens", map[string]string{"email": " duyong@example.com ", "password": testPassword})
	if res.status != http.StatusOK {
		t.Fatalf("log-in: %d %s", res.status, res.body)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("token response Cache-Control = %q", cc)
	}
	var tok tokenResponse
	res.decode(t, &tok)
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 15*60 || tok.RefreshToken != "" {
		t.Fatalf("token response = %+v", tok)
	}
	header, claims := jwtParts(t, tok.AccessToken)
	if header["alg"] != "EdDSA" || header["typ"] != auth.TokenType || header["kid"] == "" {
		t.Fatalf("header = %v", header)
	}
	if header["kid"] != f.svc.keys.signer().kid {
		t.Fatalf("kid %v is not the signer's", header["kid"])
	}
	if claims["iss"] != "https://yunqi.test" || claims["sub"] != id || claims["jti"] == "" {
		t.Fatalf("claims = %v", claims)
	}
	if aud, _ := claims["aud"].([]any); len(aud) != 1 || aud[0] != "yunqi-test" {
		t.Fatalf("aud = %v", claims["aud"])
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 15*60 {
		t.Fatalf("lifetime = %v s", exp-iat)
	}
	if roles, _ := claims["roles"].([]any); len(roles) != 1 || roles[0] != "member" {
		t.Fatalf("roles = %v", claims["roles"])
	}

	c := res.cookie(RefreshCookieName)
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || c.MaxAge <= 0 {
		t.Fatalf("refresh cookie = %+v", c)
	}

	me := f.do("GET", "/api/identity/me", nil, bearer(tok.AccessToken))
	var m meResponse
	me.decode(t, &m)
	if me.status != http.StatusOK || m.ID != id || m.Email != "DuYong@Example.com" || m.DisplayName != "杜勇" {
		t.Fatalf("me = %d %+v", me.status, m)
	}
	p, err := f.svc.Verifier().Verify(t.Context(), tok.AccessToken)
	if err != nil || p.UserID != id || p.DisplayName != "杜勇" {
		t.Fatalf("in-process verifier: %+v, %v", p, err)
	}
}

func TestSecureCookie(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.SecureCookies = true })
	f.signUp("a@example.com", "A")
	if s := f.logIn("a@example.com"); !s.refresh.Secure {
		t.Fatal("refresh cookie not Secure with SecureCookies")
	}
}

func TestLogInFailuresLookAlike(t *testing.T) {
	f := newFixture(t)
	f.signUp("a@example.com", "A")
	wrong := f.do("POST", "/api/identity/tokens", map[string]string{"email": "a@example.com", "password": "wrong password"})
	unknown := f.do("POST", "/api/identity/tokens", map[string]string{"email": "nobody@example.com", "password": "wrong password"})
	problemOf(t, wrong, http.StatusUnauthorized)
	problemOf(t, unknown, http.StatusUnauthorized)
	if !bytes.Equal(wrong.body, unknown.body) {
		t.Fatalf("wrong password and unknown address answer differently:\n%s\n%s", wrong.body, unknown.body)
	}
	if wrong.cookie(RefreshCookieName) != nil {
		t.Fatal("failed log-in set a refresh cookie")
	}
	missing := problemOf(t, f.do("POST", "/api/identity/tokens", map[string]string{"email": "a@example.com"}), http.StatusUnprocessableEntity)
	if len(missing.Errors) != 1 || missing.Errors[0].Field != "password" {
		t.Fatalf("errors = %+v", missing.Errors)
	}
}

func TestDuplicateEmail(t *testing.T) {
	f := newFixture(t)
	f.signUp("a@example.com", "A")
	res := f.do("POST", "/api/identity/users", map[string]string{"email": " A@EXAMPLE.com", "password": "another password", "display_name": "B"})
	p := problemOf(t, res, http.StatusConflict)
	if p.Type != httpserver.ProblemBase+"email-taken" || strings.Contains(string(res.body), "a@example.com") {
		t.Fatalf("problem = %s", res.body)
	}
}

func TestDuplicateEmailRace(t *testing.T) {
	f := newFixture(t)
	const n = 8
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			res := f.do("POST", "/api/identity/users", map[string]string{
				"email": "race@example.com", "password": testPassword, "display_name": fmt.Sprintf("racer %d", i)})
			codes[i] = res.status
		})
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Fatalf("status %d", c)
		}
	}
	if created != 1 {
		t.Fatalf("%d sign-ups won the race, want 1 (%v)", created, codes)
	}
	if got := countEvents(t, f.store, "identity.UserRegistered"); got != 1 {
		t.Fatalf("%d registrations in the log, want 1: losers must write no personal data", got)
	}
}

func TestIdempotentSignUp(t *testing.T) {
	f := newFixture(t)
	body := map[string]string{"email": "retry@example.com", "password": testPassword, "display_name": "R"}
	first := f.do("POST", "/api/identity/users", body, withHeader("Idempotency-Key", "k-1"))
	second := f.do("POST", "/api/identity/users", body, withHeader("Idempotency-Key", "k-1"))
	if first.status != http.StatusCreated || second.status != http.StatusCreated || !bytes.Equal(first.body, second.body) {
		t.Fatalf("retry: %d %s / %d %s", first.status, first.body, second.status, second.body)
	}
	if got := countEvents(t, f.store, "identity.UserRegistered"); got != 1 {
		t.Fatalf("%d registrations, want 1", got)
	}
	// The same key for another address is another sign-up.
	other := f.do("POST", "/api/identity/users", map[string]string{"email": "other@example.com", "password": testPassword, "display_name": "O"},
		withHeader("Idempotency-Key", "k-1"))
	if other.status != http.StatusCreated || bytes.Equal(other.body, first.body) {
		t.Fatalf("same key, other address: %d %s", other.status, other.body)
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name   string
		body   string
		opts   []reqOpt
		status int
		slug   string
		detail string
	}{
		{"invalid fields", `{"email":"nope","password":"short","display_name":""}`, nil, 422, "validation", ""},
		{"unknown field", `{"email":"a@example.com","password":"correct horse","display_name":"A","admin":true}`, nil, 400, "bad-request", `"admin"`},
		{"wrong type", `{"email":42}`, nil, 400, "bad-request", `"email" must be a string`},
		{"not JSON", `email=a@example.com`, nil, 400, "bad-request", "not valid JSON"},
		{"empty", ``, nil, 400, "bad-request", "empty"},
		{"two objects", `{"email":"a@example.com"}{}`, nil, 400, "bad-request", "single JSON value"},
		{"form post", `{}`, []reqOpt{withHeader("Content-Type", "application/x-www-form-urlencoded")}, 415, "unsupported-media-type", ""},
		{"too large", `{"display_name":"` + strings.Repeat("x", 70<<10) + `"}`, nil, 413, "body-too-large", ""},
		{"long idempotency key", `{}`, []reqOpt{withHeader("Idempotency-Key", strings.Repeat("k", 300))}, 400, "bad-request", "Idempotency-Key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := problemOf(t, f.do("POST", "/api/identity/users", c.body, c.opts...), c.status)
			if p.Type != httpserver.ProblemBase+c.slug || !strings.Contains(p.Detail, c.detail) {
				t.Fatalf("problem = %+v", p)
			}
		})
	}
	p := problemOf(t, f.do("POST", "/api/identity/users", `{"email":"nope","password":"short","display_name":""}`), 422)
	fields := map[string]bool{}
	for _, e := range p.Errors {
		fields[e.Field] = e.Message != ""
	}
	if !fields["email"] || !fields["password"] || !fields["display_name"] {
		t.Fatalf("field errors = %+v", p.Errors)
	}
	problemOf(t, f.do("GET", "/api/identity/nothing", nil), http.StatusNotFound)
	problemOf(t, f.do("PATCH", "/api/identity/users", nil), http.StatusMethodNotAllowed)
}

func TestAccessTokensRejected(t *testing.T) {
	f := newFixture(t)
	id := f.signUp("a@example.com", "A")
	good := f.logIn("a@example.com").access
	key := f.svc.keys.signer()
	now := time.Now()
	claims := func(change func(*auth.Claims)) auth.Claims {
		c := auth.Claims{RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "https://yunqi.test", Subject: id, Audience: jwt.ClaimStrings{"yunqi-test"},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: "jti-control",
		}, Roles: []string{"member"}}
		change(&c)
		return c
	}
	signWith := func(priv ed25519.PrivateKey, c auth.Claims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		tok.Header["kid"], tok.Header["typ"] = key.kid, auth.TokenType
		s, err := tok.SignedString(priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	parts := strings.Split(good, ".")
	_, payload := jwtParts(t, good)
	payload["roles"] = []string{"member", "organizer"}
	raw, _ := json.Marshal(payload)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + parts[2]
	none, _ := json.Marshal(map[string]string{"alg": "none", "typ": auth.TokenType, "kid": key.kid})
	algNone := base64.RawURLEncoding.EncodeToString(none) + "." + parts[1] + "."

	if res := f.do("GET", "/api/identity/me", nil, bearer(signWith(key.private, claims(func(*auth.Claims) {})))); res.status != http.StatusOK {
		t.Fatalf("control token refused: %d %s", res.status, res.body)
	}
	for name, token := range map[string]string{
		"tampered":       tampered,
		"alg none":       algNone,
		"wrong key":      signWith(stranger, claims(func(*auth.Claims) {})),
		"wrong audience": signWith(key.private, claims(func(c *auth.Claims) { c.Audience = jwt.ClaimStrings{"contest"} })),
		"wrong issuer":   signWith(key.private, claims(func(c *auth.Claims) { c.Issuer = "https://evil.example" })),
		"expired":        signWith(key.private, claims(func(c *auth.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)) })),
		// Well signed, but identity never issues these: longer-lived than
		// the access token lifetime (15 minutes here), or without a jti,
		// which could never be revoked.
		"lives an hour": signWith(key.private, claims(func(c *auth.Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour)) })),
		"no jti":        signWith(key.private, claims(func(c *auth.Claims) { c.ID = "" })),
	} {
		t.Run(name, func(t *testing.T) {
			res := f.do("GET", "/api/identity/me", nil, bearer(token))
			problemOf(t, res, http.StatusUnauthorized)
			if !strings.Contains(res.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("WWW-Authenticate = %q", res.header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("expired by time passing", func(t *testing.T) {
		f.clock.Advance(16 * time.Minute)
		defer f.clock.Advance(-16 * time.Minute)
		p := problemOf(t, f.do("GET", "/api/identity/me", nil, bearer(good)), http.StatusUnauthorized)
		if !strings.Contains(p.Detail, "expired") {
			t.Fatalf("detail = %q", p.Detail)
		}
	})
	problemOf(t, f.do("GET", "/api/identity/me", nil), http.StatusUnauthorized)
}

func TestRefreshRotationAndReuse(t *testing.T) {
	f := newFixture(t)
	f.signUp("a@example.com", "A")
	s := f.logIn("a@example.com")

	refresh := func(c *http.Cookie) response {
		return f.do("POST", "/api/identity/tokens/refresh", nil, withCookie(c))
	}
	r1 := s.refresh
	res := refresh(r1)
	if res.status != http.StatusOK {
		t.Fatalf("refresh: %d %s", res.status, res.body)
	}
	var tok tokenResponse
	res.decode(t, &tok)
	r2 := res.cookie(RefreshCookieName)
	if tok.AccessToken == "" || tok.RefreshToken != "" || r2 == nil || r2.Value == r1.Value || !r2.HttpOnly {
		t.Fatalf("refresh did not rotate: %+v, cookie %+v", tok, r2)
	}
	res = refresh(r2)
	r3 := res.cookie(RefreshCookieName)
	if res.status != http.StatusOK || r3 == nil {
		t.Fatalf("second refresh: %d %s", res.status, res.body)
	}

	// r1 was rotated away: presenting it again means it leaked.
	res = refresh(r1)
	if p := problemOf(t, res, http.StatusUnauthorized); p.Type != httpserver.ProblemBase+"refresh-token-reused" {
		t.Fatalf("reuse answered %+v", p)
	}
	if c := res.cookie(RefreshCookieName); c == nil || c.MaxAge >= 0 {
		t.Fatalf("reuse did not clear the cookie: %+v", c)
	}
	// The whole session is gone, including the newest token.
	problemOf(t, refresh(r3), http.StatusUnauthorized)
	if got := countEvents(t, f.store, "identity.SessionRevoked"); got != 1 {
		t.Fatalf("%d revocations, want 1", got)
	}

	// Clients without cookies send the token in the body and get the next
	// one back in the body.
	s = f.logIn("a@example.com")
	res = f.do("POST", "/api/identity/tokens/refresh", map[string]string{"refresh_token": s.refresh.Value})
	res.decode(t, &tok)
	if res.status != http.StatusOK || tok.RefreshToken == "" || tok.RefreshToken == s.refresh.Value || res.cookie(RefreshCookieName) != nil {
		t.Fatalf("body refresh: %d %s", res.status, res.body)
	}
	res = f.do("POST", "/api/identity/tokens/refresh", map[string]string{"refresh_token": tok.RefreshToken})
	if res.status != http.StatusOK {
		t.Fatalf("second body refresh: %d %s", res.status, res.body)
	}

	for name, value := range map[string]string{"garbage": "nonsense", "guessed secret": strings.SplitN(s.refresh.Value, ".", 2)[0] + "." + strings.Repeat("A", 43)} {
		problemOf(t, refresh(&http.Cookie{Name: RefreshCookieName, Value: value}), http.StatusUnauthorized)
		_ = name
	}
	problemOf(t, f.do("POST", "/api/identity/tokens/refresh", nil), http.StatusUnauthorized)
}

func TestRefreshCarriesCurrentRoles(t *testing.T) {
	f := newFixture(t)
	f.signUp("judge@example.com", "J")
	s := f.logIn("judge@example.com")
	// A CLI process writes the grant to the shared log while the server runs.
	changed, err := GrantRole(t.Context(), f.openSecondStore(), f.svc.claims, "Judge@example.com", "judge", "operator")
	if err != nil || !changed {
		t.Fatalf("grant: %v, %v", changed, err)
	}
	if _, claims := jwtParts(t, s.access); len(claims["roles"].([]any)) != 1 {
		t.Fatalf("the old token changed: %v", claims["roles"])
	}
	res := f.do("POST", "/api/identity/tokens/refresh", nil, withCookie(s.refresh))
	var tok tokenResponse
	res.decode(t, &tok)
	p, err := f.svc.Verifier().Verify(t.Context(), tok.AccessToken)
	if err != nil || !p.HasRole("judge") || !p.HasRole("member") {
		t.Fatalf("refreshed principal = %+v, %v", p, err)
	}
	if changed, err := GrantRole(t.Context(), f.store, f.svc.claims, "judge@example.com", "judge", "operator"); changed || err != nil {
		t.Fatalf("second grant: %v, %v", changed, err)
	}
	if _, err := GrantRole(t.Context(), f.store, f.svc.claims, "nobody@example.com", "judge", "operator"); err != ErrUserNotFound {
		t.Fatalf("grant to nobody: %v", err)
	}
	if _, err := GrantRole(t.Context(), f.store, f.svc.claims, "judge@example.com", "admin", "operator"); err == nil {
		t.Fatal("unknown role granted")
	}
	if changed, err := RevokeRole(t.Context(), f.store, f.svc.claims, "judge@example.com", "judge", "operator"); !changed || err != nil {
		t.Fatalf("revoke: %v, %v", changed, err)
	}
	if _, err := RevokeRole(t.Context(), f.store, f.svc.claims, "judge@example.com", "member", "operator"); err != ErrMemberRole {
		t.Fatalf("revoke member: %v", err)
	}
}

func TestLogOut(t *testing.T) {
	f := newFixture(t)
	f.signUp("a@example.com", "A")
	s := f.logIn("a@example.com")
	res := f.do("DELETE", "/api/identity/tokens", nil, withCookie(s.refresh))
	if res.status != http.StatusNoContent {
		t.Fatalf("log-out: %d %s", res.status, res.body)
	}
	if c := res.cookie(RefreshCookieName); c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("log-out did not clear the cookie: %+v", c)
	}
	problemOf(t, f.do("POST", "/api/identity/tokens/refresh", nil, withCookie(s.refresh)), http.StatusUnauthorized)
	if res := f.do("DELETE", "/api/identity/tokens", nil, withCookie(s.refresh)); res.status != http.StatusNoContent {
		t.Fatalf("second log-out: %d", res.status)
	}
	if res := f.do("DELETE", "/api/identity/tokens", nil); res.status != http.StatusNoContent {
		t.Fatalf("log-out without a session: %d", res.status)
	}
	if got := countEvents(t, f.store, "identity.SessionRevoked"); got != 1 {
		t.Fatalf("%d revocations, want 1", got)
	}
}

func TestSessionsSurviveRestart(t *testing.T) {
	f := newFixture(t)
	f.signUp("a@example.com", "A")
	s := f.logIn("a@example.com")
	kid := f.svc.keys.signer().kid
	f.restart()
	if got := f.svc.keys.signer().kid; got != kid {
		t.Fatalf("signing key changed across a restart: %s → %s", kid, got)
	}
	if res := f.do("GET", "/api/identity/me", nil, bearer(s.access)); res.status != http.StatusOK {
		t.Fatalf("access token after restart: %d %s", res.status, res.body)
	}
	if res := f.do("POST", "/api/identity/tokens/refresh", nil, withCookie(s.refresh)); res.status != http.StatusOK {
		t.Fatalf("refresh after restart: %d %s", res.status, res.body)
	}
}

func TestRateLimits(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.SignUpPerAddress = RateLimit{Requests: 2, Window: time.Hour}
		c.LogInPerAddress = RateLimit{Requests: 4, Window: time.Minute}
		c.LogInPerAccount = RateLimit{Requests: 2, Window: 10 * time.Minute}
	})
	signUp := func(email, addr string) response {
		return f.do("POST", "/api/identity/users", map[string]string{"email": email, "password": testPassword, "display_name": "x"}, fromAddress(addr))
	}
	logIn := func(email, password, addr string) response {
		return f.do("POST", "/api/identity/tokens", map[string]string{"email": email, "password": password}, fromAddress(addr))
	}
	limited := func(res response, message string) {
		t.Helper()
		p := problemOf(t, res, http.StatusTooManyRequests)
		if p.Type != httpserver.ProblemBase+"rate-limited" || !strings.Contains(p.Detail, message) || !strings.Contains(p.Detail, "try again in") {
			t.Fatalf("429 problem = %+v", p)
		}
		if res.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}

	t.Run("sign-up per address", func(t *testing.T) {
		if signUp("s1@example.com", "198.51.100.1:1").status != 201 || signUp("s2@example.com", "198.51.100.1:2").status != 201 {
			t.Fatal("sign-ups within the limit refused")
		}
		limited(signUp("s3@example.com", "198.51.100.1:3"), "sign-up attempts from your network address")
		if res := signUp("s3@example.com", "198.51.100.2:1"); res.status != 201 {
			t.Fatalf("another address: %d %s", res.status, res.body)
		}
	})

	t.Run("log-in per account counts failures", func(t *testing.T) {
		for i := range 2 {
			problemOf(t, logIn("s1@example.com", "wrong password", fmt.Sprintf("203.0.113.%d:1", i)), http.StatusUnauthorized)
		}
		// From yet another address and with the right password: the
		// account is what is limited.
		res := logIn("s1@example.com", testPassword, "203.0.113.99:1")
		limited(res, "failed log-ins for this account from many places")
		if res.header.Get("Retry-After") != "1" {
			t.Fatalf("Retry-After = %q, want 1", res.header.Get("Retry-After"))
		}
		// Successes do not count against an account.
		for i := range 3 {
			if res := logIn("s2@example.com", testPassword, fmt.Sprintf("203.0.114.%d:1", i)); res.status != 200 {
				t.Fatalf("successful log-in %d: %d %s", i, res.status, res.body)
			}
		}
	})

	t.Run("log-in per address", func(t *testing.T) {
		for i := range 4 {
			if res := logIn("s3@example.com", testPassword, "192.0.2.77:1"); res.status != 200 {
				t.Fatalf("log-in %d: %d %s", i, res.status, res.body)
			}
		}
		limited(logIn("s3@example.com", testPassword, "192.0.2.77:1"), "log-in attempts from your network address")
	})
}

func TestConfigValidate(t *testing.T) {
	for name, c := range map[string]Config{
		"no data dir":       {Claims: testClaims},
		"long access token": {DataDir: "d", Claims: testClaims, AccessTTL: 48 * time.Hour},
		"short refresh":     {DataDir: "d", Claims: testClaims, AccessTTL: time.Hour, RefreshTTL: time.Minute},
		"tiny window":       {DataDir: "d", Claims: testClaims, LogInPerAccount: RateLimit{Requests: 5, Window: time.Millisecond}},
		"weak argon2":       {DataDir: "d", Claims: testClaims, Argon2: Argon2Params{Memory: 1, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}},
	} {
		if err := c.Defaults().Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (Config{DataDir: "d", Claims: testClaims}).Defaults().Validate(); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
}

func TestStaleClaimIsTakenOver(t *testing.T) {
	f := newFixture(t)
	// A sign-up that died between claiming the address and registering.
	orphan := events.NewID().String()
	hash := f.svc.claims.hash(normalizeEmail("late@example.com"))
	if _, err := appendPayloads(t.Context(), f.store, events.EmailClaimStream(hash), events.NoStream, orphan,
		writeInfo{actor: orphan}, time.Now(), events.EmailClaimed{UserID: orphan}); err != nil {
		t.Fatal(err)
	}
	body := map[string]string{"email": "late@example.com", "password": testPassword, "display_name": "L"}
	problemOf(t, f.do("POST", "/api/identity/users", body), http.StatusConflict)
	f.clock.Advance(2 * claimGrace)
	id := f.signUp("late@example.com", "L")
	if id == orphan {
		t.Fatal("took over the orphan's id")
	}
	if s := f.logIn("late@example.com"); s.access == "" {
		t.Fatal("no token")
	}
}
