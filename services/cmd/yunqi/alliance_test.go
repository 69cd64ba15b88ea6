package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/alliance"
	"github.com/yunqi-town/yunqi/services/identity"
)

// allianceApp is a test app with an applicant, two reviewers, an
// organiser and a bystander, each logged in.
type allianceApp struct {
	*testApp
	doc                              *apiDoc
	ada, rev1, rev2, org, eve        string // tokens
	adaID                            string
	expect                           func(method, pattern string, w *httptest.ResponseRecorder, want int)
	applicantEmail, reviewerOneEmail string
}

func newAllianceApp(t *testing.T) *allianceApp {
	a := &allianceApp{testApp: newTestApp(t, "")}
	a.doc = loadDoc(t, a.testApp)
	user := func(email, name, role string) string {
		id := a.signUp(email, name)
		if role != "" {
			if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), email, role, "test"); err != nil {
				t.Fatal(err)
			}
		}
		tok, _ := a.logIn(email)
		if email == "ada@example.com" {
			a.adaID = id
		}
		return tok
	}
	a.ada = user("ada@example.com", "Ada", "")
	a.rev1 = user("wang@example.com", "王坚", auth.RoleReviewer)
	a.rev2 = user("li@example.com", "李四", auth.RoleReviewer)
	a.org = user("org@example.com", "Organiser", auth.RoleOrganizer)
	a.eve = user("eve@example.com", "Eve", "")
	a.expect = func(method, pattern string, w *httptest.ResponseRecorder, want int) {
		t.Helper()
		if w.Code != want {
			t.Fatalf("%s %s = %d, want %d: %s", method, pattern, w.Code, want, w.Body)
		}
		if err := a.doc.check(method, pattern, w); err != nil {
			t.Error(err)
		}
	}
	return a
}

const application = `{"name_zh":"云栖测试","name_en":"Yunqi Test","website":"https://yunqi.example.com","city":"杭州","industry":"开发者工具",
	"founded_year":2014,"team_size":12,"description":"<script>alert(1)</script>做开发者工具","contact":{"name":"杜勇","email":"dy@example.com"}}`

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("%v: %s", err, w.Body)
	}
	return v
}

