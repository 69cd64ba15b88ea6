package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer   = "yunqi-test"
	testAudience = "yunqi-test-aud"
)

type testKey struct {
	kid  string
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

func newTestKey(t *testing.T) testKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: Thumbprint(pub), priv: priv, pub: pub}
}

func validClaims(now time.Time) Claims {
	return Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Subject:   "0193a0b2-0000-7000-8000-000000000001",
			Audience:  jwt.ClaimStrings{testAudience},
			ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        "jti-1",
		},
		Roles: []string{RoleMember, RoleJudge},
		Name:  "杜勇",
	}
}

func sign(t testing.TB, k testKey, claims Claims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = k.kid
	tok.Header["typ"] = TokenType
	for name, v := range header {
		if v == nil {
			delete(tok.Header, name)
			continue
		}
		tok.Header[name] = v
	}
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func setOf(keys ...testKey) JWKS {
	set := JWKS{Keys: []JWK{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, Ed25519JWK(k.kid, k.pub))
	}
	return set
}

func newTestVerifier(t *testing.T, src KeySource) *Verifier {
	t.Helper()
	v, err := NewVerifier(src, VerifierConfig{Issuer: testIssuer, Audience: testAudience})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerify(t *testing.T) {
	key, other := newTestKey(t), newTestKey(t)
	v := newTestVerifier(t, KeySetFunc(func(context.Context) (JWKS, error) { return setOf(key), nil }))
	now := time.Now()

	good := sign(t, key, validClaims(now), nil)
	p, err := v.Verify(context.Background(), good)
	if err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	if p.UserID != "0193a0b2-0000-7000-8000-000000000001" || !p.HasRole(RoleJudge) || p.DisplayName != "杜勇" {
		t.Fatalf("principal = %+v", p)
	}

	withClaims := func(change func(*Claims)) string {
		c := validClaims(now)
		change(&c)
		return sign(t, key, c, nil)
	}
	parts := strings.Split(good, ".")
	payload := validClaims(now)
	payload.Roles = []string{RoleMember, RoleOrganizer}
	tampered := parts[0] + "." + b64(payload) + "." + parts[2]
	algNone := b64(map[string]string{"alg": "none", "typ": TokenType, "kid": key.kid}) + "." + parts[1] + "."
	// HS256 keyed with the public key: the classic confusion attack on
	// verifiers that let the token choose the algorithm.
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims(now))
	hs.Header["kid"], hs.Header["typ"] = key.kid, TokenType
	hsToken, err := hs.SignedString([]byte(key.pub))
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		token string
		want  error
	}{
		{"expired", withClaims(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)) }), ErrExpiredToken},
		{"not yet valid", withClaims(func(c *Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }), ErrExpiredToken},
		{"no expiry", withClaims(func(c *Claims) { c.ExpiresAt = nil }), ErrInvalidToken},
		{"wrong audience", withClaims(func(c *Claims) { c.Audience = jwt.ClaimStrings{"someone-else"} }), ErrInvalidToken},
		{"wrong issuer", withClaims(func(c *Claims) { c.Issuer = "https://evil.example" }), ErrInvalidToken},
		{"no subject", withClaims(func(c *Claims) { c.Subject = "" }), ErrInvalidToken},
		{"issued in the future", withClaims(func(c *Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) }), ErrInvalidToken},
		{"tampered payload", tampered, ErrInvalidToken},
		{"wrong key, right kid", sign(t, testKey{kid: key.kid, priv: other.priv}, validClaims(now), nil), ErrInvalidToken},
		{"unknown kid", sign(t, other, validClaims(now), nil), ErrInvalidToken},
		{"no kid", sign(t, key, validClaims(now), map[string]any{"kid": nil}), ErrInvalidToken},
		{"wrong typ", sign(t, key, validClaims(now), map[string]any{"typ": "JWT"}), ErrInvalidToken},
		{"critical header", sign(t, key, validClaims(now), map[string]any{"crit": []string{"exp"}}), ErrInvalidToken},
		{"alg none", algNone, ErrInvalidToken},
		{"alg HS256 with the public key", hsToken, ErrInvalidToken},
		{"garbage", "not.a.token", ErrInvalidToken},
		{"empty", "", ErrInvalidToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), c.token)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestVerifyAsksForFreshKeysOnUnknownKid(t *testing.T) {
	old, rotated := newTestKey(t), newTestKey(t)
	var mu sync.Mutex
	current := setOf(old)
	var fresh atomic.Int32
	src := keySourceFunc(func(_ context.Context, f bool) (JWKS, error) {
		mu.Lock()
		defer mu.Unlock()
		if f {
			fresh.Add(1)
			current = setOf(old, rotated)
		}
		return current, nil
	})
	v := newTestVerifier(t, src)
	if _, err := v.Verify(context.Background(), sign(t, rotated, validClaims(time.Now()), nil)); err != nil {
		t.Fatalf("token of a rotated key refused: %v", err)
	}
	if fresh.Load() != 1 {
		t.Fatalf("fresh fetches = %d, want 1", fresh.Load())
	}
}

