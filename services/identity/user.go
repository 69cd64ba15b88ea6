package identity

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// User is the account aggregate, rebuilt from its stream. Decisions are
// methods that return the events to append (or an error) and change nothing:
// the caller appends them with the revision the user was loaded at.
type User struct {
	ID           string
	Registered   bool
	Email        string
	PasswordHash string
	DisplayName  string
	Roles        []string // sorted; member from registration on
	Profile      events.ProfileFields
	Publish      events.ProfilePublish
	// Lang is the language messages to the person are written in.
	Lang string
	// EmailVerified: an EmailVerified named the current address.
	EmailVerified bool
	// Verifications are the verification links asked for, oldest first,
	// for every address the account has had: a code for an earlier address
	// is recognised as stale rather than as forged.
	Verifications []verification
	// Erased: the account was erased. Its personal fields read empty and
	// it loads as not found.
	Erased bool
}

// verification is one EmailVerificationRequested; RequestedAt is the
// event's time, which the resend limit counts from.
type verification struct {
	Email       string
	Code        string
	ExpiresAt   time.Time
	RequestedAt time.Time
}

// apply evolves the user by one event; unknown events are skipped so that a
// newer binary's events do not stop an older one from loading the user.
func (u *User) apply(e any) {
	switch e := e.(type) {
	case events.UserRegistered:
		u.ID = e.UserID
		u.Registered = true
		u.Email = e.Personal.Email
		u.PasswordHash = e.Personal.PasswordHash
		u.DisplayName = e.Personal.DisplayName
		u.Roles = []string{auth.RoleMember}
		u.Profile = events.ProfileFields{DisplayName: e.Personal.DisplayName}
		u.Lang = e.Lang
		if u.Lang == "" {
			u.Lang = defaultLang
		}
	case events.LanguageChosen:
		u.Lang = e.Lang
	case events.EmailChanged:
		u.Email = e.Personal.Email
		u.EmailVerified = false
	case events.EmailVerificationRequested:
		u.Verifications = append(u.Verifications, verification{
			Email: e.Personal.Email, Code: e.Personal.Code, ExpiresAt: e.ExpiresAt,
		})
	case events.EmailVerified:
		if sameAddress(e.Personal.Email, u.Email) {
			u.EmailVerified = true
		}
	case events.RoleGranted:
		if !slices.Contains(u.Roles, e.Role) {
			u.Roles = append(u.Roles, e.Role)
			slices.Sort(u.Roles)
		}
	case events.RoleRevoked:
		u.Roles = slices.DeleteFunc(u.Roles, func(r string) bool { return r == e.Role })
	case events.AccountErased:
		*u = User{ID: u.ID, Registered: u.Registered, Erased: true}
	case events.ProfileUpdated:
		u.Profile = e.Personal
		u.Publish = e.Publish
		u.DisplayName = e.Personal.DisplayName
	}
}

// replayUser folds events into a user.
func replayUser(evs ...any) User {
	var u User
	for _, e := range evs {
		u.apply(e)
	}
	return u
}

// replayRecorded is replayUser for events read from the log, whose
// metadata gives each verification request its time.
func replayRecorded(rs []recorded) User {
	var u User
	for _, r := range rs {
		u.apply(r.payload)
		if _, ok := r.payload.(events.EmailVerificationRequested); ok {
			at := r.Metadata.OccurredAt
			if at.IsZero() {
				at = r.Recorded
			}
			u.Verifications[len(u.Verifications)-1].RequestedAt = at
		}
	}
	return u
}

var (
	ErrAlreadyRegistered = errors.New("user already registered")
	ErrUserNotFound      = errors.New("user not found")
	ErrUnknownRole       = errors.New("unknown role")
	ErrMemberRole        = errors.New("every user is a member; the member role cannot be granted or revoked")
)

// register opens an account; input is already validated and the password
// hashed.
func (u User) register(id, email, passwordHash, displayName, lang string) ([]any, error) {
	if u.Registered {
		return nil, ErrAlreadyRegistered
	}
	return []any{events.UserRegistered{
		UserID:   id,
		Personal: events.UserPersonal{Email: email, PasswordHash: passwordHash, DisplayName: displayName},
		Lang:     lang,
	}}, nil
}

// grantRole gives a role. Granting a role the user holds decides nothing, so
// repeating a grant writes nothing.
func (u User) grantRole(role string) ([]any, error) {
	if err := checkGrantable(role); err != nil {
		return nil, err
	}
	if !u.Registered {
		return nil, ErrUserNotFound
	}
	if slices.Contains(u.Roles, role) {
		return nil, nil
	}
	return []any{events.RoleGranted{UserID: u.ID, Role: role}}, nil
}

// revokeRole takes a role away; revoking one the user lacks writes nothing.
func (u User) revokeRole(role string) ([]any, error) {
	if err := checkGrantable(role); err != nil {
		return nil, err
	}
	if !u.Registered {
		return nil, ErrUserNotFound
	}
	if !slices.Contains(u.Roles, role) {
		return nil, nil
	}
	return []any{events.RoleRevoked{UserID: u.ID, Role: role}}, nil
}

