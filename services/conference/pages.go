package conference

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

//go:embed templates i18n
var pageFiles embed.FS

// Pages are the conference's HTML pages under /conference/: the editions,
// each edition's programme with its registration form, a member's
// registrations with their tickets and timelines, and the organisers'
// attendee lists. They take the same decisions as the JSON API, in the
// same ledgers.
type Pages struct {
	s     *Service
	ui    *web.UI
	t     *web.Templates
	index *pageIndex
}

// Pages parses the conference pages into ui's layout; a template or
// catalogue error is returned here, at start-up.
func (s *Service) Pages(ui *web.UI) (*Pages, error) {
	t, err := ui.Load(pageFiles)
	if err != nil {
		return nil, fmt.Errorf("conference pages: %w", err)
	}
	p := &Pages{s: s, ui: ui, t: t, index: newPageIndex(s.store, s.log)}
	// The subscription URLs are served from this index: the API that
	// issues and revokes them waits for it, so a new URL works and an old
	// one is refused by the time the member is answered.
	s.feedWait = p.index.follower.WaitFor
	return p, nil
}

// Run keeps the pages' index of editions and registrations current until
// ctx ends.
func (p *Pages) Run(ctx context.Context) error { return p.index.follower.Run(ctx) }

// Ready reports whether the index has caught up with the log once.
func (p *Pages) Ready(context.Context) error {
	if !p.index.follower.Ready() {
		return errors.New("conference pages: catching up with the log")
	}
	return nil
}

// Page addresses.
const (
	pathEditions      = "/conference/"
	pathRegistrations = "/conference/registrations"
	pathLogIn         = "/identity/login"
)

func editionPath(id string) string { return pathEditions + url.PathEscape(id) + "/" }

func registrationPath(id string) string { return pathRegistrations + "/" + url.PathEscape(id) }

func attendeesPath(edition string) string { return editionPath(edition) + "attendees" }

func sessionListPath(edition, session string) string {
	return attendeesPath(edition) + "/" + url.PathEscape(session)
}

// maxFormBytes bounds a page's form: twenty sessions and an invite code
// are far below it.
const maxFormBytes = 16 << 10

// Mount adds the pages to r. session recognises the logged-in visitor
// (identity's page session in this binary); pages for members send
// strangers to the log-in page.
func (p *Pages) Mount(r chi.Router, session ...func(http.Handler) http.Handler) {
	// Calendar apps fetch a subscription with nothing but its URL, and its
	// ?lang= picks the calendar's language rather than the site's: outside
	// the pages' language control, which would redirect it away.
	r.With(web.SecurityHeaders).Get("/conference/calendar/{token}.ics", p.feed)
	r.Route("/conference", func(r chi.Router) {
		r.Use(p.ui.Middleware)
		r.Use(session...)
		r.Use(httpserver.LimitBody(maxFormBytes))
		r.NotFound(p.ui.NotFound)
		p.mountStaff(r)
		p.mountBackOffice(r)
		p.mountGate(r)
		p.mountAudit(r)
		r.Get("/", p.editions)
		r.Get("/registrations", p.mine)
		r.Get("/registrations/{id}", p.registration)
		r.Post("/registrations/{id}", p.changeRegistration)
		r.Get("/registrations/{id}/ticket.png", p.ticketPNG)
		p.mountCalendar(r)
		r.Get("/{edition}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, editionPath(chi.URLParam(r, "edition")), http.StatusMovedPermanently)
		})
		r.Get("/{edition}/", p.edition)
		r.Post("/{edition}/", p.register)
		r.Get("/{edition}/attendees", p.attendeesOverview)
		r.Get("/{edition}/attendees/{session}", p.sessionList)
		r.Get("/{edition}/attendees/{session}/export.csv", p.sessionCSV)
	})
}

func (p *Pages) tr(r *http.Request) web.Translator { return p.t.Translator(web.LanguageOf(r)) }

