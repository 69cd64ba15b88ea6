// Package identity owns accounts: sign-up, log-in and log-out, the access
// tokens every service verifies, the signing keys and their JWKS, refresh
// sessions, roles, the public developer profile and the owner's timeline of
// their account. Every state change is an event; nothing else is written.
package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// Config is the service's configuration; the binary fills it from flags and
// YUNQI_* variables. Zero values take the defaults listed per field.
type Config struct {
	// DataDir holds the signing keys, in DataDir/keys (required).
	DataDir string
	// Issuer and Audience go into every access token and are what verifiers
	// accept (default "yunqi" both). A deployment that shares a key set with
	// other systems should make them its public URL.
	Issuer   string
	Audience string
	// AccessTTL is how long an access token lives (default 15 minutes, at
	// most MaxAccessTTL). Roles granted or revoked take effect when the
	// token is next refreshed, so this is also how long a revoked role can
	// still be used.
	AccessTTL time.Duration
	// RefreshTTL is how long a refresh session lasts without being used
	// (default 30 days); every refresh extends it.
	RefreshTTL time.Duration
	// SecureCookies marks the refresh cookie Secure even on requests that
	// arrived over plain HTTP, for TLS terminated by a proxy. Requests that
	// arrive over TLS always get Secure cookies.
	SecureCookies bool
	// Rate limits; see RateLimit. These count every attempt.
	SignUpPerAddress RateLimit // default 10 per hour
	LogInPerAddress  RateLimit // default 30 per minute
	// Brakes on failed password attempts (throttle.go): Requests failures
	// pass at once and drain at Requests per Window; each failure beyond
	// makes the next attempt wait, doubling from a second up to Window.
	LogInFailuresPerPair    RateLimit // one account from one address; default 5 per 15 minutes
	LogInFailuresPerAddress RateLimit // one address, any account; default 50 per 15 minutes
	// LogInPerAccount is the backstop: one account from everywhere, which
	// a device that has logged in to the account passes (default 100 per
	// hour).
	LogInPerAccount RateLimit
	// Argon2 sets the password hashing cost (default DefaultArgon2).
	Argon2 Argon2Params
	// KeyCheckInterval is how often the keys directory is checked for a
	// rotation (default 1 s).
	KeyCheckInterval time.Duration
	// Clock replaces time.Now in tests.
	Clock func() time.Time
	// Keys destroys a person's data key when their account is erased;
	// without it, erasure is refused (503).
	Keys KeyEraser
	// Claims names the streams that record who owns an address (required).
	Claims ClaimKey
	// Exporters add other services' parts to a person's copy of their data.
	Exporters []Exporter
	// DeviceKey signs the device cookie; replicas that share it recognise
	// each other's browsers. Empty: a key file in DataDir/keys.
	DeviceKey []byte
}

// MaxAccessTTL bounds AccessTTL: a revoked access token stays on every
// deny list until it expires, so tokens must stay short, and retired
// signing keys are pruned after a week.
const MaxAccessTTL = 24 * time.Hour

