package alliance

import (
	"embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
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

// Pages are the alliance's pages under /alliance/: the member wall (also
// as it stood on a past date), the directory, member profiles with their
// history, the application form, the applicant's own applications with
// their timelines, and the reviewers' queue and vote form.
type Pages struct {
	s  *Service
	ui *web.UI
	t  *web.Templates
}

// Pages parses the alliance pages into ui's layout; a template or
// catalogue error is returned here, at start-up.
func (s *Service) Pages(ui *web.UI) (*Pages, error) {
	t, err := ui.Load(pageFiles)
	if err != nil {
		return nil, fmt.Errorf("alliance pages: %w", err)
	}
	return &Pages{s: s, ui: ui, t: t}, nil
}

const (
	pathWall    = "/alliance/"
	pathMembers = "/alliance/members"
	pathApply   = "/alliance/apply"
	pathMine    = "/alliance/me"
	pathApps    = "/alliance/applications/"
	pathReview  = "/alliance/review"
	pathLogIn   = "/identity/login"
)

// Mount adds the pages to r. session recognises the logged-in visitor
// (identity's page session in this binary).
func (p *Pages) Mount(r chi.Router, session ...func(http.Handler) http.Handler) {
	r.Route("/alliance", func(r chi.Router) {
		r.Use(p.ui.Middleware)
		r.Use(session...)
		// The application form carries a logo.
		r.Use(httpserver.LimitBody(p.s.cfg.MaxLogoBytes + 64<<10))
		r.NotFound(p.ui.NotFound)
		r.Get("/", p.wall)
		r.Get("/members", p.directory)
		r.Get("/members/{id}", p.member)
		r.Get("/apply", p.applyForm)
		r.Post("/apply", p.apply)
		r.Get("/me", p.mine)
		r.Get("/applications/{id}", p.application)
		r.Post("/applications/{id}", p.saveApplication)
		r.Get("/review", p.queue)
		r.Get("/review/{id}", p.reviewForm)
		r.Post("/review/{id}", p.review)
		p.mountAdmin(r)
	})
}

func (p *Pages) tr(r *http.Request) web.Translator { return p.t.Translator(web.LanguageOf(r)) }

// visitor sends a stranger to the log-in page, to come back here after.
func (p *Pages) visitor(w http.ResponseWriter, r *http.Request) (Who, bool) {
	if _, ok := auth.FromContext(r.Context()); !ok {
		http.Redirect(w, r, pathLogIn+"?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		return Who{}, false
	}
	return whoOf(r), true
}

// name is a profile's name in the visitor's language, the other in brackets.
func name(tr web.Translator, zh, en string) string {
	first, second := zh, en
	if tr.Lang != web.Chinese && en != "" {
		first, second = en, zh
	}
	if first == "" {
		return second
	}
	if second == "" || second == first {
		return first
	}
	return first + "（" + second + "）"
}

// --- wall and directory -------------------------------------------------

type memberCard struct {
	Href, Name, City, Industry, Tier string
	Founding                         bool
	JoinedOn                         string
	LogoURL                          string
}

func (p *Pages) cards(tr web.Translator, ms []MemberProfile) []memberCard {
	out := make([]memberCard, len(ms))
	for i, m := range ms {
		out[i] = memberCard{Href: pathMembers + "/" + url.PathEscape(m.ID), Name: name(tr, m.NameZH, m.NameEN), City: m.City,
			Industry: m.Industry, Tier: tr.T("alliance.tier." + m.Tier), Founding: m.Tier == events.TierFounding,
			JoinedOn: m.JoinedOn, LogoURL: m.LogoURL}
	}
	return out
}

type wallData struct {
	At, Today string
	Past      bool
	Invalid   bool
	Count     string
	Founders  []memberCard
	Others    []memberCard
}

func (p *Pages) wall(w http.ResponseWriter, r *http.Request) {
	tr := p.tr(r)
	d := wallData{Today: dateOf(p.s.now())}
	at, err := parseDay(r.URL.Query().Get("at"))
	status := http.StatusOK
	if err != nil || at > d.Today {
		d.Invalid, at, status = true, "", http.StatusUnprocessableEntity
	}
	d.At, d.Past = at, at != ""
	all := p.cards(tr, p.s.view.wall(at, MemberFilter{}))
	for _, c := range all {
		if c.Founding {
			d.Founders = append(d.Founders, c)
		} else {
			d.Others = append(d.Others, c)
		}
	}
	d.Count = tr.T("alliance.wall.count", "n", tr.Number(int64(len(all))))
	p.t.Render(w, r, status, "wall", web.Page{Title: "alliance.wall.title", Data: d})
}

type directoryData struct {
	Query, City, Industry, Tier string
	Cities, Industries          []string
	Members                     []memberCard
	Count                       string
	// Lapsed are the memberships that lapsed, listed apart so that the
	// directory's members are the active ones.
	Lapsed []memberCard
}

func (p *Pages) directory(w http.ResponseWriter, r *http.Request) {
	tr := p.tr(r)
	f := filterOf(r)
	cities, industries := p.s.view.facets()
	ms := p.cards(tr, p.s.view.wall("", f))
	d := directoryData{Query: f.Query, City: f.City, Industry: f.Industry, Tier: f.Tier, Cities: cities, Industries: industries,
		Members: ms, Count: tr.T("alliance.wall.count", "n", tr.Number(int64(len(ms)))), Lapsed: p.cards(tr, p.s.view.lapsed())}
	p.t.Render(w, r, http.StatusOK, "directory", web.Page{Title: "alliance.directory.title", Data: d})
}

type historyRow struct {
	At   time.Time
	Text string
}

type memberData struct {
	Name, Tier, JoinedOn  string
	Profile               MemberProfile
	History               []historyRow
	Website               string // only http(s) addresses become links
	CanEdit               bool
	Form                  *web.Form
	FoundedYear, TeamSize string
	// Lapsed marks a membership that has lapsed: its page stays, saying so.
	Lapsed   bool
	LapsedOn string
}

func (p *Pages) member(w http.ResponseWriter, r *http.Request) {
	tr := p.tr(r)
	m, hist, status, ok := p.s.view.member(chi.URLParam(r, "id"))
	if !ok || status == MemberWithdrawn {
		p.ui.NotFound(w, r)
		return
	}
	d := memberData{Name: name(tr, m.NameZH, m.NameEN), Tier: tr.T("alliance.tier." + m.Tier), JoinedOn: m.JoinedOn, Profile: m,
		Lapsed: status == MemberLapsed, LapsedOn: m.LapsedOn}
	if u, err := url.Parse(m.Website); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		d.Website = m.Website
	}
	if m.FoundedYear > 0 {
		d.FoundedYear = strconv.Itoa(m.FoundedYear)
	}
	if m.TeamSize > 0 {
		d.TeamSize = tr.Number(int64(m.TeamSize))
	}
	for i := len(hist) - 1; i >= 0; i-- {
		h := hist[i]
		text := tr.T("alliance.history." + h.Kind)
		if len(h.Changed) > 0 {
			text += tr.T("alliance.list_colon") + fieldNames(tr, h.Changed)
		}
		if h.Tier != "" {
			text += tr.T("alliance.list_colon") + tr.T("alliance.tier."+h.Tier)
		}
		d.History = append(d.History, historyRow{At: h.At, Text: text})
	}
	p.t.Render(w, r, http.StatusOK, "member", web.Page{TitleText: d.Name, Data: d})
}

func fieldNames(tr web.Translator, fields []string) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = tr.T("alliance.label." + f)
	}
	sep := ", "
	if tr.Lang == web.Chinese {
		sep = "、"
	}
	return strings.Join(names, sep)
}

