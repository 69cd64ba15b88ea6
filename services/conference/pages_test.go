package conference

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/infra/auth"
)

const testEdition = `{"id":"yunqi-2013","name":{"zh":"2013 阿里云开发者大会","en":"Developer Conference 2013"},
	"starts_on":"2013-10-24","ends_on":"2013-10-25","venue":"云栖小镇","capacity":3,"edition_waitlist":1,
	"tracks":[{"id":"games","name":{"zh":"游戏","en":"Games"}},{"id":"finance","name":{"zh":"金融","en":"Finance"}}],
	"ticket_types":[{"id":"student","quota":1},{"id":"invited","invite_only":true}]}`

// scheduleEdition creates the edition the page tests use: a one-seat games
// forum that clashes with the finance forum, and a YunOS forum outside
// any track.
func scheduleEdition(t *testing.T, s *pageSite, org string) {
	t.Helper()
	if w := s.api("POST", "/api/conference/editions", org, testEdition); w.Code != http.StatusCreated {
		t.Fatalf("create edition: %d %s", w.Code, w.Body)
	}
	for _, body := range []string{
		`{"id":"games-forum","track":"games","title":"游戏分论坛","room":"A1","starts_at":"2013-10-24T09:00:00+08:00","ends_at":"2013-10-24T12:00:00+08:00","capacity":1}`,
		`{"id":"finance-forum","track":"finance","title":"金融分论坛","room":"B2","starts_at":"2013-10-24T11:00:00+08:00","ends_at":"2013-10-24T13:00:00+08:00","capacity":3}`,
		`{"id":"yunos","title":"YunOS","room":"C3","starts_at":"2013-10-25T14:00:00+08:00","ends_at":"2013-10-25T17:00:00+08:00","capacity":3}`,
	} {
		if w := s.api("POST", "/api/conference/editions/yunqi-2013/sessions", org, body); w.Code != http.StatusCreated {
			t.Fatalf("add session: %d %s", w.Code, w.Body)
		}
	}
	if w := s.api("POST", "/api/conference/editions/yunqi-2013/invite-codes", org,
		`{"code":"FEITIAN-5K","ticket_type":"invited","max_uses":1}`); w.Code != http.StatusCreated {
		t.Fatalf("invite code: %d %s", w.Code, w.Body)
	}
}

// register posts the edition page's form as v, with the form key the page
// handed out.
func register(t *testing.T, v *visitor, form url.Values) pageAnswer {
	t.Helper()
	page := v.get("/conference/yunqi-2013/")
	m := formKey.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("the edition page has no registration form (%d)", page.status)
	}
	form.Set("form_key", m[1])
	return v.post("/conference/yunqi-2013/", form)
}

func expect(t *testing.T, what string, p pageAnswer, status int, wants ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: %d, want %d\n%s", what, p.status, status, p.body)
	}
	for _, want := range wants {
		if !p.has(want) {
			t.Errorf("%s lacks %q", what, want)
		}
	}
}

