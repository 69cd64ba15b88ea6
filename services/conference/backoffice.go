package conference

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// The organisers' back office: changing an edition after it was created,
// its tracks, ticket types and invite codes, the attendee lists with their
// filters, any list as it stood at a past moment, and a capacity change
// previewed before it is made. Every change is a command in the edition's
// ledger and an event in its stream, like registrations.

// outsideDates tells whether a session's slot falls outside the edition's
// days. The edition's dates are the venue's calendar days and the venue's
// zone is not recorded, so the check allows every zone on Earth (UTC−12
// to UTC+14): it never refuses a real slot, and still catches a session
// put in the wrong year or month.
func (ed *Edition) outsideDates(start, end time.Time) (field, message string) {
	if d, err := time.Parse(time.DateOnly, ed.StartsOn); err == nil && start.Before(d.Add(-14*time.Hour)) {
		return "starts_at", "is before the edition starts on " + ed.StartsOn
	}
	last := ed.EndsOn
	if last == "" {
		last = ed.StartsOn
	}
	if d, err := time.Parse(time.DateOnly, last); err == nil && end.After(d.Add(36*time.Hour)) {
		return "ends_at", "is after the edition ends on " + last
	}
	return "", ""
}

// UpdateEdition replaces an edition's details and policies as a whole, as
// the edit form sends them; only what changed becomes an event.
type UpdateEdition struct {
	NameZH, NameEN       string
	StartsOn, EndsOn     string
	Venue                string
	OfferWindow          time.Duration
	CancellationDeadline time.Time
	RegistrationOpens    time.Time
	RegistrationCloses   time.Time
	WaitlistLimit        int
}

// editFrom is the edit form's starting point: the edition as it is.
func (ed *Edition) editFrom() UpdateEdition {
	return UpdateEdition{NameZH: ed.NameZH, NameEN: ed.NameEN, StartsOn: ed.StartsOn, EndsOn: ed.EndsOn, Venue: ed.Venue,
		OfferWindow: ed.OfferWindow, CancellationDeadline: ed.CancellationDeadline,
		RegistrationOpens: ed.RegistrationOpens, RegistrationCloses: ed.RegistrationCloses, WaitlistLimit: ed.WaitlistLimit}
}

