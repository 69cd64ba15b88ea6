package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/services/identity"
	"github.com/yunqi-town/yunqi/web"
)

// staffContestCopy is what the organiser reads on the back office, per
// language.
type staffContestCopy struct {
	lang, suffix                    string
	newLink, criteriaError          string
	toSubmission, toReview          string
	reviewConsequence, conflict     string
	rankZ, rankRaw, explainFlags    string
	toFinals, published             string
	finalsConsequence, inSubmission string
}

var staffContestJourneys = []staffContestCopy{
	{lang: "zh-CN", suffix: "zh", newLink: "创建大赛", criteriaError: "第 1 行需要四部分",
		toSubmission: "进入提交作品阶段", toReview: "进入评审阶段",
		reviewConsequence: "关闭提交：2 支队伍已提交，将进入评审；1 份草稿不会被评审", conflict: "与“西湖小队”的队员同单位，请选择其他评委",
		rankZ: "名次（标准分）", rankRaw: "名次（原始分）", explainFlags: "评委意见分歧",
		toFinals: "进入决赛阶段", published: "结果已发布，作品展已公开。",
		finalsConsequence: "已收到 4 份应评分中的 4 份", inSubmission: "当前阶段：提交作品"},
	{lang: "en", suffix: "en", newLink: "Create a contest", criteriaError: "Line 1 needs four parts",
		toSubmission: "Move to submission", toReview: "Move to review",
		reviewConsequence: "close submissions: 2 teams have submitted and will be judged; 1 saved only a draft, which will not be judged",
		conflict:          "is from the same organisation as a member of 西湖小队; choose another judge",
		rankZ:             "Rank (z-score)", rankRaw: "Rank (raw)", explainFlags: "the judges disagree about it",
		toFinals: "Move to finals", published: "Results published: the gallery is public.",
		finalsConsequence: "4 of 4 assigned scores are in", inSubmission: "Current phase: submission"},
}

// TestBrowserContestStaff: an organiser creates a contest on its page
// (meeting a field error first), moves it to submission after reading
// what that does; teams enter through the API; the organiser adds judges
// on the page, assigns them automatically and is refused a hand-made
// assignment across a conflict of interest; after reading the
// consequences they open review, the judges score, and the organiser
// compares the rankings side by side, shortlists, opens the finals,
// chooses the finalists and publishes the results. In Chinese and in
// English.
func TestBrowserContestStaff(t *testing.T) {
	browser := startBrowser(t)
	a := newTestApp(t, "")
	srv := httptest.NewServer(a.app.server)
	t.Cleanup(srv.Close)

	for _, cp := range staffContestJourneys {
		t.Run(cp.lang, func(t *testing.T) { staffContestJourney(t, browser, a, srv.URL, cp) })
	}
}

