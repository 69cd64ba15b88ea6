package identity

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/audit"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/infra/httpserver"
	"github.com/yunqi-town/yunqi/web"
)

const (
	pathStaff      = "/identity/staff"
	pathStaffAudit = "/identity/staff/audit"
)

// mountRoles adds the organisers' roles page and the roles history.
func (p *Pages) mountRoles(r chi.Router) {
	r.Get("/staff", p.staff)
	r.Post("/staff", p.changeRole)
	r.Get("/staff/audit", p.roleAudit)
}

// organizer answers anyone but an organiser with the not-found page: the
// roles page is nothing to advertise.
func (p *Pages) organizer(w http.ResponseWriter, r *http.Request) (auth.Principal, bool) {
	who, ok := p.requireVisitor(w, r)
	if ok && !who.HasRole(auth.RoleOrganizer) {
		p.ui.NotFound(w, r)
		return who, false
	}
	return who, ok
}

type roleButton struct {
	Role, Name string
	Held       bool
}

type staffPerson struct {
	ID, Name, Email string
	Roles           string // held roles, in the reader's language
	Buttons         []roleButton
}

// staffData is the roles page, or with Audit set its history: both are
// one template so that the page and its history share their navigation.
type staffData struct {
	Form   *web.Form
	Query  string
	Found  []staffPerson
	Search bool
	Audit  *web.AuditView
}

func (p *Pages) showStaff(w http.ResponseWriter, r *http.Request, status int, q string, form *web.Form) {
	tr := p.tr(r)
	if form == nil {
		form = web.NewForm()
	}
	form.Set("q", q)
	d := staffData{Form: form, Query: q, Search: q != ""}
	if q != "" {
		for _, pe := range p.s.timeline.findPeople(q, maxPeopleFound) {
			sp := staffPerson{ID: pe.ID, Name: pe.DisplayName, Email: pe.Email}
			var held []string
			for _, role := range pe.Roles {
				held = append(held, roleName(tr, role))
			}
			sp.Roles = strings.Join(held, tr.T("identity.staff.list_sep"))
			for _, role := range StaffRoles {
				sp.Buttons = append(sp.Buttons, roleButton{Role: role, Name: roleName(tr, role), Held: slices.Contains(pe.Roles, role)})
			}
			d.Found = append(d.Found, sp)
		}
	}
	p.t.Render(w, r, status, "roles", web.Page{Title: "identity.staff.title", Data: d})
}

func (p *Pages) staff(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.organizer(w, r); !ok {
		return
	}
	p.showStaff(w, r, http.StatusOK, strings.TrimSpace(r.URL.Query().Get("q")), nil)
}

// changeRole takes one button of the staff page: grant or revoke one role
// of one person.
func (p *Pages) changeRole(w http.ResponseWriter, r *http.Request) {
	who, ok := p.organizer(w, r)
	if !ok || !p.parseForm(w, r) {
		return
	}
	tr := p.tr(r)
	q := strings.TrimSpace(r.PostForm.Get("q"))
	id, role, action := r.PostForm.Get("user"), r.PostForm.Get("role"), r.PostForm.Get("action")
	form := web.NewForm()
	if !slices.Contains(StaffRoles, role) {
		form.Fail("", tr.T("identity.staff.invalid_role"))
		p.showStaff(w, r, http.StatusUnprocessableEntity, q, form)
		return
	}
	if action != "grant" && action != "revoke" {
		p.ui.BadRequest(w, r, http.StatusBadRequest)
		return
	}
	wi := writeInfo{actor: who.UserID, requestID: httpserver.RequestID(r.Context())}
	_, changed, pos, err := p.s.changeRoleOf(r.Context(), id, role, action == "grant", wi)
	if errors.Is(err, ErrUserNotFound) {
		form.Fail("", tr.T("identity.staff.no_person"))
		p.showStaff(w, r, http.StatusNotFound, q, form)
		return
	}
	if err != nil {
		p.ui.Error(w, r, err)
		return
	}
	if changed {
		p.s.timelineCaughtUp(r.Context(), pos)
		p.ui.SetFlash(w, r, "identity.staff.flash_"+action)
	} else {
		p.ui.SetFlash(w, r, "identity.staff.flash_unchanged")
	}
	http.Redirect(w, r, pathStaff+"?q="+url.QueryEscape(q), http.StatusSeeOther)
}

var roleAuditKinds = []string{"role_granted", "role_revoked"}

// roleAudit lists every grant and revocation with the staff member (or
// operator command) that made it: staff identities are shown here only.
func (p *Pages) roleAudit(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.organizer(w, r); !ok {
		return
	}
	tr := p.tr(r)
	entries, err := p.s.RoleAudit(r.Context())
	if err != nil {
		p.ui.Error(w, r, err)
		return
	}
	q := r.URL.Query()
	form := web.NewForm()
	for _, f := range []string{"kind", "actor", "from", "to"} {
		form.Set(f, q.Get(f))
	}
	f, bad := audit.ParseFilter(q, roleAuditKinds, shanghai)
	for _, b := range bad {
		form.Fail(b.Field, tr.T("identity.audit.invalid."+b.Code))
	}
	d := web.AuditView{Action: pathStaff + "/audit", Form: form, WithSubject: true}
	for _, k := range roleAuditKinds {
		d.Kinds = append(d.Kinds, web.Option{Value: k, Label: tr.T("identity.audit.kind." + k)})
	}
	for _, a := range audit.Actors(entries) {
		d.Actors = append(d.Actors, web.Option{Value: a.Actor, Label: auditName(tr, a)})
	}
	names := audit.LogNames(p.s.store)
	for _, e := range f.Apply(entries) {
		row := web.AuditRow{At: e.At, Who: auditName(tr, e)}
		switch v := e.Payload.(type) {
		case events.RoleGranted:
			row.What = tr.T("identity.audit.what.role_granted", "role", roleName(tr, v.Role))
			row.Subject, row.Href = names(r.Context(), v.UserID), pathStaff+"?q="+url.QueryEscape(names(r.Context(), v.UserID))
		case events.RoleRevoked:
			row.What = tr.T("identity.audit.what.role_revoked", "role", roleName(tr, v.Role))
			row.Subject, row.Href = names(r.Context(), v.UserID), pathStaff+"?q="+url.QueryEscape(names(r.Context(), v.UserID))
		}
		d.Rows = append(d.Rows, row)
	}
	d.Count = tr.T("identity.audit.count", "n", tr.Number(int64(len(d.Rows))))
	status := http.StatusOK
	if len(bad) > 0 {
		status = http.StatusUnprocessableEntity
	}
	p.t.Render(w, r, status, "roles", web.Page{Title: "identity.audit.title", Data: staffData{Audit: &d}})
}

// auditName is who acted: a person's name, the system, or the operator's
// account of a `yunqi users grant` command, which is no Yunqi account.
func auditName(tr web.Translator, e audit.Entry) string {
	switch {
	case e.Actor == events.ActorSystem:
		return tr.T("identity.audit.system")
	case e.Name == "":
		return tr.T("identity.audit.operator", "id", e.Actor)
	}
	return e.Name
}

// shanghai is the community's time zone (no daylight saving): audit days
// are its days.
var shanghai = time.FixedZone("CST", 8*3600)