// TestAllianceJourney: apply → changes requested (with an internal note)
// → edited and resubmitted → approved by two reviewers → on the wall; the
// applicant's timeline shows every step but no note and no reviewer.
func TestAllianceJourney(t *testing.T) {
	a := newAllianceApp(t)
	const apps = "/api/alliance/applications"
	w := a.do("POST", apps, a.ada, strings.Replace(application, `"contact"`, `"submit":true,"contact"`, 1))
	a.expect("POST", apps, w, http.StatusCreated)
	app := decode[struct{ ID, Status string }](t, w)
	if app.Status != "submitted" {
		t.Fatalf("status %q after create with submit", app.Status)
	}
	one := apps + "/" + app.ID

	// Nobody but the applicant and staff sees it.
	a.expect("GET", apps+"/{id}", a.do("GET", one, a.eve, ""), http.StatusNotFound)
	a.expect("GET", apps+"/{id}/timeline", a.do("GET", one+"/timeline", a.eve, ""), http.StatusNotFound)
	a.expect("GET", apps+"/{id}/timeline", a.do("GET", one+"/timeline", "", ""), http.StatusUnauthorized)
	a.expect("GET", apps+"/{id}", a.do("GET", one, a.rev1, ""), http.StatusOK)
	a.expect("GET", apps, a.do("GET", apps, a.eve, ""), http.StatusForbidden)

	// A second application for the same startup, by anyone, is refused;
	// the applicant's own is linked.
	w = a.do("POST", apps, a.ada, strings.Replace(application, `"contact"`, `"submit":true,"contact"`, 1))
	a.expect("POST", apps, w, http.StatusConflict)
	if !strings.Contains(w.Body.String(), `"instance":"`+one+`"`) {
		t.Errorf("the duplicate refusal does not link the open application: %s", w.Body)
	}
	w = a.do("POST", apps, a.eve, `{"name_en":"yunqi TEST","submit":true}`)
	a.expect("POST", apps, w, http.StatusConflict)

	// The applicant cannot edit while it is under review, nor vote.
	a.expect("PATCH", apps+"/{id}", a.do("PATCH", one, a.ada, application), http.StatusConflict)
	a.expect("POST", apps+"/{id}/votes", a.do("POST", one+"/votes", a.ada, `{"vote":"approve"}`), http.StatusForbidden)

	w = a.do("POST", one+"/votes", a.rev1, `{"vote":"request_changes","comment":"请补充团队介绍","note":"创始人是我的前同事"}`)
	a.expect("POST", apps+"/{id}/votes", w, http.StatusOK)
	if s := decode[struct{ Status string }](t, w).Status; s != "changes_requested" {
		t.Fatalf("status %q after a request for changes", s)
	}
	a.expect("POST", apps+"/{id}/votes", a.do("POST", one+"/votes", a.rev2, `{"vote":"approve"}`), http.StatusConflict)

	edited := strings.Replace(application, "做开发者工具", "十二人的团队，做开发者工具", 1)
	a.expect("PATCH", apps+"/{id}", a.do("PATCH", one, a.ada, edited), http.StatusOK)
	a.expect("POST", apps+"/{id}/submit", a.do("POST", one+"/submit", a.ada, ""), http.StatusOK)
	a.expect("POST", apps+"/{id}/votes", a.do("POST", one+"/votes", a.rev1, `{"vote":"approve","comment":"好"}`), http.StatusOK)
	a.expect("POST", apps+"/{id}/votes", a.do("POST", one+"/votes", a.rev1, `{"vote":"approve"}`), http.StatusConflict)
	w = a.do("POST", one+"/votes", a.rev2, `{"vote":"approve","note":"内部：核实过营业执照"}`)
	a.expect("POST", apps+"/{id}/votes", w, http.StatusOK)
	done := decode[struct {
		Status   string
		MemberID string `json:"member_id"`
	}](t, w)
	if done.Status != "approved" || done.MemberID == "" {
		t.Fatalf("after two approvals: %s", w.Body)
	}
	a.expect("POST", apps+"/{id}/votes", a.do("POST", one+"/votes", a.org, `{"vote":"reject","comment":"晚了"}`), http.StatusConflict)

	// The applicant's timeline: every step, no note, no reviewer.
	w = a.do("GET", one+"/timeline", a.ada, "")
	a.expect("GET", apps+"/{id}/timeline", w, http.StatusOK)
	body := w.Body.String()
	var kinds []string
	for _, e := range decode[struct{ Entries []TimelineEntryJSON }](t, w).Entries {
		kinds = append(kinds, e.Kind)
	}
	want := "submitted under_review review changes_requested edited resubmitted under_review review review approved published"
	if got := strings.Join(kinds[1:], " "); got != want {
		t.Errorf("timeline kinds\n got %s\nwant %s", got, want)
	}
	for _, secret := range []string{"前同事", "营业执照", "王坚", "李四", `"note"`, `"reviewer"`} {
		if strings.Contains(body, secret) {
			t.Errorf("the applicant's timeline shows %q: %s", secret, body)
		}
	}
	if n := strings.Count(body, "请补充团队介绍"); n != 1 {
		t.Errorf("the applicant's timeline shows the public comment %d times, want once (on the decision): %s", n, body)
	}
	// Staff see the notes and who wrote what.
	staff := a.do("GET", one+"/timeline", a.org, "").Body.String()
	for _, s := range []string{"前同事", "王坚"} {
		if !strings.Contains(staff, s) {
			t.Errorf("the staff timeline lacks %q", s)
		}
	}

	// The member is on the wall and its profile is public; the contact
	// person is not, and the description is text.
	member := "/api/alliance/members/" + done.MemberID
	w = a.do("GET", member, "", "")
	a.expect("GET", "/api/alliance/members/{id}", w, http.StatusOK)
	if strings.Contains(w.Body.String(), "杜勇") || strings.Contains(w.Body.String(), "dy@example.com") || strings.Contains(w.Body.String(), a.adaID) {
		t.Errorf("the public profile shows personal data: %s", w.Body)
	}
	w = a.do("GET", "/api/alliance/wall", "", "")
	a.expect("GET", "/api/alliance/wall", w, http.StatusOK)
	if !strings.Contains(w.Body.String(), "云栖测试") {
		t.Errorf("the wall lacks the new member: %s", w.Body)
	}
	page := a.do("GET", "/alliance/members/"+done.MemberID, "", "")
	if page.Code != http.StatusOK || strings.Contains(page.Body.String(), "<script>alert") || !strings.Contains(page.Body.String(), "&lt;script&gt;") {
		t.Errorf("the profile page does not neutralise the description (%d)", page.Code)
	}
	a.expect("GET", "/api/alliance/wall", a.do("GET", "/api/alliance/wall?at=2013-10-24", "", ""), http.StatusOK)
	a.expect("GET", "/api/alliance/wall", a.do("GET", "/api/alliance/wall?at=yesterday", "", ""), http.StatusUnprocessableEntity)

	// Only the owner (or an organiser) updates it; each change is history.
	a.expect("PATCH", "/api/alliance/members/{id}", a.do("PATCH", member, a.eve, `{"name_zh":"别人的"}`), http.StatusForbidden)
	a.expect("PATCH", "/api/alliance/members/{id}", a.do("PATCH", member, a.ada, `{"name_zh":"云栖测试","city":"上海"}`), http.StatusOK)
	w = a.do("GET", member+"/history", "", "")
	a.expect("GET", "/api/alliance/members/{id}/history", w, http.StatusOK)
	if !strings.Contains(w.Body.String(), "profile_updated") {
		t.Errorf("history: %s", w.Body)
	}

	// Withdrawn, it leaves the public lists, and the name is free again.
	a.expect("POST", "/api/alliance/members/{id}/lapse", a.do("POST", member+"/lapse", a.ada, ""), http.StatusForbidden)
	a.expect("POST", "/api/alliance/members/{id}/withdraw", a.do("POST", member+"/withdraw", a.ada, `{"reason":"转型"}`), http.StatusNoContent)
	a.expect("GET", "/api/alliance/members/{id}", a.do("GET", member, "", ""), http.StatusNotFound)
	if strings.Contains(a.do("GET", "/api/alliance/members", "", "").Body.String(), "云栖测试") {
		t.Error("a withdrawn member is still listed")
	}
	a.expect("POST", apps, a.do("POST", apps, a.eve, strings.Replace(application, `"contact"`, `"submit":true,"contact"`, 1)), http.StatusCreated)
}

