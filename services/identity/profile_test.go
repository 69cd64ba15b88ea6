package identity

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/events"
)

func TestProfilePublishFlags(t *testing.T) {
	f := newFixture(t)
	id := f.signUp("duyong@example.com", "杜勇")
	s := f.logIn("duyong@example.com")

	var mine profileDoc
	res := f.do("GET", "/api/identity/me/profile", nil, bearer(s.access))
	res.decode(t, &mine)
	if res.status != http.StatusOK || mine.ID != id || mine.DisplayName != "杜勇" || mine.Publish != (events.ProfilePublish{}) {
		t.Fatalf("fresh profile: %d %+v", res.status, mine)
	}
	// Nothing is public until the person publishes it.
	problemOf(t, f.do("GET", "/api/identity/people/"+id, nil), http.StatusNotFound)

	update := profileDoc{
		DisplayName: "杜勇",
		Bio:         "Storage engineer; private for now.",
		City:        "杭州",
		Skills:      []string{"Go", "分布式存储"},
		Links:       []events.ProfileLink{{Label: "blog", URL: "https://example.com/duyong"}},
		Publish:     events.ProfilePublish{City: true, Skills: true, Links: true},
	}
	res = f.do("PUT", "/api/identity/me/profile", update, bearer(s.access))
	res.decode(t, &mine)
	if res.status != http.StatusOK || mine.City != "杭州" || !mine.Publish.City || mine.Publish.Bio {
		t.Fatalf("update: %d %s", res.status, res.body)
	}

	res = f.do("GET", "/api/identity/people/"+id, nil)
	var pub map[string]any
	res.decode(t, &pub)
	if res.status != http.StatusOK {
		t.Fatalf("public profile: %d %s", res.status, res.body)
	}
	want := map[string]any{
		"id": id, "city": "杭州", "skills": []any{"Go", "分布式存储"},
		"links":   []any{map[string]any{"label": "blog", "url": "https://example.com/duyong"}},
		"entries": []any{}, "posts": []any{}, "posts_total": float64(0),
	}
	if !reflect.DeepEqual(pub, want) {
		t.Fatalf("public profile = %v\nwant %v", pub, want)
	}
	for _, secret := range []string{"duyong@example.com", "private for now", "杜勇", "argon2"} {
		if strings.Contains(string(res.body), secret) {
			t.Fatalf("public profile shows %q: %s", secret, res.body)
		}
	}

	// A PUT of the same profile writes nothing.
	before := countEvents(t, f.store, "identity.ProfileUpdated")
	f.do("PUT", "/api/identity/me/profile", update, bearer(s.access))
	if after := countEvents(t, f.store, "identity.ProfileUpdated"); after != before {
		t.Fatalf("unchanged profile wrote %d events", after-before)
	}

	bad := update
	bad.Links = []events.ProfileLink{{URL: "javascript:alert(1)"}}
	p := problemOf(t, f.do("PUT", "/api/identity/me/profile", bad, bearer(s.access)), http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "links[0].url" {
		t.Fatalf("errors = %+v", p.Errors)
	}
	problemOf(t, f.do("PUT", "/api/identity/me/profile", `{"display_name":"x","email":"new@example.com"}`, bearer(s.access)), http.StatusBadRequest)
	problemOf(t, f.do("PUT", "/api/identity/me/profile", update), http.StatusUnauthorized)
	problemOf(t, f.do("GET", "/api/identity/people/not-an-id", nil), http.StatusNotFound)
	problemOf(t, f.do("GET", "/api/identity/people/0193a0b2-0000-7000-8000-00000000ffff", nil), http.StatusNotFound)
}

func TestTimeline(t *testing.T) {
	f := newFixture(t)
	const staff = "organizer-zhang@yunqi.example"
	f.signUp("a@example.com", "A")
	f.signUp("b@example.com", "B")
	a := f.logIn("a@example.com")
	b := f.logIn("b@example.com")
	if res := f.do("POST", "/api/identity/tokens/refresh", nil, withCookie(a.refresh)); res.status != http.StatusOK {
		t.Fatal(res.status)
	}
	if _, err := GrantRole(t.Context(), f.openSecondStore(), f.svc.claims, "a@example.com", "reviewer", staff); err != nil {
		t.Fatal(err)
	}
	f.do("PUT", "/api/identity/me/profile", profileDoc{DisplayName: "A", City: "杭州"}, bearer(a.access))
	if _, err := RevokeRole(t.Context(), f.store, f.svc.claims, "a@example.com", "reviewer", staff); err != nil {
		t.Fatal(err)
	}
	f.do("DELETE", "/api/identity/tokens", nil, withCookie(a.refresh))

	want := []string{"session_ended", "role_revoked", "profile_updated", "role_granted", "session_started", "email_verification_requested", "registered"}
	var tl timelineResponse
	var body string
	eventually(t, "the timeline to show every event", func() bool {
		res := f.do("GET", "/api/identity/me/timeline", nil, bearer(a.access))
		tl, body = timelineResponse{}, string(res.body)
		res.decode(t, &tl)
		return len(tl.Entries) >= len(want)
	})
	var kinds []string
	for _, e := range tl.Entries {
		kinds = append(kinds, e.Kind)
		if e.At.IsZero() || e.ID == "" {
			t.Fatalf("entry without time or id: %+v", e)
		}
	}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("timeline kinds = %v\nwant %v", kinds, want)
	}
	if tl.Entries[3].Role != "reviewer" || tl.Entries[0].Reason != "logout" {
		t.Fatalf("entries = %+v", tl.Entries)
	}
	// Who granted the role, the token rotation, and anyone's email stay out.
	for _, secret := range []string{staff, "organizer", "a@example.com", "b@example.com", "token_hash", "refreshed"} {
		if strings.Contains(body, secret) {
			t.Fatalf("timeline shows %q: %s", secret, body)
		}
	}
	// The log itself still knows who granted it, for staff.
	if n := countActor(t, f, staff); n != 2 {
		t.Fatalf("%d events carry the staff actor, want 2", n)
	}

	// Pages, newest first.
	var page timelineResponse
	f.do("GET", "/api/identity/me/timeline?limit=4", nil, bearer(a.access)).decode(t, &page)
	if len(page.Entries) != 4 || page.NextCursor == "" || page.Entries[0].Kind != "session_ended" {
		t.Fatalf("first page = %+v", page)
	}
	cursor := page.NextCursor
	page = timelineResponse{}
	f.do("GET", "/api/identity/me/timeline?limit=4&cursor="+cursor, nil, bearer(a.access)).decode(t, &page)
	if len(page.Entries) != 3 || page.NextCursor != "" || page.Entries[2].Kind != "registered" {
		t.Fatalf("second page = %+v", page)
	}
	problemOf(t, f.do("GET", "/api/identity/me/timeline?limit=0", nil, bearer(a.access)), http.StatusUnprocessableEntity)

	// B sees only B's own account.
	var other timelineResponse
	f.do("GET", "/api/identity/me/timeline", nil, bearer(b.access)).decode(t, &other)
	for _, e := range other.Entries {
		if e.Kind != "registered" && e.Kind != "email_verification_requested" && e.Kind != "session_started" {
			t.Fatalf("B's timeline has %+v", e)
		}
	}
	if len(other.Entries) != 3 {
		t.Fatalf("B's timeline = %+v", other.Entries)
	}
	if err := f.svc.Ready(t.Context()); err != nil {
		t.Fatal("timeline caught up but the service is not ready")
	}
}

