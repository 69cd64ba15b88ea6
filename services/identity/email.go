package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/yunqi-town/yunqi/events"
)

// Languages messages to a person can be written in: the pages' two.
const (
	langChinese = "zh-CN"
	langEnglish = "en"
	// defaultLang is the community's own language, which accounts from
	// before the choice was recorded get.
	defaultLang = langChinese
	langMessage = "must be zh-CN or en"
)

func validLang(l string) bool { return l == langChinese || l == langEnglish }

// langFromAcceptLanguage is the sign-up language of an API client that did
// not say: English when the client ranks English above Chinese, else
// Chinese. Unlike the pages' negotiation, a client asking for neither gets
// Chinese: a script's default header says nothing about who will read the
// mail, and the community writes Chinese.
func langFromAcceptLanguage(r *http.Request) string {
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil {
		return defaultLang
	}
	for _, t := range tags {
		switch base, _ := t.Base(); base.String() {
		case "en":
			return langEnglish
		case "zh":
			return langChinese
		}
	}
	return defaultLang
}

const (
	// verificationTTL is how long a verification link works: long enough
	// for a mail read after a weekend.
	verificationTTL = 48 * time.Hour
	// resendInterval and resendPerDay bound the verification mails one
	// account can cause. An unverified address may be someone else's, so
	// without a daily cap an account could mail a stranger every minute.
	resendInterval = time.Minute
	resendPerDay   = 10
)

var (
	// ErrVerificationUnknown: no account, or a code the account never
	// had (mistyped or forged).
	ErrVerificationUnknown = errors.New("unknown verification link")
	// ErrVerificationExpired: a code the account had, but it expired, a
	// newer link replaced it, or the address changed since.
	ErrVerificationExpired = errors.New("verification link expired")
	// ErrAlreadyVerified: there is nothing to send a link for.
	ErrAlreadyVerified = errors.New("email address already verified")
	// ErrWrongPassword: the re-authentication of an address change failed.
	ErrWrongPassword = errors.New("wrong password")
)

// retryLater refuses a command for a while.
type retryLater struct{ after time.Duration }

func (e *retryLater) Error() string { return fmt.Sprintf("try again in %s", e.after) }

// newVerificationCode is 32 random bytes, base64url without padding so it
// goes into a link as it is.
func newVerificationCode() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: crypto/rand panics rather than return short
	return base64.RawURLEncoding.EncodeToString(b)
}

func sameAddress(a, b string) bool { return normalizeEmail(a) == normalizeEmail(b) }

