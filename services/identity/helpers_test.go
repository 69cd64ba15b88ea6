package identity

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// testClock runs with real time plus an offset that tests move forward, so
// the store's recorded times and the tokens' times stay in one order.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// fixture is the identity service on the embedded event store in a temp
// dir, driven through its real router.
type fixture struct {
	t       *testing.T
	dir     string
	cfg     Config
	clock   *testClock
	store   *sqlitestore.Store
	svc     *Service
	handler http.Handler
	stop    func()
}

func newFixture(t *testing.T, tune ...func(*Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, clock: &testClock{}}
	f.cfg = Config{
		DataDir:                 dir,
		Issuer:                  "https://yunqi.test",
		Audience:                "yunqi-test",
		Argon2:                  fastArgon2,
		SignUpPerAddress:        RateLimit{Requests: -1},
		LogInPerAddress:         RateLimit{Requests: -1},
		LogInPerAccount:         RateLimit{Requests: -1},
		LogInFailuresPerPair:    RateLimit{Requests: -1},
		LogInFailuresPerAddress: RateLimit{Requests: -1},
		KeyCheckInterval:        time.Nanosecond, // notice rotations at once
		Clock:                   f.clock.Now,
		Claims:                  testClaims,
	}
	for _, fn := range tune {
		fn(&f.cfg)
	}
	f.open()
	t.Cleanup(f.close)
	return f
}

func (f *fixture) open() {
	f.t.Helper()
	st, err := sqlitestore.Open(filepath.Join(f.dir, "events.db"), sqlitestore.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	svc, err := New(f.cfg, st, nil)
	if err != nil {
		st.Close()
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(ctx)
	}()
	f.store, f.svc, f.handler = st, svc, svc.Routes()
	f.stop = func() { cancel(); <-done }
}

func (f *fixture) close() {
	if f.svc != nil {
		f.stop()
		f.svc = nil
	}
	if f.store != nil {
		if err := f.store.Close(); err != nil {
			f.t.Errorf("close store: %v", err)
		}
		f.store = nil
	}
}

// restart closes the service and the store and opens both again on the same
// files, as a restarted server would.
func (f *fixture) restart() {
	f.close()
	f.open()
}

// openSecondStore opens the same log file as another process would (a CLI
// command while the server runs).
func (f *fixture) openSecondStore() events.Store {
	f.t.Helper()
	st, err := sqlitestore.Open(filepath.Join(f.dir, "events.db"), sqlitestore.Options{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { st.Close() })
	return st
}

type response struct {
	status  int
	header  http.Header
	body    []byte
	cookies []*http.Cookie
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) cookie(name string) *http.Cookie {
	for _, c := range r.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

type reqOpt func(*http.Request)

func bearer(token string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func withCookie(c *http.Cookie) reqOpt { return func(r *http.Request) { r.AddCookie(c) } }

func fromAddress(addr string) reqOpt { return func(r *http.Request) { r.RemoteAddr = addr } }

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// do sends a request through the router. body may be nil, a string (sent
// as is) or a value (sent as JSON).
func (f *fixture) do(method, path string, body any, opts ...reqOpt) response {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = "192.0.2.1:4321"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	res := rec.Result()
	return response{status: res.StatusCode, header: res.Header, body: rec.Body.Bytes(), cookies: res.Cookies()}
}

const testPassword = "correct horse battery staple"

func (f *fixture) signUp(email, name string) string {
	f.t.Helper()
	res := f.do("POST", "/api/identity/users", map[string]string{"email": email, "password": testPassword, "display_name": name})
	if res.status != http.StatusCreated {
		f.t.Fatalf("sign-up %s: %d %s", email, res.status, res.body)
	}
	var out struct{ ID string }
	res.decode(f.t, &out)
	return out.ID
}

type session struct {
	access  string
	refresh *http.Cookie
}

func (f *fixture) logIn(email string) session {
	f.t.Helper()
	res := f.do("POST", "/api/identity/tokens", map[string]string{"email": email, "password": testPassword})
	if res.status != http.StatusOK {
		f.t.Fatalf("log-in %s: %d %s", email, res.status, res.body)
	}
	var out tokenResponse
	res.decode(f.t, &out)
	c := res.cookie(RefreshCookieName)
	if c == nil {
		f.t.Fatal("log-in set no refresh cookie")
	}
	return session{access: out.AccessToken, refresh: c}
}

// problemOf checks that res is a problem document with the given status and
// returns it.
func problemOf(t *testing.T, res response, status int) httpserver.Problem {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d: %s", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type = %q, want application/problem+json", ct)
	}
	var p httpserver.Problem
	res.decode(t, &p)
	if p.Status != status || !strings.HasPrefix(p.Type, httpserver.ProblemBase) || p.Title == "" || p.Detail == "" {
		t.Fatalf("incomplete problem: %+v", p)
	}
	return p
}

// jwtParts decodes a token's header and claims without verifying them.
func jwtParts(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts", token, len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// eventually polls cond until it holds or a few seconds pass, for views fed
// by a subscription.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countEvents(t *testing.T, st events.Store, eventType string) int {
	t.Helper()
	n := 0
	after := events.Start
	for {
		evs, err := st.ReadAll(context.Background(), events.ReadAllOptions{After: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return n
		}
		for _, e := range evs {
			if e.Type == eventType {
				n++
			}
		}
		after = evs[len(evs)-1].Position
	}
}

// testClaims is the address claim key of the tests' services.
var testClaims = ClaimKey(bytes.Repeat([]byte("claim key for tests "), 2))
