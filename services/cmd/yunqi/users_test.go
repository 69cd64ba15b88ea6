package main

import (
	"encoding/json"
	"io"
	"net/http"

	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/services/identity"
)

// call sends a request to a running server; body, when set, is JSON.
func call(t *testing.T, method, url, token, body string, cookies ...*http.Cookie) (*http.Response, string) {
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
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// account signs up and logs in on a running server, returning the access
// token and the refresh cookie.
func account(t *testing.T, base, email string) (string, *http.Cookie) {
	t.Helper()
	const pw = "correct horse battery staple"
	if resp, body := call(t, "POST", base+"/api/identity/users", "", `{"email":"`+email+`","password":"`+pw+`","display_name":"杜勇"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("sign-up: %d %s", resp.StatusCode, body)
	}
	resp, body := call(t, "POST", base+"/api/identity/tokens", "", `{"email":"`+email+`","password":"`+pw+`"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("log-in: %d %s", resp.StatusCode, body)
	}
	return accessToken(t, body), refreshCookie(t, resp)
}

func accessToken(t *testing.T, body string) string {
	t.Helper()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.AccessToken == "" {
		t.Fatalf("no access token in %s", body)
	}
	return out.AccessToken
}

func refreshCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == identity.RefreshCookieName {
			return c
		}
	}
	t.Fatal("no refresh cookie")
	return nil
}

// refreshed exchanges the refresh cookie for a new access token.
func refreshed(t *testing.T, base string, cookie **http.Cookie) string {
	t.Helper()
	resp, body := call(t, "POST", base+"/api/identity/tokens/refresh", "", "", *cookie)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %s", resp.StatusCode, body)
	}
	*cookie = refreshCookie(t, resp)
	return accessToken(t, body)
}

// TestUsersGrantWhileServing runs "users grant" and "users revoke" as a
// second process would, on the log file a running server holds open.
func TestUsersGrantWhileServing(t *testing.T) {
	data := t.TempDir()
	base, _ := serve(t, data)
	const email = "judge@example.com"
	token, cookie := account(t, base, email)

	out, err := runCmd(t, "users", "grant", "--data", data, "--email", "Judge@Example.com", "--role", "judge")
	if err != nil || !strings.Contains(out, "granted role judge to Judge@Example.com") {
		t.Fatalf("users grant: %q, %v", out, err)
	}
	if _, body := call(t, "GET", base+"/api/identity/me", token, ""); !strings.Contains(body, `"roles":["judge","member"]`) {
		t.Errorf("/me after the grant: %s", body)
	}
	// The running server's projection notices the other process's write.
	waitUntil(t, func() bool {
		_, body := call(t, "GET", base+"/api/identity/me/timeline", token, "")
		return strings.Contains(body, `"kind":"role_granted","role":"judge"`)
	})
	// The token held catches up at its refresh, not before.
	if roles := tokenRoles(t, token); slices.Contains(roles, "judge") {
		t.Errorf("the old token has the new role: %v", roles)
	}
	token = refreshed(t, base, &cookie)
	if roles := tokenRoles(t, token); !slices.Contains(roles, "judge") {
		t.Errorf("the refreshed token lacks the granted role: %v", roles)
	}

	out, err = runCmd(t, "users", "grant", "--data", data, "--email", email, "--role", "judge")
	if err != nil || !strings.Contains(out, "already has role judge; nothing changed") {
		t.Errorf("repeated grant: %q, %v", out, err)
	}

	out, err = runCmd(t, "users", "revoke", "--data", data, "--email", email, "--role", "judge")
	if err != nil || !strings.Contains(out, "revoked role judge from "+email) {
		t.Fatalf("users revoke: %q, %v", out, err)
	}
	waitUntil(t, func() bool {
		_, body := call(t, "GET", base+"/api/identity/me/timeline", token, "")
		return strings.Contains(body, `"kind":"role_revoked","role":"judge"`)
	})
	if roles := tokenRoles(t, refreshed(t, base, &cookie)); slices.Contains(roles, "judge") {
		t.Errorf("the token refreshed after the revocation still has it: %v", roles)
	}
	out, err = runCmd(t, "users", "revoke", "--data", data, "--email", email, "--role", "judge")
	if err != nil || !strings.Contains(out, "does not have role judge; nothing changed") {
		t.Errorf("repeated revoke: %q, %v", out, err)
	}

	// Staff audits see who made the change; the owner's timeline does not.
	store := openSealedLog(t, data)
	all, err := store.ReadAll(t.Context(), events.ReadAllOptions{Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	var actors []string
	for _, e := range all {
		if e.Type == "identity.RoleGranted" || e.Type == "identity.RoleRevoked" {
			actors = append(actors, e.Metadata.Actor)
		}
	}
	want := cliActor(quietEnv())
	if len(actors) != 2 || actors[0] != want || actors[1] != want || !strings.HasPrefix(want, "cli:") {
		t.Errorf("role events' actors = %v, want two of %q", actors, want)
	}
	if _, body := call(t, "GET", base+"/api/identity/me/timeline", token, ""); strings.Contains(body, "cli:") {
		t.Errorf("the owner's timeline names the operator: %s", body)
	}
}

func TestUsersErrors(t *testing.T) {
	a := newTestApp(t, "")
	a.signUp("ada@example.com", "Ada")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"grant", "--email", "nobody@example.com", "--role", "judge"}, `no account has the email address "nobody@example.com"`},
		{[]string{"grant", "--email", "ada@example.com", "--role", "boss"}, `unknown role "boss": want reviewer, judge, gate or organizer`},
		{[]string{"revoke", "--email", "ada@example.com", "--role", "member"}, "the member role cannot be granted or revoked"},
		{[]string{"grant", "--email", "ada@example.com"}, "--email ADDRESS and --role ROLE are both required"},
		{[]string{"revoke", "--role", "judge"}, "--email ADDRESS and --role ROLE are both required"},
		{[]string{"grant", "--email", "ada@example.com", "--role", "judge", "extra"}, "takes no arguments"},
		{[]string{"promote"}, `users: unknown command "promote"`},
		{nil, "users: which command? grant, revoke or erase"},
	} {
		args := append([]string{"users"}, tc.args...)
		if len(tc.args) > 0 && (tc.args[0] == "grant" || tc.args[0] == "revoke") {
			args = append(args, "--data", a.data)
		}
		_, err := runCmd(t, args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("yunqi %s: error = %v, want %q", strings.Join(args, " "), err, tc.want)
		}
	}
	_, err := runCmd(t, "users", "grant", "--data", filepath.Join(t.TempDir(), "none"), "--email", "ada@example.com", "--role", "judge")
	if err == nil || !strings.Contains(err.Error(), "no event log at") {
		t.Errorf("grant on a missing log: %v", err)
	}
}