func checkGrantable(role string) error {
	if role == auth.RoleMember {
		return ErrMemberRole
	}
	if !auth.KnownRole(role) {
		return fmt.Errorf("%w %q: want reviewer, judge, gate or organizer", ErrUnknownRole, role)
	}
	return nil
}

// updateProfile replaces the profile; an unchanged profile writes nothing,
// which makes PUT idempotent without an idempotency key.
func (u User) updateProfile(p events.ProfileFields, publish events.ProfilePublish) ([]any, error) {
	if !u.Registered {
		return nil, ErrUserNotFound
	}
	if publish == u.Publish && profilesEqual(p, u.Profile) {
		return nil, nil
	}
	return []any{events.ProfileUpdated{UserID: u.ID, Personal: p, Publish: publish}}, nil
}

func profilesEqual(a, b events.ProfileFields) bool {
	return a.DisplayName == b.DisplayName && a.Bio == b.Bio && a.City == b.City &&
		slices.Equal(a.Skills, b.Skills) && slices.Equal(a.Links, b.Links)
}

// FieldError is one invalid input field, with a message for the person who
// typed it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	// format and args are Message before formatting: the pages translate
	// the message by its format, so every rule reads well in each language.
	format string
	args   []any
}

// ValidationError carries every invalid field of one input at once, so a
// form can mark them all.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

type fieldErrors []FieldError

func (f *fieldErrors) add(field, format string, args ...any) { f.addRule(field, format, args) }

// addRule is add for a format chosen at run time (checkLink's).
func (f *fieldErrors) addRule(field, format string, args []any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...), format: format, args: args})
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &ValidationError{Fields: f}
}

// Input limits, in characters (runes) unless said otherwise.
const (
	minPasswordRunes   = 10
	maxPasswordBytes   = 256 // argon2 takes any length; this bounds the work per request
	maxDisplayName     = 64
	maxEmailBytes      = 254 // RFC 5321's path limit less the brackets
	maxBio             = 2000
	maxCity            = 64
	maxSkills          = 30
	maxSkill           = 40
	maxLinks           = 10
	maxLinkLabel       = 64
	maxLinkURLBytes    = 2000
	minPasswordMessage = "must be at least 10 characters"
)

// normalizeEmail is the form uniqueness is decided on. Addresses are
// compared case-insensitively, as every mail provider people use treats
// them; provider-specific rules (dots, plus tags) are not applied.
func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func validEmail(s string) bool {
	if s == "" || len(s) > maxEmailBytes {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	// A bare host ("root@localhost") is valid syntax but no address anyone
	// can receive mail at from here.
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// cleanText trims s and reports whether what is left is valid UTF-8 without
// control characters (newlines allowed only where multiline is true) and
// without bidirectional overrides, embeddings or isolates: in a name shown
// beside others (a reviewer's queue, an attendee list) U+202E makes
// "Ada\u202Enimda" read as "Adaadmin" and can reorder what follows it.
// The plain direction marks (LRM, RLM, ALM) stay allowed: right-to-left
// names need them and they reorder nothing around them.
func cleanText(s string, multiline bool) (string, bool) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return s, false
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return s, false
		}
		if r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069' {
			return s, false
		}
	}
	return s, true
}

// signUpInput is what a person types to open an account.
type signUpInput struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
	// Lang is the language to write to the person in; the API fills it
	// from Accept-Language when the body leaves it out, the pages with the
	// page's language.
	Lang string `json:"lang,omitempty"`
}

// validate returns the cleaned input (email trimmed, display name trimmed)
// or every problem at once.
func (in signUpInput) validate() (signUpInput, error) {
	var errs fieldErrors
	in.Email = strings.TrimSpace(in.Email)
	switch {
	case in.Email == "":
		errs.add("email", "is required")
	case !validEmail(in.Email):
		errs.add("email", "is not a valid email address")
	}
	name, ok := cleanText(in.DisplayName, false)
	switch n := utf8.RuneCountInString(in.Password); {
	case in.Password == "":
		errs.add("password", "is required")
	case n < minPasswordRunes:
		errs.add("password", minPasswordMessage)
	case len(in.Password) > maxPasswordBytes:
		errs.add("password", "must be at most %d bytes", maxPasswordBytes)
	default:
		if why := weakPassword(in.Password, in.Email, name); why != "" {
			errs.add("password", why)
		}
	}
	in.DisplayName = name
	switch n := utf8.RuneCountInString(name); {
	case !ok:
		errs.add("display_name", "contains characters that are not allowed")
	case n == 0:
		errs.add("display_name", "is required")
	case n > maxDisplayName:
		errs.add("display_name", "must be at most %d characters", maxDisplayName)
	}
	if in.Lang == "" {
		in.Lang = defaultLang
	} else if !validLang(in.Lang) {
		errs.add("lang", langMessage)
	}
	return in, errs.err()
}
