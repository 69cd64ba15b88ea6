package conference

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

// The organisers' back-office pages: create and edit an edition, its
// tracks, sessions, ticket types and invite codes on one page, attendee
// lists with filters (as they stand or stood), and a capacity change shown
// before it is made. They run the same commands as the API.

func managePath(edition string) string { return editionPath(edition) + "manage" }

// venueZone is the clock the forms' times are typed in: the conference
// is held in Hangzhou, and organisers think in its time.
var venueZone = shanghai

const formTime = "2006-01-02T15:04" // <input type="datetime-local">

func (p *Pages) mountBackOffice(r chi.Router) {
	r.Get("/new", p.newEditionForm)
	r.Post("/new", p.createEdition)
	r.Get("/{edition}/manage", p.manage)
	r.Post("/{edition}/manage", p.manageAction)
	r.Get("/{edition}/manage/edit", p.editForm)
	r.Post("/{edition}/manage/edit", p.saveEdit)
	r.Get("/{edition}/manage/attendees", p.attendeeList)
	r.Get("/{edition}/manage/attendees.csv", p.attendeeCSV)
	r.Get("/{edition}/manage/capacity", p.capacityPreview)
	r.Post("/{edition}/manage/capacity", p.capacityConfirm)
}

func pageMeta(r *http.Request, who auth.Principal) events.Metadata {
	return events.Metadata{Actor: who.UserID, RequestID: httpserver.RequestID(r.Context()), CorrelationID: httpserver.RequestID(r.Context())}
}

// The domain words its rules in English for the API; the pages say each
// in the visitor's language. A rule is recognised by the format its message
// was made from, and its arguments read back out of the message.
type pageRule struct {
	format, key string
	args        []string
	re          *regexp.Regexp
}

var pageRules = sync.OnceValue(func() []pageRule {
	rules := []pageRule{
		{format: "is required", key: "required"},
		{format: "is required (RFC 3339 time)", key: "required"},
		{format: "is required (zh, en or both)", key: "name_required"},
		{format: "must be 1 to 63 lower-case letters, digits or '-', starting with a letter or digit (like yunqi-2015)", key: "id"},
		{format: "must be 1 to 63 lower-case letters, digits or '-'", key: "id"},
		{format: "must be a whole number from 1 to %d", key: "capacity_range", args: []string{"max"}},
		{format: "must be a date like 2015-10-14", key: "date"},
		{format: "is before starts_on", key: "ends_before_starts"},
		{format: "must be after registration_opens", key: "closes_before_opens"},
		{format: "must be between 0 and 30 days", key: "offer_window"},
		{format: "must be from 0 to %d", key: "range0", args: []string{"max"}},
		{format: "is %d characters long; the limit is %d", key: "too_long", args: []string{"n", "limit"}},
		{format: "is not valid UTF-8 text", key: "bad_text"},
		{format: "cannot be lower than the %d seats already taken", key: "below_taken", args: []string{"n"}},
		{format: "cannot be lower than the %d tickets of this type already taken", key: "quota_below_taken", args: []string{"n"}},
		{format: "must be from 0 (no quota) to %d", key: "quota_range", args: []string{"max"}},
		{format: "is before the edition starts on %s", key: "before_edition", args: []string{"date"}},
		{format: "is after the edition ends on %s", key: "after_edition", args: []string{"date"}},
		{format: "must be after starts_at", key: "end_before_start"},
		{format: "is more than the edition's capacity of %d", key: "over_edition", args: []string{"n"}},
		{format: "is not a track of this edition", key: "unknown_track"},
		{format: "%q is a track of this edition already", key: "track_exists", args: []string{"id"}},
		{format: "must be 6 to 64 characters", key: "code_length"},
		{format: "is not a ticket type of this edition", key: "unknown_ticket_type"},
		{format: "must be from 1 to %d", key: "uses_range", args: []string{"max"}},
		{format: "has been issued already", key: "code_issued"},
		{format: "would leave the session %q outside the edition's days; move the session first", key: "session_outside", args: []string{"title"}},
		{format: "may list at most %d speakers", key: "too_many_speakers", args: []string{"n"}},
		{format: "is empty", key: "empty"},
		{format: "is before the edition was created", key: "before_created"},
		{format: "%q is a word the conference's pages use; choose another id", key: "reserved_id", args: []string{"id"}},
	}
	for i := range rules {
		pattern := regexp.QuoteMeta(rules[i].format)
		for _, verb := range []string{"%d", "%q", "%s"} {
			pattern = strings.ReplaceAll(pattern, regexp.QuoteMeta(verb), `(.*?)`)
		}
		rules[i].re = regexp.MustCompile("^" + pattern + "$")
	}
	return rules
})

