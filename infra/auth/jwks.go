package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// JWK is one public key of a JSON Web Key Set (RFC 7517), restricted to what
// Ed25519 needs (RFC 8037).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

// JWKS is the document served at /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// Algorithm is the only JWS algorithm Yunqi signs with or accepts.
const Algorithm = "EdDSA"

// Ed25519JWK describes a public signing key.
func Ed25519JWK(kid string, pub ed25519.PublicKey) JWK {
	return JWK{
		Kty: "OKP",
		Crv: "Ed25519",
		X:   base64.RawURLEncoding.EncodeToString(pub),
		Kid: kid,
		Use: "sig",
		Alg: Algorithm,
	}
}

// Ed25519 returns the key's public key, refusing anything that is not an
// Ed25519 signing key: a key set may list other keys, and a verifier must
// never be talked into using one of them.
func (k JWK) Ed25519() (ed25519.PublicKey, error) {
	if k.Kty != "OKP" || k.Crv != "Ed25519" {
		return nil, fmt.Errorf("key %q is %s/%s, not OKP/Ed25519", k.Kid, k.Kty, k.Crv)
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, fmt.Errorf("key %q is for %q, not signatures", k.Kid, k.Use)
	}
	if k.Alg != "" && k.Alg != Algorithm {
		return nil, fmt.Errorf("key %q is for %s, not %s", k.Kid, k.Alg, Algorithm)
	}
	x, err := base64.RawURLEncoding.DecodeString(k.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("key %q: x is not a %d-byte base64url value", k.Kid, ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(x), nil
}

// Thumbprint is the RFC 7638 thumbprint of an Ed25519 public key, used as its
// kid: derived from the key itself, it needs no registry and cannot collide
// by accident across processes or rotations.
func Thumbprint(pub ed25519.PublicKey) string {
	// RFC 7638 fixes the members (required ones only), their order and the
	// absence of whitespace; none of the values need JSON escaping.
	canonical := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// KeySource yields the public keys tokens are checked against. fresh asks the
// source to bypass its cache because a token named a kid the cached set
// lacks (the issuer may have rotated its key since).
type KeySource interface {
	Keys(ctx context.Context, fresh bool) (JWKS, error)
}

// KeySetFunc is an in-process key source: the identity service running in
// the same binary hands over its current key set without HTTP.
type KeySetFunc func(ctx context.Context) (JWKS, error)

// Keys implements KeySource; an in-process set is always current.
func (f KeySetFunc) Keys(ctx context.Context, _ bool) (JWKS, error) { return f(ctx) }

// RemoteJWKS fetches a key set over HTTP, for services in another process
// than the identity service.
type RemoteJWKS struct {
	url    string
	client *http.Client
	maxAge time.Duration
	minGap time.Duration

	mu        sync.Mutex // held across a fetch, so concurrent misses share one request
	set       JWKS
	fetchedAt time.Time
	freshAt   time.Time
}

// RemoteOptions tune a RemoteJWKS; zero values take the defaults.
type RemoteOptions struct {
	Client *http.Client // default: one with a 10 s timeout
	// MaxAge is how long a fetched set is used before asking again (default
	// 5 minutes). A rotation is noticed sooner through unknown kids.
	MaxAge time.Duration
	// MinRefetch spaces out fetches forced by unknown kids (default 10 s), so
	// a stream of tokens with made-up kids cannot turn every request into a
	// request to the issuer.
	MinRefetch time.Duration
}

// NewRemoteJWKS returns a source reading the key set at url.
func NewRemoteJWKS(url string, opts RemoteOptions) *RemoteJWKS {
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 5 * time.Minute
	}
	if opts.MinRefetch <= 0 {
		opts.MinRefetch = 10 * time.Second
	}
	return &RemoteJWKS{url: url, client: opts.Client, maxAge: opts.MaxAge, minGap: opts.MinRefetch}
}

// maxJWKSBytes bounds what a key set response may be; a real one is a few
// hundred bytes per key.
const maxJWKSBytes = 1 << 20

// Keys implements KeySource. When a fetch fails it keeps serving the last
// good set, so a short outage of the issuer does not log everybody out.
func (r *RemoteJWKS) Keys(ctx context.Context, fresh bool) (JWKS, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	have := !r.fetchedAt.IsZero()
	stale := !have || now.Sub(r.fetchedAt) >= r.maxAge
	forced := fresh && now.Sub(r.freshAt) >= r.minGap
	if !stale && !forced {
		return r.set, nil
	}
	if forced {
		r.freshAt = now
	}
	set, err := r.fetch(ctx)
	if err != nil {
		if have {
			return r.set, nil
		}
		return JWKS{}, err
	}
	r.set, r.fetchedAt = set, now
	return set, nil
}

func (r *RemoteJWKS) fetch(ctx context.Context) (JWKS, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return JWKS{}, fmt.Errorf("jwks %s: %w", r.url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return JWKS{}, fmt.Errorf("jwks %s: %w", r.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return JWKS{}, fmt.Errorf("jwks %s: status %s", r.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return JWKS{}, fmt.Errorf("jwks %s: %w", r.url, err)
	}
	if len(body) > maxJWKSBytes {
		return JWKS{}, fmt.Errorf("jwks %s: larger than %d bytes", r.url, maxJWKSBytes)
	}
	var set JWKS
	if err := json.Unmarshal(body, &set); err != nil {
		return JWKS{}, fmt.Errorf("jwks %s: %w", r.url, err)
	}
	if set.Keys == nil {
		return JWKS{}, errors.New("jwks " + r.url + ": no keys member")
	}
	return set, nil
}
