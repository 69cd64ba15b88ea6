// Package auth is how every service learns who is calling: it verifies the
// access tokens the identity service issues against a published key set
// (JWKS), fetched over HTTP or handed over in-process through the same code
// path, and puts the caller's Principal in the request context. It knows
// nothing of accounts or passwords; services depend on it so that none of
// them has to import the identity service.
package auth

import (
	"context"
	"slices"
	"time"
)

// Role names carried in access tokens. They are the vocabulary every service
// checks against, which is why they live here rather than with the service
// that grants them.
const (
	RoleMember    = "member" // everyone with an account
	RoleReviewer  = "reviewer"
	RoleJudge     = "judge"
	RoleGate      = "gate" // check-in staff
	RoleOrganizer = "organizer"
)

// KnownRole reports whether r is one of the roles above.
func KnownRole(r string) bool {
	switch r {
	case RoleMember, RoleReviewer, RoleJudge, RoleGate, RoleOrganizer:
		return true
	}
	return false
}

// Principal is the verified caller. Roles are as they were when the token was
// issued: a role granted since takes effect at the next token refresh.
type Principal struct {
	UserID      string
	Roles       []string
	DisplayName string // empty when the token carries none
	// TokenID (jti) and ExpiresAt identify the token the principal came
	// from, so that it can be revoked; zero when none did.
	TokenID   string
	ExpiresAt time.Time
}

// HasRole reports whether the principal holds role. No role implies another:
// an endpoint that organizers may use lists "organizer" itself.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

type principalKey struct{}

// WithPrincipal returns ctx carrying p. The verifier middleware calls it;
// tests of other services call it to act as someone without minting tokens.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the verified caller, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
