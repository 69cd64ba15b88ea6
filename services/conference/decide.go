package conference

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yunqi-town/yunqi/events"
)

// emit records an event a decision produced and folds it into the state at
// once, so the next command of the same batch decides against it.
type emit = func(payload any)

var (
	idPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	maxCapacity   = 1_000_000
	maxSessions   = 20 // per registration
	defaultWindow = 48 * time.Hour
)

// CreateEdition is the organiser's command that opens an edition.
type CreateEdition struct {
	ID                   string
	NameZH, NameEN       string
	StartsOn, EndsOn     string
	Venue                string
	Capacity             int
	OfferWindow          time.Duration
	CancellationDeadline time.Time
	RegistrationOpens    time.Time
	RegistrationCloses   time.Time
	WaitlistLimit        int
	Tracks               []Track
	TicketTypes          []TicketType
}

// Text limits: generous for any real edition, and small enough that a
// page or a CSV export never carries a novel in a venue field.
const (
	maxNameLength  = 200 // characters: edition, track names, rooms
	maxVenueLength = 300
	maxTitleLength = 300 // session titles
	maxTracks      = 50
	maxTicketTypes = 50
	maxSpeakers    = 20
)

func checkText(errs *fieldErrors, field, v string, limit int) {
	switch {
	case !utf8.ValidString(v):
		errs.add(field, "is not valid UTF-8 text")
	case utf8.RuneCountInString(v) > limit:
		errs.add(field, "is %d characters long; the limit is %d", utf8.RuneCountInString(v), limit)
	}
}

func checkCapacity(errs *fieldErrors, field string, n int) {
	if n < 1 || n > maxCapacity {
		errs.add(field, "must be a whole number from 1 to %d", maxCapacity)
	}
}

func (c CreateEdition) validate() error {
	var errs fieldErrors
	if !idPattern.MatchString(c.ID) {
		errs.add("id", "must be 1 to 63 lower-case letters, digits or '-', starting with a letter or digit (like yunqi-2015)")
	} else if c.ID == "new" || c.ID == "registrations" || c.ID == "gate" || c.ID == "calendar" {
		errs.add("id", "%q is a word the conference's pages use; choose another id", c.ID)
	}
	if strings.TrimSpace(c.NameZH) == "" && strings.TrimSpace(c.NameEN) == "" {
		errs.add("name", "is required (zh, en or both)")
	}
	checkCapacity(&errs, "capacity", c.Capacity)
	for _, f := range []struct{ name, v string }{{"starts_on", c.StartsOn}, {"ends_on", c.EndsOn}} {
		if f.v != "" {
			if _, err := time.Parse(time.DateOnly, f.v); err != nil {
				errs.add(f.name, "must be a date like 2015-10-14")
			}
		}
	}
	if c.StartsOn != "" && c.EndsOn != "" && c.EndsOn < c.StartsOn {
		errs.add("ends_on", "is before starts_on")
	}
	if !c.RegistrationOpens.IsZero() && !c.RegistrationCloses.IsZero() && !c.RegistrationCloses.After(c.RegistrationOpens) {
		errs.add("registration_closes", "must be after registration_opens")
	}
	if c.OfferWindow < 0 || c.OfferWindow > 30*24*time.Hour {
		errs.add("offer_window_seconds", "must be between 0 and 30 days")
	}
	if c.WaitlistLimit < 0 || c.WaitlistLimit > maxCapacity {
		errs.add("edition_waitlist", "must be from 0 to %d", maxCapacity)
	}
	checkText(&errs, "name.zh", c.NameZH, maxNameLength)
	checkText(&errs, "name.en", c.NameEN, maxNameLength)
	checkText(&errs, "venue", c.Venue, maxVenueLength)
	if len(c.Tracks) > maxTracks {
		errs.add("tracks", "may list at most %d tracks", maxTracks)
	}
	seenTrack := map[string]int{}
	for i, t := range c.Tracks {
		if !idPattern.MatchString(t.ID) {
			errs.add(fmt.Sprintf("tracks[%d].id", i), "must be lower-case letters, digits or '-'")
		} else if j, dup := seenTrack[t.ID]; dup {
			errs.add(fmt.Sprintf("tracks[%d].id", i), "%q is already tracks[%d]; each track needs its own id", t.ID, j)
		} else {
			seenTrack[t.ID] = i
		}
		checkText(&errs, fmt.Sprintf("tracks[%d].name.zh", i), t.NameZH, maxNameLength)
		checkText(&errs, fmt.Sprintf("tracks[%d].name.en", i), t.NameEN, maxNameLength)
	}
	if len(c.TicketTypes) > maxTicketTypes {
		errs.add("ticket_types", "may list at most %d ticket types", maxTicketTypes)
	}
	seenType := map[string]int{}
	for i, t := range c.TicketTypes {
		if !idPattern.MatchString(t.ID) {
			errs.add(fmt.Sprintf("ticket_types[%d].id", i), "must be lower-case letters, digits or '-'")
		} else if j, dup := seenType[t.ID]; dup {
			errs.add(fmt.Sprintf("ticket_types[%d].id", i), "%q is already ticket_types[%d]; each ticket type needs its own id", t.ID, j)
		} else {
			seenType[t.ID] = i
		}
		if t.Quota < 0 || t.Quota > maxCapacity {
			errs.add(fmt.Sprintf("ticket_types[%d].quota", i), "must be from 0 (no quota) to %d", maxCapacity)
		}
	}
	return errs.err()
}