// TestKeysRotateWhileServing rotates the signing key beside a running
// server: new tokens carry the new kid, old ones keep working.
func TestKeysRotateWhileServing(t *testing.T) {
	data := t.TempDir()
	base, _ := serve(t, data)
	token, _ := account(t, base, "ada@example.com")
	oldKid := jwtHeader(t, token)["kid"]

	out, err := runCmd(t, "keys", "rotate", "--data", data)
	if err != nil {
		t.Fatalf("keys rotate: %v", err)
	}
	newKid := strings.TrimSpace(out)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{20,}$`).MatchString(newKid) || newKid == oldKid {
		t.Fatalf("keys rotate printed %q (old kid %v); want only the new kid", out, oldKid)
	}
	waitUntil(t, func() bool {
		_, body := call(t, "GET", base+"/.well-known/jwks.json", "", "")
		return strings.Contains(body, newKid) && strings.Contains(body, oldKid.(string))
	})
	if resp, body := call(t, "GET", base+"/api/identity/me", token, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("a token signed before the rotation: %d %s", resp.StatusCode, body)
	}
	resp, body := call(t, "POST", base+"/api/identity/tokens", "", `{"email":"ada@example.com","password":"correct horse battery staple"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("log-in after rotation: %d", resp.StatusCode)
	}
	if kid := jwtHeader(t, accessToken(t, body))["kid"]; kid != newKid {
		t.Errorf("a token issued after the rotation has kid %v, want %s", kid, newKid)
	}

	if _, err := runCmd(t, "keys", "rotate", "--data", filepath.Join(t.TempDir(), "typo")); err == nil || !strings.Contains(err.Error(), "no data directory at") {
		t.Errorf("rotate on a missing data dir: %v", err)
	}
	// The keys dir also holds other secrets (the master key);
	// only signing keys count here.
	if signing, _ := filepath.Glob(filepath.Join(data, "keys", "signing-*.pem")); len(signing) != 2 {
		t.Errorf("keys dir holds %d signing keys, want 2: %v", len(signing), signing)
	}
}

func jwtHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	return decodeSegment(t, strings.Split(token, ".")[0])
}
