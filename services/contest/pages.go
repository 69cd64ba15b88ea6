package contest

import (
	"cmp"
	"context"
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

// Pages are the contest's pages under /contest/: the contests, a contest
// with its team forms, the team page (entry form and timeline), the judge
// queue and scoring form, and the results with the public gallery.
type Pages struct {
	s  *Service
	ui *web.UI
	t  *web.Templates
}

// Pages parses the contest pages into ui's layout; a template or
// catalogue error stops start-up.
func (s *Service) Pages(ui *web.UI) (*Pages, error) {
	t, err := ui.Load(pageFiles)
	if err != nil {
		return nil, fmt.Errorf("contest pages: %w", err)
	}
	return &Pages{s: s, ui: ui, t: t}, nil
}

// maxFormBytes bounds a page form; the entry form with a long summary is
// the largest.
const maxFormBytes = 32 << 10

const pathLogIn = "/identity/login"

func contestPath(id string) string { return "/contest/" + url.PathEscape(id) + "/" }

// Mount adds the pages to r; session recognises the visitor.
func (p *Pages) Mount(r chi.Router, session ...func(http.Handler) http.Handler) {
	r.Route("/contest", func(r chi.Router) {
		r.Use(p.ui.Middleware)
		r.Use(session...)
		r.Use(httpserver.LimitBody(maxFormBytes))
		r.NotFound(p.ui.NotFound)
		r.Get("/", p.contests)
		r.Get("/{contest}", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, contestPath(chi.URLParam(r, "contest")), http.StatusMovedPermanently)
		})
		r.Get("/{contest}/", p.contest)
		r.Get("/{contest}/gallery", p.gallery)
		r.Post("/{contest}/teams", p.createTeam)
		r.Post("/{contest}/join", p.join)
		r.Get("/{contest}/team", p.team)
		r.Post("/{contest}/team", p.saveEntry)
		r.Get("/{contest}/judging", p.queue)
		r.Get("/{contest}/judging/{team}", p.scoreForm)
		r.Post("/{contest}/judging/{team}", p.score)
		r.Get("/{contest}/teams/{team}/attachments/{sha256}", p.download)
		p.mountStaff(r)
		p.mountAudit(r)
	})
}

// download serves an attachment to a visitor known by the page session:
// the pages link here rather than to the API, which takes bearer tokens
// only. The API handler decides who may have the file.
func (p *Pages) download(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.requireVisitor(w, r); !ok {
		return
	}
	p.s.handleDownload(w, r)
}

func (p *Pages) tr(r *http.Request) web.Translator { return p.t.Translator(web.LanguageOf(r)) }

func (p *Pages) requireVisitor(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	who, ok := auth.FromContext(r.Context())
	if !ok {
		http.Redirect(w, r, pathLogIn+"?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
	}
	return who, ok
}

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
	case errors.Is(err, ErrContestNotFound), errors.Is(err, ErrTeamNotFound), errors.Is(err, ErrEntryNotFound), errors.Is(err, ErrNotJudge):
		p.ui.NotFound(w, r)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
	default:
		p.ui.Error(w, r, err)
	}
}

func nameIn(tr web.Translator, zh, en string) string {
	if tr.Lang == web.Chinese {
		return cmp.Or(strings.TrimSpace(zh), en)
	}
	return cmp.Or(strings.TrimSpace(en), zh)
}

