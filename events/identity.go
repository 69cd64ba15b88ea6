package events

import "time"

// Identity streams. The email claim stream is named by a hash of the
// normalised address so that no stream name, log line or search document
// carries an email; see services/identity for how the hash is made.
const (
	CategoryUser        = "user"        // user-<user id>: account, roles, profile
	CategoryEmailClaim  = "emailclaim"  // emailclaim-<hash>: which user owns an address
	CategoryAuthSession = "authsession" // authsession-<session id>: one refresh session
)

// UserStream names the stream of one account.
func UserStream(userID string) string { return StreamName(CategoryUser, userID) }

// EmailClaimStream names the claim stream of one hashed, normalised address.
func EmailClaimStream(emailHash string) string { return StreamName(CategoryEmailClaim, emailHash) }

// AuthSessionStream names the stream of one refresh session. The category is
// not "session": conference sessions (talks) own that one.
func AuthSessionStream(sessionID string) string {
	return StreamName(CategoryAuthSession, sessionID)
}

// CategoryAccessToken holds one stream per revoked access token,
// accesstoken-<jti>, with its AccessTokenRevoked: a stream of its own makes
// revoking idempotent and never contended.
const CategoryAccessToken = "accesstoken"

// AccessTokenStream names the revocation stream of one access token.
func AccessTokenStream(jti string) string { return StreamName(CategoryAccessToken, jti) }

// Personal data in identity events sits in a `personal` sub-object, and every
// event that carries it has Metadata.Subject set to the user id. Both are
// there so that per-person encryption can wrap exactly that object with the
// subject's key later: erasing the key then shreds the person's data from the
// log while ids, roles, flags and times stay readable for the projections.

// UserPersonal is the personal part of a registration.
type UserPersonal struct {
	Email        string `json:"email"` // as entered (trimmed); uniqueness is by the claim stream
	PasswordHash string `json:"password_hash"`
	DisplayName  string `json:"display_name"`
}

// UserRegistered opens a user stream. Every user is a member from here on;
// member is never granted by a separate event.
type UserRegistered struct {
	UserID   string       `json:"user_id"`
	Personal UserPersonal `json:"personal"`
	// Lang is the language the person signed up in (zh-CN or en), which
	// messages to them use until they choose another; empty in accounts
	// from before it was recorded, which then get zh-CN.
	Lang string `json:"lang,omitempty"`
}

// LanguageChosen sets the language messages to the person are written in.
type LanguageChosen struct {
	UserID string `json:"user_id"`
	Lang   string `json:"lang"` // zh-CN or en
}

// EmailPersonal is an address in an event of its own.
type EmailPersonal struct {
	Email string `json:"email"`
}

// EmailChanged replaces the account's address. The new one is unverified
// until an EmailVerified names it, so no message is mailed to it before.
type EmailChanged struct {
	UserID   string        `json:"user_id"`
	Personal EmailPersonal `json:"personal"`
}

// VerificationPersonal is what the verification mail needs.
type VerificationPersonal struct {
	Email string `json:"email"`
	// Code goes into the link the mail carries. It is in the log because
	// the notifier, which may run in another process, writes the mail; it
	// is personal, so it is sealed with the person's key like the address,
	// and it proves only that the mail arrived: it opens no session.
	Code string `json:"code"`
}

// EmailVerificationRequested asks the notifier to mail a verification
// link to the address, at sign-up and after an address change.
type EmailVerificationRequested struct {
	UserID    string               `json:"user_id"`
	Personal  VerificationPersonal `json:"personal"`
	ExpiresAt time.Time            `json:"expires_at"`
}

// EmailVerified: the person followed the link; their address (the one in
// Personal, which is the account's address at that moment) may be mailed.
type EmailVerified struct {
	UserID   string        `json:"user_id"`
	Personal EmailPersonal `json:"personal"`
}

// EmailClaimed records which user owns an address. The first claim is
// appended with NoStream, so of two concurrent sign-ups one wins. A later
// claim in the same stream takes over an address whose registration never
// completed.
type EmailClaimed struct {
	UserID string `json:"user_id"`
}