func TestEditionPages(t *testing.T) {
	s := newPageSite(t)
	org := s.token("org-1", "Organiser", auth.RoleOrganizer)
	scheduleEdition(t, s, org)
	stranger := s.visitor("", "zh-CN")
	ada := s.visitor(s.token("ada", "杜勇"), "zh-CN")
	bob := s.visitor(s.token("bob", "Bob"), "en")

	expect(t, "editions (zh)", stranger.get("/conference/"), 200,
		"历届大会", `href="/conference/yunqi-2013/"`, "2013 阿里云开发者大会", "2013年10月24日至2013年10月25日", "已占座位 0 / 3")
	expect(t, "editions (en)", s.visitor("", "en").get("/conference/"), 200,
		"Conference editions", "Developer Conference 2013", "24 October 2013 – 25 October 2013", "0 of 3 seats taken")

	anon := stranger.get("/conference/yunqi-2013/")
	expect(t, "edition (stranger)", anon, 200, "<h1>2013 阿里云开发者大会</h1>", "云栖小镇", "<h3>游戏</h3>", "<h3>金融</h3>",
		"<h3>其他场次</h3>", "游戏分论坛", "2013年10月24日 09:00–12:00", "A1", "登录后报名",
		`href="/identity/login?next=%2Fconference%2Fyunqi-2013%2F"`)
	if anon.has(`name="sessions"`) {
		t.Error("a stranger is shown the registration form")
	}
	expect(t, "edition (en)", s.visitor("", "en").get("/conference/yunqi-2013/"), 200, "24 October 2013, 09:00–12:00", "Log in to register")
	if p := stranger.get("/conference/yunqi-2013"); p.status != http.StatusMovedPermanently || p.header.Get("Location") != "/conference/yunqi-2013/" {
		t.Errorf("/conference/yunqi-2013: %d %q", p.status, p.header.Get("Location"))
	}
	expect(t, "unknown edition", stranger.get("/conference/nope/"), 404)
	if p := stranger.post("/conference/yunqi-2013/", url.Values{}); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/identity/login?next=") {
		t.Errorf("a stranger's registration: %d %q", p.status, p.header.Get("Location"))
	}

	// Every refusal comes back as a message on its field, in the
	// visitor's language.
	p := register(t, ada, url.Values{"sessions": {"games-forum", "finance-forum"}})
	expect(t, "clashing sessions (zh)", p, 422, "“游戏分论坛”和“金融分论坛”时间冲突", `id="f-sessions-error"`, `href="#f-sessions"`)
	if !strings.Contains(p.body, `id="session-games-forum" name="sessions" value="games-forum" checked`) {
		t.Error("the sessions chosen are not ticked again")
	}
	checkDescribedBy(t, p)
	p = register(t, bob, url.Values{"sessions": {"games-forum", "finance-forum"}})
	expect(t, "clashing sessions (en)", p, 422, "“游戏分论坛” and “金融分论坛” take place at the same time")
	checkDescribedBy(t, p)
	expect(t, "unknown session", register(t, bob, url.Values{"sessions": {"keynote"}}), 422, "is not in this edition’s programme")
	expect(t, "unknown ticket type", register(t, bob, url.Values{"ticket_type": {"vip"}}), 422, `id="f-ticket-type-error"`, "Choose one of the ticket types listed.")
	p = register(t, ada, url.Values{"ticket_type": {"invited"}})
	expect(t, "invite code missing", p, 422, `id="f-invite-code-error"`, "请输入邀请码")
	checkDescribedBy(t, p)
	expect(t, "wrong invite code", register(t, bob, url.Values{"ticket_type": {"invited"}, "invite_code": {"FEITIAN-6K"}}), 422,
		"This invite code is not valid")

	// A good registration lands on its page.
	p = register(t, ada, url.Values{"sessions": {"games-forum", "yunos"}, "ticket_type": {"invited"}, "invite_code": {"FEITIAN-5K"}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/conference/registrations/yunqi-2013.") {
		t.Fatalf("registration: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	adaReg := p.header.Get("Location")
	reg := ada.get(adaReg)
	expect(t, "registration (zh)", reg, 200, "我的报名：2013 阿里云开发者大会", "已确认", "游戏分论坛", "邀请票",
		`src="`+adaReg+`/ticket.png"`, `href="`+adaReg+`/ticket.png?download=1"`, "你报名成功，获得了大会座位。", "你获得了“游戏分论坛”的座位。",
		`name="action" value="cancel"`)
	if png := ada.get(adaReg + "/ticket.png"); png.status != 200 || png.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(png.body, "\x89PNG") {
		t.Errorf("ticket.png: %d %s", png.status, png.header.Get("Content-Type"))
	}
	if dl := ada.get(adaReg + "/ticket.png?download=1"); !strings.Contains(dl.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("the download link does not download: %q", dl.header.Get("Content-Disposition"))
	}

	// Sending the same form again (a double click) places nothing twice.
	page := ada.get("/conference/yunqi-2013/")
	expect(t, "edition (registered)", page, 200, "你已报名本届大会。", `href="`+adaReg+`"`)
	if page.has(`name="sessions"`) {
		t.Error("a registered member is shown the form again")
	}

	// Someone else's registration does not exist for bob, nor its ticket.
	expect(t, "someone else's registration", bob.get(adaReg), 404)
	expect(t, "someone else's ticket", bob.get(adaReg+"/ticket.png"), 404)
	expect(t, "someone else's cancel", bob.post(adaReg, url.Values{"action": {"cancel"}}), 404)
	expect(t, "malformed id", bob.get("/conference/registrations/nope"), 404)
	if p := stranger.get(adaReg + "/ticket.png"); p.status != http.StatusSeeOther {
		t.Errorf("a stranger's ticket.png: %d", p.status)
	}

	// Bob takes the student ticket, the only one; Eve cannot.
	p = register(t, bob, url.Values{"sessions": {"games-forum"}, "ticket_type": {"student"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("bob's registration: %d\n%s", p.status, p.body)
	}
	bobReg := p.header.Get("Location")
	expect(t, "bob's registration (en)", bob.get(bobReg), 200, "On the waitlist", "“游戏分论坛” was full, so you joined its waitlist.", "Student")
	eve := s.visitor(s.token("eve", "Eve"), "en")
	expect(t, "student tickets sold out", register(t, eve, url.Values{"ticket_type": {"student"}}), 409, `id="f-ticket-type-error"`, "Every ticket of this type is taken")

	// A second registration by the same member (from a tab opened before
	// the first) links to the first.
	p = bob.post("/conference/yunqi-2013/", url.Values{"form_key": {"another-tab"}})
	expect(t, "duplicate", p, 409, "You are already registered for this edition", `href="`+bobReg+`"`)

	// Fill the edition (capacity 3), then its one-place waitlist.
	if p := register(t, eve, url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("eve: %d", p.status)
	}
	if p := register(t, s.visitor(s.token("fay", "Fay"), "en"), url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("fay: %d", p.status)
	}
	gus := s.visitor(s.token("gus", "Gus"), "zh-CN")
	expect(t, "full edition", gus.get("/conference/yunqi-2013/"), 200, "座位已满，候补名单也已关闭。")

	// "My registrations" lists one's own, and nobody else's.
	expect(t, "mine", ada.get("/conference/registrations"), 200, `href="`+adaReg+`"`, "2013 阿里云开发者大会", "已确认")
	if ada.get("/conference/registrations").has(bobReg) {
		t.Error("ada's list shows bob's registration")
	}
	expect(t, "mine (empty)", gus.get("/conference/registrations"), 200, "你还没有报名任何一届大会。")
	if p := stranger.get("/conference/registrations"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/identity/login") {
		t.Errorf("a stranger's list: %d", p.status)
	}

	// Ada cancels; bob, first on the games forum's waitlist, is offered
	// her seat and accepts it.
	p = ada.post(adaReg, url.Values{"action": {"cancel"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != adaReg {
		t.Fatalf("cancel: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	reg = ada.get(adaReg)
	expect(t, "cancelled", reg, 200, "已取消", "你取消了报名。", "此报名已取消，门票已失效。")
	if reg.has(`value="cancel"`) {
		t.Error("a cancelled registration can be cancelled again")
	}
	expect(t, "cancelled ticket", ada.get(adaReg+"/ticket.png"), 409)
	offer := bob.get(bobReg)
	expect(t, "offer", offer, 200, "A seat in “游戏分论坛” is waiting for you.", `name="action" value="accept"`, "became free and was offered to you until")
	expect(t, "no offer to accept", ada.post(adaReg, url.Values{"action": {"accept"}}), 409, "已没有可接受的座位")
	if p := bob.post(bobReg, url.Values{"action": {"accept"}}); p.status != http.StatusSeeOther {
		t.Fatalf("accept: %d\n%s", p.status, p.body)
	}
	expect(t, "accepted", bob.get(bobReg), 200, "You have a seat in “游戏分论坛”.")
	if bob.get(bobReg).has(`value="accept"`) {
		t.Error("an accepted offer can be accepted again")
	}
	expect(t, "unknown action", bob.post(bobReg, url.Values{"action": {"delete"}}), 400)
}

func TestOrganizerPages(t *testing.T) {
	s := newPageSite(t)
	org := s.token("org-1", "Organiser", auth.RoleOrganizer)
	scheduleEdition(t, s, org)
	ada := s.visitor(s.token("ada", "=杜勇"), "zh-CN")
	if p := register(t, ada, url.Values{"sessions": {"games-forum"}}); p.status != http.StatusSeeOther {
		t.Fatalf("register: %d", p.status)
	}
	organiser := s.visitor(org, "en")
	member := s.visitor(s.token("bob", "Bob"), "zh-CN")
	stranger := s.visitor("", "en")
	for _, path := range []string{
		"/conference/yunqi-2013/attendees",
		"/conference/yunqi-2013/attendees/games-forum",
		"/conference/yunqi-2013/attendees/games-forum/export.csv",
	} {
		expect(t, path+" (member)", member.get(path), 403, "你的账号无权访问", `class="site-header"`)
		if p := stranger.get(path); p.status != http.StatusSeeOther {
			t.Errorf("%s (stranger): %d", path, p.status)
		}
	}
	expect(t, "edition (organiser)", organiser.get("/conference/yunqi-2013/"), 200, `href="/conference/yunqi-2013/attendees"`)
	if member.get("/conference/yunqi-2013/").has("/attendees") {
		t.Error("a member is shown the organisers' link")
	}
	expect(t, "overview", organiser.get("/conference/yunqi-2013/attendees"), 200, "Attendee lists",
		`href="/conference/yunqi-2013/attendees/games-forum"`, `href="/conference/yunqi-2013/attendees/games-forum/export.csv"`, "1 of 1")
	expect(t, "session list", organiser.get("/conference/yunqi-2013/attendees/games-forum"), 200, "<h1>游戏分论坛</h1>", "=杜勇", "Confirmed")
	csv := organiser.get("/conference/yunqi-2013/attendees/games-forum/export.csv")
	expect(t, "csv", csv, 200, "position,registration,member,name,status,checked_in", "'=杜勇")
	if !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") {
		t.Errorf("csv Content-Type %q", csv.header.Get("Content-Type"))
	}
	expect(t, "unknown session", organiser.get("/conference/yunqi-2013/attendees/keynote"), 404)
	expect(t, "unknown session csv", organiser.get("/conference/yunqi-2013/attendees/keynote/export.csv"), 404)
	expect(t, "unknown edition", organiser.get("/conference/nope/attendees"), 404)
}