func (ed *Edition) createEdition(c CreateEdition, emit emit) error {
	if err := c.validate(); err != nil {
		return err
	}
	if ed.Exists {
		return ErrEditionExists
	}
	emit(events.EditionScheduled{EditionID: c.ID, NameZH: c.NameZH, NameEN: c.NameEN, StartsOn: c.StartsOn, EndsOn: c.EndsOn,
		Venue: c.Venue, Capacity: c.Capacity})
	window := c.OfferWindow
	if window == 0 {
		window = defaultWindow
	}
	emit(events.PolicySet{EditionID: c.ID, OfferWindowSeconds: int64(window / time.Second),
		CancellationDeadline: c.CancellationDeadline, EditionWaitlist: c.WaitlistLimit})
	if !c.RegistrationOpens.IsZero() || !c.RegistrationCloses.IsZero() {
		emit(events.RegistrationWindowSet{EditionID: c.ID, Opens: c.RegistrationOpens.UTC(), Closes: c.RegistrationCloses.UTC()})
	}
	for _, t := range c.Tracks {
		emit(events.TrackAdded{EditionID: c.ID, TrackID: t.ID, NameZH: t.NameZH, NameEN: t.NameEN})
	}
	types := c.TicketTypes
	if !slices.ContainsFunc(types, func(t TicketType) bool { return t.ID == "general" }) {
		types = append([]TicketType{{ID: "general"}}, types...)
	}
	for _, t := range types {
		emit(events.TicketTypeDefined{EditionID: c.ID, TicketType: t.ID, Quota: t.Quota, InviteOnly: t.InviteOnly})
	}
	return nil
}

// AddSession schedules a session or sub-forum.
type AddSession struct {
	ID, Track, Title, Room string
	Speakers               []string
	StartsAt, EndsAt       time.Time
	Capacity               int
}

func (ed *Edition) addSession(c AddSession, emit emit) error {
	if !ed.Exists {
		return ErrEditionNotFound
	}
	var errs fieldErrors
	if !idPattern.MatchString(c.ID) {
		errs.add("id", "must be 1 to 63 lower-case letters, digits or '-'")
	}
	if strings.TrimSpace(c.Title) == "" {
		errs.add("title", "is required")
	}
	checkText(&errs, "title", c.Title, maxTitleLength)
	checkText(&errs, "room", c.Room, maxNameLength)
	if len(c.Speakers) > maxSpeakers {
		errs.add("speakers", "may list at most %d speakers", maxSpeakers)
	}
	for i, sp := range c.Speakers {
		if strings.TrimSpace(sp) == "" {
			errs.add(fmt.Sprintf("speakers[%d]", i), "is empty")
		}
		checkText(&errs, fmt.Sprintf("speakers[%d]", i), sp, maxNameLength)
	}
	if !c.StartsAt.IsZero() && !c.EndsAt.IsZero() {
		if field, msg := ed.outsideDates(c.StartsAt, c.EndsAt); field != "" {
			errs.add(field, "%s", msg)
		}
	}
	if c.StartsAt.IsZero() {
		errs.add("starts_at", "is required (RFC 3339 time)")
	}
	if c.EndsAt.IsZero() {
		errs.add("ends_at", "is required (RFC 3339 time)")
	} else if !c.EndsAt.After(c.StartsAt) {
		errs.add("ends_at", "must be after starts_at")
	}
	checkCapacity(&errs, "capacity", c.Capacity)
	if c.Capacity > ed.Capacity {
		errs.add("capacity", "is more than the edition's capacity of %d", ed.Capacity)
	}
	if c.Track != "" && len(ed.Tracks) > 0 && !slices.ContainsFunc(ed.Tracks, func(t Track) bool { return t.ID == c.Track }) {
		errs.add("track", "is not a track of this edition")
	}
	if err := errs.err(); err != nil {
		return err
	}
	if _, ok := ed.Sessions[c.ID]; ok {
		return ErrSessionExists
	}
	emit(events.SessionScheduled{EditionID: ed.ID, SessionID: c.ID, Track: c.Track, Title: c.Title, Room: c.Room, Speakers: c.Speakers,
		StartsAt: c.StartsAt.UTC(), EndsAt: c.EndsAt.UTC(), Capacity: c.Capacity})
	return nil
}

