package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/identity"
)

// send is call with extra headers, as name, value pairs.
func send(t *testing.T, method, url, body string, header ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The acceptance check: behind a trusted proxy, a stranger's
// twelve wrong passwords for an account do not keep its owner, from
// another address and with no device cookie, from logging in.
func TestStrangerCannotLockAnAccountOverHTTP(t *testing.T) {
	base, _ := serve(t, t.TempDir(), "--trusted-proxy", "127.0.0.1")
	const pw = "correct horse battery staple"
	if resp, body := send(t, "POST", base+"/api/identity/users", `{"email":"victim@example.com","password":"`+pw+`","display_name":"Victim"}`,
		"X-Forwarded-For", "198.51.100.20"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("sign-up: %d %s", resp.StatusCode, body)
	}
	held := 0
	for i := range 12 {
		resp, body := send(t, "POST", base+"/api/identity/tokens", `{"email":"victim@example.com","password":"not the password at all"}`,
			"X-Forwarded-For", "203.0.113.7")
		switch resp.StatusCode {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			held++
			if resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "try again in") {
				t.Errorf("attempt %d: 429 without Retry-After or a wait: %s", i+1, body)
			}
		default:
			t.Fatalf("stranger's attempt %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	if held == 0 {
		t.Error("twelve wrong passwords in a row were never held back")
	}
	resp, body := send(t, "POST", base+"/api/identity/tokens", `{"email":"victim@example.com","password":"`+pw+`"}`,
		"X-Forwarded-For", "198.51.100.20")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the owner's log-in: %d %s", resp.StatusCode, body)
	}
	accessToken(t, body)
	var device *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == identity.DeviceCookieName {
			device = c
		}
	}
	if device == nil || !device.HttpOnly || device.SameSite != http.SameSiteLaxMode {
		t.Errorf("the log-in set no proper device cookie: %+v", device)
	}
}

// refusedWithin polls a request with token until it is refused with 401,
// failing if that takes longer than limit. It returns how long it took.
func refusedWithin(t *testing.T, limit time.Duration, do func() int) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		status := do()
		if status == http.StatusUnauthorized {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("the logged-out token still answers %d after %s", status, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A token logged out at identity is refused by another service at once.
func TestLoggedOutTokenIsRefusedByOtherServices(t *testing.T) {
	base, _ := serve(t, t.TempDir())
	token, refresh := account(t, base, "leaver@example.com")
	if resp, body := call(t, "GET", base+"/api/notify/inbox", token, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("inbox before log-out: %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, "DELETE", base+"/api/identity/tokens", token, "", refresh); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("log-out: %d %s", resp.StatusCode, body)
	}
	took := refusedWithin(t, time.Second, func() int {
		resp, _ := call(t, "GET", base+"/api/notify/inbox", token, "")
		return resp.StatusCode
	})
	t.Logf("refused by notify %s after the log-out", took)
	// The refresh session ended too.
	if resp, _ := call(t, "POST", base+"/api/identity/tokens/refresh", "", "", refresh); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("refresh after log-out: %d", resp.StatusCode)
	}
}

// In split mode a service in another process learns of the log-out from
// the log: identity and conference each run as --services=… on one data
// directory, with stores of their own, as two processes would.
func TestSplitServiceRefusesLoggedOutTokens(t *testing.T) {
	data := t.TempDir()
	id := newTestApp(t, data, "--services", "identity")
	conf := newTestApp(t, data, "--services", "conference")
	id.signUp("leaver@example.com", "Leaver")
	token, refresh := id.logIn("leaver@example.com")
	registration := "/api/conference/registrations/" + events.NewID().String()
	if w := conf.do("GET", registration, token, ""); w.Code != http.StatusNotFound {
		t.Fatalf("conference with a valid token: %d %s", w.Code, w.Body)
	}
	if w := id.do("DELETE", "/api/identity/tokens", token, "", "Cookie", identity.RefreshCookieName+"="+refresh); w.Code != http.StatusNoContent {
		t.Fatalf("log-out: %d %s", w.Code, w.Body)
	}
	took := refusedWithin(t, time.Second, func() int { return conf.do("GET", registration, token, "").Code })
	t.Logf("refused by the conference process %s after the log-out", took)
	// A token that lives longer than --access-ttl is refused there too,
	// though signed with identity's own key.
	long, err := identity.MintAccessToken(data, events.NewID().String(), "Long", nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if w := conf.do("GET", registration, long, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("an hour-long token: %d", w.Code)
	}
}
