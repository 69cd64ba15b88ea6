package conference

import (
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
