package conference

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Shanghai for the parser, wherever the tests run

	goical "github.com/emersion/go-ical"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// parseCalendar reads body with an independent parser, so that what we
// write is checked against someone else's reading of RFC 5545.
func parseCalendar(t *testing.T, body string) *goical.Calendar {
	t.Helper()
	cal, err := goical.NewDecoder(strings.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("calendar does not parse: %v\n%s", err, body)
	}
	var tz bool
	for _, c := range cal.Children {
		if c.Name == goical.CompTimezone && c.Props.Get(goical.PropTimezoneID).Value == calendarTZID {
			tz = true
			if std := c.Children; len(std) != 1 || std[0].Props.Get(goical.PropTimezoneOffsetTo).Value != "+0800" {
				t.Errorf("VTIMEZONE rules %+v, want one STANDARD at +0800", std)
			}
		}
	}
	if !tz {
		t.Errorf("no VTIMEZONE for %s:\n%s", calendarTZID, body)
	}
	return cal
}

type parsedEvent struct {
	UID, Summary, Location, TZID string
	Start, End                   time.Time
	AllDay                       bool
	Sequence                     int
	Modified                     time.Time
}

func eventsOf(t *testing.T, cal *goical.Calendar) map[string]parsedEvent {
	t.Helper()
	out := map[string]parsedEvent{}
	for _, e := range cal.Events() {
		var p parsedEvent
		p.UID = e.Props.Get(goical.PropUID).Value
		p.Summary, _ = e.Props.Text(goical.PropSummary)
		p.Location, _ = e.Props.Text(goical.PropLocation)
		start := e.Props.Get(goical.PropDateTimeStart)
		p.TZID = start.Params.Get(goical.PropTimezoneID)
		p.AllDay = start.ValueType() == goical.ValueDate
		var err error
		if p.Start, err = e.DateTimeStart(nil); err != nil {
			t.Fatal(err)
		}
		if p.End, err = e.DateTimeEnd(nil); err != nil {
			t.Fatal(err)
		}
		if seq := e.Props.Get(goical.PropSequence); seq != nil {
			p.Sequence, _ = seq.Int()
		}
		p.Modified, _ = e.Props.DateTime(goical.PropLastModified, nil)
		if _, err := e.Props.DateTime(goical.PropDateTimeStamp, nil); err != nil || e.Props.Get(goical.PropDateTimeStamp) == nil {
			t.Errorf("%s has no DTSTAMP", p.UID)
		}
		out[p.UID] = p
	}
	return out
}

func registerAPI(t *testing.T, s *pageSite, token, body string) string {
	t.Helper()
	w := s.api("POST", "/api/conference/editions/yunqi-2013/registrations", token, body)
	if w.Code != http.StatusCreated {
		t.Fatalf("register: %d %s", w.Code, w.Body)
	}
	var pl Placement
	json.Unmarshal(w.Body.Bytes(), &pl)
	return pl.ID
}

