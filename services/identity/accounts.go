package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

var (
	// ErrEmailTaken: an account with this address exists.
	ErrEmailTaken = errors.New("email address already registered")
	// ErrInvalidCredentials: unknown address or wrong password; callers
	// must not be told which.
	ErrInvalidCredentials = errors.New("wrong email address or password")
)

// claimGrace is how old a claim whose registration never followed must be
// before another sign-up may take the address over. The two appends of a
// sign-up are milliseconds apart; a claim left alone for this long belongs
// to a sign-up that died between them.
const claimGrace = time.Minute

// signUp opens an account and returns its id. The address is claimed first,
// with NoStream, so that of two concurrent sign-ups for one address exactly
// one wins and the loser writes no personal data at all.
func (s *Service) signUp(ctx context.Context, in signUpInput, wi writeInfo) (string, error) {
	in, err := in.validate()
	if err != nil {
		return "", err
	}
	hash := s.claims.hash(normalizeEmail(in.Email))
	userID := events.NewID().String()
	var claimInfo, userInfo writeInfo = wi, wi
	if wi.idKey != "" {
		// A retried request derives the same user id and event ids, so the
		// store recognises the replay. The key is scoped by the address so
		// that one key reused for another address cannot collide.
		scoped := "identity.signup\x00" + hash + "\x00" + wi.idKey
		userID = events.IDFromKey(scoped, 0).String()
		claimInfo.idKey, userInfo.idKey = scoped+"\x00claim", scoped+"\x00user"
	}
	claimInfo.actor, userInfo.actor = userID, userID

	passwordHash, err := s.hasher.hash(ctx, in.Password)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	now := s.now()
	u, err := User{}.register(userID, in.Email, passwordHash, in.DisplayName, in.Lang)
	if err != nil {
		return "", err
	}
	// The request for the verification mail goes in the registration's own
	// append, so no sign-up leaves an address that was never asked to be
	// verified.
	u = append(u, User{ID: userID, Email: in.Email}.verificationFor(newVerificationCode(), now))
	claimStream := events.EmailClaimStream(hash)
	_, err = appendPayloads(ctx, s.store, claimStream, events.NoStream, userID, claimInfo, now, events.EmailClaimed{UserID: userID})
	if isConflict(err) {
		err = s.takeOverStaleClaim(ctx, hash, userID, claimInfo, now)
	}
	if err != nil {
		return "", err
	}
	if _, err := appendPayloads(ctx, s.store, events.UserStream(userID), events.NoStream, userID, userInfo, now, u...); err != nil {
		return "", err
	}
	s.log.Info("user registered", "user", userID)
	return userID, nil
}

// takeOverStaleClaim lets a sign-up or an address change have an address
// whose claim is stale: its registration never followed, or its user has
// since moved to another address, which is how a change releases the old
// address without an event of its own. Any other existing claim means the
// address is taken. A claim younger than claimGrace is never stale: its
// registration or change may be on its way.
func (s *Service) takeOverStaleClaim(ctx context.Context, hash, userID string, wi writeInfo, now time.Time) error {
	claim, err := lookupClaim(ctx, s.store, hash)
	if err != nil {
		return err
	}
	if claim.userID == "" || claim.userID == userID {
		return ErrEmailTaken
	}
	owner, _, err := loadUser(ctx, s.store, claim.userID)
	switch {
	case errors.Is(err, ErrUserNotFound):
	case err != nil:
		return err
	case s.claims.hash(normalizeEmail(owner.Email)) == hash:
		return ErrEmailTaken
	}
	// An erased owner is gone for good: its address is free at once.
	if !owner.Erased && now.Sub(claim.recorded) < claimGrace {
		return ErrEmailTaken
	}
	wi.idKey = "" // a takeover is a new decision, not a replay
	_, err = appendPayloads(ctx, s.store, events.EmailClaimStream(hash), claim.revision, userID, wi, now, events.EmailClaimed{UserID: userID})
	if isConflict(err) {
		return ErrEmailTaken
	}
	if err == nil {
		s.log.Info("took over a stale address claim", "user", userID, "previous", claim.userID)
	}
	return err
}

// authenticate checks an address and password. Unknown addresses cost the
// same argon2 work as known ones, so response times do not tell who has an
// account.
func (s *Service) authenticate(ctx context.Context, email, password string) (User, error) {
	u, _, err := findUserByEmail(ctx, s.store, s.claims, email)
	if errors.Is(err, ErrUserNotFound) {
		if _, err := s.hasher.verify(ctx, s.hasher.dummy, password); err != nil {
			return User{}, err
		}
		return User{}, ErrInvalidCredentials
	}
	if err != nil {
		return User{}, err
	}
	ok, err := s.hasher.verify(ctx, u.PasswordHash, password)
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", u.ID, err)
	}
	if !ok {
		return User{}, ErrInvalidCredentials
	}
	return u, nil
}
