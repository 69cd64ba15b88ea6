package identity

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// Session is a refresh session, rebuilt from its stream. Sessions are in the
// log, so they survive a restart and every process sees the same ones.
type Session struct {
	ID        string
	UserID    string
	Started   bool
	Current   string   // hash of the refresh token that may be used next
	Rotated   []string // hashes of tokens already used: presenting one is reuse
	ExpiresAt time.Time
	Revoked   bool
	Reason    string
}

func (s *Session) apply(e any) {
	switch e := e.(type) {
	case events.SessionStarted:
		s.ID, s.UserID, s.Started = e.SessionID, e.UserID, true
		s.Current, s.ExpiresAt = e.TokenHash, e.ExpiresAt
	case events.SessionRefreshed:
		s.Rotated = append(s.Rotated, s.Current)
		s.Current, s.ExpiresAt = e.TokenHash, e.ExpiresAt
	case events.SessionRevoked:
		s.Revoked, s.Reason = true, e.Reason
	}
}

func replaySession(evs ...any) Session {
	var s Session
	for _, e := range evs {
		s.apply(e)
	}
	return s
}

var (
	// ErrSessionInvalid: the refresh token is unknown, expired or its
	// session has ended.
	ErrSessionInvalid = errors.New("refresh token is not valid")
	// ErrRefreshReuse: a refresh token that had already been exchanged was
	// presented again. One of the two holders is not the user, and we cannot
	// tell which, so the whole session ends.
	ErrRefreshReuse = errors.New("refresh token reused; session revoked")
)