func TestRegistrationCalendar(t *testing.T) {
	s := newPageSite(t)
	org := s.token("org", "Organiser", auth.RoleOrganizer)
	scheduleEdition(t, s, org)
	ada, bob, cai := s.token("ada", "Ada"), s.token("bob", "Bob"), s.token("cai", "Cai")
	reg := registerAPI(t, s, ada, `{"sessions":["games-forum","yunos"]}`)
	plain := registerAPI(t, s, cai, `{"sessions":[]}`)
	path := "/api/conference/registrations/" + reg + "/calendar.ics"

	w := s.api("GET", path, ada, "")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("owner's calendar: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	evs := eventsOf(t, parseCalendar(t, w.Body.String()))
	games := evs["games-forum."+reg+"@yunqi"]
	yunos := evs["yunos."+reg+"@yunqi"]
	if len(evs) != 2 || games.UID == "" || yunos.UID == "" {
		t.Fatalf("events %+v, want the two sessions", evs)
	}
	sh, _ := time.LoadLocation(calendarTZID)
	if games.TZID != calendarTZID || !games.Start.Equal(time.Date(2013, 10, 24, 9, 0, 0, 0, sh)) || !games.End.Equal(time.Date(2013, 10, 24, 12, 0, 0, 0, sh)) {
		t.Errorf("games forum %+v, want 09:00–12:00 Asia/Shanghai", games)
	}
	if games.Summary != "游戏分论坛（2013 阿里云开发者大会）" || games.Location != "云栖小镇" || games.Sequence != 0 {
		t.Errorf("games forum %+v", games)
	}
	// The same file, byte for byte, on every fetch: nothing in it is the
	// time of the download.
	if again := s.api("GET", path, ada, ""); again.Body.String() != w.Body.String() {
		t.Error("two fetches of an unchanged calendar differ")
	}

	en := eventsOf(t, parseCalendar(t, s.api("GET", path+"?lang=en", ada, "").Body.String()))
	if got := en[games.UID].Summary; got != "游戏分论坛 (Developer Conference 2013)" {
		t.Errorf("English summary %q", got)
	}

	// Someone else's registration is not found; a stranger is asked who
	// they are.
	if w := s.api("GET", path, bob, ""); w.Code != http.StatusNotFound {
		t.Errorf("another member got %d", w.Code)
	}
	if w := s.api("GET", path, "", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("anonymous got %d", w.Code)
	}

	// Moving a session keeps its UID and raises its SEQUENCE.
	if w := s.api("POST", "/api/conference/editions/yunqi-2013/sessions/games-forum/reschedule", org,
		`{"starts_at":"2013-10-24T14:00:00+08:00","ends_at":"2013-10-24T16:00:00+08:00","room":"A2"}`); w.Code != http.StatusOK {
		t.Fatalf("reschedule: %d %s", w.Code, w.Body)
	}
	if w := s.api("POST", "/api/conference/editions/yunqi-2013/sessions/games-forum/reschedule", ada,
		`{"starts_at":"2013-10-24T14:00:00+08:00","ends_at":"2013-10-24T16:00:00+08:00"}`); w.Code != http.StatusForbidden {
		t.Errorf("a member moved a session: %d", w.Code)
	}
	moved := eventsOf(t, parseCalendar(t, s.api("GET", path, ada, "").Body.String()))[games.UID]
	if moved.UID != games.UID || moved.Sequence != 1 || !moved.Start.Equal(time.Date(2013, 10, 24, 14, 0, 0, 0, sh)) || moved.Modified.Before(games.Modified) {
		t.Errorf("after the move %+v, before %+v", moved, games)
	}
	if got := eventsOf(t, parseCalendar(t, s.api("GET", path, ada, "").Body.String()))[yunos.UID]; got.Sequence != 0 {
		t.Errorf("a session that did not move has SEQUENCE %d", got.Sequence)
	}

	// Without sessions, the edition's days, all day.
	days := eventsOf(t, parseCalendar(t, s.api("GET", "/api/conference/registrations/"+plain+"/calendar.ics", cai, "").Body.String()))
	all := days[plain+"@yunqi"]
	if len(days) != 1 || !all.AllDay || all.Start.Format(time.DateOnly) != "2013-10-24" || all.End.Format(time.DateOnly) != "2013-10-26" {
		t.Errorf("edition-wide entry %+v", days)
	}

	// A cancelled registration holds nothing.
	s.api("DELETE", "/api/conference/registrations/"+plain, cai, "")
	if cal := parseCalendar(t, s.api("GET", "/api/conference/registrations/"+plain+"/calendar.ics", cai, "").Body.String()); len(cal.Events()) != 0 {
		t.Errorf("a cancelled registration's calendar has %d events", len(cal.Events()))
	}

	// The registration page links the file, and the link works with the
	// page session.
	page := s.visitor(ada, "en").get(registrationPath(reg))
	expect(t, "registration page", page, http.StatusOK, "Add to calendar", registrationPath(reg)+"/calendar.ics", pathCalendar)
	expect(t, "registration page (zh)", s.visitor(ada, "zh-CN").get(registrationPath(reg)), http.StatusOK, "添加到日历")
	file := s.visitor(ada, "en").get(registrationPath(reg) + "/calendar.ics")
	if file.status != http.StatusOK || file.header.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("page calendar: %d %v", file.status, file.header)
	}
	if got := eventsOf(t, parseCalendar(t, file.body))[games.UID].Summary; !strings.Contains(got, "Developer Conference 2013") {
		t.Errorf("page calendar summary %q", got)
	}
	if p := s.visitor(bob, "en").get(registrationPath(reg) + "/calendar.ics"); p.status != http.StatusNotFound {
		t.Errorf("another visitor got %d", p.status)
	}
	if p := s.visitor("", "en").get(registrationPath(reg) + "/calendar.ics"); p.status != http.StatusSeeOther {
		t.Errorf("a stranger got %d", p.status)
	}
}