func countActor(t *testing.T, f *fixture, actor string) int {
	t.Helper()
	evs, err := f.store.ReadAll(t.Context(), events.ReadAllOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Metadata.Actor == actor {
			n++
		}
	}
	return n
}

func TestTimelineRebuiltAfterRestart(t *testing.T) {
	f := newFixture(t)
	f.signUp("a@example.com", "A")
	s := f.logIn("a@example.com")
	f.restart()
	eventually(t, "the rebuilt timeline", func() bool {
		var tl timelineResponse
		f.do("GET", "/api/identity/me/timeline", nil, bearer(s.access)).decode(t, &tl)
		return len(tl.Entries) == 3 // registered, verification asked, logged in
	})
}

func TestEventsCarryPersonalDataOnlyInPersonal(t *testing.T) {
	f := newFixture(t)
	id := f.signUp("a@example.com", "A")
	f.logIn("a@example.com")
	evs, err := f.store.ReadAll(t.Context(), events.ReadAllOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Metadata.Subject != id {
			t.Errorf("%s has subject %q, want %q", e.Type, e.Metadata.Subject, id)
		}
		if strings.Contains(e.Stream, "example") {
			t.Errorf("stream name %q carries the address", e.Stream)
		}
		if !e.Metadata.Visibility.Valid() {
			t.Errorf("%s has no visibility", e.Type)
		}
		if e.Type == "identity.UserRegistered" {
			var raw map[string]any
			if err := json.Unmarshal(e.Data, &raw); err != nil {
				t.Fatal(err)
			}
			personal, _ := raw["personal"].(map[string]any)
			if personal["email"] != "a@example.com" || raw["email"] != nil {
				t.Errorf("registration data = %s", e.Data)
			}
		}
	}
}
