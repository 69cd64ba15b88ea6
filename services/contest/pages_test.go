package contest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"golang.org/x/net/html"

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
	a.expect(a.do("POST", base+"/c/phase", org, map[string]any{"phase": "submission"}), http.StatusOK, nil)
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

// TestContestPageIDs: the create and join forms share field names, but
// every id on the contest page is unique and every reference to an id
// (a label, a description, an error link) finds its element, in each
// language, as shown and after each form has failed.
func TestContestPageIDs(t *testing.T) {
	a := newTestAPI(t)
	h := pagesFor(t, a)
	a.expect(a.do("POST", base, a.token("org", auth.RoleOrganizer), contestBody()), http.StatusCreated, nil)
	a.svc.public.follower.WaitFor(context.Background(), mustHead(t, a))

	for _, lang := range []string{"zh-CN", "en"} {
		for _, c := range []struct {
			name, method, path string
			form               url.Values
			status             int
			invalid            string // the id of the input the error is about
		}{
			{"shown", "GET", "/contest/c/", nil, http.StatusOK, ""},
			{"create failed", "POST", "/contest/c/teams", url.Values{"name": {""}}, http.StatusUnprocessableEntity, "f-create-name"},
			{"join failed", "POST", "/contest/c/join", url.Values{"code": {"NOPE"}}, http.StatusUnprocessableEntity, "f-join-code"},
		} {
			w := page(h, c.method, c.path, "ann", "", lang, c.form)
			if w.Code != c.status {
				t.Fatalf("%s %s: %d %s", lang, c.name, w.Code, w.Body)
			}
			ids, refs, invalid := scanIDs(t, w.Body)
			for id, n := range ids {
				if n > 1 {
					t.Errorf("%s %s: id %q appears %d times", lang, c.name, id, n)
				}
			}
			for _, ref := range refs {
				if ids[ref] == 0 {
					t.Errorf("%s %s: a reference to %q finds no element", lang, c.name, ref)
				}
			}
			for _, id := range []string{"f-create-display-name", "f-create-organization", "f-join-display-name", "f-join-organization"} {
				if ids[id] != 1 {
					t.Errorf("%s %s: no input %q", lang, c.name, id)
				}
			}
			if want := []string{c.invalid}; c.invalid == "" && len(invalid) > 0 || c.invalid != "" && !slices.Equal(invalid, want) {
				t.Errorf("%s %s: invalid inputs %q, want %q", lang, c.name, invalid, c.invalid)
			}
			if c.invalid != "" && ids[c.invalid+"-error"] != 1 {
				t.Errorf("%s %s: the error is not next to %s", lang, c.name, c.invalid)
			}
		}
	}
}

// scanIDs counts the id attributes of a page, and lists the ids that
// labels, descriptions and in-page links refer to, and the inputs marked
// invalid.
func scanIDs(t *testing.T, r io.Reader) (ids map[string]int, refs, invalid []string) {
	t.Helper()
	ids = map[string]int{}
	z := html.NewTokenizer(r)
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatal(z.Err())
			}
			return ids, refs, invalid
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			var id string
			for _, at := range tok.Attr {
				switch at.Key {
				case "id":
					id = at.Val
					ids[at.Val]++
				case "for", "aria-describedby", "aria-labelledby":
					refs = append(refs, strings.Fields(at.Val)...)
				case "href":
					if ref, ok := strings.CutPrefix(at.Val, "#"); ok && ref != "" {
						refs = append(refs, ref)
					}
				}
			}
			for _, at := range tok.Attr {
				if at.Key == "aria-invalid" && at.Val == "true" {
					invalid = append(invalid, id)
				}
			}
		}
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
