package contest

import (
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/web"
)

// The organisers' back office: create a contest, move it through its
// phases seeing first what each move does, assign judges, watch scoring,
// compare the rankings, choose finalists and publish.
func (p *Pages) mountStaff(r chi.Router) {
	r.Get("/new", p.newContest)
	r.Post("/new", p.createContest)
	r.Get("/{contest}/staff", p.staff)
	r.Post("/{contest}/staff/phase", p.movePhase)
	r.Post("/{contest}/staff/judges", p.addJudge)
	r.Post("/{contest}/staff/assign", p.assign)
	r.Post("/{contest}/staff/assign/auto", p.autoAssign)
	r.Get("/{contest}/staff/ranking", p.ranking)
	r.Post("/{contest}/staff/finalists", p.chooseFinalists)
	r.Post("/{contest}/staff/results", p.publishResults)
	r.Post("/{contest}/judging/{team}/conflict", p.declareConflict)
}

// declareConflict takes a judge off an entry at their own word; the
// organisers see it in the judges' progress.
func (p *Pages) declareConflict(w http.ResponseWriter, r *http.Request) {
	who, ok := p.requireJudge(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	team := chi.URLParam(r, "team")
	reason := r.PostFormValue("reason")
	_, err := p.s.exec(r.Context(), chi.URLParam(r, "contest"), false, meta(r), "", func(c *Contest, _ time.Time, emit emit) (any, error) {
		// Only an entry in the judge's queue can be declared from here,
		// so the form says nothing about teams the judge cannot see.
		if !slices.ContainsFunc(c.Queue(who.UserID), func(e EntryView) bool { return e.Team == team }) {
			return nil, ErrEntryNotFound
		}
		return nil, c.declareConflict(who.UserID, team, truncate(reason, 500), emit)
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.ui.SetFlash(w, r, "contest.flash.conflict")
	http.Redirect(w, r, contestPath(chi.URLParam(r, "contest"))+"judging", http.StatusSeeOther)
}

// truncate keeps the first n characters: a reason is a note, and a long
// one is cut rather than refused after the judge has made up their mind.
func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

func staffPath(id string) string { return contestPath(id) + "staff" }

// requireOrganizer lets organisers through; a stranger is sent to log in
// and any other member is told the page is for organisers.
func (p *Pages) requireOrganizer(w http.ResponseWriter, r *http.Request) bool {
	who, ok := p.requireVisitor(w, r)
	if !ok {
		return false
	}
	if !who.HasRole(auth.RoleOrganizer) {
		p.t.Render(w, r, http.StatusForbidden, "staff_forbidden", web.Page{Title: "contest.staff.forbidden.title"})
		return false
	}
	return true
}

// The phases of the create form, each with a start and an end field.
var formPhases = []string{events.PhaseRegistration, events.PhaseSubmission, events.PhaseReview, events.PhaseFinals}

// formTime is how datetime-local inputs send a time; it is read in the
// zone pages show times in, so what the organiser types is what they see.
const formTime = "2006-01-02T15:04"

type newContestData struct {
	Form   *web.Form
	Phases []phaseFields
}

type phaseFields struct {
	Name, Starts, Ends string
}

func (p *Pages) newContest(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	f := web.NewForm()
	f.Set("year", strconv.Itoa(p.s.now().In(web.DisplayZone).Year()))
	f.Set("team_size", "5")
	f.Set("scale_min", "1")
	f.Set("scale_max", "10")
	p.renderNew(w, r, http.StatusOK, f)
}

func (p *Pages) renderNew(w http.ResponseWriter, r *http.Request, status int, f *web.Form) {
	tr := p.tr(r)
	d := newContestData{Form: f}
	for _, ph := range formPhases {
		d.Phases = append(d.Phases, phaseFields{Name: phaseName(tr, ph), Starts: ph + "_starts", Ends: ph + "_ends"})
	}
	p.t.Render(w, r, status, "staff_new", web.Page{Title: "contest.staff.new.title", Data: d})
}

// lines splits a textarea into its non-empty lines, each cut at "|".
func lines(s string) [][]string {
	var out [][]string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		parts := strings.Split(l, "|")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		out = append(out, parts)
	}
	return out
}

var createFields = []string{"id", "name_zh", "name_en", "year", "team_size", "tracks", "awards", "scale_min", "scale_max", "criteria"}

func (p *Pages) createContest(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	f := web.NewForm()
	for _, k := range createFields {
		f.Set(k, r.PostFormValue(k))
	}
	for _, ph := range formPhases {
		f.Set(ph+"_starts", r.PostFormValue(ph+"_starts"))
		f.Set(ph+"_ends", r.PostFormValue(ph+"_ends"))
	}
	cmd := CreateContest{ID: strings.TrimSpace(f.Value("id")), NameZH: f.Value("name_zh"), NameEN: f.Value("name_en")}
	number := func(field string) (float64, bool) {
		v, err := strconv.ParseFloat(strings.TrimSpace(f.Value(field)), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			f.Fail(field, tr.T("contest.staff.error."+field))
			return 0, false
		}
		return v, true
	}
	if y, ok := number("year"); ok {
		cmd.Year = int(y)
	}
	if n, ok := number("team_size"); ok {
		cmd.TeamSizeLimit = int(n)
	}
	for i, l := range lines(f.Value("tracks")) {
		if len(l) != 3 {
			f.Fail("tracks", tr.T("contest.staff.error.named_line", "line", strconv.Itoa(i+1)))
			break
		}
		cmd.Tracks = append(cmd.Tracks, events.ContestTrack{ID: l[0], NameZH: l[1], NameEN: l[2]})
	}
	for i, l := range lines(f.Value("awards")) {
		if len(l) != 3 {
			f.Fail("awards", tr.T("contest.staff.error.named_line", "line", strconv.Itoa(i+1)))
			break
		}
		cmd.Awards = append(cmd.Awards, events.ContestAward{ID: l[0], NameZH: l[1], NameEN: l[2]})
	}
	for _, ph := range formPhases {
		var win events.ContestPhaseWindow
		win.Phase = ph
		for _, end := range []string{"_starts", "_ends"} {
			raw := strings.TrimSpace(f.Value(ph + end))
			if raw == "" && ph != events.PhaseRegistration && ph != events.PhaseSubmission {
				continue
			}
			at, err := time.ParseInLocation(formTime, raw, web.DisplayZone)
			if err != nil {
				// Some browsers add seconds to a datetime-local value.
				at, err = time.ParseInLocation(formTime+":05", raw, web.DisplayZone)
			}
			if err != nil {
				f.Fail(ph+end, tr.T("contest.staff.error.time", "phase", phaseName(tr, ph)))
				continue
			}
			if end == "_starts" {
				win.StartsAt = at.UTC()
			} else {
				win.EndsAt = at.UTC()
			}
		}
		if !win.StartsAt.IsZero() || !win.EndsAt.IsZero() {
			cmd.Schedule = append(cmd.Schedule, win)
		}
	}
	rubric := events.RubricPublished{}
	rubric.ScaleMin, _ = number("scale_min")
	rubric.ScaleMax, _ = number("scale_max")
	for i, l := range lines(f.Value("criteria")) {
		var weight float64
		var err error
		if len(l) == 4 {
			weight, err = strconv.ParseFloat(l[3], 64)
		}
		if len(l) != 4 || err != nil {
			f.Fail("criteria", tr.T("contest.staff.error.criterion_line", "line", strconv.Itoa(i+1)))
			break
		}
		rubric.Criteria = append(rubric.Criteria, events.RubricCriterion{ID: l[0], NameZH: l[1], NameEN: l[2], Weight: weight})
	}
	cmd.Rubric = &rubric
	if !f.Valid() {
		p.renderNew(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if !idPattern.MatchString(cmd.ID) || cmd.ID == "new" {
		f.Fail("id", tr.T("contest.staff.error.id"))
		p.renderNew(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	_, err := p.s.exec(r.Context(), cmd.ID, true, meta(r), "", func(c *Contest, _ time.Time, emit emit) (any, error) {
		return nil, c.create(cmd, emit)
	})
	var invalid *ValidationError
	switch {
	case errors.Is(err, ErrContestExists):
		f.Fail("id", tr.T("contest.staff.error.id_taken"))
	case errors.As(err, &invalid):
		for _, fe := range invalid.Fields {
			field := createField(cmd, fe.Field)
			if f.Error(field) != "" {
				continue
			}
			if strings.HasSuffix(field, "_starts") || strings.HasSuffix(field, "_ends") {
				ph, _, _ := strings.Cut(field, "_")
				f.Fail(field, tr.T("contest.staff.error.window", "phase", phaseName(tr, ph)))
				continue
			}
			f.Fail(field, tr.T("contest.staff.error."+field))
		}
	case err != nil:
		p.fail(w, r, err)
		return
	}
	if !f.Valid() {
		p.renderNew(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	p.ui.SetFlash(w, r, "contest.staff.flash.created")
	http.Redirect(w, r, staffPath(cmd.ID), http.StatusSeeOther)
}

// createField names the form field a domain field error belongs to.
func createField(cmd CreateContest, field string) string {
	head, _, _ := strings.Cut(field, "[")
	switch {
	case field == "name.zh":
		return "name_zh"
	case field == "name.en":
		return "name_en"
	case field == "team_size_limit":
		return "team_size"
	case head == "tracks" || head == "awards" || head == "id" || head == "year":
		return head
	case field == "rubric.scale":
		return "scale_max"
	case strings.HasPrefix(field, "rubric.criteria"):
		return "criteria"
	case head == "schedule":
		i, err := strconv.Atoi(strings.TrimSuffix(strings.SplitN(strings.TrimPrefix(field, "schedule["), "]", 2)[0], "]"))
		if err != nil || i < 0 || i >= len(cmd.Schedule) {
			return events.PhaseRegistration + "_starts"
		}
		suffix := "_starts"
		if strings.HasSuffix(field, ".ends_at") {
			suffix = "_ends"
		}
		return cmd.Schedule[i].Phase + suffix
	}
	return "id"
}

// staffData is the back office of one contest.
type staffData struct {
	ID, Name, Href, Phase string
	Staff, Ranking        string
	Next, NextName        string
	Consequences          []string
	Blocked               string
	PhaseForm, JudgeForm  *web.Form
	AssignForm, AutoForm  *web.Form
	Assignable            bool
	Round                 string
	Progress              []progressRow
	Entries               []entryRow
	Judges                []option
	EntryOptions          []option
	Tracks                []trackOption
	Published             bool
}

type progressRow struct {
	Name, Organization                    string
	Assigned, Scored, Conflicts, Excluded int
	Done                                  bool
}

type entryRow struct {
	Team, Title, Track, Judges string
	Status                     string
}

type option struct {
	Value, Label string
	Selected     bool
}

// staffForms are the forms of the back-office page; a refused one comes
// back with its errors, the others fresh.
type staffForms struct{ phase, judge, assign, auto *web.Form }

func (p *Pages) staff(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	p.renderStaff(w, r, http.StatusOK, staffForms{})
}

func orNew(f *web.Form, scope string) *web.Form {
	if f != nil {
		return f
	}
	return web.NewFormIn(scope)
}

// judgeNames joins the names of judges ids in the visitor's language.
func judgeNames(tr web.Translator, c *Contest, ids []string) string {
	var names []string
	for _, id := range ids {
		if j := c.Judges[id]; j != nil {
			names = append(names, tr.Person(j.DisplayName))
		}
	}
	if len(names) == 0 {
		return tr.T("contest.staff.entries.nobody")
	}
	return listOf(tr, names)
}

func (p *Pages) renderStaff(w http.ResponseWriter, r *http.Request, status int, forms staffForms) {
	tr := p.tr(r)
	v, err := p.loadContest(r, func(c *Contest, _ time.Time) (any, error) {
		d := staffData{ID: c.ID, Name: nameIn(tr, c.NameZH, c.NameEN), Href: contestPath(c.ID), Phase: phaseName(tr, c.Phase),
			Staff: staffPath(c.ID), Ranking: staffPath(c.ID) + "/ranking", Published: c.Published(),
			PhaseForm: orNew(forms.phase, "phase"), JudgeForm: orNew(forms.judge, "judge"), AssignForm: orNew(forms.assign, "assign"),
			AutoForm: orNew(forms.auto, "auto"), Assignable: c.assignable() == nil}
		if forms.auto == nil && len(c.JudgeOrder) > 0 {
			d.AutoForm.Set("per_entry", strconv.Itoa(min(2, len(c.JudgeOrder))))
		}
		m := c.PreviewMove()
		d.Next = m.To
		if m.To != "" {
			d.NextName = phaseName(tr, m.To)
			d.Consequences = consequences(tr, c, m)
			if m.Blocked != "" {
				d.Blocked = tr.T("contest.staff.move.blocked_" + m.Blocked)
			}
		}
		round := c.ProgressRound()
		d.Round = tr.T("contest.round." + round)
		for _, pr := range c.Progress(round) {
			d.Progress = append(d.Progress, progressRow{Name: tr.Person(pr.Name), Organization: pr.Organization, Assigned: pr.Assigned, Scored: pr.Scored,
				Conflicts: pr.Conflicts, Excluded: pr.Excluded, Done: pr.Assigned > 0 && pr.Scored == pr.Assigned})
		}
		sel := d.AssignForm.Value("judge")
		for _, id := range c.JudgeOrder {
			d.Judges = append(d.Judges, option{Value: id, Label: tr.Person(c.Judges[id].DisplayName), Selected: id == sel})
		}
		chosen := map[string]bool{}
		for _, t := range strings.Split(d.JudgeForm.Value("tracks"), ",") {
			chosen[t] = true
		}
		for _, t := range c.Tracks {
			d.Tracks = append(d.Tracks, trackOption{ID: t.ID, Name: nameIn(tr, t.NameZH, t.NameEN), Selected: forms.judge == nil || chosen[t.ID]})
		}
		selTeam := d.AssignForm.Value("team")
		for _, t := range c.entries() {
			d.EntryOptions = append(d.EntryOptions, option{Value: t.ID, Label: t.Name + " · " + t.Submitted.Title, Selected: t.ID == selTeam})
			row := entryRow{Team: t.Name, Title: t.Submitted.Title, Judges: judgeNames(tr, c, c.judgesOf(t))}
			if tk, ok := c.track(t.Submitted.Track); ok {
				row.Track = nameIn(tr, tk.NameZH, tk.NameEN)
			}
			d.Entries = append(d.Entries, row)
		}
		return d, nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := v.(staffData)
	p.t.Render(w, r, status, "staff", web.Page{TitleText: d.Name, Data: d})
}

// consequences says in sentences what the next phase move does.
func consequences(tr web.Translator, c *Contest, m PhaseMove) []string {
	n := func(i int) string { return strconv.Itoa(i) }
	var out []string
	switch m.To {
	case events.PhaseSubmission:
		out = append(out, tr.T("contest.staff.move.to_submission", "teams", n(m.Teams)))
		if d := c.Deadline(); !d.IsZero() {
			out = append(out, tr.T("contest.staff.move.deadline", "deadline", tr.DateTime(d)))
		}
		if lock := c.RosterLock(); !lock.IsZero() {
			out = append(out, tr.T("contest.staff.move.roster", "lock", tr.DateTime(lock)))
		}
	case events.PhaseReview:
		out = append(out, tr.T("contest.staff.move.to_review", "submitted", n(m.Submitted), "drafts", n(m.Drafts), "empty", n(m.Empty)))
		var queues []string
		for _, id := range c.JudgeOrder {
			queues = append(queues, tr.T("contest.staff.move.queue", "judge", tr.Person(c.Judges[id].DisplayName), "n", n(m.Queues[id])))
		}
		if len(queues) == 0 {
			out = append(out, tr.T("contest.staff.move.no_judges"))
		} else {
			out = append(out, tr.T("contest.staff.move.queues", "queues", listOf(tr, queues)))
		}
		if len(m.Unjudged) > 0 {
			var names []string
			for _, id := range m.Unjudged {
				names = append(names, c.Teams[id].Name)
			}
			out = append(out, tr.T("contest.staff.move.unjudged", "teams", listOf(tr, names)))
		}
	case events.PhaseFinals:
		out = append(out, tr.T("contest.staff.move.to_finals", "scores", n(m.Scores), "expected", n(m.Expected), "shortlisted", n(m.Shortlist)))
	}
	return out
}

func (p *Pages) movePhase(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	f := web.NewFormIn("phase")
	to := r.PostFormValue("phase")
	_, err := p.s.exec(r.Context(), chi.URLParam(r, "contest"), false, meta(r), "", func(c *Contest, _ time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		err := c.changePhase(to, emit)
		var invalid *ValidationError
		switch {
		case errors.As(err, &invalid):
			next := c.NextPhase()
			switch {
			case phaseIndex(to) > phaseIndex(c.Phase)+1 && next != "" && to != events.PhaseResults:
				f.Fail("phase", tr.T("contest.staff.error.skip", "to", phaseName(tr, to), "from", phaseName(tr, c.Phase), "next", phaseName(tr, next)))
			case to == events.PhaseResults:
				f.Fail("phase", tr.T("contest.staff.error.results_by_publishing"))
			default:
				f.Fail("phase", tr.T("contest.staff.error.backwards", "phase", phaseName(tr, c.Phase)))
			}
			return nil, nil
		case errors.Is(err, ErrNoRubric):
			f.Fail("phase", tr.T("contest.staff.move.blocked_no_rubric"))
			return nil, nil
		}
		return nil, err
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if !f.Valid() {
		p.renderStaff(w, r, http.StatusUnprocessableEntity, staffForms{phase: f})
		return
	}
	p.ui.SetFlash(w, r, "contest.staff.flash.moved")
	http.Redirect(w, r, staffPath(chi.URLParam(r, "contest")), http.StatusSeeOther)
}

func (p *Pages) addJudge(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	f := web.NewFormIn("judge")
	for _, k := range []string{"judge_id", "display_name", "organization"} {
		f.Set(k, r.PostFormValue(k))
	}
	tracks := r.PostForm["tracks"]
	f.Set("tracks", strings.Join(tracks, ","))
	_, err := p.s.exec(r.Context(), chi.URLParam(r, "contest"), false, meta(r), "", func(c *Contest, _ time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		err := c.assignJudge(AssignJudge{Judge: strings.TrimSpace(f.Value("judge_id")), DisplayName: f.Value("display_name"),
			Organization: f.Value("organization"), Tracks: tracks}, emit)
		var invalid *ValidationError
		if errors.As(err, &invalid) {
			for _, fe := range invalid.Fields {
				field, _, _ := strings.Cut(fe.Field, "[")
				if f.Error(field) == "" {
					f.Fail(field, tr.T("contest.staff.error.judge_"+field))
				}
			}
			return nil, nil
		}
		return nil, err
	})
	if err != nil {
		if formFail(tr, f, err) {
			p.renderStaff(w, r, http.StatusUnprocessableEntity, staffForms{judge: f})
			return
		}
		p.fail(w, r, err)
		return
	}
	if !f.Valid() {
		p.renderStaff(w, r, http.StatusUnprocessableEntity, staffForms{judge: f})
		return
	}
	p.ui.SetFlash(w, r, "contest.staff.flash.judge_added")
	http.Redirect(w, r, staffPath(chi.URLParam(r, "contest")), http.StatusSeeOther)
}

func (p *Pages) assign(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	f := web.NewFormIn("assign")
	f.Set("judge", r.PostFormValue("judge"))
	f.Set("team", r.PostFormValue("team"))
	_, err := p.s.exec(r.Context(), chi.URLParam(r, "contest"), false, meta(r), "", func(c *Contest, _ time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		err := c.assignEntry(f.Value("judge"), f.Value("team"), emit)
		var conflict *ConflictError
		var invalid *ValidationError
		switch {
		case errors.As(err, &conflict):
			f.Fail("judge", tr.T("contest.staff.error.conflict_"+conflict.Kind, "judge", tr.Person(c.Judges[conflict.Judge].DisplayName), "team", c.Teams[conflict.Team].Name))
			return nil, nil
		case errors.As(err, &invalid):
			for _, fe := range invalid.Fields {
				f.Fail(fe.Field, tr.T("contest.staff.error.assign_"+fe.Field))
			}
			return nil, nil
		}
		return nil, err
	})
	if err != nil {
		if formFail(tr, f, err) {
			p.renderStaff(w, r, http.StatusUnprocessableEntity, staffForms{assign: f})
			return
		}
		p.fail(w, r, err)
		return
	}
	if !f.Valid() {
		p.renderStaff(w, r, http.StatusUnprocessableEntity, staffForms{assign: f})
		return
	}
	p.ui.SetFlash(w, r, "contest.staff.flash.assigned")
	http.Redirect(w, r, staffPath(chi.URLParam(r, "contest")), http.StatusSeeOther)
}

func (p *Pages) autoAssign(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	f := web.NewFormIn("auto")
	f.Set("per_entry", r.PostFormValue("per_entry"))
	n, perr := strconv.Atoi(strings.TrimSpace(f.Value("per_entry")))
	var short []string
	_, err := p.s.exec(r.Context(), chi.URLParam(r, "contest"), false, meta(r), "", func(c *Contest, _ time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		if perr != nil {
			f.Fail("per_entry", tr.T("contest.staff.error.per_entry", "max", strconv.Itoa(len(c.JudgeOrder))))
			return nil, nil
		}
		res, err := c.autoAssign(n, emit)
		var invalid *ValidationError
		if errors.As(err, &invalid) {
			for _, fe := range invalid.Fields {
				if fe.Field == "entries" {
					f.Fail("per_entry", tr.T("contest.staff.error.no_entries"))
				} else if len(c.JudgeOrder) == 0 {
					f.Fail("per_entry", tr.T("contest.staff.error.no_judges"))
				} else {
					f.Fail("per_entry", tr.T("contest.staff.error.per_entry", "max", strconv.Itoa(len(c.JudgeOrder))))
				}
			}
			return nil, nil
		}
		for _, id := range res.Short {
			short = append(short, c.Teams[id].Name)
		}
		return nil, err
	})
	if err != nil {
		if formFail(tr, f, err) {
			p.renderStaff(w, r, http.StatusUnprocessableEntity, staffForms{auto: f})
			return
		}
		p.fail(w, r, err)
		return
	}
	if !f.Valid() {
		p.renderStaff(w, r, http.StatusUnprocessableEntity, staffForms{auto: f})
		return
	}
	if len(short) > 0 {
		p.ui.SetFlash(w, r, "contest.staff.flash.auto_short")
	} else {
		p.ui.SetFlash(w, r, "contest.staff.flash.auto")
	}
	http.Redirect(w, r, staffPath(chi.URLParam(r, "contest")), http.StatusSeeOther)
}

type rankingData struct {
	Name, Href, Staff, Phase string
	Round, RoundName         string
	Rounds                   []option
	Rows                     []rankingRow
	Gap, Threshold           string
	Scale                    string
	Stale                    int
	FinalistForm             *web.Form
	Select                   string // "shortlist", "finalists" or "" (nothing to choose now)
	PublishForm              *web.Form
	CanPublish               bool
	Finalists                []finalistRow
	Awards                   []option
	Published                bool
	Gallery                  string
}

type rankingRow struct {
	Team, Name, Title, Track string
	Judges, RankZ, RankRaw   int
	ZScore, RawMean, Spread  string
	RankFlag, SpreadFlag     bool
	Checked                  bool
	Status                   string
}

type finalistRow struct {
	Team, Name, Field string
	Award             string
}

func (p *Pages) ranking(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	p.renderRanking(w, r, http.StatusOK, nil, nil)
}

func (p *Pages) renderRanking(w http.ResponseWriter, r *http.Request, status int, finalists, publish *web.Form) {
	tr := p.tr(r)
	v, err := p.loadContest(r, func(c *Contest, _ time.Time) (any, error) {
		round := r.URL.Query().Get("round")
		// The finals round ranks finalists only, so until the finals are
		// scored the review round is where finalists are chosen from.
		if round != events.RoundReview && round != events.RoundFinals {
			round = events.RoundReview
			if c.Ranking(events.RoundFinals, ZScore, DefaultDisagreement).Scored > 0 {
				round = events.RoundFinals
			}
		}
		cmp := c.Compare(round, DefaultDisagreement)
		d := rankingData{Name: nameIn(tr, c.NameZH, c.NameEN), Href: contestPath(c.ID), Staff: staffPath(c.ID), Phase: phaseName(tr, c.Phase),
			Round: round, RoundName: tr.T("contest.round." + round), Gap: strconv.Itoa(RankGap + 1),
			Threshold: strconv.FormatFloat(DefaultDisagreement*100, 'f', 0, 64), Stale: cmp.Stale, Published: c.Published(),
			FinalistForm: orNew(finalists, "finalists"), PublishForm: orNew(publish, "publish")}
		if c.Published() {
			d.Gallery = contestPath(c.ID) + "gallery"
		}
		if c.Rubric != nil {
			d.Scale = tr.T("contest.rubric.scale", "min", strconv.FormatFloat(c.Rubric.ScaleMin, 'g', -1, 64), "max", strconv.FormatFloat(c.Rubric.ScaleMax, 'g', -1, 64))
		}
		for _, rd := range []string{events.RoundReview, events.RoundFinals} {
			d.Rounds = append(d.Rounds, option{Value: staffPath(c.ID) + "/ranking?round=" + rd, Label: tr.T("contest.round." + rd), Selected: rd == round})
		}
		switch {
		case c.Published():
		case c.Phase == events.PhaseReview:
			d.Select = "shortlist"
		case c.Phase == events.PhaseFinals:
			d.Select = "finalists"
		}
		two := func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }
		for _, row := range cmp.Rows {
			rr := rankingRow{Team: row.Team, Name: row.TeamName, Title: row.Title, Judges: row.Judges, RankZ: row.RankZ, RankRaw: row.RankRaw,
				ZScore: two(row.ZScore), RawMean: two(row.RawMean), Spread: two(row.Spread), RankFlag: row.RankFlag, SpreadFlag: row.SpreadFlag}
			if tk, ok := c.track(row.Track); ok {
				rr.Track = nameIn(tr, tk.NameZH, tk.NameEN)
			}
			switch {
			case row.Finalist:
				rr.Status = tr.T("contest.staff.ranking.finalist")
			case row.Shortlist:
				rr.Status = tr.T("contest.staff.ranking.shortlisted")
			}
			rr.Checked = (d.Select == "shortlist" && row.Shortlist) || (d.Select == "finalists" && (row.Finalist || row.Shortlist))
			d.Rows = append(d.Rows, rr)
		}
		if c.Phase == events.PhaseFinals && !c.Published() {
			for _, id := range c.TeamOrder {
				if t := c.Teams[id]; t.Finalist {
					d.Finalists = append(d.Finalists, finalistRow{Team: id, Name: t.Name, Field: "award_" + id, Award: d.PublishForm.Value("award_" + id)})
				}
			}
			d.CanPublish = len(d.Finalists) > 0
			for _, a := range c.Awards {
				d.Awards = append(d.Awards, option{Value: a.ID, Label: nameIn(tr, a.NameZH, a.NameEN)})
			}
			if d.PublishForm.Value("aggregation") == "" {
				d.PublishForm.Set("aggregation", string(ZScore))
			}
		}
		return d, nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	d := v.(rankingData)
	p.t.Render(w, r, status, "staff_ranking", web.Page{Title: "contest.staff.ranking.title", Data: d})
}

func (p *Pages) chooseFinalists(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	f := web.NewFormIn("finalists")
	teams := r.PostForm["team"]
	flash := "contest.staff.flash.shortlisted"
	_, err := p.s.exec(r.Context(), chi.URLParam(r, "contest"), false, meta(r), "", func(c *Contest, _ time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		var err error
		if c.Phase == events.PhaseFinals {
			flash = "contest.staff.flash.finalists"
			err = c.promote(teams, emit)
		} else {
			err = c.shortlist(teams, emit)
		}
		var invalid *ValidationError
		if errors.As(err, &invalid) {
			f.Fail("team", tr.T("contest.staff.error.choose_teams"))
			return nil, nil
		}
		return nil, err
	})
	if err != nil {
		if formFail(tr, f, err) {
			p.renderRanking(w, r, http.StatusUnprocessableEntity, f, nil)
			return
		}
		p.fail(w, r, err)
		return
	}
	if !f.Valid() {
		p.renderRanking(w, r, http.StatusUnprocessableEntity, f, nil)
		return
	}
	p.ui.SetFlash(w, r, flash)
	http.Redirect(w, r, staffPath(chi.URLParam(r, "contest"))+"/ranking", http.StatusSeeOther)
}

func (p *Pages) publishResults(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	f := web.NewFormIn("publish")
	f.Set("aggregation", r.PostFormValue("aggregation"))
	for k, vs := range r.PostForm {
		if strings.HasPrefix(k, "award_") {
			f.Set(k, vs[0])
		}
	}
	_, err := p.s.exec(r.Context(), chi.URLParam(r, "contest"), false, meta(r), "", func(c *Contest, now time.Time, emit emit) (any, error) {
		if !c.Exists {
			return nil, ErrContestNotFound
		}
		cmd := PublishResults{Aggregation: f.Value("aggregation")}
		var teams []string
		for _, id := range c.TeamOrder {
			if a := f.Value("award_" + id); a != "" && c.Teams[id].Finalist {
				cmd.Awards = append(cmd.Awards, Award{Team: id, Award: a})
				teams = append(teams, id)
			}
		}
		err := c.publish(cmd, now, emit)
		var invalid *ValidationError
		if errors.As(err, &invalid) {
			for _, fe := range invalid.Fields {
				switch {
				case fe.Field == "aggregation":
					f.Fail("aggregation", tr.T("contest.staff.error.aggregation"))
				case strings.HasPrefix(fe.Field, "awards["):
					i, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(fe.Field, "awards["), "]", 2)[0])
					if i >= 0 && i < len(teams) {
						f.Fail("award_"+teams[i], tr.T("contest.staff.error.award"))
					}
				default:
					f.Fail("", tr.T("contest.staff.error.no_finalists"))
				}
			}
			return nil, nil
		}
		return nil, err
	})
	if err != nil {
		if formFail(tr, f, err) {
			p.renderRanking(w, r, http.StatusUnprocessableEntity, nil, f)
			return
		}
		p.fail(w, r, err)
		return
	}
	if !f.Valid() {
		p.renderRanking(w, r, http.StatusUnprocessableEntity, nil, f)
		return
	}
	p.ui.SetFlash(w, r, "contest.staff.flash.published")
	http.Redirect(w, r, staffPath(chi.URLParam(r, "contest"))+"/ranking", http.StatusSeeOther)
}