type keySourceFunc func(context.Context, bool) (JWKS, error)

func (f keySourceFunc) Keys(ctx context.Context, fresh bool) (JWKS, error) { return f(ctx, fresh) }

func TestRemoteJWKS(t *testing.T) {
	old, rotated := newTestKey(t), newTestKey(t)
	var mu sync.Mutex
	published := setOf(old)
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(published)
	}))
	defer srv.Close()
	remote := NewRemoteJWKS(srv.URL, RemoteOptions{MinRefetch: time.Millisecond})
	v := newTestVerifier(t, remote)
	ctx := context.Background()

	for range 3 {
		if _, err := v.Verify(ctx, sign(t, old, validClaims(time.Now()), nil)); err != nil {
			t.Fatal(err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("fetches after 3 verifications = %d, want 1 (cached)", n)
	}

	mu.Lock()
	published = setOf(old, rotated)
	mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	if _, err := v.Verify(ctx, sign(t, rotated, validClaims(time.Now()), nil)); err != nil {
		t.Fatalf("rotated key not picked up: %v", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2 (one refetch for the unknown kid)", n)
	}

	// Made-up kids do not turn every request into a fetch.
	slow := NewRemoteJWKS(srv.URL, RemoteOptions{MinRefetch: time.Hour})
	v2 := newTestVerifier(t, slow)
	stranger := newTestKey(t)
	before := fetches.Load()
	for range 5 {
		if _, err := v2.Verify(ctx, sign(t, stranger, validClaims(time.Now()), nil)); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("unknown kid: err = %v", err)
		}
	}
	if n := fetches.Load() - before; n > 2 {
		t.Fatalf("unknown kids caused %d fetches, want at most 2", n)
	}
}

func TestRemoteJWKSUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()
	key := newTestKey(t)
	v := newTestVerifier(t, NewRemoteJWKS(srv.URL, RemoteOptions{}))
	_, err := v.Verify(context.Background(), sign(t, key, validClaims(time.Now()), nil))
	if !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("err = %v, want ErrKeysUnavailable", err)
	}
	h := v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler reached") }))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+sign(t, key, validClaims(time.Now()), nil))
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", rec.Code)
	}
}