func staffContestJourney(t *testing.T, browser context.Context, a *testApp, base string, cp staffContestCopy) {
	mail := func(who string) string { return who + "-" + cp.suffix + "@example.com" }
	grant := func(who, role string) {
		t.Helper()
		if _, err := identity.GrantRole(t.Context(), a.store, a.claims(t), mail(who), role, "test"); err != nil {
			t.Fatal(err)
		}
	}
	a.signUp(mail("org"), "组织者 "+cp.suffix)
	grant("org", auth.RoleOrganizer)
	judges := map[string]string{}
	for _, j := range []string{"judge1", "judge2", "judge3"} {
		judges[j] = a.signUp(mail(j), "评委 "+j)
		grant(j, auth.RoleJudge)
	}
	contestID := "staff-" + cp.suffix
	contestPath := "/contest/" + contestID + "/"
	staff := contestPath + "staff"

	// The organiser logs in and finds "create a contest" on the contest
	// list.
	org := openTab(t, browser, base, "organiser-"+cp.suffix, cp.lang)
	org.logInAt("/contest/new", mail("org"))
	org.open("/contest/")
	if got := org.text(`a[href="/contest/new"]`); got != cp.newLink {
		t.Fatalf("the contest list offers %q to an organiser", got)
	}
	org.clickAndWait(`a[href="/contest/new"]`, "/contest/new")

	// Registration is open now; the journey runs on the real clock.
	now := time.Now().In(web.DisplayZone).Truncate(time.Minute)
	at := func(d time.Duration) string { return now.Add(d).Format("2006-01-02T15:04") }
	setValue := func(sel, v string) {
		t.Helper()
		js, _ := json.Marshal(v)
		org.run("set "+sel, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = %s`, sel, js)))
	}
	org.fill("#f-id", contestID)
	org.fill("#f-name-zh", "云栖后台演练赛 "+cp.suffix)
	org.fill("#f-name-en", "Back office drill "+cp.suffix)
	org.fill("#f-team-size", "3")
	setValue("#f-tracks", "city | 智慧城市 | Smart city\nai | 人工智能 | AI")
	setValue("#f-awards", "gold | 金奖 | Gold")
	for _, w := range []struct {
		phase      string
		from, till time.Duration
	}{{"registration", -time.Hour, time.Hour}, {"submission", time.Hour, 3 * time.Hour}, {"review", 3 * time.Hour, 4 * time.Hour}, {"finals", 4 * time.Hour, 5 * time.Hour}} {
		setValue("#f-"+w.phase+"-starts", at(w.from))
		setValue("#f-"+w.phase+"-ends", at(w.till))
	}
	setValue("#f-criteria", "idea | 创意 | Idea\ntech | 技术 | Technology | 1")
	org.step("create-form")
	org.clickAndWait(`form[action="/contest/new"] button[type="submit"]`, "/contest/new")
	if got := org.text("#f-criteria-error"); !strings.Contains(got, cp.criteriaError) {
		t.Errorf("a criterion without a weight reads %q", got)
	}
	if got := org.eval(`document.querySelector("#error-summary a").getAttribute("href")`); got != "#f-criteria" {
		t.Errorf("the error summary links to %q", got)
	}
	if got := org.eval(`document.querySelector("#f-id").value`); got != contestID {
		t.Errorf("the form lost the id: %q", got)
	}
	setValue("#f-criteria", "idea | 创意 | Idea | 2\ntech | 技术 | Technology | 1")
	org.clickAndWait(`form[action="/contest/new"] button[type="submit"]`, staff)
	org.step("created")

	// Before the move the page says what it will do.
	if got := org.text(".consequences"); got == "" {
		t.Fatal("the back office shows no consequences before the move")
	}
	if got := org.text(`form[action="` + staff + `/phase"] button`); got != cp.toSubmission {
		t.Errorf("the move button reads %q", got)
	}
	org.clickAndWait(`form[action="`+staff+`/phase"] button`, staff)
	if got := org.text(`form[action="` + staff + `/phase"] button`); got != cp.toReview {
		t.Errorf("after the move the button reads %q", got)
	}
	if got := org.text("header.page-head p"); got != cp.inSubmission {
		t.Errorf("the back office names the phase %q", got)
	}
	// Every label names a control that exists, every table has a
	// caption and its column headers a scope.
	if bad := org.eval(`[...document.querySelectorAll("main label[for]")].filter(l => !document.getElementById(l.htmlFor)).map(l => l.htmlFor)
		.concat([...document.querySelectorAll("main table")].filter(t => !t.caption).map(() => "table without caption"))
		.concat([...document.querySelectorAll("main thead th")].filter(th => th.getAttribute("scope") !== "col").map(th => th.textContent)).join(" | ")`); bad != "" {
		t.Errorf("the back office's markup: %s", bad)
	}

	// Three teams enter through the API: two submit, one keeps a draft.
	// The first team's member works where judge1 does.
	var westlake string
	for i, m := range []struct{ who, team, org string }{{"m1", "西湖小队", "西湖实验室"}, {"m2", "钱塘小队", ""}, {"m3", "灵隐小队", ""}} {
		a.signUp(mail(m.who), "队员 "+m.who)
		tok, _ := a.logIn(mail(m.who))
		w := a.do("POST", "/api/contest/contests/"+contestID+"/teams", tok, fmt.Sprintf(`{"name":%q,"organization":%q}`, m.team, m.org))
		if w.Code != http.StatusCreated {
			t.Fatalf("team %s: %d %s", m.team, w.Code, w.Body)
		}
		var tv struct{ ID string }
		json.Unmarshal(w.Body.Bytes(), &tv)
		if i == 0 {
			westlake = tv.ID
		}
		body := fmt.Sprintf(`{"draft":%v,"title":"作品 %s","summary":"演练用的作品。","track":"city","repo_url":"https://example.com/%s"}`, i == 2, m.who, m.who)
		if w := a.do("PUT", "/api/contest/contests/"+contestID+"/teams/"+tv.ID+"/submission", tok, body); w.Code != http.StatusOK {
			t.Fatalf("entry of %s: %d %s", m.team, w.Code, w.Body)
		}
	}

	// The organiser adds the judges on the page.
	for _, j := range []struct{ id, name, org string }{
		{judges["judge1"], "许评审", "西湖实验室"}, {judges["judge2"], "Grace Wang", ""}, {judges["judge3"], "冯严格", "示例研究院"},
	} {
		org.open(staff)
		org.fill("#f-judge-judge-id", j.id)
		org.fill("#f-judge-display-name", j.name)
		if j.org != "" {
			org.fill("#f-judge-organization", j.org)
		}
		org.clickAndWait(`form[action="`+staff+`/judges"] button[type="submit"]`, staff)
	}
	if got := org.text(".staff-table caption"); got == "" {
		t.Error("the progress table has no caption")
	}
	if n := org.eval(`String(document.querySelectorAll("#progress-title ~ table tbody tr").length)`); n != "3" {
		t.Errorf("the progress table lists %s judges", n)
	}

	// Automatic assignment: two judges per entry, balanced.
	org.fill("#f-auto-per-entry", "2")
	org.clickAndWait(`form[action="`+staff+`/assign/auto"] button[type="submit"]`, staff)
	judgesOf := func(team string) string {
		return org.eval(fmt.Sprintf(`[...document.querySelectorAll("#entries-title ~ table tbody tr")]
			.filter(r => r.querySelector("th").textContent.trim() === %q).map(r => r.lastElementChild.textContent.trim()).join("")`, team))
	}
	if got := judgesOf("西湖小队"); strings.Contains(got, "许评审") || !strings.Contains(got, "Grace Wang") || !strings.Contains(got, "冯严格") {
		t.Errorf("the team of judge1's organisation is judged by %q, want the two others", got)
	}
	if got := judgesOf("钱塘小队"); strings.Count(got, "、")+strings.Count(got, ", ") != 1 {
		t.Errorf("the second entry is judged by %q, want two judges", got)
	}
	org.step("assigned")

	// By hand, judge1 to the team of their own organisation: refused,
	// beside the judge.
	org.run("choose the judge and the team",
		chromedp.SetValue(chromedp.CSS("#f-assign-judge"), judges["judge1"]),
		chromedp.SetValue(chromedp.CSS("#f-assign-team"), westlake))
	org.clickAndWait(`form[action="`+staff+`/assign"] button[type="submit"]`, staff+"/assign")
	if got := org.text("#f-assign-judge-error"); !strings.Contains(got, cp.conflict) {
		t.Errorf("the refused assignment reads %q", got)
	}
	if got := org.eval(`document.querySelector("#f-assign-judge").getAttribute("aria-invalid")`); got != "true" {
		t.Errorf("the judge field is not marked invalid: %q", got)
	}
	org.step("refused")

	// Opening review: what it does, then the move.
	org.open(staff)
	if got := org.text(".consequences"); !strings.Contains(got, cp.reviewConsequence) {
		t.Errorf("the move to review says:\n%s", got)
	}
	org.clickAndWait(`form[action="`+staff+`/phase"] button`, staff)

	// The judges score their queues through the API: judge3 is harsh.
	for j, bias := range map[string]float64{"judge1": 0, "judge2": 1, "judge3": -3} {
		tok, _ := a.logIn(mail(j))
		w := a.do("GET", "/api/contest/contests/"+contestID+"/judging/queue", tok, "")
		var q struct {
			Entries []struct{ Team, Title string }
		}
		json.Unmarshal(w.Body.Bytes(), &q)
		for i, e := range q.Entries {
			v := 8 - float64(i) + bias
			body := fmt.Sprintf(`{"round":"review","scores":[{"criterion":"idea","value":%g},{"criterion":"tech","value":%g}]}`, v, v)
			if w := a.do("PUT", "/api/contest/contests/"+contestID+"/judging/entries/"+e.Team+"/score", tok, body); w.Code != http.StatusOK {
				t.Fatalf("%s scoring %s: %d %s", j, e.Title, w.Code, w.Body)
			}
		}
	}
	org.open(staff)
	if n := org.eval(`String(document.querySelectorAll("#progress-title ~ table .status-done").length)`); n != "3" {
		t.Errorf("%s of 3 judges have scored all their entries:\n%s", n, org.text("#progress-title ~ table tbody"))
	}

	// The rankings side by side, then the shortlist.
	org.clickAndWait(`a[href="`+staff+`/ranking"]`, staff+"/ranking")
	head := org.text("table.ranking-compare thead")
	if !strings.Contains(head, cp.rankZ) || !strings.Contains(head, cp.rankRaw) {
		t.Errorf("the ranking's columns: %s", head)
	}
	if got := org.text(".explain"); !strings.Contains(got, cp.explainFlags) {
		t.Errorf("the page does not explain its flags:\n%s", got)
	}
	if n := org.eval(`String(document.querySelectorAll("table.ranking-compare tbody tr").length)`); n != "2" {
		t.Errorf("the ranking lists %s entries, want the 2 submitted", n)
	}
	org.step("ranking")
	org.run("shortlist both", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name="team"]').forEach(b => b.checked = true)`))
	org.clickAndWait(`form[action="`+staff+`/finalists"] button[type="submit"]`, staff+"/ranking")

	// The finals open after their consequences are read.
	org.open(staff)
	if got := org.text(`form[action="` + staff + `/phase"] button`); got != cp.toFinals {
		t.Errorf("the move button reads %q", got)
	}
	if got := org.text(".consequences"); !strings.Contains(got, cp.finalsConsequence) {
		t.Errorf("the move to the finals does not count the scores:\n%s", got)
	}
	org.clickAndWait(`form[action="`+staff+`/phase"] button`, staff)

	// Finalists (the shortlist is preselected), then the results.
	org.open(staff + "/ranking")
	org.clickAndWait(`form[action="`+staff+`/finalists"] button[type="submit"]`, staff+"/ranking")
	org.run("give gold to the first finalist", chromedp.SetValue(chromedp.CSS(`form[action="`+staff+`/results"] select`), "gold"))
	org.step("publish")
	org.clickAndWait(`form[action="`+staff+`/results"] button[type="submit"]`, staff+"/ranking")
	if got := org.text("body"); !strings.Contains(got, cp.published) {
		t.Errorf("after publishing the page reads:\n%s", got)
	}
	org.clickAndWait(`main a[href="`+contestPath+`gallery"]`, contestPath+"gallery")
	if got := org.text("main"); !strings.Contains(got, "作品 m") {
		t.Errorf("the gallery lacks the finalists:\n%s", got)
	}
	org.step("gallery")
}