// ChangeCapacity sets the edition's capacity (Session empty) or a
// session's. Raising it offers the new seats to the waitlist.
type ChangeCapacity struct {
	Session  string
	Capacity int
}

func (ed *Edition) changeCapacity(c ChangeCapacity, now time.Time, emit emit) error {
	if !ed.Exists {
		return ErrEditionNotFound
	}
	var errs fieldErrors
	checkCapacity(&errs, "capacity", c.Capacity)
	if err := errs.err(); err != nil {
		return err
	}
	if c.Session == "" {
		if taken := ed.Admitted + ed.Offered; c.Capacity < taken {
			return &ValidationError{Fields: []FieldError{{"capacity", fmt.Sprintf("cannot be lower than the %d seats already taken", taken)}}}
		}
		emit(events.EditionCapacityChanged{EditionID: ed.ID, Capacity: c.Capacity})
		ed.promote("", now, emit)
		return nil
	}
	s := ed.Sessions[c.Session]
	if s == nil {
		return ErrSessionNotFound
	}
	if taken := s.Confirmed + s.Offered; c.Capacity < taken {
		return &ValidationError{Fields: []FieldError{{"capacity", fmt.Sprintf("cannot be lower than the %d seats already taken", taken)}}}
	}
	emit(events.SessionCapacityChanged{EditionID: ed.ID, SessionID: s.ID, Capacity: c.Capacity})
	ed.promote(s.ID, now, emit)
	return nil
}

// ErrSessionNotFound: a session id that the edition does not have.
var ErrSessionNotFound = fmt.Errorf("no such session")

// IssueInvite issues an invite code for a ticket type.
type IssueInvite struct {
	Code, TicketType string
	MaxUses          int
}

func (ed *Edition) issueInvite(c IssueInvite, emit emit) error {
	if !ed.Exists {
		return ErrEditionNotFound
	}
	var errs fieldErrors
	if l := len(strings.TrimSpace(c.Code)); l < 6 || l > 64 {
		errs.add("code", "must be 6 to 64 characters")
	}
	if ed.TicketTypes[c.TicketType] == nil {
		errs.add("ticket_type", "is not a ticket type of this edition")
	}
	if c.MaxUses < 1 || c.MaxUses > maxCapacity {
		errs.add("max_uses", "must be from 1 to %d", maxCapacity)
	}
	if _, ok := ed.Invites[hashCode(c.Code)]; ok {
		errs.add("code", "has been issued already")
	}
	if err := errs.err(); err != nil {
		return err
	}
	emit(events.InviteCodeIssued{EditionID: ed.ID, CodeHash: hashCode(c.Code), TicketType: c.TicketType, MaxUses: c.MaxUses})
	return nil
}

// Register is a member's registration command.
type Register struct {
	RegistrationID string // chosen by the caller: derived from the idempotency key when there is one
	Member, Name   string
	Sessions       []string
	TicketType     string
	InviteCode     string
	IdempotencyKey string
	// At is when the member asked: the registration window is judged
	// against it. Zero skips the window (replays and tests of other rules).
	At time.Time
}

// Placement is the answer to Register.
type Placement struct {
	ID       string       `json:"id"`
	Status   string       `json:"status"`
	Sessions []SeatStatus `json:"sessions"`
}

type SeatStatus struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func placementOf(p events.RegistrationPlaced) Placement {
	out := Placement{ID: p.RegistrationID, Status: p.Status, Sessions: make([]SeatStatus, len(p.Sessions))}
	for i, c := range p.Sessions {
		out.Sessions[i] = SeatStatus{ID: c.SessionID, Status: c.Status}
	}
	return out
}