// --- applying ------------------------------------------------------------

type applicationData struct {
	Form     *web.Form
	ID       string
	New      bool
	Editable bool
	Status   string
	Reason   string
	MemberID string
	Logo     string
	Timeline []timelineRow
}

type timelineRow struct {
	At       time.Time
	Text     string
	Comment  string
	Reviewer string
	Note     string
}

// formOf fills a form from an application's content.
func formOf(p events.StartupProfile, c events.ApplicantContact) *web.Form {
	f := web.NewForm()
	f.Set("name_zh", p.NameZH)
	f.Set("name_en", p.NameEN)
	f.Set("website", p.Website)
	f.Set("city", p.City)
	f.Set("industry", p.Industry)
	if p.FoundedYear > 0 {
		f.Set("founded_year", strconv.Itoa(p.FoundedYear))
	}
	if p.TeamSize > 0 {
		f.Set("team_size", strconv.Itoa(p.TeamSize))
	}
	f.Set("description", p.Description)
	f.Set("logo", p.Logo)
	f.Set("contact_name", c.Name)
	f.Set("contact_email", c.Email)
	f.Set("contact_phone", c.Phone)
	return f
}

func (p *Pages) applyForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.visitor(w, r); !ok {
		return
	}
	p.t.Render(w, r, http.StatusOK, "application", web.Page{Title: "alliance.apply.title", Data: applicationData{Form: web.NewForm(), New: true, Editable: true}})
}

