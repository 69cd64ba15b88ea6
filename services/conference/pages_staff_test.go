package conference

import (
	"encoding/json"
	"testing"

	"github.com/yunqi-town/yunqi/infra/auth"
)

// An organiser reading the attendee overview usually wants to act on what
// they see next (raise a capacity, revoke a code), so the overview leads
// to the back office in the reader's language.
func TestAttendeeOverviewLeadsToBackOffice(t *testing.T) {
	s := newPageSite(t)
	org := s.token("org-1", "Organiser", auth.RoleOrganizer)
	scheduleEdition(t, s, org)
	expect(t, "overview (en)", s.visitor(org, "en").get("/conference/yunqi-2013/attendees"), 200,
		`<a href="/conference/yunqi-2013/manage">Run this edition</a>`)
	expect(t, "overview (zh)", s.visitor(org, "zh-CN").get("/conference/yunqi-2013/attendees"), 200,
		`<a href="/conference/yunqi-2013/manage">管理本届大会</a>`)
	manage := s.visitor(org, "en").get("/conference/yunqi-2013/manage")
	if manage.status != 200 {
		t.Fatalf("the linked back office answers %d to its organiser", manage.status)
	}
}

// The audit view lists back-office changes too, with who made them.
func TestAuditListsBackOfficeChanges(t *testing.T) {
	s := newPageSite(t)
	org := s.token("org-1", "Organiser", auth.RoleOrganizer)
	scheduleEdition(t, s, org)
	if w := s.api("PUT", "/api/conference/editions/yunqi-2013/details", org,
		`{"name":{"zh":"改名后的大会","en":"Renamed"},"starts_on":"2013-10-24","ends_on":"2013-10-25","venue":"云栖小镇"}`); w.Code != 200 {
		t.Fatalf("edit details: %d %s", w.Code, w.Body)
	}
	if w := s.api("POST", "/api/conference/editions/yunqi-2013/invite-codes", org, `{"code":"AUDIT-CODE-1","ticket_type":"general","max_uses":2}`); w.Code != 201 {
		t.Fatalf("issue invite: %d %s", w.Code, w.Body)
	}
	var list struct {
		InviteCodes []struct{ ID string } `json:"invite_codes"`
	}
	if err := json.Unmarshal(s.api("GET", "/api/conference/editions/yunqi-2013/invite-codes", org, "").Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.InviteCodes) == 0 {
		t.Fatalf("invite codes: %+v", list)
	}
	last := list.InviteCodes[len(list.InviteCodes)-1].ID // the one just issued
	if w := s.api("DELETE", "/api/conference/editions/yunqi-2013/invite-codes/"+last, org, ""); w.Code != 204 {
		t.Fatalf("revoke invite: %d %s", w.Code, w.Body)
	}
	expect(t, "audit", s.visitor(org, "en").get("/conference/yunqi-2013/audit"), 200,
		"Changed the edition&#39;s details (now Renamed)", "Withdrew the invite code "+last)
}