// say is a domain message in the visitor's language, falling back on the
// English words when no rule matches.
func say(tr web.Translator, message string) string {
	for _, rule := range pageRules() {
		m := rule.re.FindStringSubmatch(message)
		if m == nil {
			continue
		}
		var args []any
		for i, name := range rule.args {
			v := strings.Trim(m[i+1], `"`)
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				v = tr.Number(n) // grouped as the page's language groups numbers
			}
			args = append(args, name, v)
		}
		if key := "conference.rule." + rule.key; tr.Has(key) {
			return tr.T(key, args...)
		}
	}
	return message
}

// failForm puts a command's refusal on its form, field by field; anything
// else is answered as the page's error.
func (p *Pages) failForm(tr web.Translator, form *web.Form, err error, fieldMap map[string]string) bool {
	var invalid *ValidationError
	if !errors.As(err, &invalid) {
		return false
	}
	for _, f := range invalid.Fields {
		name := f.Field
		if m, ok := fieldMap[name]; ok {
			name = m
		}
		form.Fail(name, say(tr, f.Message))
	}
	return true
}

// editionFields maps the command's field names to the form's.
var editionFields = map[string]string{"name": "name_zh", "name.zh": "name_zh", "name.en": "name_en",
	"offer_window_seconds": "offer_window_hours"}

// editionFormData is the create and edit form.
type editionFormData struct {
	Creating bool
	Action   string
	Back     string
	Form     *web.Form
	Name     string
}

func (p *Pages) newEditionForm(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	f := web.NewForm()
	f.Set("offer_window_hours", "48")
	f.Set("capacity", "")
	p.t.Render(w, r, http.StatusOK, "bo_edition", web.Page{Title: "conference.bo.new.title",
		Data: editionFormData{Creating: true, Action: "/conference/new", Back: pathEditions, Form: f}})
}

// readEditionForm reads the fields both forms share; a value that does
// not parse is failed on the form in the visitor's language.
func readEditionForm(tr web.Translator, r *http.Request, f *web.Form) UpdateEdition {
	var u UpdateEdition
	get := func(name string) string {
		v := strings.TrimSpace(r.PostFormValue(name))
		f.Set(name, v)
		return v
	}
	u.NameZH, u.NameEN = get("name_zh"), get("name_en")
	u.StartsOn, u.EndsOn, u.Venue = get("starts_on"), get("ends_on"), get("venue")
	moment := func(name string) time.Time {
		v := get(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation(formTime, v, venueZone)
		if err != nil {
			f.Fail(name, tr.T("conference.rule.datetime_local"))
		}
		return t
	}
	u.RegistrationOpens, u.RegistrationCloses = moment("registration_opens"), moment("registration_closes")
	u.CancellationDeadline = moment("cancellation_deadline")
	if v := get("offer_window_hours"); v != "" {
		h, err := strconv.ParseFloat(v, 64)
		if err != nil || h < 0 || h > 720 {
			f.Fail("offer_window_hours", tr.T("conference.rule.offer_window"))
		}
		u.OfferWindow = time.Duration(h * float64(time.Hour))
	}
	if v := get("edition_waitlist"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			f.Fail("edition_waitlist", tr.T("conference.rule.whole_number"))
		}
		u.WaitlistLimit = n
	}
	return u
}

