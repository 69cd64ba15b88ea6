package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/identity"
)

// TestBrowserContestJourney: an organiser sets up a contest through the
// API; a member creates a team on the contest page and a second joins
// with the code; the team submits its entry through the form and reads
// the receipt and timeline; the judge assigned to the track scores it
// through the scoring form; the organiser moves the contest on and
// publishes the results through the API; the public gallery shows the
// entry, with only the names its members chose to publish. In Chinese,
// the gallery also in English.
func TestBrowserContestJourney(t *testing.T) {
	browser := startBrowser(t)
	a := newTestApp(t, "")
	srv := httptest.NewServer(a.app.server)
	t.Cleanup(srv.Close)

	a.signUp("org@example.com", "组织者")
	if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), "org@example.com", auth.RoleOrganizer, "test"); err != nil {
		t.Fatal(err)
	}
	org, _ := a.logIn("org@example.com")
	judgeID := a.signUp("judge@example.com", "张评委")
	if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), "judge@example.com", auth.RoleJudge, "test"); err != nil {
		t.Fatal(err)
	}
	a.signUp("yun@example.com", "王小云")
	a.signUp("qi@example.com", "李小栖")

	const (
		contestID = "browser-2015"
		teamName  = "云上小队"
		title     = "小镇停车助手"
	)
	api := func(method, path, body string, want int) {
		t.Helper()
		if w := a.do(method, "/api/contest/contests"+path, org, body); w.Code != want {
			t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
	}
	// Registration is open now and the deadline an hour away: the
	// journey runs on the real clock, and the organiser moves the phases
	// on by hand.
	now := time.Now().UTC().Truncate(time.Second)
	schedule, _ := json.Marshal([]events.ContestPhaseWindow{
		{Phase: events.PhaseRegistration, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)},
		{Phase: events.PhaseSubmission, StartsAt: now.Add(time.Hour), EndsAt: now.Add(2 * time.Hour)},
		{Phase: events.PhaseReview, StartsAt: now.Add(2 * time.Hour), EndsAt: now.Add(3 * time.Hour)},
		{Phase: events.PhaseFinals, StartsAt: now.Add(3 * time.Hour), EndsAt: now.Add(4 * time.Hour)},
	})
	api("POST", "", `{"id":"`+contestID+`","name":{"zh":"2015 云栖开发者大赛","en":"Yunqi Developer Contest 2015"},"year":2015,
		"team_size_limit":3,"tracks":[{"id":"city","name":{"zh":"智慧城市","en":"Smart City"}}],
		"awards":[{"id":"gold","name":{"zh":"金奖","en":"Gold"}}],"schedule":`+string(schedule)+`,
		"rubric":{"scale_min":1,"scale_max":10,"criteria":[
			{"id":"idea","name":{"zh":"创意","en":"Idea"},"weight":2},
			{"id":"tech","name":{"zh":"技术","en":"Technology"},"weight":1}]}}`, http.StatusCreated)
	api("PUT", "/"+contestID+"/judges/"+judgeID, `{"display_name":"张评委","organization":"云栖评审团","tracks":["city"]}`, http.StatusOK)
	contestPath := "/contest/" + contestID + "/"

	// The first member logs in from the contest page and creates a team,
	// publishing their name; the code is shown once.
	yun := openTab(t, browser, srv.URL, "member-1", "zh-CN")
	yun.open(contestPath)
	if got := yun.text("h1"); got != "2015 云栖开发者大赛" {
		t.Fatalf("contest page heading %q", got)
	}
	logIn := func(tb *browserTab, email string) {
		t.Helper()
		tb.clickAndWait(`main a[href^="/identity/login?next="]`, "/identity/login")
		tb.fill("#f-email", email)
		tb.fill("#f-password", "correct horse battery staple")
		tb.clickAndWait(`form.form button[type="submit"]`, contestPath)
	}
	logIn(yun, "yun@example.com")
	create := `form[action="` + contestPath + `teams"]`
	yun.fill(create+` input[name="name"]`, teamName)
	yun.fill(create+` input[name="organization"]`, "杭州小云科技")
	yun.run("publish my name", chromedp.Click(chromedp.CSS(create+` input[name="public_name"]`)))
	yun.step("create-team")
	yun.clickAndWait(create+` button[type="submit"]`, contestPath+"teams")
	if got := yun.text("h1"); got != teamName {
		t.Errorf("team page heading %q", got)
	}
	code := yun.text(".notice code")
	if code == "" {
		t.Fatal("the new team's page shows no invite code")
	}
	yun.step("team-created")

	// The second member joins with the code and keeps their name private.
	qi := openTab(t, browser, srv.URL, "member-2", "zh-CN")
	qi.open(contestPath)
	logIn(qi, "qi@example.com")
	join := `form[action="` + contestPath + `join"]`
	// The two forms share field names; each label names an input of its
	// own form.
	stray := qi.eval(`[...document.querySelectorAll("main form label[for]")]
		.filter(l => !l.closest("form").contains(document.getElementById(l.htmlFor)))
		.map(l => l.htmlFor).join(" ")`)
	if stray != "" {
		t.Errorf("labels point outside their form: %s", stray)
	}
	qi.fill(join+` input[name="code"]`, code)
	qi.fill(join+` input[name="organization"]`, "西湖大学")
	qi.clickAndWait(join+` button[type="submit"]`, contestPath+"team")
	if got := qi.text("header.page-head p"); got != "队员：王小云、李小栖" {
		t.Errorf("the roster reads %q", got)
	}
	qi.step("joined")

	// The second member submits the entry through the form.
	qi.fill("#f-title", title)
	qi.fill("#f-summary", "用小镇停车场的实时数据，为访客推荐空闲车位。")
	qi.run("choose the track", chromedp.SetValue(chromedp.CSS("#f-track"), "city"))
	qi.fill("#f-repo-url", "https://example.com/yunqi/parking")
	qi.fill("#f-demo-url", "https://parking.example.com/")
	qi.step("entry")
	qi.clickAndWait(`button[name="action"][value="submit"]`, contestPath+"team")
	receipt := qi.text("#entry-title ~ p.muted")
	if !strings.Contains(receipt, "已保存第 1 版；回执 ") {
		t.Errorf("the receipt reads %q", receipt)
	}
	if got := qi.text(".timeline"); !strings.Contains(got, "作品已提交，第 1 版") {
		t.Errorf("the timeline lacks the submission:\n%s", got)
	}
	qi.step("submitted")

	// The first member sees the same entry and receipt.
	yun.open(contestPath + "team")
	if got := yun.eval(`document.querySelector("#f-title").value`); got != title {
		t.Errorf("the other member sees the title %q", got)
	}
	if got := yun.text("#entry-title ~ p.muted"); got != receipt {
		t.Errorf("the other member's receipt %q, want %q", got, receipt)
	}

	// Review opens and the judge scores the entry through the form.
	api("POST", "/"+contestID+"/phase", `{"phase":"submission"}`, http.StatusOK)
	api("POST", "/"+contestID+"/phase", `{"phase":"review"}`, http.StatusOK)
	judge := openTab(t, browser, srv.URL, "judge", "zh-CN")
	judge.logInAt(contestPath+"judging", "judge@example.com")
	href := judge.eval(`(document.querySelector("tbody a") || {getAttribute: () => ""}).getAttribute("href")`)
	if !strings.HasPrefix(href, contestPath+"judging/") {
		t.Fatalf("the judge's queue has no entry: %s", judge.text("main"))
	}
	team := strings.TrimPrefix(href, contestPath+"judging/")
	if got := judge.text("tbody"); !strings.Contains(got, title) || !strings.Contains(got, "待评") {
		t.Errorf("the queue reads %q", got)
	}
	judge.clickAndWait(`tbody a`, href)
	if strings.Contains(judge.text("main"), "王小云") || strings.Contains(judge.text("main"), "李小栖") {
		t.Error("the scoring form names the team's members")
	}
	judge.fill("#f-value-idea", "9")
	judge.fill("#f-comment-idea", "贴近小镇的真实需要。")
	judge.fill("#f-value-tech", "7")
	judge.fill("#f-comment-tech", "实时数据的延迟还可以再降低。")
	judge.step("score")
	judge.clickAndWait(`form[action="`+href+`"] button[type="submit"]`, contestPath+"judging")
	if got := judge.text("tbody"); !strings.Contains(got, "已评（第 1 次）") {
		t.Errorf("after scoring the queue reads %q", got)
	}
	judge.step("scored")

	// The team's timeline shows the review, and no judge.
	yun.open(contestPath + "team")
	if got := yun.text(".timeline"); !strings.Contains(got, "作品已交由智慧城市赛道的评委评审。") {
		t.Errorf("the timeline lacks the review:\n%s", got)
	}
	if main := yun.text("main"); strings.Contains(main, "张评委") || strings.Contains(main, "贴近") || strings.Contains(main, "作品平均分") {
		t.Errorf("the team sees the judge or the score before the results:\n%s", main)
	}

	// The organiser closes scoring, promotes the entry and publishes.
	api("POST", "/"+contestID+"/shortlist", `{"teams":["`+team+`"]}`, http.StatusOK)
	api("POST", "/"+contestID+"/phase", `{"phase":"finals"}`, http.StatusOK)
	api("POST", "/"+contestID+"/finalists", `{"teams":["`+team+`"]}`, http.StatusOK)
	api("POST", "/"+contestID+"/results", `{"aggregation":"raw","awards":[{"team":"`+team+`","award":"gold"}]}`, http.StatusOK)

	// The team reads its result.
	yun.open(contestPath + "team")
	if got := yun.text(".timeline"); !strings.Contains(got, "结果公布：金奖，第 1 名。") {
		t.Errorf("the timeline lacks the result:\n%s", got)
	}
	// (9×2 + 7×1) / 3, the rubric's weighted mean.
	if got := yun.text("main"); !strings.Contains(got, "作品平均分：8.33") {
		t.Errorf("the team does not see its score:\n%s", got)
	}
	yun.step("result")

	// Anyone finds the entry in the gallery, from the contest page.
	for _, c := range []struct{ lang, award, track string }{{"zh-CN", "金奖", "智慧城市"}, {"en", "Gold", "Smart City"}} {
		visitor := openTab(t, browser, srv.URL, "visitor-"+c.lang, c.lang)
		visitor.open(contestPath)
		visitor.clickAndWait(`a[href="`+contestPath+`gallery"]`, contestPath+"gallery")
		entry := visitor.text("ol.blog-list li")
		for _, want := range []string{title, c.award, c.track, teamName, "王小云", "用小镇停车场的实时数据"} {
			if !strings.Contains(entry, want) {
				t.Errorf("%s: the gallery's entry lacks %q:\n%s", c.lang, want, entry)
			}
		}
		if strings.Contains(entry, "李小栖") {
			t.Errorf("%s: the gallery names a member who did not publish their name", c.lang)
		}
		visitor.step("gallery")
	}
}
