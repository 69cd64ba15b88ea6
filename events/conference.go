package events

import "time"

// Conference streams. Every admission decision of one edition — capacities,
// policies, registrations, offers, cancellations, check-ins — is in one
// stream, edition-<id>, because capacity is an invariant across all of
// them: deciding them against one revision is what makes overselling
// impossible without locks. The service batches concurrent commands into
// one append, so the single stream costs no throughput.
const CategoryEdition = "edition"

// EditionStream names the ledger of one edition.
func EditionStream(editionID string) string { return StreamName(CategoryEdition, editionID) }

// EditionScheduled opens an edition's ledger.
type EditionScheduled struct {
	EditionID string    `json:"edition_id"`
	NameZH    string    `json:"name_zh"`
	NameEN    string    `json:"name_en"`
	StartsOn  string    `json:"starts_on,omitempty"` // YYYY-MM-DD, local to the venue
	EndsOn    string    `json:"ends_on,omitempty"`
	Venue     string    `json:"venue,omitempty"`
	Capacity  int       `json:"capacity"`
	OpensAt   time.Time `json:"opens_at,omitzero"`
}

// EditionCapacityChanged and SessionCapacityChanged are separate events, not
// a new EditionScheduled, so that any past state can be shown as it was.
type EditionCapacityChanged struct {
	EditionID string `json:"edition_id"`
	Capacity  int    `json:"capacity"`
}

// PolicySet replaces the edition's policies as a whole.
type PolicySet struct {
	EditionID string `json:"edition_id"`
	// OfferWindowSeconds is how long a freed seat waits for the first
	// person on the waitlist before it moves on.
	OfferWindowSeconds int64 `json:"offer_window_seconds"`
	// CancellationDeadline is the last moment a registrant may cancel;
	// zero means until the edition starts.
	CancellationDeadline time.Time `json:"cancellation_deadline,omitzero"`
	// EditionWaitlist is how many may wait for a seat in a full edition;
	// with 0 a full edition refuses registrations.
	EditionWaitlist int `json:"edition_waitlist,omitempty"`
}

type TrackAdded struct {
	EditionID string `json:"edition_id"`
	TrackID   string `json:"track_id"`
	NameZH    string `json:"name_zh"`
	NameEN    string `json:"name_en"`
}

