package conference

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// Edition is the aggregate: one edition's ledger folded into memory. Every
// admission decision is taken against it, so capacities, quotas and
// waitlist order hold whatever the concurrency.
type Edition struct {
	Exists           bool
	ID               string
	NameZH, NameEN   string
	StartsOn, EndsOn string
	Venue            string
	// DetailsChanged and DetailsSequence tell calendars when the edition's
	// name, dates or venue last changed and how often they have.
	DetailsChanged       time.Time
	DetailsSequence      int
	Capacity             int
	OfferWindow          time.Duration
	CancellationDeadline time.Time
	// RegistrationOpens and RegistrationCloses bound when members may
	// register; zero is open on that side.
	RegistrationOpens, RegistrationCloses time.Time
	// WaitlistLimit bounds the edition's own waitlist; with 0 a full
	// edition refuses new registrations outright.
	WaitlistLimit int

	Tracks       []Track
	Sessions     map[string]*Session
	SessionOrder []string
	TicketTypes  map[string]*TicketType
	Invites      map[string]*Invite // by code hash

	Regs     map[string]*Registration
	ByMember map[string]string // member id → active registration
	ByKey    map[string]string // member id + idempotency key → registration

	// OpenOffers counts offers not yet accepted or expired, so the expiry
	// clock need not scan every registration while there are none.
	OpenOffers int

	Admitted int      // confirmed in the edition
	Offered  int      // edition seats held by open offers
	Waitlist []string // registration ids, first come first

	gate gateState
	// erased tells whether an account has been erased (nil: none are).
	erased func(member string) bool
	// applied counts the events folded in: the edition's version, which a
	// previewed change is confirmed against.
	applied int
}

type Track struct {
	ID, NameZH, NameEN string
}

type Session struct {
	ID, Track, Title, Room string
	Speakers               []string
	StartsAt, EndsAt       time.Time
	Capacity               int
	Confirmed              int
	Offered                int
	Waitlist               []string
	// Changed is when the session was scheduled or last moved, Sequence
	// how often it has moved: a calendar entry's LAST-MODIFIED and
	// SEQUENCE, so that calendar apps take the newer time.
	Changed  time.Time
	Sequence int
}

func (s *Session) free() int { return s.Capacity - s.Confirmed - s.Offered }

type TicketType struct {
	ID         string
	Quota      int // 0: no quota of its own
	InviteOnly bool
	Taken      int
}

type Invite struct {
	TicketType string
	MaxUses    int
	Used       int
	Revoked    bool
	Order      int // issue order, for lists
}

// Registration is one member's registration as the ledger knows it.
type Registration struct {
	ID, Member, TicketType, Name string
	Status                       string // edition status: confirmed, waitlisted, offered, cancelled
	Sessions                     []string
	Seats                        map[string]string // session id → status
	Offers                       map[string]time.Time
	// OfferedAt is when each open offer was made and Reminded which of
	// them have had their reminder: the reminder moment is a part of the
	// window, and an offer is reminded once.
	OfferedAt    map[string]time.Time
	Reminded     map[string]bool
	Placed       events.RegistrationPlaced // the first answer, for retried keys
	CheckedIn    bool
	Gate, Device string    // where it was checked in
	Entries      []ScanRef // the check-in and every later entry on the ticket
	History      []Step
	seq          int // placement order
}

// Step is one entry of the owner's timeline. It holds no actor: staff never
// appear in it.
type Step struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Session string    `json:"session,omitempty"`
	Status  string    `json:"status,omitempty"`
	Until   time.Time `json:"until,omitzero"`
}

func newEdition() *Edition {
	return &Edition{
		Sessions:    map[string]*Session{},
		TicketTypes: map[string]*TicketType{},
		Invites:     map[string]*Invite{},
		Regs:        map[string]*Registration{},
		ByMember:    map[string]string{},
		ByKey:       map[string]string{},
	}
}

// Errors a decision can end in. The HTTP edge maps each to a problem type.
var (
	ErrEditionNotFound      = errors.New("no such edition")
	ErrEditionExists        = errors.New("edition already exists")
	ErrSessionExists        = errors.New("session already exists")
	ErrRegistrationNotFound = errors.New("no such registration")
	ErrEditionFull          = errors.New("edition full")
	ErrTicketTypeFull       = errors.New("ticket type sold out")
	ErrCancellationClosed   = errors.New("cancellation deadline passed")
	ErrNoOffer              = errors.New("no open offer")
	ErrTicketRevoked        = errors.New("ticket revoked")
	ErrNotAdmitted          = errors.New("registration not admitted")
)

// DuplicateError: the member already holds a registration for the edition.
type DuplicateError struct{ Existing string }