// readForm reads the posted application form, storing an attached logo.
// Numbers that are not numbers fail here, with the other field errors.
func (p *Pages) readForm(w http.ResponseWriter, r *http.Request, tr web.Translator) (events.StartupProfile, events.ApplicantContact, *web.Form, bool) {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(p.s.cfg.MaxLogoBytes + 64<<10)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		status := http.StatusBadRequest
		if httpserver.IsTooLarge(err) {
			status = http.StatusRequestEntityTooLarge
		}
		p.ui.BadRequest(w, r, status)
		return events.StartupProfile{}, events.ApplicantContact{}, nil, false
	}
	get := r.PostFormValue
	prof := events.StartupProfile{NameZH: get("name_zh"), NameEN: get("name_en"), Website: get("website"), City: get("city"),
		Industry: get("industry"), Description: get("description"), Logo: get("logo")}
	contact := events.ApplicantContact{Name: get("contact_name"), Email: get("contact_email"), Phone: get("contact_phone")}
	form := formOf(prof, contact)
	form.Set("founded_year", get("founded_year"))
	form.Set("team_size", get("team_size"))
	number := func(field string) int {
		v := strings.TrimSpace(get(field))
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			form.Fail(field, tr.T("alliance.invalid.number"))
			return 0
		}
		return n
	}
	prof.FoundedYear, prof.TeamSize = number("founded_year"), number("team_size")
	if r.MultipartForm != nil {
		if files := r.MultipartForm.File["logo_file"]; len(files) > 0 && files[0].Size > 0 {
			f, err := files[0].Open()
			if err == nil {
				var logo string
				logo, err = p.s.UploadLogo(f)
				f.Close()
				if err == nil {
					prof.Logo = logo
					form.Set("logo", logo)
				}
			}
			switch {
			case errors.Is(err, ErrLogoTooLarge):
				form.Fail("logo_file", tr.T("alliance.invalid.logo_too_large", "kib", tr.Number(p.s.cfg.MaxLogoBytes>>10)))
			case errors.Is(err, ErrLogoNotImage):
				form.Fail("logo_file", tr.T("alliance.invalid.logo_not_image"))
			case err != nil:
				p.ui.Error(w, r, err)
				return prof, contact, form, false
			}
		}
	}
	return prof, contact, form, true
}