func (ed *Edition) register(c Register, emit emit) (Placement, error) {
	if !ed.Exists {
		return Placement{}, ErrEditionNotFound
	}
	if c.IdempotencyKey != "" {
		if id, ok := ed.ByKey[c.Member+"\x00"+c.IdempotencyKey]; ok {
			return placementOf(ed.Regs[id].Placed), nil
		}
	}
	if !c.At.IsZero() {
		if err := ed.registrationOpen(c.At); err != nil {
			return Placement{}, err
		}
	}
	var errs fieldErrors
	seen := map[string]bool{}
	var chosen []*Session
	if len(c.Sessions) > maxSessions {
		errs.add("sessions", "may list at most %d sessions", maxSessions)
	}
	for i, id := range c.Sessions {
		s := ed.Sessions[id]
		switch {
		case s == nil:
			errs.add(fmt.Sprintf("sessions[%d]", i), "%q is not a session of this edition", id)
		case seen[id]:
			errs.add(fmt.Sprintf("sessions[%d]", i), "%q is listed twice", id)
		default:
			seen[id] = true
			chosen = append(chosen, s)
		}
	}
	for i, a := range chosen {
		for _, b := range chosen[i+1:] {
			if a.StartsAt.Before(b.EndsAt) && b.StartsAt.Before(a.EndsAt) {
				errs.add("sessions", "%q and %q take place at the same time; choose one of them", a.Title, b.Title)
			}
		}
	}
	ticket := c.TicketType
	if ticket == "" {
		ticket = "general"
	}
	tt := ed.TicketTypes[ticket]
	var invite *Invite
	codeHash := ""
	switch {
	case tt == nil:
		errs.add("ticket_type", "%q is not a ticket type of this edition", ticket)
	case c.InviteCode != "":
		codeHash = hashCode(c.InviteCode)
		invite = ed.Invites[codeHash]
		switch {
		case invite == nil || invite.TicketType != ticket:
			errs.add("invite_code", "is not a valid invite code for the %s ticket", ticket)
		case invite.Revoked:
			errs.add("invite_code", "has been withdrawn by the organisers")
		case invite.Used >= invite.MaxUses:
			errs.add("invite_code", "has been used as often as it may be")
		}
	case tt.InviteOnly:
		errs.add("invite_code", "is required for the %s ticket", ticket)
	}
	if err := errs.err(); err != nil {
		return Placement{}, err
	}
	if id, ok := ed.ByMember[c.Member]; ok {
		return Placement{}, &DuplicateError{Existing: id}
	}
	status := events.StatusConfirmed
	switch {
	case ed.Admitted+ed.Offered >= ed.Capacity || len(ed.Waitlist) > 0:
		if len(ed.Waitlist) >= ed.WaitlistLimit {
			return Placement{}, ErrEditionFull
		}
		status = events.StatusWaitlisted
	case tt.Quota > 0 && tt.Taken >= tt.Quota:
		return Placement{}, ErrTicketTypeFull
	}
	placed := events.RegistrationPlaced{EditionID: ed.ID, RegistrationID: c.RegistrationID, MemberID: c.Member,
		TicketType: ticket, InviteCodeHash: codeHash, Status: status, Sessions: []events.SessionChoice{},
		IdempotencyKey: c.IdempotencyKey, Personal: events.RegistrantPersonal{Name: c.Name}}
	for _, s := range chosen {
		st := events.StatusWaitlisted
		if status == events.StatusConfirmed && s.free() > 0 && len(s.Waitlist) == 0 {
			st = events.StatusConfirmed
		}
		placed.Sessions = append(placed.Sessions, events.SessionChoice{SessionID: s.ID, Status: st})
	}
	emit(placed)
	return placementOf(placed), nil
}

// promote offers free seats of a session (or of the edition, sid empty) to
// the head of its waitlist, in order.
func (ed *Edition) promote(sid string, now time.Time, emit emit) {
	window := ed.OfferWindow
	if window <= 0 {
		window = defaultWindow
	}
	if sid == "" {
		for ed.Admitted+ed.Offered < ed.Capacity && len(ed.Waitlist) > 0 {
			emit(events.SeatOffered{EditionID: ed.ID, RegistrationID: ed.Waitlist[0], ExpiresAt: now.Add(window).UTC()})
		}
		return
	}
	s := ed.Sessions[sid]
	for s != nil && s.free() > 0 && len(s.Waitlist) > 0 {
		emit(events.SeatOffered{EditionID: ed.ID, RegistrationID: s.Waitlist[0], SessionID: sid, ExpiresAt: now.Add(window).UTC()})
	}
}

