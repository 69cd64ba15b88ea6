package contest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// testClock is a clock the test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// testAPI is the service's router with tokens signed by a key of the test.
type testAPI struct {
	t     *testing.T
	svc   *Service
	h     http.Handler
	key   ed25519.PrivateKey
	clock *testClock
}

func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	return newTestAPIOn(t, openStore(t))
}

// newTestAPIOn is the service on a given log, for a second process on it.
func newTestAPIOn(t *testing.T, store events.Store) *testAPI {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: during}
	keys := auth.KeySetFunc(func(context.Context) (auth.JWKS, error) {
		return auth.JWKS{Keys: []auth.JWK{auth.Ed25519JWK("test", pub)}}, nil
	})
	v, err := auth.NewVerifier(keys, auth.VerifierConfig{Issuer: "yunqi", Audience: "yunqi", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{DataDir: t.TempDir(), Verifier: v, Clock: clock.Now, MaxAttachmentBytes: 64 << 10}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &testAPI{t: t, svc: svc, h: svc.Routes(), key: priv, clock: clock}
}

// token signs an access token for user with roles (member is implied).
func (a *testAPI) token(user string, roles ...string) string {
	a.t.Helper()
	now := time.Now()
	c := auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: user, Issuer: "yunqi", Audience: jwt.ClaimStrings{"yunqi"},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))},
		Roles: append([]string{auth.RoleMember}, roles...), Name: user}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"], tok.Header["typ"] = "test", auth.TokenType
	s, err := tok.SignedString(a.key)
	if err != nil {
		a.t.Fatal(err)
	}
	return s
}

// do sends a request; body is JSON unless contentType says otherwise.
func (a *testAPI) do(method, path, token string, body any, contentType ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	var rd *bytes.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case []byte:
		rd = bytes.NewReader(b)
		ct = "application/octet-stream"
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	if len(contentType) > 0 {
		ct = contentType[0]
	}
	r := httptest.NewRequest(method, path, rd)
	if body != nil {
		r.Header.Set("Content-Type", ct)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

// expect fails unless the answer has status want, and decodes it into out.
func (a *testAPI) expect(w *httptest.ResponseRecorder, want int, out any) {
	a.t.Helper()
	if w.Code != want {
		a.t.Fatalf("status %d, want %d: %s", w.Code, want, w.Body)
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			a.t.Fatalf("answer is not JSON: %v: %s", err, w.Body)
		}
	}
}