func TestJWKRefusesOtherKeys(t *testing.T) {
	key := newTestKey(t)
	good := Ed25519JWK(key.kid, key.pub)
	for name, k := range map[string]JWK{
		"EC key":        {Kty: "EC", Crv: "P-256", X: good.X, Kid: key.kid},
		"X25519":        {Kty: "OKP", Crv: "X25519", X: good.X, Kid: key.kid},
		"encryption":    {Kty: "OKP", Crv: "Ed25519", X: good.X, Kid: key.kid, Use: "enc"},
		"other alg":     {Kty: "OKP", Crv: "Ed25519", X: good.X, Kid: key.kid, Alg: "ES256"},
		"short x":       {Kty: "OKP", Crv: "Ed25519", X: "AAAA", Kid: key.kid},
		"not base64url": {Kty: "OKP", Crv: "Ed25519", X: "!!", Kid: key.kid},
	} {
		if _, err := k.Ed25519(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if pub, err := good.Ed25519(); err != nil || !pub.Equal(key.pub) {
		t.Fatalf("good key: %v", err)
	}
}

func TestMiddlewareAndGuards(t *testing.T) {
	key := newTestKey(t)
	v := newTestVerifier(t, KeySetFunc(func(context.Context) (JWKS, error) { return setOf(key), nil }))
	now := time.Now()
	member := validClaims(now)
	member.Roles = []string{RoleMember}
	memberToken := sign(t, key, member, nil)
	judgeToken := sign(t, key, validClaims(now), nil)
	expired := validClaims(now)
	expired.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour))
	expiredToken := sign(t, key, expired, nil)

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, found := FromContext(r.Context())
		if found {
			w.Header().Set("X-User", p.UserID)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	open := v.Middleware(ok)
	user := v.Middleware(RequireUser(ok))
	judges := v.Middleware(RequireRole(RoleJudge, RoleOrganizer)(ok))

	cases := []struct {
		name      string
		h         http.Handler
		auth      string
		want      int
		challenge string
	}{
		{"anonymous on an open route", open, "", http.StatusNoContent, ""},
		{"anonymous needs a user", user, "", http.StatusUnauthorized, `Bearer realm="yunqi"`},
		{"member is a user", user, "Bearer " + memberToken, http.StatusNoContent, ""},
		{"member is no judge", judges, "Bearer " + memberToken, http.StatusForbidden, ""},
		{"judge is a judge", judges, "Bearer " + judgeToken, http.StatusNoContent, ""},
		{"anonymous is no judge", judges, "", http.StatusUnauthorized, `Bearer realm="yunqi"`},
		{"bad token even on an open route", open, "Bearer " + judgeToken + "x", http.StatusUnauthorized, `error="invalid_token"`},
		{"expired token", open, "Bearer " + expiredToken, http.StatusUnauthorized, `error="invalid_token"`},
		{"lower-case scheme", user, "bearer " + memberToken, http.StatusNoContent, ""},
		{"basic auth", open, "Basic dXNlcjpwYXNz", http.StatusUnauthorized, `error="invalid_request"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			rec := httptest.NewRecorder()
			c.h.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status = %d, want %d: %s", rec.Code, c.want, rec.Body)
			}
			if c.want >= 400 {
				if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("content type = %q", ct)
				}
				var p struct {
					Type   string `json:"type"`
					Status int    `json:"status"`
					Detail string `json:"detail"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != c.want || p.Type == "" || p.Detail == "" {
					t.Fatalf("problem = %+v (%v)", p, err)
				}
			}
			if c.challenge != "" && !strings.Contains(rec.Header().Get("WWW-Authenticate"), c.challenge) {
				t.Fatalf("WWW-Authenticate = %q, want %q", rec.Header().Get("WWW-Authenticate"), c.challenge)
			}
		})
	}
}

func TestCookieTokenForPages(t *testing.T) {
	key := newTestKey(t)
	v, err := NewVerifier(KeySetFunc(func(context.Context) (JWKS, error) { return setOf(key), nil }),
		VerifierConfig{Issuer: testIssuer, Audience: testAudience, Cookie: "yunqi_access"})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := FromContext(r.Context())
		got = p.UserID
	}))
	for _, c := range []struct {
		cookie, want string
	}{
		{sign(t, key, validClaims(time.Now()), nil), "0193a0b2-0000-7000-8000-000000000001"},
		{"stale", ""}, // a bad cookie leaves the page anonymous instead of failing it
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.AddCookie(&http.Cookie{Name: "yunqi_access", Value: c.cookie})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || got != c.want {
			t.Fatalf("cookie %q: status %d, user %q, want %q", c.cookie, rec.Code, got, c.want)
		}
	}
}

func TestThumbprintIsRFC7638(t *testing.T) {
	// RFC 8037 appendix A.3: the thumbprint of its example Ed25519 key.
	x, _ := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if got, want := Thumbprint(ed25519.PublicKey(x)), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Fatalf("thumbprint = %s, want %s", got, want)
	}
}