func (ed *Edition) owned(regID, member string) (*Registration, error) {
	r := ed.Regs[regID]
	if r == nil || member != "" && r.Member != member {
		// Someone else's registration is answered like a missing one, so
		// ids cannot be probed.
		return nil, ErrRegistrationNotFound
	}
	return r, nil
}

// cancel cancels a registration for its owner (member) until the deadline,
// and offers every seat it frees to the next in line.
func (ed *Edition) cancel(regID, member string, now time.Time, emit emit) (*Registration, error) {
	r, err := ed.owned(regID, member)
	if err != nil {
		return nil, err
	}
	if r.Status == events.StatusCancelled {
		return r, nil // cancelling twice changes nothing
	}
	if r.CheckedIn {
		// The holder is inside: cancelling now would free a seat that is
		// in use and revoke a ticket at the door.
		return nil, ErrCheckedIn
	}
	if !ed.CancellationDeadline.IsZero() && now.After(ed.CancellationDeadline) {
		return nil, ErrCancellationClosed
	}
	ed.release(r, now, emit)
	return r, nil
}

// release cancels an active registration and offers every seat it frees
// to the next in line; the callers have checked that it may go.
func (ed *Edition) release(r *Registration, now time.Time, emit emit) {
	wasHolding := r.Status == events.StatusConfirmed || r.Status == events.StatusOffered
	var freed []string
	for _, sid := range r.Sessions {
		if st := r.Seats[sid]; st == events.StatusConfirmed || st == events.StatusOffered {
			freed = append(freed, sid)
		}
	}
	emit(events.RegistrationCancelled{EditionID: ed.ID, RegistrationID: r.ID})
	for _, sid := range freed {
		ed.promote(sid, now, emit)
	}
	if wasHolding {
		ed.promote("", now, emit)
	}
}

// accept takes every open offer of the registration. An accepted edition
// seat queues the registration for its sessions.
func (ed *Edition) accept(regID, member string, now time.Time, emit emit) (*Registration, error) {
	r, err := ed.owned(regID, member)
	if err != nil {
		return nil, err
	}
	if len(r.Offers) == 0 {
		return nil, ErrNoOffer
	}
	var targets []string
	for t := range r.Offers {
		targets = append(targets, t)
	}
	slices.Sort(targets) // the edition ("") first
	for _, t := range targets {
		if now.After(r.Offers[t]) {
			continue // expiry runs on its own clock; an expired offer cannot be taken
		}
		emit(events.OfferAccepted{EditionID: ed.ID, RegistrationID: r.ID, SessionID: t})
		if t != "" {
			continue
		}
		for _, sid := range r.Sessions {
			s := ed.Sessions[sid]
			if s == nil {
				continue
			}
			st := events.StatusWaitlisted
			if s.free() > 0 && len(s.Waitlist) == 0 {
				st = events.StatusConfirmed
			}
			emit(events.SessionQueued{EditionID: ed.ID, RegistrationID: r.ID, SessionID: sid, Status: st})
		}
	}
	return r, nil
}

// expire releases offers whose window has passed and moves each seat on.
func (ed *Edition) expire(now time.Time, emit emit) {
	if ed.OpenOffers == 0 {
		return
	}
	type due struct{ reg, target string }
	var list []due
	for _, r := range ed.Regs {
		for t, until := range r.Offers {
			if !now.Before(until) {
				list = append(list, due{r.ID, t})
			}
		}
	}
	slices.SortFunc(list, func(a, b due) int { return strings.Compare(a.reg+"/"+a.target, b.reg+"/"+b.target) })
	for _, d := range list {
		emit(events.OfferExpired{EditionID: ed.ID, RegistrationID: d.reg, SessionID: d.target})
	}
	for _, d := range list {
		ed.promote(d.target, now, emit)
	}
}

// nextExpiry is when the earliest open offer runs out (zero: none).
func (ed *Edition) nextExpiry() time.Time {
	var first time.Time
	if ed.OpenOffers == 0 {
		return first
	}
	for _, r := range ed.Regs {
		for _, until := range r.Offers {
			if first.IsZero() || until.Before(first) {
				first = until
			}
		}
	}
	return first
}
