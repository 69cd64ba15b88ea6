package contest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// fold applies events to a new contest, as the ledger does.
func fold(evs ...any) *Contest {
	c := newContest()
	for _, e := range evs {
		c.Apply(e, during)
	}
	return c
}

func panelJudge(id, org string) events.JudgeAssigned {
	return events.JudgeAssigned{ContestID: "c", JudgeID: id, Tracks: []string{"mobile"}, Personal: events.JudgePersonal{DisplayName: "Judge " + id, Organization: org}}
}

// panel is a contest in submission with n entries and judges j1…jm; team
// t0's member works where j1 does and j2 declared a conflict with t1.
func panel(n, m int) *Contest {
	evs := with(created(3), events.ContestPhaseChanged{ContestID: "c", From: events.PhaseRegistration, To: events.PhaseSubmission})
	for i := range n {
		id := fmt.Sprintf("t%d", i)
		org := ""
		if i == 0 {
			org = "Westlake Labs"
		}
		evs = append(evs, team(id, "owner-"+id, org), entry(id, 1, false))
	}
	for j := 1; j <= m; j++ {
		org := ""
		if j == 1 {
			org = "westlake  labs"
		}
		evs = append(evs, panelJudge(fmt.Sprintf("j%d", j), org))
	}
	evs = append(evs, events.ConflictDeclared{ContestID: "c", JudgeID: "j2", TeamID: "t1"})
	return fold(evs...)
}

func TestAutoAssignmentIsBalancedAndNeverAcrossAConflict(t *testing.T) {
	for _, tc := range []struct{ entries, judges, per int }{{7, 4, 2}, {10, 3, 2}, {5, 5, 3}, {6, 4, 1}} {
		t.Run(fmt.Sprintf("%d entries, %d judges, %d each", tc.entries, tc.judges, tc.per), func(t *testing.T) {
			c := panel(tc.entries, tc.judges)
			var got []any
			res, err := c.autoAssign(tc.per, func(p any) { got = append(got, p); c.Apply(p, during) })
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("emitted %d events, want one assignment", len(got))
			}
			if len(res.Short) != 0 {
				t.Errorf("entries short of judges: %v", res.Short)
			}
			loads := map[string]int{}
			for _, t0 := range c.entries() {
				js := c.judgesOf(t0)
				if len(js) != tc.per {
					t.Errorf("%s has judges %v, want %d", t0.ID, js, tc.per)
				}
				for _, j := range js {
					loads[j]++
					if kind := c.conflictKind(c.Judges[j], t0); kind != "" {
						t.Errorf("%s judges %s across a %s conflict", j, t0.ID, kind)
					}
				}
			}
			if slices.Contains(c.judgesOf(c.Teams["t0"]), "j1") {
				t.Error("j1 shares an organisation with t0 and judges it")
			}
			if slices.Contains(c.judgesOf(c.Teams["t1"]), "j2") {
				t.Error("j2 declared a conflict with t1 and judges it")
			}
			lo, hi := 1<<30, 0
			for j := 1; j <= tc.judges; j++ {
				l := loads[fmt.Sprintf("j%d", j)]
				lo, hi = min(lo, l), max(hi, l)
			}
			if hi-lo > 1 {
				t.Errorf("judges' loads %v differ by %d", loads, hi-lo)
			}
		})
	}
}

func TestAutoAssignmentSaysWhenConflictsLeaveTooFewJudges(t *testing.T) {
	c := panel(3, 2) // t0 cannot have j1, t1 cannot have j2
	res, err := c.autoAssign(2, func(p any) { c.Apply(p, during) })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Short, []string{"t0", "t1"}) {
		t.Errorf("short %v, want t0 and t1", res.Short)
	}
	if got := c.judgesOf(c.Teams["t0"]); !slices.Equal(got, []string{"j2"}) {
		t.Errorf("t0 judged by %v, want j2 alone", got)
	}
}

