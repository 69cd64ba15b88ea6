package identity

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/infra/auth"
)

func TestFirstStartGeneratesKey(t *testing.T) {
	f := newFixture(t)
	dir := keysDir(f.dir)
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("keys dir: %v, %v", info, err)
	}
	// One signing key and the device cookies' key, both for the owner only.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 || entries[0].Name() != deviceKeyFile || !isKeyFile(entries[1].Name()) {
		t.Fatalf("keys dir holds %v", entries)
	}
	for _, e := range entries {
		if fi, _ := e.Info(); fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, entries[1].Name()))
	if !strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----") {
		t.Fatalf("key file is not PKCS#8 PEM: %.40s", data)
	}
}

func TestJWKSEndpoint(t *testing.T) {
	f := newFixture(t)
	res := f.do("GET", "/.well-known/jwks.json", nil)
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		t.Fatalf("jwks: %d %v", res.status, res.header)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	res.decode(t, &raw)
	if len(raw.Keys) != 1 {
		t.Fatalf("keys = %v", raw.Keys)
	}
	k := raw.Keys[0]
	if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["use"] != "sig" || k["alg"] != "EdDSA" || k["kid"] != f.svc.keys.signer().kid {
		t.Fatalf("key = %v", k)
	}
	if _, private := k["d"]; private {
		t.Fatal("the JWKS publishes the private key")
	}
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.handler)
	defer srv.Close()
	// A service in another process verifies through the published JWKS.
	remote, err := auth.NewVerifier(auth.NewRemoteJWKS(srv.URL+"/.well-known/jwks.json", auth.RemoteOptions{MinRefetch: time.Nanosecond}),
		auth.VerifierConfig{Issuer: f.cfg.Issuer, Audience: f.cfg.Audience, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}

	f.signUp("a@example.com", "A")
	before := f.logIn("a@example.com")
	oldKid := f.svc.keys.signer().kid
	if _, err := remote.Verify(t.Context(), before.access); err != nil {
		t.Fatalf("remote verifier before rotation: %v", err)
	}

	newKid, err := RotateKeys(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if newKid == oldKid {
		t.Fatal("rotation kept the key")
	}

	// The running service noticed without a restart.
	after := f.logIn("a@example.com")
	if h, _ := jwtParts(t, after.access); h["kid"] != newKid {
		t.Fatalf("new token kid = %v, want %v", h["kid"], newKid)
	}
	var set auth.JWKS
	f.do("GET", "/.well-known/jwks.json", nil).decode(t, &set)
	if len(set.Keys) != 2 || set.Keys[0].Kid != newKid || set.Keys[1].Kid != oldKid {
		t.Fatalf("jwks after rotation = %+v", set.Keys)
	}
	// Nobody is logged out: old tokens still work, here and elsewhere.
	for name, tok := range map[string]string{"old": before.access, "new": after.access} {
		if res := f.do("GET", "/api/identity/me", nil, bearer(tok)); res.status != http.StatusOK {
			t.Fatalf("%s token in-process: %d %s", name, res.status, res.body)
		}
		if _, err := remote.Verify(t.Context(), tok); err != nil {
			t.Fatalf("%s token through the JWKS: %v", name, err)
		}
	}
	if res := f.do("POST", "/api/identity/tokens/refresh", nil, withCookie(before.refresh)); res.status != http.StatusOK {
		t.Fatalf("refresh across rotation: %d", res.status)
	}

	// Once every token the old key signed has expired, it is unpublished.
	f.clock.Advance(f.cfg.Defaults().AccessTTL + 2*time.Minute)
	f.do("GET", "/.well-known/jwks.json", nil).decode(t, &set)
	if len(set.Keys) != 1 || set.Keys[0].Kid != newKid {
		t.Fatalf("jwks after the old tokens expired = %+v", set.Keys)
	}
}

func TestRotateKeysPrunesLongRetiredKeys(t *testing.T) {
	dir := t.TempDir()
	kd := keysDir(dir)
	if err := os.MkdirAll(kd, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	oldest, _ := writeNewKey(kd, now.Add(-30*24*time.Hour))
	retired, _ := writeNewKey(kd, now.Add(-20*24*time.Hour))
	recent, _ := writeNewKey(kd, now.Add(-time.Hour))
	if _, err := RotateKeys(dir); err != nil {
		t.Fatal(err)
	}
	_, keys, err := readKeys(kd, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range keys {
		kids = append(kids, k.kid)
	}
	// oldest was retired 20 days ago and goes; retired was retired an hour
	// ago and stays, as does recent.
	if len(kids) != 3 || kids[0] != retired.kid || kids[1] != recent.kid {
		t.Fatalf("kept %v (oldest %s)", kids, oldest.kid)
	}
}

func TestBrokenKeyFileKeepsLoadedKeys(t *testing.T) {
	f := newFixture(t)
	kid := f.svc.keys.signer().kid
	stray := filepath.Join(keysDir(f.dir), keyFileName(time.Now().Add(time.Hour)))
	if err := os.WriteFile(stray, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := f.svc.keys.signer().kid; got != kid {
		t.Fatalf("signer changed to %s after a broken file appeared", got)
	}
	os.Remove(stray)
	// And a data dir whose only key is broken does not start.
	dir := t.TempDir()
	os.MkdirAll(keysDir(dir), 0o700)
	os.WriteFile(filepath.Join(keysDir(dir), keyFileName(time.Now())), []byte("junk"), 0o600)
	if _, err := New(Config{DataDir: dir, Argon2: fastArgon2, Claims: testClaims}, f.store, nil); err == nil {
		t.Fatal("started with a broken key")
	}
}