// failForm turns a command's error into the form's messages; false when
// the error is not the visitor's to fix (and was answered).
func (p *Pages) failForm(w http.ResponseWriter, r *http.Request, tr web.Translator, form *web.Form, err error) (int, bool) {
	var invalid *ValidationError
	var dup *DuplicateError
	switch {
	case errors.As(err, &invalid):
		for _, f := range invalid.Fields {
			msg := f.Message
			if key := "alliance.invalid." + f.Code; tr.Has(key) {
				msg = tr.T(key)
			}
			form.Fail(f.Field, msg)
		}
		return http.StatusUnprocessableEntity, true
	case errors.As(err, &dup):
		switch {
		case dup.MemberID != "":
			form.Fail("name_zh", tr.T("alliance.invalid.member", "name", dup.Name))
		case dup.Mine:
			form.FailLink("name_zh", tr.T("alliance.invalid.open_mine", "name", dup.Name),
				tr.T("alliance.invalid.open_mine_link"), pathApps+url.PathEscape(dup.ApplicationID))
		default:
			// Someone else's application is not the visitor's to see.
			form.Fail("name_zh", tr.T("alliance.invalid.open_other", "name", dup.Name))
		}
		return http.StatusConflict, true
	case errors.Is(err, ErrNotEditable), errors.Is(err, ErrNotSubmittable), errors.Is(err, ErrClosed),
		errors.Is(err, ErrNotUnderReview), errors.Is(err, ErrAlreadyVoted):
		form.Fail("", tr.T("alliance.invalid.state"))
		return http.StatusConflict, true
	case errors.Is(err, ErrOwnApplication):
		form.Fail("", tr.T("alliance.invalid.own"))
		return http.StatusForbidden, true
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrNotYours):
		p.ui.NotFound(w, r)
		return 0, false
	}
	p.ui.Error(w, r, err)
	return 0, false
}

func (p *Pages) apply(w http.ResponseWriter, r *http.Request) {
	who, ok := p.visitor(w, r)
	if !ok {
		return
	}
	tr := p.tr(r)
	prof, contact, form, ok := p.readForm(w, r, tr)
	if !ok {
		return
	}
	again := func(status int) {
		p.t.Render(w, r, status, "application", web.Page{Title: "alliance.apply.title", Data: applicationData{Form: form, New: true, Editable: true, Logo: form.Value("logo")}})
	}
	if !form.Valid() {
		again(http.StatusUnprocessableEntity)
		return
	}
	id, err := p.s.CreateApplication(r.Context(), who, prof, contact, "")
	if err == nil && r.PostFormValue("action") == "submit" {
		_, err = p.s.SubmitApplication(r.Context(), who, id)
		if err != nil {
			// The draft is kept; its page shows why it was not submitted.
			p.showApplication(w, r, who, id, form, err)
			return
		}
		p.ui.SetFlash(w, r, "alliance.flash.submitted")
	} else if err == nil {
		p.ui.SetFlash(w, r, "alliance.flash.saved")
	}
	if err != nil {
		if status, ok := p.failForm(w, r, tr, form, err); ok {
			again(status)
		}
		return
	}
	http.Redirect(w, r, pathApps+id, http.StatusSeeOther)
}

type mineData struct {
	Applications []mineRow
	Members      []memberCard
}

type mineRow struct {
	Href, Name, Status string
	Updated            time.Time
}

func (p *Pages) mine(w http.ResponseWriter, r *http.Request) {
	who, ok := p.visitor(w, r)
	if !ok {
		return
	}
	tr := p.tr(r)
	var d mineData
	for _, a := range p.s.view.myApplications(who.UserID) {
		d.Applications = append(d.Applications, mineRow{Href: pathApps + a.ID, Name: name(tr, a.NameZH, a.NameEN),
			Status: tr.T("alliance.status." + a.Status), Updated: a.Updated})
	}
	d.Members = p.cards(tr, p.s.view.memberOwnedBy(who.UserID))
	p.t.Render(w, r, http.StatusOK, "mine", web.Page{Title: "alliance.mine.title", Data: d})
}