// formFail puts a domain error on the form in the visitor's language: a
// field error gets its field's message, anything else a message for the
// whole form. It reports whether the error was one a form can show.
func formFail(tr web.Translator, f *web.Form, err error) bool {
	var invalid *ValidationError
	var late *LateError
	switch {
	case errors.As(err, &invalid):
		for _, fe := range invalid.Fields {
			field, _, _ := strings.Cut(fe.Field, "[")
			field, _, _ = strings.Cut(field, ".")
			key := "contest.error.field." + field
			if !tr.Has(key) {
				key = "contest.error.field.other"
			}
			f.Fail(field, tr.T(key))
		}
	case errors.As(err, &late):
		f.Fail("", tr.T("contest.error.late", "deadline", tr.DateTime(late.Deadline)))
	default:
		key := ""
		for k, e := range map[string]error{
			"already_in_team": ErrAlreadyInTeam, "team_full": ErrTeamFull, "bad_code": ErrBadInviteCode,
			"code_expired": ErrInviteExpired, "roster_locked": ErrRosterLocked, "conflict": ErrConflictOfInterest,
			"wrong_phase": ErrWrongPhase,
		} {
			if errors.Is(err, e) {
				key = k
			}
		}
		if key == "" {
			return false
		}
		field := ""
		if key == "bad_code" || key == "code_expired" {
			field = "code"
		}
		f.Fail(field, tr.T("contest.error."+key))
	}
	return true
}

type contestRow struct {
	Href, Name, Phase string
	Year, Entries     int
}

// listOf joins names as the visitor's language lists them.
func listOf(tr web.Translator, names []string) string {
	if tr.Lang == web.Chinese {
		return strings.Join(names, "、")
	}
	return strings.Join(names, ", ")
}

func phaseName(tr web.Translator, phase string) string {
	if k := "contest.phase." + phase; tr.Has(k) {
		return tr.T(k)
	}
	return phase
}

func (p *Pages) contests(w http.ResponseWriter, r *http.Request) {
	tr := p.tr(r)
	var rows []contestRow
	for _, c := range p.s.public.list() {
		rows = append(rows, contestRow{Href: contestPath(c.ID), Name: nameIn(tr, c.NameZH, c.NameEN), Phase: phaseName(tr, c.Phase), Year: c.Year, Entries: c.Entries})
	}
	who, _ := auth.FromContext(r.Context())
	p.t.Render(w, r, http.StatusOK, "contests", web.Page{Title: "contest.contests.title", Data: map[string]any{"Contests": rows,
		"Organizer": who.HasRole(auth.RoleOrganizer)}})
}

type phaseRow struct {
	Name     string
	From, To time.Time
	Current  bool
}

type contestData struct {
	ID, Name, Href string
	Year           int
	Phase          string
	Phases         []phaseRow
	Tracks         []string
	Criteria       []string
	Scale          string
	TeamSize       int
	SignedIn       bool
	MyTeam         string // href of the visitor's team page
	CanForm        bool   // rosters open: the create and join forms show
	Judge          bool
	Staff          string // the back office, for organisers
	Published      bool
	CreateForm     *web.Form
	JoinForm       *web.Form
}

func (p *Pages) loadContest(r *http.Request, f func(c *Contest, now time.Time) (any, error)) (any, error) {
	return p.s.read(r.Context(), chi.URLParam(r, "contest"), f)
}

func (p *Pages) contestData(tr web.Translator, c *Contest, now time.Time, who auth.Principal, signedIn bool) contestData {
	d := contestData{ID: c.ID, Name: nameIn(tr, c.NameZH, c.NameEN), Href: contestPath(c.ID), Year: c.Year, Phase: phaseName(tr, c.Phase),
		TeamSize: c.TeamSizeLimit, SignedIn: signedIn, CanForm: c.rosterOpen(now) == nil, Published: c.Published()}
	for _, w := range c.Schedule {
		d.Phases = append(d.Phases, phaseRow{Name: phaseName(tr, w.Phase), From: w.StartsAt, To: w.EndsAt, Current: w.Phase == c.Phase})
	}
	for _, t := range c.Tracks {
		d.Tracks = append(d.Tracks, nameIn(tr, t.NameZH, t.NameEN))
	}
	if c.Rubric != nil {
		for _, cr := range c.Rubric.Criteria {
			d.Criteria = append(d.Criteria, tr.T("contest.rubric.criterion", "name", nameIn(tr, cr.NameZH, cr.NameEN), "weight", strconv.FormatFloat(cr.Weight, 'g', -1, 64)))
		}
		d.Scale = tr.T("contest.rubric.scale", "min", strconv.FormatFloat(c.Rubric.ScaleMin, 'g', -1, 64), "max", strconv.FormatFloat(c.Rubric.ScaleMax, 'g', -1, 64))
	}
	if signedIn {
		if _, ok := c.MemberTeam[who.UserID]; ok {
			d.MyTeam = d.Href + "team"
		}
		d.Judge = c.Judges[who.UserID] != nil && who.HasRole(auth.RoleJudge)
		if who.HasRole(auth.RoleOrganizer) {
			d.Staff = staffPath(c.ID)
		}
	}
	return d
}

