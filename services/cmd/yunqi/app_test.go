package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/identity"
)

// testClock is real time plus an offset tests move forward, so that the
// log's recorded times and the tokens' times stay in one order.
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

// cheapArgon2 keeps password hashing out of the tests' running time; the
// cost parameters are the only thing about the app tests change.
var cheapArgon2 = identity.Argon2Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// testApp is what serve builds, from serve's own flag parsing and newApp,
// on embedded engines in a temp dir, driven in-process.
type testApp struct {
	t     *testing.T
	data  string
	app   *app
	store events.Store
	clock *testClock
}

// rateOff keeps the per-address limits out of tests that sign up freely.
var rateOff = []string{"--rate-signup-per-address", "off", "--rate-login-per-address", "off", "--rate-login-per-account", "off",
	"--rate-login-failures-per-pair", "off", "--rate-login-failures-per-address", "off"}

// newTestApp builds the app on data (a fresh temp dir when empty) with
// serve's flags args. Rate limits are off unless args set them.
func newTestApp(t *testing.T, data string, args ...string) *testApp {
	t.Helper()
	if data == "" {
		data = t.TempDir()
	}
	args = append(append([]string{"--data", data}, rateOff...), args...)
	c, _, _, err := parseServe(args, quietEnv(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logger := c.logger()
	store, err := openPersonalLog(t.Context(), &c.commonConfig, "", true, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{t: t, data: data, store: store, clock: &testClock{}}
	deps := c.deps(store, logger, nil)
	if !c.runs("identity") {
		// As serve wires a process without identity, on the keys in data.
		if deps.verifier, deps.pageSession, deps.revocations, err = c.remoteAuth(store, logger); err != nil {
			store.Close()
			t.Fatal(err)
		}
	}
	deps.identity.Argon2 = cheapArgon2
	deps.identity.Clock = ta.clock.Now
	deps.identity.KeyCheckInterval = time.Nanosecond // see rotations at once
	a, err := newApp(deps, c.serverOptions(logger, nil))
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	ta.app = a
	ctx, cancel := context.WithCancelCause(context.Background())
	wait := a.runServices(ctx, cancel)
	t.Cleanup(func() {
		cancel(nil)
		wait()
		if err := context.Cause(ctx); err != nil && err != context.Canceled {
			t.Errorf("a service failed: %v", err)
		}
		store.Close()
	})
	// Asking the checks rather than /readyz keeps the expected 503s of a
	// starting app out of the test log.
	deadline := time.Now().Add(20 * time.Second)
	for _, s := range a.services {
		for s.ready != nil && s.ready(ctx) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("service %s did not become ready", s.name)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return ta
}

// do sends a request; token, when set, goes in as a bearer token, and a
// body is sent as JSON. More headers come as name, value pairs.
func (a *testApp) do(method, path, token, body string, header ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	a.app.server.ServeHTTP(w, r)
	return w
}

// signUp opens an account through the API and returns its id.
func (a *testApp) signUp(email, name string) string {
	a.t.Helper()
	w := a.do("POST", "/api/identity/users", "", `{"email":"`+email+`","password":"correct horse battery staple","display_name":"`+name+`"}`)
	if w.Code != http.StatusCreated {
		a.t.Fatalf("sign-up %s: %d %s", email, w.Code, w.Body)
	}
	var out struct{ ID string }
	json.Unmarshal(w.Body.Bytes(), &out)
	return out.ID
}

// logIn returns an access token and the refresh cookie's value.
func (a *testApp) logIn(email string) (token, refresh string) {
	a.t.Helper()
	w := a.do("POST", "/api/identity/tokens", "", `{"email":"`+email+`","password":"correct horse battery staple"}`)
	if w.Code != http.StatusOK {
		a.t.Fatalf("log-in %s: %d %s", email, w.Code, w.Body)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	json.Unmarshal(w.Body.Bytes(), &out)
	for _, c := range w.Result().Cookies() {
		if c.Name == identity.RefreshCookieName {
			refresh = c.Value
		}
	}
	return out.AccessToken, refresh
}

// claims decodes a token's payload without checking it: tests look at what
// was issued, the verifier under test does the checking.
func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func tokenRoles(t *testing.T, token string) []string {
	t.Helper()
	var roles []string
	for _, r := range claims(t, token)["roles"].([]any) {
		roles = append(roles, r.(string))
	}
	return roles
}

// waitUntil polls cond for what projections and pollers need to catch up.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