// requireVisitor sends a stranger to the log-in page, to come back here.
func (p *Pages) requireVisitor(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	who, ok := auth.FromContext(r.Context())
	if !ok {
		back := r.URL.Path
		if r.Method != http.MethodGet {
			back = strings.TrimSuffix(back, "/ticket.png")
		}
		http.Redirect(w, r, pathLogIn+"?next="+url.QueryEscape(back), http.StatusSeeOther)
	}
	return who, ok
}

// forbidden answers a signed-in visitor who lacks the role a page needs.
func (p *Pages) forbidden(w http.ResponseWriter, r *http.Request) {
	p.t.Render(w, r, http.StatusForbidden, "forbidden", web.Page{Title: "conference.forbidden.title"})
}

// parseForm reads a posted form, answering a malformed or oversized one.
func (p *Pages) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if httpserver.IsTooLarge(err) {
			status = http.StatusRequestEntityTooLarge
		}
		p.ui.BadRequest(w, r, status)
		return false
	}
	return true
}

// fail answers the errors every page may meet on its way to a ledger.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrEditionNotFound), errors.Is(err, ErrSessionNotFound), errors.Is(err, ErrRegistrationNotFound):
		p.ui.NotFound(w, r)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		p.ui.Error(w, r, err)
	}
}

// nameIn picks the edition's or track's name in the page's language,
// falling back on the other.
func nameIn(tr web.Translator, zh, en string) string {
	if tr.Lang == web.Chinese {
		return cmp.Or(strings.TrimSpace(zh), en)
	}
	return cmp.Or(strings.TrimSpace(en), zh)
}

// editionDay reads an edition's YYYY-MM-DD date as that day in Hangzhou.
func editionDay(s string) (time.Time, bool) {
	t, err := time.ParseInLocation(time.DateOnly, s, web.DisplayZone)
	return t, err == nil
}

// dateRange says when an edition takes place: "2015年10月14日至16日" is
// left to the catalogue's "{start} – {end}", which reads well in both
// languages with full dates.
func dateRange(tr web.Translator, start, end string) string {
	s, okS := editionDay(start)
	e, okE := editionDay(end)
	switch {
	case okS && okE && !e.Equal(s):
		return tr.T("conference.dates.range", "start", tr.Date(s), "end", tr.Date(e))
	case okS:
		return tr.Date(s)
	case okE:
		return tr.Date(e)
	}
	return ""
}

// slot says when a session runs: its day, then the times in Hangzhou.
func slot(tr web.Translator, start, end time.Time) string {
	s, e := start.In(web.DisplayZone), end.In(web.DisplayZone)
	if s.YearDay() == e.YearDay() && s.Year() == e.Year() {
		return tr.T("conference.slot.same_day", "day", tr.Date(s), "start", s.Format("15:04"), "end", e.Format("15:04"))
	}
	return tr.T("conference.slot.days", "start", tr.DateTime(s), "end", tr.DateTime(e))
}

func statusText(tr web.Translator, status string) string {
	if key := "conference.status." + status; tr.Has(key) {
		return tr.T(key)
	}
	return status
}

func ticketTypeName(tr web.Translator, id string) string {
	if key := "conference.ticket_type." + id; tr.Has(key) {
		return tr.T(key)
	}
	return id
}

// editionsData is the list of editions.
type editionsData struct {
	Organizer bool
	Gate      bool // gate staff see the gate app
	Editions  []editionRow
}

type editionRow struct {
	Name, Href, Dates, Venue string
	Capacity, Taken          string
	Full                     bool
	// Window says whether registration is open now, in words.
	Window       string
	WindowIsOpen bool
	startsOn, id string
}