func (p *Pages) contest(w http.ResponseWriter, r *http.Request) {
	p.renderContest(w, r, http.StatusOK, nil, nil)
}

func (p *Pages) renderContest(w http.ResponseWriter, r *http.Request, status int, create, join *web.Form) {
	tr := p.tr(r)
	who, signedIn := auth.FromContext(r.Context())
	v, err := p.loadContest(r, func(c *Contest, now time.Time) (any, error) { return p.contestData(tr, c, now, who, signedIn), nil })
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := v.(contestData)
	d.CreateForm, d.JoinForm = cmp.Or(create, web.NewFormIn(createScope)), cmp.Or(join, web.NewFormIn(joinScope))
	p.t.Render(w, r, status, "contest", web.Page{TitleText: d.Name, Data: d})
}

// The create and join forms share the contest page and some field names;
// their scopes keep the element ids apart.
const (
	createScope = "create"
	joinScope   = "join"
)

func (p *Pages) createTeam(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	f := web.NewFormIn(createScope)
	for _, k := range []string{"name", "display_name", "organization", "public_name"} {
		f.Set(k, r.PostFormValue(k))
	}
	code := newCode()
	teamID := events.NewID().String()
	m := meta(r)
	_, err := p.s.exec(r.Context(), chi.URLParam(r, "contest"), false, m, "", func(c *Contest, now time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		return c.createTeam(CreateTeam{TeamID: teamID, Name: f.Value("name"), Member: who.UserID, DisplayName: cmp.Or(f.Value("display_name"), who.DisplayName),
			Organization: f.Value("organization"), PublicName: f.Checked("public_name"), Code: code}, now, emit)
	})
	if err != nil {
		if formFail(tr, f, err) {
			p.renderContest(w, r, http.StatusUnprocessableEntity, f, nil)
			return
		}
		p.fail(w, r, err)
		return
	}
	// The code is shown once, on the page that follows: only its hash is kept.
	p.renderTeam(w, r, http.StatusCreated, nil, code)
}

func (p *Pages) join(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	f := web.NewFormIn(joinScope)
	for _, k := range []string{"code", "display_name", "organization", "public_name"} {
		f.Set(k, r.PostFormValue(k))
	}
	_, err := p.s.exec(r.Context(), chi.URLParam(r, "contest"), false, meta(r), "", func(c *Contest, now time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		return c.joinTeam(JoinTeam{Code: f.Value("code"), Member: who.UserID, DisplayName: cmp.Or(f.Value("display_name"), who.DisplayName),
			Organization: f.Value("organization"), PublicName: f.Checked("public_name")}, now, emit)
	})
	if err != nil {
		if formFail(tr, f, err) {
			p.renderContest(w, r, http.StatusUnprocessableEntity, nil, f)
			return
		}
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, contestPath(chi.URLParam(r, "contest"))+"team", http.StatusSeeOther)
}

type stepRow struct {
	At   time.Time
	Text string
}

type teamData struct {
	Contest, ContestHref string
	Name                 string
	Members              string
	InviteCode           string
	InviteUntil          time.Time
	RosterLocked         bool
	Deadline             time.Time
	Open                 bool   // the entry can still be saved
	Closed               string // why it cannot, when it cannot
	Tracks               []trackOption
	Form                 *web.Form
	Entered              bool
	Revision             int
	Receipt              string
	Timeline             []stepRow
	Result               string
	Score                string
	Attachments          []attachmentRow
}