func (p *Pages) createEdition(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.requireOrganizer(w, r) || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	f := web.NewForm()
	u := readEditionForm(tr, r, f)
	id := strings.TrimSpace(r.PostFormValue("id"))
	f.Set("id", id)
	capRaw := strings.TrimSpace(r.PostFormValue("capacity"))
	f.Set("capacity", capRaw)
	capacity, err := strconv.Atoi(capRaw)
	if err != nil {
		f.Fail("capacity", tr.T("conference.rule.capacity_range", "max", tr.Number(int64(maxCapacity))))
	}
	c := CreateEdition{ID: id, NameZH: u.NameZH, NameEN: u.NameEN, StartsOn: u.StartsOn, EndsOn: u.EndsOn, Venue: u.Venue,
		Capacity: capacity, OfferWindow: u.OfferWindow, CancellationDeadline: u.CancellationDeadline,
		RegistrationOpens: u.RegistrationOpens, RegistrationCloses: u.RegistrationCloses, WaitlistLimit: u.WaitlistLimit}
	if f.Valid() {
		err = c.validate()
		if err == nil {
			_, err = p.s.exec(r.Context(), c.ID, true, pageMeta(r, who), "", func(ed *Edition, _ time.Time, emit emit) (any, error) {
				return nil, ed.createEdition(c, emit)
			})
		}
		switch {
		case errors.Is(err, ErrEditionExists):
			f.Fail("id", tr.T("conference.rule.edition_exists"))
		case err != nil && !p.failForm(tr, f, err, editionFields):
			p.fail(w, r, err)
			return
		}
	}
	if !f.Valid() {
		p.t.Render(w, r, http.StatusUnprocessableEntity, "bo_edition", web.Page{Title: "conference.bo.new.title",
			Data: editionFormData{Creating: true, Action: "/conference/new", Back: pathEditions, Form: f}})
		return
	}
	p.ui.SetFlash(w, r, "conference.bo.flash.created")
	http.Redirect(w, r, managePath(c.ID), http.StatusSeeOther)
}

func fillEditionForm(f *web.Form, u UpdateEdition) {
	local := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(venueZone).Format(formTime)
	}
	f.Set("name_zh", u.NameZH)
	f.Set("name_en", u.NameEN)
	f.Set("starts_on", u.StartsOn)
	f.Set("ends_on", u.EndsOn)
	f.Set("venue", u.Venue)
	f.Set("registration_opens", local(u.RegistrationOpens))
	f.Set("registration_closes", local(u.RegistrationCloses))
	f.Set("cancellation_deadline", local(u.CancellationDeadline))
	f.Set("offer_window_hours", strconv.FormatFloat(u.OfferWindow.Hours(), 'f', -1, 64))
	f.Set("edition_waitlist", strconv.Itoa(u.WaitlistLimit))
}

func (p *Pages) editForm(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	edition := chi.URLParam(r, "edition")
	u, err := p.s.EditionForm(r.Context(), edition)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	f := web.NewForm()
	fillEditionForm(f, u)
	p.t.Render(w, r, http.StatusOK, "bo_edition", web.Page{Title: "conference.bo.edit.title",
		Data: editionFormData{Action: managePath(edition) + "/edit", Back: managePath(edition), Form: f, Name: nameIn(p.tr(r), u.NameZH, u.NameEN)}})
}

