package identity

import (
	"context"

	"github.com/yunqi-town/yunqi/infra/auth"
)

// The verifier itself lives in infra/auth, because services may not import
// each other; this is the identity side of the seam.

// KeySet is the in-process key source for auth.NewVerifier: the services in
// this binary verify against the same keys the JWKS endpoint publishes,
// without an HTTP round trip.
func (s *Service) KeySet() auth.KeySource {
	return auth.KeySetFunc(func(context.Context) (auth.JWKS, error) { return s.keys.jwks(), nil })
}

// Verifier returns a verifier for this service's tokens over KeySet, with
// the configured issuer, audience and lifetime and this process's deny
// list: what the other services in this binary should wrap their routes
// in.
func (s *Service) Verifier() *auth.Verifier { return s.verifier }

// VerifierConfig is what a verifier of this service's tokens accepts:
// its issuer and audience, tokens no longer-lived than AccessTTL, and
// none that revocations deny.
func (c Config) VerifierConfig(revocations auth.Revocations) auth.VerifierConfig {
	c = c.Defaults()
	return auth.VerifierConfig{Issuer: c.Issuer, Audience: c.Audience, MaxLifetime: c.AccessTTL, Revocations: revocations, Now: c.Clock}
}