type SessionScheduled struct {
	EditionID string    `json:"edition_id"`
	SessionID string    `json:"session_id"`
	Track     string    `json:"track,omitempty"`
	Title     string    `json:"title"`
	Speakers  []string  `json:"speakers,omitempty"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	Room      string    `json:"room,omitempty"`
	Capacity  int       `json:"capacity"`
}

type SessionCapacityChanged struct {
	EditionID string `json:"edition_id"`
	SessionID string `json:"session_id"`
	Capacity  int    `json:"capacity"`
}

// TicketTypeDefined sets a ticket type's quota (0: bounded only by the
// edition's capacity). InviteOnly types need an invite code.
type TicketTypeDefined struct {
	EditionID  string `json:"edition_id"`
	TicketType string `json:"ticket_type"`
	Quota      int    `json:"quota"`
	InviteOnly bool   `json:"invite_only,omitempty"`
}

// InviteCodeIssued records only a hash of the code: reading the log does not
// hand out invitations.
type InviteCodeIssued struct {
	EditionID  string `json:"edition_id"`
	CodeHash   string `json:"code_hash"`
	TicketType string `json:"ticket_type"`
	MaxUses    int    `json:"max_uses"`
}

// Seat statuses, per session and for the edition as a whole.
const (
	StatusConfirmed  = "confirmed"
	StatusWaitlisted = "waitlisted"
	StatusOffered    = "offered"
	StatusCancelled  = "cancelled"
)

// SessionChoice is one requested session and what the decision gave it.
type SessionChoice struct {
	SessionID string `json:"session_id"`
	Status    string `json:"status"` // confirmed or waitlisted
}

// RegistrantPersonal is the personal part of a registration (the name shown
// on organiser lists), kept in a sub-object for per-person encryption.
type RegistrantPersonal struct {
	Name string `json:"name,omitempty"`
}

// RegistrationPlaced records an admission decision: the edition status and
// each session's. IdempotencyKey lets a retried request find its answer.
type RegistrationPlaced struct {
	EditionID      string             `json:"edition_id"`
	RegistrationID string             `json:"registration_id"`
	MemberID       string             `json:"member_id"`
	TicketType     string             `json:"ticket_type"`
	InviteCodeHash string             `json:"invite_code_hash,omitempty"`
	Status         string             `json:"status"` // confirmed or waitlisted (edition full)
	Sessions       []SessionChoice    `json:"sessions"`
	IdempotencyKey string             `json:"idempotency_key,omitempty"`
	Personal       RegistrantPersonal `json:"personal"`
}

// SeatOffered: a freed seat is held for the registration until ExpiresAt.
// SessionID is empty for a seat in the edition itself.
type SeatOffered struct {
	EditionID      string    `json:"edition_id"`
	RegistrationID string    `json:"registration_id"`
	SessionID      string    `json:"session_id,omitempty"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// OfferAccepted confirms the seat; OfferExpired releases it to the next.
type OfferAccepted struct {
	EditionID      string `json:"edition_id"`
	RegistrationID string `json:"registration_id"`
	SessionID      string `json:"session_id,omitempty"`
}

type OfferExpired struct {
	EditionID      string `json:"edition_id"`
	RegistrationID string `json:"registration_id"`
	SessionID      string `json:"session_id,omitempty"`
}

// SessionQueued puts a newly admitted registration on a session's seat or
// waitlist: it follows an accepted edition offer.
type SessionQueued struct {
	EditionID      string `json:"edition_id"`
	RegistrationID string `json:"registration_id"`
	SessionID      string `json:"session_id"`
	Status         string `json:"status"`
}

type RegistrationCancelled struct {
	EditionID      string `json:"edition_id"`
	RegistrationID string `json:"registration_id"`
}

// TicketCheckedIn: the first accepted scan of a ticket. Gate and device are
// staff data and never reach the registrant's timeline. ScannedAt is when
// the device scanned it, which for a scan queued offline is earlier than
// the event's own time; zero in events from before offline scanning.
type TicketCheckedIn struct {
	EditionID      string    `json:"edition_id"`
	RegistrationID string    `json:"registration_id"`
	Gate           string    `json:"gate"`
	Device         string    `json:"device"`
	ScannedAt      time.Time `json:"scanned_at,omitzero"`
}

// Reasons a scan is refused. The first two are second entries on one
// ticket, which the organisers' conflict report lists.
const (
	ScanElsewhere     = "already_checked_in" // checked in at another gate or device
	ScanRepeat        = "repeat"             // the same gate and device scanned it again
	ScanRevoked       = "revoked"            // the registration was cancelled
	ScanNotAdmitted   = "not_admitted"       // on the waitlist: no seat, no entry
	ScanDeviceRevoked = "device_revoked"     // the device was reported lost
)

// TicketScanRefused: a scan that did not let anyone in — a second entry on
// a ticket (a copied ticket, most likely), a cancelled registration, or an
// upload from a revoked device; organisers follow it up.
type TicketScanRefused struct {
	EditionID      string    `json:"edition_id"`
	RegistrationID string    `json:"registration_id"`
	Gate           string    `json:"gate"`
	Device         string    `json:"device"`
	Reason         string    `json:"reason"`
	ScannedAt      time.Time `json:"scanned_at,omitzero"`
}

// GateDeviceRevoked: an organiser reported a gate device lost; from then
// on its scans of the edition's tickets are refused and listed.
type GateDeviceRevoked struct {
	EditionID string `json:"edition_id"`
	Device    string `json:"device"`
}

// EditionDetailsChanged replaces what an edition is called, when and
// where it is, as a whole; capacity and policies have events of their own.
type EditionDetailsChanged struct {
	EditionID string `json:"edition_id"`
	NameZH    string `json:"name_zh"`
	NameEN    string `json:"name_en"`
	StartsOn  string `json:"starts_on,omitempty"`
	EndsOn    string `json:"ends_on,omitempty"`
	Venue     string `json:"venue,omitempty"`
}

// InviteCodeRevoked: the code is refused from now on; registrations it
// already admitted stand.
type InviteCodeRevoked struct {
	EditionID string `json:"edition_id"`
	CodeHash  string `json:"code_hash"`
}

// RegistrationWindowSet bounds when members may register; a zero bound is
// open on that side, and an edition without the event is always open.
type RegistrationWindowSet struct {
	EditionID string    `json:"edition_id"`
	Opens     time.Time `json:"opens,omitzero"`
	Closes    time.Time `json:"closes,omitzero"`
}

func registerConference(r *Registry) {
	r.Register("conference.EditionScheduled", EditionScheduled{}, 1)
	r.Register("conference.EditionCapacityChanged", EditionCapacityChanged{}, 1)
	r.Register("conference.PolicySet", PolicySet{}, 1)
	r.Register("conference.TrackAdded", TrackAdded{}, 1)
	r.Register("conference.SessionScheduled", SessionScheduled{}, 1)
	r.Register("conference.SessionCapacityChanged", SessionCapacityChanged{}, 1)
	r.Register("conference.TicketTypeDefined", TicketTypeDefined{}, 1)
	r.Register("conference.InviteCodeIssued", InviteCodeIssued{}, 1)
	r.Register("conference.RegistrationPlaced", RegistrationPlaced{}, 1)
	r.Register("conference.SeatOffered", SeatOffered{}, 1)
	r.Register("conference.OfferAccepted", OfferAccepted{}, 1)
	r.Register("conference.OfferExpired", OfferExpired{}, 1)
	r.Register("conference.SessionQueued", SessionQueued{}, 1)
	r.Register("conference.RegistrationCancelled", RegistrationCancelled{}, 1)
	r.Register("conference.TicketCheckedIn", TicketCheckedIn{}, 1)
	r.Register("conference.TicketScanRefused", TicketScanRefused{}, 1)
	r.Register("conference.GateDeviceRevoked", GateDeviceRevoked{}, 1)
	r.Register("conference.RegistrationWindowSet", RegistrationWindowSet{}, 1)
	r.Register("conference.EditionDetailsChanged", EditionDetailsChanged{}, 1)
	r.Register("conference.InviteCodeRevoked", InviteCodeRevoked{}, 1)
	r.Register("conference.OfferReminderDue", OfferReminderDue{}, 1)
	r.Register("conference.SessionRescheduled", SessionRescheduled{}, 1)
	r.Register("conference.CalendarFeedIssued", CalendarFeedIssued{}, 1)
	r.Register("conference.CalendarFeedRevoked", CalendarFeedRevoked{}, 1)
}

// OfferReminderDue: an open offer has reached its reminder moment (part of
// its window gone) without an answer. The ledger records it so that an
// offer is reminded once, however often the edition is replayed, and a
// notifier can tell the registrant without keeping a clock of its own.
type OfferReminderDue struct {
	EditionID      string    `json:"edition_id"`
	RegistrationID string    `json:"registration_id"`
	SessionID      string    `json:"session_id,omitempty"`
	ExpiresAt      time.Time `json:"expires_at"`
}

// SessionRescheduled moves a session to another time or room; its id,
// seats and waitlist stay, so calendars update the entry they hold.
type SessionRescheduled struct {
	EditionID string    `json:"edition_id"`
	SessionID string    `json:"session_id"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	Room      string    `json:"room,omitempty"`
}

// CategoryCalendarFeed holds one stream per member: their private
// calendar subscription URL. It is apart from the editions because it
// spans them all.
const CategoryCalendarFeed = "calendarfeed"

// CalendarFeedStream names a member's calendar feed stream.
func CalendarFeedStream(memberID string) string { return StreamName(CategoryCalendarFeed, memberID) }

// CalendarFeedPersonal is the secret part of a feed: whoever holds the
// token reads the member's programme, so it is sealed with their data.
type CalendarFeedPersonal struct {
	Token string `json:"token"`
}

// CalendarFeedIssued gives the member a subscription URL, replacing any
// earlier one.
type CalendarFeedIssued struct {
	MemberID string               `json:"member_id"`
	Personal CalendarFeedPersonal `json:"personal"`
}

// CalendarFeedRevoked: the member's subscription URL stops working.
type CalendarFeedRevoked struct {
	MemberID string `json:"member_id"`
}
