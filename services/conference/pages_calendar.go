package conference

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

const pathCalendar = "/conference/calendar"

func (p *Pages) mountCalendar(r chi.Router) {
	r.Get("/registrations/{id}/calendar.ics", p.registrationCalendar)
	r.Get("/calendar", p.calendarPage)
	r.Post("/calendar", p.changeCalendar)
}

// pageCalendarLang is the calendar's language for a page visitor: the
// page's (the site's ?lang= control has set it by the time a page runs).
func (p *Pages) pageCalendarLang(r *http.Request) calendarLang {
	if p.tr(r).Lang == web.Chinese {
		return calendarZH
	}
	return calendarEN
}

// registrationCalendar is the registration page's "Add to calendar": the
// owner's browser has a page session, not a bearer token.
func (p *Pages) registrationCalendar(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	lang := p.pageCalendarLang(r)
	v, err := p.ownedByVisitor(r, who, func(ed *Edition, reg *Registration, _ time.Time, _ emit) (any, error) {
		return renderCalendar(registrationCalendarName(lang, ed), calendarEntries(ed, reg, lang)), nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	edition, _ := editionOf(chi.URLParam(r, "id"))
	writeCalendar(w, r, v.([]byte), "no-store", edition)
}

// feed is a member's subscription: every session they hold, in every
// edition. An unknown or revoked token is not found, like any page that
// is not there.
func (p *Pages) feed(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	member, ok := "", false
	if feedTokenPattern.MatchString(token) {
		member, ok = p.index.feedMember(token)
	}
	if !ok {
		p.ui.NotFound(w, r)
		return
	}
	lang := calendarLangOf(r.URL.Query().Get("lang"))
	entries, err := p.memberEntries(r.Context(), member, lang)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	// The URL is a secret: no page it came from may pass it on.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Robots-Tag", "noindex")
	writeCalendar(w, r, renderCalendar(feedCalendarName(lang), entries), "private, max-age=300", "yunqi")
}

// memberEntries are the calendar entries of every registration of member
// that holds a place, edition by edition.
func (p *Pages) memberEntries(ctx context.Context, member string, lang calendarLang) ([]calEntry, error) {
	byEdition := map[string][]string{}
	var order []string
	for _, id := range p.index.registrationsOf(member) {
		ed, ok := editionOf(id)
		if !ok {
			continue
		}
		if _, seen := byEdition[ed]; !seen {
			order = append(order, ed)
		}
		byEdition[ed] = append(byEdition[ed], id)
	}
	var out []calEntry
	for _, edition := range order {
		v, err := p.s.read(ctx, edition, func(ed *Edition) (any, error) {
			var list []calEntry
			for _, id := range byEdition[edition] {
				if reg, err := ed.owned(id, member); err == nil {
					list = append(list, calendarEntries(ed, reg, lang)...)
				}
			}
			return list, nil
		})
		if errors.Is(err, ErrEditionNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v.([]calEntry)...)
	}
	return out, nil
}

// calendarData is the page of the visitor's subscription URL.
type calendarData struct {
	URL    string       // empty: none issued, or revoked
	Webcal template.URL // the same URL for calendar apps that open webcal:
	Action string
	Mine   string
}

func (p *Pages) calendarPage(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	if !who.HasRole(auth.RoleMember) {
		p.forbidden(w, r)
		return
	}
	d := calendarData{Action: pathCalendar, Mine: pathRegistrations}
	token, err := p.s.FeedToken(r.Context(), who.UserID)
	switch {
	case errors.Is(err, ErrNoFeed):
	case err != nil:
		p.fail(w, r, err)
		return
	default:
		d.URL = p.s.feedURL(r, token)
		if p.pageCalendarLang(r) == calendarEN {
			d.URL += "?lang=en"
		}
		_, rest, _ := strings.Cut(d.URL, "://")
		d.Webcal = template.URL("webcal://" + rest) // built here from our own URL, not from input
	}
	// The page shows the secret URL: it must not leak through a link's
	// Referer, and a shared browser must not keep it in a cache.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	p.t.Render(w, r, http.StatusOK, "calendar", web.Page{Title: "conference.calendar.title", Data: d})
}

// changeCalendar takes the page's buttons: create (or replace) the URL,
// or revoke it.
func (p *Pages) changeCalendar(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return
	}
	if !p.parseForm(w, r) {
		return
	}
	if !who.HasRole(auth.RoleMember) {
		p.forbidden(w, r)
		return
	}
	m := events.Metadata{Actor: who.UserID, RequestID: httpserver.RequestID(r.Context()), CorrelationID: httpserver.RequestID(r.Context())}
	var err error
	flash := ""
	switch r.PostForm.Get("action") {
	case "issue":
		_, err = p.s.IssueFeed(r.Context(), m, who.UserID)
		flash = "conference.calendar.flash.issued"
	case "revoke":
		err = p.s.RevokeFeed(r.Context(), m, who.UserID)
		flash = "conference.calendar.flash.revoked"
	default:
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.ui.SetFlash(w, r, flash)
	http.Redirect(w, r, pathCalendar, http.StatusSeeOther)
}
