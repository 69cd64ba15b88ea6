package alliance

import (
	"context"
	"net/http"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/audit"
	"github.com/yunqi-town/yunqi/web"
)

// auditKinds are the alliance's staff actions by event type.
var auditKinds = map[string]string{
	"alliance.ReviewVoted":                 "vote",
	"alliance.ReviewNoteAdded":             "note",
	"alliance.ApplicationChangesRequested": "decision",
	"alliance.ApplicationApproved":         "decision",
	"alliance.ApplicationRejected":         "decision",
	"alliance.DecisionPolicySet":           "policy",
	"alliance.MemberTierChanged":           "tier",
	"alliance.MembershipLapsed":            "lapse",
	"alliance.MembershipReinstated":        "reinstate",
	"alliance.MemberProfileUpdated":        "profile",
	"alliance.MembershipWithdrawn":         "withdraw",
}

// auditKindOrder is the filter's order of kinds.
var auditKindOrder = []string{"vote", "note", "decision", "policy", "tier", "lapse", "reinstate", "profile", "withdraw"}

// AuditEntries are the alliance's staff actions, oldest first. A member
// changing or leaving its own profile is the member's act, not staff's.
func (s *Service) AuditEntries(ctx context.Context) ([]audit.Entry, error) {
	sel := audit.Selector{Kinds: auditKinds, Keep: func(e events.Event, p any) bool {
		switch p := p.(type) {
		case events.MemberProfileUpdated:
			return e.Metadata.Actor != s.view.owner(p.MemberID)
		case events.MembershipWithdrawn:
			return e.Metadata.Actor != s.view.owner(p.MemberID)
		}
		return true
	}}
	src := audit.Source{Streams: []string{events.AlliancePolicyStream},
		Prefixes: []string{events.CategoryApplication + "-", events.CategoryMember + "-"}}
	// A fresh resolver each time: names are remembered for one page only,
	// so a renamed staff member shows under their new name next time.
	names := s.cfg.Names
	if names == nil {
		names = audit.LogNames(s.store)
	}
	return audit.Read(ctx, s.store, src, sel, names)
}

type auditData struct{ Audit web.AuditView }

func (p *Pages) audit(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.organizer(w, r); !ok {
		return
	}
	tr := p.tr(r)
	entries, err := p.s.AuditEntries(r.Context())
	if err != nil {
		p.ui.Error(w, r, err)
		return
	}
	q := r.URL.Query()
	form := web.NewForm()
	for _, f := range []string{"kind", "actor", "from", "to"} {
		form.Set(f, q.Get(f))
	}
	f, bad := audit.ParseFilter(q, auditKindOrder, hangzhou)
	for _, b := range bad {
		form.Fail(b.Field, tr.T("alliance.audit.invalid."+b.Code))
	}
	var d auditData
	v := &d.Audit
	v.Action, v.Form, v.WithSubject = pathAudit, form, true
	if f != (audit.Filter{}) {
		v.ClearHref = pathAudit
	}
	for _, k := range auditKindOrder {
		v.Kinds = append(v.Kinds, web.Option{Value: k, Label: tr.T("alliance.audit.kind." + k)})
	}
	for _, a := range audit.Actors(entries) {
		v.Actors = append(v.Actors, web.Option{Value: a.Actor, Label: p.actorName(tr, a)})
	}
	for _, e := range f.Apply(entries) {
		v.Rows = append(v.Rows, p.auditRow(tr, e))
	}
	v.Count = tr.T("alliance.audit.count", "n", tr.Number(int64(len(v.Rows))))
	status := http.StatusOK
	if len(bad) > 0 {
		status = http.StatusUnprocessableEntity
	}
	p.t.Render(w, r, status, "audit", web.Page{Title: "alliance.audit.title", Data: d})
}

func (p *Pages) actorName(tr web.Translator, e audit.Entry) string {
	switch {
	case e.Actor == events.ActorSystem:
		return tr.T("alliance.audit.system")
	case e.Erased:
		return tr.Person("")
	case e.Name == "":
		return tr.T("alliance.audit.unknown", "id", e.Actor)
	}
	return e.Name
}

// auditRow says in the reader's language what one action did, naming the
// application or member it was done to.
func (p *Pages) auditRow(tr web.Translator, e audit.Entry) web.AuditRow {
	row := web.AuditRow{At: e.At, Who: p.actorName(tr, e)}
	app := func(id string) {
		row.Href = pathReview + "/" + id
		if a, ok := p.s.view.application(id); ok {
			row.Subject = name(tr, a.NameZH, a.NameEN)
		} else {
			row.Subject = id
		}
	}
	member := func(id string) {
		row.Href = pathMembers + "/" + id
		if m, _, _, ok := p.s.view.member(id); ok {
			row.Subject = name(tr, m.NameZH, m.NameEN)
		} else {
			row.Subject = id
		}
	}
	switch v := e.Payload.(type) {
	case events.ReviewVoted:
		app(v.ApplicationID)
		row.What = tr.T("alliance.audit.what.vote", "vote", tr.T("alliance.vote."+v.Vote))
	case events.ReviewNoteAdded:
		app(v.ApplicationID)
		row.What = tr.T("alliance.audit.what.note")
	case events.ApplicationChangesRequested:
		app(v.ApplicationID)
		row.What = tr.T("alliance.audit.what.decision", "decision", tr.T("alliance.vote.request_changes"))
	case events.ApplicationApproved:
		app(v.ApplicationID)
		row.What = tr.T("alliance.audit.what.decision", "decision", tr.T("alliance.vote.approve"))
	case events.ApplicationRejected:
		app(v.ApplicationID)
		row.What = tr.T("alliance.audit.what.decision", "decision", tr.T("alliance.vote.reject"))
	case events.DecisionPolicySet:
		row.Href, row.Subject = pathPolicy, tr.T("alliance.policy.title")
		row.What = tr.T("alliance.audit.what.policy", "approvals", v.Policy.ApprovalsRequired, "rejections", v.Policy.RejectionsRequired)
	case events.MemberTierChanged:
		member(v.MemberID)
		row.What = tr.T("alliance.audit.what.tier", "from", tr.T("alliance.tier."+v.From), "to", tr.T("alliance.tier."+v.Tier))
	case events.MembershipLapsed:
		member(v.MemberID)
		row.What = tr.T("alliance.audit.what.lapse")
	case events.MembershipReinstated:
		member(v.MemberID)
		row.What = tr.T("alliance.audit.what.reinstate")
	case events.MemberProfileUpdated:
		member(v.MemberID)
		row.What = tr.T("alliance.audit.what.profile", "fields", fieldNames(tr, v.Changed))
	case events.MembershipWithdrawn:
		member(v.MemberID)
		row.What = tr.T("alliance.audit.what.withdraw")
	}
	return row
}