// TimelineEntryJSON is the part of a timeline entry the tests read.
type TimelineEntryJSON struct {
	Kind string `json:"kind"`
}

func TestAllianceBadInput(t *testing.T) {
	a := newAllianceApp(t)
	const apps = "/api/alliance/applications"
	w := a.do("POST", apps, a.ada, `{"name_zh":"","website":"not a url","founded_year":2999,"submit":true}`)
	a.expect("POST", apps, w, http.StatusUnprocessableEntity)
	for _, f := range []string{`"field":"name_zh"`, `"field":"website"`, `"field":"founded_year"`} {
		if !strings.Contains(w.Body.String(), f) {
			t.Errorf("no %s error: %s", f, w.Body)
		}
	}
	// A draft is saved, but submitting an incomplete one says what is missing.
	w = a.do("POST", apps, a.ada, `{"name_zh":"半成品","submit":true}`)
	a.expect("POST", apps, w, http.StatusUnprocessableEntity)
	if w.Header().Get("Location") == "" {
		t.Error("the saved draft is not named")
	}

	const logos = "/api/alliance/logos"
	post := func(body []byte) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", logos, bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+a.ada)
		r.Header.Set("Content-Type", "application/octet-stream")
		rec := httptest.NewRecorder()
		a.app.server.ServeHTTP(rec, r)
		return rec
	}
	a.expect("POST", logos, post([]byte("<svg onload=alert(1)></svg>")), http.StatusUnprocessableEntity)
	a.expect("POST", logos, post(append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...)), http.StatusUnprocessableEntity)
	a.expect("POST", logos, post(make([]byte, 600<<10)), http.StatusRequestEntityTooLarge)
	var img bytes.Buffer
	m := image.NewRGBA(image.Rect(0, 0, 8, 8))
	m.Set(1, 1, color.RGBA{255, 0, 0, 255})
	png.Encode(&img, m)
	w = post(img.Bytes())
	a.expect("POST", logos, w, http.StatusCreated)
	logo := decode[struct{ Logo, URL string }](t, w)
	got := a.do("GET", logo.URL, "", "")
	if got.Code != http.StatusOK || got.Header().Get("Content-Type") != "image/png" || !bytes.Equal(got.Body.Bytes(), img.Bytes()) {
		t.Errorf("stored logo: %d %s", got.Code, got.Header().Get("Content-Type"))
	}
	a.expect("POST", apps, a.do("POST", apps, a.ada, `{"name_zh":"有标志","logo":"`+strings.Repeat("a", 64)+`.png"}`), http.StatusUnprocessableEntity)
	a.expect("POST", apps, a.do("POST", apps, a.ada, `{"name_zh":"有标志","logo":"`+logo.Logo+`"}`), http.StatusCreated)
}

