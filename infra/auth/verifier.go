package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenType is the JWS "typ" of access tokens (RFC 9068). Checking it keeps a
// different kind of JWT signed by the same key from passing as an access token.
const TokenType = "at+jwt"

// Claims are the claims of a Yunqi access token. The identity service issues
// them and every verifier reads them, so both sides share this one type.
type Claims struct {
	jwt.RegisteredClaims
	Roles []string `json:"roles"`
	Name  string   `json:"name,omitempty"` // display name at issue time
}

var (
	// ErrInvalidToken: the token is malformed, badly signed, or not meant for
	// us (issuer, audience, algorithm, type, unknown key).
	ErrInvalidToken = errors.New("invalid access token")
	// ErrExpiredToken: the token was valid but has expired (or is not valid
	// yet); a client should refresh rather than log in again.
	ErrExpiredToken = errors.New("access token expired")
	// ErrKeysUnavailable: the key set could not be had, which is our fault,
	// not the caller's.
	ErrKeysUnavailable = errors.New("signing keys unavailable")
	// ErrRevokedToken: the token was valid but has been revoked (its
	// holder logged out, or the account is gone). Errors carrying it also
	// wrap ErrInvalidToken: a client must log in again.
	ErrRevokedToken = errors.New("access token revoked")
	// ErrRevocationsUnavailable: whether the token was revoked cannot be
	// told yet (the deny list is still reading the log), which, like
	// missing keys, is our fault and passes.
	ErrRevocationsUnavailable = errors.New("revoked access tokens unknown")
)

// Revocations is the deny list of access tokens revoked before they
// expire, by token id (jti). The identity service keeps one fed from the
// event log in every process that verifies tokens.
type Revocations interface {
	// Revoked reports whether the token with this id was revoked; an
	// error means it cannot be told.
	Revoked(ctx context.Context, jti string) (bool, error)
}

// lifetimeSlack is how much longer than MaxLifetime a token may say it
// lives: iat and exp are whole seconds, each rounded on its own.
const lifetimeSlack = 5 * time.Second

// VerifierConfig says which tokens a verifier accepts.
type VerifierConfig struct {
	Issuer   string // required: the "iss" the identity service writes
	Audience string // required: one of the token's "aud" values
	// Leeway tolerates clock skew between issuer and verifier (default 30 s).
	Leeway time.Duration
	// Cookie, when set, names a cookie that may carry the access token for
	// pages. A bad cookie token leaves the request anonymous instead of
	// failing it, so a page can still render and send the visitor to refresh.
	Cookie string
	// MaxLifetime, when set, refuses a token whose exp is further than
	// this after its iat (plus a few seconds for rounding), however well
	// it is signed: identity never issues such a token, so one is either
	// forged with a stolen key or made by a tool, and a long-lived token
	// would outlast every revocation. Set it to the access token lifetime
	// identity is configured with; tokens issued before that setting was
	// lowered are refused and must be refreshed.
	MaxLifetime time.Duration
	// Revocations, when set, refuses tokens on the deny list, and tokens
	// without a jti, which could never be on it.
	Revocations Revocations
	// Now replaces the clock in tests.
	Now func() time.Time
}

// Verifier checks access tokens against a key source.
type Verifier struct {
	keys   KeySource
	cfg    VerifierConfig
	parser *jwt.Parser
}

// NewVerifier returns a verifier for tokens issued by cfg.Issuer for
// cfg.Audience, checked against keys.
func NewVerifier(keys KeySource, cfg VerifierConfig) (*Verifier, error) {
	if keys == nil {
		return nil, errors.New("auth: verifier needs a key source")
	}
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("auth: verifier needs an issuer and an audience")
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{Algorithm}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(cfg.Now),
		jwt.WithStrictDecoding(),
	)
	return &Verifier{keys: keys, cfg: cfg, parser: parser}, nil
}