func (p *Pages) saveEdit(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.requireOrganizer(w, r) || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	edition := chi.URLParam(r, "edition")
	f := web.NewForm()
	u := readEditionForm(tr, r, f)
	if f.Valid() {
		_, err := p.s.UpdateEdition(r.Context(), pageMeta(r, who), edition, func(UpdateEdition) UpdateEdition { return u })
		if err != nil && !p.failForm(tr, f, err, editionFields) {
			p.fail(w, r, err)
			return
		}
	}
	if !f.Valid() {
		p.t.Render(w, r, http.StatusUnprocessableEntity, "bo_edition", web.Page{Title: "conference.bo.edit.title",
			Data: editionFormData{Action: managePath(edition) + "/edit", Back: managePath(edition), Form: f, Name: nameIn(tr, u.NameZH, u.NameEN)}})
		return
	}
	p.ui.SetFlash(w, r, "conference.bo.flash.saved")
	http.Redirect(w, r, managePath(edition), http.StatusSeeOther)
}

// manageData is the edition's back-office page.
type manageData struct {
	ID, Name, Public, Edit string
	Attendees, GateDesk    string
	Audit, Capacity        string
	Counts                 ListCounts
	Tracks                 []Track
	Sessions               []manageSession
	TicketTypes            []TicketType
	Invites                []InviteView
	TrackForm, SessionForm *web.Form
	TicketForm, InviteForm *web.Form
	CapacityForm           *web.Form
	TrackOptions           []option
	TicketOptions          []option
	SuggestedCode          string
	EditionCapacity, Dates string
	Registration           string // the window in words
}

type option struct {
	Value, Label string
	Selected     bool
}

type manageSession struct {
	ID, Title, Track, Speakers, Slot, Room string
	Capacity, Taken, Waitlisted            string
	List, Change                           string
}

type manageSnapshot struct {
	counts   ListCounts
	edition  Counts
	tracks   []Track
	sessions []*Session
	types    []TicketType
	invites  []InviteView
	opens    time.Time
	closes   time.Time
}

func (p *Pages) manage(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	p.renderManage(w, r, http.StatusOK, manageForms{})
}

type manageForms struct {
	track, session, ticket, invite, capacity *web.Form
}

