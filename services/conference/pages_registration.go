package conference

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// regSnapshot is a registration as its owner may see it, copied out of the
// ledger together with what the page says about its edition.
type regSnapshot struct {
	View                   RegistrationView
	NameZH, NameEN         string
	StartsOn, EndsOn       string
	Venue                  string
	Sessions               map[string]Session
	History                []Step
	CancelBy               time.Time
	Now                    time.Time
	cancellationDeadlineOK bool
}

func snapshotReg(ed *Edition, reg *Registration, now time.Time) regSnapshot {
	snap := regSnapshot{View: viewOf(ed, reg), NameZH: ed.NameZH, NameEN: ed.NameEN, StartsOn: ed.StartsOn, EndsOn: ed.EndsOn,
		Venue: ed.Venue, Sessions: map[string]Session{}, History: slices.Clone(reg.History), CancelBy: ed.CancellationDeadline, Now: now}
	for _, sid := range reg.Sessions {
		if s := ed.Sessions[sid]; s != nil {
			c := *s
			c.Waitlist = nil // other people's places in the queue are not this page's business
			snap.Sessions[sid] = c
		}
	}
	snap.cancellationDeadlineOK = ed.CancellationDeadline.IsZero() || !now.After(ed.CancellationDeadline)
	return snap
}

// ownedByVisitor runs f on the visitor's registration {id} in its ledger.
// Someone else's registration is not found, exactly like a missing one.
func (p *Pages) ownedByVisitor(r *http.Request, who auth.Principal,
	f func(ed *Edition, reg *Registration, now time.Time, emit emit) (any, error)) (any, error) {
	id := chi.URLParam(r, "id")
	edition, ok := editionOf(id)
	if !ok || who.UserID == "" {
		return nil, ErrRegistrationNotFound
	}
	m := events.Metadata{Actor: who.UserID, Subject: who.UserID,
		RequestID: httpserver.RequestID(r.Context()), CorrelationID: httpserver.RequestID(r.Context())}
	v, err := p.s.exec(r.Context(), edition, false, m, "", func(ed *Edition, now time.Time, emit emit) (any, error) {
		reg, err := ed.owned(id, who.UserID)
		if err != nil {
			return nil, err
		}
		return f(ed, reg, now, emit)
	})
	if errors.Is(err, ErrEditionNotFound) {
		err = ErrRegistrationNotFound
	}
	return v, err
}

// registrationData is the page of one registration.
type registrationData struct {
	ID, EditionHref, EditionName string
	Dates, Venue                 string
	Status, StatusText           string
	CheckedIn                    bool
	TicketType                   string
	Seats                        []seatRow
	Offers                       []offerRow
	Timeline                     []stepRow
	Ticket                       bool
	TicketSrc, TicketDownload    string
	// Calendar is the registration's calendar file, CalendarFeed the page
	// of the visitor's subscription to all their sessions.
	Calendar, CalendarFeed string
	Action                 string // where the buttons post
	CanCancel              bool
	CancelBy               time.Time
	Error                  string // why the last action was refused
}

type seatRow struct {
	Title, Slot, Room  string
	Status, StatusText string
}

type offerRow struct {
	Text  string
	Until time.Time
}

type stepRow struct {
	At   time.Time
	Text string
}

func (p *Pages) registration(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	p.showRegistration(w, r, who, http.StatusOK, "")
}