type attachmentRow struct {
	Href, Name, Type string
}

// attachmentRows links each attachment to its page download, which checks
// the caller again: the link itself grants nothing.
func attachmentRows(contest, team string, as []events.SubmissionAttachment) []attachmentRow {
	var out []attachmentRow
	for _, a := range as {
		out = append(out, attachmentRow{Href: "/contest/" + url.PathEscape(contest) + "/teams/" + url.PathEscape(team) +
			"/attachments/" + url.PathEscape(a.SHA256), Name: a.Name, Type: a.ContentType})
	}
	return out
}

type trackOption struct {
	ID, Name string
	Selected bool
}

func stepText(tr web.Translator, c *Contest, s Step) string {
	switch s.Kind {
	case StepSubmitted, StepRevised, StepDraftSaved:
		return tr.T("contest.step."+s.Kind, "revision", strconv.Itoa(s.Revision), "receipt", s.Receipt)
	case StepMemberJoined, StepMemberLeft:
		return tr.T("contest.step."+s.Kind, "name", tr.Person(s.Member))
	case StepQueued:
		name := s.Track
		if t, ok := c.track(s.Track); ok {
			name = nameIn(tr, t.NameZH, t.NameEN)
		}
		return tr.T("contest.step."+s.Kind, "track", name)
	case StepResult:
		if a, ok := c.award(s.Award); ok {
			return tr.T("contest.step.result_award", "award", nameIn(tr, a.NameZH, a.NameEN), "rank", strconv.Itoa(s.Rank))
		}
		if s.Rank > 0 {
			return tr.T("contest.step.result_rank", "rank", strconv.Itoa(s.Rank))
		}
		return tr.T("contest.step.result_none")
	}
	return tr.T("contest.step." + s.Kind)
}

func (p *Pages) team(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.requireVisitor(w, r); !ok {
		return
	}
	p.renderTeam(w, r, http.StatusOK, nil, "")
}