func (e *DuplicateError) Error() string { return "already registered as " + e.Existing }

// WindowError: a registration outside the edition's registration window.
type WindowError struct {
	Opens, Closes time.Time
	NotYet        bool
}

func (e *WindowError) Error() string {
	if e.NotYet {
		return "registration opens at " + e.Opens.Format(time.RFC3339)
	}
	return "registration closed at " + e.Closes.Format(time.RFC3339)
}

// registrationOpen tells whether members may register at now.
func (ed *Edition) registrationOpen(now time.Time) error {
	switch {
	case !ed.RegistrationOpens.IsZero() && now.Before(ed.RegistrationOpens):
		return &WindowError{Opens: ed.RegistrationOpens, Closes: ed.RegistrationCloses, NotYet: true}
	case !ed.RegistrationCloses.IsZero() && !now.Before(ed.RegistrationCloses):
		return &WindowError{Opens: ed.RegistrationOpens, Closes: ed.RegistrationCloses}
	}
	return nil
}

// ScanConflictError: the ticket was checked in elsewhere.
type ScanConflictError struct{ First *ScanRef }

func (e *ScanConflictError) Error() string {
	return fmt.Sprintf("ticket already checked in at gate %s, device %s", e.First.Gate, e.First.Device)
}

// FieldError and ValidationError carry field-level messages to the edge.
type FieldError struct {
	Field, Message string
}

type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

type fieldErrors []FieldError

func (f *fieldErrors) add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return &ValidationError{Fields: f}
}

func hashCode(code string) string {
	sum := sha256.Sum256([]byte("yunqi invite\x00" + strings.TrimSpace(code)))
	return hex.EncodeToString(sum[:16])
}

