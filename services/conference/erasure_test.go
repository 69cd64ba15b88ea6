package conference

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// runService runs the service's own processes (the eraser) for the test.
func runService(t *testing.T, s *pageSite) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// eraseAccount appends what identity appends when an account is erased.
func eraseAccount(t *testing.T, store events.Store, user string) events.Event {
	t.Helper()
	p, err := events.Types.New(events.AccountErased{UserID: user, By: events.ErasedBySelf},
		events.Metadata{Actor: user, Visibility: events.Owner, OccurredAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), events.UserStream(user), events.Any, p); err != nil {
		t.Fatal(err)
	}
	evs, err := store.ReadStream(context.Background(), events.UserStream(user), events.ReadOptions{Direction: events.Backwards, FromEnd: true, Count: 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("read the erasure back: %v", err)
	}
	return evs[0]
}

// futureEdition schedules an edition a month ahead with one seat, a
// waitlist of one, and a cancellation deadline that has passed, so that a
// member could not cancel any more.
func futureEdition(t *testing.T, s *pageSite, org, id string) {
	t.Helper()
	day := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	body := fmt.Sprintf(`{"id":%q,"name":{"zh":"云栖大会","en":"Yunqi Conference"},"starts_on":%q,"ends_on":%q,
		"capacity":1,"edition_waitlist":1,"cancellation_deadline":%q}`, id, day, day, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	if w := s.api("POST", "/api/conference/editions", org, body); w.Code != http.StatusCreated {
		t.Fatalf("create edition: %d %s", w.Code, w.Body)
	}
}

func placeAPI(t *testing.T, s *pageSite, tok, edition string) string {
	t.Helper()
	w := s.api("POST", "/api/conference/editions/"+edition+"/registrations", tok, `{}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	var pl struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	json.Unmarshal(w.Body.Bytes(), &pl)
	return pl.ID
}

// eventually retries check for up to 5 s; the erasure must be through in
// well under a second, the margin is for a loaded machine.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// regStatus is a registration's status in the organisers' list.
func regStatus(t *testing.T, s *pageSite, org, edition, id string) string {
	t.Helper()
	w := s.api("GET", "/api/conference/editions/"+edition+"/attendees?status=all", org, "")
	var list AttendeeList
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatalf("attendees: %d %s", w.Code, w.Body)
	}
	for _, a := range list.Attendees {
		if a.Registration == id {
			return a.Status
		}
	}
	return ""
}

func TestErasedAccountFreesItsSeatAndName(t *testing.T) {
	s := newPageSite(t)
	runService(t, s)
	org := s.token("org-1", "Organiser", auth.RoleOrganizer)
	futureEdition(t, s, org, "yunqi-next")
	ada := s.token("ada", "杜勇")
	bob := s.token("bob", "Bob Lee")
	adaReg := placeAPI(t, s, ada, "yunqi-next")
	bobReg := placeAPI(t, s, bob, "yunqi-next")
	if got := regStatus(t, s, org, "yunqi-next", bobReg); got != events.StatusWaitlisted {
		t.Fatalf("bob is %s, want waitlisted behind ada", got)
	}
	// The deadline has passed: ada could not cancel herself.
	if w := s.api("DELETE", "/api/conference/registrations/"+adaReg, ada, ""); w.Code == http.StatusOK {
		t.Fatalf("cancelling after the deadline was accepted")
	}
	w := s.api("POST", "/api/conference/calendar-feed", ada, "")
	if w.Code != http.StatusCreated {
		t.Fatalf("issue feed: %d %s", w.Code, w.Body)
	}
	var feed feedResponse
	json.Unmarshal(w.Body.Bytes(), &feed)
	feedPath := feed.URL[strings.Index(feed.URL, "/conference/calendar/"):]
	orgPage := s.visitor(org, "zh-CN")
	expect(t, "attendees before", orgPage.get("/conference/yunqi-next/manage/attendees?status=all"), 200, "杜勇")
	if got := s.visitor("", "en").get(feedPath); got.status != http.StatusOK {
		t.Fatalf("feed before: %d", got.status)
	}

	erasure := eraseAccount(t, s.svc.store, "ada")

	eventually(t, "bob offered ada's seat", func() error {
		if got := regStatus(t, s, org, "yunqi-next", bobReg); got != events.StatusOffered {
			return fmt.Errorf("bob is %s", got)
		}
		return nil
	})
	for _, tc := range []struct{ lang, erased string }{{"zh-CN", "已删除的用户"}, {"en", "erased person"}} {
		page := s.visitor(org, tc.lang).get("/conference/yunqi-next/manage/attendees?status=all")
		expect(t, "attendees after ("+tc.lang+")", page, 200, tc.erased, "Bob Lee")
		if page.has("杜勇") {
			t.Errorf("attendees (%s) still name the erased member", tc.lang)
		}
	}
	w = s.api("GET", "/api/conference/editions/yunqi-next/attendees", org, "")
	if strings.Contains(w.Body.String(), "杜勇") {
		t.Errorf("the attendee API still names the erased member: %s", w.Body)
	}
	if got := s.visitor("", "en").get(feedPath); got.status != http.StatusNotFound {
		t.Errorf("the erased member's subscription URL answers %d, want 404", got.status)
	}
	if got := s.visitor(ada, "zh-CN").get("/conference/registrations"); got.has(adaReg) {
		t.Errorf("the registrations page still lists the erased member's registration")
	}

	// The cancellation's id is the erasure's, so a restart proposes the
	// same event and the store keeps one.
	evs, err := s.svc.store.ReadStream(context.Background(), events.EditionStream("yunqi-next"), events.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := events.IDFromKey("account-erased/"+erasure.ID.String()+"/yunqi-next", 0)
	var cancels int
	for _, e := range evs {
		if e.Type == "conference.RegistrationCancelled" {
			cancels++
			if e.ID != want {
				t.Errorf("cancellation id %s, want %s derived from the erasure", e.ID, want)
			}
			if e.Metadata.CausationID != erasure.ID.String() || e.Metadata.Actor != events.ActorSystem {
				t.Errorf("cancellation metadata %+v: want the system, caused by the erasure", e.Metadata)
			}
		}
	}
	if cancels != 1 {
		t.Fatalf("%d cancellations, want 1", cancels)
	}

	// A second process on the same log replays the erasure: nothing new.
	before := len(evs)
	s2 := newPageSiteOn(t, s.svc.store, t.TempDir())
	runService(t, s2)
	eventually(t, "second process caught up", func() error { return s2.svc.Ready(context.Background()) })
	time.Sleep(200 * time.Millisecond)
	org2 := s2.token("org-1", "Organiser", auth.RoleOrganizer)
	page := s2.visitor(org2, "en").get("/conference/yunqi-next/manage/attendees?status=all")
	expect(t, "attendees on restart", page, 200, "erased person")
	evs, _ = s.svc.store.ReadStream(context.Background(), events.EditionStream("yunqi-next"), events.ReadOptions{})
	if len(evs) != before {
		t.Errorf("the replayed erasure wrote %d more events", len(evs)-before)
	}
}

// withNullPersonal is an event as the log reads once the subject's key is
// destroyed: its personal sub-object is null.
func withNullPersonal(t *testing.T, p events.Proposed) events.Proposed {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(p.Data, &m); err != nil {
		t.Fatal(err)
	}
	m["personal"] = json.RawMessage("null")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p.Data = b
	return p
}

// TestRebuiltAfterErasure starts on a log written after the key was
// destroyed: the registration's personal part reads as null and the
// erasure comes later. Pages say "erased person", and the seat is freed
// once the eraser has read the log.
func TestRebuiltAfterErasure(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	day := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	at := time.Now().UTC()
	meta := func(v events.Visibility, subject string) events.Metadata {
		return events.Metadata{Actor: events.ActorSystem, Visibility: v, Subject: subject, OccurredAt: at}
	}
	mk := func(p any, m events.Metadata) events.Proposed {
		ev, err := events.Types.New(p, m)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	reg := "yunqi-old." + events.NewID().String()
	placed := withNullPersonal(t, mk(events.RegistrationPlaced{EditionID: "yunqi-old", RegistrationID: reg, MemberID: "ada",
		Status: events.StatusConfirmed, Sessions: []events.SessionChoice{}, Personal: events.RegistrantPersonal{Name: "杜勇"}},
		meta(events.Owner, "ada")))
	if _, err := store.Append(ctx, events.EditionStream("yunqi-old"), events.NoStream,
		mk(events.EditionScheduled{EditionID: "yunqi-old", NameZH: "云栖大会", NameEN: "Yunqi", StartsOn: day, EndsOn: day, Capacity: 5}, meta(events.Public, "")),
		placed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(placed.Data), "杜勇") {
		t.Fatal("the test's registration still carries the name")
	}
	eraseAccount(t, store, "ada")

	s := newPageSiteOn(t, store, t.TempDir())
	runService(t, s)
	org := s.token("org-1", "Organiser", auth.RoleOrganizer)
	eventually(t, "the erased registration cancelled", func() error {
		if got := regStatus(t, s, org, "yunqi-old", reg); got != events.StatusCancelled {
			return fmt.Errorf("registration is %q", got)
		}
		return nil
	})
	for _, tc := range []struct{ lang, erased string }{{"zh-CN", "已删除的用户"}, {"en", "erased person"}} {
		page := s.visitor(org, tc.lang).get("/conference/yunqi-old/manage/attendees?status=all")
		expect(t, "rebuilt attendees ("+tc.lang+")", page, 200, tc.erased)
	}
}

// TestEraseDecisions holds the cancellation rules of an erasure as a table.
func TestEraseDecisions(t *testing.T) {
	before := day.Add(-24 * time.Hour) // the edition (2015-10-15/16) is still to come
	after := day.Add(5 * 24 * time.Hour)
	withName := func(p events.RegistrationPlaced, name string) events.RegistrationPlaced {
		p.Personal.Name = name
		return p
	}
	deadline := events.PolicySet{EditionID: "y", OfferWindowSeconds: 3600, CancellationDeadline: before.Add(-time.Hour)}
	tests := []struct {
		name  string
		given []any
		now   time.Time
		then  []any
	}{
		{
			name: "past the deadline the seat goes to the waitlist all the same",
			given: with(scheduled(1), deadline, withName(placed("r1", "m1", ok, seat("bigdata", ok)), "杜勇"),
				placed("r2", "m2", wl, seat("bigdata", wl))),
			now: before,
			then: []any{events.RegistrationCancelled{EditionID: "y", RegistrationID: "r1"},
				events.SeatOffered{EditionID: "y", RegistrationID: "r2", ExpiresAt: before.Add(time.Hour)}},
		},
		{
			name:  "a checked-in registration stays",
			given: with(scheduled(5), withName(placed("r1", "m1", ok), "杜勇"), events.TicketCheckedIn{EditionID: "y", RegistrationID: "r1", Gate: "A", Device: "d1"}),
			now:   before,
		},
		{
			name:  "an edition that is over frees nothing",
			given: with(scheduled(5), withName(placed("r1", "m1", ok), "杜勇")),
			now:   after,
		},
		{
			name:  "a cancelled registration is not cancelled again",
			given: with(scheduled(5), placed("r1", "m1", ok), events.RegistrationCancelled{EditionID: "y", RegistrationID: "r1"}),
			now:   before,
		},
		{
			name:  "another member's registration is untouched",
			given: with(scheduled(5), placed("r1", "m2", ok)),
			now:   before,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ed := given(tc.given...)
			var got []any
			ed.erase("m1", tc.now, func(p any) { got = append(got, p); ed.Apply(p, tc.now) })
			if fmt.Sprint(got) != fmt.Sprint(tc.then) {
				t.Errorf("emitted %v\nwant %v", got, tc.then)
			}
			for _, r := range ed.Regs {
				if r.Member == "m1" && (r.Name != "" || r.Placed.Personal.Name != "") {
					t.Errorf("registration %s still holds the name %q", r.ID, r.Name)
				}
			}
		})
	}
}