// A token that lives longer than identity issues them for is refused,
// however well it is signed.
func TestVerifyRefusesTokensLivingTooLong(t *testing.T) {
	key := newTestKey(t)
	v, err := NewVerifier(KeySetFunc(func(context.Context) (JWKS, error) { return setOf(key), nil }),
		VerifierConfig{Issuer: testIssuer, Audience: testAudience, MaxLifetime: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, c := range []struct {
		name   string
		change func(*Claims)
		ok     bool
	}{
		{"the configured lifetime", func(*Claims) {}, true},
		{"a second over, from rounding", func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(15*time.Minute + time.Second)) }, true},
		{"shorter", func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Minute)) }, true},
		{"an hour", func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour)) }, false},
		{"issued long ago, expiring soon", func(c *Claims) { c.IssuedAt = jwt.NewNumericDate(now.Add(-2 * time.Hour)) }, false},
		{"no iat", func(c *Claims) { c.IssuedAt = nil }, false},
	} {
		claims := validClaims(now)
		c.change(&claims)
		_, err := v.Verify(context.Background(), sign(t, key, claims, nil))
		if c.ok && err != nil || !c.ok && !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
	// Without MaxLifetime the lifetime is not checked.
	long := validClaims(now)
	long.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour))
	if _, err := newTestVerifier(t, KeySetFunc(func(context.Context) (JWKS, error) { return setOf(key), nil })).Verify(context.Background(), sign(t, key, long, nil)); err != nil {
		t.Errorf("no MaxLifetime: %v", err)
	}
}

type denyList struct {
	denied map[string]bool
	err    error
}

func (d denyList) Revoked(_ context.Context, jti string) (bool, error) { return d.denied[jti], d.err }

func TestVerifyRefusesRevokedTokens(t *testing.T) {
	key := newTestKey(t)
	keys := KeySetFunc(func(context.Context) (JWKS, error) { return setOf(key), nil })
	deny := denyList{denied: map[string]bool{"jti-revoked": true}}
	v, err := NewVerifier(keys, VerifierConfig{Issuer: testIssuer, Audience: testAudience, Revocations: deny})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	with := func(jti string) string {
		c := validClaims(now)
		c.ID = jti
		return sign(t, key, c, nil)
	}
	p, err := v.Verify(context.Background(), with("jti-ok"))
	if err != nil || p.TokenID != "jti-ok" || !p.ExpiresAt.Equal(now.Add(15*time.Minute).Truncate(time.Second)) {
		t.Fatalf("a token not revoked: %+v, %v", p, err)
	}
	if _, err := v.Verify(context.Background(), with("jti-revoked")); !errors.Is(err, ErrRevokedToken) || !errors.Is(err, ErrInvalidToken) {
		t.Errorf("revoked: %v", err)
	}
	if _, err := v.Verify(context.Background(), with("")); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("no jti: %v", err)
	}
	down, _ := NewVerifier(keys, VerifierConfig{Issuer: testIssuer, Audience: testAudience, Revocations: denyList{err: errors.New("catching up")}})
	if _, err := down.Verify(context.Background(), with("jti-ok")); !errors.Is(err, ErrRevocationsUnavailable) {
		t.Errorf("deny list unavailable: %v", err)
	}

	// Over HTTP: a revoked bearer token is a 401 that says why, an
	// unavailable deny list a 503.
	for _, c := range []struct {
		verifier *Verifier
		token    string
		status   int
		detail   string
	}{
		{v, with("jti-ok"), http.StatusNoContent, ""},
		{v, with("jti-revoked"), http.StatusUnauthorized, "revoked"},
		{down, with("jti-ok"), http.StatusServiceUnavailable, "cannot be checked"},
	} {
		h := c.verifier.Middleware(RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })))
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("Authorization", "Bearer "+c.token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.status || !strings.Contains(w.Body.String(), c.detail) {
			t.Errorf("status %d, want %d: %s", w.Code, c.status, w.Body)
		}
	}
}