// Apply folds one event into the state. It never fails: the log is the
// truth, and an event this state cannot place (a newer binary's) is skipped.
func (ed *Edition) Apply(payload any, at time.Time) {
	ed.applied++
	switch e := payload.(type) {
	case events.EditionScheduled:
		ed.Exists = true
		ed.ID, ed.NameZH, ed.NameEN = e.EditionID, e.NameZH, e.NameEN
		ed.StartsOn, ed.EndsOn, ed.Venue, ed.Capacity = e.StartsOn, e.EndsOn, e.Venue, e.Capacity
		ed.DetailsChanged = at
	case events.EditionDetailsChanged:
		ed.NameZH, ed.NameEN, ed.StartsOn, ed.EndsOn, ed.Venue = e.NameZH, e.NameEN, e.StartsOn, e.EndsOn, e.Venue
		ed.DetailsChanged = at
		ed.DetailsSequence++
	case events.InviteCodeRevoked:
		if inv := ed.Invites[e.CodeHash]; inv != nil {
			inv.Revoked = true
		}
	case events.EditionCapacityChanged:
		ed.Capacity = e.Capacity
	case events.RegistrationWindowSet:
		ed.RegistrationOpens, ed.RegistrationCloses = e.Opens, e.Closes
	case events.PolicySet:
		ed.OfferWindow = time.Duration(e.OfferWindowSeconds) * time.Second
		ed.CancellationDeadline = e.CancellationDeadline
		ed.WaitlistLimit = e.EditionWaitlist
	case events.TrackAdded:
		ed.Tracks = append(ed.Tracks, Track{ID: e.TrackID, NameZH: e.NameZH, NameEN: e.NameEN})
	case events.SessionScheduled:
		ed.Sessions[e.SessionID] = &Session{ID: e.SessionID, Track: e.Track, Title: e.Title, Room: e.Room, Speakers: e.Speakers,
			StartsAt: e.StartsAt, EndsAt: e.EndsAt, Capacity: e.Capacity, Changed: at}
		ed.SessionOrder = append(ed.SessionOrder, e.SessionID)
	case events.SessionRescheduled:
		if s := ed.Sessions[e.SessionID]; s != nil {
			s.StartsAt, s.EndsAt, s.Room = e.StartsAt, e.EndsAt, e.Room
			s.Changed = at
			s.Sequence++
		}
	case events.SessionCapacityChanged:
		if s := ed.Sessions[e.SessionID]; s != nil {
			s.Capacity = e.Capacity
		}
	case events.TicketTypeDefined:
		t := ed.TicketTypes[e.TicketType]
		if t == nil {
			t = &TicketType{ID: e.TicketType}
			ed.TicketTypes[e.TicketType] = t
		}
		t.Quota, t.InviteOnly = e.Quota, e.InviteOnly
	case events.InviteCodeIssued:
		ed.Invites[e.CodeHash] = &Invite{TicketType: e.TicketType, MaxUses: e.MaxUses, Order: len(ed.Invites)}
	case events.RegistrationPlaced:
		r := &Registration{ID: e.RegistrationID, Member: e.MemberID, TicketType: e.TicketType, Name: e.Personal.Name,
			Status: e.Status, Seats: make(map[string]string, len(e.Sessions)), Placed: e}
		if ed.erased != nil && ed.erased(r.Member) {
			r.Name, r.Placed.Personal = "", events.RegistrantPersonal{}
		}
		r.seq = len(ed.Regs)
		ed.Regs[r.ID] = r
		ed.ByMember[r.Member] = r.ID
		if e.IdempotencyKey != "" {
			ed.ByKey[r.Member+"\x00"+e.IdempotencyKey] = r.ID
		}
		if inv := ed.Invites[e.InviteCodeHash]; inv != nil {
			inv.Used++
		}
		r.History = append(r.History, Step{At: at, Kind: "placed", Status: e.Status})
		if e.Status == events.StatusWaitlisted {
			ed.Waitlist = append(ed.Waitlist, r.ID)
		} else {
			ed.Admitted++
			if t := ed.TicketTypes[r.TicketType]; t != nil {
				t.Taken++
			}
		}
		for _, c := range e.Sessions {
			r.Sessions = append(r.Sessions, c.SessionID)
			if e.Status == events.StatusWaitlisted {
				continue // queued for sessions only once admitted
			}
			ed.queue(r, c.SessionID, c.Status, at)
		}
	case events.SessionQueued:
		if r := ed.Regs[e.RegistrationID]; r != nil {
			ed.queue(r, e.SessionID, e.Status, at)
		}
	case events.SeatOffered:
		r := ed.Regs[e.RegistrationID]
		if r == nil {
			return
		}
		if r.Offers == nil {
			r.Offers = map[string]time.Time{} // most registrations never get an offer
		}
		r.Offers[e.SessionID] = e.ExpiresAt
		if r.OfferedAt == nil {
			r.OfferedAt, r.Reminded = map[string]time.Time{}, map[string]bool{}
		}
		r.OfferedAt[e.SessionID] = at
		delete(r.Reminded, e.SessionID) // a new offer for the same seat is reminded anew
		ed.OpenOffers++
		r.History = append(r.History, Step{At: at, Kind: "offered", Session: e.SessionID, Until: e.ExpiresAt})
		if e.SessionID == "" {
			ed.Waitlist = remove(ed.Waitlist, r.ID)
			ed.Offered++
			r.Status = events.StatusOffered
			if t := ed.TicketTypes[r.TicketType]; t != nil {
				t.Taken++
			}
			return
		}
		if s := ed.Sessions[e.SessionID]; s != nil {
			s.Waitlist = remove(s.Waitlist, r.ID)
			s.Offered++
			r.Seats[e.SessionID] = events.StatusOffered
		}
	case events.OfferReminderDue:
		r := ed.Regs[e.RegistrationID]
		if r == nil || r.Reminded == nil {
			return
		}
		r.Reminded[e.SessionID] = true
		r.History = append(r.History, Step{At: at, Kind: "offer_reminder", Session: e.SessionID, Until: e.ExpiresAt})
	case events.OfferAccepted:
		r := ed.Regs[e.RegistrationID]
		if r == nil {
			return
		}
		if _, ok := r.Offers[e.SessionID]; ok {
			delete(r.Offers, e.SessionID)
			ed.OpenOffers--
		}
		r.History = append(r.History, Step{At: at, Kind: "confirmed", Session: e.SessionID})
		if e.SessionID == "" {
			ed.Offered--
			ed.Admitted++
			r.Status = events.StatusConfirmed
			return
		}
		if s := ed.Sessions[e.SessionID]; s != nil {
			s.Offered--
			s.Confirmed++
			r.Seats[e.SessionID] = events.StatusConfirmed
		}
	case events.OfferExpired:
		r := ed.Regs[e.RegistrationID]
		if r == nil {
			return
		}
		if _, ok := r.Offers[e.SessionID]; ok {
			delete(r.Offers, e.SessionID)
			ed.OpenOffers--
		}
		r.History = append(r.History, Step{At: at, Kind: "offer_expired", Session: e.SessionID})
		if e.SessionID == "" {
			ed.Offered--
			r.Status = events.StatusCancelled
			delete(ed.ByMember, r.Member)
			if t := ed.TicketTypes[r.TicketType]; t != nil {
				t.Taken--
			}
			return
		}
		if s := ed.Sessions[e.SessionID]; s != nil {
			s.Offered--
			r.Seats[e.SessionID] = "expired"
		}
	case events.RegistrationCancelled:
		r := ed.Regs[e.RegistrationID]
		if r == nil || r.Status == events.StatusCancelled {
			return
		}
		switch r.Status {
		case events.StatusConfirmed:
			ed.Admitted--
		case events.StatusOffered:
			ed.Offered--
		case events.StatusWaitlisted:
			ed.Waitlist = remove(ed.Waitlist, r.ID)
		}
		if r.Status != events.StatusWaitlisted {
			if t := ed.TicketTypes[r.TicketType]; t != nil {
				t.Taken--
			}
		}
		for sid, st := range r.Seats {
			s := ed.Sessions[sid]
			if s == nil {
				continue
			}
			switch st {
			case events.StatusConfirmed:
				s.Confirmed--
			case events.StatusOffered:
				s.Offered--
			case events.StatusWaitlisted:
				s.Waitlist = remove(s.Waitlist, r.ID)
			}
			r.Seats[sid] = events.StatusCancelled
		}
		ed.OpenOffers -= len(r.Offers)
		clear(r.Offers)
		r.Status = events.StatusCancelled
		delete(ed.ByMember, r.Member)
		r.History = append(r.History, Step{At: at, Kind: "cancelled"})
	case events.TicketCheckedIn:
		ed.applyCheckedIn(e, at)
	case events.TicketScanRefused:
		// Staff follow-up only; the registrant's timeline does not change.
		ed.applyScanRefused(e, at)
	case events.GateDeviceRevoked:
		ed.applyDeviceRevoked(e, at)
	}
}