func sameHash(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func (s Session) wasRotated(hash string) bool {
	return slices.ContainsFunc(s.Rotated, func(h string) bool { return sameHash(h, hash) })
}

// start opens the session at log-in.
func (s Session) start(id, userID, tokenHash string, expires time.Time) ([]any, error) {
	if s.Started {
		return nil, fmt.Errorf("session %s already started", id)
	}
	return []any{events.SessionStarted{SessionID: id, UserID: userID, TokenHash: tokenHash, ExpiresAt: expires}}, nil
}

// refresh exchanges the presented token (by hash) for the next one. On reuse
// it returns the revocation together with ErrRefreshReuse: the revocation
// must be recorded although the request is refused.
func (s Session) refresh(presented, next string, now time.Time, ttl time.Duration) ([]any, error) {
	switch {
	case !s.Started || s.Revoked:
		return nil, ErrSessionInvalid
	case sameHash(s.Current, presented):
		if !now.Before(s.ExpiresAt) {
			return nil, ErrSessionInvalid
		}
		return []any{events.SessionRefreshed{SessionID: s.ID, TokenHash: next, ExpiresAt: now.Add(ttl)}}, nil
	case s.wasRotated(presented):
		return []any{events.SessionRevoked{SessionID: s.ID, Reason: events.SessionRevokedReuse}}, ErrRefreshReuse
	}
	return nil, ErrSessionInvalid
}

// end is log-out. The current token or any earlier one of the session ends
// it (an old token proves the caller once held the session); ending an
// ended session writes nothing.
func (s Session) end(presented string) ([]any, error) {
	switch {
	case !s.Started:
		return nil, ErrSessionInvalid
	case !sameHash(s.Current, presented) && !s.wasRotated(presented):
		return nil, ErrSessionInvalid
	case s.Revoked:
		return nil, nil
	}
	return []any{events.SessionRevoked{SessionID: s.ID, Reason: events.SessionRevokedLogout}}, nil
}

// issued is what a log-in or refresh hands out.
type issued struct {
	userID         string
	accessToken    string
	expiresIn      time.Duration
	refreshToken   string
	refreshExpires time.Time
}

// client is who makes a password attempt, as the brakes see them.
type client struct {
	addr   string // clientAddress
	device string // the device cookie's value; "" when none
}

func clientOf(r *http.Request) client {
	return client{addr: clientAddress(r), device: deviceCookie(r)}
}

// logIn checks the credentials, starts a session and issues tokens. The
// brakes are asked first, so an attempt held back costs no hashing and
// says nothing about the password.
func (s *Service) logIn(ctx context.Context, email, password string, c client, wi writeInfo) (issued, error) {
	keys := keysFor(s.claims.hash(normalizeEmail(email)), c.addr)
	now := s.now()
	err := s.brakes.check(keys, now, func() bool {
		if c.device == "" {
			return false
		}
		u, _, err := findUserByEmail(ctx, s.store, s.claims, email)
		return err == nil && s.devices.belongs(c.device, u.ID)
	})
	if err != nil {
		return issued{}, err
	}
	u, err := s.authenticate(ctx, email, password)
	if errors.Is(err, ErrInvalidCredentials) {
		s.brakes.failed(keys, now)
	}
	if err != nil {
		return issued{}, err
	}
	s.brakes.succeeded(keys)
	return s.startSession(ctx, u, wi)
}

func (s *Service) startSession(ctx context.Context, u User, wi writeInfo) (issued, error) {
	id := events.NewID().String()
	token, hash := newRefreshToken(id)
	now := s.now()
	expires := now.Add(s.cfg.RefreshTTL).UTC()
	evs, err := Session{}.start(id, u.ID, hash, expires)
	if err != nil {
		return issued{}, err
	}
	wi.actor, wi.idKey = u.ID, ""
	if _, err := appendPayloads(ctx, s.store, events.AuthSessionStream(id), events.NoStream, u.ID, wi, now, evs...); err != nil {
		return issued{}, err
	}
	access, err := s.issueAccessToken(u)
	if err != nil {
		return issued{}, err
	}
	return issued{userID: u.ID, accessToken: access, expiresIn: s.cfg.AccessTTL, refreshToken: token, refreshExpires: expires}, nil
}

// refresh rotates a refresh token and issues a new access token with the
// user's current roles.
func (s *Service) refresh(ctx context.Context, token string, wi writeInfo) (issued, error) {
	id, presented, ok := parseRefreshToken(token)
	if !ok {
		return issued{}, ErrSessionInvalid
	}
	stream := events.AuthSessionStream(id)
	for range maxAttempts {
		rs, rev, err := readStream(ctx, s.store, stream)
		if err != nil {
			return issued{}, err
		}
		sess := replaySession(payloads(rs)...)
		next, nextHash := newRefreshToken(id)
		now := s.now()
		evs, decided := sess.refresh(presented, nextHash, now, s.cfg.RefreshTTL)
		if len(evs) > 0 {
			wi.actor, wi.idKey = sess.UserID, ""
			_, err := appendPayloads(ctx, s.store, stream, rev, sess.UserID, wi, now, evs...)
			if isConflict(err) {
				continue // someone else moved the session on; decide again
			}
			if err != nil {
				return issued{}, err
			}
		}
		if errors.Is(decided, ErrRefreshReuse) {
			s.log.Warn("refresh token reused; session revoked", "user", sess.UserID, "session", id)
		}
		if decided != nil {
			return issued{}, decided
		}
		u, _, err := loadUser(ctx, s.store, sess.UserID)
		if errors.Is(err, ErrUserNotFound) {
			return issued{}, ErrSessionInvalid
		}
		if err != nil {
			return issued{}, err
		}
		access, err := s.issueAccessToken(u)
		if err != nil {
			return issued{}, err
		}
		return issued{userID: u.ID, accessToken: access, expiresIn: s.cfg.AccessTTL,
			refreshToken: next, refreshExpires: now.Add(s.cfg.RefreshTTL).UTC()}, nil
	}
	return issued{}, fmt.Errorf("refresh session %s: still contended after %d attempts", id, maxAttempts)
}

// logOut ends the session a refresh token belongs to. The access token
// handed out with it is checked without asking identity, so the log-out
// handlers revoke it too (revokeAccess).
func (s *Service) logOut(ctx context.Context, token string, wi writeInfo) error {
	id, presented, ok := parseRefreshToken(token)
	if !ok {
		return ErrSessionInvalid
	}
	stream := events.AuthSessionStream(id)
	for range maxAttempts {
		rs, rev, err := readStream(ctx, s.store, stream)
		if err != nil {
			return err
		}
		sess := replaySession(payloads(rs)...)
		evs, err := sess.end(presented)
		if err != nil || len(evs) == 0 {
			return err
		}
		wi.actor, wi.idKey = sess.UserID, ""
		_, err = appendPayloads(ctx, s.store, stream, rev, sess.UserID, wi, s.now(), evs...)
		if isConflict(err) {
			continue
		}
		return err
	}
	return fmt.Errorf("end session %s: still contended after %d attempts", id, maxAttempts)
}

// RefreshCookieName is the cookie that carries the refresh token for
// browsers. Path=/ so that pages, not only the API, can refresh.
const RefreshCookieName = "yunqi_refresh"

// SetRefreshCookie hands a refresh token to a browser: HttpOnly so scripts
// never see it, SameSite=Lax so other sites cannot use it in forms, Secure
// when the request came over TLS or the deployment says TLS is terminated
// in front of us.
func (s *Service) SetRefreshCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     RefreshCookieName,
		Value:    token,
		Path:     "/",
		Expires:  expires,
		MaxAge:   max(1, int(expires.Sub(s.now()).Seconds())),
		HttpOnly: true,
		Secure:   r.TLS != nil || s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

// ClearRefreshCookie removes the refresh cookie (log-out, reuse).
func (s *Service) ClearRefreshCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     RefreshCookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   r.TLS != nil || s.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

// refreshTokenFromCookie returns the refresh cookie's value, if any.
func refreshTokenFromCookie(r *http.Request) string {
	c, err := r.Cookie(RefreshCookieName)
	if err != nil {
		return ""
	}
	return c.Value
}
