package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/identity"
)

// backOfficeCopy is what the organiser reads, per language.
type backOfficeCopy struct {
	lang, created, badCapacity, outside, offered, belowTaken string
}

var backOfficeJourneys = []backOfficeCopy{
	{lang: "zh-CN", created: "本届大会已创建", badCapacity: "请输入 1 到 1,000,000 之间的整数。", outside: "早于本届大会的第一天",
		offered: "将按此顺序获得座位邀请（1 人）", belowTaken: "不能少于已占用的 2 个座位。"},
	{lang: "en", created: "The edition was created", badCapacity: "Enter a whole number from 1 to 1,000,000.", outside: "Starts before the edition's first day",
		offered: "would be offered a seat, in this order (1)", belowTaken: "Cannot be lower than the 2 seats already taken."},
}

// TestBrowserConferenceBackOffice: an organiser creates an edition on the
// page (after a field-level refusal), adds a session with a speaker, a
// ticket type and an invite code; a member fills the one seat, another
// waits; the organiser previews a capacity change that offers the seat to
// the waiting member, confirms it, and finds both in the attendee list and
// its CSV. Once in each language.
func TestBrowserConferenceBackOffice(t *testing.T) {
	browser := startBrowser(t)
	a := newTestApp(t, "")
	srv := httptest.NewServer(a.app.server)
	t.Cleanup(srv.Close)
	a.signUp("bo-org@example.com", "会务")
	if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), "bo-org@example.com", auth.RoleOrganizer, "test"); err != nil {
		t.Fatal(err)
	}
	for _, c := range backOfficeJourneys {
		t.Run(c.lang, func(t *testing.T) {
			edition := "bo-" + strings.ToLower(c.lang)
			org := openTab(t, browser, srv.URL, "organiser", c.lang)
			org.logIn("bo-org@example.com")
			org.open("/conference/")
			org.clickAndWait(`a[href="/conference/new"]`, "/conference/new")

			// A capacity that is not a number is refused beside the field.
			org.fill("#f-id", edition)
			org.fill("#f-name-zh", "后台测试大会")
			org.fill("#f-name-en", "Back office test")
			org.run("dates", chromedp.SetValue(chromedp.CSS(`#f-starts-on`), "2027-10-20"), chromedp.SetValue(chromedp.CSS(`#f-ends-on`), "2027-10-21"))
			org.fill("#f-venue", "云栖小镇")
			org.fill("#f-capacity", "lots")
			org.clickAndWait(`form.bo-form button[type="submit"]`, "/conference/new")
			org.step("create-refused")
			if got := org.text("#f-capacity-error"); !strings.Contains(got, c.badCapacity) {
				t.Errorf("capacity error %q, want %q", got, c.badCapacity)
			}
			if org.eval(`document.querySelector("#f-capacity").getAttribute("aria-invalid")`) != "true" {
				t.Error("the refused capacity is not marked invalid")
			}
			org.fill("#f-capacity", "100")
			org.clickAndWait(`form.bo-form button[type="submit"]`, "/conference/"+edition+"/manage")
			if !strings.Contains(org.text(".notice"), c.created) {
				t.Errorf("no notice that the edition was created: %q", org.text(".notice"))
			}

			// A session a year early is refused; then the real one.
			addSession := func(day string) {
				org.run("open the session form", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => d.open = true)`))
				org.fill("#f-session-id", "keynote")
				org.fill("#f-session-title", "主论坛 Keynote")
				org.fill("#f-session-speakers", "王坚, Ada")
				org.run("slot", chromedp.SetValue(chromedp.CSS(`#f-session-day`), day),
					chromedp.SetValue(chromedp.CSS(`#f-session-starts`), "09:30"), chromedp.SetValue(chromedp.CSS(`#f-session-ends`), "11:00"))
				org.fill("#f-session-capacity", "1")
				org.clickAndWait(`input[value="session"] ~ button[type="submit"]`, "/conference/"+edition+"/manage")
			}
			addSession("2026-10-20")
			if got := org.text("#f-session-starts-error"); !strings.Contains(got, c.outside) {
				t.Errorf("a session before the edition: %q, want %q", got, c.outside)
			}
			addSession("2027-10-20")
			if got := org.text("#sessions-title ~ .table-wrap tbody"); !strings.Contains(got, "王坚") || !strings.Contains(got, "主论坛 Keynote") {
				t.Errorf("the session list lacks the session with its speakers: %q", got)
			}
			org.run("open the forms", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => d.open = true)`))
			org.fill("#f-ticket-id", "student")
			org.fill("#f-ticket-quota", "10")
			org.clickAndWait(`input[value="ticket_type"] ~ button[type="submit"]`, "/conference/"+edition+"/manage")
			org.run("open the forms", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => d.open = true)`))
			org.fill("#f-invite-code", "FEITIAN-"+c.lang)
			org.fill("#f-invite-max-uses", "3")
			org.clickAndWait(`input[value="invite"] ~ button[type="submit"]`, "/conference/"+edition+"/manage")
			org.step("manage")
			if got := org.text("#invites-title ~ .table-wrap tbody"); !strings.Contains(got, "0 / 3") {
				t.Errorf("the invite list does not show the new code's uses: %q", got)
			}

			// Two members register for the one seat through the API.
			for i, who := range []string{"first", "second"} {
				email := who + "-" + c.lang + "@example.com"
				a.signUp(email, []string{"杜勇", "Bob Chen"}[i])
				tok, _ := a.logIn(email)
				if w := a.do("POST", "/api/conference/editions/"+edition+"/registrations", tok, `{"sessions":["keynote"]}`); w.Code != http.StatusCreated {
					t.Fatalf("register %s: %d %s", who, w.Code, w.Body)
				}
			}

			// Lowering the edition below the seats taken is refused;
			// raising the session shows who would get the seat before
			// anything changes.
			org.open("/conference/" + edition + "/manage/capacity?capacity=1")
			if got := org.text("#f-capacity-error"); !strings.Contains(got, c.belowTaken) {
				t.Errorf("capacity below the seats taken: %q, want %q", got, c.belowTaken)
			}
			org.open("/conference/" + edition + "/manage/capacity?session=keynote&capacity=2")
			if got := org.text(".bo-preview"); !strings.Contains(got, c.offered) || !strings.Contains(org.text("#capacity-offers"), "Bob Chen") {
				t.Errorf("the preview does not name who gets the seat: %q", got)
			}
			org.step("capacity-preview")
			org.clickAndWait("#confirm-capacity", "/conference/"+edition+"/manage")
			org.open("/conference/" + edition + "/manage/attendees?session=keynote")
			org.step("attendees")
			rows := org.text("#attendee-table tbody")
			if !strings.Contains(rows, "杜勇") || !strings.Contains(rows, "Bob Chen") {
				t.Errorf("the session list lacks its attendees: %q", rows)
			}
			if n := org.eval(`String(document.querySelectorAll("#attendee-table tbody .status-offered").length)`); n != "1" {
				t.Errorf("%s rows are offered a seat after the change, want 1", n)
			}
			// The export, fetched with the organiser's own session.
			csv := org.eval(`(() => { const x = new XMLHttpRequest(); x.open("GET", document.querySelector("a[download]").getAttribute("href"), false); x.send(); return x.status + "\n" + x.responseText })()`)
			if !strings.HasPrefix(csv, "200\nposition,") || !strings.Contains(csv, "Bob Chen") || !strings.Contains(csv, "offered") {
				t.Errorf("CSV export: %.300s", csv)
			}
		})
	}
}
