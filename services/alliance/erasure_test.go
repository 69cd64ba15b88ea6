package alliance

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/yunqi-town/yunqi/events"
	"github.com/yunqi-town/yunqi/events/sqlitestore"
	"github.com/yunqi-town/yunqi/infra/auth"
	"github.com/yunqi-town/yunqi/web"
)

// erasureSite is the service and its pages on a log, with a stand-in for
// the page session: the X-Test-User header names the visitor.
type erasureSite struct {
	t     *testing.T
	store events.Store
	s     *Service
	h     http.Handler
	who   map[string]auth.Principal
}

func newErasureSite(t *testing.T, store events.Store) *erasureSite {
	t.Helper()
	s, err := New(Config{DataDir: t.TempDir()}, store, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	ui, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := s.Pages(ui)
	if err != nil {
		t.Fatal(err)
	}
	site := &erasureSite{t: t, store: store, s: s, who: map[string]auth.Principal{
		ada:     {UserID: ada, DisplayName: "杜勇", Roles: []string{auth.RoleMember}},
		rev1:    {UserID: rev1, DisplayName: "王坚", Roles: []string{auth.RoleMember, auth.RoleReviewer}},
		rev2:    {UserID: rev2, DisplayName: "Reviewer Two", Roles: []string{auth.RoleMember, auth.RoleReviewer}},
		"org-2": {UserID: "org-2", DisplayName: "Organiser Two", Roles: []string{auth.RoleMember, auth.RoleOrganizer}},
	}}
	r := chi.NewRouter()
	pages.Mount(r, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if p, ok := site.who[req.Header.Get("X-Test-User")]; ok {
				req = req.WithContext(auth.WithPrincipal(req.Context(), p))
			}
			next.ServeHTTP(w, req)
		})
	})
	site.h = r
	return site
}

func (e *erasureSite) page(user, lang, path string) string {
	e.t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("X-Test-User", user)
	r.Header.Set("Accept-Language", lang)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		e.t.Fatalf("GET %s as %s: %d\n%s", path, user, w.Code, w.Body)
	}
	return w.Body.String()
}

func openLog(t *testing.T) events.Store {
	t.Helper()
	store, err := sqlitestore.Open(filepath.Join(t.TempDir(), "log.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func appendErasure(t *testing.T, store events.Store, user string) events.Position {
	t.Helper()
	p, err := events.Types.New(events.AccountErased{UserID: user, By: events.ErasedByStaff},
		events.Metadata{Actor: "org-1", Visibility: events.Owner, OccurredAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Append(context.Background(), events.UserStream(user), events.Any, p)
	if err != nil {
		t.Fatal(err)
	}
	return res.Position
}

// TestErasedApplicantAndReviewer: the application of an erased applicant
// stays for the record without its contact person, and an erased
// reviewer's vote stays without their name, on the pages and in the API.
func TestErasedApplicantAndReviewer(t *testing.T) {
	ctx := context.Background()
	site := newErasureSite(t, openLog(t))
	s := site.s
	applicant := Who{UserID: ada, Name: "杜勇"}
	id, err := s.CreateApplication(ctx, applicant, complete, contact, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SubmitApplication(ctx, applicant, id); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPolicy(ctx, Who{UserID: "org-1", Organizer: true}, events.DecisionPolicy{ApprovalsRequired: 2, RejectionsRequired: 2, RevealReviewers: true}); err != nil {
		t.Fatal(err)
	}
	reviewer := Who{UserID: rev1, Name: "王坚", Reviewer: true}
	if _, err := s.VoteOnApplication(ctx, reviewer, id, Vote{Vote: events.VoteApprove, Comment: "很好"}); err != nil {
		t.Fatal(err)
	}
	if got := site.page(rev2, "zh-CN", "/alliance/review/"+id); !strings.Contains(got, "杜勇") || !strings.Contains(got, "王坚") {
		t.Fatal("the review page does not show the contact person and the reviewer before the erasure")
	}

	appendErasure(t, site.store, ada)
	appendErasure(t, site.store, "org-1")
	pos := appendErasure(t, site.store, rev1)
	wait, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if !s.view.follower.WaitFor(wait, pos) {
		t.Fatal("the erasures did not reach the alliance view within a second")
	}

	for _, tc := range []struct{ lang, erased string }{{"zh-CN", "已删除的用户"}, {"en", "erased person"}} {
		page := site.page(rev2, tc.lang, "/alliance/review/"+id)
		for _, gone := range []string{"杜勇", "dy@example.com", "王坚"} {
			if strings.Contains(page, gone) {
				t.Errorf("review page (%s) still shows %q", tc.lang, gone)
			}
		}
		if strings.Count(page, tc.erased) < 2 {
			t.Errorf("review page (%s) does not say %q for both the contact person and the reviewer", tc.lang, tc.erased)
		}
		if !strings.Contains(page, "博客园") || !strings.Contains(page, "很好") {
			t.Errorf("review page (%s) lost the application or the vote, which stay for the record", tc.lang)
		}
	}
	// The policy change stays in the audit, by an erased person.
	for _, tc := range []struct{ lang, erased, unknown string }{{"zh-CN", "已删除的用户", "未知账号 org-1"}, {"en", "erased person", "Unknown account org-1"}} {
		page := site.page("org-2", tc.lang, "/alliance/audit")
		if !strings.Contains(page, tc.erased) || strings.Contains(page, tc.unknown) {
			t.Errorf("the audit (%s) does not show the erased organiser as %q", tc.lang, tc.erased)
		}
	}
	a, err := s.Application(ctx, Who{UserID: rev2, Reviewer: true}, id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s.appJSON(a, Who{UserID: rev2, Reviewer: true}))
	if strings.Contains(string(b), "杜勇") || strings.Contains(string(b), "dy@example.com") || strings.Contains(string(b), "王坚") {
		t.Errorf("the API still answers the erased people's data: %s", b)
	}
	tl, _ := json.Marshal(s.view.timeline(id, true))
	if strings.Contains(string(tl), "王坚") {
		t.Errorf("the staff timeline still names the erased reviewer: %s", tl)
	}
	if mine := s.view.myApplications(ada); len(mine) != 0 {
		t.Errorf("the erased applicant still has a list of applications: %+v", mine)
	}
	if _, ok := s.view.application(id); !ok {
		t.Error("the application itself is gone; it stays for the record")
	}
}

// TestErasedMemberOwnerLosesTheProfile: a member's profile stays on the
// wall when its owner is erased, and nobody holds the right to edit it.
func TestErasedMemberOwnerLosesTheProfile(t *testing.T) {
	store := openLog(t)
	ev, err := events.Types.New(events.MemberAdmitted{MemberID: memID, Owner: ada, Tier: events.TierMember, JoinedOn: "2024-05-01", Profile: complete},
		events.Metadata{Actor: events.ActorSystem, Visibility: events.Public, OccurredAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(context.Background(), events.MemberStream(memID), events.NoStream, ev); err != nil {
		t.Fatal(err)
	}
	appendErasure(t, store, ada)
	site := newErasureSite(t, store)
	deadline := time.Now().Add(5 * time.Second)
	for !site.s.view.follower.Ready() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if o := site.s.view.owner(memID); o != "" {
		t.Errorf("the erased owner %q still owns the profile", o)
	}
	if m := site.s.view.memberOwnedBy(ada); len(m) != 0 {
		t.Errorf("the erased owner still lists %d members", len(m))
	}
	if !strings.Contains(site.page("", "zh-CN", "/alliance/members/"+memID), "博客园") {
		t.Error("the member's profile left the directory with its owner")
	}
}
