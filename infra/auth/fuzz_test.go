package auth

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify: every request carries a bearer token a stranger may have
// made. Whatever the bytes, Verify answers a principal only for a token
// this key signed, and otherwise an error that wraps ErrInvalidToken or
// ErrExpiredToken; it never panics.
func FuzzVerify(f *testing.F) {
	// A fixed key, so that the checked-in seeds stay valid tokens.
	priv := ed25519.NewKeyFromSeed([]byte("yunqi fuzz key, not a secret...."))
	k := testKey{priv: priv, pub: priv.Public().(ed25519.PublicKey)}
	k.kid = Thumbprint(k.pub)
	long := Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: testIssuer, Subject: "0193a0b2-0000-7000-8000-000000000001",
			Audience: jwt.ClaimStrings{testAudience}, IssuedAt: jwt.NewNumericDate(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
			ExpiresAt: jwt.NewNumericDate(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)), ID: "jti-fuzz"},
		Roles: []string{RoleMember, RoleGate}, Name: "杜勇",
	}
	valid := sign(f, k, long, nil)
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(strings.Replace(valid, ".", "..", 1))
	f.Add(sign(f, k, long, map[string]any{"alg": "none"}))
	f.Add(sign(f, k, long, map[string]any{"crit": []string{"exp"}}))
	f.Add("e30.e30.")
	v, err := NewVerifier(KeySetFunc(func(context.Context) (JWKS, error) { return setOf(k), nil }),
		VerifierConfig{Issuer: testIssuer, Audience: testAudience})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := v.Verify(context.Background(), raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrExpiredToken) {
				t.Fatalf("token %q refused with an unclassified error: %v", raw, err)
			}
			return
		}
		if p.UserID != long.Subject || !p.HasRole(RoleGate) {
			t.Fatalf("token %q verified as %+v, which this key never signed", raw, p)
		}
	})
}