// Defaults fills the zero fields of c with their defaults.
func (c Config) Defaults() Config {
	if c.Issuer == "" {
		c.Issuer = "yunqi"
	}
	if c.Audience == "" {
		c.Audience = "yunqi"
	}
	if c.AccessTTL == 0 {
		c.AccessTTL = 15 * time.Minute
	}
	if c.RefreshTTL == 0 {
		c.RefreshTTL = 30 * 24 * time.Hour
	}
	c.SignUpPerAddress = c.SignUpPerAddress.orDefault(RateLimit{Requests: 10, Window: time.Hour})
	c.LogInPerAddress = c.LogInPerAddress.orDefault(RateLimit{Requests: 30, Window: time.Minute})
	c.LogInFailuresPerPair = c.LogInFailuresPerPair.orDefault(RateLimit{Requests: 5, Window: 15 * time.Minute})
	c.LogInFailuresPerAddress = c.LogInFailuresPerAddress.orDefault(RateLimit{Requests: 50, Window: 15 * time.Minute})
	c.LogInPerAccount = c.LogInPerAccount.orDefault(RateLimit{Requests: 100, Window: time.Hour})
	if c.Argon2 == (Argon2Params{}) {
		c.Argon2 = DefaultArgon2
	}
	if c.KeyCheckInterval == 0 {
		c.KeyCheckInterval = time.Second
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

// Validate reports settings the service cannot run with, after Defaults.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("identity: data directory is required"))
	}
	if c.AccessTTL < time.Minute || c.AccessTTL > MaxAccessTTL {
		errs = append(errs, fmt.Errorf("identity: access token lifetime %s must be between 1m and %s", c.AccessTTL, MaxAccessTTL))
	}
	if c.RefreshTTL < c.AccessTTL {
		errs = append(errs, fmt.Errorf("identity: refresh session lifetime %s is shorter than the access token lifetime %s", c.RefreshTTL, c.AccessTTL))
	}
	if c.KeyCheckInterval < 0 || c.KeyCheckInterval > time.Minute {
		errs = append(errs, fmt.Errorf("identity: key check interval %s must be between 0 and 1m", c.KeyCheckInterval))
	}
	for name, l := range map[string]RateLimit{
		"sign-up per address":                    c.SignUpPerAddress,
		"log-in per address":                     c.LogInPerAddress,
		"failed log-ins per account and address": c.LogInFailuresPerPair,
		"failed log-ins per address":             c.LogInFailuresPerAddress,
		"failed log-ins per account":             c.LogInPerAccount,
	} {
		if err := l.validate(); err != nil {
			errs = append(errs, fmt.Errorf("identity: %s rate limit: %w", name, err))
		}
	}
	if err := c.Argon2.validate(); err != nil {
		errs = append(errs, fmt.Errorf("identity: %w", err))
	}
	return errors.Join(errs...)
}

// Service is the identity service.
type Service struct {
	cfg      Config
	store    events.Store
	log      *slog.Logger
	keys     *keyring
	claims   ClaimKey
	hasher   *hasher
	verifier *auth.Verifier
	// ownTokens verifies without the deny list; see revokePresented.
	ownTokens *auth.Verifier
	limits    limiters
	brakes    brakes
	devices   devices
	timeline  *timeline
	works     *works
	// revocations is this process's deny list of access tokens, which
	// its verifier checks.
	revocations *Revocations
	grace       refreshGrace // page refreshes in flight or just done; see pagesession.go
}

// New opens the service: it reads the signing keys, generating the first
// one on first start. Run does the background work.
func New(cfg Config, store events.Store, logger *slog.Logger) (*Service, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("identity: no event store")
	}
	// Checked here, not in Validate: the key comes from the key store,
	// which is opened after the flags are checked.
	if len(cfg.Claims) < 32 {
		return nil, errors.New("identity: the address claim key is required (32 bytes or more)")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("service", "identity")
	keys, err := openKeyring(cfg.DataDir, cfg.AccessTTL, cfg.KeyCheckInterval, cfg.Clock, logger)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	h, err := newHasher(cfg.Argon2)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	s := &Service{cfg: cfg, store: store, log: logger, keys: keys, hasher: h, claims: cfg.Claims}
	s.timeline = newTimeline(store, logger)
	s.works = newWorks(store, logger)
	s.revocations = NewRevocations(store, cfg.Clock, logger)
	s.verifier, err = auth.NewVerifier(s.KeySet(), cfg.VerifierConfig(s.revocations))
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	// Log-out reads the token it revokes without the deny list, so that
	// it needs no catching up and a token revoked already is no error.
	if s.ownTokens, err = auth.NewVerifier(s.KeySet(), cfg.VerifierConfig(nil)); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	s.limits = newLimiters(cfg, logger)
	s.brakes = newBrakes(cfg)
	if len(cfg.DeviceKey) >= 32 {
		s.devices = devices{key: cfg.DeviceKey}
	} else if s.devices, err = openDevices(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return s, nil
}

// Run follows the event log for the owners' timelines, the profiles'
// works and the revoked access tokens until ctx ends. The store must stay open until Run has returned.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, f := range []*events.Follower{&s.timeline.follower, &s.works.follower, &s.revocations.follower} {
		wg.Go(func() { f.Run(ctx) })
	}
	wg.Wait()
	return nil
}

// Ready reports, as /readyz wants it, whether the timelines and the
// profiles' works have caught up with the log.
func (s *Service) Ready(ctx context.Context) error {
	if !s.timeline.follower.Ready() {
		return errors.New("owner timelines are catching up with the event log")
	}
	if !s.works.follower.Ready() {
		return errors.New("public profiles' entries and posts are catching up with the event log")
	}
	return s.revocations.Ready(ctx)
}

func (s *Service) now() time.Time { return s.cfg.Clock() }