func (p *Pages) showRegistration(w http.ResponseWriter, r *http.Request, who auth.Principal, status int, errKey string) {
	v, err := p.ownedByVisitor(r, who, func(ed *Edition, reg *Registration, now time.Time, _ emit) (any, error) {
		return snapshotReg(ed, reg, now), nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	snap := v.(regSnapshot)
	tr := p.tr(r)
	rv := snap.View
	d := registrationData{
		ID: rv.ID, EditionHref: editionPath(rv.Edition), EditionName: nameIn(tr, snap.NameZH, snap.NameEN),
		Dates: dateRange(tr, snap.StartsOn, snap.EndsOn), Venue: snap.Venue,
		Status: rv.Status, StatusText: statusText(tr, rv.Status), CheckedIn: rv.CheckedIn,
		TicketType: ticketTypeName(tr, rv.TicketType), Action: registrationPath(rv.ID),
		CanCancel: rv.Status != events.StatusCancelled && snap.cancellationDeadlineOK && !rv.CheckedIn,
		CancelBy:  snap.CancelBy,
	}
	if errKey != "" {
		d.Error = tr.T(errKey)
	}
	title := func(sid string) string {
		if s, ok := snap.Sessions[sid]; ok {
			return s.Title
		}
		return sid
	}
	for _, seat := range rv.Sessions {
		row := seatRow{Title: seat.Title, Status: seat.Status, StatusText: statusText(tr, seat.Status)}
		if s, ok := snap.Sessions[seat.ID]; ok {
			row.Slot, row.Room = slot(tr, s.StartsAt, s.EndsAt), s.Room
		}
		d.Seats = append(d.Seats, row)
	}
	for _, o := range rv.Offers {
		if !o.Until.After(snap.Now) {
			continue // expired; the ledger's clock moves it on in a moment
		}
		text := tr.T("conference.offer.edition")
		if o.Session != "" {
			text = tr.T("conference.offer.session", "session", title(o.Session))
		}
		d.Offers = append(d.Offers, offerRow{Text: text, Until: o.Until})
	}
	// Newest first: what changed last is what the owner came to see.
	for i := len(snap.History) - 1; i >= 0; i-- {
		st := snap.History[i]
		d.Timeline = append(d.Timeline, stepRow{At: st.At, Text: stepText(tr, st, title)})
	}
	if rv.Status == events.StatusConfirmed {
		d.Calendar = registrationPath(rv.ID) + "/calendar.ics"
		d.CalendarFeed = pathCalendar
		d.Ticket = true
		d.TicketSrc = registrationPath(rv.ID) + "/ticket.png"
		d.TicketDownload = d.TicketSrc + "?download=1"
	}
	p.t.Render(w, r, status, "registration", web.Page{Title: "conference.registration.title", Data: d})
}

// stepText says what one step of the timeline means to the registrant.
// Steps carry no actor, so nothing here can name the staff involved.
func stepText(tr web.Translator, st Step, title func(string) string) string {
	switch st.Kind {
	case "placed":
		if st.Status == events.StatusWaitlisted {
			return tr.T("conference.timeline.placed_waitlisted")
		}
		return tr.T("conference.timeline.placed_confirmed")
	case events.StatusConfirmed:
		if st.Session == "" {
			return tr.T("conference.timeline.admitted")
		}
		return tr.T("conference.timeline.seat", "session", title(st.Session))
	case events.StatusWaitlisted:
		return tr.T("conference.timeline.session_waitlisted", "session", title(st.Session))
	case "offered":
		if st.Session == "" {
			return tr.T("conference.timeline.offered_edition", "until", tr.DateTime(st.Until))
		}
		return tr.T("conference.timeline.offered_session", "session", title(st.Session), "until", tr.DateTime(st.Until))
	case "offer_reminder":
		if st.Session == "" {
			return tr.T("conference.timeline.offer_reminder_edition", "until", tr.DateTime(st.Until))
		}
		return tr.T("conference.timeline.offer_reminder_session", "session", title(st.Session), "until", tr.DateTime(st.Until))
	case "offer_expired":
		if st.Session == "" {
			return tr.T("conference.timeline.offer_expired_edition")
		}
		return tr.T("conference.timeline.offer_expired_session", "session", title(st.Session))
	case events.StatusCancelled:
		return tr.T("conference.timeline.cancelled")
	case "checked_in":
		return tr.T("conference.timeline.checked_in")
	}
	return tr.T("conference.timeline.other")
}

// changeRegistration takes the registration page's buttons: cancel, or
// accept an offered seat.
func (p *Pages) changeRegistration(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	if !p.parseForm(w, r) {
		return
	}
	action := r.PostForm.Get("action")
	var flash string
	var decide func(ed *Edition, reg *Registration, now time.Time, emit emit) (any, error)
	switch action {
	case "cancel":
		flash = "conference.flash.cancelled"
		decide = func(ed *Edition, reg *Registration, now time.Time, emit emit) (any, error) {
			_, err := ed.cancel(reg.ID, reg.Member, now, emit)
			return nil, err
		}
	case "accept":
		flash = "conference.flash.accepted"
		decide = func(ed *Edition, reg *Registration, now time.Time, emit emit) (any, error) {
			_, err := ed.accept(reg.ID, reg.Member, now, emit)
			return nil, err
		}
	default:
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	_, err := p.ownedByVisitor(r, who, decide)
	switch {
	case errors.Is(err, ErrCancellationClosed):
		p.showRegistration(w, r, who, http.StatusConflict, "conference.registration.too_late")
		return
	case errors.Is(err, ErrCheckedIn):
		p.showRegistration(w, r, who, http.StatusConflict, "conference.registration.checked_in_no_cancel")
		return
	case errors.Is(err, ErrNoOffer):
		p.showRegistration(w, r, who, http.StatusConflict, "conference.registration.no_offer")
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	p.ui.SetFlash(w, r, flash)
	http.Redirect(w, r, registrationPath(chi.URLParam(r, "id")), http.StatusSeeOther)
}

// ticketPNG serves the ticket's QR code to its owner's browser, which has
// a page session rather than a bearer token.
func (p *Pages) ticketPNG(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.requireVisitor(w, r); !ok {
		return
	}
	p.s.handleTicketPNG(w, r)
}

// mineData lists the visitor's registrations.
type mineData struct {
	Registrations []mineRow
}

type mineRow struct {
	Href, Edition, Dates string
	Status, StatusText   string
	CheckedIn            bool
}

func (p *Pages) mine(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	tr := p.tr(r)
	ids := p.index.registrationsOf(who.UserID)
	byEdition := map[string][]string{}
	var order []string
	for i := len(ids) - 1; i >= 0; i-- {
		ed, ok := editionOf(ids[i])
		if !ok {
			continue
		}
		if _, seen := byEdition[ed]; !seen {
			order = append(order, ed)
		}
		byEdition[ed] = append(byEdition[ed], ids[i])
	}
	var rows []mineRow
	for _, edition := range order {
		v, err := p.s.read(r.Context(), edition, func(ed *Edition) (any, error) {
			var out []regSnapshot
			for _, id := range byEdition[edition] {
				if reg, err := ed.owned(id, who.UserID); err == nil {
					out = append(out, regSnapshot{View: viewOf(ed, reg), NameZH: ed.NameZH, NameEN: ed.NameEN, StartsOn: ed.StartsOn, EndsOn: ed.EndsOn})
				}
			}
			return out, nil
		})
		if errors.Is(err, ErrEditionNotFound) {
			continue
		}
		if err != nil {
			p.fail(w, r, err)
			return
		}
		for _, s := range v.([]regSnapshot) {
			rows = append(rows, mineRow{Href: registrationPath(s.View.ID), Edition: nameIn(tr, s.NameZH, s.NameEN),
				Dates: dateRange(tr, s.StartsOn, s.EndsOn), Status: s.View.Status, StatusText: statusText(tr, s.View.Status),
				CheckedIn: s.View.CheckedIn})
		}
	}
	p.t.Render(w, r, http.StatusOK, "registrations", web.Page{Title: "conference.mine.title", Data: mineData{Registrations: rows}})
}
