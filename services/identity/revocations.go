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

// Access tokens are checked without asking identity, so ending a session
// does not end the access token already handed out. Log-out (and erasure)
// therefore also revokes that token: revokeAccess appends
// identity.AccessTokenRevoked, and every process that verifies tokens
// keeps a Revocations deny list fed from the log.
//
// The deny list follows the log rather than asking identity over HTTP:
// every service process already opens the log, verification stays a map
// lookup with no round trip on the hot path (the conference rush verifies
// thousands of tokens a second), it works while identity is down or
// restarting, and a subscription sees a revocation within the store's
// notice delay (at once in one process, 50 ms between processes on the
// SQLite log, pushed by EventStoreDB). An entry is dropped once the token
// has expired anyway, so the list holds at most the revocations of one
// access token lifetime.

// accessTokenRevokedType is the event's wire name; no other type's name
// starts with it, so it serves as the subscription's type prefix.
const accessTokenRevokedType = "identity.AccessTokenRevoked"

// revocationSlack keeps an entry a while past the token's exp, since
// verifiers accept a token for their clock-skew leeway (30 s) after it.
const revocationSlack = 2 * time.Minute

// revocationsWait bounds how long a verification waits for the deny list
// to catch up with the log after start-up before it answers "cannot be
// told" (503): a token that might have been revoked is not let through.
const revocationsWait = 5 * time.Second

// Revocations is the deny list of revoked access tokens, by jti, as
// auth.VerifierConfig.Revocations wants it.
type Revocations struct {
	now      func() time.Time
	follower events.Follower

	mu       sync.RWMutex
	denied   map[string]time.Time // jti → until when to deny it
	prunedAt time.Time
}

var _ auth.Revocations = (*Revocations)(nil)

// NewRevocations follows store's log for revoked access tokens; Run does
// the following. clock is time.Now when nil.
func NewRevocations(store events.Store, clock func() time.Time, log *slog.Logger) *Revocations {
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Revocations{now: clock, denied: map[string]time.Time{}}
	r.follower = events.Follower{
		Name:   "access token revocations",
		Store:  store,
		Filter: events.Filter{TypePrefixes: []string{accessTokenRevokedType}},
		Apply: func(e events.Event) {
			p, err := events.Types.Decode(e)
			if err != nil {
				log.Error("revocations: cannot decode event", "event", e.ID, "err", err)
				return
			}
			if rv, ok := p.(events.AccessTokenRevoked); ok {
				r.add(rv.JTI, rv.ExpiresAt)
			}
		},
		Logger: log,
	}
	return r
}

// Run follows the log until ctx ends.
func (r *Revocations) Run(ctx context.Context) error { return r.follower.Run(ctx) }

// Ready reports, for /readyz, whether the deny list has caught up.
func (r *Revocations) Ready(context.Context) error {
	if !r.follower.Ready() {
		return errors.New("the list of revoked access tokens is catching up with the event log")
	}
	return nil
}

// Revoked reports whether the token jti was revoked. Until the list has
// caught up with the log it waits, up to revocationsWait, and then says it
// cannot tell.
func (r *Revocations) Revoked(ctx context.Context, jti string) (bool, error) {
	if !r.follower.Ready() {
		ctx, cancel := context.WithTimeout(ctx, revocationsWait)
		defer cancel()
		for !r.follower.Ready() {
			select {
			case <-ctx.Done():
				return false, fmt.Errorf("revoked access tokens: still reading the log: %w", ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	r.mu.RLock()
	until, ok := r.denied[jti]
	r.mu.RUnlock()
	return ok && r.now().Before(until), nil
}

// add denies jti until its token would have expired anyway. Expired
// entries go at most once a minute, so adding stays cheap.
func (r *Revocations) add(jti string, expires time.Time) {
	now := r.now()
	until := expires.Add(revocationSlack)
	if !now.Before(until) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.prunedAt) > time.Minute {
		for k, u := range r.denied {
			if !now.Before(u) {
				delete(r.denied, k)
			}
		}
		r.prunedAt = now
	}
	if u, ok := r.denied[jti]; !ok || until.After(u) {
		r.denied[jti] = until
	}
}

// size is how many tokens the list denies now, expired ones not pruned
// yet included.
func (r *Revocations) size() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.denied)
}

// revokeAccess puts the access token jti of userID, which expires at
// expires, on the deny list of every service: it appends
// identity.AccessTokenRevoked to the token's own stream,
// accesstoken-<jti>, and denies it in this process at once, so the answer
// to the request that revoked it is never followed by the token working
// here. Revoking a token twice writes nothing twice (the event id derives
// from the jti, and the stream must not exist), so retries and the two
// paths that revoke (log-out, erasure) may overlap. A token that has
// expired already needs no entry and gets none.
func (s *Service) revokeAccess(ctx context.Context, jti, userID string, expires time.Time, wi writeInfo) error {
	if jti == "" {
		return errors.New("revoke access token: no jti")
	}
	now := s.now()
	if !now.Before(expires.Add(revocationSlack)) {
		return nil
	}
	wi.idKey = "identity.revoke-access\x00" + jti
	if wi.actor == "" {
		wi.actor = userID
	}
	_, err := appendPayloads(ctx, s.store, events.AccessTokenStream(jti), events.NoStream, userID, wi, now,
		events.AccessTokenRevoked{JTI: jti, UserID: userID, ExpiresAt: expires.UTC()})
	if isConflict(err) {
		err = nil // revoked already, by another path
	}
	if err != nil {
		return fmt.Errorf("revoke access token: %w", err)
	}
	s.revocations.add(jti, expires)
	return nil
}

// revokePresented revokes the access token a log-out came with, if it is
// one of ours. A token that does not verify (garbage, expired, another
// issuer's) is none of the deny list's business; one revoked already is
// revoked again, which writes nothing.
func (s *Service) revokePresented(ctx context.Context, raw string, wi writeInfo) error {
	if raw == "" {
		return nil
	}
	p, err := s.ownTokens.Verify(ctx, raw)
	if err != nil {
		if errors.Is(err, auth.ErrKeysUnavailable) {
			return err
		}
		return nil
	}
	return s.revokeAccess(ctx, p.TokenID, p.UserID, p.ExpiresAt, wi)
}
