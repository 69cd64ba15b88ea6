package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// These two functions are for benchmarks and operators' tools that must
// act as many members without going through sign-up and log-in (whose
// password hashing is deliberately slow). They write and sign exactly what
// the service itself would, with the data dir's own key, so a benchmark
// measures the real verification path.

// CreateMemberDirect appends a member's UserRegistered event without a
// password (the account cannot log in) or an email claim. It fails when
// the user stream exists already.
func CreateMemberDirect(ctx context.Context, store events.Store, userID, displayName string) error {
	if _, err := uuid.Parse(userID); err != nil {
		return fmt.Errorf("create member: user id %q is not a UUID", userID)
	}
	_, err := appendPayloads(ctx, store, events.UserStream(userID), events.NoStream, userID,
		writeInfo{actor: events.ActorSystem}, time.Now(),
		events.UserRegistered{UserID: userID, Personal: events.UserPersonal{DisplayName: displayName}})
	return err
}

// MintAccessToken signs an access token with the newest signing key in
// dataDir/keys, for the default issuer and audience ("yunqi"). Member is
// always among the roles. Verifiers refuse a token that lives longer than
// the server's access token lifetime, so ttl must not exceed it.
func MintAccessToken(dataDir, userID, displayName string, roles []string, ttl time.Duration) (string, error) {
	_, keys, err := readKeys(keysDir(dataDir), slog.New(slog.DiscardHandler))
	if err != nil {
		return "", err
	}
	if len(keys) == 0 {
		return "", errors.New("mint token: no signing key in the data dir (start the server once)")
	}
	key := keys[len(keys)-1]
	cfg := Config{}.Defaults()
	now := time.Now()
	if !slicesContains(roles, auth.RoleMember) {
		roles = append([]string{auth.RoleMember}, roles...)
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, auth.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: cfg.Issuer, Subject: userID, Audience: jwt.ClaimStrings{cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)), NotBefore: jwt.NewNumericDate(now),
			IssuedAt: jwt.NewNumericDate(now), ID: uuid.NewString(),
		},
		Roles: roles,
		Name:  displayName,
	})
	t.Header["kid"] = key.kid
	t.Header["typ"] = auth.TokenType
	return t.SignedString(key.private)
}

func slicesContains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
