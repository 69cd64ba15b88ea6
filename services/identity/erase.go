package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
)

// KeyEraser destroys a person's data key in the key store under the sealed
// event log (keystore.Keyring): every personal field sealed under it becomes
// unreadable in every copy of the log.
type KeyEraser interface {
	Erase(ctx context.Context, subject string) error
}

// errNoKeyStore: erasure needs the key store, which this process was
// started without.
var errNoKeyStore = errors.New("identity: no key store, so no account can be erased")

// eraseAccount erases a person (crypto-shredding): the data key goes
// first, then AccountErased tells every projection to drop what it holds.
// A crash between the two leaves an account whose data already reads as
// erased and which nobody can log in to (its address reads empty); erasing
// it again finishes the job. Erasing an erased account does nothing.
func (s *Service) eraseAccount(ctx context.Context, userID, by string, wi writeInfo) error {
	if s.cfg.Keys == nil {
		return errNoKeyStore
	}
	for range maxAttempts {
		u, rev, err := loadUser(ctx, s.store, userID)
		if errors.Is(err, ErrUserNotFound) && u.Erased {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.cfg.Keys.Erase(ctx, userID); err != nil {
			return fmt.Errorf("destroy the data key of %s: %w", userID, err)
		}
		wi.idKey = ""
		_, err = appendPayloads(ctx, s.store, events.UserStream(userID), rev, userID, wi, s.now(),
			events.AccountErased{UserID: userID, By: by})
		if isConflict(err) {
			continue
		}
		if err != nil {
			return err
		}
		s.log.Info("account erased", "user", userID, "by", by)
		return nil
	}
	return fmt.Errorf("erase %s: still contended after %d attempts", userID, maxAttempts)
}

// eraseOwnAccount is the person's own erasure, after re-authentication
// with their password.
func (s *Service) eraseOwnAccount(ctx context.Context, userID, password string, c client, wi writeInfo) error {
	u, _, err := loadUser(ctx, s.store, userID)
	if errors.Is(err, ErrUserNotFound) && u.Erased {
		return nil // erased already: nothing is left to check the password against, or to erase
	}
	if err != nil {
		return err
	}
	if err := s.reauthenticate(ctx, u, password, c); err != nil {
		return err
	}
	wi.actor = userID
	return s.eraseAccount(ctx, userID, events.ErasedBySelf, wi)
}

// EraseByEmail erases the account with this address on a staff request
// (`yunqi users erase`). actor is recorded for staff audits; the event
// carries no personal data. It reports ErrUserNotFound for an address no
// account has (an erased account's address is no longer known).
func EraseByEmail(ctx context.Context, store events.Store, claims ClaimKey, keys KeyEraser, email, actor string) (string, error) {
	if actor == "" {
		actor = events.ActorSystem
	}
	u, _, err := findUserByEmail(ctx, store, claims, email)
	if err != nil {
		return "", err
	}
	s := &Service{cfg: Config{Keys: keys, Clock: time.Now}, store: store, log: slog.New(slog.DiscardHandler), claims: claims}
	return u.ID, s.eraseAccount(ctx, u.ID, events.ErasedByStaff, writeInfo{actor: actor})
}

type eraseInput struct {
	Password string `json:"password"`
}

// handleEraseMe is DELETE /api/identity/me: the key is destroyed and the
// account closed before it answers 200; projections follow within a
// second. The refresh cookie goes with it.
func (s *Service) handleEraseMe(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	var in eraseInput
	if !s.decodeJSON(w, r, &in) {
		return
	}
	wi, ok := writeInfoFrom(w, r)
	if !ok {
		return
	}
	if err := s.eraseOwnAccount(r.Context(), p.UserID, in.Password, clientOf(r), wi); err != nil {
		if errors.Is(err, errNoKeyStore) {
			problem(w, r, http.StatusServiceUnavailable, "erasure-unavailable", "Erasure unavailable",
				"This server runs without a key store, so it cannot erase accounts.")
			return
		}
		s.fail(w, r, err)
		return
	}
	s.endAccess(r.Context(), p, wi)
	s.clearPageCookies(w, r)
	w.Header().Set("Cache-Control", "no-store")
	httpserver.WriteJSON(w, http.StatusOK, map[string]any{"erased": true})
}

// endAccess puts the token the erasure came with on every service's deny
// list; refreshing the account's sessions already fails, since the account
// no longer loads. A failure here is logged, not answered: the account is
// erased, and the token expires within --access-ttl anyway.
func (s *Service) endAccess(ctx context.Context, p auth.Principal, wi writeInfo) {
	if p.TokenID == "" {
		return
	}
	if err := s.revokeAccess(ctx, p.TokenID, p.UserID, p.ExpiresAt, wi); err != nil {
		s.log.ErrorContext(ctx, "erasure: cannot revoke the access token", "user", p.UserID, "err", err)
	}
}
