package conference

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/web"
)

// requireOrganizer lets organisers through; a stranger is sent to log in
// and any other member gets the 403 page.
func (p *Pages) requireOrganizer(w http.ResponseWriter, r *http.Request) bool {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return false
	}
	if !who.HasRole(auth.RoleOrganizer) {
		p.forbidden(w, r)
		return false
	}
	return true
}

// attendeesData is the organisers' overview of an edition's sessions.
type attendeesData struct {
	Name, EditionHref string
	Capacity, Taken   string
	Waitlisted        string
	Sessions          []sessionLink
}

type sessionLink struct {
	Title, Slot, Room string
	Href, CSV         string
	Capacity, Taken   string
	Waitlisted        string
}

func (p *Pages) attendeesOverview(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	snap, err := p.loadEdition(r, chi.URLParam(r, "edition"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	tr := p.tr(r)
	d := attendeesData{Name: nameIn(tr, snap.NameZH, snap.NameEN), EditionHref: editionPath(snap.ID),
		Capacity: tr.Number(int64(snap.Capacity)), Taken: tr.Number(int64(snap.Confirmed + snap.Offered)),
		Waitlisted: tr.Number(int64(snap.Waitlisted))}
	for _, s := range snap.Sessions {
		href := sessionListPath(snap.ID, s.ID)
		d.Sessions = append(d.Sessions, sessionLink{Title: s.Title, Slot: slot(tr, s.StartsAt, s.EndsAt), Room: s.Room,
			Href: href, CSV: href + "/export.csv", Capacity: tr.Number(int64(s.Capacity)),
			Taken: tr.Number(int64(s.Confirmed + s.Offered)), Waitlisted: tr.Number(int64(s.Waitlisted))})
	}
	p.t.Render(w, r, http.StatusOK, "attendees", web.Page{Title: "conference.attendees.title", Data: d})
}

// sessionListData is one session's attendee list.
type sessionListData struct {
	Edition, EditionHref, OverviewHref string
	Title, Slot, Room                  string
	CSV                                string
	Rows                               []attendeeRow
}

type attendeeRow struct {
	Position           string
	Name, Registration string
	Status, StatusText string
	CheckedIn          bool
}

func (p *Pages) sessionList(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	edition, session := chi.URLParam(r, "edition"), chi.URLParam(r, "session")
	snap, err := p.loadEdition(r, edition)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	list, err := p.s.attendees(r.Context(), edition, session)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	tr := p.tr(r)
	d := sessionListData{Edition: nameIn(tr, snap.NameZH, snap.NameEN), EditionHref: editionPath(edition),
		OverviewHref: attendeesPath(edition), CSV: sessionListPath(edition, session) + "/export.csv"}
	for _, s := range snap.Sessions {
		if s.ID == session {
			d.Title, d.Slot, d.Room = s.Title, slot(tr, s.StartsAt, s.EndsAt), s.Room
		}
	}
	for _, a := range list {
		d.Rows = append(d.Rows, attendeeRow{Position: tr.Number(int64(a.Position)), Name: a.Name, Registration: a.Registration,
			Status: a.Status, StatusText: statusText(tr, a.Status), CheckedIn: a.CheckedIn})
	}
	p.t.Render(w, r, http.StatusOK, "session", web.Page{TitleText: d.Title, Data: d})
}

// sessionCSV is the API's CSV export, reached with the page session so that
// an organiser can download it from the list.
func (p *Pages) sessionCSV(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	r2 := r.Clone(r.Context())
	q := r2.URL.Query()
	q.Set("format", "csv")
	r2.URL.RawQuery = q.Encode()
	if _, err := p.s.attendees(r.Context(), chi.URLParam(r, "edition"), chi.URLParam(r, "session")); err != nil {
		p.fail(w, r, err) // a page's 404 rather than the API's problem document
		return
	}
	p.s.handleAttendees(w, r2)
}
