package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/yunqi-town/yunqi/events"
)

// TestAPIAnswersMatchTheDocument drives every identity endpoint through its
// answers, good and bad, and holds each against /api/openapi.json: a status
// the document does not list, or a body that does not fit its schema, fails.
func TestAPIAnswersMatchTheDocument(t *testing.T) {
	a := newTestApp(t, "")
	doc := loadDoc(t, a)
	expect := func(method, pattern string, w *httptest.ResponseRecorder, want int) {
		t.Helper()
		if w.Code != want {
			t.Errorf("%s %s = %d, want %d: %s", method, pattern, w.Code, want, w.Body)
		}
		if err := doc.check(method, pattern, w); err != nil {
			t.Error(err)
		}
	}
	const (
		users   = "/api/identity/users"
		tokens  = "/api/identity/tokens"
		refresh = "/api/identity/tokens/refresh"
		me      = "/api/identity/me"
		profile = "/api/identity/me/profile"
		tl      = "/api/identity/me/timeline"
		person  = "/api/identity/people/{id}"
		jwks    = "/.well-known/jwks.json"
	)
	signUp := `{"email":"ada@example.com","password":"correct horse battery staple","display_name":"杜勇"}`

	w := a.do("POST", users, "", signUp)
	expect("POST", users, w, http.StatusCreated)
	var created struct{ ID string }
	json.Unmarshal(w.Body.Bytes(), &created)
	expect("POST", users, a.do("POST", users, "", signUp), http.StatusConflict)
	expect("POST", users, a.do("POST", users, "", `{"email":"nope","password":"short"}`), http.StatusUnprocessableEntity)
	expect("POST", users, a.do("POST", users, "", `{"email":"grace@example.com","password":"grace12345","display_name":"Grace"}`), http.StatusUnprocessableEntity)
	expect("POST", users, a.do("POST", users, "", `{"email":`), http.StatusBadRequest)
	expect("POST", users, a.do("POST", users, "", `{"mail":"ada@example.com"}`), http.StatusBadRequest)
	expect("POST", users, a.do("POST", users, "", signUp, "Content-Type", "text/plain"), http.StatusUnsupportedMediaType)
	expect("POST", users, a.do("POST", users, "", `{"email":"`+strings.Repeat("a", 70<<10)+`"}`), http.StatusRequestEntityTooLarge)

	expect("POST", tokens, a.do("POST", tokens, "", `{"email":"ada@example.com","password":"wrong password!"}`), http.StatusUnauthorized)
	expect("POST", tokens, a.do("POST", tokens, "", `{}`), http.StatusUnprocessableEntity)
	w = a.do("POST", tokens, "", `{"email":"ADA@example.com","password":"correct horse battery staple"}`)
	expect("POST", tokens, w, http.StatusOK)
	token, cookie := a.logIn("ada@example.com")

	expect("GET", me, a.do("GET", me, token, ""), http.StatusOK)
	expect("GET", me, a.do("GET", me, "", ""), http.StatusUnauthorized)
	expect("GET", profile, a.do("GET", profile, token, ""), http.StatusOK)
	expect("PUT", profile, a.do("PUT", profile, token, `{"display_name":"杜勇","bio":"做云计算","city":"杭州","skills":["Go","大数据"],
		"links":[{"label":"博客","url":"https://example.com/dy"}],
		"publish":{"display_name":true,"bio":true,"city":true,"skills":true,"links":true}}`), http.StatusOK)
	expect("PUT", profile, a.do("PUT", profile, token, `{"display_name":"","links":[{"url":"javascript:alert(1)"}]}`), http.StatusUnprocessableEntity)
	expect("PUT", profile, a.do("PUT", profile, "", `{"display_name":"x"}`), http.StatusUnauthorized)

	expect("GET", person, a.do("GET", "/api/identity/people/"+created.ID, "", ""), http.StatusOK)
	// The profile lists what the person published elsewhere: a gallery
	// entry naming them and a post by their published name.
	for stream, payload := range map[string]any{
		events.ContestStream("yunqi2013"): events.EntryPublished{ContestID: "yunqi2013", ContestNameZH: "2013 云栖开发者大赛",
			ContestNameEN: "Yunqi Developer Contest 2013", Year: 2013, TeamID: "t1", TeamName: "西溪",
			Members: []events.GalleryMember{{MemberID: created.ID}}, Title: "西溪观鸟", Track: "mobile",
			Award: "gold", AwardNameZH: "金奖", AwardNameEN: "Gold", Rank: 1, Finalist: true, PublishedAt: time.Now().UTC()},
		events.PostStream("progress", "01"): events.PostImported{Blog: "progress", Slug: "01", PostContent: events.PostContent{
			Title: "上云一年", Authors: []string{"杜勇"}, Date: time.Date(2015, 3, 9, 0, 0, 0, 0, time.UTC), Body: "…", ContentHash: "h"}},
	} {
		ev, err := events.Types.New(payload, events.Metadata{Actor: "system", OccurredAt: time.Now().UTC(), Visibility: events.Public})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.store.Append(t.Context(), stream, events.Any, ev); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, func() bool {
		body := a.do("GET", "/api/identity/people/"+created.ID, "", "").Body.String()
		return strings.Contains(body, `"contest_id":"yunqi2013"`) && strings.Contains(body, `"slug":"01"`)
	})
	expect("GET", person, a.do("GET", "/api/identity/people/"+created.ID, "", ""), http.StatusOK)
	expect("GET", person, a.do("GET", "/api/identity/people/0193a5d0-0000-7000-8000-000000000000", "", ""), http.StatusNotFound)

	// The projection follows the log; wait for the profile change to land.
	waitUntil(t, func() bool { return strings.Contains(a.do("GET", tl, token, "").Body.String(), "profile_updated") })
	w = a.do("GET", tl+"?limit=1", token, "")
	expect("GET", tl, w, http.StatusOK)
	if !strings.Contains(w.Body.String(), `"next_cursor"`) {
		t.Errorf("a one-entry page of a longer timeline has no next_cursor: %s", w.Body)
	}
	expect("GET", tl, a.do("GET", tl+"?limit=0", token, ""), http.StatusUnprocessableEntity)

	w = a.do("POST", refresh, "", "", "Cookie", "yunqi_refresh="+cookie)
	expect("POST", refresh, w, http.StatusOK)
	expect("POST", refresh, a.do("POST", refresh, "", `{"refresh_token":"`+cookie+`"}`), http.StatusUnauthorized) // reused: the session ends
	_, cookie = a.logIn("ada@example.com")
	w = a.do("POST", refresh, "", `{"refresh_token":"`+cookie+`"}`)
	expect("POST", refresh, w, http.StatusOK)
	if !strings.Contains(w.Body.String(), `"refresh_token"`) {
		t.Errorf("a refresh by body does not return the rotated token in the body: %s", w.Body)
	}
	expect("POST", refresh, a.do("POST", refresh, "", ""), http.StatusUnauthorized)
	expect("DELETE", tokens, a.do("DELETE", tokens, "", "", "Cookie", "yunqi_refresh="+cookie), http.StatusNoContent)
	// Logging out with the access token revokes it.
	expect("DELETE", tokens, a.do("DELETE", tokens, token, ""), http.StatusNoContent)
	expect("GET", me, a.do("GET", me, token, ""), http.StatusUnauthorized)

	expect("GET", jwks, a.do("GET", jwks, "", ""), http.StatusOK)
	expect("GET", openAPIPath, a.do("GET", openAPIPath, "", ""), http.StatusOK)

	limited := newTestApp(t, "", "--rate-signup-per-address", "1/1h")
	limited.do("POST", users, "", `{}`)
	expect("POST", users, limited.do("POST", users, "", `{}`), http.StatusTooManyRequests)
	braked := newTestApp(t, "", "--rate-login-failures-per-pair", "1/1h")
	braked.do("POST", tokens, "", `{"email":"ada@example.com","password":"wrong password!"}`)
	expect("POST", tokens, braked.do("POST", tokens, "", `{"email":"ada@example.com","password":"wrong password!"}`), http.StatusTooManyRequests)
}
