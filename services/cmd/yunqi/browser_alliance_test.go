package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/alliance"
	"github.com/yunqi-town/yunqi/services/identity"
)

// TestBrowserAllianceJourney, in Chinese: a startup applies through the
// form; a reviewer asks for changes; the applicant reads the request on
// the timeline (without the reviewer's name or internal note), edits and
// resubmits; two reviewers approve, as the default policy wants; the
// startup is then on the member wall, in the directory and, once search
// indexes startups, in search.
func TestBrowserAllianceJourney(t *testing.T) {
	browser := startBrowser(t)
	a := newTestApp(t, "")
	srv := httptest.NewServer(a.app.server)
	t.Cleanup(srv.Close)

	// The founders are on the wall already, as in the demo, so that the
	// newcomer's place after them shows.
	if err := alliance.SeedDemo(t.Context(), a.store); err != nil {
		t.Fatal(err)
	}
	reviewers := []struct{ email, name string }{{"lin@example.com", "林评审"}, {"zhou@example.com", "周评审"}}
	for _, r := range reviewers {
		a.signUp(r.email, r.name)
		if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), r.email, auth.RoleReviewer, "test"); err != nil {
			t.Fatal(err)
		}
	}
	const (
		nameZH  = "青禾数据"
		comment = "请补充团队规模，并说明官网上的产品是否已经上线。"
		note    = "官网备案号待核实"
	)

	// The applicant opens an account on the sign-up page and applies.
	app := openTab(t, browser, srv.URL, "applicant", "zh-CN")
	app.signUp("qinghe@example.com", "陈青禾")
	app.open("/alliance/apply")
	if got := app.text("h1"); got != "申请加入联盟" {
		t.Fatalf("the form's heading is %q", got)
	}
	for sel, v := range map[string]string{
		"#f-name-zh": nameZH, "#f-name-en": "Qinghe Data", "#f-website": "https://qinghe.example.com",
		"#f-city": "杭州", "#f-industry": "大数据", "#f-founded-year": "2014", "#f-team-size": "8",
		"#f-description": "为小镇的创业公司提供数据分析服务。", "#f-contact-name": "陈青禾", "#f-contact-email": "qinghe@example.com",
	} {
		app.fill(sel, v)
	}
	app.step("apply")
	app.clickAndWait(`button[name="action"][value="submit"]`, "/alliance/applications/")
	if got := app.text("#application-status"); got != "评审中" {
		t.Errorf("status after submitting %q", got)
	}
	if got := app.text("#timeline"); !strings.Contains(got, "提交了申请") {
		t.Errorf("the timeline lacks the submission:\n%s", got)
	}
	appPath := app.eval(`location.pathname`)
	id := strings.TrimPrefix(appPath, "/alliance/applications/")
	app.step("submitted")

	// The first reviewer finds it in the queue and asks for changes.
	rev1 := openTab(t, browser, srv.URL, "reviewer-1", "zh-CN")
	rev1.logInAt("/alliance/review", reviewers[0].email)
	rev1.clickAndWait(`a[href="/alliance/review/`+id+`"]`, "/alliance/review/"+id)
	rev1.run("ask for changes", chromedp.Click(chromedp.CSS(`input[name="vote"][value="request_changes"]`)))
	rev1.fill("#f-comment", comment)
	rev1.fill("#f-note", note)
	rev1.step("request-changes")
	rev1.clickAndWait(`form[action="/alliance/review/`+id+`"] button[type="submit"]`, "/alliance/review/"+id)
	if got := rev1.text("#application-status"); got != "需要修改" {
		t.Errorf("status after the request %q", got)
	}

	// The applicant reads the request, but not who wrote it nor the note.
	app.open(appPath)
	if got := app.text("#application-status"); got != "需要修改" {
		t.Errorf("the applicant sees status %q", got)
	}
	timeline := app.text("#timeline")
	for _, want := range []string{"要求修改", comment} {
		if !strings.Contains(timeline, want) {
			t.Errorf("the applicant's timeline lacks %q:\n%s", want, timeline)
		}
	}
	if n := strings.Count(timeline, comment); n != 1 {
		t.Errorf("the applicant's timeline shows the request %d times:\n%s", n, timeline)
	}
	if main := app.eval(`document.querySelector("main").innerText`); strings.Contains(main, note) || strings.Contains(main, reviewers[0].name) {
		t.Errorf("the applicant's page shows the internal note or the reviewer's name:\n%s", main)
	}
	app.step("changes-requested")

	// They edit the form that is open again, and resubmit.
	if got := app.eval(`document.querySelector("#f-team-size").value`); got != "8" {
		t.Errorf("the form came back without the team size: %q", got)
	}
	app.fill("#f-team-size", "12")
	app.fill("#f-description", "为小镇的创业公司提供数据分析服务。产品已于 2015 年上线。")
	app.clickAndWait(`button[name="action"][value="submit"]`, appPath)
	if got := app.text("#application-status"); got != "评审中" {
		t.Errorf("status after resubmitting %q", got)
	}
	if got := app.text("#timeline"); !strings.Contains(got, "修改后重新提交") {
		t.Errorf("the timeline lacks the resubmission:\n%s", got)
	}
	app.step("resubmitted")

	// Both reviewers approve the new round.
	rev1.open("/alliance/review/" + id)
	if got := rev1.text("dl.facts"); !strings.Contains(got, "12") {
		t.Errorf("the reviewer sees the old content: %s", got)
	}
	approve := func(tb *browserTab) {
		t.Helper()
		tb.run("approve", chromedp.Click(chromedp.CSS(`input[name="vote"][value="approve"]`)))
		tb.fill("#f-comment", "资料完整，欢迎加入。")
		tb.clickAndWait(`form[action="/alliance/review/`+id+`"] button[type="submit"]`, "/alliance/review/"+id)
	}
	approve(rev1)
	if got := rev1.text("#application-status"); got != "评审中" {
		t.Errorf("one approval of two decided the application: %q", got)
	}
	rev2 := openTab(t, browser, srv.URL, "reviewer-2", "zh-CN")
	rev2.logInAt("/alliance/review", reviewers[1].email)
	rev2.clickAndWait(`a[href="/alliance/review/`+id+`"]`, "/alliance/review/"+id)
	approve(rev2)
	if got := rev2.text("#application-status"); got != "已通过" {
		t.Errorf("status after two approvals %q", got)
	}
	rev2.step("approved")

	// The applicant's timeline ends with the approval and the profile.
	app.open(appPath)
	if got := app.text("#application-status"); got != "已通过" {
		t.Errorf("the applicant sees status %q", got)
	}
	timeline = app.text("#timeline")
	for _, want := range []string{"申请通过", "成员资料已公开"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("the applicant's timeline lacks %q:\n%s", want, timeline)
		}
	}
	app.step("member")

	// Anyone finds the new member on the wall, after the founders' stones,
	// and in the directory.
	public := openTab(t, browser, srv.URL, "visitor", "zh-CN")
	public.open("/alliance/")
	if got := public.text("#members-title + ul"); !strings.Contains(got, nameZH) {
		t.Errorf("the wall's members lack %s: %q", nameZH, got)
	}
	if got := public.text("#founders-title + ul"); !strings.Contains(got, "博客园") || strings.Contains(got, nameZH) {
		t.Errorf("the founders' stones read %q", got)
	}
	public.step("wall")
	href := public.eval(`document.querySelector("#members-title + ul a").getAttribute("href")`)
	public.clickAndWait(`#members-title + ul a`, href)
	if got := public.text("h1"); got != nameZH+"（Qinghe Data）" {
		t.Errorf("the profile's heading is %q", got)
	}
	if strings.Contains(public.eval(`document.querySelector("main").innerText`), "qinghe@example.com") {
		t.Error("the public profile shows the contact person")
	}
	public.step("profile")
	public.open("/alliance/members?q=" + url.QueryEscape("青禾"))
	if got := public.text("main"); !strings.Contains(got, nameZH) {
		t.Errorf("the directory does not find %s:\n%s", nameZH, got)
	}

	// Search is asserted once it accepts the startup type; until then it
	// refuses the type, and the wall and directory above are the check.
	q := "/api/search?type=startup&q=" + url.QueryEscape(nameZH)
	if w := a.do("GET", q, "", ""); w.Code == http.StatusBadRequest && strings.Contains(w.Body.String(), `"type"`) {
		t.Logf("search does not index startups yet (%s); the wall and the directory found it", strings.TrimSpace(w.Body.String()))
	} else {
		waitUntil(t, func() bool {
			w := a.do("GET", q, "", "")
			var res struct{ Hits []json.RawMessage }
			if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &res) != nil {
				t.Fatalf("search for %s: %d %s", nameZH, w.Code, w.Body)
			}
			return slices.ContainsFunc(res.Hits, func(h json.RawMessage) bool { return strings.Contains(string(h), nameZH) })
		})
	}
}
