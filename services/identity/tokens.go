package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// issueAccessToken signs an access token for u with the current key. It
// carries the roles u holds now: a role granted later takes effect at the
// next refresh, which comes within AccessTTL.
func (s *Service) issueAccessToken(u User) (string, error) {
	key := s.keys.signer()
	now := s.now()
	claims := auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.cfg.Issuer,
			Subject:   u.ID,
			Audience:  jwt.ClaimStrings{s.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		Roles: u.Roles,
		Name:  u.DisplayName,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = key.kid
	t.Header["typ"] = auth.TokenType
	signed, err := t.SignedString(key.private)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return signed, nil
}

// A refresh token is "<session id>.<secret>": opaque to the client, and only
// a hash of the secret is recorded, so reading the log does not let anyone
// use a session. The session id lets the server find the stream without a
// lookup table.
const refreshSecretBytes = 32

func newRefreshToken(sessionID string) (token, hash string) {
	secret := make([]byte, refreshSecretBytes)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go 1.24+)
	encoded := base64.RawURLEncoding.EncodeToString(secret)
	return sessionID + "." + encoded, hashSecret(encoded)
}

func hashSecret(encoded string) string {
	sum := sha256.Sum256([]byte(encoded))
	return hex.EncodeToString(sum[:])
}

// parseRefreshToken splits a token into its session id and the hash of its
// secret; ok is false for anything that cannot be one of ours.
func parseRefreshToken(token string) (sessionID, hash string, ok bool) {
	id, secret, found := strings.Cut(strings.TrimSpace(token), ".")
	if !found || len(token) > 200 {
		return "", "", false
	}
	if _, err := uuid.Parse(id); err != nil {
		return "", "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(secret)
	if err != nil || len(raw) != refreshSecretBytes {
		return "", "", false
	}
	return id, hashSecret(secret), true
}