func TestAutoAssignmentKeepsScoredWork(t *testing.T) {
	c := panel(4, 4)
	apply := func(p any) { c.Apply(p, during) }
	if _, err := c.autoAssign(1, apply); err != nil {
		t.Fatal(err)
	}
	scorer := c.judgesOf(c.Teams["t3"])[0]
	c.Apply(events.ContestPhaseChanged{ContestID: "c", From: events.PhaseSubmission, To: events.PhaseReview}, during)
	c.Apply(events.ScoreRecorded{ContestID: "c", TeamID: "t3", JudgeID: scorer, Round: events.RoundReview, RubricVersion: 1, Revision: 1,
		Scores: []events.CriterionScore{{Criterion: "idea", Value: 5}, {Criterion: "tech", Value: 5}}}, during)
	res, err := c.autoAssign(2, apply)
	if err != nil {
		t.Fatal(err)
	}
	if js := c.judgesOf(c.Teams["t3"]); len(js) != 2 || !slices.Contains(js, scorer) {
		t.Errorf("t3 is judged by %v after reassignment; %s scored it and must stay", js, scorer)
	}
	lo, hi := 1<<30, 0
	for _, l := range res.Loads {
		lo, hi = min(lo, l), max(hi, l)
	}
	if hi-lo > 1 {
		t.Errorf("loads %v", res.Loads)
	}
}

func TestAutoAssignmentRefusals(t *testing.T) {
	c := panel(3, 2)
	var invalid *ValidationError
	if _, err := c.autoAssign(3, func(any) { t.Fatal("emitted") }); !errors.As(err, &invalid) || invalid.Fields[0].Field != "per_entry" {
		t.Errorf("more judges per entry than there are judges: %v", err)
	}
	c.Apply(events.ContestPhaseChanged{ContestID: "c", From: events.PhaseSubmission, To: events.PhaseReview}, during)
	c.Apply(events.ContestPhaseChanged{ContestID: "c", From: events.PhaseReview, To: events.PhaseFinals}, during)
	if _, err := c.autoAssign(1, func(any) { t.Fatal("emitted") }); !errors.Is(err, ErrWrongPhase) {
		t.Errorf("assigning in the finals: %v", err)
	}
}