func feedURLOf(t *testing.T, body []byte) string {
	t.Helper()
	var f feedResponse
	if err := json.Unmarshal(body, &f); err != nil || f.URL == "" {
		t.Fatalf("feed answer %s", body)
	}
	u, err := url.Parse(f.URL)
	if err != nil || u.Scheme == "" || !strings.HasPrefix(u.Path, "/conference/calendar/") || !strings.HasSuffix(u.Path, ".ics") {
		t.Fatalf("feed URL %q", f.URL)
	}
	return u.Path
}

func TestCalendarFeed(t *testing.T) {
	s := newPageSite(t)
	org := s.token("org", "Organiser", auth.RoleOrganizer)
	scheduleEdition(t, s, org)
	ada, bob := s.token("ada", "Ada"), s.token("bob", "Bob")
	reg := registerAPI(t, s, ada, `{"sessions":["games-forum","yunos"]}`)
	registerAPI(t, s, bob, `{"sessions":["finance-forum"]}`)

	if w := s.api("GET", "/api/conference/calendar-feed", ada, ""); w.Code != http.StatusNotFound {
		t.Fatalf("feed before one was made: %d", w.Code)
	}
	if w := s.api("POST", "/api/conference/calendar-feed", "", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("anonymous made a feed: %d", w.Code)
	}
	w := s.api("POST", "/api/conference/calendar-feed", ada, "")
	if w.Code != http.StatusCreated {
		t.Fatalf("issue: %d %s", w.Code, w.Body)
	}
	first := feedURLOf(t, w.Body.Bytes())
	if got := feedURLOf(t, s.api("GET", "/api/conference/calendar-feed", ada, "").Body.Bytes()); got != first {
		t.Errorf("GET says %s, POST said %s", got, first)
	}

	anon := s.visitor("", "en")
	feed := anon.get(first)
	if feed.status != http.StatusOK || feed.header.Get("Cache-Control") != "private, max-age=300" || feed.header.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("feed: %d %v %s", feed.status, feed.header, feed.body)
	}
	evs := eventsOf(t, parseCalendar(t, feed.body))
	if len(evs) != 2 || evs["games-forum."+reg+"@yunqi"].TZID != calendarTZID {
		t.Errorf("Ada's feed %+v, want her two sessions and nobody else's", evs)
	}
	if en := eventsOf(t, parseCalendar(t, anon.get(first+"?lang=en").body))["yunos."+reg+"@yunqi"]; en.Summary != "YunOS (Developer Conference 2013)" {
		t.Errorf("English feed summary %q", en.Summary)
	}

	// Rotating: the old URL stops working at once.
	second := feedURLOf(t, s.api("POST", "/api/conference/calendar-feed", ada, "").Body.Bytes())
	if second == first {
		t.Fatal("rotating kept the token")
	}
	if p := anon.get(first); p.status != http.StatusNotFound {
		t.Errorf("the rotated-out URL answered %d", p.status)
	}
	if p := anon.get(second); p.status != http.StatusOK {
		t.Errorf("the new URL answered %d", p.status)
	}
	// Bob's feed is his own.
	bobs := feedURLOf(t, s.api("POST", "/api/conference/calendar-feed", bob, "").Body.Bytes())
	if got := eventsOf(t, parseCalendar(t, anon.get(bobs).body)); len(got) != 1 {
		t.Errorf("Bob's feed %+v", got)
	}

	// The token is Ada's personal data, in her own stream.
	evl, err := s.svc.store.ReadStream(context.Background(), events.CalendarFeedStream("ada"), events.ReadOptions{})
	if err != nil || len(evl) != 2 {
		t.Fatalf("feed stream: %v %d", err, len(evl))
	}
	token := strings.TrimSuffix(strings.TrimPrefix(second, "/conference/calendar/"), ".ics")
	if m := evl[1].Metadata; m.Subject != "ada" || m.Visibility != events.Owner ||
		!strings.Contains(string(evl[1].Data), `"personal":{"token":"`+token+`"}`) {
		t.Errorf("issued event %s %+v", evl[1].Data, m)
	}

	// The read model is rebuilt from the log: a fresh index knows the
	// live token and not the old one.
	x := newPageIndex(s.svc.store, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go x.follower.Run(ctx)
	for deadline := time.Now().Add(5 * time.Second); !x.follower.Ready(); {
		if time.Now().After(deadline) {
			t.Fatal("fresh index never caught up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if m, ok := x.feedMember(token); !ok || m != "ada" {
		t.Errorf("fresh index maps the token to %q %v", m, ok)
	}
	old := strings.TrimSuffix(strings.TrimPrefix(first, "/conference/calendar/"), ".ics")
	if _, ok := x.feedMember(old); ok {
		t.Error("fresh index still knows the rotated-out token")
	}

	// Revoking: 204, then nothing answers.
	if w := s.api("DELETE", "/api/conference/calendar-feed", ada, ""); w.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	if p := anon.get(second); p.status != http.StatusNotFound {
		t.Errorf("a revoked URL answered %d", p.status)
	}
	if w := s.api("GET", "/api/conference/calendar-feed", ada, ""); w.Code != http.StatusNotFound {
		t.Errorf("GET after revoking: %d", w.Code)
	}
	if w := s.api("DELETE", "/api/conference/calendar-feed", ada, ""); w.Code != http.StatusNoContent {
		t.Errorf("revoking twice: %d", w.Code)
	}
	for _, p := range []string{"/conference/calendar/" + newFeedToken() + ".ics", "/conference/calendar/nope.ics", "/conference/calendar/..%2f.ics"} {
		if got := anon.get(p); got.status != http.StatusNotFound {
			t.Errorf("%s answered %d", p, got.status)
		}
	}
}

func TestCalendarPage(t *testing.T) {
	s := newPageSite(t)
	ada := s.visitor(s.token("ada", "Ada"), "zh-CN")
	expect(t, "calendar page", ada.get(pathCalendar), http.StatusOK, "创建我的日历地址")
	if p := ada.post(pathCalendar, url.Values{"action": {"issue"}}); p.status != http.StatusSeeOther {
		t.Fatalf("issue: %d %s", p.status, p.body)
	}
	page := ada.get(pathCalendar)
	expect(t, "calendar page with a feed", page, http.StatusOK, `id="feed-url"`, "/conference/calendar/", "webcal://", "停用地址")
	if page.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("the page with the secret URL sends Referrer-Policy %q", page.header.Get("Referrer-Policy"))
	}
	token, err := s.svc.FeedToken(context.Background(), "ada")
	if err != nil || !strings.Contains(page.body, token) {
		t.Fatalf("the page does not show the live token (%v)", err)
	}
	en := s.visitor(ada.token, "en")
	expect(t, "calendar page (en)", en.get(pathCalendar), http.StatusOK, "Revoke the address", "?lang=en")
	if p := ada.post(pathCalendar, url.Values{"action": {"revoke"}}); p.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", p.status)
	}
	if p := s.visitor("", "en").get(feedPath(token)); p.status != http.StatusNotFound {
		t.Errorf("revoked from the page, the URL still answers %d", p.status)
	}
	expect(t, "calendar page after revoking", ada.get(pathCalendar), http.StatusOK, "创建我的日历地址")
	if p := s.visitor("", "en").get(pathCalendar); p.status != http.StatusSeeOther {
		t.Errorf("a stranger got %d", p.status)
	}
	if p := ada.post(pathCalendar, url.Values{"action": {"nonsense"}}); p.status != http.StatusBadRequest {
		t.Errorf("an unknown action got %d", p.status)
	}
}