// Verify checks a raw token and returns its principal. Errors wrap
// ErrInvalidToken (and ErrRevokedToken for a revoked one), ErrExpiredToken,
// ErrKeysUnavailable or ErrRevocationsUnavailable.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	var claims Claims
	_, err := v.parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, TokenType) {
			return nil, fmt.Errorf("%w: typ is %q, want %q", ErrInvalidToken, typ, TokenType)
		}
		if _, ok := t.Header["crit"]; ok {
			// RFC 7515: a verifier must refuse critical extensions it does
			// not understand, and we understand none.
			return nil, fmt.Errorf("%w: unsupported critical header", ErrInvalidToken)
		}
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, fmt.Errorf("%w: no kid", ErrInvalidToken)
		}
		return v.key(ctx, kid)
	})
	switch {
	case err == nil:
	case errors.Is(err, ErrKeysUnavailable):
		return Principal{}, err
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet):
		return Principal{}, fmt.Errorf("%w: %v", ErrExpiredToken, err)
	default:
		return Principal{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if claims.Subject == "" {
		return Principal{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	if v.cfg.MaxLifetime > 0 {
		if claims.IssuedAt == nil {
			return Principal{}, fmt.Errorf("%w: no iat, so its lifetime is unknown", ErrInvalidToken)
		}
		if life := claims.ExpiresAt.Sub(claims.IssuedAt.Time); life > v.cfg.MaxLifetime+lifetimeSlack {
			return Principal{}, fmt.Errorf("%w: it lives %s, longer than the %s access tokens are issued for", ErrInvalidToken, life, v.cfg.MaxLifetime)
		}
	}
	if v.cfg.Revocations != nil {
		if claims.ID == "" {
			return Principal{}, fmt.Errorf("%w: no jti, so it could not be revoked", ErrInvalidToken)
		}
		revoked, err := v.cfg.Revocations.Revoked(ctx, claims.ID)
		if err != nil {
			return Principal{}, fmt.Errorf("%w: %v", ErrRevocationsUnavailable, err)
		}
		if revoked {
			return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, ErrRevokedToken)
		}
	}
	return Principal{UserID: claims.Subject, Roles: claims.Roles, DisplayName: claims.Name,
		TokenID: claims.ID, ExpiresAt: claims.ExpiresAt.Time}, nil
}

// key finds kid in the key set, asking the source once more for a fresh set
// when it is missing: that is how a verifier learns of a rotated key.
func (v *Verifier) key(ctx context.Context, kid string) (any, error) {
	for _, fresh := range []bool{false, true} {
		set, err := v.keys.Keys(ctx, fresh)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKeysUnavailable, err)
		}
		for _, k := range set.Keys {
			if k.Kid != kid {
				continue
			}
			pub, err := k.Ed25519()
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
			}
			return pub, nil
		}
	}
	return nil, fmt.Errorf("%w: unknown kid %q", ErrInvalidToken, kid)
}

// Middleware puts the caller's Principal in the request context. A request
// without a token passes through anonymous (public endpoints stay public;
// RequireUser and RequireRole guard the rest). A bearer token that does not
// verify is answered with 401 at once: the client believes it is signed in
// and must learn that it is not.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, raw, _ := strings.Cut(h, " ")
			raw = strings.TrimSpace(raw)
			if !strings.EqualFold(scheme, "Bearer") || raw == "" {
				unauthorized(w, r, "invalid_request", "The Authorization header must be \"Bearer <access token>\".")
				return
			}
			p, err := v.Verify(r.Context(), raw)
			switch {
			case errors.Is(err, ErrKeysUnavailable), errors.Is(err, ErrRevocationsUnavailable):
				writeProblem(w, r, http.StatusServiceUnavailable, TypeAuthUnavailable, "Sign-in check unavailable",
					"The access token cannot be checked right now. Try again shortly.")
				return
			case errors.Is(err, ErrExpiredToken):
				unauthorized(w, r, "invalid_token", "The access token has expired. Refresh it or log in again.")
				return
			case errors.Is(err, ErrRevokedToken):
				unauthorized(w, r, "invalid_token", "The access token was revoked: its session was logged out. Log in again.")
				return
			case err != nil:
				unauthorized(w, r, "invalid_token", "The access token is not valid.")
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
			return
		}
		if v.cfg.Cookie != "" {
			if c, err := r.Cookie(v.cfg.Cookie); err == nil && c.Value != "" {
				if p, err := v.Verify(r.Context(), c.Value); err == nil {
					r = r.WithContext(WithPrincipal(r.Context(), p))
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// RequireUser answers 401 unless the request carries a verified principal.
func RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := FromContext(r.Context()); !ok {
			unauthorized(w, r, "", "Log in to use this.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// RequireRole answers 401 without a principal and 403 unless the principal
// holds at least one of roles.
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := FromContext(r.Context())
			if !ok {
				unauthorized(w, r, "", "Log in to use this.")
				return
			}
			for _, role := range roles {
				if p.HasRole(role) {
					next.ServeHTTP(w, r)
					return
				}
			}
			writeProblem(w, r, http.StatusForbidden, TypeForbidden, "Forbidden",
				"Your account does not have a role that may do this. A role granted recently takes effect at your next token refresh.")
		})
	}
}

// unauthorized answers 401 with the RFC 6750 challenge, so a client can tell
// a missing token (no error code) from a bad one.
func unauthorized(w http.ResponseWriter, r *http.Request, code, detail string) {
	challenge := `Bearer realm="yunqi"`
	if code != "" {
		challenge += `, error="` + code + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeProblem(w, r, http.StatusUnauthorized, TypeUnauthenticated, "Not logged in", detail)
}