func TestManualAssignmentAcrossAConflictIsRefused(t *testing.T) {
	c := panel(3, 3)
	c.Apply(joined("t2", "j3", ""), during) // j3 is in team t2
	for _, tc := range []struct{ judge, team, kind string }{
		{"j1", "t0", ConflictOrganization}, {"j2", "t1", ConflictDeclared}, {"j3", "t2", ConflictMember},
	} {
		err := c.assignEntry(tc.judge, tc.team, func(any) { t.Fatalf("%s assigned to %s", tc.judge, tc.team) })
		var conflict *ConflictError
		if !errors.As(err, &conflict) || conflict.Kind != tc.kind || !errors.Is(err, ErrConflictOfInterest) {
			t.Errorf("%s → %s: %v, want a %s conflict", tc.judge, tc.team, err, tc.kind)
		}
	}
	c.Apply(events.EntryJudgesAssigned{ContestID: "c", Method: "auto", PerEntry: 1, Entries: []events.EntryJudges{{TeamID: "t1", Judges: []string{"j3"}}}}, during)
	var got []any
	if err := c.assignEntry("j1", "t1", func(p any) { got = append(got, p); c.Apply(p, during) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.judgesOf(c.Teams["t1"]), []string{"j1", "j3"}) || len(got) != 1 {
		t.Errorf("j1 not assigned to t1: %v", got)
	}
	// A member of a team never sees it in the queue, whatever the track.
	c.Apply(events.ContestPhaseChanged{ContestID: "c", From: events.PhaseSubmission, To: events.PhaseReview}, during)
	c.Apply(events.EntryQueuedForReview{ContestID: "c", TeamID: "t2", Track: "mobile"}, during)
	if c.Assigned("j3", "t2", events.RoundReview) {
		t.Error("a judge who is in the team is assigned its entry")
	}
}

func TestPhaseMoveShowsItsConsequences(t *testing.T) {
	c := panel(3, 2)
	c.Apply(team("t9", "owner-t9", ""), during)
	c.Apply(entry("t9", 1, true), during)
	c.Apply(team("t8", "owner-t8", ""), during)
	m := c.PreviewMove()
	if m.To != events.PhaseReview || m.Submitted != 3 || m.Drafts != 1 || m.Empty != 1 || m.Teams != 5 {
		t.Errorf("preview %+v", m)
	}
	// Track rule: j1 gets t1, t2 (not t0, same organisation); j2 gets t0, t2.
	if m.Queues["j1"] != 2 || m.Queues["j2"] != 2 || len(m.Unjudged) != 0 {
		t.Errorf("queues %v, unjudged %v", m.Queues, m.Unjudged)
	}
	c.Apply(events.ContestPhaseChanged{ContestID: "c", From: events.PhaseSubmission, To: events.PhaseReview}, during)
	c.Apply(events.ContestPhaseChanged{ContestID: "c", From: events.PhaseReview, To: events.PhaseFinals}, during)
	if next := c.NextPhase(); next != "" {
		t.Errorf("after the finals comes %q; results are published, not moved to", next)
	}
}

func TestRankingsSideBySideFlagDisagreement(t *testing.T) {
	c := panel(4, 4)
	c.Apply(events.ContestPhaseChanged{ContestID: "c", From: events.PhaseSubmission, To: events.PhaseReview}, during)
	s := func(j, tm string, v float64) events.ScoreRecorded {
		return events.ScoreRecorded{ContestID: "c", TeamID: tm, JudgeID: j, Round: events.RoundReview, RubricVersion: 1, Revision: 1,
			Scores: []events.CriterionScore{{Criterion: "idea", Value: v}, {Criterion: "tech", Value: v}}}
	}
	// j3 scores three entries almost alike, so their small differences
	// become whole standard deviations; j4 scores two far apart. Raw
	// means rank t2 second, z-scores last.
	for _, e := range []events.ScoreRecorded{
		s("j3", "t0", 10), s("j3", "t1", 9.9), s("j3", "t2", 9.8),
		s("j4", "t3", 9), s("j4", "t1", 1),
	} {
		c.Apply(e, during)
	}
	cmp := c.Compare(events.RoundReview, DefaultDisagreement)
	rows := map[string]PairRow{}
	for _, r := range cmp.Rows {
		rows[r.Team] = r
	}
	if r := rows["t2"]; r.RankRaw != 2 || r.RankZ != 4 || !r.RankFlag {
		t.Errorf("t2 ranks %d raw and %d by z-score, flagged %v; want 2, 4, flagged", r.RankRaw, r.RankZ, r.RankFlag)
	}
	if !rows["t1"].SpreadFlag || rows["t0"].SpreadFlag {
		t.Errorf("spread flags: t1 (9.9 and 1) %v, t0 (one judge) %v", rows["t1"].SpreadFlag, rows["t0"].SpreadFlag)
	}
	flagged := 0
	for _, r := range cmp.Rows {
		if r.RankFlag != (abs(r.RankZ-r.RankRaw) > RankGap) {
			t.Errorf("%s: ranks %d and %d, flagged %v", r.Team, r.RankZ, r.RankRaw, r.RankFlag)
		}
		if r.RankFlag {
			flagged++
		}
	}
	if flagged == 0 {
		t.Errorf("no entry is flagged although the orders differ: %+v", cmp.Rows)
	}
}

func abs(n int) int { return max(n, -n) }

func TestLiveDemoIsInReviewWithJudgesAssigned(t *testing.T) {
	store := openStore(t)
	ctx := context.Background()
	if err := SeedDemo(ctx, store); err != nil {
		t.Fatal(err)
	}
	evs, err := store.ReadStream(ctx, events.ContestStream(DemoLiveContestID), events.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := newContest()
	for _, e := range evs {
		if err := applyEvent(c, e); err != nil {
			t.Fatal(err)
		}
	}
	if c.Phase != events.PhaseReview || c.Published() {
		t.Fatalf("the live demo is in %s", c.Phase)
	}
	if w, _ := c.Window(events.PhaseReview); !time.Now().After(w.StartsAt) || !time.Now().Before(w.EndsAt) {
		t.Errorf("review runs %s–%s, not now", w.StartsAt, w.EndsAt)
	}
	m := c.PreviewMove()
	if m.Submitted != 6 || m.Drafts != 1 {
		t.Errorf("%d entries and %d drafts, want 6 and 1", m.Submitted, m.Drafts)
	}
	var assigned, scored int
	for _, p := range c.Progress(events.RoundReview) {
		assigned += p.Assigned
		scored += p.Scored
	}
	if assigned != 12 || scored == 0 || scored == assigned {
		t.Errorf("%d of %d scores in; want some, not all, of 12", scored, assigned)
	}
	for _, id := range c.JudgeOrder {
		if len(c.Queue(id)) == 0 {
			t.Errorf("judge %s has an empty queue", id)
		}
	}
}

// TestBackOfficePages walks the organisers' pages: create with field
// errors, the consequences of a move, a refused skip, a refused
// assignment across a conflict, the rankings side by side, and a member
// kept out.
func TestBackOfficePages(t *testing.T) {
	a := newTestAPI(t)
	h := pagesFor(t, a)
	form := url.Values{"id": {"c"}, "name_zh": {"大赛"}, "name_en": {"Contest"}, "year": {"2013"}, "team_size": {"3"},
		"tracks": {"mobile | 移动 | Mobile\ngames | 游戏 | Games"}, "awards": {"gold | 金奖 | Gold"},
		"registration_starts": {"2013-08-01T08:00"}, "registration_ends": {"2013-09-01T08:00"},
		"submission_starts": {"2013-09-01T08:00"}, "submission_ends": {"2013-10-01T08:00"},
		"review_starts": {"2013-10-01T08:00"}, "review_ends": {"2013-10-15T08:00"},
		"scale_min": {"1"}, "scale_max": {"10"}, "criteria": {"idea | 创意 | Idea | 2\ntech | 技术 | Technology | 1"}}

	if w := page(h, "GET", "/contest/new", "ann", "", "en", nil); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Organisers only") {
		t.Errorf("a member on the create page: %d", w.Code)
	}
	if w := page(h, "GET", "/contest/new", "", "", "en", nil); w.Code != http.StatusSeeOther {
		t.Errorf("a stranger on the create page: %d", w.Code)
	}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("team_size", "0")
	bad.Set("criteria", "idea | 创意 | Idea")
	bad.Set("submission_ends", "2013-08-15T08:00")
	w := page(h, "POST", "/contest/new", "org", auth.RoleOrganizer, "zh-CN", bad)
	body := w.Body.String()
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, "第 1 行需要四部分") || !strings.Contains(body, `href="#f-criteria"`) {
		t.Errorf("a criterion without a weight: %d %s", w.Code, body)
	}
	bad.Set("criteria", form.Get("criteria"))
	w = page(h, "POST", "/contest/new", "org", auth.RoleOrganizer, "en", bad)
	body = w.Body.String()
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, "Give the largest team size as a number from 1 to 20") ||
		!strings.Contains(body, "The submission phase must start before it ends") || !strings.Contains(body, `href="#f-submission-starts"`) {
		t.Errorf("a team size of 0 and a window ending first: %d %s", w.Code, body)
	}
	if w := page(h, "POST", "/contest/new", "org", auth.RoleOrganizer, "en", form); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/contest/c/staff" {
		t.Fatalf("creating: %d %s", w.Code, w.Body)
	}
	org := a.token("org", auth.RoleOrganizer)
	var sum ContestSummary
	a.expect(a.do("GET", base+"/c", org, nil), http.StatusOK, &sum)
	if sum.Schedule[0].StartsAt != time.Date(2013, 8, 1, 0, 0, 0, 0, time.UTC) || sum.Rubric == nil || sum.Rubric.Criteria[0].Weight != 2 || sum.TeamSize != 3 {
		t.Errorf("created %+v", sum)
	}
	if w := page(h, "POST", "/contest/new", "org", auth.RoleOrganizer, "zh-CN", form); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "已有使用此标识的大赛") {
		t.Errorf("creating twice: %d", w.Code)
	}
	if w := page(h, "GET", "/contest/c/", "org", auth.RoleOrganizer, "en", nil); !strings.Contains(w.Body.String(), `href="/contest/c/staff"`) {
		t.Error("the contest page does not link organisers to the back office")
	}
	if w := page(h, "GET", "/contest/c/", "ann", "", "en", nil); strings.Contains(w.Body.String(), "/staff") {
		t.Error("the contest page links a member to the back office")
	}

	// Teams and judges through the API, then the move to review.
	for _, m := range []struct{ who, org string }{{"ann", "Westlake Labs"}, {"bo", ""}, {"cy", ""}} {
		tok := a.token(m.who)
		var tv TeamView
		a.expect(a.do("POST", base+"/c/teams", tok, map[string]any{"name": "Team " + m.who, "organization": m.org}), http.StatusCreated, &tv)
		draft := m.who == "cy"
		a.expect(a.do("PUT", base+"/c/teams/"+tv.ID+"/submission", tok, map[string]any{"draft": draft, "title": "Entry " + m.who, "summary": "s",
			"track": "mobile", "repo_url": "https://example.com/" + m.who}), http.StatusOK, nil)
	}
	a.expect(a.do("PUT", base+"/c/judges/j1", org, map[string]any{"display_name": "Judge One", "organization": "Westlake Labs", "tracks": []string{"mobile"}}), http.StatusOK, nil)
	a.expect(a.do("PUT", base+"/c/judges/j2", org, map[string]any{"display_name": "Judge Two", "tracks": []string{"mobile"}}), http.StatusOK, nil)

	w = page(h, "GET", "/contest/c/staff", "org", auth.RoleOrganizer, "en", nil)
	if !strings.Contains(w.Body.String(), `href="/contest/c/audit"`) || !strings.Contains(w.Body.String(), `href="/contest/c/staff/ranking"`) {
		t.Error("the back office does not link to the ranking and the audit view")
	}
	if !strings.Contains(w.Body.String(), "open submissions: 3 teams") || !strings.Contains(w.Body.String(), "Move to submission") {
		t.Errorf("the move to submission: %s", w.Body)
	}
	w = page(h, "POST", "/contest/c/staff/phase", "org", auth.RoleOrganizer, "zh-CN", url.Values{"phase": {"review"}})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "这会跳过提交作品阶段") {
		t.Errorf("a skipped phase: %d %s", w.Code, w.Body)
	}
	if w := page(h, "POST", "/contest/c/staff/phase", "org", auth.RoleOrganizer, "en", url.Values{"phase": {"submission"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("moving to submission: %d %s", w.Code, w.Body)
	}
	w = page(h, "GET", "/contest/c/staff", "org", auth.RoleOrganizer, "en", nil)
	body = w.Body.String()
	if !strings.Contains(body, "close submissions: 2 teams have submitted and will be judged; 1 saved only a draft, which will not be judged") ||
		!strings.Contains(body, "Judge One 1, Judge Two 2") {
		t.Errorf("the move to review does not say what it does: %s", body)
	}
	var teams []string
	a.svc.read(context.Background(), "c", func(c *Contest, _ time.Time) (any, error) {
		for _, id := range c.TeamOrder {
			teams = append(teams, id)
		}
		return nil, nil
	})
	w = page(h, "POST", "/contest/c/staff/assign", "org", auth.RoleOrganizer, "zh-CN", url.Values{"judge": {"j1"}, "team": {teams[0]}})
	body = w.Body.String()
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, "Judge One与“Team ann”的队员同单位") || !strings.Contains(body, `href="#f-assign-judge"`) {
		t.Errorf("an assignment across a conflict: %d %s", w.Code, body)
	}
	if w := page(h, "POST", "/contest/c/staff/assign/auto", "org", auth.RoleOrganizer, "en", url.Values{"per_entry": {"9"}}); w.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(w.Body.String(), "Give a number of judges from 1 to 2") {
		t.Errorf("nine judges each out of two: %d", w.Code)
	}
	if w := page(h, "POST", "/contest/c/staff/assign/auto", "org", auth.RoleOrganizer, "en", url.Values{"per_entry": {"1"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("auto assignment: %d %s", w.Code, w.Body)
	}
	w = page(h, "GET", "/contest/c/staff", "org", auth.RoleOrganizer, "zh-CN", nil)
	if body := w.Body.String(); !strings.Contains(body, "<caption>每位评委在评审轮中的作品</caption>") || !strings.Contains(body, "Judge One 1 件、Judge Two 1 件") {
		t.Errorf("after auto assignment: %s", body)
	}
	if w := page(h, "POST", "/contest/c/staff/phase", "org", auth.RoleOrganizer, "en", url.Values{"phase": {"review"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("moving to review: %d", w.Code)
	}
	w = page(h, "GET", "/contest/c/staff/ranking", "org", auth.RoleOrganizer, "en", nil)
	if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, "Rank (z-score)") || !strings.Contains(body, "Rank (raw)") || !strings.Contains(body, "Save the shortlist") {
		t.Errorf("the ranking page: %d %s", w.Code, body)
	}
	if w := page(h, "GET", "/contest/c/judging", "j9", auth.RoleJudge, "en", nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "give an organiser your account id: j9") {
		t.Errorf("a judge not yet added: %d %s", w.Code, w.Body)
	}
	if w := page(h, "GET", "/contest/c/staff/ranking", "j1", auth.RoleJudge, "en", nil); w.Code != http.StatusForbidden {
		t.Errorf("a judge on the ranking page: %d", w.Code)
	}

	// A team whose deadline passed reads that it passed, and when,
	// without a bare "Deadline:" beside it.
	a.clock.Set(late)
	w = page(h, "GET", "/contest/c/team", "ann", "", "en", nil)
	body = w.Body.String()
	if !strings.Contains(body, "The submission deadline passed on 1 October 2013") || strings.Contains(body, "Deadline:") || strings.Contains(body, ">review<") {
		t.Errorf("the team page after the deadline: %s", body)
	}
	w = page(h, "GET", "/contest/c/team", "cy", "", "zh-CN", nil)
	if body := w.Body.String(); !strings.Contains(body, "提交已于 2013年10月1日") || !strings.Contains(body, "只保存了草稿，因此作品不会进入评审。") || strings.Contains(body, "截止时间：") {
		t.Errorf("a team with only a draft after the deadline: %s", body)
	}
}

// TestBackOfficeAPI: the same decisions through the JSON API, with the
// refusals a client meets.
func TestBackOfficeAPI(t *testing.T) {
	a := newTestAPI(t)
	org, ann := a.token("org", auth.RoleOrganizer), a.token("ann")
	a.expect(a.do("POST", base, org, contestBody()), http.StatusCreated, nil)
	a.expect(a.do("GET", base+"/c/phase/next", ann, nil), http.StatusForbidden, nil)
	a.expect(a.do("POST", base+"/c/phase", org, map[string]any{"phase": "review"}), http.StatusUnprocessableEntity, nil)
	var teams []string
	for _, m := range []struct{ who, org string }{{"ann", "Westlake Labs"}, {"bo", ""}, {"cy", ""}} {
		var tv TeamView
		tok := a.token(m.who)
		a.expect(a.do("POST", base+"/c/teams", tok, map[string]any{"name": "Team " + m.who, "organization": m.org}), http.StatusCreated, &tv)
		a.expect(a.do("PUT", base+"/c/teams/"+tv.ID+"/submission", tok, map[string]any{"title": "Entry " + m.who, "summary": "s",
			"track": "mobile", "repo_url": "https://example.com/" + m.who}), http.StatusOK, nil)
		teams = append(teams, tv.ID)
	}
	a.expect(a.do("POST", base+"/c/assignments/auto", org, map[string]any{"per_entry": 1}), http.StatusConflict, nil) // entries may still change
	for _, j := range []struct{ id, org string }{{"j1", "WESTLAKE LABS"}, {"j2", ""}, {"j3", ""}} {
		a.expect(a.do("PUT", base+"/c/judges/"+j.id, org, map[string]any{"display_name": "Judge " + j.id, "organization": j.org, "tracks": []string{"mobile"}}), http.StatusOK, nil)
	}
	a.expect(a.do("POST", base+"/c/phase", org, map[string]any{"phase": "submission"}), http.StatusOK, nil)

	w := a.do("POST", base+"/c/assignments", org, map[string]any{"judge": "j1", "team": teams[0]})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `"field":"judge"`) || !strings.Contains(w.Body.String(), "same organisation") {
		t.Errorf("an assignment across a conflict: %d %s", w.Code, w.Body)
	}
	var auto AutoAssignment
	a.expect(a.do("POST", base+"/c/assignments/auto", org, map[string]any{"per_entry": 2}), http.StatusOK, &auto)
	if len(auto.Entries) != 3 || auto.Loads["j1"]+auto.Loads["j2"]+auto.Loads["j3"] != 6 {
		t.Errorf("auto assignment %+v", auto)
	}
	for _, e := range auto.Entries {
		if e.TeamID == teams[0] && slices.Contains(e.Judges, "j1") {
			t.Error("j1 was given the entry of a team from their organisation")
		}
	}
	var move PhaseMove
	a.expect(a.do("GET", base+"/c/phase/next", org, nil), http.StatusOK, &move)
	if move.To != "review" || move.Submitted != 3 || move.Queues["j1"]+move.Queues["j2"]+move.Queues["j3"] != 6 {
		t.Errorf("preview %+v", move)
	}
	a.expect(a.do("POST", base+"/c/phase", org, map[string]any{"phase": "review"}), http.StatusOK, nil)
	var queue struct{ Entries []EntryView }
	j2 := a.token("j2", auth.RoleJudge)
	a.expect(a.do("GET", base+"/c/judging/queue", j2, nil), http.StatusOK, &queue)
	for _, e := range queue.Entries {
		a.expect(a.do("PUT", base+"/c/judging/entries/"+e.Team+"/score", j2, scoreBody("review", 7, 6)), http.StatusOK, nil)
	}
	var progress struct {
		Round  string
		Judges []JudgeProgress
	}
	a.expect(a.do("GET", base+"/c/progress", org, nil), http.StatusOK, &progress)
	for _, p := range progress.Judges {
		want := 0
		if p.Judge == "j2" {
			want = auto.Loads["j2"]
		}
		if p.Assigned != auto.Loads[p.Judge] || p.Scored != want {
			t.Errorf("%s: %d assigned, %d scored; want %d and %d", p.Judge, p.Assigned, p.Scored, auto.Loads[p.Judge], want)
		}
	}
	var cmp SideBySide
	a.expect(a.do("GET", base+"/c/ranking/compare", org, nil), http.StatusOK, &cmp)
	if len(cmp.Rows) != 3 || cmp.RankGap != RankGap {
		t.Errorf("comparison %+v", cmp)
	}
	a.expect(a.do("GET", base+"/c/ranking/compare?threshold=2", org, nil), http.StatusUnprocessableEntity, nil)
	a.expect(a.do("POST", base+"/c/assignments/auto", org, map[string]any{"per_entry": 4}), http.StatusUnprocessableEntity, nil)
}

// TestLiveDemoBackOffice: a newcomer who logs in as the demo organiser
// finds the contest in progress with its judges' progress, the move to
// the finals and the rankings compared.
func TestLiveDemoBackOffice(t *testing.T) {
	a := newTestAPI(t)
	if err := SeedDemo(context.Background(), a.svc.store); err != nil {
		t.Fatal(err)
	}
	h := pagesFor(t, a)
	w := page(h, "GET", "/contest/"+DemoLiveContestID+"/staff", "org", auth.RoleOrganizer, "en", nil)
	body := w.Body.String()
	for _, want := range []string{"Olivia Zhou", "Move to finals", "close review scoring", "<caption>Each judge&#39;s entries in the review round</caption>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the live demo's back office lacks %q", want)
		}
	}
	w = page(h, "GET", "/contest/"+DemoLiveContestID+"/staff/ranking", "org", auth.RoleOrganizer, "zh-CN", nil)
	if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, "名次（标准分）") || !strings.Contains(body, "保存入围名单") || !strings.Contains(body, "西湖单车调度") {
		t.Errorf("the live demo's ranking: %d %s", w.Code, body)
	}
	w = page(h, "GET", "/contest/"+DemoLiveContestID+"/judging", "demo-live-judge-2", auth.RoleJudge, "en", nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "to score") {
		t.Errorf("a demo judge's queue: %d", w.Code)
	}

	// A judge declares a conflict from the scoring page; the entry leaves
	// the queue and the organisers' progress counts it.
	var team string
	a.svc.read(context.Background(), DemoLiveContestID, func(c *Contest, _ time.Time) (any, error) {
		team = c.Queue("demo-live-judge-3")[0].Team
		return nil, nil
	})
	w = page(h, "GET", "/contest/"+DemoLiveContestID+"/judging/"+team, "demo-live-judge-3", auth.RoleJudge, "zh-CN", nil)
	if !strings.Contains(w.Body.String(), "声明冲突并退出评审此作品") {
		t.Errorf("the scoring page offers no conflict declaration")
	}
	if w := page(h, "POST", "/contest/"+DemoLiveContestID+"/judging/live-kite/conflict", "demo-live-judge-3", auth.RoleJudge, "en", url.Values{}); w.Code != http.StatusNotFound {
		t.Errorf("a conflict with an entry not in the queue: %d", w.Code)
	}
	if w := page(h, "POST", "/contest/"+DemoLiveContestID+"/judging/"+team+"/conflict", "demo-live-judge-3", auth.RoleJudge, "en", url.Values{"reason": {"former colleague"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("declaring a conflict: %d %s", w.Code, w.Body)
	}
	var progress []JudgeProgress
	a.svc.read(context.Background(), DemoLiveContestID, func(c *Contest, _ time.Time) (any, error) {
		if slices.ContainsFunc(c.Queue("demo-live-judge-3"), func(e EntryView) bool { return e.Team == team }) {
			t.Error("the entry stays in the queue after a declared conflict")
		}
		progress = c.Progress(events.RoundReview)
		return nil, nil
	})
	for _, p := range progress {
		if p.Judge == "demo-live-judge-3" && p.Conflicts != 1 {
			t.Errorf("progress counts %d conflicts for the judge, want 1", p.Conflicts)
		}
	}
}