func sameCode(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// verificationFor asks for a link to the user's current address.
func (u User) verificationFor(code string, now time.Time) events.EmailVerificationRequested {
	return events.EmailVerificationRequested{
		UserID:    u.ID,
		Personal:  events.VerificationPersonal{Email: u.Email, Code: code},
		ExpiresAt: now.Add(verificationTTL).UTC(),
	}
}

// chooseLanguage sets the language of messages; the one already set
// writes nothing.
func (u User) chooseLanguage(lang string) ([]any, error) {
	if !u.Registered {
		return nil, ErrUserNotFound
	}
	if !validLang(lang) {
		return nil, &ValidationError{Fields: []FieldError{{Field: "lang", Message: langMessage, format: langMessage}}}
	}
	if lang == u.Lang {
		return nil, nil
	}
	return []any{events.LanguageChosen{UserID: u.ID, Lang: lang}}, nil
}

// requestVerification asks for a fresh link to the current address, at
// most once per resendInterval and resendPerDay times a day.
func (u User) requestVerification(code string, now time.Time) ([]any, error) {
	if !u.Registered {
		return nil, ErrUserNotFound
	}
	if u.EmailVerified {
		return nil, ErrAlreadyVerified
	}
	var today []time.Time
	for _, v := range u.Verifications {
		if now.Sub(v.RequestedAt) < 24*time.Hour {
			today = append(today, v.RequestedAt)
		}
	}
	if n := len(today); n > 0 {
		if wait := today[n-1].Add(resendInterval).Sub(now); wait > 0 {
			return nil, &retryLater{after: wait}
		}
		if n >= resendPerDay {
			return nil, &retryLater{after: today[n-resendPerDay].Add(24 * time.Hour).Sub(now)}
		}
	}
	return []any{u.verificationFor(code, now)}, nil
}

// verifyEmail follows a verification link. Only the newest link for the
// current address verifies it, and only before it expires; once the
// address is verified, any of its links answers so and writes nothing, so
// following a link twice is harmless.
func (u User) verifyEmail(code string, now time.Time) ([]any, error) {
	if !u.Registered || code == "" {
		return nil, ErrVerificationUnknown
	}
	match, newest := -1, -1
	for i, v := range u.Verifications {
		if sameCode(v.Code, code) {
			match = i
		}
		if sameAddress(v.Email, u.Email) {
			newest = i
		}
	}
	switch {
	case match < 0:
		return nil, ErrVerificationUnknown
	case !sameAddress(u.Verifications[match].Email, u.Email):
		return nil, ErrVerificationExpired
	case u.EmailVerified:
		return nil, nil
	case match != newest || !now.Before(u.Verifications[match].ExpiresAt):
		return nil, ErrVerificationExpired
	}
	return []any{events.EmailVerified{UserID: u.ID, Personal: events.EmailPersonal{Email: u.Email}}}, nil
}

// changeEmail moves the account to a new address, which then needs its own
// verification. The address must already be claimed for the user.
func (u User) changeEmail(email, code string, now time.Time) ([]any, error) {
	if !u.Registered {
		return nil, ErrUserNotFound
	}
	if sameAddress(email, u.Email) {
		return nil, nil
	}
	u.Email = email
	return []any{
		events.EmailChanged{UserID: u.ID, Personal: events.EmailPersonal{Email: email}},
		u.verificationFor(code, now),
	}, nil
}

// emailChangeInput is what the person sends to change their address.
type emailChangeInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (in emailChangeInput) validate() (emailChangeInput, error) {
	var errs fieldErrors
	in.Email = strings.TrimSpace(in.Email)
	switch {
	case in.Email == "":
		errs.add("email", "is required")
	case !validEmail(in.Email):
		errs.add("email", "is not a valid email address")
	}
	switch {
	case in.Password == "":
		errs.add("password", "is required")
	case len(in.Password) > maxPasswordBytes:
		errs.add("password", wrongPasswordMessage)
	}
	return in, errs.err()
}

const wrongPasswordMessage = "is not your current password"

// userCommand is the load-decide-append loop of a command on one user.
func (s *Service) userCommand(ctx context.Context, userID string, wi writeInfo,
	decide func(User, time.Time) ([]any, error)) (User, error) {
	// These commands are idempotent by state (the same request again
	// decides nothing), so they need no idempotency key; one would give a
	// different command's events the same ids.
	wi.actor, wi.idKey = userID, ""
	for range maxAttempts {
		u, rev, err := loadUser(ctx, s.store, userID)
		if err != nil {
			return User{}, err
		}
		now := s.now()
		evs, err := decide(u, now)
		if err != nil || len(evs) == 0 {
			return u, err
		}
		_, err = appendPayloads(ctx, s.store, events.UserStream(userID), rev, userID, wi, now, evs...)
		if isConflict(err) {
			continue
		}
		if err != nil {
			return User{}, err
		}
		for _, e := range evs {
			u.apply(e)
		}
		return u, nil
	}
	return User{}, fmt.Errorf("command on user %s: still contended after %d attempts", userID, maxAttempts)
}

func (s *Service) chooseLanguage(ctx context.Context, userID, lang string, wi writeInfo) (User, error) {
	return s.userCommand(ctx, userID, wi, func(u User, _ time.Time) ([]any, error) {
		return u.chooseLanguage(lang)
	})
}

func (s *Service) resendVerification(ctx context.Context, userID string, wi writeInfo) (User, error) {
	return s.userCommand(ctx, userID, wi, func(u User, now time.Time) ([]any, error) {
		return u.requestVerification(newVerificationCode(), now)
	})
}

// verifyEmail follows the link of a verification mail. It needs no log-in:
// the code, which only the mail carried, is the proof.
func (s *Service) verifyEmail(ctx context.Context, userID, code string, wi writeInfo) (User, error) {
	u, err := s.userCommand(ctx, userID, wi, func(u User, now time.Time) ([]any, error) {
		return u.verifyEmail(code, now)
	})
	if errors.Is(err, ErrUserNotFound) {
		return User{}, ErrVerificationUnknown
	}
	return u, err
}

// changeEmail re-authenticates with the current password, claims the new
// address and moves the account to it. The claim comes first, as at
// sign-up, so that of two people changing to one address exactly one gets
// it. The old address's claim is released by the change itself: a claim
// whose user has moved to another address is stale, and the next sign-up
// or change for it takes it over (see takeOverStaleClaim).
func (s *Service) changeEmail(ctx context.Context, userID string, in emailChangeInput, c client, wi writeInfo) (User, error) {
	in, err := in.validate()
	if err != nil {
		return User{}, err
	}
	u, _, err := loadUser(ctx, s.store, userID)
	if err != nil {
		return User{}, err
	}
	if err := s.reauthenticate(ctx, u, in.Password, c); err != nil {
		return User{}, err
	}
	if sameAddress(in.Email, u.Email) {
		return u, nil
	}
	wi.actor, wi.idKey = userID, ""
	if err := s.claimAddress(ctx, s.claims.hash(normalizeEmail(in.Email)), userID, wi); err != nil {
		return User{}, err
	}
	u, err = s.userCommand(ctx, userID, wi, func(u User, now time.Time) ([]any, error) {
		return u.changeEmail(in.Email, newVerificationCode(), now)
	})
	if err == nil {
		s.log.Info("email address changed", "user", userID)
	}
	return u, err
}

// reauthenticate checks the account's current password before a change
// only its owner may make (a new address, an erasure). Failures meet the
// same brakes as failed log-ins, so a stolen session cannot guess the
// password here instead; a wrong one is a field error on password.
func (s *Service) reauthenticate(ctx context.Context, u User, password string, c client) error {
	keys := keysFor(s.claims.hash(normalizeEmail(u.Email)), c.addr)
	now := s.now()
	if err := s.brakes.check(keys, now, func() bool { return s.devices.belongs(c.device, u.ID) }); err != nil {
		return err
	}
	ok := false
	if u.PasswordHash != "" && len(password) <= maxPasswordBytes { // accounts made without a password never re-authenticate
		var err error
		if ok, err = s.hasher.verify(ctx, u.PasswordHash, password); err != nil {
			return fmt.Errorf("user %s: %w", u.ID, err)
		}
	}
	if !ok {
		s.brakes.failed(keys, now)
		return &ValidationError{Fields: []FieldError{{Field: "password", Message: wrongPasswordMessage, format: wrongPasswordMessage}}}
	}
	return nil
}

// claimAddress makes userID the owner of an address's claim stream: a new
// claim, the user's own claim already there, or a stale one taken over.
func (s *Service) claimAddress(ctx context.Context, hash, userID string, wi writeInfo) error {
	now := s.now()
	_, err := appendPayloads(ctx, s.store, events.EmailClaimStream(hash), events.NoStream, userID, wi, now, events.EmailClaimed{UserID: userID})
	if !isConflict(err) {
		return err
	}
	claim, err := lookupClaim(ctx, s.store, hash)
	if err != nil {
		return err
	}
	if claim.userID == userID {
		// Ours: an earlier address coming back, or a change that died
		// between claiming and changing.
		return nil
	}
	return s.takeOverStaleClaim(ctx, hash, userID, wi, now)
}
