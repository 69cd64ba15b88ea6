package contest

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/audit"
	"github.com/yunqi-town/yunqi/web"
)

// mountAudit adds the organisers' audit view of a contest.
func (p *Pages) mountAudit(r chi.Router) {
	r.Get("/{contest}/audit", p.audit)
}

// auditKinds are a contest's staff actions by event type. Teams are the
// contestants' own; their creation is read only to name them.
var auditKinds = map[string]string{
	"contest.ContestCreated":         "contest",
	"contest.ContestScheduleChanged": "schedule",
	"contest.ContestPhaseChanged":    "phase",
	"contest.RubricPublished":        "rubric",
	"contest.JudgeAssigned":          "judge",
	"contest.ConflictDeclared":       "conflict",
	"contest.EntryJudgesAssigned":    "assignment",
	"contest.ScoreRecorded":          "score",
	"contest.EntryShortlisted":       "shortlist",
	"contest.FinalistPromoted":       "finalist",
	"contest.ResultsPublished":       "results",
	"contest.TeamCreated":            "",
}

var auditKindOrder = []string{"contest", "schedule", "phase", "rubric", "judge", "conflict", "assignment", "score",
	"shortlist", "finalist", "results"}

// contestAudit is one contest's staff actions and what naming them needs.
type contestAudit struct {
	entries        []audit.Entry
	nameZH, nameEN string
	teams, judges  map[string]string
}

func (p *Pages) auditEntries(ctx context.Context, id string) (contestAudit, error) {
	a := contestAudit{teams: map[string]string{}, judges: map[string]string{}}
	sel := audit.Selector{Kinds: auditKinds, Keep: func(_ events.Event, pl any) bool {
		switch v := pl.(type) {
		case events.TeamCreated:
			a.teams[v.TeamID] = v.Name
			return false
		case events.ContestCreated:
			a.nameZH, a.nameEN = v.NameZH, v.NameEN
		case events.JudgeAssigned:
			a.judges[v.JudgeID] = v.Personal.DisplayName
		}
		return true
	}}
	var err error
	a.entries, err = audit.Read(ctx, p.s.store, audit.Source{Streams: []string{events.ContestStream(id)}}, sel, audit.LogNames(p.s.store))
	// A judge invited without a Yunqi account (the demo's, or one added
	// by an organiser) is known by the name the assignment gave them.
	for i, e := range a.entries {
		if e.Name == "" && !e.Erased {
			a.entries[i].Name = a.judges[e.Actor]
		}
	}
	return a, err
}

type auditData struct {
	Contest, ContestHref string
	Audit                web.AuditView
}

func (p *Pages) audit(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	id := chi.URLParam(r, "contest")
	a, err := p.auditEntries(r.Context(), id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if a.nameZH == "" && a.nameEN == "" {
		p.ui.NotFound(w, r)
		return
	}
	tr := p.tr(r)
	q := r.URL.Query()
	form := web.NewForm()
	for _, f := range []string{"kind", "actor", "from", "to"} {
		form.Set(f, q.Get(f))
	}
	f, bad := audit.ParseFilter(q, auditKindOrder, web.DisplayZone)
	for _, b := range bad {
		form.Fail(b.Field, tr.T("contest.audit.invalid."+b.Code))
	}
	d := auditData{Contest: nameIn(tr, a.nameZH, a.nameEN), ContestHref: contestPath(id)}
	v := &d.Audit
	v.Action, v.Form = contestPath(id)+"audit", form
	for _, k := range auditKindOrder {
		v.Kinds = append(v.Kinds, web.Option{Value: k, Label: tr.T("contest.audit.kind." + k)})
	}
	for _, e := range audit.Actors(a.entries) {
		v.Actors = append(v.Actors, web.Option{Value: e.Actor, Label: auditWho(tr, e)})
	}
	for _, e := range f.Apply(a.entries) {
		v.Rows = append(v.Rows, web.AuditRow{At: e.At, Who: auditWho(tr, e), What: a.what(tr, e)})
	}
	v.Count = tr.T("contest.audit.count", "n", tr.Number(int64(len(v.Rows))))
	status := http.StatusOK
	if len(bad) > 0 {
		status = http.StatusUnprocessableEntity
	}
	p.t.Render(w, r, status, "audit", web.Page{Title: "contest.audit.title", Data: d})
}

func auditWho(tr web.Translator, e audit.Entry) string {
	switch {
	case e.Actor == events.ActorSystem:
		return tr.T("contest.audit.system")
	case e.Erased:
		return tr.Person("")
	case e.Name == "":
		return tr.T("contest.audit.unknown", "id", e.Actor)
	}
	return e.Name
}

func (a contestAudit) team(id string) string {
	if n := a.teams[id]; n != "" {
		return n
	}
	return id
}

func (a contestAudit) judge(id string) string {
	if n := a.judges[id]; n != "" {
		return n
	}
	return id
}

// what says in the reader's language what one action did.
func (a contestAudit) what(tr web.Translator, e audit.Entry) string {
	n := func(v int) string { return tr.Number(int64(v)) }
	switch v := e.Payload.(type) {
	case events.ContestCreated:
		return tr.T("contest.audit.what.contest", "name", nameIn(tr, v.NameZH, v.NameEN))
	case events.ContestScheduleChanged:
		return tr.T("contest.audit.what.schedule")
	case events.ContestPhaseChanged:
		return tr.T("contest.audit.what.phase", "from", phaseName(tr, v.From), "to", phaseName(tr, v.To))
	case events.RubricPublished:
		return tr.T("contest.audit.what.rubric", "version", n(v.Version), "criteria", n(len(v.Criteria)))
	case events.JudgeAssigned:
		return tr.T("contest.audit.what.judge", "judge", a.judge(v.JudgeID))
	case events.ConflictDeclared:
		return tr.T("contest.audit.what.conflict", "judge", a.judge(v.JudgeID), "team", a.team(v.TeamID))
	case events.EntryJudgesAssigned:
		return tr.T("contest.audit.what.assignment", "entries", n(len(v.Entries)), "method", v.Method)
	case events.ScoreRecorded:
		return tr.T("contest.audit.what.score", "team", a.team(v.TeamID), "round", phaseName(tr, v.Round))
	case events.EntryShortlisted:
		return tr.T("contest.audit.what.shortlist", "team", a.team(v.TeamID))
	case events.FinalistPromoted:
		return tr.T("contest.audit.what.finalist", "team", a.team(v.TeamID))
	case events.ResultsPublished:
		var top []string
		for _, r := range v.Results {
			if r.Rank == 1 {
				top = append(top, a.team(r.TeamID))
			}
		}
		return tr.T("contest.audit.what.results", "round", phaseName(tr, v.Round), "first", strings.Join(top, tr.T("contest.audit.list_sep")))
	}
	return e.Type
}