func TestAllianceOrganizerDecidesAndPolicy(t *testing.T) {
	a := newAllianceApp(t)
	const apps = "/api/alliance/applications"
	a.expect("PUT", "/api/alliance/policy", a.do("PUT", "/api/alliance/policy", a.org, `{"approvals_required":1,"rejections_required":1,"reveal_reviewers":true}`), http.StatusOK)
	a.expect("PUT", "/api/alliance/policy", a.do("PUT", "/api/alliance/policy", a.org, `{"approvals_required":0,"rejections_required":1}`), http.StatusUnprocessableEntity)
	w := a.do("POST", apps, a.ada, strings.Replace(application, `"contact"`, `"submit":true,"contact"`, 1))
	one := apps + "/" + decode[struct{ ID string }](t, w).ID
	a.expect("POST", apps+"/{id}/decision", a.do("POST", one+"/decision", a.rev1, `{"decision":"approve"}`), http.StatusForbidden)
	w = a.do("POST", one+"/votes", a.rev1, `{"vote":"reject","comment":"不是创业公司"}`)
	a.expect("POST", apps+"/{id}/votes", w, http.StatusOK)
	if s := decode[struct{ Status string }](t, w).Status; s != "rejected" {
		t.Fatalf("one rejection under a one-rejection policy: %s", s)
	}
	// The policy revealed the reviewer, so the applicant sees the name.
	if tl := a.do("GET", one+"/timeline", a.ada, "").Body.String(); !strings.Contains(tl, "王坚") {
		t.Errorf("a revealing policy hides the reviewer: %s", tl)
	}
	// Rejected, the applicant may apply again; an organiser approves it outright.
	w = a.do("POST", apps, a.ada, strings.Replace(application, `"contact"`, `"submit":true,"contact"`, 1))
	a.expect("POST", apps, w, http.StatusCreated)
	two := apps + "/" + decode[struct{ ID string }](t, w).ID
	w = a.do("POST", two+"/decision", a.org, `{"decision":"approve","comment":"欢迎"}`)
	a.expect("POST", apps+"/{id}/decision", w, http.StatusOK)
	a.expect("POST", apps+"/{id}/decision", a.do("POST", two+"/decision", a.org, `{"decision":"reject","comment":"x"}`), http.StatusConflict)
	a.expect("GET", "/api/alliance/me/applications", a.do("GET", "/api/alliance/me/applications", a.ada, ""), http.StatusOK)
}