func (p *Pages) editions(w http.ResponseWriter, r *http.Request) {
	tr := p.tr(r)
	ids := p.index.editionIDs()
	// Editions created in this process a moment ago may not have reached
	// the index yet; their ledgers already run.
	for _, id := range p.s.ledgers.IDs() {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	var rows []editionRow
	for _, id := range ids {
		v, err := p.s.read(r.Context(), id, func(ed *Edition) (any, error) { return ed.Counts(), nil })
		if errors.Is(err, ErrEditionNotFound) {
			continue // a ledger started for a create that was refused
		}
		if err != nil {
			p.fail(w, r, err)
			return
		}
		c := v.(Counts)
		taken := c.Confirmed + c.Offered
		rows = append(rows, editionRow{
			Name: nameIn(tr, c.NameZH, c.NameEN), Href: editionPath(c.ID), Dates: dateRange(tr, c.StartsOn, c.EndsOn),
			Venue: c.Venue, Capacity: tr.Number(int64(c.Capacity)), Taken: tr.Number(int64(taken)),
			Full: taken >= c.Capacity, startsOn: c.StartsOn, id: c.ID,
		})
		row := &rows[len(rows)-1]
		switch now := p.s.now(); {
		case !c.RegistrationOpens.IsZero() && now.Before(c.RegistrationOpens):
			row.Window = tr.T("conference.editions.opens_at", "at", tr.DateTime(c.RegistrationOpens))
		case !c.RegistrationCloses.IsZero() && !now.Before(c.RegistrationCloses):
			row.Window = tr.T("conference.editions.closed")
		case !c.RegistrationCloses.IsZero():
			row.Window, row.WindowIsOpen = tr.T("conference.editions.open_until", "at", tr.DateTime(c.RegistrationCloses)), true
		default:
			row.Window, row.WindowIsOpen = tr.T("conference.editions.open"), true
		}
	}
	// The newest edition first, as people look for this year's.
	slices.SortFunc(rows, func(a, b editionRow) int {
		return cmp.Or(strings.Compare(b.startsOn, a.startsOn), strings.Compare(a.id, b.id))
	})
	p.t.Render(w, r, http.StatusOK, "editions", web.Page{Title: "conference.editions.title", Data: editionsData{Editions: rows, Organizer: isOrganizer(r), Gate: hasRole(r, auth.RoleGate, auth.RoleOrganizer)}})
}

// editionSnapshot is what a page needs of an edition, copied out of the
// ledger so that it can be formatted after the ledger has moved on.
type editionSnapshot struct {
	Counts
	Tracks      []Track
	TicketTypes []TicketType
	CancelBy    time.Time
	Opens       time.Time // the registration window; zero is open on that side
	Closes      time.Time
	Waitlist    int    // how many may wait for a seat in a full edition
	Mine        string // the visitor's active registration, if any
}

func snapshot(ed *Edition, member string) editionSnapshot {
	snap := editionSnapshot{Counts: ed.Counts(), Tracks: slices.Clone(ed.Tracks), CancelBy: ed.CancellationDeadline, Waitlist: ed.WaitlistLimit,
		Opens: ed.RegistrationOpens, Closes: ed.RegistrationCloses}
	for _, t := range ed.TicketTypes {
		snap.TicketTypes = append(snap.TicketTypes, *t)
	}
	// general first, then the others by name: the usual choice on top.
	slices.SortFunc(snap.TicketTypes, func(a, b TicketType) int {
		switch {
		case a.ID == b.ID:
			return 0
		case a.ID == "general":
			return -1
		case b.ID == "general":
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	if member != "" {
		snap.Mine = ed.ByMember[member]
	}
	return snap
}

func (p *Pages) loadEdition(r *http.Request, id string) (editionSnapshot, error) {
	member := ""
	if who, ok := auth.FromContext(r.Context()); ok {
		member = who.UserID
	}
	v, err := p.s.read(r.Context(), id, func(ed *Edition) (any, error) { return snapshot(ed, member), nil })
	if err != nil {
		return editionSnapshot{}, err
	}
	return v.(editionSnapshot), nil
}

// editionData is the edition page.
type editionData struct {
	ID, Name, Dates, Venue string
	Capacity, Taken, Left  string
	Waitlisted             string
	Full                   bool
	WaitlistOpen           bool
	CancelBy               time.Time
	Opens, Closes          time.Time
	// NotYet and Closed: outside the registration window, no form.
	NotYet, Closed bool
	Tracks         []trackGroup

	// The registration form, for signed-in members without a registration.
	SignedIn    bool
	CanRegister bool
	LogInHref   string
	Mine        string // the visitor's registration page, when they have one
	Organizer   bool
	Attendees   string
	Form        *web.Form
	TicketTypes []ticketOption
	FormKey     string
	Existing    string // the registration a duplicate refers to
}

type trackGroup struct {
	Name     string // "" for sessions outside any track
	Sessions []sessionRow
}

type sessionRow struct {
	ID, Title, Slot, Room string
	InputID               string
	StartsAt              time.Time
	Capacity, Taken, Left string
	Waitlisted            string
	Full                  bool
	Checked               bool
}

type ticketOption struct {
	ID, Name   string
	InviteOnly bool
	SoldOut    bool
	Selected   bool
}

func sessionInputID(id string) string { return "session-" + id }

func (p *Pages) edition(w http.ResponseWriter, r *http.Request) {
	snap, err := p.loadEdition(r, chi.URLParam(r, "edition"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	form := web.NewForm()
	form.Set("ticket_type", "general")
	p.renderEdition(w, r, http.StatusOK, snap, form, nil, "")
}

func (p *Pages) renderEdition(w http.ResponseWriter, r *http.Request, status int, snap editionSnapshot, form *web.Form, chosen []string, existing string) {
	tr := p.tr(r)
	taken := snap.Confirmed + snap.Offered
	d := editionData{
		ID: snap.ID, Name: nameIn(tr, snap.NameZH, snap.NameEN), Dates: dateRange(tr, snap.StartsOn, snap.EndsOn), Venue: snap.Venue,
		Capacity: tr.Number(int64(snap.Capacity)), Taken: tr.Number(int64(taken)), Left: tr.Number(int64(max(0, snap.Capacity-taken))),
		Waitlisted: tr.Number(int64(snap.Waitlisted)), Full: taken >= snap.Capacity,
		WaitlistOpen: snap.Waitlisted < snap.Waitlist, CancelBy: snap.CancelBy, Opens: snap.Opens, Closes: snap.Closes,
		Form: form, FormKey: events.NewID().String(), LogInHref: pathLogIn + "?next=" + url.QueryEscape(editionPath(snap.ID)),
	}
	if existing != "" {
		d.Existing = registrationPath(existing)
	}
	now := p.s.now()
	d.NotYet = !snap.Opens.IsZero() && now.Before(snap.Opens)
	d.Closed = !snap.Closes.IsZero() && !now.Before(snap.Closes)
	who, signedIn := auth.FromContext(r.Context())
	d.SignedIn = signedIn
	if signedIn {
		d.Organizer = who.HasRole(auth.RoleOrganizer)
		d.Attendees = attendeesPath(snap.ID)
		if snap.Mine != "" {
			d.Mine = registrationPath(snap.Mine)
		} else {
			d.CanRegister = who.HasRole(auth.RoleMember) && (!d.Full || d.WaitlistOpen) && !d.NotYet && !d.Closed
		}
	}
	groups := map[string]int{}
	for _, t := range snap.Tracks {
		groups[t.ID] = len(d.Tracks)
		d.Tracks = append(d.Tracks, trackGroup{Name: nameIn(tr, t.NameZH, t.NameEN)})
	}
	other := -1
	for _, s := range snap.Sessions {
		g, ok := groups[s.Track]
		if !ok {
			if other < 0 {
				other = len(d.Tracks)
				d.Tracks = append(d.Tracks, trackGroup{})
			}
			g = other
		}
		st := s.Confirmed + s.Offered
		d.Tracks[g].Sessions = append(d.Tracks[g].Sessions, sessionRow{
			ID: s.ID, Title: s.Title, Slot: slot(tr, s.StartsAt, s.EndsAt), Room: s.Room, InputID: sessionInputID(s.ID),
			StartsAt: s.StartsAt, Capacity: tr.Number(int64(s.Capacity)), Taken: tr.Number(int64(st)),
			Left: tr.Number(int64(max(0, s.Capacity-st))), Waitlisted: tr.Number(int64(s.Waitlisted)),
			Full: st >= s.Capacity, Checked: slices.Contains(chosen, s.ID),
		})
	}
	// A track with no sessions yet says nothing on a programme.
	d.Tracks = slices.DeleteFunc(d.Tracks, func(g trackGroup) bool { return len(g.Sessions) == 0 })
	for i := range d.Tracks {
		slices.SortStableFunc(d.Tracks[i].Sessions, func(a, b sessionRow) int { return a.StartsAt.Compare(b.StartsAt) })
	}
	for _, t := range snap.TicketTypes {
		d.TicketTypes = append(d.TicketTypes, ticketOption{ID: t.ID, Name: ticketTypeName(tr, t.ID), InviteOnly: t.InviteOnly,
			SoldOut: t.Quota > 0 && t.Taken >= t.Quota, Selected: form.Value("ticket_type") == t.ID})
	}
	p.t.Render(w, r, status, "edition", web.Page{TitleText: d.Name, Data: d})
}

// refusal is a reason a registration was refused, as a catalogue key and
// its arguments, tied to the form field it is about ("" for the form).
type refusal struct {
	field, key string
	args       []any
}

// explainRegister says, in the pages' words, why ed refuses c. It runs
// only after the decision refused c with a validation error, against the
// same state, so it explains that decision rather than taking another.
func explainRegister(ed *Edition, c Register) []refusal {
	var out []refusal
	add := func(field, key string, args ...any) { out = append(out, refusal{field, key, args}) }
	if len(c.Sessions) > maxSessions {
		add("sessions", "conference.invalid.sessions.too_many", "n", maxSessions)
	}
	seen := map[string]bool{}
	var chosen []*Session
	for _, id := range c.Sessions {
		s := ed.Sessions[id]
		switch {
		case s == nil:
			add("sessions", "conference.invalid.sessions.unknown")
		case seen[id]:
			add("sessions", "conference.invalid.sessions.twice", "session", s.Title)
		default:
			seen[id] = true
			chosen = append(chosen, s)
		}
	}
	for i, a := range chosen {
		for _, b := range chosen[i+1:] {
			if a.StartsAt.Before(b.EndsAt) && b.StartsAt.Before(a.EndsAt) {
				add("sessions", "conference.invalid.sessions.clash", "first", a.Title, "second", b.Title)
			}
		}
	}
	ticket := cmp.Or(c.TicketType, "general")
	tt := ed.TicketTypes[ticket]
	switch {
	case tt == nil:
		add("ticket_type", "conference.invalid.ticket_type.unknown")
	case c.InviteCode != "":
		inv := ed.Invites[hashCode(c.InviteCode)]
		switch {
		case inv == nil || inv.TicketType != ticket:
			add("invite_code", "conference.invalid.invite_code.wrong")
		case inv.Used >= inv.MaxUses:
			add("invite_code", "conference.invalid.invite_code.used_up")
		}
	case tt.InviteOnly:
		add("invite_code", "conference.invalid.invite_code.required")
	}
	return out
}

// fieldOf maps an API field name ("sessions[2]") to the form's.
func fieldOf(apiField string) string {
	if strings.HasPrefix(apiField, "sessions") {
		return "sessions"
	}
	return apiField
}

// registerOutcome is what the ledger answered a page's registration.
type registerOutcome struct {
	placement Placement
	problems  []refusal
	existing  string
	// hasSessions: the edition has a programme to choose from.
	hasSessions bool
}

func (p *Pages) register(w http.ResponseWriter, r *http.Request) {
	edition := chi.URLParam(r, "edition")
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
	tr := p.tr(r)
	pf := r.PostForm
	c := Register{Member: who.UserID, Name: who.DisplayName, TicketType: strings.TrimSpace(pf.Get("ticket_type")),
		InviteCode: strings.TrimSpace(pf.Get("invite_code"))}
	for _, id := range pf["sessions"] {
		if id = strings.TrimSpace(id); id != "" {
			c.Sessions = append(c.Sessions, id)
		}
	}
	form := web.NewForm()
	form.Set("ticket_type", c.TicketType)
	form.Set("invite_code", c.InviteCode)

	// The form carries a key of its own, so that sending it twice (a
	// double click, a reload) places one registration, as the API's
	// Idempotency-Key does.
	key := strings.TrimSpace(pf.Get("form_key"))
	regID := edition + "." + events.NewID().String()
	ik := ""
	if key != "" && len(key) <= 255 {
		c.IdempotencyKey = key
		ik = "conference\x00register\x00" + who.UserID + "\x00" + key
		regID = edition + "." + events.IDFromKey(ik, -1).String()
	}
	c.RegistrationID = regID
	m := events.Metadata{Actor: who.UserID, Subject: who.UserID,
		RequestID: httpserver.RequestID(r.Context()), CorrelationID: httpserver.RequestID(r.Context())}
	v, err := p.s.exec(r.Context(), edition, false, m, ik, func(ed *Edition, now time.Time, emit emit) (any, error) {
		c.At = now
		pl, err := ed.register(c, emit)
		var invalid *ValidationError
		var dup *DuplicateError
		var window *WindowError
		switch {
		case errors.As(err, &window):
			if window.NotYet {
				return registerOutcome{problems: []refusal{{key: "conference.invalid.window.not_yet", args: []any{"at", p.tr(r).DateTime(window.Opens)}}}}, nil
			}
			return registerOutcome{problems: []refusal{{key: "conference.invalid.window.closed", args: []any{"at", p.tr(r).DateTime(window.Closes)}}}}, nil
		case errors.As(err, &invalid):
			out := registerOutcome{problems: explainRegister(ed, c)}
			if len(out.problems) == 0 {
				for _, f := range invalid.Fields {
					out.problems = append(out.problems, refusal{field: fieldOf(f.Field), key: "conference.invalid.other"})
				}
			}
			return out, nil
		case errors.As(err, &dup):
			return registerOutcome{problems: []refusal{{key: "conference.invalid.duplicate"}}, existing: dup.Existing}, nil
		case errors.Is(err, ErrEditionFull):
			return registerOutcome{problems: []refusal{{key: "conference.invalid.full"}}}, nil
		case errors.Is(err, ErrTicketTypeFull):
			return registerOutcome{problems: []refusal{{field: "ticket_type", key: "conference.invalid.ticket_type.sold_out"}}}, nil
		case err != nil:
			return nil, err
		}
		return registerOutcome{placement: pl, hasSessions: len(ed.Sessions) > 0}, nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	out := v.(registerOutcome)
	if len(out.problems) > 0 {
		for _, pr := range out.problems {
			form.Fail(pr.field, tr.T(pr.key, pr.args...))
		}
		snap, err := p.loadEdition(r, edition)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		status := http.StatusUnprocessableEntity
		if out.existing != "" || out.problems[0].field == "" || out.problems[0].key == "conference.invalid.ticket_type.sold_out" {
			status = http.StatusConflict
		}
		p.renderEdition(w, r, status, snap, form, c.Sessions, out.existing)
		return
	}
	p.index.note(who.UserID, out.placement.ID)
	flash := "conference.flash.registered"
	for _, st := range out.placement.Sessions {
		if st.Status == events.StatusWaitlisted {
			flash = "conference.flash.session_waitlisted"
		}
	}
	if len(out.placement.Sessions) == 0 && out.hasSessions {
		// The programme has sessions and none was ticked: say so, so that
		// nobody finds out at the door that a session was full all along.
		flash = "conference.flash.registered_no_sessions"
	}
	if out.placement.Status == events.StatusWaitlisted {
		flash = "conference.flash.waitlisted"
	}
	p.ui.SetFlash(w, r, flash)
	http.Redirect(w, r, registrationPath(out.placement.ID), http.StatusSeeOther)
}

func isOrganizer(r *http.Request) bool { return hasRole(r, auth.RoleOrganizer) }

func hasRole(r *http.Request, roles ...string) bool {
	who, ok := auth.FromContext(r.Context())
	if !ok {
		return false
	}
	for _, role := range roles {
		if who.HasRole(role) {
			return true
		}
	}
	return false
}
