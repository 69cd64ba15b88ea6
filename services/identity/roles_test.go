package identity

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/events"
)

// organizerSession signs up an organiser (granted by an operator command,
// as on a fresh install) and logs them in.
func organizerSession(t *testing.T, f *fixture, email, name string) (string, session) {
	t.Helper()
	id := f.signUp(email, name)
	if _, err := GrantRole(t.Context(), f.store, f.svc.claims, email, "organizer", "operator"); err != nil {
		t.Fatal(err)
	}
	return id, f.logIn(email)
}

func TestOrganizerGrantsAndRevokesRolesOverTheAPI(t *testing.T) {
	f := newFixture(t)
	orgID, org := organizerSession(t, f, "org@example.com", "杜勇")
	ada := f.signUp("ada@example.com", "Ada Lovelace")

	// The directory follows the log a moment behind the sign-up.
	eventually(t, "Ada is found by a part of her name", func() bool {
		res := f.do("GET", "/api/identity/users?q=lovelace", nil, bearer(org.access))
		var found struct{ Users []Person }
		res.decode(t, &found)
		return res.status == http.StatusOK && len(found.Users) == 1 && found.Users[0].ID == ada && found.Users[0].Email == "ada@example.com"
	})
	problemOf(t, f.do("GET", "/api/identity/users", nil, bearer(org.access)), http.StatusUnprocessableEntity)

	path := "/api/identity/users/" + ada + "/roles/reviewer"
	res := f.do("PUT", path, nil, bearer(org.access))
	var p Person
	res.decode(t, &p)
	if res.status != http.StatusOK || strings.Join(p.Roles, ",") != "member,reviewer" {
		t.Fatalf("grant: %d %s", res.status, res.body)
	}
	// A repeated grant writes nothing.
	if f.do("PUT", path, nil, bearer(org.access)).status != http.StatusOK || countEvents(t, f.store, "identity.RoleGranted") != 2 {
		t.Fatalf("a repeated grant wrote again: %d grants", countEvents(t, f.store, "identity.RoleGranted"))
	}

	// The log knows who granted it; the person's timeline does not say.
	evs, err := f.store.ReadStream(t.Context(), events.UserStream(ada), events.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last := evs[len(evs)-1]
	if last.Type != "identity.RoleGranted" || last.Metadata.Actor != orgID {
		t.Fatalf("last event %s by %q, want a grant by the organiser %s", last.Type, last.Metadata.Actor, orgID)
	}
	adaSession := f.logIn("ada@example.com")
	tl := f.do("GET", "/api/identity/me/timeline", nil, bearer(adaSession.access))
	if !strings.Contains(string(tl.body), `"role_granted"`) || strings.Contains(string(tl.body), orgID) || strings.Contains(string(tl.body), "杜勇") {
		t.Fatalf("timeline: %s", tl.body)
	}

	res = f.do("DELETE", path, nil, bearer(org.access))
	res.decode(t, &p)
	if res.status != http.StatusOK || strings.Join(p.Roles, ",") != "member" {
		t.Fatalf("revoke: %d %s", res.status, res.body)
	}

	problemOf(t, f.do("PUT", "/api/identity/users/"+ada+"/roles/member", nil, bearer(org.access)), http.StatusUnprocessableEntity)
	problemOf(t, f.do("PUT", "/api/identity/users/"+ada+"/roles/emperor", nil, bearer(org.access)), http.StatusUnprocessableEntity)
	problemOf(t, f.do("PUT", "/api/identity/users/0193a5d0-0000-7000-8000-000000000000/roles/judge", nil, bearer(org.access)), http.StatusNotFound)
	problemOf(t, f.do("PUT", path, nil, bearer(adaSession.access)), http.StatusForbidden)
}

func TestRolesPageAndHistory(t *testing.T) {
	s := newSite(t)
	s.signUp("org@example.com", "杜勇")
	if _, err := GrantRole(t.Context(), s.store, s.svc.claims, "org@example.com", "organizer", "operator"); err != nil {
		t.Fatal(err)
	}
	ada := s.signUp("ada@example.com", "Ada Lovelace")
	eventually(t, "the directory has Ada", func() bool { return len(s.svc.timeline.findPeople("ada@example.com", 1)) == 1 })
	for _, lang := range []string{"en", "zh-CN"} {
		b := s.browser(lang)
		b.logIn("org@example.com")
		pg := b.get("/identity/staff?q=ada%40example.com")
		grant := map[string]string{"en": "Grant alliance reviewer", "zh-CN": "授予联盟评审"}[lang]
		if pg.status != http.StatusOK || !pg.has("Ada Lovelace") || !pg.has(grant) {
			t.Fatalf("%s: staff page %d lacks Ada or %q:\n%s", lang, pg.status, grant, pg.body)
		}
		pg = b.follow(b.post("/identity/staff", url.Values{"q": {"ada"}, "user": {ada}, "role": {"reviewer"}, "action": {"grant"}}))
		revoke := map[string]string{"en": "Revoke alliance reviewer", "zh-CN": "撤销联盟评审"}[lang]
		if !pg.has(revoke) {
			t.Fatalf("%s: after the grant the page offers no %q:\n%s", lang, revoke, pg.body)
		}
		bad := b.post("/identity/staff", url.Values{"q": {"ada"}, "user": {ada}, "role": {"member"}, "action": {"revoke"}})
		if bad.status != http.StatusUnprocessableEntity || !bad.has(map[string]string{"en": "every account is a member", "zh-CN": "每个账号都是成员"}[lang]) {
			t.Fatalf("%s: revoking member: %d", lang, bad.status)
		}
		hist := b.get("/identity/staff/audit?kind=role_granted")
		if !hist.has("杜勇") || !hist.has("Ada Lovelace") {
			t.Fatalf("%s: roles history lacks the organiser or the person:\n%s", lang, hist.body)
		}
		b.follow(b.post("/identity/staff", url.Values{"q": {"ada"}, "user": {ada}, "role": {"reviewer"}, "action": {"revoke"}}))
		if pg := b.get("/identity/staff/audit?from=2026-13-01"); pg.status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: a bad date answered %d", lang, pg.status)
		}
	}
	// A member who is not an organiser does not find the page.
	b := s.browser("en")
	b.logIn("ada@example.com")
	if pg := b.get("/identity/staff"); pg.status != http.StatusNotFound {
		t.Fatalf("a member got the roles page: %d", pg.status)
	}
}
