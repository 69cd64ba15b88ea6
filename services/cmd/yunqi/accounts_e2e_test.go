package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

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