func TestDemoSeedsOnlyAnEmptyLog(t *testing.T) {
	a := newTestApp(t, "")
	if err := seedDemo(t.Context(), a.store, slog.New(slog.DiscardHandler), t.TempDir(), io.Discard); err != nil {
		t.Fatal(err)
	}
	head, _ := a.store.Head(t.Context())
	var logged bytes.Buffer
	if err := seedDemo(t.Context(), a.store, slog.New(slog.NewTextHandler(&logged, nil)), t.TempDir(), io.Discard); err != nil {
		t.Fatal(err)
	}
	if again, _ := a.store.Head(t.Context()); again != head {
		t.Error("a second seeding wrote to a log that was not empty")
	}
	if !strings.Contains(logged.String(), "not empty") {
		t.Errorf("the second seeding does not say why it did nothing: %s", logged.String())
	}
	var wall struct {
		Members []struct {
			NameZH   string `json:"name_zh"`
			Tier     string
			JoinedOn string `json:"joined_on"`
		}
		Total int
	}
	waitUntil(t, func() bool {
		w := a.do("GET", "/api/alliance/wall?limit=200&at=2013-10-24", "", "")
		json.Unmarshal(w.Body.Bytes(), &wall)
		return wall.Total >= 29
	})
	if wall.Total != 29 {
		t.Fatalf("the wall on the founding day has %d members, want 29", wall.Total)
	}
	for _, m := range wall.Members {
		if m.Tier != "founding" || m.JoinedOn != "2013-10-24" {
			t.Errorf("founder %+v", m)
		}
	}
	if w := a.do("GET", "/api/alliance/wall?at=2013-10-23", "", ""); strings.Contains(w.Body.String(), "博客园") {
		t.Error("the wall shows founders the day before the alliance was founded")
	}
	if w := a.do("GET", "/api/conference/editions/yunqi-2015", "", ""); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "22000") {
		t.Errorf("the 2015 edition: %d %s", w.Code, w.Body)
	}
	// A founder's name cannot be applied for.
	tok := func() string { a.signUp("ada@example.com", "Ada"); tk, _ := a.logIn("ada@example.com"); return tk }()
	w := a.do("POST", "/api/alliance/applications", tok, `{"name_zh":"博客园"}`)
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "/api/alliance/members/cnblogs") {
		t.Errorf("applying as a founder: %d %s", w.Code, w.Body)
	}
}

// timelineOf is the timeline list of an application page.
func timelineOf(page string) string {
	_, tl, _ := strings.Cut(page, `<ol class="timeline">`)
	tl, _, _ = strings.Cut(tl, "</ol>")
	return tl
}

