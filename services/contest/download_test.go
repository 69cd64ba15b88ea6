package contest

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/infra/auth"
)

// TestAttachmentDownload holds the download to the judge's entry view:
// who may not see the entry may not learn the file exists either.
func TestAttachmentDownload(t *testing.T) {
	a := newTestAPI(t)
	org := a.token("org", auth.RoleOrganizer)
	ann, cy := a.token("ann"), a.token("cy")
	j1, j2, j3 := a.token("j1", auth.RoleJudge), a.token("j2", auth.RoleJudge), a.token("j3", auth.RoleJudge)

	cb := contestBody()
	cb["tracks"] = append(cb["tracks"].([]map[string]any), map[string]any{"id": "web", "name": map[string]string{"zh": "网页", "en": "Web"}})
	a.expect(a.do("POST", base, org, cb), http.StatusCreated, nil)
	var kites, tide TeamView
	a.expect(a.do("POST", base+"/c/teams", ann, map[string]any{"name": "Kites", "organization": "Hangzhou Labs"}), http.StatusCreated, &kites)
	a.expect(a.do("POST", base+"/c/teams", cy, map[string]any{"name": "Tide"}), http.StatusCreated, &tide)
	teamPath := base + "/c/teams/" + kites.ID

	png := append(append([]byte{}, pngHeader...), []byte("kite pixels")...)
	var att, draftOnly, cyFile events.SubmissionAttachment
	a.expect(a.do("POST", teamPath+"/attachments?name=kite%20%221%22%3Bx.png", ann, png), http.StatusCreated, &att)
	a.expect(a.do("POST", teamPath+"/attachments?name=notes.txt", ann, []byte("draft notes")), http.StatusCreated, &draftOnly)
	a.expect(a.do("POST", base+"/c/teams/"+tide.ID+"/attachments?name=tide.txt", cy, []byte("tide notes")), http.StatusCreated, &cyFile)

	a.expect(a.do("PUT", teamPath+"/submission", ann, map[string]any{"draft": true, "title": "Kite", "attachments": []events.SubmissionAttachment{draftOnly}}), http.StatusOK, nil)
	a.expect(a.do("PUT", teamPath+"/submission", ann, map[string]any{"title": "Kite", "summary": "s", "track": "mobile",
		"repo_url": "https://example.com/kite", "attachments": []events.SubmissionAttachment{att}}), http.StatusOK, nil)
	a.expect(a.do("PUT", base+"/c/judges/j1", org, map[string]any{"display_name": "One", "tracks": []string{"mobile"}}), http.StatusOK, nil)
	a.expect(a.do("PUT", base+"/c/judges/j2", org, map[string]any{"display_name": "Two", "organization": "hangzhou LABS", "tracks": []string{"mobile"}}), http.StatusOK, nil)
	a.expect(a.do("PUT", base+"/c/judges/j3", org, map[string]any{"display_name": "Three", "tracks": []string{"web"}}), http.StatusOK, nil)
	a.clock.Set(late)
	a.expect(a.do("POST", base+"/c/phase", org, map[string]any{"phase": "submission"}), http.StatusOK, nil)
	a.expect(a.do("POST", base+"/c/phase", org, map[string]any{"phase": "review"}), http.StatusOK, nil)

	get := func(token, sum string) *http.Response {
		t.Helper()
		return a.do("GET", teamPath+"/attachments/"+sum, token, nil).Result()
	}
	for name, token := range map[string]string{"member": ann, "assigned judge": j1, "organizer": org} {
		w := a.do("GET", teamPath+"/attachments/"+att.SHA256, token, nil)
		if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), png) {
			t.Fatalf("%s: %d %q", name, w.Code, w.Body)
		}
		h := w.Header()
		want := map[string]string{
			"Content-Type":           "image/png",
			"Content-Disposition":    `attachment; filename*=UTF-8''kite%20%221%22%3Bx.png`,
			"X-Content-Type-Options": "nosniff",
		}
		for k, v := range want {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", name, k, h.Get(k), v)
			}
		}
		if csp := h.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") {
			t.Errorf("%s: Content-Security-Policy = %q", name, csp)
		}
	}

	// One body for every refusal, so a refusal tells nothing apart.
	var first string
	for name, c := range map[string]struct{ token, sum string }{
		"conflicted judge":        {j2, att.SHA256},
		"unassigned judge":        {j3, att.SHA256},
		"another team's member":   {cy, att.SHA256},
		"a hash not in the entry": {ann, cyFile.SHA256},
		"a hash not stored":       {ann, strings.Repeat("a", 64)},
		"not a hash":              {ann, "..%2F..%2Fsecret"},
		"a draft's file, staff":   {org, draftOnly.SHA256},
		"another team's file":     {org, cyFile.SHA256},
	} {
		w := a.do("GET", teamPath+"/attachments/"+c.sum, c.token, nil)
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", name, w.Code)
			continue
		}
		body := strings.ReplaceAll(w.Body.String(), c.sum, "")
		if i := strings.Index(body, `"instance"`); i >= 0 {
			body = body[:i]
		}
		if first == "" {
			first = body
		} else if body != first {
			t.Errorf("%s: refusal differs: %s vs %s", name, body, first)
		}
	}
	if r := get(ann, draftOnly.SHA256); r.StatusCode != http.StatusOK {
		t.Errorf("a member cannot fetch a file of their own draft: %d", r.StatusCode)
	}
	a.expect(a.do("POST", base+"/c/judging/conflicts", j1, map[string]any{"team": kites.ID, "reason": "friend"}), http.StatusCreated, nil)
	if r := get(j1, att.SHA256); r.StatusCode != http.StatusNotFound {
		t.Errorf("a judge who declared a conflict still fetches: %d", r.StatusCode)
	}
	if r := get("", att.SHA256); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: %d, want 401", r.StatusCode)
	}

	// The pages link to a page route that knows the visitor by the page
	// session and applies the same rules.
	h := pagesFor(t, a)
	pagePath := "/contest/c/teams/" + kites.ID + "/attachments/"
	if w := page(h, "GET", pagePath+att.SHA256, "ann", "", "en", nil); w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), png) {
		t.Errorf("member through the page session: %d", w.Code)
	}
	if w := page(h, "GET", pagePath+att.SHA256, "cy", "", "en", nil); w.Code != http.StatusNotFound {
		t.Errorf("another team's member through the page session: %d", w.Code)
	}
	if w := page(h, "GET", pagePath+att.SHA256, "", "", "en", nil); w.Code != http.StatusSeeOther {
		t.Errorf("a stranger through the page session: %d, want a redirect to log in", w.Code)
	}
}
