package contest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/web"
)

// pagesFor mounts the pages with a session that takes the visitor from a
// test header, as identity's page session would from cookies.
func pagesFor(t *testing.T, a *testAPI) http.Handler {
	t.Helper()
	ui, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := a.svc.Pages(ui)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	pages.Mount(r, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id := r.Header.Get("X-Test-User"); id != "" {
				roles := []string{auth.RoleMember}
				if role := r.Header.Get("X-Test-Role"); role != "" {
					roles = append(roles, role)
				}
				r = r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{UserID: id, Roles: roles, DisplayName: id}))
			}
			next.ServeHTTP(w, r)
		})
	})
	return r
}

func page(h http.Handler, method, path, user, role, lang string, form url.Values) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	r := httptest.NewRequest(method, path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		r.Header.Set("X-Test-User", user)
		r.Header.Set("X-Test-Role", role)
	}
	r.Header.Set("Accept-Language", lang)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestPagesInBothLanguages(t *testing.T) {
	a := newTestAPI(t)
	h := pagesFor(t, a)
	a.expect(a.do("POST", base, a.token("org", auth.RoleOrganizer), contestBody()), http.StatusCreated, nil)
	a.svc.public.follower.WaitFor(context.Background(), mustHead(t, a))

	for lang, want := range map[string]string{"zh-CN": "开发者大赛", "en": "Developer contest"} {
		w := page(h, "GET", "/contest/", "", "", lang, nil)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) || !strings.Contains(w.Body.String(), "/contest/c/") {
			t.Errorf("%s contest list: %d %s", lang, w.Code, w.Body)
		}
	}
	w := page(h, "GET", "/contest/c/", "", "", "en", nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Log in to create or join a team") {
		t.Errorf("anonymous contest page: %d", w.Code)
	}
	if w := page(h, "POST", "/contest/c/teams", "", "", "en", url.Values{"name": {"x"}}); w.Code != http.StatusSeeOther {
		t.Errorf("a stranger creating a team: %d", w.Code)
	}

	w = page(h, "POST", "/contest/c/teams", "ann", "", "zh-CN", url.Values{"name": {""}})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "请填写队名") {
		t.Errorf("a team without a name: %d %s", w.Code, w.Body)
	}
	w = page(h, "POST", "/contest/c/teams", "ann", "", "en", url.Values{"name": {"Kites"}, "organization": {"Hangzhou Labs"}})
	if w.Code != http.StatusCreated || !strings.Contains(w.Body.String(), "Invite code for your team") {
		t.Fatalf("creating a team: %d %s", w.Code, w.Body)
	}
	w = page(h, "POST", "/contest/c/join", "bo", "", "zh-CN", url.Values{"code": {"NOPE"}})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "这不是本届大赛任何队伍的邀请码") {
		t.Errorf("joining with a wrong code: %d", w.Code)
	}

	w = page(h, "POST", "/contest/c/team", "ann", "", "zh-CN", url.Values{"title": {"风筝"}, "summary": {"放飞数据"}, "track": {"mobile"}, "repo_url": {"javascript:alert(1)"}})
	body := w.Body.String()
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(body, "代码仓库请填以 https://") || !strings.Contains(body, `href="#f-repo-url"`) {
		t.Errorf("a bad repository link: %d %s", w.Code, body)
	}
	if !strings.Contains(body, `value="风筝"`) {
		t.Error("the form does not keep what was typed")
	}
	w = page(h, "POST", "/contest/c/team", "ann", "", "en", url.Values{"title": {"Kite"}, "summary": {"Flies data"}, "track": {"mobile"}, "repo_url": {"https://example.com/kite"}, "action": {"submit"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("submitting: %d %s", w.Code, w.Body)
	}
	w = page(h, "GET", "/contest/c/team", "ann", "", "en", nil)
	if !strings.Contains(w.Body.String(), "Entry submitted as revision 1") {
		t.Errorf("the team page does not show the timeline: %s", w.Body)
	}
	if w := page(h, "GET", "/contest/c/team", "eve", "", "en", nil); w.Code != http.StatusNotFound {
		t.Errorf("someone without a team: %d", w.Code)
	}

	org := a.token("org", auth.RoleOrganizer)
	a.expect(a.do("PUT", base+"/c/judges/j1", org, map[string]any{"display_name": "Judge One", "tracks": []string{"mobile"}}), http.StatusOK, nil)
	a.clock.Set(late)
	a.expect(a.do("POST", base+"/c/phase", org, map[string]any{"phase": "review"}), http.StatusOK, nil)
	w = page(h, "GET", "/contest/c/judging", "j1", auth.RoleJudge, "zh-CN", nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Kite") || !strings.Contains(w.Body.String(), "待评") {
		t.Fatalf("judge queue: %d %s", w.Code, w.Body)
	}
	if w := page(h, "GET", "/contest/c/judging", "ann", "", "en", nil); w.Code != http.StatusNotFound {
		t.Errorf("a member's judging queue: %d", w.Code)
	}
	var teamID string
	// The public read model follows the log on its own goroutine: wait for
	// it to reach the team's creation before reading it.
	a.svc.public.follower.WaitFor(context.Background(), mustHead(t, a))
	for id := range a.svc.public.contests["c"].Teams {
		teamID = id
	}
	w = page(h, "POST", "/contest/c/judging/"+teamID, "j1", auth.RoleJudge, "en", url.Values{"value_idea": {"12"}, "value_tech": {"5"}})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "Give a score from 1 to 10") {
		t.Errorf("a score off the scale: %d %s", w.Code, w.Body)
	}
	w = page(h, "POST", "/contest/c/judging/"+teamID, "j1", auth.RoleJudge, "en", url.Values{"value_idea": {"8"}, "value_tech": {"5"}, "comment_idea": {"fresh"}})
	if w.Code != http.StatusSeeOther {
		t.Errorf("scoring: %d %s", w.Code, w.Body)
	}
	w = page(h, "GET", "/contest/c/judging/"+teamID, "j1", auth.RoleJudge, "en", nil)
	if !strings.Contains(w.Body.String(), "revision 1") || !strings.Contains(w.Body.String(), "fresh") {
		t.Errorf("the scoring form does not show the earlier score: %s", w.Body)
	}
	w = page(h, "GET", "/contest/c/gallery", "", "", "en", nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "not published yet") {
		t.Errorf("gallery before publication: %d", w.Code)
	}
}

func TestDemoGalleryPage(t *testing.T) {
	a := newTestAPI(t)
	if err := SeedDemo(context.Background(), a.svc.store); err != nil {
		t.Fatal(err)
	}
	a.svc.public.follower.WaitFor(context.Background(), mustHead(t, a))
	h := pagesFor(t, a)
	for lang, want := range map[string]string{"zh-CN": "金奖", "en": "Gold award"} {
		w := page(h, "GET", "/contest/"+DemoContestID+"/gallery", "", "", lang, nil)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) || !strings.Contains(w.Body.String(), "西溪观鸟") {
			t.Errorf("%s demo gallery: %d", lang, w.Code)
		}
		if strings.Contains(w.Body.String(), "到站了") || strings.Contains(w.Body.String(), "Leo Zhang") {
			t.Errorf("%s gallery shows what is not public", lang)
		}
	}
}

func mustHead(t *testing.T, a *testAPI) events.Position {
	t.Helper()
	p, err := a.svc.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}