// TestAlliancePages renders every page in both languages, anonymous and
// logged in (the access cookie is an ordinary access token).
func TestAlliancePages(t *testing.T) {
	a := newAllianceApp(t)
	// The log has the test's accounts, so the demo as a whole would not
	// seed; the alliance's seeder runs on its own.
	if err := alliance.SeedDemo(t.Context(), a.store); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool {
		return strings.Contains(a.do("GET", "/api/alliance/members/cnblogs", "", "").Body.String(), "博客园")
	})
	w := a.do("POST", "/api/alliance/applications", a.ada, strings.Replace(application, `"contact"`, `"submit":true,"contact"`, 1))
	id := decode[struct{ ID string }](t, w).ID
	a.do("POST", "/api/alliance/applications/"+id+"/votes", a.rev1, `{"vote":"request_changes","comment":"请补充团队介绍","note":"内部备注"}`)
	page := func(path, token, lang string) string {
		t.Helper()
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Accept-Language", lang)
		if token != "" {
			r.AddCookie(&http.Cookie{Name: identity.AccessCookieName, Value: token})
		}
		rec := httptest.NewRecorder()
		a.app.server.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s (%s) = %d: %.300s", path, lang, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	for _, lang := range []string{"zh-CN", "en"} {
		wall := page("/alliance/", "", lang)
		if !strings.Contains(wall, "博客园") || strings.Index(wall, "阿里云") > strings.Index(wall, "趣拍") {
			t.Errorf("%s wall lacks the founders in order", lang)
		}
		if past := page("/alliance/?at=2013-10-23", "", lang); strings.Contains(past, "博客园") {
			t.Errorf("%s wall of 2013-10-23 shows a founder", lang)
		}
		page("/alliance/members?tier=founding&city=%E6%9D%AD%E5%B7%9E", "", lang)
		page("/alliance/members/cnblogs", "", lang)
		page("/alliance/apply", a.ada, lang)
		page("/alliance/me", a.ada, lang)
		mine := page("/alliance/applications/"+id, a.ada, lang)
		if !strings.Contains(mine, "请补充团队介绍") || strings.Contains(mine, "内部备注") || strings.Contains(mine, "王坚") {
			t.Errorf("%s: the applicant's page is not redacted", lang)
		}
		// The request for changes is a vote and a decision; its comment
		// shows once, with the decision.
		if n := strings.Count(timelineOf(mine), "请补充团队介绍"); n != 1 {
			t.Errorf("%s: the applicant's timeline shows the comment %d times:\n%s", lang, n, timelineOf(mine))
		}
		page("/alliance/review", a.rev2, lang)
		staff := page("/alliance/review/"+id, a.org, lang)
		if !strings.Contains(staff, "内部备注") {
			t.Errorf("%s: the staff page lacks the note", lang)
		}
		if tl := timelineOf(staff); strings.Count(tl, "请补充团队介绍") != 1 || !strings.Contains(tl, "王坚") {
			t.Errorf("%s: the staff timeline should name the reviewer and show the comment once:\n%s", lang, tl)
		}
	}

	// Applying again for a startup with an open application: the
	// applicant's own is linked, someone else's only described.
	post := func(token, lang string) *httptest.ResponseRecorder {
		t.Helper()
		form := url.Values{"name_zh": {"云栖测试"}, "action": {"submit"}}
		r := httptest.NewRequest("POST", "/alliance/apply", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Accept-Language", lang)
		r.AddCookie(&http.Cookie{Name: identity.AccessCookieName, Value: token})
		rec := httptest.NewRecorder()
		a.app.server.ServeHTTP(rec, r)
		if rec.Code != http.StatusConflict {
			t.Fatalf("applying again (%s) = %d: %.300s", lang, rec.Code, rec.Body)
		}
		return rec
	}
	link := `<a href="/alliance/applications/` + id + `">`
	for lang, text := range map[string]string{"zh-CN": "打开这份申请", "en": "Go to your application"} {
		body := post(a.ada, lang).Body.String()
		// Once in the error summary, once by the field.
		if n := strings.Count(body, link+text+"</a>"); n != 2 {
			t.Errorf("%s: the refusal links the open application %d times, want 2:\n%s", lang, n, body)
		}
		if !strings.Contains(body, `id="f-name-zh-error"`) || !strings.Contains(body, `aria-invalid="true"`) {
			t.Errorf("%s: the refusal is not tied to the name field", lang)
		}
		if body := post(a.eve, lang).Body.String(); strings.Contains(body, id) || strings.Contains(body, text) {
			t.Errorf("%s: the refusal links someone else's application:\n%s", lang, body)
		}
	}
	if w := a.do("GET", "/alliance/review", "", "", "Cookie", identity.AccessCookieName+"="+a.eve); w.Code != http.StatusNotFound {
		t.Errorf("the review queue for a member: %d", w.Code)
	}
}