func (p *Pages) renderTeam(w http.ResponseWriter, r *http.Request, status int, form *web.Form, code string) {
	tr := p.tr(r)
	who, _ := auth.FromContext(r.Context())
	v, err := p.loadContest(r, func(c *Contest, now time.Time) (any, error) {
		id, ok := c.MemberTeam[who.UserID]
		if !ok {
			return nil, ErrTeamNotFound
		}
		t := c.Teams[id]
		d := teamData{Contest: nameIn(tr, c.NameZH, c.NameEN), ContestHref: contestPath(c.ID), Name: t.Name, InviteCode: code,
			InviteUntil: t.InviteExpiresAt, RosterLocked: c.rosterOpen(now) != nil, Deadline: c.Deadline(), Entered: t.Entered,
			Open: phaseIndex(c.Phase) <= phaseIndex(events.PhaseSubmission) && (c.Deadline().IsZero() || now.Before(c.Deadline()))}
		switch {
		case d.Open:
		case phaseIndex(c.Phase) > phaseIndex(events.PhaseSubmission) && (c.Deadline().IsZero() || now.Before(c.Deadline())):
			d.Closed = tr.T("contest.team.deadline_phase", "phase", phaseName(tr, c.Phase))
		case !c.Deadline().IsZero():
			d.Closed = tr.T("contest.team.deadline_passed", "deadline", tr.DateTime(c.Deadline()))
		default:
			d.Closed = tr.T("contest.team.closed")
		}
		if !d.Open && t.Entry != nil && !t.Entered {
			d.Closed += " " + tr.T("contest.team.draft_not_judged")
		}
		names := make([]string, len(t.Members))
		for i, m := range t.Members {
			names[i] = tr.Person(m.DisplayName)
		}
		d.Members = listOf(tr, names)
		f := form
		if f == nil {
			f = web.NewForm()
			if e := t.Entry; e != nil {
				for k, v := range map[string]string{"title": e.Title, "summary": e.Summary, "track": e.Track, "repo_url": e.RepoURL, "demo_url": e.DemoURL} {
					f.Set(k, v)
				}
			}
		}
		d.Form = f
		for _, tk := range c.Tracks {
			d.Tracks = append(d.Tracks, trackOption{ID: tk.ID, Name: nameIn(tr, tk.NameZH, tk.NameEN), Selected: f.Value("track") == tk.ID})
		}
		if t.Entry != nil {
			d.Revision, d.Receipt = t.Entry.Revision, t.Entry.Receipt
			d.Attachments = attachmentRows(c.ID, t.ID, t.Entry.Attachments)
		}
		for _, s := range t.OwnerTimeline() {
			d.Timeline = append(d.Timeline, stepRow{At: s.At, Text: stepText(tr, c, s)})
		}
		if c.Published() {
			tv := teamView(c, t, now)
			if tv.Result != nil && tv.Result.Score != nil {
				d.Score = tr.T("contest.team.score", "raw", strconv.FormatFloat(tv.Result.Score.RawMean, 'f', 2, 64), "rank", strconv.Itoa(tv.Result.Score.Rank))
			}
		}
		return d, nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := v.(teamData)
	p.t.Render(w, r, status, "team", web.Page{TitleText: d.Name, Data: d})
}

func (p *Pages) saveEntry(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireVisitor(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	f := web.NewForm()
	for _, k := range []string{"title", "summary", "track", "repo_url", "demo_url"} {
		f.Set(k, r.PostFormValue(k))
	}
	draft := r.PostFormValue("action") == "draft"
	_, err := p.s.exec(r.Context(), chi.URLParam(r, "contest"), false, meta(r), "", func(c *Contest, now time.Time, emit emit) (any, error) {
		id, ok := c.MemberTeam[who.UserID]
		if !ok {
			return nil, ErrTeamNotFound
		}
		var keep []events.SubmissionAttachment
		if e := c.Teams[id].Entry; e != nil {
			keep = e.Attachments
		}
		return c.saveSubmission(SaveSubmission{Team: id, Member: who.UserID, Draft: draft, Title: f.Value("title"), Summary: f.Value("summary"),
			Track: f.Value("track"), RepoURL: f.Value("repo_url"), DemoURL: f.Value("demo_url"), Attachments: keep}, now, emit)
	})
	if err != nil {
		if formFail(tr, f, err) {
			p.renderTeam(w, r, http.StatusUnprocessableEntity, f, "")
			return
		}
		p.fail(w, r, err)
		return
	}
	p.ui.SetFlash(w, r, "contest.flash.saved")
	http.Redirect(w, r, contestPath(chi.URLParam(r, "contest"))+"team", http.StatusSeeOther)
}

// requireJudge is a signed-in judge of this contest; anyone else gets
// "not found", as the API answers.
func (p *Pages) requireJudge(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return who, false
	}
	if !who.HasRole(auth.RoleJudge) {
		p.ui.NotFound(w, r)
		return who, false
	}
	return who, true
}

type queueRow struct {
	Href, Title, Track string
	Scored             bool
	Revision           int
}

func (p *Pages) queue(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireJudge(w, r)
	if !ok {
		return
	}
	tr := p.tr(r)
	v, err := p.loadContest(r, func(c *Contest, _ time.Time) (any, error) {
		if c.Judges[who.UserID] == nil {
			// A judge the organisers have not added yet is told the one
			// thing they need from them: this account's id.
			return map[string]any{"Contest": nameIn(tr, c.NameZH, c.NameEN), "ContestHref": contestPath(c.ID), "Phase": phaseName(tr, c.Phase),
				"NotYet": tr.T("contest.queue.not_yet", "id", who.UserID)}, nil
		}
		var rows []queueRow
		for _, e := range c.Queue(who.UserID) {
			tn := e.Track
			if t, ok := c.track(e.Track); ok {
				tn = nameIn(tr, t.NameZH, t.NameEN)
			}
			rows = append(rows, queueRow{Href: contestPath(c.ID) + "judging/" + url.PathEscape(e.Team), Title: e.Title, Track: tn, Scored: e.Scored, Revision: e.MyRevision})
		}
		return map[string]any{"Contest": nameIn(tr, c.NameZH, c.NameEN), "ContestHref": contestPath(c.ID), "Phase": phaseName(tr, c.Phase), "Entries": rows}, nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.t.Render(w, r, http.StatusOK, "queue", web.Page{Title: "contest.queue.title", Data: v})
}

type criterionRow struct {
	ID, Name, Weight string
	Value, Comment   string
	Error            string
}

type scoreData struct {
	Contest, QueueHref, Action string
	Entry                      EntryView
	Track                      string
	Round                      string
	Scale                      string
	Min, Max                   float64
	Criteria                   []criterionRow
	Form                       *web.Form
	Revision                   int
	Attachments                []attachmentRow
}

func (p *Pages) scoreForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.requireJudge(w, r); !ok {
		return
	}
	p.renderScore(w, r, http.StatusOK, nil)
}

func (p *Pages) renderScore(w http.ResponseWriter, r *http.Request, status int, form *web.Form) {
	who, _ := auth.FromContext(r.Context())
	tr := p.tr(r)
	team := chi.URLParam(r, "team")
	v, err := p.loadContest(r, func(c *Contest, _ time.Time) (any, error) {
		var entry *EntryView
		for _, e := range c.Queue(who.UserID) {
			if e.Team == team {
				entry = &e
			}
		}
		if entry == nil || c.Rubric == nil {
			return nil, ErrEntryNotFound
		}
		d := scoreData{Contest: nameIn(tr, c.NameZH, c.NameEN), QueueHref: contestPath(c.ID) + "judging", Action: contestPath(c.ID) + "judging/" + url.PathEscape(team),
			Entry: *entry, Round: tr.T("contest.round." + entry.Round), Min: c.Rubric.ScaleMin, Max: c.Rubric.ScaleMax, Form: cmp.Or(form, web.NewForm()),
			Scale: tr.T("contest.rubric.scale", "min", strconv.FormatFloat(c.Rubric.ScaleMin, 'g', -1, 64), "max", strconv.FormatFloat(c.Rubric.ScaleMax, 'g', -1, 64))}
		if t, ok := c.track(entry.Track); ok {
			d.Track = nameIn(tr, t.NameZH, t.NameEN)
		}
		d.Attachments = attachmentRows(c.ID, team, entry.Attachments)
		var last *events.ScoreRecorded
		if i, ok := c.Latest[scoreKey{who.UserID, team, entry.Round}]; ok {
			last = &c.Scores[i]
			d.Revision = last.Revision
		}
		for _, cr := range c.Rubric.Criteria {
			row := criterionRow{ID: cr.ID, Name: nameIn(tr, cr.NameZH, cr.NameEN), Weight: strconv.FormatFloat(cr.Weight, 'g', -1, 64)}
			if form != nil {
				row.Value, row.Comment = form.Value("value_"+cr.ID), form.Value("comment_"+cr.ID)
				row.Error = form.Error("value_" + cr.ID)
			} else if last != nil && last.RubricVersion == c.Rubric.Version {
				for _, s := range last.Scores {
					if s.Criterion == cr.ID {
						row.Value, row.Comment = strconv.FormatFloat(s.Value, 'g', -1, 64), s.Comment
					}
				}
			}
			d.Criteria = append(d.Criteria, row)
		}
		return d, nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := v.(scoreData)
	p.t.Render(w, r, status, "score", web.Page{TitleText: d.Entry.Title, Data: d})
}

func (p *Pages) score(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireJudge(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	team := chi.URLParam(r, "team")
	f := web.NewForm()
	for k, vs := range r.PostForm {
		if strings.HasPrefix(k, "value_") || strings.HasPrefix(k, "comment_") {
			f.Set(k, vs[0])
		}
	}
	_, err := p.s.exec(r.Context(), chi.URLParam(r, "contest"), false, meta(r), "", func(c *Contest, _ time.Time, emit emit) (any, error) {
		if c.Rubric == nil {
			return nil, ErrEntryNotFound
		}
		round := events.RoundReview
		if c.Phase == events.PhaseFinals {
			round = events.RoundFinals
		}
		cmd := Score{Judge: who.UserID, Team: team, Round: round}
		for _, cr := range c.Rubric.Criteria {
			raw := strings.TrimSpace(f.Value("value_" + cr.ID))
			v, perr := strconv.ParseFloat(raw, 64)
			if perr != nil {
				f.Fail("value_"+cr.ID, tr.T("contest.error.score_value", "min", strconv.FormatFloat(c.Rubric.ScaleMin, 'g', -1, 64), "max", strconv.FormatFloat(c.Rubric.ScaleMax, 'g', -1, 64)))
				continue
			}
			cmd.Scores = append(cmd.Scores, events.CriterionScore{Criterion: cr.ID, Value: v, Comment: f.Value("comment_" + cr.ID)})
		}
		if !f.Valid() {
			return nil, nil
		}
		_, err := c.score(cmd, emit)
		var invalid *ValidationError
		if errors.As(err, &invalid) {
			for _, fe := range invalid.Fields {
				i, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(strings.Split(fe.Field, ".")[0], "scores["), "]"))
				if i >= 0 && i < len(cmd.Scores) {
					f.Fail("value_"+cmd.Scores[i].Criterion, tr.T("contest.error.score_value", "min", strconv.FormatFloat(c.Rubric.ScaleMin, 'g', -1, 64), "max", strconv.FormatFloat(c.Rubric.ScaleMax, 'g', -1, 64)))
				}
			}
			return nil, nil
		}
		return nil, err
	})
	if err == nil && !f.Valid() {
		p.renderScore(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if err != nil {
		if errors.Is(err, ErrConflictOfInterest) || errors.Is(err, ErrWrongPhase) {
			p.ui.NotFound(w, r)
			return
		}
		p.fail(w, r, err)
		return
	}
	p.ui.SetFlash(w, r, "contest.flash.scored")
	http.Redirect(w, r, contestPath(chi.URLParam(r, "contest"))+"judging", http.StatusSeeOther)
}

type galleryRow struct {
	Title, Summary, Team, Track, Award string
	Members                            string
	Rank                               int
	RepoURL, DemoURL                   string
}

func (p *Pages) gallery(w http.ResponseWriter, r *http.Request) {
	tr := p.tr(r)
	sum, entries, ok := p.s.public.contest(chi.URLParam(r, "contest"))
	if !ok {
		p.ui.NotFound(w, r)
		return
	}
	var rows []galleryRow
	for _, e := range entries {
		var names []string
		for _, m := range e.Members {
			names = append(names, tr.Person(m.DisplayName))
		}
		rows = append(rows, galleryRow{Title: e.Title, Summary: e.Summary, Team: e.TeamName, Track: nameIn(tr, e.TrackNameZH, e.TrackNameEN),
			Award: nameIn(tr, e.AwardNameZH, e.AwardNameEN), Members: listOf(tr, names), Rank: e.Rank, RepoURL: e.RepoURL, DemoURL: e.DemoURL})
	}
	name := nameIn(tr, sum.NameZH, sum.NameEN)
	p.t.Render(w, r, http.StatusOK, "gallery", web.Page{TitleText: name, Data: map[string]any{
		"Contest": name, "ContestHref": contestPath(sum.ID), "Published": sum.Phase == events.PhaseResults, "Entries": rows}})
}