func (ed *Edition) queue(r *Registration, sid, status string, at time.Time) {
	s := ed.Sessions[sid]
	if s == nil {
		return
	}
	r.Seats[sid] = status
	if status == events.StatusConfirmed {
		s.Confirmed++
	} else {
		s.Waitlist = append(s.Waitlist, r.ID)
	}
	r.History = append(r.History, Step{At: at, Kind: status, Session: sid})
}

func remove(list []string, id string) []string {
	if len(list) > 0 && list[0] == id {
		return list[1:] // the common case: the head of the queue
	}
	if i := slices.Index(list, id); i >= 0 {
		return slices.Delete(list, i, i+1)
	}
	return list
}

// Counts are what GET /api/conference/editions/{edition} answers.
type Counts struct {
	ID       string `json:"id"`
	NameZH   string `json:"name_zh"`
	NameEN   string `json:"name_en"`
	StartsOn string `json:"starts_on,omitempty"`
	EndsOn   string `json:"ends_on,omitempty"`
	Venue    string `json:"venue,omitempty"`
	Capacity int    `json:"capacity"`
	// The registration window; absent sides are open.
	RegistrationOpens  time.Time       `json:"registration_opens,omitzero"`
	RegistrationCloses time.Time       `json:"registration_closes,omitzero"`
	Confirmed          int             `json:"confirmed"`
	Offered            int             `json:"offered"`
	Waitlisted         int             `json:"waitlisted"`
	Sessions           []SessionCounts `json:"sessions"`
}

type SessionCounts struct {
	ID         string    `json:"id"`
	Track      string    `json:"track,omitempty"`
	Title      string    `json:"title"`
	Room       string    `json:"room,omitempty"`
	StartsAt   time.Time `json:"starts_at"`
	EndsAt     time.Time `json:"ends_at"`
	Capacity   int       `json:"capacity"`
	Confirmed  int       `json:"confirmed"`
	Offered    int       `json:"offered"`
	Waitlisted int       `json:"waitlisted"`
}

func (ed *Edition) Counts() Counts {
	c := Counts{ID: ed.ID, NameZH: ed.NameZH, NameEN: ed.NameEN, StartsOn: ed.StartsOn, EndsOn: ed.EndsOn, Venue: ed.Venue,
		Capacity: ed.Capacity, RegistrationOpens: ed.RegistrationOpens, RegistrationCloses: ed.RegistrationCloses, Confirmed: ed.Admitted, Offered: ed.Offered, Waitlisted: len(ed.Waitlist), Sessions: []SessionCounts{}}
	for _, id := range ed.SessionOrder {
		s := ed.Sessions[id]
		c.Sessions = append(c.Sessions, SessionCounts{ID: s.ID, Track: s.Track, Title: s.Title, Room: s.Room,
			StartsAt: s.StartsAt, EndsAt: s.EndsAt, Capacity: s.Capacity, Confirmed: s.Confirmed, Offered: s.Offered, Waitlisted: len(s.Waitlist)})
	}
	return c
}

// sortedRegs lists registrations in the order they were placed.
func (ed *Edition) sortedRegs() []*Registration {
	out := make([]*Registration, 0, len(ed.Regs))
	for _, r := range ed.Regs {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Registration) int { return a.seq - b.seq })
	return out
}
