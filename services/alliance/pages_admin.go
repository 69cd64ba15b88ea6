package alliance

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/web"
)

const (
	pathAdmin  = "/alliance/admin"
	pathPolicy = "/alliance/admin/policy"
	pathAudit  = "/alliance/audit"
)

// mountAdmin adds the organisers' pages: member administration, the
// review policy and the audit view.
func (p *Pages) mountAdmin(r chi.Router) {
	r.Get("/admin", p.adminMembers)
	r.Post("/admin/members/{id}", p.adminMember)
	r.Get("/admin/policy", p.policyForm)
	r.Post("/admin/policy", p.setPolicy)
	r.Get("/audit", p.audit)
}

// organizer answers anyone but an organiser with the not-found page, as
// the review queue does for non-staff.
func (p *Pages) organizer(w http.ResponseWriter, r *http.Request) (Who, bool) {
	who, ok := p.visitor(w, r)
	if ok && !who.Organizer {
		p.ui.NotFound(w, r)
		return who, false
	}
	return who, ok
}

type adminRow struct {
	ID, Href, Name, Tier, TierName, Status, JoinedOn, LapsedOn string
	Lapsed                                                     bool
	Form                                                       *web.Form
}

type adminData struct {
	Query string
	Tiers []tierOption
	Rows  []adminRow
	Count string
}

type tierOption struct{ Value, Label string }

func (p *Pages) showAdmin(w http.ResponseWriter, r *http.Request, status int, failed string, form *web.Form) {
	tr := p.tr(r)
	q := r.URL.Query().Get("q")
	d := adminData{Query: q}
	for _, t := range Tiers {
		d.Tiers = append(d.Tiers, tierOption{Value: t, Label: tr.T("alliance.tier." + t)})
	}
	for _, m := range p.s.view.all(MemberFilter{Query: q}) {
		row := adminRow{ID: m.ID, Href: pathMembers + "/" + url.PathEscape(m.ID), Name: name(tr, m.NameZH, m.NameEN), Tier: m.Tier,
			TierName: tr.T("alliance.tier." + m.Tier), Status: tr.T("alliance.member_status." + m.Status), JoinedOn: m.JoinedOn,
			LapsedOn: m.LapsedOn, Lapsed: m.Status == MemberLapsed, Form: web.NewFormIn("m-" + m.ID)}
		if m.ID == failed && form != nil {
			row.Form = form
		}
		d.Rows = append(d.Rows, row)
	}
	d.Count = tr.T("alliance.wall.count", "n", tr.Number(int64(len(d.Rows))))
	p.t.Render(w, r, status, "admin", web.Page{Title: "alliance.admin.title", Data: d})
}

func (p *Pages) adminMembers(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.organizer(w, r); !ok {
		return
	}
	p.showAdmin(w, r, http.StatusOK, "", nil)
}

// adminMember takes one row's form: a tier, a lapse or a reinstatement.
func (p *Pages) adminMember(w http.ResponseWriter, r *http.Request) {
	who, ok := p.organizer(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	tr := p.tr(r)
	id := chi.URLParam(r, "id")
	form := web.NewFormIn("m-" + id)
	reason := r.PostFormValue("reason")
	form.Set("reason", reason)
	form.Set("tier", r.PostFormValue("tier"))
	var err error
	flash := ""
	switch r.PostFormValue("action") {
	case "tier":
		_, err = p.s.ChangeTier(r.Context(), who, id, r.PostFormValue("tier"))
		flash = "alliance.flash.tier"
	case "lapse":
		_, err = p.s.EndMembership(r.Context(), who, id, true, reason)
		flash = "alliance.flash.lapsed"
	case "reinstate":
		_, err = p.s.ReinstateMembership(r.Context(), who, id, reason)
		flash = "alliance.flash.reinstated"
	default:
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	if errors.Is(err, ErrMemberGone) {
		form.Fail("", tr.T("alliance.invalid.member_gone"))
		p.showAdmin(w, r, http.StatusConflict, id, form)
		return
	}
	if err != nil {
		if status, ok := p.failForm(w, r, tr, form, err); ok {
			p.showAdmin(w, r, status, id, form)
		}
		return
	}
	p.ui.SetFlash(w, r, flash)
	http.Redirect(w, r, pathAdmin+"#m-"+id, http.StatusSeeOther)
}

type policyData struct {
	Form *web.Form
}

func policyFormOf(pol events.DecisionPolicy) *web.Form {
	f := web.NewForm()
	f.Set("approvals_required", strconv.Itoa(pol.ApprovalsRequired))
	f.Set("rejections_required", strconv.Itoa(pol.RejectionsRequired))
	if pol.RevealReviewers {
		f.Set("reveal_reviewers", "on")
	}
	return f
}

func (p *Pages) policyForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.organizer(w, r); !ok {
		return
	}
	pol, err := p.s.Policy(r.Context())
	if err != nil {
		p.ui.Error(w, r, err)
		return
	}
	p.t.Render(w, r, http.StatusOK, "policy", web.Page{Title: "alliance.policy.title", Data: policyData{Form: policyFormOf(pol)}})
}

func (p *Pages) setPolicy(w http.ResponseWriter, r *http.Request) {
	who, ok := p.organizer(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	tr := p.tr(r)
	form := web.NewForm()
	var pol events.DecisionPolicy
	for _, f := range []struct {
		name string
		dst  *int
	}{{"approvals_required", &pol.ApprovalsRequired}, {"rejections_required", &pol.RejectionsRequired}} {
		v := r.PostFormValue(f.name)
		form.Set(f.name, v)
		n, err := strconv.Atoi(v)
		if err != nil {
			form.Fail(f.name, tr.T("alliance.invalid.votes"))
			continue
		}
		*f.dst = n
	}
	pol.RevealReviewers = r.PostFormValue("reveal_reviewers") != ""
	form.Set("reveal_reviewers", r.PostFormValue("reveal_reviewers"))
	if form.Valid() {
		if err := p.s.SetPolicy(r.Context(), who, pol); err != nil {
			var invalid *ValidationError
			if !errors.As(err, &invalid) {
				p.ui.Error(w, r, err)
				return
			}
			for _, f := range invalid.Fields {
				form.Fail(f.Field, tr.T("alliance.invalid.votes"))
			}
		}
	}
	if !form.Valid() {
		p.t.Render(w, r, http.StatusUnprocessableEntity, "policy", web.Page{Title: "alliance.policy.title", Data: policyData{Form: form}})
		return
	}
	p.ui.SetFlash(w, r, "alliance.flash.policy")
	http.Redirect(w, r, pathPolicy, http.StatusSeeOther)
}
