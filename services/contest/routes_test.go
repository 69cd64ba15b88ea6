package contest

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

const base = "/api/contest/contests"

func contestBody() map[string]any {
	return map[string]any{
		"id": "c", "name": map[string]string{"zh": "大赛", "en": "Contest"}, "year": 2013, "team_size_limit": 2,
		"tracks":   []map[string]any{{"id": "mobile", "name": map[string]string{"zh": "移动", "en": "Mobile"}}},
		"awards":   []map[string]any{{"id": "gold", "name": map[string]string{"zh": "金奖", "en": "Gold"}}},
		"schedule": schedule(),
		"rubric": map[string]any{"scale_min": 1, "scale_max": 10, "criteria": []map[string]any{
			{"id": "idea", "name": map[string]string{"zh": "创意", "en": "Idea"}, "weight": 2},
			{"id": "tech", "name": map[string]string{"zh": "技术", "en": "Technology"}, "weight": 1},
		}},
	}
}

func scoreBody(round string, idea, tech float64) map[string]any {
	return map[string]any{"round": round, "scores": []map[string]any{
		{"criterion": "idea", "value": idea, "comment": "clear idea"}, {"criterion": "tech", "value": tech, "comment": "solid"}}}
}

var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

// TestContestFromTeamToGallery walks one contest through the API with
// every role, and the refusals each of them meets on the way.
func TestContestFromTeamToGallery(t *testing.T) {
	a := newTestAPI(t)
	org := a.token("org", auth.RoleOrganizer)
	ann, bo, cy := a.token("ann"), a.token("bo"), a.token("cy")
	j1, j2, j3 := a.token("j1", auth.RoleJudge), a.token("j2", auth.RoleJudge), a.token("j3", auth.RoleJudge)

	a.expect(a.do("POST", base, ann, contestBody()), http.StatusForbidden, nil)
	a.expect(a.do("POST", base, org, contestBody()), http.StatusCreated, nil)
	a.expect(a.do("POST", base, org, contestBody()), http.StatusConflict, nil)

	var t1, t2 TeamView
	a.expect(a.do("POST", base+"/c/teams", ann, map[string]any{"name": "Kites", "organization": "Hangzhou Labs", "public_name": true}), http.StatusCreated, &t1)
	if t1.InviteCode == "" {
		t.Fatal("a new team has no invite code")
	}
	a.expect(a.do("POST", base+"/c/teams", cy, map[string]any{"name": "Tide"}), http.StatusCreated, &t2)
	a.expect(a.do("POST", base+"/c/teams/join", bo, map[string]any{"code": "WRONG-CODE"}), http.StatusUnprocessableEntity, nil)
	a.expect(a.do("POST", base+"/c/teams/join", bo, map[string]any{"code": strings.ToLower(t1.InviteCode)}), http.StatusOK, nil)
	a.expect(a.do("POST", base+"/c/teams/join", a.token("dan"), map[string]any{"code": t1.InviteCode}), http.StatusConflict, nil) // size limit 2
	a.expect(a.do("POST", base+"/c/teams/join", cy, map[string]any{"code": t1.InviteCode}), http.StatusConflict, nil)             // one team per person
	a.expect(a.do("GET", base+"/c/teams/"+t1.ID, cy, nil), http.StatusNotFound, nil)                                              // not cy's

	teamPath := base + "/c/teams/" + t1.ID
	var att events.SubmissionAttachment
	a.expect(a.do("POST", teamPath+"/attachments?name=screen.png", bo, pngHeader), http.StatusCreated, &att)
	if att.ContentType != "image/png" || len(att.SHA256) != 64 {
		t.Fatalf("attachment = %+v", att)
	}
	a.expect(a.do("POST", teamPath+"/attachments?name=slides.pdf", bo, []byte("<html><script>alert(1)</script></html>")), http.StatusUnsupportedMediaType, nil)
	a.expect(a.do("POST", teamPath+"/attachments?name=big.png", bo, append(pngHeader, make([]byte, 65<<10)...)), http.StatusRequestEntityTooLarge, nil)

	w := a.do("PUT", teamPath+"/submission", ann, map[string]any{"title": "Kite", "summary": "s", "track": "mobile", "repo_url": "ftp://x", "demo_url": "nope"})
	a.expect(w, http.StatusUnprocessableEntity, nil)
	if !strings.Contains(w.Body.String(), `"repo_url"`) || !strings.Contains(w.Body.String(), `"demo_url"`) {
		t.Errorf("the refusal does not name the fields: %s", w.Body)
	}
	var rc Receipt
	a.expect(a.do("PUT", teamPath+"/submission", ann, map[string]any{"draft": true, "title": "Kite"}), http.StatusOK, &rc)
	if !rc.Draft || rc.Revision != 1 || rc.Receipt == "" {
		t.Errorf("draft receipt = %+v", rc)
	}
	entry := map[string]any{"title": "Kite", "summary": "Flies data", "track": "mobile", "repo_url": "https://example.com/kite",
		"attachments": []events.SubmissionAttachment{att}}
	a.expect(a.do("PUT", teamPath+"/submission", bo, entry), http.StatusOK, &rc)
	if rc.Draft || rc.Revision != 2 {
		t.Errorf("entry receipt = %+v", rc)
	}
	a.expect(a.do("PUT", base+"/c/teams/"+t2.ID+"/submission", cy, map[string]any{"title": "Tide", "summary": "Waves", "track": "mobile", "repo_url": "https://example.com/tide"}), http.StatusOK, nil)

	a.expect(a.do("PUT", base+"/c/judges/j1", org, map[string]any{"display_name": "Judge One", "tracks": []string{"mobile"}}), http.StatusOK, nil)
	a.expect(a.do("PUT", base+"/c/judges/j2", org, map[string]any{"display_name": "Judge Two", "organization": "HANGZHOU labs", "tracks": []string{"mobile"}}), http.StatusOK, nil)
	a.expect(a.do("PUT", base+"/c/judges/j3", org, map[string]any{"display_name": "Judge Three", "tracks": []string{"mobile"}}), http.StatusOK, nil)

	a.clock.Set(late)
	a.expect(a.do("PUT", teamPath+"/submission", ann, entry), http.StatusConflict, nil) // after the deadline
	a.expect(a.do("POST", base+"/c/phase", org, map[string]any{"phase": "submission"}), http.StatusOK, nil)
	a.expect(a.do("POST", base+"/c/phase", org, map[string]any{"phase": "review"}), http.StatusOK, nil)

	var q struct{ Entries []EntryView }
	a.expect(a.do("GET", base+"/c/judging/queue", j2, nil), http.StatusOK, &q)
	if len(q.Entries) != 1 || q.Entries[0].Team != t2.ID {
		t.Errorf("j2, of a Kites member's organisation, is assigned %+v", q.Entries)
	}
	a.expect(a.do("GET", base+"/c/judging/queue", j1, nil), http.StatusOK, &q)
	if len(q.Entries) != 2 {
		t.Errorf("j1's queue = %+v", q.Entries)
	}
	a.expect(a.do("GET", base+"/c/judging/queue", a.token("j9", auth.RoleJudge), nil), http.StatusNotFound, nil)
	a.expect(a.do("GET", base+"/c/judging/queue", ann, nil), http.StatusForbidden, nil)
	a.expect(a.do("PUT", base+"/c/judging/entries/"+t1.ID+"/score", j2, scoreBody("review", 8, 8)), http.StatusConflict, nil)
	a.expect(a.do("PUT", base+"/c/judging/entries/"+t1.ID+"/score", j1, scoreBody("review", 11, 8)), http.StatusUnprocessableEntity, nil)
	a.expect(a.do("PUT", base+"/c/judging/entries/"+t1.ID+"/score", j1, scoreBody("review", 6, 8)), http.StatusOK, nil)
	var sv ScoreView
	a.expect(a.do("PUT", base+"/c/judging/entries/"+t1.ID+"/score", j1, scoreBody("review", 9, 8)), http.StatusOK, &sv)
	if sv.Revision != 2 {
		t.Errorf("a second score is revision %d", sv.Revision)
	}
	a.expect(a.do("PUT", base+"/c/judging/entries/"+t1.ID+"/score", j3, scoreBody("review", 4, 4)), http.StatusOK, nil)
	a.expect(a.do("PUT", base+"/c/judging/entries/"+t2.ID+"/score", j1, scoreBody("review", 5, 5)), http.StatusOK, nil)
	a.expect(a.do("PUT", base+"/c/judging/entries/"+t2.ID+"/score", j3, scoreBody("review", 3, 3)), http.StatusOK, nil)

	var scores struct {
		OthersVisible bool `json:"others_visible"`
		Scores        []ScoreView
	}
	a.expect(a.do("GET", base+"/c/judging/entries/"+t1.ID+"/scores", j3, nil), http.StatusOK, &scores)
	if scores.OthersVisible || len(scores.Scores) != 1 {
		t.Errorf("j3 sees others' scores before scoring closes: %+v", scores)
	}
	a.expect(a.do("GET", base+"/c/judging/entries/"+t1.ID+"/scores", org, nil), http.StatusOK, &scores)
	if len(scores.Scores) != 3 || !scores.Scores[0].Replaced {
		t.Errorf("the organiser does not see every revision: %+v", scores)
	}

	w = a.do("GET", teamPath, ann, nil)
	a.expect(w, http.StatusOK, nil)
	if strings.Contains(w.Body.String(), `"score"`) || strings.Contains(w.Body.String(), "Judge") {
		t.Errorf("a team sees scores before publication: %s", w.Body)
	}
	var rk Ranking
	a.expect(a.do("GET", base+"/c/ranking?aggregation=raw", org, nil), http.StatusOK, &rk)
	if len(rk.Rows) != 2 || rk.Rows[0].Team != t1.ID {
		t.Errorf("raw ranking = %+v", rk.Rows)
	}
	a.expect(a.do("GET", base+"/c/ranking?aggregation=median", org, nil), http.StatusUnprocessableEntity, nil)
	a.expect(a.do("GET", base+"/c/ranking", j1, nil), http.StatusForbidden, nil)

	a.expect(a.do("POST", base+"/c/shortlist", org, map[string]any{"teams": []string{t1.ID, t2.ID}}), http.StatusOK, nil)
	a.expect(a.do("POST", base+"/c/phase", org, map[string]any{"phase": "finals"}), http.StatusOK, nil)
	a.expect(a.do("GET", base+"/c/judging/entries/"+t1.ID+"/scores", j3, nil), http.StatusOK, &scores)
	if !scores.OthersVisible || len(scores.Scores) != 3 {
		t.Errorf("after scoring closed j3 sees %+v", scores)
	}
	a.expect(a.do("POST", base+"/c/finalists", org, map[string]any{"teams": []string{t1.ID, t2.ID}}), http.StatusOK, nil)
	a.expect(a.do("PUT", base+"/c/judging/entries/"+t2.ID+"/score", j1, scoreBody("finals", 9, 9)), http.StatusOK, nil)
	a.expect(a.do("PUT", base+"/c/judging/entries/"+t1.ID+"/score", j1, scoreBody("finals", 7, 7)), http.StatusOK, nil)

	var g galleryResponse
	a.expect(a.do("GET", base+"/c/gallery", "", nil), http.StatusOK, &g)
	if g.Published || len(g.Entries) != 0 {
		t.Errorf("the gallery shows entries before publication: %+v", g)
	}
	a.expect(a.do("POST", base+"/c/results", org, map[string]any{"aggregation": "zscore", "awards": []map[string]string{{"team": t2.ID, "award": "gold"}}}), http.StatusOK, nil)
	a.expect(a.do("GET", base+"/c/gallery", "", nil), http.StatusOK, &g)
	if !g.Published || len(g.Entries) != 2 || g.Entries[0].TeamID != t2.ID || g.Entries[0].Award != "gold" {
		t.Fatalf("gallery = %+v", g)
	}
	for _, e := range g.Entries {
		for _, m := range e.Members {
			if m.MemberID == "bo" {
				t.Error("bo did not choose a public name and is in the gallery")
			}
		}
	}
	var tv TeamView
	a.expect(a.do("GET", teamPath, ann, nil), http.StatusOK, &tv)
	if tv.Result == nil || tv.Result.Score == nil || tv.Result.Rank != 2 {
		t.Errorf("after publication the team sees %+v", tv.Result)
	}
	var tl timelineResponse
	a.expect(a.do("GET", teamPath+"/timeline", bo, nil), http.StatusOK, &tl)
	var kinds []string
	for _, s := range tl.Entries {
		kinds = append(kinds, s.Kind)
	}
	if got := strings.Join(kinds, " "); got != "team_created member_joined draft_saved submitted assigned_for_review shortlisted finalist result" {
		t.Errorf("timeline = %s", got)
	}
	w = a.do("GET", teamPath+"/timeline", bo, nil)
	if bytes.Contains(w.Body.Bytes(), []byte("j1")) || bytes.Contains(w.Body.Bytes(), []byte("Judge")) {
		t.Errorf("the timeline names a judge: %s", w.Body)
	}
	a.expect(a.do("GET", base+"/c/teams/"+t1.ID+"/timeline", "", nil), http.StatusUnauthorized, nil)
}