func (p *Pages) timelineRows(tr web.Translator, entries []TimelineEntry) []timelineRow {
	rows := make([]timelineRow, 0, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		text := tr.T("alliance.kind." + e.Kind)
		switch {
		case e.Kind == "review":
			text = tr.T("alliance.vote." + e.Vote)
		case len(e.Changed) > 0:
			text += tr.T("alliance.list_colon") + fieldNames(tr, e.Changed)
		}
		if e.DecidedBy == events.DecidedByOrganizer {
			text += tr.T("alliance.kind.by_organizer")
		}
		comment := e.Comment
		if e.Reason != "" {
			comment = e.Reason
		}
		reviewer := e.Reviewer
		if e.reviewerErased {
			reviewer = tr.Person("")
		}
		rows = append(rows, timelineRow{At: e.At, Text: text, Comment: comment, Reviewer: reviewer, Note: e.Note})
	}
	return rows
}

// showApplication renders the applicant's page of an application; form
// and err carry a failed save.
func (p *Pages) showApplication(w http.ResponseWriter, r *http.Request, who Who, id string, form *web.Form, err error) {
	tr := p.tr(r)
	a, lerr := p.s.Application(r.Context(), who, id)
	if lerr != nil || a.Applicant != who.UserID {
		if lerr == nil || errors.Is(lerr, ErrNotFound) {
			p.ui.NotFound(w, r)
		} else {
			p.ui.Error(w, r, lerr)
		}
		return
	}
	status := http.StatusOK
	if form == nil {
		form = formOf(a.Profile, a.Contact)
	}
	if err != nil {
		var ok bool
		if status, ok = p.failForm(w, r, tr, form, err); !ok {
			return
		}
	}
	d := applicationData{Form: form, ID: a.ID, Status: tr.T("alliance.status." + a.Status), Reason: a.Reason, MemberID: a.MemberID,
		Editable: a.Status == StatusDraft || a.Status == StatusChangesRequested, Logo: form.Value("logo"),
		Timeline: p.timelineRows(tr, p.s.view.timeline(a.ID, false))}
	p.t.Render(w, r, status, "application", web.Page{TitleText: name(tr, a.Profile.NameZH, a.Profile.NameEN), Data: d})
}

func (p *Pages) application(w http.ResponseWriter, r *http.Request) {
	who, ok := p.visitor(w, r)
	if !ok {
		return
	}
	p.showApplication(w, r, who, chi.URLParam(r, "id"), nil, nil)
}

func (p *Pages) saveApplication(w http.ResponseWriter, r *http.Request) {
	who, ok := p.visitor(w, r)
	if !ok {
		return
	}
	id := chi.URLParam(r, "id")
	tr := p.tr(r)
	prof, contact, form, ok := p.readForm(w, r, tr)
	if !ok {
		return
	}
	if !form.Valid() {
		p.showApplication(w, r, who, id, form, nil)
		return
	}
	var err error
	flash := "alliance.flash.saved"
	switch r.PostFormValue("action") {
	case "withdraw":
		_, err = p.s.WithdrawApplication(r.Context(), who, id)
		flash = "alliance.flash.withdrawn"
	case "submit":
		if _, err = p.s.EditApplication(r.Context(), who, id, prof, contact); err == nil {
			_, err = p.s.SubmitApplication(r.Context(), who, id)
			flash = "alliance.flash.submitted"
		}
	default:
		_, err = p.s.EditApplication(r.Context(), who, id, prof, contact)
	}
	if err != nil {
		p.showApplication(w, r, who, id, form, err)
		return
	}
	p.ui.SetFlash(w, r, flash)
	http.Redirect(w, r, pathApps+id, http.StatusSeeOther)
}

// --- reviewing -----------------------------------------------------------

type queueData struct {
	Rows      []queueRow
	Status    string
	Organizer bool // links to the organisers' pages
}

type queueRow struct {
	Href, Name, Status string
	Round              int
	Updated            time.Time
	Voted              bool
}

// staff answers a visitor who is not a reviewer or organiser with the
// not-found page: the queue's existence is nothing to advertise.
func (p *Pages) staff(w http.ResponseWriter, r *http.Request) (Who, bool) {
	who, ok := p.visitor(w, r)
	if ok && !who.staff() {
		p.ui.NotFound(w, r)
		return who, false
	}
	return who, ok
}