func (p *Pages) renderManage(w http.ResponseWriter, r *http.Request, status int, forms manageForms) {
	edition := chi.URLParam(r, "edition")
	v, err := p.s.read(r.Context(), edition, func(ed *Edition) (any, error) {
		snap := manageSnapshot{counts: ed.listCounts(), edition: ed.Counts(), tracks: slices.Clone(ed.Tracks), invites: ed.invites(),
			opens: ed.RegistrationOpens, closes: ed.RegistrationCloses}
		for _, id := range ed.SessionOrder {
			s := *ed.Sessions[id]
			snap.sessions = append(snap.sessions, &s)
		}
		for _, t := range ed.TicketTypes {
			snap.types = append(snap.types, *t)
		}
		slices.SortFunc(snap.types, func(a, b TicketType) int { return strings.Compare(a.ID, b.ID) })
		return snap, nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	snap := v.(manageSnapshot)
	tr := p.tr(r)
	or := func(f *web.Form, scope string) *web.Form {
		if f == nil {
			return web.NewFormIn(scope)
		}
		return f
	}
	d := manageData{ID: edition, Name: nameIn(tr, snap.edition.NameZH, snap.edition.NameEN), Public: editionPath(edition),
		Edit: managePath(edition) + "/edit", Attendees: managePath(edition) + "/attendees", GateDesk: editionPath(edition) + "gate-desk",
		Audit: editionPath(edition) + "audit", Capacity: managePath(edition) + "/capacity",
		Counts: snap.counts, Tracks: snap.tracks, TicketTypes: snap.types, Invites: snap.invites,
		TrackForm: or(forms.track, "track"), SessionForm: or(forms.session, "session"), TicketForm: or(forms.ticket, "ticket"),
		InviteForm: or(forms.invite, "invite"), CapacityForm: or(forms.capacity, "capacity"),
		SuggestedCode: suggestCode(), EditionCapacity: tr.Number(int64(snap.edition.Capacity)),
		Dates: dateRange(tr, snap.edition.StartsOn, snap.edition.EndsOn)}
	if d.CapacityForm.Value("capacity") == "" {
		d.CapacityForm.Set("capacity", strconv.Itoa(snap.edition.Capacity))
	}
	now := p.s.now()
	switch {
	case !snap.opens.IsZero() && now.Before(snap.opens):
		d.Registration = tr.T("conference.editions.opens_at", "at", tr.DateTime(snap.opens))
	case !snap.closes.IsZero() && !now.Before(snap.closes):
		d.Registration = tr.T("conference.editions.closed")
	case !snap.closes.IsZero():
		d.Registration = tr.T("conference.editions.open_until", "at", tr.DateTime(snap.closes))
	default:
		d.Registration = tr.T("conference.editions.open")
	}
	names := map[string]string{}
	for _, t := range snap.tracks {
		names[t.ID] = nameIn(tr, t.NameZH, t.NameEN)
		d.TrackOptions = append(d.TrackOptions, option{Value: t.ID, Label: names[t.ID], Selected: d.SessionForm.Value("track") == t.ID})
	}
	for _, t := range snap.types {
		d.TicketOptions = append(d.TicketOptions, option{Value: t.ID, Label: ticketTypeName(tr, t.ID), Selected: d.InviteForm.Value("ticket_type") == t.ID})
	}
	for _, s := range snap.sessions {
		d.Sessions = append(d.Sessions, manageSession{ID: s.ID, Title: s.Title, Track: names[s.Track], Speakers: strings.Join(s.Speakers, tr.T("conference.bo.list_sep")),
			Slot: slot(tr, s.StartsAt, s.EndsAt), Room: s.Room, Capacity: tr.Number(int64(s.Capacity)),
			Taken: tr.Number(int64(s.Confirmed + s.Offered)), Waitlisted: tr.Number(int64(len(s.Waitlist))),
			List:   managePath(edition) + "/attendees?session=" + url.QueryEscape(s.ID),
			Change: managePath(edition) + "/capacity?session=" + url.QueryEscape(s.ID)})
	}
	p.t.Render(w, r, status, "bo_manage", web.Page{TitleText: tr.T("conference.bo.manage.title", "name", d.Name), Data: d})
}

// suggestCode offers a code hard to guess, for organisers who need one.
func suggestCode() string {
	id := strings.ToUpper(strings.ReplaceAll(events.NewID().String(), "-", ""))
	return "YQ-" + id[len(id)-10:]
}

func (p *Pages) manageAction(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.requireOrganizer(w, r) || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	edition := chi.URLParam(r, "edition")
	m := pageMeta(r, who)
	get := func(f *web.Form, name string) string {
		v := strings.TrimSpace(r.PostFormValue(name))
		f.Set(name, v)
		return v
	}
	number := func(f *web.Form, name string, rule string, args ...any) int {
		v := get(f, name)
		n, err := strconv.Atoi(v)
		if err != nil {
			f.Fail(name, tr.T("conference.rule."+rule, args...))
		}
		return n
	}
	var fatal error
	run := func(f *web.Form, fields map[string]string, decide func(ed *Edition, emit emit) error) bool {
		if !f.Valid() {
			return false
		}
		_, err := p.s.exec(r.Context(), edition, false, m, "", func(ed *Edition, _ time.Time, emit emit) (any, error) {
			return nil, decide(ed, emit)
		})
		switch {
		case err == nil:
			return true
		case errors.Is(err, ErrInviteNotFound):
			f.Fail("", tr.T("conference.bo.invite_gone"))
		case !p.failForm(tr, f, err, fields):
			fatal = err
		}
		return false
	}
	var forms manageForms
	var flash string
	switch r.PostFormValue("action") {
	case "track":
		f := web.NewFormIn("track")
		t := Track{ID: get(f, "id"), NameZH: get(f, "name_zh"), NameEN: get(f, "name_en")}
		forms.track = f
		if run(f, map[string]string{"name": "name_zh", "name.zh": "name_zh", "name.en": "name_en"}, func(ed *Edition, emit emit) error { return ed.addTrack(t, emit) }) {
			flash = "conference.bo.flash.track"
		}
	case "session":
		f := web.NewFormIn("session")
		c := AddSession{ID: get(f, "id"), Title: get(f, "title"), Track: get(f, "track"), Room: get(f, "room")}
		for _, sp := range strings.FieldsFunc(get(f, "speakers"), func(r rune) bool { return r == ',' || r == '，' || r == '、' || r == '\n' }) {
			if sp = strings.TrimSpace(sp); sp != "" {
				c.Speakers = append(c.Speakers, sp)
			}
		}
		day, start, end := get(f, "day"), get(f, "starts"), get(f, "ends")
		var err error
		if c.StartsAt, err = time.ParseInLocation("2006-01-02 15:04", day+" "+start, venueZone); err != nil {
			f.Fail("starts", tr.T("conference.rule.day_time"))
		}
		if c.EndsAt, err = time.ParseInLocation("2006-01-02 15:04", day+" "+end, venueZone); err != nil {
			f.Fail("ends", tr.T("conference.rule.day_time"))
		}
		c.Capacity = number(f, "capacity", "capacity_range", "max", tr.Number(int64(maxCapacity)))
		forms.session = f
		if run(f, map[string]string{"starts_at": "starts", "ends_at": "ends", "speakers[0]": "speakers"}, func(ed *Edition, emit emit) error { return ed.addSession(c, emit) }) {
			flash = "conference.bo.flash.session"
		}
	case "ticket_type":
		f := web.NewFormIn("ticket")
		t := TicketType{ID: get(f, "id"), InviteOnly: get(f, "invite_only") != ""}
		t.Quota = number(f, "quota", "quota_range", "max", tr.Number(int64(maxCapacity)))
		forms.ticket = f
		if run(f, nil, func(ed *Edition, emit emit) error { return ed.defineTicketType(t, emit) }) {
			flash = "conference.bo.flash.ticket_type"
		}
	case "invite":
		f := web.NewFormIn("invite")
		c := IssueInvite{Code: get(f, "code"), TicketType: get(f, "ticket_type")}
		c.MaxUses = number(f, "max_uses", "uses_range", "max", tr.Number(int64(maxCapacity)))
		forms.invite = f
		if run(f, nil, func(ed *Edition, emit emit) error { return ed.issueInvite(c, emit) }) {
			flash = "conference.bo.flash.invite"
		}
	case "revoke_invite":
		f := web.NewFormIn("invite")
		id := r.PostFormValue("invite")
		forms.invite = f
		if run(f, nil, func(ed *Edition, emit emit) error { return ed.revokeInvite(id, emit) }) {
			flash = "conference.bo.flash.invite_revoked"
		}
	default:
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	if fatal != nil {
		p.fail(w, r, fatal)
		return
	}
	if flash == "" {
		p.renderManage(w, r, http.StatusUnprocessableEntity, forms)
		return
	}
	p.ui.SetFlash(w, r, flash)
	http.Redirect(w, r, managePath(edition), http.StatusSeeOther)
}

// attendeesData is the organisers' attendee list.
type attendeesPageData struct {
	Name, Manage, CSV, Session string
	SessionTitle               string
	Filter                     *web.Form
	At                         time.Time
	Counts                     ListCounts
	Rows                       []attendeeRowView
	Statuses, Types, Sessions  []option
	CheckedIn                  []option
}

type attendeeRowView struct {
	AttendeeRow
	StatusText, TicketText string
}

func (p *Pages) attendeeList(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	tr := p.tr(r)
	edition := chi.URLParam(r, "edition")
	q := r.URL.Query()
	form := web.NewFormIn("filter")
	for _, k := range []string{"q", "status", "ticket_type", "checked_in", "session", "at"} {
		form.Set(k, q.Get(k))
	}
	f := AttendeeFilter{Query: q.Get("q"), Status: q.Get("status"), TicketType: q.Get("ticket_type"), CheckedIn: q.Get("checked_in"), Session: q.Get("session")}
	var at time.Time
	if raw := q.Get("at"); raw != "" {
		t, err := time.ParseInLocation(formTime, raw, venueZone)
		if err != nil {
			form.Fail("at", tr.T("conference.rule.datetime_local"))
		} else {
			at = t
		}
	}
	list := AttendeeList{Attendees: []AttendeeRow{}}
	status := http.StatusOK
	if form.Valid() {
		var err error
		list, err = p.s.Attendees(r.Context(), edition, f, at)
		switch {
		case errors.Is(err, ErrSessionNotFound):
			form.Fail("session", tr.T("conference.bo.unknown_session"))
		case err != nil && !p.failForm(tr, form, err, nil):
			p.fail(w, r, err)
			return
		}
	}
	if !form.Valid() {
		status = http.StatusUnprocessableEntity
	}
	snap, err := p.loadEdition(r, edition)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := attendeesPageData{Name: nameIn(tr, snap.NameZH, snap.NameEN), Manage: managePath(edition), Filter: form, At: list.At, Counts: list.Counts,
		CSV: managePath(edition) + "/attendees.csv?" + q.Encode(), Session: f.Session}
	for _, st := range append([]string{""}, append(attendeeStatuses, "all")...) {
		label := tr.T("conference.bo.status.any")
		if st != "" {
			label = tr.T("conference.bo.status." + st)
		}
		d.Statuses = append(d.Statuses, option{Value: st, Label: label, Selected: f.Status == st})
	}
	d.Types = append(d.Types, option{Value: "", Label: tr.T("conference.bo.any"), Selected: f.TicketType == ""})
	for _, t := range snap.TicketTypes {
		d.Types = append(d.Types, option{Value: t.ID, Label: ticketTypeName(tr, t.ID), Selected: f.TicketType == t.ID})
	}
	d.Sessions = append(d.Sessions, option{Value: "", Label: tr.T("conference.bo.whole_edition"), Selected: f.Session == ""})
	for _, s := range snap.Sessions {
		d.Sessions = append(d.Sessions, option{Value: s.ID, Label: s.Title, Selected: f.Session == s.ID})
		if s.ID == f.Session {
			d.SessionTitle = s.Title
		}
	}
	for _, c := range []string{"", "yes", "no"} {
		label := tr.T("conference.bo.any")
		if c != "" {
			label = tr.T("conference.bo.checked_in." + c)
		}
		d.CheckedIn = append(d.CheckedIn, option{Value: c, Label: label, Selected: f.CheckedIn == c})
	}
	for _, a := range list.Attendees {
		d.Rows = append(d.Rows, attendeeRowView{AttendeeRow: a, StatusText: statusText(tr, a.Status), TicketText: ticketTypeName(tr, a.TicketType)})
	}
	p.t.Render(w, r, status, "bo_attendees", web.Page{TitleText: tr.T("conference.bo.attendees.title", "name", d.Name), Data: d})
}

func (p *Pages) attendeeCSV(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	q := r.URL.Query()
	f := AttendeeFilter{Query: q.Get("q"), Status: q.Get("status"), TicketType: q.Get("ticket_type"), CheckedIn: q.Get("checked_in"), Session: q.Get("session")}
	var at time.Time
	if raw := q.Get("at"); raw != "" {
		t, err := time.ParseInLocation(formTime, raw, venueZone)
		if err != nil {
			p.ui.BadRequest(w, r, http.StatusBadRequest)
			return
		}
		at = t
	}
	list, err := p.s.Attendees(r.Context(), chi.URLParam(r, "edition"), f, at)
	var invalid *ValidationError
	if errors.As(err, &invalid) {
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeAttendeeCSV(w, list)
}

// capacityData is the preview of a capacity change.
type capacityData struct {
	Name, Manage, Action string
	SessionTitle         string
	Session              string
	Preview              CapacityPreview
	Form                 *web.Form
	Offers               []capacityOffer
	Ready                bool
	Version              string
}

type capacityOffer struct {
	Name, Registration string
	Until              time.Time
}

func (p *Pages) capacityPreview(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	p.renderCapacity(w, r, r.URL.Query().Get("session"), r.URL.Query().Get("capacity"), "")
}

func (p *Pages) renderCapacity(w http.ResponseWriter, r *http.Request, session, raw, problem string) {
	tr := p.tr(r)
	edition := chi.URLParam(r, "edition")
	snap, err := p.loadEdition(r, edition)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := capacityData{Name: nameIn(tr, snap.NameZH, snap.NameEN), Manage: managePath(edition), Action: managePath(edition) + "/capacity",
		Session: session, Form: web.NewForm()}
	current := snap.Capacity
	if session != "" {
		i := slices.IndexFunc(snap.Sessions, func(s SessionCounts) bool { return s.ID == session })
		if i < 0 {
			p.ui.NotFound(w, r)
			return
		}
		d.SessionTitle, current = snap.Sessions[i].Title, snap.Sessions[i].Capacity
	}
	if raw == "" {
		raw = strconv.Itoa(current)
	}
	d.Form.Set("capacity", raw)
	status := http.StatusOK
	if problem != "" {
		d.Form.Fail("", problem)
		status = http.StatusConflict
	}
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil {
		d.Form.Fail("capacity", tr.T("conference.rule.capacity_range", "max", tr.Number(int64(maxCapacity))))
		status = http.StatusUnprocessableEntity
	} else if r.URL.Query().Has("capacity") || r.Method == http.MethodPost {
		d.Preview, err = p.s.PreviewCapacity(r.Context(), edition, session, n)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		for _, f := range d.Preview.Problems {
			d.Form.Fail("capacity", say(tr, f.Message))
			status = http.StatusUnprocessableEntity
		}
		d.Ready = len(d.Preview.Problems) == 0 && d.Preview.To != d.Preview.From
		d.Version = strconv.FormatUint(d.Preview.Revision, 10)
		for _, o := range d.Preview.Offers {
			d.Offers = append(d.Offers, capacityOffer{Name: o.Name, Registration: o.Registration, Until: o.Until})
		}
	}
	title := tr.T("conference.bo.capacity.title", "name", d.Name)
	p.t.Render(w, r, status, "bo_capacity", web.Page{TitleText: title, Data: d})
}

func (p *Pages) capacityConfirm(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.requireOrganizer(w, r) || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	edition := chi.URLParam(r, "edition")
	session, raw := r.PostFormValue("session"), r.PostFormValue("capacity")
	n, err1 := strconv.Atoi(raw)
	version, err2 := strconv.ParseUint(r.PostFormValue("version"), 10, 64)
	if err1 != nil || err2 != nil {
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	_, err := p.s.ChangeCapacity(r.Context(), pageMeta(r, who), edition, session, n, &version)
	var stale *StaleError
	var invalid *ValidationError
	switch {
	case errors.As(err, &stale):
		// Someone registered or changed the edition meanwhile: show the
		// preview again as it is now, saying why.
		p.renderCapacity(w, r, session, raw, tr.T("conference.bo.capacity.stale"))
		return
	case errors.As(err, &invalid):
		p.renderCapacity(w, r, session, raw, say(tr, invalid.Fields[0].Message))
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	p.ui.SetFlash(w, r, "conference.bo.flash.capacity")
	http.Redirect(w, r, managePath(edition), http.StatusSeeOther)
}