func (ed *Edition) updateEdition(c UpdateEdition, emit emit) error {
	if !ed.Exists {
		return ErrEditionNotFound
	}
	// The same rules as at creation, on the same fields.
	check := CreateEdition{ID: ed.ID, NameZH: c.NameZH, NameEN: c.NameEN, StartsOn: c.StartsOn, EndsOn: c.EndsOn, Venue: c.Venue,
		Capacity: max(ed.Capacity, 1), OfferWindow: c.OfferWindow, CancellationDeadline: c.CancellationDeadline,
		RegistrationOpens: c.RegistrationOpens, RegistrationCloses: c.RegistrationCloses, WaitlistLimit: c.WaitlistLimit}
	if err := check.validate(); err != nil {
		return err
	}
	var errs fieldErrors
	for _, id := range ed.SessionOrder {
		s := ed.Sessions[id]
		probe := *ed
		probe.StartsOn, probe.EndsOn = c.StartsOn, c.EndsOn
		if field, _ := probe.outsideDates(s.StartsAt, s.EndsAt); field != "" {
			errs.add(map[string]string{"starts_at": "starts_on", "ends_at": "ends_on"}[field],
				"would leave the session %q outside the edition's days; move the session first", s.Title)
			break
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	if c.NameZH != ed.NameZH || c.NameEN != ed.NameEN || c.StartsOn != ed.StartsOn || c.EndsOn != ed.EndsOn || c.Venue != ed.Venue {
		emit(events.EditionDetailsChanged{EditionID: ed.ID, NameZH: c.NameZH, NameEN: c.NameEN, StartsOn: c.StartsOn, EndsOn: c.EndsOn, Venue: c.Venue})
	}
	window := c.OfferWindow
	if window == 0 {
		window = defaultWindow
	}
	if window != ed.OfferWindow || !c.CancellationDeadline.Equal(ed.CancellationDeadline) || c.WaitlistLimit != ed.WaitlistLimit {
		emit(events.PolicySet{EditionID: ed.ID, OfferWindowSeconds: int64(window / time.Second),
			CancellationDeadline: c.CancellationDeadline.UTC(), EditionWaitlist: c.WaitlistLimit})
	}
	if !c.RegistrationOpens.Equal(ed.RegistrationOpens) || !c.RegistrationCloses.Equal(ed.RegistrationCloses) {
		emit(events.RegistrationWindowSet{EditionID: ed.ID, Opens: c.RegistrationOpens.UTC(), Closes: c.RegistrationCloses.UTC()})
	}
	return nil
}

// ErrTrackExists: a track id the edition has already.
var ErrTrackExists = errors.New("track already exists")

func (ed *Edition) addTrack(t Track, emit emit) error {
	if !ed.Exists {
		return ErrEditionNotFound
	}
	var errs fieldErrors
	if !idPattern.MatchString(t.ID) {
		errs.add("id", "must be 1 to 63 lower-case letters, digits or '-'")
	} else if slices.ContainsFunc(ed.Tracks, func(x Track) bool { return x.ID == t.ID }) {
		errs.add("id", "%q is a track of this edition already", t.ID)
	}
	if strings.TrimSpace(t.NameZH) == "" && strings.TrimSpace(t.NameEN) == "" {
		errs.add("name", "is required (zh, en or both)")
	}
	checkText(&errs, "name.zh", t.NameZH, maxNameLength)
	checkText(&errs, "name.en", t.NameEN, maxNameLength)
	if len(ed.Tracks) >= maxTracks {
		errs.add("id", "the edition has the most tracks it may have (%d)", maxTracks)
	}
	if err := errs.err(); err != nil {
		return err
	}
	emit(events.TrackAdded{EditionID: ed.ID, TrackID: t.ID, NameZH: t.NameZH, NameEN: t.NameEN})
	return nil
}

// defineTicketType adds a ticket type or changes its quota; a quota below
// the tickets already taken is refused with the number taken.
func (ed *Edition) defineTicketType(t TicketType, emit emit) error {
	if !ed.Exists {
		return ErrEditionNotFound
	}
	var errs fieldErrors
	if !idPattern.MatchString(t.ID) {
		errs.add("id", "must be 1 to 63 lower-case letters, digits or '-'")
	}
	if t.Quota < 0 || t.Quota > maxCapacity {
		errs.add("quota", "must be from 0 (no quota) to %d", maxCapacity)
	}
	old := ed.TicketTypes[t.ID]
	if old == nil && len(ed.TicketTypes) >= maxTicketTypes {
		errs.add("id", "the edition has the most ticket types it may have (%d)", maxTicketTypes)
	}
	if old != nil && t.Quota > 0 && t.Quota < old.Taken {
		errs.add("quota", "cannot be lower than the %d tickets of this type already taken", old.Taken)
	}
	if err := errs.err(); err != nil {
		return err
	}
	if old != nil && old.Quota == t.Quota && old.InviteOnly == t.InviteOnly {
		return nil
	}
	emit(events.TicketTypeDefined{EditionID: ed.ID, TicketType: t.ID, Quota: t.Quota, InviteOnly: t.InviteOnly})
	return nil
}

// InviteView is one invite code in the organisers' list. The code itself
// is never kept; its id is the start of its hash.
type InviteView struct {
	ID         string `json:"id"`
	TicketType string `json:"ticket_type"`
	MaxUses    int    `json:"max_uses"`
	Used       int    `json:"used"`
	Revoked    bool   `json:"revoked"`
}

const inviteIDLength = 12

func (ed *Edition) invites() []InviteView {
	type row struct {
		InviteView
		order int
	}
	var rows []row
	for hash, inv := range ed.Invites {
		rows = append(rows, row{InviteView{ID: hash[:inviteIDLength], TicketType: inv.TicketType, MaxUses: inv.MaxUses, Used: inv.Used, Revoked: inv.Revoked}, inv.Order})
	}
	slices.SortFunc(rows, func(a, b row) int { return a.order - b.order })
	out := make([]InviteView, len(rows))
	for i, r := range rows {
		out[i] = r.InviteView
	}
	return out
}

// ErrInviteNotFound: no invite code with that id.
var ErrInviteNotFound = errors.New("no such invite code")

func (ed *Edition) revokeInvite(id string, emit emit) error {
	if !ed.Exists {
		return ErrEditionNotFound
	}
	for hash, inv := range ed.Invites {
		if len(id) == inviteIDLength && strings.HasPrefix(hash, id) {
			if !inv.Revoked {
				emit(events.InviteCodeRevoked{EditionID: ed.ID, CodeHash: hash})
			}
			return nil
		}
	}
	return ErrInviteNotFound
}

// AttendeeFilter selects rows of an attendee list.
type AttendeeFilter struct {
	Query      string // part of a name or registration id
	Status     string // confirmed, waitlisted, offered, cancelled; "" all but cancelled
	TicketType string
	CheckedIn  string // "yes", "no" or ""
	Session    string // a session's list instead of the edition's
}

// AttendeeRow is one registration in an organiser's list.
type AttendeeRow struct {
	Position     int       `json:"position"`
	Registration string    `json:"registration"`
	Member       string    `json:"member"`
	Name         string    `json:"name"`
	TicketType   string    `json:"ticket_type"`
	Status       string    `json:"status"`
	Sessions     []string  `json:"sessions"`
	CheckedIn    bool      `json:"checked_in"`
	Gate         string    `json:"gate,omitempty"`
	OfferUntil   time.Time `json:"offer_until,omitzero"`
}

// AttendeeList is an edition's or a session's list with its live counts.
type AttendeeList struct {
	Edition   string        `json:"edition"`
	Session   string        `json:"session,omitempty"`
	At        time.Time     `json:"at,omitzero"` // the past moment shown; zero: now
	Counts    ListCounts    `json:"counts"`
	Attendees []AttendeeRow `json:"attendees"`
}

// ListCounts are the figures an organiser watches.
type ListCounts struct {
	Capacity   int         `json:"capacity"`
	Confirmed  int         `json:"confirmed"`
	Waitlisted int         `json:"waitlisted"`
	OffersOpen int         `json:"offers_open"`
	CheckedIn  int         `json:"checked_in"`
	Gates      []GateCount `json:"gates"`
}

// minIDQuery: a search matches registration ids only from this length,
// or three letters such as "ada" would find ids whose hex holds them.
const minIDQuery = 8

var attendeeStatuses = []string{events.StatusConfirmed, events.StatusWaitlisted, events.StatusOffered, events.StatusCancelled}

func (f AttendeeFilter) validate() error {
	var errs fieldErrors
	if f.Status != "" && f.Status != "all" && !slices.Contains(attendeeStatuses, f.Status) {
		errs.add("status", "must be one of confirmed, waitlisted, offered, cancelled or all")
	}
	if f.CheckedIn != "" && f.CheckedIn != "yes" && f.CheckedIn != "no" {
		errs.add("checked_in", "must be yes or no")
	}
	checkText(&errs, "q", f.Query, maxNameLength)
	return errs.err()
}

// listCounts are the edition's figures an organiser watches.
func (ed *Edition) listCounts() ListCounts {
	gc := ed.gateCounts()
	return ListCounts{Capacity: ed.Capacity, Confirmed: ed.Admitted, Waitlisted: len(ed.Waitlist), OffersOpen: ed.OpenOffers,
		CheckedIn: gc.CheckedIn, Gates: gc.Gates}
}

// attendeeList lists registrations in the order an organiser expects:
// seat holders in registration order, then the waitlist in its order.
func (ed *Edition) attendeeList(f AttendeeFilter) (AttendeeList, error) {
	out := AttendeeList{Edition: ed.ID, Session: f.Session, Attendees: []AttendeeRow{}, Counts: ed.listCounts()}
	var sess *Session
	if f.Session != "" {
		if sess = ed.Sessions[f.Session]; sess == nil {
			return out, ErrSessionNotFound
		}
		out.Counts.Capacity, out.Counts.Confirmed, out.Counts.Waitlisted = sess.Capacity, sess.Confirmed, len(sess.Waitlist)
		out.Counts.OffersOpen = sess.Offered
	}
	statusOf := func(r *Registration) string {
		if sess != nil {
			return r.Seats[sess.ID]
		}
		return r.Status
	}
	q := strings.ToLower(strings.TrimSpace(f.Query))
	keep := func(r *Registration) bool {
		st := statusOf(r)
		switch {
		case st == "":
			return false // not in this session's list
		case f.Status == "" && st == events.StatusCancelled:
			return false
		case f.Status != "" && f.Status != "all" && st != f.Status:
			return false
		case f.TicketType != "" && r.TicketType != f.TicketType:
			return false
		case f.CheckedIn == "yes" && !r.CheckedIn, f.CheckedIn == "no" && r.CheckedIn:
			return false
		case q != "" && !strings.Contains(strings.ToLower(r.Name), q) && !(len(q) >= minIDQuery && strings.Contains(r.ID, q)):
			return false
		}
		return true
	}
	row := func(r *Registration) AttendeeRow {
		a := AttendeeRow{Position: len(out.Attendees) + 1, Registration: r.ID, Member: r.Member, Name: r.Name, TicketType: r.TicketType,
			Status: statusOf(r), Sessions: slices.Clone(r.Sessions), CheckedIn: r.CheckedIn, Gate: r.Gate}
		if a.Sessions == nil {
			a.Sessions = []string{}
		}
		target := ""
		if sess != nil {
			target = sess.ID
		}
		a.OfferUntil = r.Offers[target]
		return a
	}
	waitlist := ed.Waitlist
	if sess != nil {
		waitlist = sess.Waitlist
	}
	waiting := map[string]bool{}
	for _, id := range waitlist {
		waiting[id] = true
	}
	for _, r := range ed.sortedRegs() {
		if !waiting[r.ID] && keep(r) {
			out.Attendees = append(out.Attendees, row(r))
		}
	}
	for _, id := range waitlist {
		if r := ed.Regs[id]; r != nil && keep(r) {
			out.Attendees = append(out.Attendees, row(r))
		}
	}
	return out, nil
}

// Offer is one seat a capacity change would offer.
type Offer struct {
	Registration string    `json:"registration"`
	Name         string    `json:"name"`
	Until        time.Time `json:"until"`
}

// CapacityPreview is what a capacity change would do, decided on a copy
// of the edition and never committed.
type CapacityPreview struct {
	Session  string  `json:"session,omitempty"`
	From     int     `json:"from"`
	To       int     `json:"to"`
	Taken    int     `json:"taken"`
	Offers   []Offer `json:"offers"`
	Revision uint64  `json:"revision"` // the edition's version the preview was made from
	Problems []FieldError
}

// Service-level operations the API and the pages share.

// UpdateEdition applies an edit to the edition.
func (s *Service) UpdateEdition(ctx context.Context, m events.Metadata, edition string, edit func(UpdateEdition) UpdateEdition) (Counts, error) {
	v, err := s.exec(ctx, edition, false, m, "", func(ed *Edition, _ time.Time, emit emit) (any, error) {
		if !ed.Exists {
			return nil, ErrEditionNotFound
		}
		if err := ed.updateEdition(edit(ed.editFrom()), emit); err != nil {
			return nil, err
		}
		return ed.Counts(), nil
	})
	if err != nil {
		return Counts{}, err
	}
	return v.(Counts), nil
}

// EditionForm is the edition as its edit form shows it.
func (s *Service) EditionForm(ctx context.Context, edition string) (UpdateEdition, error) {
	v, err := s.read(ctx, edition, func(ed *Edition) (any, error) { return ed.editFrom(), nil })
	if err != nil {
		return UpdateEdition{}, err
	}
	return v.(UpdateEdition), nil
}

// Attendees answers an organiser's list, now or, with at set, as it stood
// at that moment: the edition's stream folded only up to then.
func (s *Service) Attendees(ctx context.Context, edition string, f AttendeeFilter, at time.Time) (AttendeeList, error) {
	if err := f.validate(); err != nil {
		return AttendeeList{}, err
	}
	if at.IsZero() {
		v, err := s.read(ctx, edition, func(ed *Edition) (any, error) { return ed.attendeeList(f) })
		if err != nil {
			return AttendeeList{}, err
		}
		return v.(AttendeeList), nil
	}
	ed, err := s.editionAt(ctx, edition, at)
	if err != nil {
		return AttendeeList{}, err
	}
	list, err := ed.attendeeList(f)
	list.At = at.UTC()
	return list, err
}

// editionAt folds the edition's stream up to at.
func (s *Service) editionAt(ctx context.Context, edition string, at time.Time) (*Edition, error) {
	if !idPattern.MatchString(edition) {
		return nil, ErrEditionNotFound
	}
	ed := newEdition()
	ed.erased = s.eraser.isErased // a past list names nobody erased since
	opts := events.ReadOptions{Count: 4096}
	for {
		evs, err := s.store.ReadStream(ctx, events.EditionStream(edition), opts)
		if errors.Is(err, events.ErrStreamNotFound) {
			return nil, ErrEditionNotFound
		}
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if e.Metadata.OccurredAt.After(at) {
				if !ed.Exists {
					return nil, &ValidationError{Fields: []FieldError{{"at", "is before the edition was created"}}}
				}
				return ed, nil
			}
			p, err := events.Types.Decode(e)
			if err != nil {
				continue // a newer binary's event
			}
			ed.Apply(p, e.Metadata.OccurredAt)
		}
		if len(evs) < opts.Count {
			break
		}
		opts.From = evs[len(evs)-1].Revision + 1
	}
	if !ed.Exists {
		return nil, ErrEditionNotFound
	}
	return ed, nil
}

// PreviewCapacity decides a capacity change on a copy of the edition (the
// stream folded afresh) and reports who would be offered a seat, without
// writing anything. Revision lets the confirmation refuse a change made
// against an edition that has moved on since.
func (s *Service) PreviewCapacity(ctx context.Context, edition, session string, capacity int) (CapacityPreview, error) {
	copyOf, rev, err := s.editionCopy(ctx, edition)
	if err != nil {
		return CapacityPreview{}, err
	}
	p := CapacityPreview{Session: session, To: capacity, Revision: rev, Offers: []Offer{}}
	if session == "" {
		p.From, p.Taken = copyOf.Capacity, copyOf.Admitted+copyOf.Offered
	} else if sess := copyOf.Sessions[session]; sess != nil {
		p.From, p.Taken = sess.Capacity, sess.Confirmed+sess.Offered
	} else {
		return p, ErrSessionNotFound
	}
	err = copyOf.changeCapacity(ChangeCapacity{Session: session, Capacity: capacity}, s.now(), func(ev any) {
		copyOf.Apply(ev, s.now())
		if o, ok := ev.(events.SeatOffered); ok {
			p.Offers = append(p.Offers, Offer{Registration: o.RegistrationID, Name: copyOf.Regs[o.RegistrationID].Name, Until: o.ExpiresAt})
		}
	})
	var invalid *ValidationError
	if errors.As(err, &invalid) {
		p.Problems = invalid.Fields
		return p, nil
	}
	return p, err
}

func (s *Service) editionCopy(ctx context.Context, edition string) (*Edition, uint64, error) {
	ed, err := s.editionAt(ctx, edition, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return nil, 0, err
	}
	return ed, uint64(ed.applied), nil
}

// StaleError: a change confirmed against a version the edition has left.
type StaleError struct{ Previewed, Current uint64 }

func (e *StaleError) Error() string {
	return fmt.Sprintf("the edition changed since the preview (version %d, now %d)", e.Previewed, e.Current)
}

// ChangeCapacity makes a capacity change; with a previewed version, only
// if the edition has not changed since.
func (s *Service) ChangeCapacity(ctx context.Context, m events.Metadata, edition, session string, capacity int, previewed *uint64) (Counts, error) {
	v, err := s.exec(ctx, edition, false, m, "", func(ed *Edition, now time.Time, emit emit) (any, error) {
		if previewed != nil && *previewed != uint64(ed.applied) {
			return nil, &StaleError{Previewed: *previewed, Current: uint64(ed.applied)}
		}
		if err := ed.changeCapacity(ChangeCapacity{Session: session, Capacity: capacity}, now, emit); err != nil {
			return nil, err
		}
		return ed.Counts(), nil
	})
	if err != nil {
		return Counts{}, err
	}
	return v.(Counts), nil
}