func (p *Pages) queue(w http.ResponseWriter, r *http.Request) {
	who, ok := p.staff(w, r)
	if !ok {
		return
	}
	tr := p.tr(r)
	status := r.URL.Query().Get("status")
	if status == "" {
		status = StatusSubmitted
	}
	if status == "all" {
		status = ""
	}
	var d queueData
	d.Status, d.Organizer = status, who.Organizer
	for _, a := range p.s.view.queue(who.UserID, status) {
		d.Rows = append(d.Rows, queueRow{Href: pathReview + "/" + a.ID, Name: name(tr, a.NameZH, a.NameEN),
			Status: tr.T("alliance.status." + a.Status), Round: a.Round, Updated: a.Updated, Voted: p.s.view.votedBy(a.ID, who.UserID)})
	}
	p.t.Render(w, r, http.StatusOK, "queue", web.Page{Title: "alliance.queue.title", Data: d})
}

type reviewData struct {
	Form              *web.Form
	ID, Name, Status  string
	App               applicationJSON
	Timeline          []timelineRow
	CanVote           bool
	Organizer         bool
	Own               bool
	ApplicantErased   bool
	Policy            events.DecisionPolicy
	FoundedYear, Team string
}

func (p *Pages) showReview(w http.ResponseWriter, r *http.Request, who Who, id string, form *web.Form, status int) {
	tr := p.tr(r)
	a, err := p.s.Application(r.Context(), who, id)
	if errors.Is(err, ErrNotFound) || err == nil && a.Status == StatusDraft {
		p.ui.NotFound(w, r)
		return
	}
	if err != nil {
		p.ui.Error(w, r, err)
		return
	}
	policy, err := p.s.Policy(r.Context())
	if err != nil {
		p.ui.Error(w, r, err)
		return
	}
	if form == nil {
		form = web.NewForm()
	}
	own := a.Applicant == who.UserID
	d := reviewData{Form: form, ID: a.ID, Name: name(tr, a.Profile.NameZH, a.Profile.NameEN), Status: tr.T("alliance.status." + a.Status),
		App: toJSON(a, who), Timeline: p.timelineRows(tr, p.s.view.timeline(a.ID, !own)), Own: own, Policy: policy,
		CanVote: a.Status == StatusSubmitted && !own && !p.s.view.votedBy(a.ID, who.UserID), Organizer: who.Organizer && !own,
		ApplicantErased: p.s.ApplicantErased(a)}
	p.t.Render(w, r, status, "review", web.Page{TitleText: d.Name, Data: d})
}

func (p *Pages) reviewForm(w http.ResponseWriter, r *http.Request) {
	who, ok := p.staff(w, r)
	if !ok {
		return
	}
	p.showReview(w, r, who, chi.URLParam(r, "id"), nil, http.StatusOK)
}

func (p *Pages) review(w http.ResponseWriter, r *http.Request) {
	who, ok := p.staff(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	tr := p.tr(r)
	id := chi.URLParam(r, "id")
	form := web.NewForm()
	for _, f := range []string{"vote", "comment", "note", "decision"} {
		form.Set(f, r.PostFormValue(f))
	}
	var err error
	if d := r.PostFormValue("decision"); d != "" {
		if !who.Organizer {
			p.ui.NotFound(w, r)
			return
		}
		_, err = p.s.DecideApplication(r.Context(), who, id, Decision{Outcome: d, Comment: r.PostFormValue("comment")})
	} else {
		_, err = p.s.VoteOnApplication(r.Context(), who, id, Vote{Vote: r.PostFormValue("vote"), Comment: r.PostFormValue("comment"), Note: r.PostFormValue("note")})
	}
	if err != nil {
		status, ok := p.failForm(w, r, tr, form, err)
		if ok {
			p.showReview(w, r, who, id, form, status)
		}
		return
	}
	p.ui.SetFlash(w, r, "alliance.flash.voted")
	http.Redirect(w, r, pathReview+"/"+id, http.StatusSeeOther)
}
