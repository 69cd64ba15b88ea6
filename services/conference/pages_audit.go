package conference

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/audit"
	"github.com/yunqi-town/yunqi/web"
)

// mountAudit adds the organisers' audit view of an edition.
func (p *Pages) mountAudit(r chi.Router) {
	r.Get("/{edition}/audit", p.audit)
}

// auditKinds are an edition's staff actions by event type. Placing a
// registration is the registrant's act; it is read only to tell an
// organiser's cancellation from the registrant's own.
var auditKinds = map[string]string{
	"conference.EditionScheduled":       "edition",
	"conference.EditionDetailsChanged":  "edition",
	"conference.InviteCodeRevoked":      "invite",
	"conference.EditionCapacityChanged": "capacity",
	"conference.SessionCapacityChanged": "capacity",
	"conference.PolicySet":              "policy",
	"conference.RegistrationWindowSet":  "window",
	"conference.TrackAdded":             "track",
	"conference.SessionScheduled":       "session",
	"conference.SessionRescheduled":     "session",
	"conference.TicketTypeDefined":      "ticket_type",
	"conference.InviteCodeIssued":       "invite",
	"conference.RegistrationCancelled":  "cancellation",
	"conference.TicketCheckedIn":        "checkin",
	"conference.TicketScanRefused":      "checkin",
	"conference.GateDeviceRevoked":      "device",
	"conference.RegistrationPlaced":     "",
}

var auditKindOrder = []string{"edition", "capacity", "policy", "window", "track", "session", "ticket_type", "invite",
	"cancellation", "checkin", "device"}

// auditEntries are the staff actions of one edition, oldest first.
func (p *Pages) auditEntries(ctx context.Context, edition string) ([]audit.Entry, error) {
	registrant := map[string]string{}
	sel := audit.Selector{Kinds: auditKinds, Keep: func(e events.Event, pl any) bool {
		switch v := pl.(type) {
		case events.RegistrationPlaced:
			registrant[v.RegistrationID] = v.MemberID
			return false
		case events.RegistrationCancelled:
			return e.Metadata.Actor != registrant[v.RegistrationID]
		}
		return true
	}}
	return audit.Read(ctx, p.s.store, audit.Source{Streams: []string{events.EditionStream(edition)}}, sel, audit.LogNames(p.s.store))
}

type auditData struct {
	Edition, EditionHref string
	Audit                web.AuditView
}

func (p *Pages) audit(w http.ResponseWriter, r *http.Request) {
	if !p.requireOrganizer(w, r) {
		return
	}
	snap, err := p.loadEdition(r, chi.URLParam(r, "edition"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	tr := p.tr(r)
	entries, err := p.auditEntries(r.Context(), snap.ID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	form := web.NewForm()
	for _, f := range []string{"kind", "actor", "from", "to"} {
		form.Set(f, q.Get(f))
	}
	f, bad := audit.ParseFilter(q, auditKindOrder, shanghai)
	for _, b := range bad {
		form.Fail(b.Field, tr.T("conference.audit.invalid."+b.Code))
	}
	d := auditData{Edition: nameIn(tr, snap.NameZH, snap.NameEN), EditionHref: editionPath(snap.ID)}
	v := &d.Audit
	v.Action, v.Form = "/conference/"+snap.ID+"/audit", form
	for _, k := range auditKindOrder {
		v.Kinds = append(v.Kinds, web.Option{Value: k, Label: tr.T("conference.audit.kind." + k)})
	}
	for _, a := range audit.Actors(entries) {
		v.Actors = append(v.Actors, web.Option{Value: a.Actor, Label: auditWho(tr, a)})
	}
	for _, e := range f.Apply(entries) {
		v.Rows = append(v.Rows, web.AuditRow{At: e.At, Who: auditWho(tr, e), What: auditWhat(tr, e)})
	}
	v.Count = tr.T("conference.audit.count", "n", tr.Number(int64(len(v.Rows))))
	status := http.StatusOK
	if len(bad) > 0 {
		status = http.StatusUnprocessableEntity
	}
	p.t.Render(w, r, status, "audit", web.Page{Title: "conference.audit.title", Data: d})
}

func auditWho(tr web.Translator, e audit.Entry) string {
	switch {
	case e.Actor == events.ActorSystem:
		return tr.T("conference.audit.system")
	case e.Erased:
		return tr.Person("")
	case e.Name == "":
		return tr.T("conference.audit.unknown", "id", e.Actor)
	}
	return e.Name
}

// auditWhat says in the reader's language what one action did. A
// registration is named by its id only: the attendee's name is personal
// data that the audit does not need.
func auditWhat(tr web.Translator, e audit.Entry) string {
	n := func(v int) string { return tr.Number(int64(v)) }
	switch v := e.Payload.(type) {
	case events.EditionScheduled:
		return tr.T("conference.audit.what.edition", "name", nameIn(tr, v.NameZH, v.NameEN), "capacity", n(v.Capacity))
	case events.EditionDetailsChanged:
		return tr.T("conference.audit.what.details", "name", nameIn(tr, v.NameZH, v.NameEN))
	case events.InviteCodeRevoked:
		return tr.T("conference.audit.what.invite_revoked", "id", v.CodeHash[:min(len(v.CodeHash), inviteIDLength)])
	case events.EditionCapacityChanged:
		return tr.T("conference.audit.what.capacity", "capacity", n(v.Capacity))
	case events.SessionCapacityChanged:
		return tr.T("conference.audit.what.session_capacity", "session", v.SessionID, "capacity", n(v.Capacity))
	case events.PolicySet:
		return tr.T("conference.audit.what.policy", "minutes", strconv.FormatInt(v.OfferWindowSeconds/60, 10))
	case events.RegistrationWindowSet:
		return tr.T("conference.audit.what.window", "opens", dayOrOpen(tr, v.Opens), "closes", dayOrOpen(tr, v.Closes))
	case events.TrackAdded:
		return tr.T("conference.audit.what.track", "name", nameIn(tr, v.NameZH, v.NameEN))
	case events.SessionScheduled:
		return tr.T("conference.audit.what.session", "title", v.Title, "capacity", n(v.Capacity))
	case events.SessionRescheduled:
		return tr.T("conference.audit.what.session_moved", "session", v.SessionID, "at", tr.DateTime(v.StartsAt))
	case events.TicketTypeDefined:
		return tr.T("conference.audit.what.ticket_type", "type", v.TicketType, "quota", n(v.Quota))
	case events.InviteCodeIssued:
		return tr.T("conference.audit.what.invite", "type", v.TicketType, "uses", n(v.MaxUses))
	case events.RegistrationCancelled:
		return tr.T("conference.audit.what.cancellation", "registration", v.RegistrationID)
	case events.TicketCheckedIn:
		return tr.T("conference.audit.what.checkin", "registration", v.RegistrationID, "gate", v.Gate, "device", v.Device)
	case events.TicketScanRefused:
		return tr.T("conference.audit.what.scan_refused", "registration", v.RegistrationID, "gate", v.Gate, "device", v.Device)
	case events.GateDeviceRevoked:
		return tr.T("conference.audit.what.device", "device", v.Device)
	}
	return e.Type
}

func dayOrOpen(tr web.Translator, t time.Time) string {
	if t.IsZero() {
		return tr.T("conference.audit.open_ended")
	}
	return t.In(shanghai).Format(time.DateOnly)
}