// RoleGranted and RoleRevoked change a user's roles. Who did it is only in
// Metadata.Actor, which owner views never show.
type RoleGranted struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

type RoleRevoked struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

// ProfileFields is what a person says about themself on their developer
// profile; it is personal even where they choose to publish it, so erasure
// removes it too.
type ProfileFields struct {
	DisplayName string        `json:"display_name"`
	Bio         string        `json:"bio,omitempty"`
	City        string        `json:"city,omitempty"`
	Skills      []string      `json:"skills,omitempty"`
	Links       []ProfileLink `json:"links,omitempty"`
}

// ProfileLink is a link on a profile; only http and https URLs are accepted.
type ProfileLink struct {
	Label string `json:"label,omitempty"`
	URL   string `json:"url"`
}

// ProfilePublish says, field by field, what public views may show.
type ProfilePublish struct {
	DisplayName bool `json:"display_name"`
	Bio         bool `json:"bio"`
	City        bool `json:"city"`
	Skills      bool `json:"skills"`
	Links       bool `json:"links"`
}

// ProfileUpdated replaces the whole profile: the event is the new state, so a
// reader never has to merge partial updates.
type ProfileUpdated struct {
	UserID   string         `json:"user_id"`
	Personal ProfileFields  `json:"personal"`
	Publish  ProfilePublish `json:"publish"`
}

// SessionStarted opens a refresh session at log-in. Only a hash of the
// refresh token's secret is recorded; the secret itself never reaches the log.
type SessionStarted struct {
	SessionID string    `json:"session_id"`
	UserID    string    `json:"user_id"`
	TokenHash string    `json:"token_hash"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SessionRefreshed rotates the refresh token: TokenHash replaces the previous
// one, which from now on counts as reuse if presented.
type SessionRefreshed struct {
	SessionID string    `json:"session_id"`
	TokenHash string    `json:"token_hash"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Reasons a session ends.
const (
	SessionRevokedLogout = "logout"
	SessionRevokedReuse  = "reuse" // a rotated refresh token was presented again
)

type SessionRevoked struct {
	SessionID string `json:"session_id"`
	Reason    string `json:"reason"`
}

// SessionRevoked may carry the access token that was in use when the
// person logged out, so every service refuses it before it expires.
// AccessTokenRevoked is that deny-list entry: the token's id and when it
// would have expired anyway (after which the entry is dropped).
type AccessTokenRevoked struct {
	JTI       string    `json:"jti"`
	UserID    string    `json:"user_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Who asked for an erasure.
const (
	ErasedBySelf  = "self"
	ErasedByStaff = "staff"
)

// AccountErased closes an account for ever. The person's data key has
// been destroyed, so every personal field sealed under it reads as erased
// in every copy of the log; projections drop or redact what they held for
// the person, sessions end, and the address may sign up again. It carries
// nothing personal: the user id is an opaque uuid.
type AccountErased struct {
	UserID string `json:"user_id"`
	By     string `json:"by"` // ErasedBySelf or ErasedByStaff
}

func registerIdentity(r *Registry) {
	r.Register("identity.UserRegistered", UserRegistered{}, 1)
	r.Register("identity.EmailClaimed", EmailClaimed{}, 1)
	r.Register("identity.RoleGranted", RoleGranted{}, 1)
	r.Register("identity.RoleRevoked", RoleRevoked{}, 1)
	r.Register("identity.ProfileUpdated", ProfileUpdated{}, 1)
	r.Register("identity.SessionStarted", SessionStarted{}, 1)
	r.Register("identity.SessionRefreshed", SessionRefreshed{}, 1)
	r.Register("identity.SessionRevoked", SessionRevoked{}, 1)
	r.Register("identity.LanguageChosen", LanguageChosen{}, 1)
	r.Register("identity.EmailChanged", EmailChanged{}, 1)
	r.Register("identity.EmailVerificationRequested", EmailVerificationRequested{}, 1)
	r.Register("identity.EmailVerified", EmailVerified{}, 1)
	r.Register("identity.AccessTokenRevoked", AccessTokenRevoked{}, 1)
	r.Register("identity.AccountErased", AccountErased{}, 1)
}
